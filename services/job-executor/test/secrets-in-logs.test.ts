// Credentials the device holds never reach a job's uploaded logs or the executor's log lines: the
// device's index URLs (user-info in EDGEFLEET_PIP_INDEX_URL / _EXTRA_INDEX_URLS) and its proxy
// credentials (HTTP(S)_PROXY). A real pip builds an sdist whose in-tree build backend (job code that
// runs during the install) prints its whole environment and argv, so whatever pip gives it lands in
// install.log, the file that is uploaded with the results.
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type FileServer, logSink, serveFiles } from '@edgefleet/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEnvironmentManager } from '../src/env/index.js';

const SEEDS = ['SEEDED-INDEX-PASS', 'SEEDED-INDEX-TOKEN', 'SEEDED-PROXY-PASS', 'SEEDED-PROXY-TOKEN'];
let root: string;
let index: FileServer;

const BACKEND = `
import os, sys
def _dump(hook):
    print('BACKEND', hook, 'ENV', dict(os.environ), 'ARGV', sys.argv, flush=True)
def get_requires_for_build_wheel(config_settings=None):
    _dump('get_requires')
    return []
def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    _dump('build_wheel')
    raise RuntimeError('the backend stops here')
`;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'edgefleet-secrets-'));
  const empty = join(root, 'index');
  await mkdir(empty);
  index = await serveFiles(empty);
});
afterAll(async () => {
  await index?.close();
  await rm(root, { recursive: true, force: true });
});

describe('credentials in URLs', () => {
  it('never appear in install.log (pip command line, pip output, an sdist backend dumping its environment) or in a log line', async () => {
    const ws = join(root, 'ws');
    const src = join(root, 'sdist', 'demo_env-1.0');
    await mkdir(ws, { recursive: true });
    await mkdir(src, { recursive: true });
    await writeFile(
      join(src, 'pyproject.toml'),
      '[build-system]\nrequires = []\nbuild-backend = "evil_backend"\nbackend-path = ["."]\n\n[project]\nname = "demo-env"\nversion = "1.0"\n',
    );
    await writeFile(join(src, 'evil_backend.py'), BACKEND);
    await writeFile(join(src, 'PKG-INFO'), 'Metadata-Version: 2.1\nName: demo-env\nVersion: 1.0\n');
    execFileSync('tar', ['-czf', join(ws, 'demo_env-1.0.tar.gz'), '-C', join(root, 'sdist'), 'demo_env-1.0']);
    await writeFile(join(ws, 'requirements.txt'), 'demo-env\n');
    const base = index.url.replace('http://', '');
    const sink = logSink('info');
    const manager = createEnvironmentManager({
      cacheDir: join(root, 'cache'),
      maxCacheBytes: 1 << 30,
      seedPip: false,
      killGraceMs: 500,
      logger: sink.logger,
      pip: {
        indexUrl: `http://idx-user:SEEDED-INDEX-PASS@${base}/simple/`,
        extraIndexUrls: [`http://SEEDED-INDEX-TOKEN@${base}/extra/`],
      },
      env: {
        PATH: process.env.PATH,
        HTTP_PROXY: 'http://proxy-user:SEEDED-PROXY-PASS@127.0.0.1:9',
        https_proxy: 'http://SEEDED-PROXY-TOKEN@127.0.0.1:9',
        NO_PROXY: '127.0.0.1',
        no_proxy: '127.0.0.1',
      },
    });
    const logFile = join(root, 'install.log');
    const r = await manager.ensure({
      jobId: 'secrets-job',
      workspace: ws,
      requirementsFile: 'requirements.txt',
      systemSitePackages: false,
      timeoutMs: 120_000,
      logFile,
    });
    const log = await readFile(logFile, 'utf8');
    // The attack ran: the backend printed its environment into the log, and the install failed.
    expect(r, log.slice(-3000)).toMatchObject({ ok: false, code: 'INSTALL_FAILED' });
    expect(log).toContain('BACKEND build_wheel ENV');
    // pip did go through the credentialed index (its requests reached the server).
    expect(index.requests.some((p) => p.startsWith('/simple/demo-env'))).toBe(true);
    // The command line is in the log, masked; the proxies reached pip without credentials.
    expect(log).toMatch(/--index-url http:\/\/\*\*\*@127\.0\.0\.1:\d+\/simple\//);
    expect(log).toContain("'HTTP_PROXY': 'http://127.0.0.1:9'");
    for (const seed of SEEDS) {
      expect(log.includes(seed), `${seed} in install.log`).toBe(false);
      expect(sink.text().includes(seed), `${seed} in a log line`).toBe(false);
    }
    // The operator is told once that pip gets the proxies without their credentials.
    expect(
      sink.lines.find((l) => /proxy credentials are not given to pip/.test(String(l.msg))),
    ).toMatchObject({
      variables: ['HTTP_PROXY', 'https_proxy'],
    });
  }, 150_000);
});
