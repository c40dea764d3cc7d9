#!/usr/bin/env node
// The edgefleet command. Exit codes (errors.ts): 0 ok, 1 job did not succeed (--wait), 2 usage,
// 3 not found, 4 node unreachable, 5 rejected, 6 other failure. Errors are one line on stderr.
// First: refuses a Node.js older than the supported one (exit 2) before anything else loads.
import './require-node.js';
import { basename } from 'node:path';
import { DRAIN_MAX_WAIT_SECONDS } from '@edgefleet/contracts';
import type { Endpoints } from './api.js';
import { type OptionSpec, parseArgs } from './args.js';
import { awsTarget } from './aws.js';
import { type ClientFile, clientFilePath, readClientFile, readSecret } from './client-file.js';
import { resolveTarget } from './client-target.js';
import { listDead, replayDead, withRedis } from './commands/dead.js';
import { DEFAULT_EXECUTOR_URL, drainExecutor } from './commands/drain.js';
import { cancelJob, getJob, listJobs, streamLogs, waitForEnd } from './commands/jobs.js';
import { members, table } from './commands/members.js';
import { downloadResult, listResult } from './commands/results.js';
import { submit, uploadFolder } from './commands/submit.js';
import { exitCodeOf } from './doctor/checks.js';
import { CliError, EXIT, usageError } from './errors.js';

const COMMON: Record<string, OptionSpec> = {
  json: { value: false },
  help: { value: false, alias: 'h' },
  api: { value: true },
  'members-api': { value: true },
};

interface Command {
  usage: string;
  summary: string;
  options: Record<string, OptionSpec>;
  run(pos: string[], o: Record<string, string | boolean>, ctx: Ctx): Promise<number>;
}

interface Ctx {
  ep: Endpoints;
  env: NodeJS.ProcessEnv;
  /** Local mode's client file, when one was found and no variable overrides it. */
  client?: ClientFile;
  json: boolean;
  out(line: string): void;
  print(value: unknown, text: () => string): void;
}

/** Redis for `dead`: EDGEFLEET_REDIS_URL (+ EDGEFLEET_REDIS_PASSWORD), else the client file's. */
function redisOf(ctx: Ctx): { url: string; password?: string } {
  const env = ctx.env;
  const password =
    env.EDGEFLEET_REDIS_PASSWORD ??
    (env.EDGEFLEET_REDIS_URL ? undefined : readSecret(ctx.client?.redis.passwordFile ?? null));
  const url =
    env.EDGEFLEET_REDIS_URL ??
    ctx.client?.redis.url ??
    `redis://127.0.0.1:${env.EDGEFLEET_LOCAL_REDIS_PORT ?? 6390}`;
  return { url, ...(password ? { password } : {}) };
}
const prefixOf = (env: NodeJS.ProcessEnv) => env.EDGEFLEET_REDIS_PREFIX ?? 'edgefleet';
const need = (pos: string[], n: number, what: string) => {
  if (pos.length < n) throw usageError(`missing ${what}`);
};

