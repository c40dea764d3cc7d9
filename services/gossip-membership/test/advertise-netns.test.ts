// The advertised address chosen for real: a network namespace laid out like a Jetson on a LAN
// (l4tbr0 = 192.168.55.1 with usb0 in it and listed first, rndis0, docker0 with a container veth, a
// compose bridge, then eth0 and wlan0), the service (or the address choice through the same
// /proc/net/route and os.networkInterfaces() reads) run inside it with `ip netns exec`. Needs root.
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { eventually } from '@edgefleet/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Netns } from './helpers/netns.js';

const run = promisify(execFile);
const IP = '/usr/sbin/ip';
const entry = fileURLToPath(new URL('../dist/main.js', import.meta.url));
const dist = fileURLToPath(new URL('../dist/', import.meta.url));

let ns: Netns;
const ip = (...args: string[]) => run(IP, ['-n', ns.name, ...args]);

/** Runs `node -e script` inside the namespace; resolves with its stdout (bounded by `timeoutMs`). */
function nodeInNs(script: string, timeoutMs = 15_000): Promise<string> {
  const p = ns.spawn(process.execPath, ['--input-type=module', '-e', script]);
  let out = '';
  let err = '';
  p.stdout?.on('data', (d) => (out += d));
  p.stderr?.on('data', (d) => (err += d));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      p.kill('SIGKILL');
      reject(new Error(`timed out: ${err}`));
    }, timeoutMs);
    p.once('exit', (code) => {
      clearTimeout(timer);
      if (code === 0) resolve(out);
      else reject(new Error(`exit ${code}: ${err}`));
    });
  });
}

/** The address choice through the service's own code paths (dist), as JSON. */
const CHOOSE = (procRoute?: string) => `
import { networkInterfaces } from 'node:os';
import { chooseAdvertiseAddr } from ${JSON.stringify(`${dist}advertise.js`)};
import { readDefaultRoutes } from ${JSON.stringify(`${dist}advertise-routes.js`)};
const routes = readDefaultRoutes(${procRoute ? JSON.stringify(procRoute) : ''});
process.stdout.write(JSON.stringify({ routes, choice: chooseAdvertiseAddr('0.0.0.0', undefined, networkInterfaces(), routes) }));`;

const choose = async (procRoute?: string) =>
  JSON.parse(await nodeInNs(CHOOSE(procRoute))) as {
    routes: unknown[];
    choice: { ip: string; reason: string; iface?: string };
  };

beforeAll(async () => {
  ns = await Netns.create('efadv');
  const bridge = async (name: string, cidr: string) => {
    await ip('link', 'add', name, 'type', 'bridge');
    await ip('addr', 'add', cidr, 'dev', name);
  };
  const veth = async (name: string, peer: string) =>
    ip('link', 'add', name, 'type', 'veth', 'peer', 'name', peer);
  // Created first, so listed first: memberlist's "first private IPv4" rule would pick 192.168.55.1.
  await bridge('l4tbr0', '192.168.55.1/24');
  await veth('usb0', 'rndis0');
  await ip('link', 'set', 'usb0', 'master', 'l4tbr0');
  await ip('addr', 'add', '192.168.56.2/24', 'dev', 'rndis0');
  await bridge('docker0', '172.17.0.1/16');
  await veth('vethd0a1', 'vethd0b1');
  await ip('link', 'set', 'vethd0a1', 'master', 'docker0');
  await ip('addr', 'add', '172.17.0.2/16', 'dev', 'vethd0b1');
  await bridge('br-3f2a9c1d7e4b', '172.18.0.1/16');
  await veth('vethc1a', 'vethc1b');
  await ip('link', 'set', 'vethc1a', 'master', 'br-3f2a9c1d7e4b');
  await veth('eth0', 'eth0peer');
  await ip('addr', 'add', '10.77.0.5/24', 'dev', 'eth0');
  await veth('wlan0', 'wlan0peer');
  await ip('addr', 'add', '192.168.1.23/24', 'dev', 'wlan0');
  for (const l of [
    'l4tbr0',
    'usb0',
    'rndis0',
    'docker0',
    'vethd0a1',
    'vethd0b1',
    'br-3f2a9c1d7e4b',
    'vethc1a',
    'vethc1b',
    'eth0',
    'eth0peer',
    'wlan0',
    'wlan0peer',
  ])
    await ip('link', 'set', l, 'up');
  await ip('route', 'add', 'default', 'via', '10.77.0.1', 'dev', 'eth0', 'metric', '100');
  // Bridges report carrier once a port is up; os.networkInterfaces() lists only running links.
  await eventually(
    async () => {
      const ifs = JSON.parse(
        await nodeInNs(
          `process.stdout.write(JSON.stringify(Object.keys((await import('node:os')).networkInterfaces())))`,
        ),
      ) as string[];
      return ['l4tbr0', 'docker0', 'br-3f2a9c1d7e4b', 'eth0', 'wlan0'].every((n) => ifs.includes(n));
    },
    { timeoutMs: 10_000, what: 'the namespace interfaces running' },
  );
}, 60_000);

