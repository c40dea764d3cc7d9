// The four services as local mode starts them: where each entry point is, its HTTP port, and the
// environment it needs beyond what the operator's own environment already says.
import { fileURLToPath } from 'node:url';
import { GOSSIP_NODE_ARGS } from '@edgefleet/gossip-membership/node-args';

export interface LocalWiring {
  redisUrl: string;
  dataDir: string;
  nodeName: string;
  /** AWS settings for the children (endpoint, region, credentials), empty for real AWS from the env. */
  aws: Record<string, string>;
  jobsQueueUrl: string;
  resultsQueueUrl?: string;
  allowedBuckets: string[];
  /** Hosts a job's notify.webhook may name; local mode allows loopback (plain http). */
  webhookHosts: string[];
  /** Non-public addresses webhooks may reach (local mode: loopback). */
  webhookAddresses: string[];
  webhookSecret: string;
  gossipBindPort: number;
  members: string[];
  /** The job API's URL (job-receiver's port in local mode). */
  jobApiUrl: string;
}

export interface ServiceSpec {
  name: string;
  /** Short label for log prefixes. */
  label: string;
  entry: string;
  /** Default HTTP port. */
  port: number;
  /** Variable that moves the HTTP port in local mode (so a benchmark or a second node can use free ports). */
  portVariable: string;
  /** Flags for node itself, before the entry point. */
  nodeArgs: readonly string[];
  /** Environment defaults the operator's environment may override (allocator settings). */
  defaultEnv: Record<string, string>;
  args(w: LocalWiring): string[];
  env(w: LocalWiring): Record<string, string>;
}

/**
 * Memory settings of the services that handle jobs (the same as docker/Dockerfile and compose.yaml):
 * V8's semi-spaces capped at 1 MiB (young generation; default up to 16 MiB each, which a burst of jobs
 * grows and an idle process keeps) and glibc malloc limited to 2 arenas (default 8 per core; libuv's
 * worker threads, which hash and write files, each grow their own). Measured with
 * `pnpm --filter @edgefleet/cli bench:memory --jobs 30` on a 2-core x86_64: idle RSS after a burst of
 * 30 jobs, job-executor 98 → 80 MiB, result-uploader 88 → 82 MiB, job-receiver 76 → 73 MiB; start-up
 * peak (VmHWM) 90–98 → 76–82 MiB; idle before any job unchanged (about 70 MiB); the burst was not slower.
 * `--v8-pool-size=1`: one V8 background thread instead of one per core (concurrent GC marking and
 * compilation; each thread keeps its own stack and malloc arena). A service's heap is a few tens of
 * MiB, so a single helper is enough: measured on an idle gossip node, RSS 73–77 → 69–70 MiB, CPU
 * unchanged (0.16–0.17 CPU s/min either way).
 */
const JOB_SERVICE_NODE_ARGS = ['--max-semi-space-size=1', '--v8-pool-size=1'];
export const JOB_SERVICE_ENV: Record<string, string> = { MALLOC_ARENA_MAX: '2' };

/**
 * The single-process node's flags (`edgefleet node`; docker/compose.yaml's edgefleet-node agrees,
 * docker/test/docker.test.ts checks): as the job services', with 2 MiB semi-spaces instead of 1. One
 * heap then serves the four services' allocations, and with 1 MiB its scavenges came four times as
 * often as in any one of the four processes, promoting short-lived objects: the old generation cycled
 * 35 → 42 MB with a mark-compact about every 4 s, about 11 ms of GC per job against 7–8 ms in four
 * processes (--trace-gc). Measured with `pnpm --filter @edgefleet/cli bench:pipeline
 * --single-process-rounds 150`, warm-job overhead p50 single ÷ four with both cores kept busy: 1.04×
 * with 1 MiB, 0.99× with 2 MiB; idle 0.97–0.99× either way. The cost: idle RSS of the whole node
 * 116.4 → 116.7–118.2 MiB (`bench:memory`, target 120).
 */
export const SINGLE_PROCESS_NODE_ARGS = ['--max-semi-space-size=2', '--v8-pool-size=1'];

const repoFile = (p: string) => fileURLToPath(new URL(`../../../../${p}`, import.meta.url));

