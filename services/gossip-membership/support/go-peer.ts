// The Go test peer (support/go-peer/main.go, Debian's memberlist 0.2.2) as a child process: built once
// into the git-ignored `.go-build/` folder (rebuilt only when main.go is newer than the binary), started
// with flags, observed through its HTTP interface (/members reports every node with its exact state).
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdirSync, renameSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const sourceDir = fileURLToPath(new URL('./go-peer/', import.meta.url));
const buildDir = fileURLToPath(new URL('../.go-build/', import.meta.url));
export const goPeerBinary = `${buildDir}go-peer`;

const mtime = (p: string): number => {
  try {
    return statSync(p).mtimeMs;
  } catch {
    return -1;
  }
};

let building: Promise<string> | undefined;

/** Builds the Go peer if its binary is missing or older than main.go; resolves to the binary path. */
export function buildGoPeer(): Promise<string> {
  building ??= (async () => {
    if (mtime(goPeerBinary) >= mtime(`${sourceDir}main.go`)) return goPeerBinary;
    mkdirSync(buildDir, { recursive: true });
    // Build to a unique name and rename: concurrent builders (test files, the bench) never see a
    // half-written binary.
    const tmp = `${goPeerBinary}.${process.pid}.tmp`;
    await run('go', ['build', '-o', tmp, '.'], {
      cwd: sourceDir,
      env: {
        PATH: process.env.PATH ?? '/usr/bin:/bin',
        HOME: process.env.HOME ?? '/tmp',
        GOPATH: '/usr/share/gocode',
        GO111MODULE: 'off',
        GOCACHE: `${buildDir}cache`,
      },
      timeout: 120_000,
    });
    renameSync(tmp, goPeerBinary);
    return goPeerBinary;
  })();
  return building;
}

export type GoState = 'alive' | 'suspect' | 'dead' | 'left';
export interface GoMember {
  name: string;
  addr: string;
  port: number;
  state: GoState;
  incarnation: number;
  meta: string;
}

export interface GoPeerOptions {
  name: string;
  bind: string;
  port: number;
  advertise?: string;
  join?: string[];
  profile?: 'local' | 'lan' | 'wan';
  meta?: string;
  /** Encryption key as the legacy ASCII secret (zero-padded to 24 bytes). */
  keyText?: string;
  /** Encryption key as base64 of 16, 24 or 32 bytes. */
  key?: string;
  /** memberlist Config.ProtocolVersion (default: memberlist's, 2). */
  protocolVersion?: number;
  /** memberlist DelegateProtocolMin / Max / Version. */
  delegate?: { min: number; max: number; version: number };
  /** Pass memberlist's log lines through to this process's stderr (debugging). */
  verbose?: boolean;
}

export interface GoPeer {
  name: string;
  addr: string;
  port: number;
  proc: ChildProcess;
  output(): string;
  members(): Promise<GoMember[]>;
  /** Bytes this node has sent so far (UDP datagrams + TCP stream writes). */
  bytesOut(): Promise<number>;
  /** State of `name` as this peer sees it (undefined when unknown). */
  stateOf(name: string): Promise<GoState | undefined>;
  join(addrs: string[]): Promise<number>;
  /** memberlist Keyring AddKey / UseKey / RemoveKey with a base64 key; resolves with the key fingerprints. */
  keyring(op: 'install' | 'use' | 'remove', key: string): Promise<{ primary: string; keys: string[] }>;
  leave(timeoutMs?: number): Promise<void>;
  /** SIGKILL: no leave, peers must detect the failure. */
  kill(): Promise<void>;
  /** Graceful: Shutdown() without leave, then exit. */
  stop(): Promise<void>;
}

