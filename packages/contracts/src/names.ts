// Redis names shared by every service: streams, consumer groups, keys and channels.
//
// Everything lives under one configurable prefix (EDGEFLEET_REDIS_PREFIX, default `edgefleet`) so a
// test can run in isolation on a shared Redis and two deployments can share one server.

export const DEFAULT_REDIS_PREFIX = 'edgefleet';

/** Consumer groups, one per consuming service. */
export const GROUPS = {
  executor: 'job-executor',
  uploader: 'result-uploader',
} as const;

export interface RedisNames {
  prefix: string;
  /** receiver → executor: one entry per job handed off (JobsEntry). */
  jobsStream: string;
  /** executor (and receiver, for jobs that end without running) → uploader (ResultsEntry). */
  resultsStream: string;
  /** entries delivered too often or malformed, with the reason (DeadEntry). */
  deadStream: string;
  /** Sorted set of job ids scored by creation time (ms): the job API's list, and retention. */
  jobIndex: string;
  /** Pub/sub channel for control messages (cancel) to the executor. */
  controlChannel: string;
  /** Hash with the device's load, written by the executor, read by gossip-membership. */
  deviceLoad: string;
  /** String: gossip-membership's record of departed members (DepartedState JSON). */
  departedMembers: string;
  /** The job record hash (state, times, reason, message…). */
  jobKey(jobId: string): string;
  /** The job record's history: a list of JSON HistoryEntry, oldest first. */
  historyKey(jobId: string): string;
  /** Capped live tail of the job's stdout/stderr (a stream of chunks). */
  logTailKey(jobId: string): string;
}

export function redisNames(prefix: string = DEFAULT_REDIS_PREFIX): RedisNames {
  return {
    prefix,
    jobsStream: `${prefix}:stream:jobs`,
    resultsStream: `${prefix}:stream:results`,
    deadStream: `${prefix}:stream:dead`,
    jobIndex: `${prefix}:jobs:index`,
    controlChannel: `${prefix}:control`,
    deviceLoad: `${prefix}:device:load`,
    departedMembers: `${prefix}:gossip:departed`,
    jobKey: (id) => `${prefix}:job:${id}`,
    historyKey: (id) => `${prefix}:job:${id}:history`,
    logTailKey: (id) => `${prefix}:job:${id}:log`,
  };
}
