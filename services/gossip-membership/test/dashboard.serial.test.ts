// The fleet dashboard in a real browser (Debian's Chromium driven by playwright-core) against three
// real gossip-membership processes (`node dist/main.js`, built first, including the page):
//  - the page shows three alive tiles; dash-a's (fake tegrastats, board model and L4T files) shows its
//    board and live GPU load, temperature, power mode and RAM, the others show none;
//  - the job API requires its token (as in local mode): the jobs panel shows the 401 prompt; once the
//    token is entered there, the page sends it (the proxy adds none) and the jobs appear;
//  - a job submitted through the node's /v1/jobs proxy appears and reaches SUCCEEDED, and its logs open;
//  - the job API goes away → a banner; it returns → the banner goes;
//  - a node is killed → its tile turns suspect, then dead, with no reload;
//  - the node serving the page is killed → a banner; restarted → the page recovers by itself;
//  - a node leaves gracefully → its tile turns "left".
// The job API is a stand-in (test/helpers/fake-job-api.ts: the job-receiver's routes and JSON, with jobs
// that move QUEUED → RUNNING → SUCCEEDED by themselves); the real receiver and executor are not run here.
// Screenshots go to services/gossip-membership/.screenshots/ (git-ignored) for a person to look at.
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { redisNames } from '@edgefleet/contracts';
import { freePort, type RedisServer, startRedisServer } from '@edgefleet/testkit';
import { type BrowserContext, chromium, type Page } from 'playwright-core';
import { afterAll, describe, expect, it } from 'vitest';
import { serviceEntry, startTsNode, type TsNode } from '../support/ts-node.js';
import { type FakeJobApi, startFakeJobApi } from './helpers/fake-job-api.js';

const CHROMIUM = '/usr/bin/chromium';
const SHOTS = fileURLToPath(new URL('../.screenshots/', import.meta.url));
const PAGE = fileURLToPath(new URL('../dist/dashboard/index.html', import.meta.url));
const IP = '127.0.0.1';

const nodes: TsNode[] = [];
let fake: FakeJobApi | undefined;
let redis: RedisServer | undefined;
let context: BrowserContext | undefined;
let profileDir: string | undefined;
let deviceDir: string | undefined;

afterAll(async () => {
  await context?.close().catch(() => {});
  await Promise.all(nodes.map((n) => n.kill().catch(() => {})));
  await fake?.close().catch(() => {});
  await redis?.stop().catch(() => {});
  if (profileDir) rmSync(profileDir, { recursive: true, force: true });
  if (deviceDir) rmSync(deviceDir, { recursive: true, force: true });
});

/** A full-page screenshot; running colour transitions are finished first (animations: 'disabled'). */
const shot = (page: Page, name: string) =>
  page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true, animations: 'disabled' });
/** A tile (or any element) matching `selector` within `timeoutMs`. */
const see = (page: Page, selector: string, timeoutMs = 15_000) =>
  page.waitForSelector(selector, { timeout: timeoutMs, state: 'visible' });

