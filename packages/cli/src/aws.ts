// S3 and SQS clients for the CLI. With no AWS endpoint configured, the CLI talks to local mode's
// embedded emulator (127.0.0.1:4566) with its queue and buckets; with AWS settings in the environment
// (the SDK's standard variables plus EDGEFLEET_QUEUE_URL / EDGEFLEET_JOBS_BUCKET) it talks to them.
import { S3Client } from '@aws-sdk/client-s3';
import { GetQueueUrlCommand, SQSClient } from '@aws-sdk/client-sqs';
import { CliError, EXIT } from './errors.js';

export interface AwsTarget {
  s3: S3Client;
  sqs: SQSClient;
  queueUrl(): Promise<string>;
  jobsBucket: string;
  resultsUri: string;
  close(): void;
}

export const LOCAL_ENDPOINT = 'http://127.0.0.1:4566';

export function awsTarget(env: NodeJS.ProcessEnv): AwsTarget {
  const local = !env.AWS_ENDPOINT_URL && !env.EDGEFLEET_QUEUE_URL;
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
