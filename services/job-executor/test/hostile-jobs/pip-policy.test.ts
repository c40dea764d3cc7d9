// Hostile job: a requirements file that tries to take back the device's pip policy (wheels only, one
// index) with its own options. Each ends INSTALL_FAILED naming the file, the line and the option,
// before pip runs. Real executor, redis-server, fauxqs, /usr/bin/python3.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUCKET, type Harness, startHarness } from '../support/harness.js';

let h: Harness;
beforeAll(async () => {
  h = await startHarness({
    user: 'ef-hostile-pip',
    settings: { pipIndexUrl: 'http://127.0.0.1:9/simple/', pipNoIndex: false, pipOnlyBinary: true },
  });
});
afterAll(async () => {
  await h?.stop();
});

const cases: [string, string, RegExp][] = [
  [
    'no-binary',
    '--no-binary :all:',
    /--no-binary weakens the device's pip policy \(EDGEFLEET_PIP_ONLY_BINARY/,
  ],
  ['only-binary-none', '--only-binary=:none:', /--only-binary weakens/],
  ['index-url', '--index-url http://127.0.0.1:9/evil/', /--index-url weakens/],
  ['short-index', '-ihttp://127.0.0.1:9/evil/', /--index-url weakens/],
  ['extra-index', '--extra-index-url=http://127.0.0.1:9/evil/', /--extra-index-url weakens/],
  ['trusted-host', '--trusted-host 127.0.0.1', /--trusted-host weakens/],
  ['find-links', '-f http://127.0.0.1:9/wheels/', /--find-links to a place outside the workspace weakens/],
];

describe('requirements lines that weaken the device pip policy', () => {
  for (const [jobId, line, detail] of cases)
    it(`"${line}" → INSTALL_FAILED naming the line`, async () => {
      await h.put(`${jobId}/main.py`, 'print("never runs")');
      await h.put(`${jobId}/requirements.txt`, `# pinned\n${line}\nsomething==1.0\n`);
      await h.submit({
        jobId,
        code: { entrypoint: 'main.py', requirements: 'requirements.txt' },
        inputs: [
          { uri: `s3://${BUCKET}/${jobId}/main.py` },
          { uri: `s3://${BUCKET}/${jobId}/requirements.txt` },
        ],
      });
      const r = await h.terminal(jobId);
      expect(r).toMatchObject({ state: 'FAILED', reason: 'INSTALL_FAILED' });
      expect(r.detail).toContain('requirements.txt:2:');
      expect(r.detail).toMatch(detail);
      expect(r.detail).toContain(`(line "${line}")`);
      expect(r.exitCode).toBeUndefined(); // the job never ran
    });

  it('a find-links folder inside the workspace is still accepted (the policy is about sources)', async () => {
    await h.put('local-links/main.py', 'print("ran")');
    await h.put('local-links/requirements.txt', '-f ./wheels\n');
    await h.put('local-links/wheels/README', 'no wheels');
    await h.submit({
      jobId: 'local-links',
      code: { entrypoint: 'main.py', requirements: 'requirements.txt' },
      inputs: [
        { uri: `s3://${BUCKET}/local-links/main.py` },
        { uri: `s3://${BUCKET}/local-links/requirements.txt` },
        { uri: `s3://${BUCKET}/local-links/wheels/` },
      ],
    });
    const r = await h.terminal('local-links', 60_000);
    expect(r).toMatchObject({ state: 'SUCCEEDED', exitCode: 0 });
  }, 90_000);
});
