// The command line, read by node:util's parseArgs: positionals, `--flag`, `--flag value`,
// `--flag=value`, `-f`, `--` ending the options. Declared options only: an unknown option is a usage
// error, never silently ignored. util.parseArgs runs non-strict with its tokens so that each usage
// error is reported in this command's words (its strict mode would also refuse a value starting
// with `-`, such as `--api -`).
import { parseArgs as parseArgv } from 'node:util';

export interface OptionSpec {
  /** Takes a value (`--entry main.py`) or is a switch (`--wait`). */
  value: boolean;
  alias?: string;
}

export type Parsed =
  | { ok: true; positionals: string[]; options: Record<string, string | boolean> }
  | { ok: false; error: string };

export function parseArgs(argv: readonly string[], spec: Record<string, OptionSpec>): Parsed {
  const { values, positionals, tokens } = parseArgv({
    args: [...argv],
    options: Object.fromEntries(
      Object.entries(spec).map(([name, s]) => [
        name,
        { type: s.value ? 'string' : 'boolean', ...(s.alias ? { short: s.alias } : {}) } as const,
      ]),
    ),
    strict: false,
    allowPositionals: true,
    tokens: true,
  });
  for (const t of tokens) {
    if (t.kind !== 'option') continue;
    const s = spec[t.name];
    if (!s) return { ok: false, error: `unknown option ${t.rawName}` };
    if (s.value && !t.value) return { ok: false, error: `option --${t.name} needs a value` };
    if (!s.value && t.inlineValue) return { ok: false, error: `option --${t.name} takes no value` };
  }
  const options: Record<string, string | boolean> = {};
  for (const [name, v] of Object.entries(values)) if (v !== undefined) options[name] = v as string | boolean;
  return { ok: true, positionals, options };
}