const COMMANDS: Record<string, Command> = {
  local: {
    usage: 'edgefleet local [--single-process]',
    summary:
      'run a whole node here (emulated S3/SQS and its own Redis unless configured); --single-process: the four services in one process',
    options: { 'single-process': { value: false } },
    // Loaded only for this command: the embedded S3/SQS emulator (fauxqs, with a fastify of its own)
    // is no weight for the other commands, `edgefleet node` above all (its idle RSS: docs/benchmarks.md).
    run: async (_p, o, ctx) =>
      (await import('./local/node.js')).runLocalNode({
        env: ctx.env,
        out: process.stdout,
        singleProcess: o['single-process'] === true || ctx.env.EDGEFLEET_LOCAL_SINGLE_PROCESS === 'true',
      }),
  },
  node: {
    usage: 'edgefleet node',
    summary:
      "the four services in this one process, each configured by the environment; EDGEFLEET_<RECEIVER|EXECUTOR|UPLOADER|GOSSIP>__<NAME> sets one service's EDGEFLEET_<NAME>",
    options: {},
    // Loaded only for this command: the other commands need none of the services' code.
    run: async (p, _o, ctx) =>
      (await import('./node/single-process.js')).runSingleProcessNode({
        env: ctx.env,
        gossipArgs: p,
        err: process.stderr,
      }),
  },
  submit: {
    usage:
      'edgefleet submit <folder|job.json> [--entry main.py] [--requirements requirements.txt] [--job-id ID] [--timeout SECONDS] [--webhook URL] [--wait] [--wait-timeout SECONDS]',
    summary: "upload a folder's files to S3 and send the job (or send a job.json)",
    options: {
      entry: { value: true },
      requirements: { value: true },
      'job-id': { value: true },
      timeout: { value: true },
      webhook: { value: true },
      wait: { value: false },
      'wait-timeout': { value: true },
    },
    run: async (pos, o, ctx) => {
      need(pos, 1, 'the folder or job.json to submit');
      const timeout = o.timeout ? Number(o.timeout) : undefined;
      if (timeout !== undefined && !(Number.isInteger(timeout) && timeout > 0))
        throw usageError('--timeout takes a whole number of seconds');
      const aws = awsTarget(ctx.env, ctx.client);
      try {
        const { jobId, message } = await submit(
          aws,
          {
            target: pos[0] as string,
            ...(typeof o.entry === 'string' ? { entry: o.entry } : {}),
            ...(typeof o.requirements === 'string' ? { requirements: o.requirements } : {}),
            ...(typeof o['job-id'] === 'string' ? { jobId: o['job-id'] } : {}),
            ...(timeout ? { timeoutSeconds: timeout } : {}),
            ...(typeof o.webhook === 'string' ? { webhook: o.webhook } : {}),
          },
          (l) => !ctx.json && process.stderr.write(`${l}\n`),
        );
        if (!o.wait) {
          ctx.print({ jobId }, () => `submitted ${jobId}`);
          return EXIT.ok;
        }
        if (!ctx.json) ctx.out(`submitted ${jobId}; waiting`);
        const waitMs = (Number(o['wait-timeout']) || 3600) * 1000;
        const rec = await waitForEnd(
          ctx.ep,
          jobId,
          (r) => !ctx.json && ctx.out(`  ${r.state}${r.reason ? ` (${r.reason})` : ''}`),
          waitMs,
        );
        const resultUri = rec.resultUri ?? `${message.output.uri}${jobId}/`;
        let tail = '';
        await streamLogs(ctx.ep, jobId, false, (s) => (tail += s)).catch(() => undefined);
        ctx.print(
          {
            jobId,
            state: rec.state,
            reason: rec.reason,
            exitCode: rec.exitCode ?? null,
            resultUri,
            notifyStatus: rec.notifyStatus,
          },
          () =>
            [
              `${jobId}: ${rec.state}${rec.reason ? ` (${rec.reason}${rec.detail ? `: ${rec.detail}` : ''})` : ''}`,
              `exit code: ${rec.exitCode ?? '-'}`,
              `result: ${resultUri}`,
              ...(tail ? ['--- log tail ---', tail.split('\n').slice(-20).join('\n').trimEnd()] : []),
            ].join('\n'),
        );
        return rec.state === 'SUCCEEDED' ? EXIT.ok : EXIT.jobNotSucceeded;
      } finally {
        aws.close();
      }
    },
  },
  upload: {
    usage: 'edgefleet upload <folder> <s3://bucket/prefix/>',
    summary: "upload a folder's files under an S3 prefix (for job.json inputs)",
    options: {},
    run: async (pos, _o, ctx) => {
      need(pos, 2, 'the folder and the s3:// prefix');
      const aws = awsTarget(ctx.env, ctx.client);
      try {
        const n = await uploadFolder(aws, pos[0] as string, pos[1] as string, (l) => !ctx.json && ctx.out(l));
        ctx.print({ uploaded: n }, () => `uploaded ${n} file(s)`);
        return EXIT.ok;
      } finally {
        aws.close();
      }
    },
  },
  jobs: {
    usage: 'edgefleet jobs [--state STATE] [--limit N]',
    summary: 'list recent jobs',
    options: { state: { value: true }, limit: { value: true } },
    run: async (_p, o, ctx) => {
      const jobs = await listJobs(
        ctx.ep,
        typeof o.state === 'string' ? o.state : undefined,
        Number(o.limit) || 50,
      );
      ctx.print(jobs, () =>
        table(
          jobs.map((j) => ({
            id: j.jobId,
            state: j.state,
            reason: j.reason ?? '',
            updated: new Date(j.updatedAt ?? j.createdAt).toISOString(),
          })),
          ['id', 'state', 'reason', 'updated'],
        ),
      );
      return EXIT.ok;
    },
  },
  job: {
    usage: 'edgefleet job <id>',
    summary: 'show a job with its history',
    options: {},
    run: async (pos, _o, ctx) => {
      need(pos, 1, 'the job id');
      const j = await getJob(ctx.ep, pos[0] as string);
      ctx.print(j, () =>
        [
          `${j.jobId}: ${j.state}${j.reason ? ` (${j.reason})` : ''}  attempt ${j.attempt}  notify ${j.notifyStatus}`,
          ...j.history.map((h) =>
            `  ${new Date(h.at).toISOString()}  ${h.state.padEnd(11)} ${h.reason ?? ''} ${h.detail ?? ''}`.trimEnd(),
          ),
        ].join('\n'),
      );
      return EXIT.ok;
    },
  },
  logs: {
    usage: 'edgefleet logs <id> [-f]',
    summary: "print a job's live log tail (-f follows it)",
    options: { follow: { value: false, alias: 'f' } },
    run: async (pos, o, _ctx) => {
      need(pos, 1, 'the job id');
      await streamLogs(_ctx.ep, pos[0] as string, o.follow === true, (s) => process.stdout.write(s));
      return EXIT.ok;
    },
  },
  cancel: {
    usage: 'edgefleet cancel <id>',
    summary: 'cancel a job (queued: at once; running: within seconds)',
    options: {},
    run: async (pos, _o, ctx) => {
      need(pos, 1, 'the job id');
      const r = await cancelJob(ctx.ep, pos[0] as string);
      ctx.print(r, () => `cancel requested for ${pos[0]}`);
      return EXIT.ok;
    },
  },
  members: {
    usage: 'edgefleet members [--all]',
    summary:
      'the cluster: state, role, address, load, device, live GPU/temperature/RAM, last change (--all: also departed nodes, and who declared them)',
    options: { all: { value: false } },
    run: async (_p, o, ctx) => {
      const all = o.all === true;
      const rows = await members(ctx.ep, all);
      ctx.print(rows, () =>
        table(rows as unknown as Record<string, string>[], [
          'name',
          'state',
          'role',
          'address',
          'load',
          'device',
          'hw',
          'lastChange',
          ...(all ? ['declaredBy'] : []),
        ]),
      );
      return EXIT.ok;
    },
  },
  drain: {
    usage: 'edgefleet drain [--wait SECONDS] [--executor URL]',
    summary:
      'before stopping or upgrading the executor: it takes no more jobs, running ones get --wait seconds (default 600) to finish, the rest are handed back to run again after the restart',
    options: { wait: { value: true }, executor: { value: true } },
    run: async (_p, o, ctx) => {
      const wait = o.wait === undefined ? 600 : Number(o.wait);
      if (!(Number.isInteger(wait) && wait >= 0 && wait <= DRAIN_MAX_WAIT_SECONDS))
        throw usageError(`--wait takes whole seconds from 0 to ${DRAIN_MAX_WAIT_SECONDS}`);
      const url =
        (typeof o.executor === 'string' ? o.executor : undefined) ??
        ctx.env.EDGEFLEET_EXECUTOR_URL ??
        DEFAULT_EXECUTOR_URL;
      // In the executor's container the token may be a compose secret (EDGEFLEET_API_TOKEN_FILE).
      const token = ctx.ep.token ?? readSecret(ctx.env.EDGEFLEET_API_TOKEN_FILE ?? null);
      const r = await drainExecutor(url, wait, token);
      ctx.print(r, () =>
        [
          'drained: the executor takes no more jobs until it restarts',
          `finished: ${r.finished.join(', ') || '-'}`,
          `handed back (run again after the restart): ${r.handedBack.join(', ') || '-'}`,
        ].join('\n'),
      );
      return EXIT.ok;
    },
  },
  doctor: {
    usage: 'edgefleet doctor [--json]',
    summary:
      'check this device (python, job user, GPU groups, cgroups, Redis, clock, disk, gossip, L4T); exit 0 ok, 1 warnings, 2 failures',
    options: {},
    run: async (_p, _o, ctx) => {
      // Loaded on demand: its probes pull in service-kit, which no other command needs at start.
      const { runDoctor } = await import('./doctor/probes.js');
      const lines = await runDoctor({ env: ctx.env, membersApi: ctx.ep.membersApi });
      const mark = { ok: 'ok', warn: 'WARN', fail: 'FAIL', skip: '-' } as const;
      ctx.print({ lines, exitCode: exitCodeOf(lines) }, () =>
        table(
          lines.map((l) => ({ status: mark[l.status], check: l.check, detail: l.detail, fix: l.fix })),
          ['status', 'check', 'detail', 'fix'],
        ),
      );
      return exitCodeOf(lines);
    },
  },
  results: {
    usage: 'edgefleet results <id> [--download DIR]',
    summary: "where a job's result is, its files, and a download",
    options: { download: { value: true } },
    run: async (pos, o, ctx) => {
      need(pos, 1, 'the job id');
      const j = await getJob(ctx.ep, pos[0] as string);
      const uri = j.resultUri ?? (j.message ? `${j.message.output.uri}${j.jobId}/` : undefined);
      if (!uri) throw new CliError(`job ${j.jobId} has no result location`, EXIT.notFound);
      const aws = awsTarget(ctx.env, ctx.client);
      try {
        if (typeof o.download === 'string') {
          const n = await downloadResult(aws, uri, o.download);
          ctx.print(
            { resultUri: uri, downloaded: n, dir: o.download },
            () => `downloaded ${n} file(s) from ${uri} to ${o.download}`,
          );
        } else {
          const files = await listResult(aws, uri);
          ctx.print({ resultUri: uri, files }, () =>
            [uri, ...files.map((f) => `  ${f.key}  ${f.size}`)].join('\n'),
          );
        }
      } finally {
        aws.close();
      }
      return EXIT.ok;
    },
  },
  dead: {
    usage: 'edgefleet dead [replay <id>]',
    summary: 'list dead-lettered entries with their reasons, or replay one as a new job',
    options: {},
    run: async (pos, _o, ctx) =>
      withRedis(redisOf(ctx), async (redis) => {
        if (pos[0] === 'replay') {
          need(pos, 2, 'the dead entry id or job id to replay');
          const r = await replayDead(redis, prefixOf(ctx.env), ctx.ep, pos[1] as string);
          ctx.print(r, () => `replayed as ${r.newJobId}`);
          return EXIT.ok;
        }
        if (pos.length) throw usageError(`unknown dead subcommand ${pos[0]}`);
        const rows = await listDead(redis, prefixOf(ctx.env));
        ctx.print(rows, () =>
          table(
            rows.map((r) => ({
              id: r.id,
              job: r.entry.jobId ?? '-',
              reason: r.entry.reason,
              deliveries: String(r.entry.deliveries),
              detail: r.entry.detail.slice(0, 80),
            })),
            ['id', 'job', 'reason', 'deliveries', 'detail'],
          ),
        );
        return EXIT.ok;
      }),
  },
};

