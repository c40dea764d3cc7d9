// Command-line flags in Go's `flag` package syntax, so operators' scripts for the legacy Go `cluster`
// program keep working: `-name=v`, `--name=v`, `-name v`, `--name v`; a boolean flag alone means
// true (`-flag=false` to unset); `--` ends the flags. Like Go, parsing stops with an error at the
// first problem, and the error is one line that names the flag. Pure: no process, no exit.

export interface FlagSpec {
  /** The flag's name as typed (without dashes), e.g. `bindPort`. */
  name: string;
  /** Takes no value (`-x` = true). */
  bool?: boolean;
  /** Placeholder for usage, e.g. `host:port,…`. */
  value?: string;
  /** One line for usage. */
  help: string;
  /** Default shown in usage. */
  default?: string;
  /** The environment variable with the same meaning, shown in usage. */
  env?: string;
}

export type FlagResult =
  | { kind: 'ok'; values: Map<string, string> }
  | { kind: 'help' }
  | { kind: 'error'; message: string };

/** Parses argv (without node and the script). Values are strings; a repeated flag keeps the last. */
export function parseFlags(argv: readonly string[], specs: readonly FlagSpec[]): FlagResult {
  const byName = new Map(specs.map((s) => [s.name, s]));
  const values = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === '--') {
      if (i + 1 < argv.length) return { kind: 'error', message: `unexpected argument: ${argv[i + 1]}` };
      break;
    }
    if (!arg.startsWith('-') || arg === '-') return { kind: 'error', message: `unexpected argument: ${arg}` };
    const body = arg.startsWith('--') ? arg.slice(2) : arg.slice(1);
    // Go: "bad flag syntax" for `---x`, `-=x`, `--=x`.
    if (body === '' || body.startsWith('-') || body.startsWith('='))
      return { kind: 'error', message: `bad flag syntax: ${arg}` };
    const eq = body.indexOf('=');
    const name = eq < 0 ? body : body.slice(0, eq);
    const inline = eq < 0 ? undefined : body.slice(eq + 1);
    if (name === 'h' || name === 'help') return { kind: 'help' };
    const spec = byName.get(name);
    if (!spec) return { kind: 'error', message: `flag provided but not defined: -${name}` };
    if (spec.bool) {
      const v = (inline ?? 'true').toLowerCase();
      if (['1', 't', 'true'].includes(v)) values.set(name, 'true');
      else if (['0', 'f', 'false'].includes(v)) values.set(name, 'false');
      else return { kind: 'error', message: `invalid boolean value ${JSON.stringify(inline)} for -${name}` };
      continue;
    }
    if (inline !== undefined) {
      values.set(name, inline);
      continue;
    }
    const next = argv[i + 1];
    if (next === undefined) return { kind: 'error', message: `flag needs an argument: -${name}` };
    values.set(name, next);
    i++;
  }
  return { kind: 'ok', values };
}

/** Usage text: one flag per line with its placeholder, default and environment variable. */
export function usage(program: string, specs: readonly FlagSpec[]): string {
  const lines = [`Usage: ${program} [flags]`, ''];
  for (const s of specs) {
    const head = `  -${s.name}${s.bool ? '' : ` ${s.value ?? 'value'}`}`;
    const extras = [s.default !== undefined ? `default ${s.default}` : '', s.env ? `env ${s.env}` : '']
      .filter(Boolean)
      .join(', ');
    lines.push(head, `        ${s.help}${extras ? ` (${extras})` : ''}`);
  }
  lines.push('', 'Flags may be written -name=value, --name=value or -name value.');
  return `${lines.join('\n')}\n`;
}
