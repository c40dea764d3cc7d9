import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  decodeEntry,
  decodeJobRecord,
  encodeEntry,
  JobMessageV1,
  JobsEntry,
  ResultsEntry,
} from '../src/index.js';

const message = JobMessageV1.parse(
  JSON.parse(readFileSync(new URL('../examples/job.full.json', import.meta.url), 'utf8')),
);

describe('stream entries', () => {
  it('round-trips a jobs entry', () => {
    const entry: JobsEntry = { jobId: message.jobId, message, receivedAt: 1, source: 'sqs' };
    const r = decodeEntry(JobsEntry, encodeEntry(entry));
    expect(r).toEqual({ ok: true, value: entry });
  });
  it('round-trips a terminal results entry with nothing to upload', () => {
    const entry = {
      jobId: 'j1',
      event: 'terminal',
      state: 'REJECTED',
      reason: 'UNSAFE_PATH',
      hasFiles: false,
      at: 5,
    } as const;
    const r = decodeEntry(ResultsEntry, encodeEntry(entry));
    expect(r).toMatchObject({ ok: true, value: { ...entry, attempt: 0, timings: {} } });
  });
  it.each([
    ['no data field', ['jobId', 'j1']],
    ['data not JSON', ['jobId', 'j1', 'data', '{']],
    ['wrong shape', ['jobId', 'j1', 'data', '{"jobId":"j1"}']],
    ['odd field list', ['jobId']],
    ['empty', []],
  ])('reports a malformed entry (%s) as a value, keeping a usable jobId', (_n, fields) => {
    const r = decodeEntry(JobsEntry, fields);
    expect(r.ok).toBe(false);
    if (!r.ok && fields[1] === 'j1') expect(r.jobId).toBe('j1');
  });
  it('refuses a results entry with an unknown reason code', () => {
    const r = decodeEntry(ResultsEntry, [
      'jobId',
      'j',
      'data',
      JSON.stringify({
        jobId: 'j',
        event: 'terminal',
        state: 'FAILED',
        reason: 'OOPS',
        hasFiles: false,
        at: 1,
      }),
    ]);
    expect(r.ok).toBe(false);
  });
});

describe('job record decoding', () => {
  it('decodes a hash and its history', () => {
    const r = decodeJobRecord(
      {
        jobId: 'j1',
        state: 'QUEUED',
        createdAt: '1',
        updatedAt: '2',
        attempt: '0',
        cancelRequested: '1',
        message: JSON.stringify(message),
        exitCode: '',
      },
      [JSON.stringify({ state: 'QUEUED', at: 1, by: 'job-receiver' })],
    );
    expect(r).toMatchObject({
      ok: true,
      record: { state: 'QUEUED', cancelRequested: true, exitCode: null, history: [{ state: 'QUEUED' }] },
    });
  });
  it('reports a corrupt record as a value', () => {
    expect(decodeJobRecord({ jobId: 'j1', state: 'NOPE', createdAt: '1', updatedAt: '1' }, []).ok).toBe(
      false,
    );
    expect(decodeJobRecord({ jobId: 'j1', state: 'QUEUED', createdAt: '1', updatedAt: '1' }, ['{']).ok).toBe(
      false,
    );
  });
});
