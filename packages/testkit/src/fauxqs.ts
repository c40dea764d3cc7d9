// fauxqs (S3 + SQS emulator, pinned to 1.9.2) started in-process on a free port, with SDK clients
// pointed at it. Tests create their own queues and buckets with unique names.
import { S3Client } from '@aws-sdk/client-s3';
import { SQSClient } from '@aws-sdk/client-sqs';
import { startFauxqs } from 'fauxqs';

export interface Emulator {
  endpoint: string;
  region: string;
  /** Credentials the emulator accepts (any are accepted). */
  credentials: { accessKeyId: string; secretAccessKey: string };
  sqs(): SQSClient;
  s3(): S3Client;
  createQueue(name: string, attributes?: Record<string, string>): string;
  createBucket(name: string): string;
  /** The environment a service process needs to talk to this emulator. */
  env(): Record<string, string>;
  stop(): Promise<void>;
}

export async function startEmulator(): Promise<Emulator> {
  const server = await startFauxqs({ port: 0, logger: false });
  const endpoint = server.address;
  const region = 'us-east-1';
  const credentials = { accessKeyId: 'test', secretAccessKey: 'test' };
  const clients: { destroy(): void }[] = [];
  return {
    endpoint,
    region,
    credentials,
    sqs() {
      const c = new SQSClient({ endpoint, region, credentials });
      clients.push(c);
      return c;
    },
    s3() {
      const c = new S3Client({ endpoint, region, credentials, forcePathStyle: true });
      clients.push(c);
      return c;
    },
    createQueue: (name, attributes) =>
      server.createQueue(name, attributes ? { attributes } : undefined).queueUrl,
    createBucket: (name) => server.createBucket(name).bucketName,
    env: () => ({
      AWS_ENDPOINT_URL: endpoint,
      AWS_REGION: region,
      AWS_ACCESS_KEY_ID: credentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
    }),
    async stop() {
      for (const c of clients) c.destroy();
      await server.stop();
    },
  };
}
