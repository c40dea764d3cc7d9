// Local mode: a complete node in one command. Starts what is missing (the S3/SQS emulator when no AWS
// endpoint or queue is configured, a redis-server of its own when EDGEFLEET_REDIS_URL is not set),
// then the four services as separate processes with prefixed, colour-coded log lines (or, with
// --single-process, as one process: `edgefleet node`); each must answer /healthz before the next starts. A service that exits is restarted with backoff (as the
// compose file's restart policy would), and so is local mode's own redis-server (same port and folder:
// it reloads its AOF, the services reconnect). Every process's pid is kept in <dataDir>/pids.json.
// Ctrl-C (or SIGTERM, or SIGHUP when the terminal closes) stops everything in reverse order.
//
// Every child runs in a process group of its own (spawn's `detached`). A terminal's Ctrl-C signals its
// whole foreground group: were the services and redis-server in it, each would start stopping at once,
// redis-server first, and this supervisor's SIGTERM would then be their second signal ("exiting now",
// service-kit/src/shutdown.ts), cutting their drain short. Only the supervisor sees the signal, and it
// stops the services one by one, each against its own shutdown deadline, and Redis last.
//
// Nothing is left open to job code on the device: local mode's redis-server requires a password and
// every service requires an API token, both generated once and kept in the data folder (mode 0600,
// secret-file.ts) unless EDGEFLEET_REDIS_URL / EDGEFLEET_API_TOKEN are given. Once the node is up,
// <dataDir>/client.json tells the CLI where everything is (client-file.ts).
import { type ChildProcess, spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { dataFolderProblem, foldersDownTo } from '@edgefleet/contracts';
import { writeClientFile } from '../client-file.js';
import { type NodeServiceName, prefixServiceEnv } from '../node/service-env.js';
import { colorizer } from './colors.js';
import type { LocalEmulator } from './emulator.js';
import { pipeWithPrefix } from './prefix-lines.js';
import { type LocalRedis, startLocalRedis } from './redis-local.js';
import { SECRET_FILES, secretFile } from './secret-file.js';
import {
  JOB_SERVICE_ENV,
  type LocalWiring,
  localPort,
  SERVICES,
  type ServiceSpec,
  SINGLE_PROCESS_NODE_ARGS,
  serviceSpec,
} from './services.js';

export interface LocalOptions {
  env: NodeJS.ProcessEnv;
  out: NodeJS.WriteStream;
  /** The four services in one process (`edgefleet node`) instead of four. */
  singleProcess?: boolean;
}

const cliEntry = fileURLToPath(new URL('../main.js', import.meta.url));

/**
 * The single-process node as local mode runs it: one child, `edgefleet node`, given every service's
 * settings under its prefix (node/service-env.ts). It is restarted whole, like any service here.
 */
function singleProcessSpec(env: NodeJS.ProcessEnv): ServiceSpec {
  return {
    name: 'edgefleet-node',
    label: 'node',
    entry: cliEntry,
    port: 0,
    portVariable: '',
    nodeArgs: SINGLE_PROCESS_NODE_ARGS,
    defaultEnv: JOB_SERVICE_ENV,
    args: () => ['node'],
    env: (w) =>
      Object.assign(
        {},
        ...SERVICES.map((s) =>
          prefixServiceEnv(s.name as NodeServiceName, {
            EDGEFLEET_PORT: String(localPort(s, env)),
            ...s.env(w),
          }),
        ),
      ),
  };
}

interface Running {
  spec: ServiceSpec;
  child: ChildProcess;
  stopping: boolean;
}

async function waitHealthy(url: string, child: ChildProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null)
      throw new Error(`exited with code ${child.exitCode} before answering ${url}`);
    try {
      const r = await fetch(url, { signal: AbortSignal.timeout(1000) });
      if (r.ok) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`did not answer ${url} within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export async function runLocalNode(opts: LocalOptions): Promise<number> {
  const { env, out } = opts;
  const color = colorizer(out);
  const say = (msg: string) => out.write(`${color('edgefleet', 5)} │ ${msg}\n`);
  const dataDir = resolve(env.EDGEFLEET_DATA_DIR ?? '.data');
  mkdirSync(dataDir, { recursive: true });
  // Job code runs as an unprivileged user that must reach its job folder below this one.
  chmodSync(dataDir, 0o755);
  const unreachable = dataFolderUnreachable(dataDir, env.EDGEFLEET_JOB_USER ?? 'edgefleet-job');
  if (unreachable) {
    say(unreachable);
    return 1;
  }

  for (const s of SERVICES) {
    if (!existsSync(s.entry)) {
      say(
        `${s.name} is not built (${s.entry} is missing): run \`pnpm build\` first, or use scripts/start.sh`,
      );
      return 1;
    }
  }

  let emulator: LocalEmulator | undefined;
  let redis: LocalRedis | undefined;
  const running: Running[] = [];
  let shuttingDown = false;
  // <dataDir>/pids.json: the pid of each process local mode runs, rewritten on every (re)start, so
  // tools (the chaos driver) can find them.
  const pids: Record<string, number> = {};
  const setPid = (name: string, pid: number | undefined) => {
    if (pid === undefined) delete pids[name];
    else pids[name] = pid;
    const file = join(dataDir, 'pids.json');
    try {
      writeFileSync(`${file}.tmp`, `${JSON.stringify(pids)}\n`);
      renameSync(`${file}.tmp`, file);
    } catch {
      // only an aid for observation
    }
  };

  const stopAll = async () => {
    shuttingDown = true;
    for (const r of [...running].reverse()) {
      r.stopping = true;
      if (r.child.exitCode === null && r.child.signalCode === null) {
        const exited = new Promise<[number | null, NodeJS.Signals | null]>((res) =>
          r.child.once('exit', (code, signal) => res([code, signal])),
        );
        r.child.kill('SIGTERM');
        const timer = setTimeout(() => r.child.kill('SIGKILL'), 20_000);
        const [code, signal] = await exited;
        clearTimeout(timer);
        say(`${r.spec.name} stopped (${signal ?? `exit ${code}`})`);
      }
    }
    await redis?.stop();
    await emulator?.stop();
  };
  // Children in groups of their own outlive a supervisor that dies without stopping them (an uncaught
  // error): end them on the way out. (SIGKILL of the supervisor cannot be caught; pids.json names them.)
  const killLeftovers = () => {
    for (const r of running)
      if (r.child.exitCode === null && r.child.signalCode === null) r.child.kill('SIGTERM');
    const redisPid = redis?.pid;
    try {
      if (redisPid) process.kill(redisPid, 'SIGTERM');
    } catch {
      // exited in the meantime
    }
  };
  process.once('exit', killLeftovers);

  try {
    const useEmulator = !env.AWS_ENDPOINT_URL && !env.EDGEFLEET_QUEUE_URLS;
    let aws: Record<string, string> = {};
    let jobsQueueUrl = env.EDGEFLEET_QUEUE_URLS ?? '';
    let resultsQueueUrl = env.EDGEFLEET_RESULTS_QUEUE_URL;
    let allowedBuckets = (env.EDGEFLEET_ALLOWED_BUCKETS ?? '').split(',').filter(Boolean);
    if (useEmulator) {
      // Imported only when used: a node against real AWS or its own endpoint never loads fauxqs.
      const { startLocalEmulator } = await import('./emulator.js');
      emulator = await startLocalEmulator(Number(env.EDGEFLEET_LOCAL_EMULATOR_PORT ?? 4566));
      aws = {
        AWS_ENDPOINT_URL: emulator.endpoint,
        AWS_REGION: 'us-east-1',
        AWS_ACCESS_KEY_ID: 'local',
        AWS_SECRET_ACCESS_KEY: 'local',
        EDGEFLEET_S3_FORCE_PATH_STYLE: 'true',
      };
      jobsQueueUrl = emulator.jobsQueueUrl;
      resultsQueueUrl = emulator.resultsQueueUrl;
      allowedBuckets = [emulator.jobsBucket, emulator.resultsBucket];
      say(
        `S3/SQS emulator at ${emulator.endpoint} (queue ${jobsQueueUrl}, buckets ${allowedBuckets.join(', ')})`,
      );
    } else if (!jobsQueueUrl) {
      say('AWS_ENDPOINT_URL is set but EDGEFLEET_QUEUE_URLS is not: set the queue URL of this device');
      return 2;
    }

    let redisUrl = env.EDGEFLEET_REDIS_URL;
    let redisPassword: ReturnType<typeof secretFile> | undefined;
    if (!redisUrl) {
      redisPassword = secretFile(dataDir, SECRET_FILES.redisPassword);
      redis = await startLocalRedis(
        dataDir,
        Number(env.EDGEFLEET_LOCAL_REDIS_PORT ?? 6390),
        redisPassword.value,
        {
          onStart: (pid) => setPid('redis-server', pid),
          onExit: (detail, delay) => {
            setPid('redis-server', undefined);
            if (!shuttingDown) say(`${detail}; restarting in ${delay} ms`);
          },
        },
      );
      redisUrl = redis.url;
      say(
        `redis-server at ${redisUrl} (AOF, appendfsync always, in ${dataDir}/redis; password in ${redisPassword.path})`,
      );
    }
    const apiToken = env.EDGEFLEET_API_TOKEN
      ? { path: null, value: env.EDGEFLEET_API_TOKEN }
      : secretFile(dataDir, SECRET_FILES.apiToken);

    const wiring: LocalWiring = {
      redisUrl,
      dataDir,
      nodeName: env.EDGEFLEET_NODE_NAME ?? hostname(),
      aws,
      jobsQueueUrl,
      ...(resultsQueueUrl ? { resultsQueueUrl } : {}),
      allowedBuckets,
      webhookHosts: (env.EDGEFLEET_WEBHOOK_ALLOWED_HOSTS ?? '127.0.0.1,localhost').split(',').filter(Boolean),
      webhookAddresses: (env.EDGEFLEET_WEBHOOK_ALLOWED_ADDRESSES ?? '127.0.0.1,::1')
        .split(',')
        .filter(Boolean),
      webhookSecret: env.EDGEFLEET_WEBHOOK_SECRET ?? secretFile(dataDir, SECRET_FILES.webhookSecret).value,
      gossipBindPort: Number(env.EDGEFLEET_GOSSIP_BIND_PORT ?? 8000),
      members: (env.EDGEFLEET_MEMBERS ?? '').split(',').filter(Boolean),
      jobApiUrl: `http://127.0.0.1:${localPort(serviceSpec('job-receiver'), env)}`,
    };

    const start = (spec: ServiceSpec, index: number, restarts = 0): Running => {
      const child = spawn(process.execPath, [...spec.nodeArgs, spec.entry, ...spec.args(wiring)], {
        env: {
          ...spec.defaultEnv,
          ...env,
          EDGEFLEET_REDIS_URL: redisUrl,
          ...(redisPassword ? { EDGEFLEET_REDIS_PASSWORD: redisPassword.value } : {}),
          EDGEFLEET_API_TOKEN: apiToken.value,
          EDGEFLEET_NODE_NAME: wiring.nodeName,
          ...aws,
          ...(spec.portVariable ? { EDGEFLEET_PORT: String(localPort(spec, env)) } : {}),
          ...spec.env(wiring),
        },
        stdio: ['ignore', 'pipe', 'pipe'],
        detached: true, // a process group of its own: see the header
      });
      const label = color(spec.label.padEnd(9), index);
      if (child.stdout) pipeWithPrefix(child.stdout, label, out);
      if (child.stderr) pipeWithPrefix(child.stderr, label, out);
      const entry: Running = { spec, child, stopping: false };
      const startedAt = Date.now();
      setPid(spec.name, child.pid);
      child.once('exit', (code, signal) => {
        if (pids[spec.name] === child.pid) setPid(spec.name, undefined);
        if (entry.stopping || shuttingDown) return;
        // Restart with backoff: 1 s, 2 s, 4 s … capped at 30 s; a service that ran a minute starts over.
        const n = Date.now() - startedAt > 60_000 ? 0 : restarts;
        const delay = Math.min(30_000, 1000 * 2 ** Math.min(n, 5));
        say(`${spec.name} exited (${code ?? signal}); restarting in ${delay} ms`);
        setTimeout(() => {
          if (shuttingDown) return;
          const i = running.indexOf(entry);
          const next = start(spec, index, n + 1);
          if (i >= 0) running[i] = next;
        }, delay).unref();
      });
      return entry;
    };

    // Each service must answer /healthz before the next starts; in one process, all of them. Started
    // downstream first (gossip, uploader, executor, receiver), as `edgefleet node` does, so stopping in
    // reverse closes intake first and every later stage drains what the earlier one handed it.
    const units = opts.singleProcess
      ? [{ spec: singleProcessSpec(env), serves: SERVICES }]
      : [...SERVICES].reverse().map((spec) => ({ spec, serves: [spec] }));
    for (const [i, unit] of units.entries()) {
      const r = start(unit.spec, i);
      running.push(r);
      for (const spec of unit.serves)
        await waitHealthy(`http://127.0.0.1:${localPort(spec, env)}/healthz`, r.child, 30_000).catch(
          (e: Error) => {
            throw new Error(`${spec.name} ${e.message}`);
          },
        );
    }
    const membersApiUrl = `http://127.0.0.1:${localPort(serviceSpec('gossip-membership'), env)}`;
    const clientFile = writeClientFile(dataDir, {
      version: 1,
      node: wiring.nodeName,
      jobApiUrl: wiring.jobApiUrl,
      membersApiUrl,
      apiTokenFile: apiToken.path,
      aws: {
        endpoint: emulator?.endpoint ?? env.AWS_ENDPOINT_URL ?? null,
        credentials: emulator ? { accessKeyId: 'local', secretAccessKey: 'local' } : null,
        region: aws.AWS_REGION ?? env.AWS_REGION ?? env.AWS_DEFAULT_REGION ?? 'us-east-1',
        queueUrl: jobsQueueUrl.split(',')[0] ?? jobsQueueUrl,
        jobsBucket: emulator?.jobsBucket ?? env.EDGEFLEET_JOBS_BUCKET ?? 'edgefleet-jobs',
        resultsUri: emulator
          ? `s3://${emulator.resultsBucket}/results/`
          : (env.EDGEFLEET_RESULTS_URI ?? 's3://edgefleet-results/results/'),
      },
      redis: { url: redisUrl, passwordFile: redisPassword?.path ?? null },
    });
    say(
      `node ${wiring.nodeName} is up: job API ${wiring.jobApiUrl}/v1/jobs, members ${membersApiUrl}/members`,
    );
    say(
      `API token in ${apiToken.path ?? 'EDGEFLEET_API_TOKEN'}; the CLI finds this node through ${clientFile}`,
    );
    // The dashboard's job panel asks for that token (its proxy never adds one: job code can reach it).
    say(
      `dashboard ${membersApiUrl}/dashboard/ (its job panel asks for the API token: ${
        apiToken.path ? `cat ${apiToken.path}` : 'the value of EDGEFLEET_API_TOKEN'
      })`,
    );
    say(
      'submit a job: node packages/cli/dist/main.js submit examples/hello --wait   (Ctrl-C stops the node)',
    );
  } catch (e) {
    say(`start failed: ${(e as Error).message}`);
    await stopAll();
    return 1;
  }

  return await new Promise<number>((resolveExit) => {
    const onSignal = (sig: NodeJS.Signals) => {
      if (shuttingDown) return;
      say(`${sig}: stopping the node`);
      void stopAll().then(() => {
        say('stopped');
        resolveExit(0);
      });
    };
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    process.once('SIGHUP', onSignal);
  });
}

/**
 * The executor's start-up check of the data folder, made before anything starts (the same line).
 * Only as root: otherwise jobs run as the caller, who just made the folder.
 */
function dataFolderUnreachable(dataDir: string, jobUserName: string): string | null {
  if (process.getuid?.() !== 0) return null;
  const entry = readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .map((l) => l.split(':'))
    .find((f) => f[0] === jobUserName);
  if (!entry) return null; // the executor says so itself, naming the user
  const user = { name: jobUserName, uid: Number(entry[2]), gid: Number(entry[3]) };
  const chain = foldersDownTo(dataDir).map((path) => {
    const st = statSync(path);
    return { path, mode: st.mode, uid: st.uid, gid: st.gid };
  });
  return dataFolderProblem(dataDir, chain, user);
}