describe('fleet dashboard in a browser', () => {
  it('shows the fleet live: alive tiles, a job to SUCCEEDED, banners and recovery, a node turning suspect then dead', async () => {
    expect(existsSync(CHROMIUM), `${CHROMIUM} is required (apt-get install -y chromium)`).toBe(true);
    expect(existsSync(PAGE), `build first: ${PAGE} (pnpm --filter @edgefleet/gossip-membership build)`).toBe(
      true,
    );
    expect(existsSync(serviceEntry), `build first: ${serviceEntry}`).toBe(true);
    mkdirSync(SHOTS, { recursive: true });

    const token = 'dash-api-token';
    fake = await startFakeJobApi({ port: await freePort(IP), queuedMs: 1_500, runningMs: 2_000, token });
    // dash-a reads its device load from Redis (as the executor writes it) and gossips it in its meta.
    redis = await startRedisServer({ aof: false });
    const loadKey = redisNames('edgefleet').deviceLoad;
    const writeLoad = async (running: number) => {
      const c = (redis as RedisServer).client();
      await c.hset(loadKey, { running, queued: 0, freeDiskBytes: 50 * 2 ** 30, updatedAt: Date.now() });
      c.disconnect();
    };
    await writeLoad(0);
    const ports = await Promise.all(
      ['a', 'b', 'c'].map(async () => ({ gossip: await freePort(IP), http: await freePort(IP) })),
    );
    const [pa, pb, pc] = ports as [(typeof ports)[0], (typeof ports)[0], (typeof ports)[0]];
    const seed = `${IP}:${pa.gossip}`;
    // dash-a is a Jetson as far as its files and tools say: recorded JetPack 6 tegrastats lines.
    deviceDir = mkdtempSync(join(tmpdir(), 'dash-device-'));
    const fixture = fileURLToPath(new URL('fixtures/tegrastats/l4t36-orin-nano.txt', import.meta.url));
    const tegrastats = join(deviceDir, 'tegrastats');
    // Like tegrastats, it ends when its reader is gone (a failed write ends the loop), so a node
    // killed with -9 leaves no fake behind.
    writeFileSync(tegrastats, `#!/bin/sh\nwhile tail -n 1 ${fixture}; do sleep 0.5; done\n`);
    chmodSync(tegrastats, 0o755);
    writeFileSync(join(deviceDir, 'model'), 'NVIDIA Jetson Orin Nano Developer Kit\0');
    writeFileSync(join(deviceDir, 'release'), '# R36 (release), REVISION: 4.0, GCID: 1, BOARD: generic\n');
    writeFileSync(join(deviceDir, 'power'), 'NV Power Mode: 15W\n1\n');
    const startA = (members: string[] = []) =>
      startTsNode({
        name: 'dash-a',
        ip: IP,
        bindPort: pa.gossip,
        httpPort: pa.http,
        members,
        env: {
          EDGEFLEET_JOB_API_URL: (fake as FakeJobApi).url,
          EDGEFLEET_REDIS_URL: (redis as RedisServer).url,
          EDGEFLEET_LOAD_POLL_MS: '200',
          EDGEFLEET_META_MIN_INTERVAL_MS: '0',
          EDGEFLEET_TEGRASTATS_PATH: tegrastats,
          EDGEFLEET_TEGRASTATS_INTERVAL_MS: '500',
          EDGEFLEET_POWER_MODE_FILE: join(deviceDir as string, 'power'),
          EDGEFLEET_DEVICE_MODEL_FILE: join(deviceDir as string, 'model'),
          EDGEFLEET_L4T_RELEASE_FILE: join(deviceDir as string, 'release'),
        },
      });
    nodes.push(
      ...(await Promise.all([
        startA(),
        startTsNode({ name: 'dash-b', ip: IP, bindPort: pb.gossip, httpPort: pb.http, members: [seed] }),
        startTsNode({ name: 'dash-c', ip: IP, bindPort: pc.gossip, httpPort: pc.http, members: [seed] }),
      ])),
    );
    const base = `http://${IP}:${pa.http}`;

    profileDir = mkdtempSync(join(tmpdir(), 'dash-chromium-'));
    context = await chromium.launchPersistentContext(profileDir, {
      executablePath: CHROMIUM,
      headless: true,
      viewport: { width: 1280, height: 860 },
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
    const page = context.pages()[0] ?? (await context.newPage());
    const foreign: string[] = [];
    const pageErrors: string[] = [];
    page.on('request', (r) => {
      if (!r.url().startsWith(base) && !r.url().startsWith('data:')) foreign.push(r.url());
    });
    page.on('pageerror', (e) => pageErrors.push(e.message));

    // Three alive tiles, with the node serving the page marked.
    await page.goto(`${base}/`);
    await page.waitForFunction(
      'document.querySelectorAll(\'.tile[data-state="alive"]\').length === 3',
      null,
      {
        timeout: 20_000,
      },
    );
    expect(await page.textContent('#self-name')).toBe('dash-a');
    expect(await page.textContent('.tile[data-node="dash-a"] .you')).toBe('this node');
    expect(await page.locator('#members tbody tr').count()).toBe(3);
    await shot(page, '01-three-alive');

    // The device's load changes: the new meta is gossiped and the tile shows it, live.
    await page.waitForFunction(
      "document.querySelector('#members tr[data-node=\"dash-a\"]').textContent.includes('0 running · 0 queued · 50.0 GiB free')",
      null,
      { timeout: 15_000 },
    );
    await writeLoad(1);
    await page.waitForFunction(
      "document.querySelector('.tile[data-node=\"dash-a\"]').textContent.includes('1 running')",
      null,
      { timeout: 15_000 },
    );

    // Device facts: dash-a's tile shows its board and live tegrastats facts; dash-b reports none.
    await see(page, '.tile[data-node="dash-a"] .tile-hw');
    expect(await page.textContent('.tile[data-node="dash-a"] .tile-hw')).toBe('GPU 73% · 61.1 °C · 15W');
    expect(await page.textContent('.tile[data-node="dash-a"] .tile-ram')).toBe('RAM 5.7 GiB of 7.4 GiB');
    expect(await page.textContent('.tile[data-node="dash-a"] .tile-board')).toBe(
      'NVIDIA Jetson Orin Nano Developer Kit',
    );
    expect(await page.textContent('.tile[data-node="dash-a"]')).toContain('L4T 36.4.0');
    expect(await page.locator('.tile[data-node="dash-b"] .tile-hw').count()).toBe(0);
    expect(await page.locator('.tile[data-node="dash-b"] .tile-board').count()).toBe(0);
    await shot(page, '01b-device-facts');

    // The job API asks for its token: the panel says 401 and offers the field; the proxy adds nothing.
    await see(page, '#jobs-token');
    expect(await page.textContent('#jobs-banner')).toContain('401');
    expect(fake.received.some((r) => r.authorization !== undefined)).toBe(false);
    await shot(page, '01c-token-prompt');
    const job = JSON.stringify({ version: 1, kind: 'job', jobId: 'dash-job-1' });
    const anonymous = await fetch(`${base}/v1/jobs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: job,
    });
    expect(anonymous.status).toBe(401);

    // A job submitted through the proxy appears and reaches SUCCEEDED; its logs stream into the page.
    const submit = await fetch(`${base}/v1/jobs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: job,
    });
    expect(submit.status).toBe(202);
    await page.fill('#jobs-token-input', token);
    await page.click('#jobs-token button[type="submit"]');
    await page.waitForSelector('#jobs-token', { state: 'hidden', timeout: 5_000 });
    await see(page, 'tr[data-job="dash-job-1"]');
    await see(page, 'tr[data-job="dash-job-1"][data-state="SUCCEEDED"]', 20_000);
    await see(page, 'tr[data-job="dash-job-1"] .result');
    expect(await page.textContent('tr[data-job="dash-job-1"] .result')).toBe('s3://results/dash-job-1/');
    await page.click('tr[data-job="dash-job-1"] [data-logs]');
    await page.waitForFunction(
      "document.getElementById('logs-status').textContent === 'job ended: SUCCEEDED'",
      null,
      {
        timeout: 10_000,
      },
    );
    expect(await page.textContent('#logs-text')).toContain('done: dash-job-1');
    expect(fake.received.find((r) => r.url.includes('/logs'))?.authorization).toBe(`Bearer ${token}`);
    await shot(page, '02-job-succeeded');

    // The job API goes away: a banner says so; it comes back: the banner goes.
    await fake.close();
    await see(page, '#jobs-banner');
    expect(await page.textContent('#jobs-banner')).toContain('JOB_API_UNREACHABLE');
    await shot(page, '03-job-api-down');
    await fake.restart();
    await page.waitForSelector('#jobs-banner', { state: 'hidden', timeout: 15_000 });
    await see(page, 'tr[data-job="dash-job-1"]');

    // A node dies (SIGKILL, no leave): suspect, then dead, without a reload.
    await (nodes[2] as TsNode).kill();
    await see(page, '.tile[data-node="dash-c"][data-state="suspect"]', 20_000);
    await shot(page, '04-node-suspect');
    await see(page, '.tile[data-node="dash-c"][data-state="dead"]', 25_000);
    await see(page, '#members tr[data-node="dash-c"][data-state="dead"]', 5_000);
    await shot(page, '05-node-dead');

    // A phone-sized screen: the same page, one narrow column.
    await page.setViewportSize({ width: 390, height: 844 });
    await shot(page, '06-phone');
    await page.setViewportSize({ width: 1280, height: 860 });

    // The node serving the page dies: a banner; it comes back on the same ports: the page recovers.
    await (nodes[0] as TsNode).kill();
    await see(page, '#banner');
    expect(await page.getAttribute('#live', 'data-live')).toBe('lost');
    await shot(page, '07-node-unreachable');
    nodes[0] = await startA([`${IP}:${pb.gossip}`]);
    await page.waitForSelector('#banner', { state: 'hidden', timeout: 20_000 });
    await page.waitForFunction(
      'document.querySelectorAll(\'.tile[data-state="alive"]\').length === 2',
      null,
      {
        timeout: 15_000,
      },
    );
    expect(await page.getAttribute('#live', 'data-live')).toBe('live');
    await shot(page, '08-recovered');

    // A node leaves gracefully (SIGTERM): its tile turns grey, "left"; the same page in dark mode.
    expect(await (nodes[1] as TsNode).stop()).toBe(0);
    await see(page, '.tile[data-node="dash-b"][data-state="left"]', 15_000);
    await page.emulateMedia({ colorScheme: 'dark' });
    await shot(page, '09-left-dark');

    expect(foreign, 'requests to other origins (the page must work offline)').toEqual([]);
    expect(pageErrors).toEqual([]);
  }, 90_000);
});