export const SERVICES: ServiceSpec[] = [
  {
    name: 'job-receiver',
    label: 'receiver',
    entry: repoFile('services/job-receiver/dist/main.js'),
    port: 4100,
    portVariable: 'EDGEFLEET_LOCAL_RECEIVER_PORT',
    nodeArgs: JOB_SERVICE_NODE_ARGS,
    defaultEnv: JOB_SERVICE_ENV,
    args: () => [],
    env: (w) => ({
      EDGEFLEET_QUEUE_URLS: w.jobsQueueUrl,
      EDGEFLEET_ALLOWED_BUCKETS: w.allowedBuckets.join(','),
      EDGEFLEET_WEBHOOK_ALLOWED_HOSTS: w.webhookHosts.join(','),
    }),
  },
  {
    name: 'job-executor',
    label: 'executor',
    entry: repoFile('services/job-executor/dist/main.js'),
    port: 4101,
    portVariable: 'EDGEFLEET_LOCAL_EXECUTOR_PORT',
    nodeArgs: JOB_SERVICE_NODE_ARGS,
    defaultEnv: JOB_SERVICE_ENV,
    args: () => [],
    env: (w) => ({
      EDGEFLEET_DATA_DIR: w.dataDir,
      EDGEFLEET_ALLOWED_BUCKETS: w.allowedBuckets.join(','),
    }),
  },
  {
    name: 'result-uploader',
    label: 'uploader',
    entry: repoFile('services/result-uploader/dist/main.js'),
    port: 4102,
    portVariable: 'EDGEFLEET_LOCAL_UPLOADER_PORT',
    nodeArgs: JOB_SERVICE_NODE_ARGS,
    defaultEnv: JOB_SERVICE_ENV,
    args: () => [],
    env: (w) => ({
      EDGEFLEET_DATA_DIR: w.dataDir,
      EDGEFLEET_OUTPUT_BUCKETS: w.allowedBuckets.join(','),
      EDGEFLEET_WEBHOOK_ALLOWED_HOSTS: w.webhookHosts.join(','),
      EDGEFLEET_WEBHOOK_ALLOW_HTTP: 'true',
      // Local development: the allowlisted `localhost` may reach this machine's loopback.
      EDGEFLEET_WEBHOOK_ALLOWED_ADDRESSES: w.webhookAddresses.join(','),
      EDGEFLEET_WEBHOOK_SECRET: w.webhookSecret,
      ...(w.resultsQueueUrl ? { EDGEFLEET_RESULTS_QUEUE_URL: w.resultsQueueUrl } : {}),
    }),
  },
  {
    name: 'gossip-membership',
    label: 'gossip',
    entry: repoFile('services/gossip-membership/dist/main.js'),
    port: 4001,
    portVariable: 'EDGEFLEET_LOCAL_GOSSIP_PORT',
    // The gossip program's own node flags (semi-spaces capped at 1 MiB, one V8 background thread, no
    // JIT), with what each saves: services/gossip-membership/src/node-args.ts.
    nodeArgs: GOSSIP_NODE_ARGS,
    defaultEnv: {},
    args: () => [],
    // The flags --bindPort, --name and --members as their variables (the same settings), so that the
    // single-process node, which has no per-service command line, gets them too. The job API this node
    // advertises in gossip meta and the dashboard proxies to.
    env: (w) => ({
      EDGEFLEET_BIND_PORT: String(w.gossipBindPort),
      EDGEFLEET_NODE_NAME: w.nodeName,
      ...(w.members.length ? { EDGEFLEET_MEMBERS: w.members.join(',') } : {}),
      EDGEFLEET_JOB_API_URL: w.jobApiUrl,
    }),
  },
];

export function serviceSpec(name: string): ServiceSpec {
  const spec = SERVICES.find((s) => s.name === name);
  if (!spec) throw new Error(`no service ${name}`);
  return spec;
}

/** The HTTP port of a service in local mode: its variable when set, else the default. */
export function localPort(spec: ServiceSpec, env: NodeJS.ProcessEnv): number {
  const v = env[spec.portVariable];
  return v ? Number(v) : spec.port;
}