export async function startGoPeer(o: GoPeerOptions): Promise<GoPeer> {
  const bin = await buildGoPeer();
  const args = [
    `-name=${o.name}`,
    `-bind=${o.bind}`,
    `-port=${o.port}`,
    `-profile=${o.profile ?? 'local'}`,
    '-http=127.0.0.1:0',
  ];
  if (o.advertise) args.push(`-advertise=${o.advertise}`);
  if (o.join?.length) args.push(`-join=${o.join.join(',')}`);
  if (o.meta) args.push(`-meta=${o.meta}`);
  if (o.keyText) args.push(`-key-text=${o.keyText}`);
  if (o.key) args.push(`-key=${o.key}`);
  if (o.protocolVersion !== undefined) args.push(`-protocol-version=${o.protocolVersion}`);
  if (o.delegate)
    args.push(
      `-delegate-min=${o.delegate.min}`,
      `-delegate-max=${o.delegate.max}`,
      `-delegate-version=${o.delegate.version}`,
    );
  if (!o.verbose) args.push('-quiet');
  const proc = spawn(bin, args, { stdio: ['ignore', 'pipe', o.verbose ? 'inherit' : 'pipe'] });
  let out = '';
  proc.stdout?.on('data', (d) => (out += d));
  proc.stderr?.on('data', (d) => (out += d));
  const exited = new Promise<void>((r) => proc.once('exit', () => r()));
  // The ready line, or the exit (a failed join exits 1 at once): whichever comes first.
  const ready = await new Promise<{ http: number; addr: string; port: number }>((resolve, reject) => {
    const timer = setTimeout(() => {
      proc.kill('SIGKILL');
      reject(new Error(`go-peer ${o.name} not ready within 10 s: ${out}`));
    }, 10_000);
    const check = () => {
      const line = out.split('\n').find((l) => l.includes('"event":"ready"'));
      if (!line) return;
      clearTimeout(timer);
      proc.stdout?.off('data', check);
      resolve(JSON.parse(line) as { http: number; addr: string; port: number });
    };
    proc.stdout?.on('data', check);
    proc.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`go-peer ${o.name} exited (${code}): ${out}`));
    });
  });
  const base = `http://127.0.0.1:${ready.http}`;
  const members = async (): Promise<GoMember[]> => {
    const r = await fetch(`${base}/members`);
    return ((await r.json()) as { members: GoMember[] }).members;
  };
  return {
    name: o.name,
    addr: ready.addr,
    port: ready.port,
    proc,
    output: () => out,
    members,
    async bytesOut() {
      const r = await fetch(`${base}/members`);
      const b = ((await r.json()) as { bytesOut: { udp: number; tcp: number } }).bytesOut;
      return b.udp + b.tcp;
    },
    stateOf: async (name) => (await members()).find((m) => m.name === name)?.state,
    async join(addrs) {
      const r = await fetch(`${base}/join?addrs=${encodeURIComponent(addrs.join(','))}`, { method: 'POST' });
      const body = (await r.json()) as { joined: number; error?: string };
      if (!r.ok) throw new Error(`go-peer ${o.name} join failed: ${body.error}`);
      return body.joined;
    },
    async keyring(op, key) {
      const r = await fetch(`${base}/keyring/${op}?key=${encodeURIComponent(key)}`, { method: 'POST' });
      const body = (await r.json()) as { primary: string; keys: string[]; error?: string };
      if (!r.ok) throw new Error(`go-peer ${o.name} keyring ${op} failed: ${body.error}`);
      return body;
    },
    async leave(timeoutMs = 2000) {
      const r = await fetch(`${base}/leave?timeoutMs=${timeoutMs}`, { method: 'POST' });
      if (!r.ok) throw new Error(`go-peer ${o.name} leave failed: ${await r.text()}`);
    },
    async kill() {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
      await exited;
    },
    async stop() {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      await fetch(`${base}/shutdown`, { method: 'POST' }).catch(() => undefined);
      const timer = setTimeout(() => proc.kill('SIGKILL'), 2000);
      await exited;
      clearTimeout(timer);
    },
  };
}
