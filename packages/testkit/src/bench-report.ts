// One section of the benchmark report (docs/benchmarks.md).
//
// Every benchmark describes what it measured as a BenchSection and calls emitBenchSection(): the
// section is printed as Markdown, and when EDGEFLEET_BENCH_OUT names a directory (set by
// `pnpm bench`, scripts/bench-report.mjs) it is also written there as `<id>.json`, from which the
// report is assembled. A benchmark run on its own therefore prints exactly what the report shows.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export type BenchCell = string | number;

export interface BenchTable {
  /** Shown in bold above the table. */
  title?: string;
  header: string[];
  rows: BenchCell[][];
  /** Shown under the table: what a column means, the unit, the formula. */
  note?: string;
}

export interface BenchSection {
  /** File name and sort key in the report, e.g. `receiver`. */
  id: string;
  title: string;
  /** The command that reproduces this section alone. */
  command: string;
  /** What was run, with which parameters (Markdown). */
  intro?: string;
  tables: BenchTable[];
  /** Findings and caveats under the tables (Markdown paragraphs). */
  notes?: string[];
}

/** Formats a number for a table: integers as they are, others with `digits` decimals. */
export function fmt(value: number, digits = 1): string {
  if (!Number.isFinite(value)) return '–';
  return Number.isInteger(value) ? String(value) : value.toFixed(digits);
}

export function markdownTable(table: BenchTable): string {
  const line = (cells: BenchCell[]) =>
    `| ${cells.map((c) => String(c).replaceAll('|', '\\|')).join(' | ')} |`;
  const parts: string[] = [];
  if (table.title) parts.push(`**${table.title}**`, '');
  parts.push(line(table.header), line(table.header.map(() => '---')));
  for (const row of table.rows) parts.push(line(row));
  if (table.note) parts.push('', table.note);
  return parts.join('\n');
}

export function sectionMarkdown(section: BenchSection): string {
  const parts = [`## ${section.title}`, '', `Reproduce: \`${section.command}\``];
  if (section.intro) parts.push('', section.intro);
  for (const table of section.tables) parts.push('', markdownTable(table));
  for (const note of section.notes ?? []) parts.push('', note);
  return `${parts.join('\n')}\n`;
}

/** Prints the section and, under `pnpm bench`, stores it for the report. */
export function emitBenchSection(section: BenchSection, env: NodeJS.ProcessEnv = process.env): void {
  process.stdout.write(`\n${sectionMarkdown(section)}\n`);
  const dir = env.EDGEFLEET_BENCH_OUT;
  if (!dir) return;
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, `${section.id}.json`), `${JSON.stringify(section, null, 2)}\n`);
}
