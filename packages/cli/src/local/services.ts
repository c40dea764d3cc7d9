// The four services as local mode starts them: where each entry point is, its HTTP port, and the
// environment it needs beyond what the operator's own environment already says.
import { fileURLToPath } from 'node:url';

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
  webhookSecret: string;
  gossipBindPort: number;
  members: string[];
}

export interface ServiceSpec {
  name: string;
  /** Short label for log prefixes. */
  label: string;
  entry: string;
  port: number;
  args(w: LocalWiring): string[];
  env(w: LocalWiring): Record<string, string>;
}

const repoFile = (p: string) => fileURLToPath(new URL(`../../../../${p}`, import.meta.url));

export const SERVICES: ServiceSpec[] = [
  {
    name: 'job-receiver',
    label: 'receiver',
    entry: repoFile('services/job-receiver/dist/main.js'),
    port: 4100,
    args: () => [],
    env: (w) => ({
      EDGEFLEET_QUEUE_URLS: w.jobsQueueUrl,
      EDGEFLEET_ALLOWED_BUCKETS: w.allowedBuckets.join(','),
      EDGEFLEET_ALLOWED_WEBHOOK_HOSTS: w.webhookHosts.join(','),
    }),
  },
  {
    name: 'job-executor',
    label: 'executor',
    entry: repoFile('services/job-executor/dist/main.js'),
    port: 4101,
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
    args: () => [],
    env: (w) => ({
      EDGEFLEET_DATA_DIR: w.dataDir,
      EDGEFLEET_OUTPUT_BUCKETS: w.allowedBuckets.join(','),
      EDGEFLEET_WEBHOOK_ALLOWED_HOSTS: w.webhookHosts.join(','),
      EDGEFLEET_WEBHOOK_ALLOW_HTTP: 'true',
      EDGEFLEET_WEBHOOK_SECRET: w.webhookSecret,
      ...(w.resultsQueueUrl ? { EDGEFLEET_RESULTS_QUEUE_URL: w.resultsQueueUrl } : {}),
    }),
  },
  {
    name: 'gossip-membership',
    label: 'gossip',
    entry: repoFile('services/gossip-membership/dist/main.js'),
    port: 4001,
    args: (w) => [
      `--bindPort=${w.gossipBindPort}`,
      `--name=${w.nodeName}`,
      ...(w.members.length ? [`--members=${w.members.join(',')}`] : []),
    ],
    env: () => ({}),
  },
];
