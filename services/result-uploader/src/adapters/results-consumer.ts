// The `results` stream consumer: service-kit's StreamConsumer (own pending entries first, XAUTOCLAIM of
// a dead consumer's entries, dead-letter after maxDeliveries) with this service's decoder and handler.
// A dead-lettered entry that names a job still running ends it FAILED and adds a terminal entry with
// nothing to upload (service-kit's jobDeadLetter), which this consumer then notifies like any other.
import { GROUPS, type RedisNames, type ResultsEntry } from '@edgefleet/contracts';
import { jobDeadLetter, StreamConsumer } from '@edgefleet/service-kit';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { decodeResultsEntry } from '../core/entry.js';
import type { ResultProcessor } from '../result-processor.js';

export interface ResultsConsumerOptions {
  redis: Redis;
  names: RedisNames;
  consumer: string;
  dataDir: string;
  processor: ResultProcessor;
  service: string;
  node: string;
  logger: Logger;
  maxDeliveries: number;
  claimIdleMs: number;
  concurrency: number;
  blockMs?: number;
}

export const RESULTS_GROUP = GROUPS.uploader;

export function createResultsConsumer(o: ResultsConsumerOptions): StreamConsumer<ResultsEntry> {
  return new StreamConsumer<ResultsEntry>({
    redis: o.redis,
    stream: o.names.resultsStream,
    group: RESULTS_GROUP,
    consumer: o.consumer,
    deadStream: o.names.deadStream,
    decode: (fields) => decodeResultsEntry(fields, o.dataDir),
    handle: (entry, signal) => o.processor.handle(entry, signal),
    deadLetter: jobDeadLetter({
      redis: o.redis,
      names: o.names,
      stream: o.names.resultsStream,
      group: RESULTS_GROUP,
      by: o.service,
      node: o.node,
    }),
    logger: o.logger.child({ component: 'results-consumer' }),
    // One more than the processor's limit: the processor turns the last allowed delivery into FAILED
    // (UPLOAD_FAILED) itself; the consumer dead-letters only entries that crash the handler every time.
    maxDeliveries: o.maxDeliveries + 1,
    claimIdleMs: o.claimIdleMs,
    concurrency: o.concurrency,
    ...(o.blockMs ? { blockMs: o.blockMs } : {}),
  });
}
