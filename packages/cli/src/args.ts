// A small argument parser: positionals, `--flag`, `--flag value`, `--flag=value`, `-f`. Declared
// options only: an unknown option is a usage error, never silently ignored.

export interface OptionSpec {
  /** Takes a value (`--entry main.py`) or is a switch (`--wait`). */
  value: boolean;
  alias?: string;
}

export type Parsed =
  | { ok: true; positionals: string[]; options: Record<string, string | boolean> }
  | { ok: false; error: string };

export function parseArgs(argv: readonly string[], spec: Record<string, OptionSpec>): Parsed {
  const positionals: string[] = [];
  const options: Record<string, string | boolean> = {};
  const byAlias = new Map(
    Object.entries(spec).flatMap(([name, s]) => (s.alias ? [[s.alias, name] as const] : [])),
  );
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === '--') {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (!arg.startsWith('-') || arg === '-') {
      positionals.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    const rawName = arg
      .replace(/^--?/, '')
      .slice(0, eq > 0 ? eq - (arg.startsWith('--') ? 2 : 1) : undefined);
    const name = spec[rawName] ? rawName : byAlias.get(rawName);
    if (!name) return { ok: false, error: `unknown option ${arg.split('=')[0]}` };
    const s = spec[name] as OptionSpec;
    if (!s.value) {
      if (eq > 0) return { ok: false, error: `option --${name} takes no value` };
      options[name] = true;
      continue;
    }
    let value: string | undefined;
    if (eq > 0) value = arg.slice(eq + 1);
    else {
      value = argv[i + 1];
      i++;
    }
    if (value === undefined || value === '') return { ok: false, error: `option --${name} needs a value` };
    options[name] = value;
  }
  return { ok: true, positionals, options };
}