function help(): string {
  return [
    'usage: edgefleet <command> [options]',
    '',
    ...Object.entries(COMMANDS).map(([n, c]) => `  ${n.padEnd(8)} ${c.summary}`),
    '',
    'common options: --json (machine-readable output), --api URL (job API, default http://127.0.0.1:4100 or EDGEFLEET_API_URL),',
    '  --members-api URL (membership API, default http://127.0.0.1:4001 or EDGEFLEET_MEMBERS_API_URL); token: EDGEFLEET_API_TOKEN',
    '  without those, the node local mode describes in <EDGEFLEET_DATA_DIR or ./.data>/client.json (addresses, token file)',
    "run 'edgefleet <command> --help' for a command's options",
  ].join('\n');
}

export async function main(argv: string[], env: NodeJS.ProcessEnv): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(`${help()}\n`);
    return name ? EXIT.ok : EXIT.usage;
  }
  const cmd = COMMANDS[name];
  if (!cmd) {
    process.stderr.write(`edgefleet: unknown command ${JSON.stringify(name)}; run 'edgefleet --help'\n`);
    return EXIT.usage;
  }
  const parsed = parseArgs(rest, { ...COMMON, ...cmd.options });
  if (!parsed.ok) {
    process.stderr.write(`edgefleet ${name}: ${parsed.error}\nusage: ${cmd.usage}\n`);
    return EXIT.usage;
  }
  const o = parsed.options;
  if (o.help) {
    process.stdout.write(`usage: ${cmd.usage}\n${cmd.summary}\n`);
    return EXIT.ok;
  }
  const json = o.json === true;
  const found =
    name === 'local' || name === 'node' ? undefined : readClientFile(clientFilePath(env, process.cwd()));
  if (found?.kind === 'bad') process.stderr.write(`edgefleet: ignoring ${found.path} (${found.problem})\n`);
  const client = found?.kind === 'ok' ? found.file : undefined;
  const target = resolveTarget({
    apiFlag: typeof o.api === 'string' ? o.api : undefined,
    membersFlag: typeof o['members-api'] === 'string' ? o['members-api'] : undefined,
    env,
    ...(found?.kind === 'ok'
      ? { client: { path: found.path, file: found.file, apiToken: readSecret(found.file.apiTokenFile) } }
      : {}),
  });
  const ep: Endpoints = {
    jobApi: target.jobApi,
    membersApi: target.membersApi,
    ...(target.token ? { token: target.token } : {}),
  };
  // Which node this command talks to when the client file chose it (flags and variables are the
  // user's own choice), on stderr so that output stays machine-readable.
  if (name !== 'local' && name !== 'node' && !json && target.fromClientFile)
    process.stderr.write(`edgefleet: ${target.describe}\n`);
  const ctx: Ctx = {
    ep,
    env,
    ...(client ? { client } : {}),
    json,
    out: (line) => process.stdout.write(`${line}\n`),
    print: (value, text) => process.stdout.write(`${json ? JSON.stringify(value) : text()}\n`),
  };
  try {
    return await cmd.run(parsed.positionals, o, ctx);
  } catch (e) {
    if (e instanceof CliError) {
      process.stderr.write(`edgefleet ${name}: ${e.message}\n`);
      return e.exitCode;
    }
    process.stderr.write(`edgefleet ${name}: ${(e as Error)?.message ?? String(e)}\n`);
    return EXIT.failure;
  }
}

const invokedAs = basename(process.argv[1] ?? '');
if (invokedAs === 'main.js' || invokedAs === 'edgefleet') {
  main(process.argv.slice(2), process.env).then((code) => {
    process.exitCode = code;
  });
}
