// Decoding a `results` entry: the schema (contracts) plus the rules the schema cannot say. A failure
// is a value; the consumer dead-letters the entry as MALFORMED_ENTRY with this detail.
import { posix } from 'node:path';
import { type Decoded, decodeEntry, fieldsToRecord, ResultsEntry } from '@edgefleet/contracts';

export function decodeResultsEntry(fields: readonly string[], dataDir: string): Decoded<ResultsEntry> {
  const d = decodeEntry(ResultsEntry, fields);
  if (!d.ok) return d;
  const e = d.value;
  const fail = (detail: string): Decoded<ResultsEntry> => ({ ok: false, detail, jobId: e.jobId });
  if (fieldsToRecord(fields).jobId !== e.jobId) return fail('the jobId field differs from data.jobId');
  if (e.event === 'running' && e.state !== 'RUNNING') return fail(`event running with state ${e.state}`);
  if (e.event === 'terminal' && e.state === 'RUNNING') return fail('event terminal with state RUNNING');
  if (e.event === 'running' && e.hasFiles) return fail('a running entry has no files');
  if (e.hasFiles) {
    if (!e.jobDir) return fail('hasFiles without jobDir');
    const expected = posix.join(dataDir, 'jobs', e.jobId);
    if (posix.normalize(e.jobDir).replace(/(.)\/+$/, '$1') !== expected || e.jobDir.includes('\0'))
      return fail(`jobDir must be ${expected}`);
  }
  return d;
}
