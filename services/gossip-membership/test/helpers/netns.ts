// A private network namespace for socket tests that cut the network: made with `ip netns add`,
// its loopback brought up (127.0.0.0/8 is all local there), processes started inside with
// `ip netns exec`, and the kernel's traffic control on its `lo` as the fault layer. Needs root.
//
// Sides: a TCP dial from a socket that is not bound (Go memberlist's, for one) leaves from
// 127.0.0.1 whatever the node's address, so a filter on node addresses alone would let push/pulls
// through the cut. So each side's processes run under their own uid (setpriv), and policy routing
// (`ip rule … uidrange U-U to <other side's address> lookup T`, table T: `local <addr> dev lo src
// <marker>`) makes their unbound packets to the other side leave from the side's MARKER address
// (127.0.1.1, 127.0.1.2, …) instead. Without a cut this changes nothing but the source address.
//
// Partition (tc on the namespace's lo, egress — every loopback packet passes it once):
//   root htb qdisc, default class 1:1 (normal traffic, 10 Gbit/s: no limit in practice);
//   class 1:2 whose leaf is the `blackhole` qdisc (drops everything, reports success);
//   one u32 filter per cut (source, destination) pair, markers included → class 1:2.
// Drops are silent, like a real partition: UDP sends succeed, TCP SYNs vanish and dials time out.
// (The prio qdisc, the gact `drop` action and dummy devices are not built into every kernel;
// htb, u32 and blackhole are the smallest set that is.) heal() deletes the root qdisc.
//
// The namespace's sockets are not reachable from the test's own namespace, so HTTP status is read
// by one long-lived `node` process inside it (`reader`), which takes a JSON list of URLs per stdin
// line and answers one JSON line of bodies (null for a failed fetch).
import { type ChildProcess, execFile, execFileSync, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { promisify } from 'node:util';

const run = promisify(execFile);
const IP = '/usr/sbin/ip';
const TC = '/usr/sbin/tc';
const SETPRIV = '/usr/bin/setpriv';
/** First uid of the sides' processes (no account needed: setpriv takes numbers). */
const SIDE_UID = 47_001;

const READER = `
const rl = require('node:readline').createInterface({ input: process.stdin });
rl.on('line', async (line) => {
  const urls = JSON.parse(line);
  const bodies = await Promise.all(urls.map(async (u) => {
    try {
      const r = await fetch(u, { signal: AbortSignal.timeout(2000) });
      return r.ok ? await r.json() : null;
    } catch { return null; }
  }));
  process.stdout.write(JSON.stringify(bodies) + '\\n');
});`;

export class Netns {
  readonly name: string;
  readonly #children = new Set<ChildProcess>();
  #reader: { proc: ChildProcess; next: (line: string) => void } | undefined;
  #readerQueue: Promise<unknown> = Promise.resolve();
  #destroyed = false;
  /** Per side: its addresses, the uid its processes run as, the marker source address. */
  #sides: { ips: readonly string[]; uid: number; marker: string }[] = [];
  readonly #onExit = () => this.destroySync();

  private constructor(name: string) {
    this.name = name;
  }

  /** Creates a namespace with a unique name and its loopback up. */
  static async create(prefix = 'ef'): Promise<Netns> {
    const name = `${prefix}-${process.pid}-${Date.now().toString(36)}`;
    await run(IP, ['netns', 'add', name]);
    const ns = new Netns(name);
    process.once('exit', ns.#onExit);
    try {
      await run(IP, ['-n', name, 'link', 'set', 'lo', 'up']);
    } catch (e) {
      ns.destroySync();
      throw e;
    }
    return ns;
  }

  /**
   * Declares the sides a partition will cut between (see the header): routes and rules so that
   * the processes of side i (started with spawn(…, { side: i })) reach the other sides from the
   * side's marker address when their socket is not bound.
   */
  async defineSides(sides: readonly (readonly string[])[]): Promise<void> {
    const ip = (...args: string[]) => run(IP, ['-n', this.name, ...args]);
    this.#sides = sides.map((ips, i) => ({ ips, uid: SIDE_UID + i, marker: `127.0.1.${i + 1}` }));
    for (const [i, side] of this.#sides.entries()) {
      const table = String(100 + i);
      for (const [j, other] of this.#sides.entries()) {
        if (j === i) continue;
        for (const addr of other.ips) {
          await ip('route', 'add', 'local', `${addr}/32`, 'dev', 'lo', 'src', side.marker, 'table', table);
          await ip(
            'rule',
            'add',
            'pref',
            '10',
            'uidrange',
            `${side.uid}-${side.uid}`,
            'to',
            `${addr}/32`,
            'lookup',
            table,
          );
        }
      }
    }
    // The local table normally comes first (pref 0); move it behind the rules above.
    await ip('rule', 'del', 'pref', '0');
    await ip('rule', 'add', 'pref', '100', 'lookup', 'local');
  }

  /** Starts `command` inside the namespace (its own process group, killed by destroy). */
  spawn(
    command: string,
    args: string[],
    env: Record<string, string> = {},
    o: { side?: number } = {},
  ): ChildProcess {
    const uid = o.side === undefined ? undefined : this.#sides[o.side]?.uid;
    if (o.side !== undefined && uid === undefined) throw new Error(`no side ${o.side}: defineSides first`);
    const asUser = uid === undefined ? [] : [SETPRIV, `--reuid=${uid}`, `--regid=${uid}`, '--clear-groups'];
    const proc = spawn(IP, ['netns', 'exec', this.name, ...asUser, command, ...args], {
      stdio: ['pipe', 'pipe', 'pipe'],
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/tmp', ...env },
      detached: true,
    });
    this.#children.add(proc);
    proc.once('exit', () => this.#children.delete(proc));
    return proc;
  }

  /** GETs every URL from inside the namespace; a failed or non-2xx fetch gives null. */
  fetchJson(urls: string[]): Promise<unknown[]> {
    const reader = this.#startReader();
    const result = this.#readerQueue.then(
      () =>
        new Promise<unknown[]>((resolve, reject) => {
          const timer = setTimeout(() => reject(new Error('namespace reader did not answer')), 10_000);
          reader.next = (line) => {
            clearTimeout(timer);
            resolve(JSON.parse(line) as unknown[]);
          };
          reader.proc.stdin?.write(`${JSON.stringify(urls)}\n`);
        }),
    );
    this.#readerQueue = result.catch(() => undefined);
    return result;
  }

  /** Drops every packet between the sides (defineSides), both ways. */
  async partition(): Promise<void> {
    const tc = (...args: string[]) => run(TC, ['-n', this.name, ...args]);
    await tc('qdisc', 'add', 'dev', 'lo', 'root', 'handle', '1:', 'htb', 'default', '1');
    for (const id of ['1:1', '1:2'])
      await tc(
        'class',
        'add',
        'dev',
        'lo',
        'parent',
        '1:',
        'classid',
        id,
        'htb',
        'rate',
        '10gbit',
        'quantum',
        '60000',
      );
    await tc('qdisc', 'add', 'dev', 'lo', 'parent', '1:2', 'handle', '20:', 'blackhole');
    const all = this.#sides.map((s) => [...s.ips, s.marker]);
    const pairs: [string, string][] = [];
    for (const [i, a] of all.entries())
      for (const [j, b] of all.entries())
        if (i !== j) for (const x of a) for (const y of b) pairs.push([x, y]);
    for (const [src, dst] of pairs)
      await tc(
        'filter',
        'add',
        'dev',
        'lo',
        'parent',
        '1:',
        'protocol',
        'ip',
        'prio',
        '1',
        'u32',
        'match',
        'ip',
        'src',
        `${src}/32`,
        'match',
        'ip',
        'dst',
        `${dst}/32`,
        'flowid',
        '1:2',
      );
  }

  /** Packets the partition dropped so far (the blackhole class's counter). */
  async dropped(): Promise<number> {
    const { stdout } = await run(TC, ['-n', this.name, '-s', 'class', 'show', 'dev', 'lo', 'classid', '1:2']);
    return Number(/dropped (\d+)/.exec(stdout)?.[1] ?? 0);
  }

  async heal(): Promise<void> {
    await run(TC, ['-n', this.name, 'qdisc', 'del', 'dev', 'lo', 'root']);
  }

  /** Kills every process started here (whole process groups) and deletes the namespace. */
  destroySync(): void {
    if (this.#destroyed) return;
    this.#destroyed = true;
    process.off('exit', this.#onExit);
    const procs = [...this.#children, ...(this.#reader ? [this.#reader.proc] : [])];
    for (const p of procs) {
      if (p.pid === undefined || p.exitCode !== null || p.signalCode !== null) continue;
      try {
        process.kill(-p.pid, 'SIGKILL');
      } catch {
        /* already gone */
      }
    }
    try {
      execFileSync(IP, ['netns', 'del', this.name], { stdio: 'ignore' });
    } catch {
      /* already deleted */
    }
  }

  #startReader(): { proc: ChildProcess; next: (line: string) => void } {
    if (this.#reader) return this.#reader;
    const proc = spawn(IP, ['netns', 'exec', this.name, process.execPath, '-e', READER], {
      stdio: ['pipe', 'pipe', 'inherit'],
      detached: true,
    });
    const reader = { proc, next: (_line: string) => {} };
    createInterface({ input: proc.stdout as NodeJS.ReadableStream }).on('line', (line) => reader.next(line));
    this.#reader = reader;
    return reader;
  }
}
