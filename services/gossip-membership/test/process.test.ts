// The service as an operator runs it: a real process, a real Redis, legacy-style flags.
import { fileURLToPath } from 'node:url';
import {
  freePort,
  type RedisServer,
  type ServiceProcess,
  startServiceProcess as startProcess,
  startRedisServer,
} from '@edgefleet/testkit';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

const entry = fileURLToPath(new URL('../dist/main.js', import.meta.url));
let redis: RedisServer;
beforeAll(async () => {
  redis = await startRedisServer();
});
afterAll(async () => {
  await redis.stop();
});
// Every process is stopped even when an assertion failed before its own stop().
const started: ServiceProcess[] = [];
afterEach(async () => {
  await Promise.all(started.splice(0).map((p) => p.stop('SIGKILL')));
});
const startServiceProcess = (...args: Parameters<typeof startProcess>): ServiceProcess => {
  const p = startProcess(...args);
  started.push(p);
  return p;
};

/** Flags that keep the gossip port on loopback and off the default 8000. */
const gossipArgs = async (ip: string) => [
  `-bind=${ip}`,
  '-bindPort',
  String(await freePort(ip)),
  '-name=proc-test',
];

describe('gossip-membership process', () => {
  it('starts, prints the legacy lines first, answers /healthz, /readyz, /info, and stops cleanly on SIGTERM', async () => {
    const port = await freePort();
    const args = await gossipArgs('127.0.0.51');
    const p = startServiceProcess(entry, {
      args,
      env: { EDGEFLEET_PORT: String(port), EDGEFLEET_REDIS_URL: redis.url },
    });
    await p.waitForHttp(`http://127.0.0.1:${port}/healthz`);
    // Ready once Redis answers (the connection is made after the HTTP server listens).
    await p.waitForHttp(`http://127.0.0.1:${port}/readyz`);
    const info = await (await fetch(`http://127.0.0.1:${port}/info`)).json();
    expect(info).toEqual({ Name: 'proc-test', IP: '127.0.0.51', Port: Number(args[2]) });
    // stderr shares output(): leave out Node's deprecation warnings (from fastify options).
    const lines = p
      .output()
      .split('\n')
      .filter((l) => !/Deprecation|trace-warnings/.test(l));
    expect(lines[0]).toBe(`Local member 127.0.0.51:${args[2]}`);
    expect(lines[1]).toBe(`Listening on :${port}`);
    expect(await p.stop('SIGTERM')).toBe(0);
    expect(p.output()).toContain('"msg":"stopped"');
  });

  it('a flag wins over its variable (-port 4xxx with a space, --name=…)', async () => {
    const port = await freePort();
    const p = startServiceProcess(entry, {
      args: [...(await gossipArgs('127.0.0.52')), '-port', String(port), '--name=flag-name'],
      env: { EDGEFLEET_PORT: '1', EDGEFLEET_NODE_NAME: 'env-name', EDGEFLEET_REDIS_URL: redis.url },
    });
    await p.waitForHttp(`http://127.0.0.1:${port}/info`);
    expect(((await (await fetch(`http://127.0.0.1:${port}/info`)).json()) as { Name: string }).Name).toBe(
      'flag-name',
    );
    expect(await p.stop('SIGTERM')).toBe(0);
  });

  it('refuses to start on an invalid variable, naming it, without a stack trace', async () => {
    const p = startServiceProcess(entry, { env: { EDGEFLEET_PORT: 'eighty' } });
    expect(await p.exited).toBe(2);
    expect(p.output()).toMatch(/EDGEFLEET_PORT: expected an integer/);
    expect(p.output()).not.toMatch(/\n\s+at /);
  });

  it('refuses an unparsable dead retention, naming the variable, exit 2', async () => {
    const p = startServiceProcess(entry, { env: { EDGEFLEET_GOSSIP_DEAD_RETENTION: 'forever' } });
    expect(await p.exited).toBe(2);
    expect(p.output()).toMatch(/EDGEFLEET_GOSSIP_DEAD_RETENTION: expected a duration/);
    expect(p.output()).not.toMatch(/\n\s+at /);
  });

  it('refuses a label over 255 bytes from the environment, naming the variable, exit 2', async () => {
    const p = startServiceProcess(entry, { env: { EDGEFLEET_GOSSIP_LABEL: 'é'.repeat(128) } });
    expect(await p.exited).toBe(2);
    expect(p.output()).toMatch(/EDGEFLEET_GOSSIP_LABEL: must be at most 255 bytes/);
    expect(p.output()).not.toMatch(/\n\s+at /);
  });

  it.each([
    [['-members=a:b'], /-members: expected host:port, got "a:b"/],
    [['--bindPort'], /flag needs an argument: -bindPort/],
    [['-nope'], /flag provided but not defined: -nope/],
    [['-profile=fast'], /-profile: expected lan, wan or local/],
    [['extra'], /unexpected argument: extra/],
    [[`--label=${'x'.repeat(256)}`], /-label: must be at most 255 bytes/],
  ])('refuses bad flags %j with one line, usage and exit 2', async (args, pattern) => {
    const p = startServiceProcess(entry, { args });
    expect(await p.exited).toBe(2);
    const [first, ...rest] = p
      .output()
      .split('\n')
      .filter((l) => !/Deprecation|trace-warnings/.test(l));
    expect(first).toMatch(pattern);
    expect(first).toMatch(/^gossip-membership: /);
    expect(rest.join('\n')).toMatch(/Usage: gossip-membership \[flags\]/);
    expect(p.output()).not.toMatch(/\n\s+at /);
  });

  it('prints usage on -h and exits 0', async () => {
    const p = startServiceProcess(entry, { args: ['-h'] });
    expect(await p.exited).toBe(0);
    expect(p.output()).toMatch(/^Usage: gossip-membership \[flags\]/);
  });

  it('fails to start, clearly, when the gossip port is taken', async () => {
    const ip = '127.0.0.53';
    const bindPort = await freePort(ip);
    const first = startServiceProcess(entry, {
      args: [`-bind=${ip}`, `-bindPort=${bindPort}`, `-port=${await freePort()}`],
      env: { EDGEFLEET_REDIS_URL: redis.url },
    });
    await first.waitForOutput(/Local member/);
    const second = startServiceProcess(entry, {
      args: [`-bind=${ip}`, `-bindPort=${bindPort}`, `-port=${await freePort()}`],
      env: { EDGEFLEET_REDIS_URL: redis.url },
    });
    expect(await second.exited).toBe(1);
    expect(second.output()).toMatch(/EADDRINUSE/);
    expect(await first.stop('SIGTERM')).toBe(0);
  });

  it('reports not-ready while Redis is unreachable, and gossip still runs', async () => {
    const port = await freePort();
    const deadPort = await freePort();
    const p = startServiceProcess(entry, {
      args: await gossipArgs('127.0.0.54'),
      env: { EDGEFLEET_PORT: String(port), EDGEFLEET_REDIS_URL: `redis://127.0.0.1:${deadPort}` },
    });
    await p.waitForHttp(`http://127.0.0.1:${port}/healthz`);
    const ready = await fetch(`http://127.0.0.1:${port}/readyz`);
    expect(ready.status).toBe(503);
    const members = await (await fetch(`http://127.0.0.1:${port}/members`)).json();
    expect(members).toEqual({
      Active: [{ Name: 'proc-test', IP: '127.0.0.54', Port: expect.any(Number), State: 'alive' }],
      Dead: [],
    });
    expect(await p.stop('SIGTERM')).toBe(0);
  });
});
