// The job-record transition function: the only way any service changes a job's state.
//
// One Lua script checks the record's current state against the allowed `from` set (contracts'
// TRANSITIONS by default), writes the new state, appends a history entry and, in the same atomic
// step, performs the side effects the caller names: XADDs to streams, XACKs of stream entries and
// PUBLISHes. Redis runs a script without interleaving any other command, so "create the record and
// hand the job off" or "record the result and acknowledge the job" can never be half done, and two
// services racing for the same move cannot both win.
import {
  allowedFrom,
  type FromState,
  type HistoryEntry,
  isTerminal,
  type JobState,
  type ReasonCode,
  type RedisNames,
} from '@edgefleet/contracts';
import type { Redis } from 'ioredis';

/** Default retention of terminal records, in seconds (7 days). */
export const DEFAULT_TERMINAL_TTL_SECONDS = 7 * 24 * 3600;

/*
 * KEYS[1] record hash, KEYS[2] history list, KEYS[3] job index (zset), KEYS[4..] streams named by ops.
 * ARGV[1] JSON spec:
 *   jobId, from[] (may contain "NEW": the record must not exist), to (optional: absent = guard only,
 *   no state change), at (ms), history (JSON text of the entry, or absent), set {field: string},
 *   unset [field], incrAttempt (bool), ttl (seconds, applied when `terminal`), terminal (bool),
 *   xadd [{key (index into KEYS), fields [..], maxlen}], xack [{key, group, ids [..]}],
 *   publish [{channel, message}].
 * Returns { status, current } where status is OK, NOT_FOUND, EXISTS, TERMINAL or ILLEGAL, and current
 * is the state before the call ('' when the record did not exist), followed by the ids of the XADDs.
 * Guarantee: either every write happens or none does.
 */
const SCRIPT = `
local spec = cjson.decode(ARGV[1])
local current = redis.call('HGET', KEYS[1], 'state')
if not current then current = '' end
local allowed = false
for _, f in ipairs(spec.from) do
  if (f == 'NEW' and current == '') or (f == current and current ~= '') then allowed = true end
end
if not allowed then
  if current == '' then return {'NOT_FOUND', current} end
  for _, f in ipairs(spec.from) do if f == 'NEW' then return {'EXISTS', current} end end
  local terminal = {SUCCEEDED=true, FAILED=true, TIMED_OUT=true, CANCELED=true, REJECTED=true}
  if terminal[current] then return {'TERMINAL', current} end
  return {'ILLEGAL', current}
end
if current == '' then
  redis.call('HSET', KEYS[1], 'jobId', spec.jobId, 'createdAt', spec.at, 'attempt', 0,
    'cancelRequested', 0, 'notifyStatus', 'none')
  redis.call('ZADD', KEYS[3], spec.at, spec.jobId)
end
if spec.to then
  redis.call('HSET', KEYS[1], 'state', spec.to, 'updatedAt', spec.at)
  redis.call('HDEL', KEYS[1], 'reason', 'detail')
end
if spec.set then
  for k, v in pairs(spec.set) do redis.call('HSET', KEYS[1], k, v) end
end
if spec.unset then
  for _, k in ipairs(spec.unset) do redis.call('HDEL', KEYS[1], k) end
end
if spec.incrAttempt then redis.call('HINCRBY', KEYS[1], 'attempt', 1) end
if spec.history then redis.call('RPUSH', KEYS[2], spec.history) end
if spec.terminal and spec.ttl and spec.ttl > 0 then
  redis.call('EXPIRE', KEYS[1], spec.ttl)
  redis.call('EXPIRE', KEYS[2], spec.ttl)
end
local out = {'OK', current}
if spec.xadd then
  for _, op in ipairs(spec.xadd) do
    local args = {KEYS[op.key]}
    if op.maxlen and op.maxlen > 0 then
      table.insert(args, 'MAXLEN'); table.insert(args, '~'); table.insert(args, op.maxlen)
    end
    table.insert(args, '*')
    for _, f in ipairs(op.fields) do table.insert(args, f) end
    table.insert(out, redis.call('XADD', unpack(args)))
  end
end
if spec.xack then
  for _, op in ipairs(spec.xack) do
    redis.call('XACK', KEYS[op.key], op.group, unpack(op.ids))
  end
end
if spec.publish then
  for _, op in ipairs(spec.publish) do redis.call('PUBLISH', op.channel, op.message) end
end
return out
`;

