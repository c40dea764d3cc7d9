// The `images` section of the benchmark report (scripts/bench-report.mjs runs the container tests as
// `images`): one part per platform, each written by the test file that built those images
// (stack.container.ts: linux/amd64, arm64.container.ts: linux/arm64). The files run one after the
// other in one vitest run, so each merges its part into $EDGEFLEET_BENCH_OUT/images.json and keeps the
// other platform's part from the same folder.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { BenchSection, BenchTable } from '@edgefleet/testkit';
import { ROOT } from '../check-bundles.mjs';

export interface ImagesPart {
  platform: 'linux/amd64' | 'linux/arm64';
  intro: string;
  table: BenchTable;
  notes: string[];
}

type ImagesSection = BenchSection & { parts?: Record<string, ImagesPart> };

/** Platforms in report order. */
const ORDER = ['linux/amd64', 'linux/arm64'];

export function writeImagesPart(part: ImagesPart, env: NodeJS.ProcessEnv = process.env): void {
  const out = env.EDGEFLEET_BENCH_OUT ?? join(ROOT, '.test-output');
  mkdirSync(out, { recursive: true });
  const file = join(out, 'images.json');
  let parts: Record<string, ImagesPart> = {};
  if (existsSync(file)) {
    try {
      parts = (JSON.parse(readFileSync(file, 'utf8')) as ImagesSection).parts ?? {};
    } catch {
      // An unreadable earlier file: this part alone.
    }
  }
  parts[part.platform] = part;
  const ordered = ORDER.flatMap((p) => (parts[p] ? [parts[p]] : []));
  const section: ImagesSection = {
    id: 'images',
    title: 'Images: build time and size (podman)',
    command: 'pnpm exec vitest run --config docker/test/vitest.container.config.ts',
    intro: ordered.map((p) => p.intro).join('\n\n'),
    tables: ordered.map((p) => p.table),
    notes: ordered.flatMap((p) => p.notes),
    parts,
  };
  writeFileSync(file, `${JSON.stringify(section, null, 2)}\n`);
}

/** Seconds of the one build of all four bundles, from build-images.sh's output (NaN when absent). */
export function bundlesSecondsOf(output: string): number {
  const m = /^# bundles built on \S+ for \S+ in (\d+(?:\.\d+)?) s$/m.exec(output);
  return m ? Number(m[1]) : Number.NaN;
}
