// Node 24 LTS is the supported runtime; an older Node (this machine's own Node 20, when it has one) is
// refused with one line naming the required version, before any module that needs a current Node loads.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { MIN_NODE_MAJOR, nodeVersionProblem } from '../src/node-version.js';

const entry = fileURLToPath(new URL('../dist/main.js', import.meta.url));

/** A node binary on this machine older than the supported major (e.g. Debian's or NodeSource's 20). */
function olderNode(): { bin: string; version: string } | undefined {
  for (const bin of ['/usr/bin/node', '/usr/local/bin/node']) {
    if (!existsSync(bin)) continue;
    const r = spawnSync(bin, ['-p', 'process.versions.node'], { encoding: 'utf8', timeout: 10_000 });
    const version = r.stdout.trim();
    if (r.status === 0 && Number(version.split('.')[0]) < MIN_NODE_MAJOR) return { bin, version };
  }
  return undefined;
}
const older = olderNode();

describe('supported Node.js', () => {
  it('accepts the supported major and newer, refuses older ones naming the required version', () => {
    expect(nodeVersionProblem('24.0.0')).toBeUndefined();
    expect(nodeVersionProblem('25.1.0')).toBeUndefined();
    expect(nodeVersionProblem('20.20.2')).toMatch(/Node\.js >= 24 is required, found 20\.20\.2/);
    expect(nodeVersionProblem('22.22.0')).toMatch(/found 22\.22\.0/);
    expect(nodeVersionProblem('garbage')).toMatch(/required/);
  });

  it('this process (the test runner) runs on the supported Node', () => {
    expect(nodeVersionProblem(process.versions.node)).toBeUndefined();
  });

  it.skipIf(!older)(
    `the CLI started with an older Node (${older?.bin ?? 'none on this machine'}) exits 2 with one line`,
    () => {
      const o = older as { bin: string; version: string };
      const r = spawnSync(o.bin, [entry, 'local'], {
        encoding: 'utf8',
        timeout: 20_000,
        env: { PATH: '/usr/bin:/bin' },
      });
      expect(r.status).toBe(2);
      expect(r.stderr.trim()).toBe(
        `edgefleet: Node.js >= ${MIN_NODE_MAJOR} is required, found ${o.version} (bash scripts/ensure-node.sh fetches Node ${MIN_NODE_MAJOR} into .node/)`,
      );
      expect(r.stdout).toBe('');
    },
  );
});