export type TransitionStatus = 'OK' | 'NOT_FOUND' | 'EXISTS' | 'TERMINAL' | 'ILLEGAL';

export interface StreamAdd {
  stream: string;
  fields: string[];
  /** Approximate cap on the stream's length (XADD MAXLEN ~). */
  maxLen?: number;
}
export interface StreamAck {
  stream: string;
  group: string;
  ids: string[];
}

export interface TransitionRequest {
  jobId: string;
  /** The new state; absent = check `from` and apply the side effects without a state change. */
  to?: JobState;
  /** Allowed current states; default: every state the transition table allows into `to`. */
  from?: readonly FromState[];
  reason?: ReasonCode;
  detail?: string;
  /** The service making the move, recorded in history. */
  by: string;
  /** Extra record fields (strings as stored; see contracts' decodeJobRecord). */
  set?: Record<string, string>;
  unset?: string[];
  incrAttempt?: boolean;
  xadd?: StreamAdd[];
  xack?: StreamAck[];
  publish?: { channel: string; message: string }[];
  /** Clock, in ms since the epoch. */
  now: number;
  /** Retention for terminal records, in seconds. */
  ttlSeconds?: number;
}

export type TransitionResult =
  | { ok: true; from: JobState | null; streamIds: string[] }
  | { ok: false; status: Exclude<TransitionStatus, 'OK'>; current: JobState | null };

type ScriptClient = Redis & { edgefleetTransition(numKeys: number, ...args: string[]): Promise<string[]> };

function withScript(redis: Redis): ScriptClient {
  const c = redis as ScriptClient;
  if (typeof c.edgefleetTransition !== 'function')
    redis.defineCommand('edgefleetTransition', { lua: SCRIPT });
  return c;
}

/** Applies one transition atomically. Throws only on Redis errors (connection, script); refusals are values. */
export async function transitionJob(
  redis: Redis,
  names: RedisNames,
  req: TransitionRequest,
): Promise<TransitionResult> {
  if (!req.to && !req.from) throw new Error('transitionJob: a guard-only call needs an explicit from set');
  const from = req.from ?? allowedFrom(req.to as JobState);
  const keys = [names.jobKey(req.jobId), names.historyKey(req.jobId), names.jobIndex];
  const keyIndex = (k: string) => {
    let i = keys.indexOf(k);
    if (i < 0) i = keys.push(k) - 1;
    return i + 1; // Lua is 1-based
  };
  const history: HistoryEntry | undefined = req.to
    ? {
        state: req.to,
        at: req.now,
        by: req.by,
        ...(req.reason ? { reason: req.reason } : {}),
        ...(req.detail ? { detail: req.detail.slice(0, 4096) } : {}),
      }
    : undefined;
  const set: Record<string, string> = { ...req.set };
  if (req.reason) set.reason = req.reason;
  if (req.detail) set.detail = req.detail.slice(0, 4096);
  const spec = {
    jobId: req.jobId,
    from,
    to: req.to,
    // As a string: Lua numbers print with 14 significant digits, which is exact for ms timestamps
    // but a string needs no such argument.
    at: String(req.now),
    history: history ? JSON.stringify(history) : undefined,
    set: Object.keys(set).length ? set : undefined,
    unset: req.unset?.length ? req.unset : undefined,
    incrAttempt: req.incrAttempt ?? false,
    terminal: req.to ? isTerminal(req.to) : false,
    ttl: req.ttlSeconds ?? DEFAULT_TERMINAL_TTL_SECONDS,
    xadd: req.xadd?.map((a) => ({ key: keyIndex(a.stream), fields: a.fields, maxlen: a.maxLen ?? 0 })),
    xack: req.xack
      ?.filter((a) => a.ids.length)
      .map((a) => ({ key: keyIndex(a.stream), group: a.group, ids: a.ids })),
    publish: req.publish,
  };
  const reply = await withScript(redis).edgefleetTransition(keys.length, ...keys, JSON.stringify(spec));
  const [status, current, ...ids] = reply as [TransitionStatus, string, ...string[]];
  const cur = current === '' ? null : (current as JobState);
  if (status === 'OK') return { ok: true, from: cur, streamIds: ids };
  return { ok: false, status, current: cur };
}
