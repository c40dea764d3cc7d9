// Device facts end to end: a node started with a fake `tegrastats` printing recorded JetPack 6 lines,
// a fake `nvpmodel`, and L4T release / device-tree model files at set paths gossips them in its meta;
// a second node's GET /v1/members shows them. A node whose tegrastats prints garbage stays up, logs
// one warning, and carries no live facts.
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  eventually,
  freePort,
  type RedisServer,
  type ServiceProcess,
  startRedisServer,
  startServiceProcess,
} from '@edgefleet/testkit';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

const entry = fileURLToPath(new URL('../dist/main.js', import.meta.url));
const FIXTURE = fileURLToPath(new URL('fixtures/tegrastats/l4t36-orin-nano.txt', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'ef-devproc-'));
const script = (name: string, body: string) => {
  const path = join(dir, name);
  writeFileSync(path, `#!/bin/sh\n${body}\n`);
  chmodSync(path, 0o755);
  return path;
};

let redis: RedisServer;
const started: ServiceProcess[] = [];
beforeAll(async () => {
  redis = await startRedisServer();
});
afterEach(async () => {
  await Promise.all(started.splice(0).map((p) => p.stop('SIGKILL')));
});
afterAll(async () => {
  await redis.stop();
  rmSync(dir, { recursive: true, force: true });
});

async function node(name: string, ip: string, env: Record<string, string>, seed?: string) {
  const port = await freePort();
  const bindPort = await freePort(ip);
  const p = startServiceProcess(entry, {
    args: [
      `-bind=${ip}`,
      '-bindPort',
      String(bindPort),
      `-name=${name}`,
      ...(seed ? [`-members=${seed}`] : []),
    ],
    env: {
      EDGEFLEET_PORT: String(port),
      EDGEFLEET_REDIS_URL: redis.url,
      EDGEFLEET_META_MIN_INTERVAL_MS: '0',
      EDGEFLEET_LOAD_POLL_MS: '200',
      EDGEFLEET_TEGRASTATS_INTERVAL_MS: '500',
      EDGEFLEET_L4T_RELEASE_FILE: join(dir, 'none'),
      EDGEFLEET_DEVICE_MODEL_FILE: join(dir, 'none'),
      EDGEFLEET_TEGRASTATS_PATH: join(dir, 'none'),
      EDGEFLEET_NVPMODEL_PATH: join(dir, 'none'),
      ...env,
    },
  });
  started.push(p);
  await p.waitForHttp(`http://127.0.0.1:${port}/healthz`);
  return { p, url: `http://127.0.0.1:${port}`, gossip: `${ip}:${bindPort}` };
}

type MembersBody = { members: { name: string; meta: Record<string, unknown> | null }[] };
const membersOf = async (url: string) => (await (await fetch(`${url}/v1/members`)).json()) as MembersBody;

describe('device facts in the fleet view', () => {
  it('a second node sees the board, the L4T release and live tegrastats/nvpmodel facts of the first', async () => {
    writeFileSync(
      join(dir, 'nv_tegra_release'),
      '# R36 (release), REVISION: 4.0, GCID: 37537400, BOARD: generic\n',
    );
    writeFileSync(join(dir, 'model'), 'NVIDIA Jetson Orin Nano Engineering Reference Developer Kit Super\0');
    const tegrastats = script(
      'tegrastats',
      `while true; do while IFS= read -r l; do echo "$l"; sleep 0.5; done < ${FIXTURE}; done`,
    );
    const nvpmodel = script('nvpmodel', `printf 'NV Power Mode: MAXN_SUPER\\n2\\n'`);
    const a = await node('jetson-a', '127.0.0.61', {
      EDGEFLEET_L4T_RELEASE_FILE: join(dir, 'nv_tegra_release'),
      EDGEFLEET_DEVICE_MODEL_FILE: join(dir, 'model'),
      EDGEFLEET_TEGRASTATS_PATH: tegrastats,
      EDGEFLEET_NVPMODEL_PATH: nvpmodel,
    });
    const b = await node('plain-b', '127.0.0.62', {}, a.gossip);
    const seen = await eventually(
      async () => {
        const m = (await membersOf(b.url)).members.find((x) => x.name === 'jetson-a')?.meta;
        return m?.hw ? m : undefined;
      },
      { timeoutMs: 20_000, what: "jetson-a's device facts at plain-b" },
    );
    expect(seen.labels).toMatchObject({
      l4t: '36.4.0',
      board: 'NVIDIA Jetson Orin Nano Engineering Reference Developer Kit Super',
    });
    expect(seen.hw).toMatchObject({ power: 'MAXN_SUPER', ramTotalMiB: 7620 });
    expect([2530, 5874]).toContain((seen.hw as { ramMiB: number }).ramMiB);
    // plain-b has no tegrastats, no files: no live facts, no board, not zeros.
    const bMeta = (await membersOf(b.url)).members.find((x) => x.name === 'plain-b')?.meta;
    expect(bMeta).not.toHaveProperty('hw');
    expect(bMeta?.labels).not.toHaveProperty('board');
    expect(bMeta?.labels).not.toHaveProperty('l4t');
  }, 60_000);

  it('a tegrastats that prints garbage: the node stays up, one warning, no live facts', async () => {
    const garbage = script('tegrastats-garbage', 'while true; do echo "%%% not stats %%%"; sleep 0.1; done');
    const a = await node('jetson-g', '127.0.0.63', {
      EDGEFLEET_TEGRASTATS_PATH: garbage,
    });
    // Staleness is 3 intervals + 2 s = 3.5 s; the restart comes 30 s later, so one process here.
    await a.p.waitForOutput(/tegrastats gives no usable output/, 20_000);
    const r = await fetch(`${a.url}/healthz`);
    expect(r.status).toBe(200);
    const self = (await membersOf(a.url)).members.find((x) => x.name === 'jetson-g')?.meta;
    expect(self).not.toHaveProperty('hw');
    expect(a.p.output().match(/tegrastats gives no usable output/g)).toHaveLength(1);
  }, 60_000);
});
