// S3 and SQS clients for the CLI. With AWS settings in the environment (the SDK's standard variables
// plus EDGEFLEET_QUEUE_URL / EDGEFLEET_JOBS_BUCKET) it talks to them; otherwise to what local mode's
// client file says (its emulator, queue and buckets), and without one to local mode's embedded
// emulator on its default port (127.0.0.1:4566).
import { S3Client } from '@aws-sdk/client-s3';
import { GetQueueUrlCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { ClientFile } from './client-file.js';
import { CliError, EXIT } from './errors.js';

export interface AwsTarget {
  s3: S3Client;
  sqs: SQSClient;
  queueUrl(): Promise<string>;
  jobsBucket: string;
  resultsUri: string;
  close(): void;
}

const LOCAL_ENDPOINT = 'http://127.0.0.1:4566';

export function awsTarget(env: NodeJS.ProcessEnv, client?: ClientFile): AwsTarget {
  const fromEnv = Boolean(env.AWS_ENDPOINT_URL || env.EDGEFLEET_QUEUE_URL);
  if (client && !fromEnv) return clientAwsTarget(env, client.aws);
  const local = !fromEnv;
  const endpoint =
    env.AWS_ENDPOINT_URL ?? (local ? (env.EDGEFLEET_LOCAL_ENDPOINT ?? LOCAL_ENDPOINT) : undefined);
  const region = env.AWS_REGION ?? env.AWS_DEFAULT_REGION ?? 'us-east-1';
  const credentials = local ? { accessKeyId: 'local', secretAccessKey: 'local' } : undefined;
  const common = {
    region,
    correctClockSkew: true,
    ...(endpoint ? { endpoint } : {}),
    ...(credentials ? { credentials } : {}),
  };
  const s3 = new S3Client({
    ...common,
    forcePathStyle: local || env.EDGEFLEET_S3_FORCE_PATH_STYLE === 'true',
  });
  const sqs = new SQSClient(common);
  let cached: string | undefined = env.EDGEFLEET_QUEUE_URL;
  return {
    s3,
    sqs,
    async queueUrl() {
      if (cached) return cached;
      try {
        const r = await sqs.send(
          new GetQueueUrlCommand({ QueueName: env.EDGEFLEET_QUEUE_NAME ?? 'edgefleet-jobs' }),
        );
        cached = r.QueueUrl as string;
        return cached;
      } catch (e) {
        throw new CliError(
          `cannot find the job queue at ${endpoint ?? 'AWS'} (${(e as Error).name}): is the node running? (or set EDGEFLEET_QUEUE_URL)`,
          EXIT.unreachable,
        );
      }
    },
    jobsBucket: env.EDGEFLEET_JOBS_BUCKET ?? 'edgefleet-jobs',
    resultsUri: env.EDGEFLEET_RESULTS_URI ?? 's3://edgefleet-results/results/',
    close() {
      s3.destroy();
      sqs.destroy();
    },
  };
}

function clientAwsTarget(env: NodeJS.ProcessEnv, c: ClientFile['aws']): AwsTarget {
  const common = {
    region: c.region,
    correctClockSkew: true,
    ...(c.endpoint ? { endpoint: c.endpoint } : {}),
    ...(c.credentials ? { credentials: c.credentials } : {}),
  };
  const s3 = new S3Client({
    ...common,
    forcePathStyle: c.endpoint !== null || env.EDGEFLEET_S3_FORCE_PATH_STYLE === 'true',
  });
  const sqs = new SQSClient(common);
  return {
    s3,
    sqs,
    queueUrl: async () => c.queueUrl,
    jobsBucket: env.EDGEFLEET_JOBS_BUCKET ?? c.jobsBucket,
    resultsUri: env.EDGEFLEET_RESULTS_URI ?? c.resultsUri,
    close() {
      s3.destroy();
      sqs.destroy();
    },
  };
}
