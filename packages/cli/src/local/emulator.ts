// The embedded S3/SQS emulator (fauxqs, pinned to 1.9.2) for local mode: started in this process,
// with the node's queues and buckets created.
import { startFauxqs } from 'fauxqs';

export interface LocalEmulator {
  endpoint: string;
  jobsQueueUrl: string;
  resultsQueueUrl: string;
  jobsBucket: string;
  resultsBucket: string;
  stop(): Promise<void>;
}

export const LOCAL_NAMES = {
  jobsQueue: 'edgefleet-jobs',
  resultsQueue: 'edgefleet-results',
  jobsBucket: 'edgefleet-jobs',
  resultsBucket: 'edgefleet-results',
} as const;

export async function startLocalEmulator(port: number): Promise<LocalEmulator> {
  const server = await startFauxqs({ port, logger: false });
  const jobs = server.createQueue(LOCAL_NAMES.jobsQueue, { attributes: { VisibilityTimeout: '60' } });
  const results = server.createQueue(LOCAL_NAMES.resultsQueue);
  server.createBucket(LOCAL_NAMES.jobsBucket);
  server.createBucket(LOCAL_NAMES.resultsBucket);
  return {
    endpoint: server.address,
    jobsQueueUrl: jobs.queueUrl,
    resultsQueueUrl: results.queueUrl,
    jobsBucket: LOCAL_NAMES.jobsBucket,
    resultsBucket: LOCAL_NAMES.resultsBucket,
    stop: () => server.stop(),
  };
}