afterAll(() => {
  ns?.destroySync();
});

describe('advertised gossip address in a Jetson-like network namespace', () => {
  it("the namespace reproduces the trap: l4tbr0's 192.168.55.1 is the first private IPv4 listed", async () => {
    const first = await nodeInNs(`
      const { networkInterfaces } = await import('node:os');
      const v4 = Object.values(networkInterfaces()).flat().filter((i) => i.family === 'IPv4' && !i.internal);
      process.stdout.write(v4[0].address);`);
    expect(first).toBe('192.168.55.1');
  });

  it('the service advertises the IPv4 of the default route (eth0) and logs why', async () => {
    const p = ns.spawn(
      process.execPath,
      [entry, '--port', '4001', '--bindPort', '8000', '--name', 'jetson-a'],
      {
        EDGEFLEET_REDIS_URL: 'redis://127.0.0.1:6379',
      },
    );
    let out = '';
    p.stdout?.on('data', (d) => (out += d));
    p.stderr?.on('data', (d) => (out += d));
    try {
      await eventually(() => /"msg":"advertising [^"]*"/.test(out), {
        timeoutMs: 20_000,
        what: `the advertise log line in ${out}`,
      });
      expect(out).toContain('Local member 10.77.0.5:8000');
      const line = JSON.parse(out.split('\n').find((l) => l.includes('"msg":"advertising')) as string);
      expect(line.advertise).toMatchObject({ ip: '10.77.0.5', iface: 'eth0', reason: 'default-route' });
      expect(line.msg).toMatch(/^advertising 10\.77\.0\.5: the default route's interface/);
    } finally {
      p.kill('SIGKILL');
    }
  }, 30_000);

  it('follows the default route to wlan0; with none, the first private IPv4 of a non-bridge interface', async () => {
    await ip('route', 'del', 'default');
    await ip('route', 'add', 'default', 'via', '192.168.1.1', 'dev', 'wlan0', 'metric', '600');
    expect((await choose()).choice).toMatchObject({
      ip: '192.168.1.23',
      iface: 'wlan0',
      reason: 'default-route',
    });

    // A default route through the USB bridge (a host tethering the device) is never taken.
    await ip('route', 'del', 'default');
    await ip('route', 'add', 'default', 'via', '192.168.55.100', 'dev', 'l4tbr0');
    expect((await choose()).choice).toMatchObject({
      ip: '10.77.0.5',
      iface: 'eth0',
      reason: 'private-fallback',
    });

    await ip('route', 'del', 'default');
    expect((await choose()).choice).toMatchObject({
      ip: '10.77.0.5',
      iface: 'eth0',
      reason: 'private-fallback',
    });
  }, 60_000);

  it('reads routes through `ip route` when /proc/net/route cannot be read', async () => {
    await ip('route', 'replace', 'default', 'via', '192.168.1.1', 'dev', 'wlan0', 'metric', '600');
    const { routes, choice } = await choose('/nonexistent/net/route');
    expect(routes).toEqual([{ iface: 'wlan0', metric: 600, gateway: '192.168.1.1' }]);
    expect(choice).toMatchObject({ ip: '192.168.1.23', reason: 'default-route' });
  }, 30_000);
});
