// The test wheel builder makes wheels a strict reader accepts, and the file server speaks PEP 503.
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildWheel, type FileServer, serveFiles } from '../src/wheel.js';

// Checks the zip like an installer would: dist-info files present, every RECORD hash and size right.
const VERIFY = `
import base64, hashlib, sys, zipfile
z = zipfile.ZipFile(sys.argv[1])
names = set(z.namelist())
info = [n for n in names if n.endswith(".dist-info/RECORD")][0].rsplit("/", 1)[0]
assert {info + "/METADATA", info + "/WHEEL", info + "/RECORD"} <= names, names
for line in z.read(info + "/RECORD").decode().splitlines():
    path, digest, size = line.split(",")
    if path.endswith("RECORD"): continue
    data = z.read(path)
    algo, value = digest.split("=", 1)
    assert algo == "sha256" and value == base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode(), path
    assert int(size) == len(data), path
print(z.read(info + "/METADATA").decode())
`;

let dir: string;
let server: FileServer;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'edgefleet-wheel-'));
  server = await serveFiles(dir);
});
afterAll(async () => {
  await server.close();
  await rm(dir, { recursive: true, force: true });
});

describe('buildWheel', () => {
  it('writes a valid, deterministic py3-none-any wheel', async () => {
    const spec = {
      name: 'My.Lib',
      version: '0.3',
      modules: { 'my_lib/__init__.py': 'X = 1\n' },
      dependencies: ['dep>=1'],
    };
    const path = await buildWheel(spec, dir);
    expect(path).toBe(join(dir, 'My_Lib-0.3-py3-none-any.whl'));
    const meta = await new Promise<string>((resolve, reject) =>
      execFile('/usr/bin/python3', ['-c', VERIFY, path], (e, out, err) =>
        e ? reject(new Error(err)) : resolve(out),
      ),
    );
    expect(meta).toContain('Name: My.Lib');
    expect(meta).toContain('Requires-Dist: dep>=1');
    const first = await readFile(path);
    expect((await readFile(await buildWheel(spec, dir))).equals(first)).toBe(true);
  });
});

describe('serveFiles', () => {
  it('serves files, a PEP 503 index, logs requests, 404s the rest', async () => {
    await buildWheel({ name: 'served-pkg', version: '1.0', modules: { 'served_pkg/__init__.py': '' } }, dir);
    const file = await fetch(`${server.url}/served_pkg-1.0-py3-none-any.whl`);
    expect(file.status).toBe(200);
    expect((await file.arrayBuffer()).byteLength).toBeGreaterThan(100);
    const index = await (await fetch(`${server.url}/simple/Served_Pkg/`)).text();
    expect(index).toContain('href="/served_pkg-1.0-py3-none-any.whl"');
    expect(await (await fetch(`${server.url}/simple/`)).text()).toContain('/simple/served-pkg/');
    expect((await fetch(`${server.url}/simple/nothing/`)).status).toBe(404);
    expect((await fetch(`${server.url}/../etc/passwd`)).status).toBe(404);
    expect(server.requests).toContain('/simple/Served_Pkg/');
  });
});
