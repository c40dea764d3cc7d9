// Requirements files: parse, check and normalise what a job asks pip to install. Pure: files are read
// through an injected `read(relativePath)`, so every rule is testable without a disk.
//
// Why normalise at all: the environment cache key hashes what pip will install, so two files that
// differ only in comments, blank lines, spacing, line continuations or `-r` layout must hash the same,
// and the file pip actually reads must be the one we hashed. We therefore write our own canonical file
// for pip (includes inlined, paths made absolute inside the workspace) instead of passing the job's.
//
// pip's line syntax followed here (pip/_internal/req/req_file.py): a trailing `\` joins the next line;
// `#` at the start or after whitespace starts a comment; `${NAME}` (A–Z, 0–9, _) expands from the
// environment; a requirement is everything before the first token starting with `-`, options after;
// nested `-r` paths are relative to the including file; `-r` inside a `-c` file is a requirement.
//
// Safety: a job must not make pip read other files of the device. Accepted local references are
// workspace-relative paths without `..` (checkRelativePath), or `file:` URLs whose path lies in the
// workspace. Everything else naming the local filesystem is refused, as are remote `-r` files (their
// content would escape the key) and options we do not know (they could carry a path).
//
// `${VAR}` always expands to nothing: the device's environment holds secrets (AWS_*, Redis password),
// and pip itself runs with a scrubbed environment as a second line of defence.
import { checkRelativePath } from '@edgefleet/contracts';

/** Deepest `-r`/`-c` nesting accepted. */
const MAX_INCLUDE_DEPTH = 8;
/** Most logical lines accepted over all included files. */
const MAX_LINES = 5000;
/** Largest total size over all included files, in bytes. */
const MAX_TOTAL_BYTES = 1 << 20;

type RequirementsProblemCode =
  | 'UNSAFE_PATH'
  | 'INCLUDE_NOT_FOUND'
  | 'INCLUDE_CYCLE'
  | 'INCLUDE_TOO_DEEP'
  | 'TOO_LARGE'
  | 'REMOTE_INCLUDE'
  | 'UNSUPPORTED_URL'
  | 'UNSUPPORTED_OPTION'
  | 'WEAKENS_POLICY'
  | 'MALFORMED';

interface RequirementsProblem {
  code: RequirementsProblemCode;
  /** Workspace-relative file and 1-based line where the problem was found. */
  file: string;
  line: number;
  /** The offending (comment-stripped) line. */
  text: string;
  message: string;
}

/** A path inside the workspace, rendered `./rel` in the key and absolute for pip. */
interface WorkspaceRef {
  ws: string;
  /** Render as a `file://` URL rather than a path. */
  url?: boolean;
  /** `[extra,...]` appended to the rendered path. */
  extras?: string;
}
export type Token = string | WorkspaceRef;

export interface Entry {
  tokens: Token[];
  /** Where it came from, for error messages: `requirements.txt:3`. */
  origin: string;
}

export interface NormalisedRequirements {
  /** Requirement and option lines, in file order (includes inlined in place). */
  requirements: Entry[];
  /** Constraint lines (from `-c` files). */
  constraints: Entry[];
  /** Workspace paths named by requirement lines (directories or archives): their content feeds the key. */
  localPaths: string[];
  /** Rewrites worth logging, e.g. an editable local install made regular. */
  notes: string[];
}

export type NormaliseResult =
  | { ok: true; value: NormalisedRequirements }
  | { ok: false; problem: RequirementsProblem };

export interface NormaliseOptions {
  /** Absolute workspace path: `file:` URLs must point inside it. No trailing slash. */
  workspace: string;
  /** Reads a workspace-relative file; null when it does not exist (or is not a regular file). */
  read: (relativePath: string) => string | null;
  /** The device's pip policy a requirements file may not weaken (absent: nothing pinned). */
  policy?: PipPolicy;
}

/**
 * What the device pins (EDGEFLEET_PIP_*). `onlyBinary`: wheels only, so no package's build code runs;
 * a requirements file may not take it back (`--no-binary`, `--only-binary :none:`). `pinnedIndex`:
 * packages come only from the device's index (EDGEFLEET_PIP_INDEX_URL / EXTRA_INDEX_URLS) or none
 * (EDGEFLEET_PIP_NO_INDEX), plus the workspace; a requirements file may not add a source
 * (`-i`/`--index-url`, `--extra-index-url`, `--trusted-host`, `-f`/`--find-links` to a place outside
 * the workspace). A requirement naming one URL (`name @ https://…`) stays allowed: it is one pinned
 * file, not a source pip searches.
 */
interface PipPolicy {
  onlyBinary: boolean;
  pinnedIndex: boolean;
}

/** Renders an entry; `workspace` null gives the key form (`./rel`), else absolute paths for pip. */
export function renderEntry(entry: Entry, workspace: string | null): string {
  return entry.tokens
    .map((t) => {
      if (typeof t === 'string') return t;
      const ex = t.extras ?? '';
      if (workspace === null) return (t.url ? `file:./${t.ws}` : `./${t.ws}`) + ex;
      const abs = t.ws === '' ? workspace : `${workspace}/${t.ws}`;
      return (t.url ? `file://${abs.split('/').map(encodeURIComponent).join('/')}` : abs) + ex;
    })
    .join(' ');
}

/** The canonical text that feeds the cache key. */
export function keyText(n: NormalisedRequirements): string {
  return [
    ...n.requirements.map((e) => renderEntry(e, null)),
    '--- constraints',
    ...n.constraints.map((e) => renderEntry(e, null)),
  ].join('\n');
}

/** Splits raw file text into logical lines (continuations joined, comments and `${VAR}` removed). */
export function logicalLines(text: string): { line: number; text: string }[] {
  const out: { line: number; text: string }[] = [];
  const raw = text.replace(/\r\n?/g, '\n').split('\n');
  let acc = '';
  let start = 0;
  for (let i = 0; i < raw.length; i++) {
    const piece = raw[i] ?? '';
    if (acc === '') start = i + 1;
    // pip: a line ending in `\` continues, unless it is a comment line.
    if (piece.endsWith('\\') && !/^\s*#/.test(piece)) {
      acc += piece.slice(0, -1);
      if (i < raw.length - 1) continue;
    } else acc += piece;
    const cleaned = acc
      .replace(/(^|\s+)#.*$/, '')
      .replace(/\$\{[A-Z0-9_]+\}/g, '')
      .replace(/\s+/g, ' ')
      .trim();
    if (cleaned !== '') out.push({ line: start, text: cleaned });
    acc = '';
  }
  return out;
}

// Options with a value, by every spelling pip accepts, mapped to the canonical long name.
const VALUE_OPTIONS: Record<string, string> = {
  '-r': '--requirement',
  '--requirement': '--requirement',
  '-c': '--constraint',
  '--constraint': '--constraint',
  '-e': '--editable',
  '--editable': '--editable',
  '-f': '--find-links',
  '--find-links': '--find-links',
  '-i': '--index-url',
  '--index-url': '--index-url',
  '--extra-index-url': '--extra-index-url',
  '--trusted-host': '--trusted-host',
  '--only-binary': '--only-binary',
  '--no-binary': '--no-binary',
  '--use-feature': '--use-feature',
};
const FLAG_OPTIONS = new Set(['--no-index', '--pre', '--prefer-binary', '--require-hashes']);

const ARCHIVE = /\.(whl|zip|tar|tar\.gz|tgz|tar\.bz2|tbz|tar\.xz|txz)$/i;
const SCHEME = /^([a-z][a-z0-9+.-]*):/i;
const REMOTE_SCHEMES = new Set(['http', 'https']);
const VCS = /^(git|hg|svn|bzr)\+(https?|ssh|git)$/i;
const NAME = /^[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?$/;
const EXTRAS = /^\[\s*[A-Za-z0-9._-]+(?:\s*,\s*[A-Za-z0-9._-]+)*\s*\]$/;
const SPEC = /^(?:===|==|!=|<=|>=|~=|<|>)\s*[A-Za-z0-9.*+!_-]+$/;

/** PEP 503 normalised project name. */
const normaliseName = (name: string) => name.toLowerCase().replace(/[-_.]+/g, '-');

type Check<T> = { ok: true; value: T } | { ok: false; code: RequirementsProblemCode; message: string };
const fail = <T>(code: RequirementsProblemCode, message: string): Check<T> => ({ ok: false, code, message });

/** A local path as written in a requirement line → a workspace-relative path, or a refusal. */
export function checkLocalPath(raw: string, base = ''): Check<string> {
  let p = raw;
  if (p.startsWith('~')) return fail('UNSAFE_PATH', `home-relative path "${raw}" is not allowed`);
  if (p.startsWith('/'))
    return fail('UNSAFE_PATH', `absolute path "${raw}" is not allowed (use a workspace path)`);
  while (p.startsWith('./')) p = p.slice(2);
  p = p.replace(/\/+$/, '');
  if (p === '' || p === '.') return { ok: true, value: base };
  const problem = checkRelativePath(p);
  if (problem) return fail('UNSAFE_PATH', `path "${raw}" is not a safe workspace path (${problem})`);
  return { ok: true, value: base === '' ? p : `${base}/${p}` };
}

/** A `file:` URL → a workspace-relative path, if it points inside the workspace. */
export function checkFileUrl(raw: string, workspace: string): Check<string> {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return fail('UNSUPPORTED_URL', `malformed file URL "${raw}"`);
  }
  if (url.hostname !== '' && url.hostname !== 'localhost')
    return fail('UNSUPPORTED_URL', `file URL with a host "${raw}" is not allowed`);
  let path: string;
  try {
    path = decodeURIComponent(url.pathname);
  } catch {
    return fail('UNSUPPORTED_URL', `malformed file URL "${raw}"`);
  }
  // new URL() already resolved `..` segments; a path still has to start inside the workspace.
  if (path === workspace || path === `${workspace}/`) return { ok: true, value: '' };
  if (!path.startsWith(`${workspace}/`))
    return fail('UNSAFE_PATH', `file URL "${raw}" points outside the workspace`);
  return checkLocalPath(path.slice(workspace.length + 1));
}

/** Classifies a URL-or-path location (find-links, index, `name @ x`, editable, bare archive). */
function checkLocation(raw: string, workspace: string): Check<Token> {
  const scheme = SCHEME.exec(raw)?.[1]?.toLowerCase();
  if (scheme === undefined) {
    const p = checkLocalPath(raw);
    return p.ok ? { ok: true, value: { ws: p.value } } : p;
  }
  if (scheme === 'file' || scheme.endsWith('+file')) {
    if (scheme !== 'file')
      return fail('UNSAFE_PATH', `"${raw}": version control from a local path is not allowed`);
    const p = checkFileUrl(raw, workspace);
    return p.ok ? { ok: true, value: { ws: p.value, url: true } } : p;
  }
  if (REMOTE_SCHEMES.has(scheme) || VCS.test(scheme)) return { ok: true, value: raw };
  return fail('UNSUPPORTED_URL', `URL scheme "${scheme}:" is not supported`);
}

/** Splits `spec ; marker` (PEP 508); for URLs the `;` must follow whitespace. */
function splitMarker(text: string, isUrl: boolean): [string, string | undefined] {
  const m = isUrl ? /\s;\s*/.exec(text) : /\s*;\s*/.exec(text);
  if (!m) return [text.trim(), undefined];
  return [text.slice(0, m.index).trim(), text.slice(m.index + m[0].length).trim()];
}

/** A requirement (the part before options) → canonical tokens, plus the local path it names. */
export function parseRequirement(
  text: string,
  workspace: string,
): Check<{ tokens: Token[]; localPath?: string }> {
  // `name[extras] @ url ; marker`
  const direct = /^([A-Za-z0-9][A-Za-z0-9._-]*)\s*(\[[^\]]*\])?\s*@\s*(\S+)(.*)$/.exec(text);
  if (direct) {
    const [, name = '', extras, url = '', rest = ''] = direct;
    if (!NAME.test(name)) return fail('MALFORMED', `invalid project name "${name}"`);
    if (extras !== undefined && !EXTRAS.test(extras)) return fail('MALFORMED', `invalid extras "${extras}"`);
    if (SCHEME.exec(url) === null)
      return fail('UNSUPPORTED_URL', `"${name} @ ${url}": a direct reference must be a URL`);
    const loc = checkLocation(url, workspace);
    if (!loc.ok) return loc;
    const [, marker] = splitMarker(rest, true);
    if (rest.trim() !== '' && marker === undefined) return fail('MALFORMED', `unexpected text after the URL`);
    const head = `${normaliseName(name)}${extras ? extras.replace(/\s+/g, '') : ''}`;
    const tokens: Token[] = [head, '@', loc.value];
    if (marker) tokens.push(';', marker);
    return typeof loc.value === 'string'
      ? { ok: true, value: { tokens } }
      : { ok: true, value: { tokens, localPath: loc.value.ws } };
  }
  const scheme = SCHEME.exec(text)?.[1];
  const looksLikePath =
    text.startsWith('.') || text.startsWith('/') || text.startsWith('~') || /^[^;\s[]*\//.test(text);
  if (scheme !== undefined || looksLikePath || ARCHIVE.test(text.split(/\s*;/)[0] ?? '')) {
    // A bare URL or local archive/directory, optionally with `[extras]` and a marker.
    const [body, marker] = splitMarker(text, true);
    const ex = /^(.*?)(\[[^\]]*\])?$/.exec(body);
    const location = ex?.[1] ?? body;
    const extras = ex?.[2];
    if (/\s/.test(location)) return fail('MALFORMED', `unexpected space in "${location}"`);
    const loc = checkLocation(location, workspace);
    if (!loc.ok) return loc;
    // Extras stay attached to the location (`./lib[x]`), so they render in the same token.
    const ex2 = extras ? extras.replace(/\s+/g, '') : '';
    const tokens: Token[] =
      typeof loc.value === 'string'
        ? [`${loc.value}${ex2}`]
        : ex2
          ? [{ ...loc.value, extras: ex2 }]
          : [loc.value];
    if (marker) tokens.push(';', marker);
    return typeof loc.value === 'string'
      ? { ok: true, value: { tokens } }
      : { ok: true, value: { tokens, localPath: loc.value.ws } };
  }
  // `name[extras] spec, spec ; marker` (PEP 508 without URL)
  const [body, marker] = splitMarker(text, false);
  const m = /^([A-Za-z0-9][A-Za-z0-9._-]*)\s*(\[[^\]]*\])?\s*(.*)$/.exec(body);
  if (!m) return fail('MALFORMED', `not a requirement: "${text}"`);
  const [, name = '', extras, specs = ''] = m;
  if (!NAME.test(name)) return fail('MALFORMED', `invalid project name "${name}"`);
  if (extras !== undefined && !EXTRAS.test(extras)) return fail('MALFORMED', `invalid extras "${extras}"`);
  const specText = specs.replace(/^\((.*)\)$/, '$1').trim();
  const parts = specText === '' ? [] : specText.split(',').map((s) => s.replace(/\s+/g, ''));
  for (const p of parts) if (!SPEC.test(p)) return fail('MALFORMED', `invalid version specifier "${p}"`);
  if (marker !== undefined && marker === '') return fail('MALFORMED', 'empty environment marker');
  const tokens: Token[] = [
    `${normaliseName(name)}${extras ? extras.replace(/\s+/g, '') : ''}${parts.join(',')}`,
  ];
  if (marker) tokens.push(';', marker);
  return { ok: true, value: { tokens } };
}

/** Tokenises a line into [requirement text, options]. */
function splitLine(text: string): { req: string; opts: string[] } {
  const tokens = text.split(' ');
  const i = tokens.findIndex((t) => t.startsWith('-'));
  return i < 0 ? { req: text, opts: [] } : { req: tokens.slice(0, i).join(' '), opts: tokens.slice(i) };
}

/** Reads `-x v`, `-xv`, `--long v`, `--long=v` from `opts` → [canonical name, value, rest]. */
function takeOption(opts: string[]): Check<{ name: string; value?: string; rest: string[] }> {
  const [first = '', ...rest] = opts;
  if (first.startsWith('--')) {
    const eq = first.indexOf('=');
    const spelled = eq < 0 ? first : first.slice(0, eq);
    if (FLAG_OPTIONS.has(spelled)) {
      if (eq >= 0) return fail('MALFORMED', `option ${spelled} takes no value`);
      return { ok: true, value: { name: spelled, rest } };
    }
    const name = VALUE_OPTIONS[spelled];
    if (!name) return fail('UNSUPPORTED_OPTION', `option ${spelled} is not supported in requirements files`);
    if (eq >= 0) return { ok: true, value: { name, value: first.slice(eq + 1), rest } };
    const [value, ...after] = rest;
    if (value === undefined) return fail('MALFORMED', `option ${spelled} needs a value`);
    return { ok: true, value: { name, value, rest: after } };
  }
  const short = first.slice(0, 2);
  const name = VALUE_OPTIONS[short];
  if (!name) return fail('UNSUPPORTED_OPTION', `option ${first} is not supported in requirements files`);
  if (first.length > 2) return { ok: true, value: { name, value: first.slice(2).replace(/^=/, ''), rest } };
  const [value, ...after] = rest;
  if (value === undefined) return fail('MALFORMED', `option ${short} needs a value`);
  return { ok: true, value: { name, value, rest: after } };
}

const dirOf = (rel: string) => (rel.includes('/') ? rel.slice(0, rel.lastIndexOf('/')) : '');

/**
 * Reads `entry` (workspace-relative) and everything it includes, and returns the canonical entries
 * or the first problem found.
 */
export function normaliseRequirements(entry: string, opts: NormaliseOptions): NormaliseResult {
  const out: NormalisedRequirements = { requirements: [], constraints: [], localPaths: [], notes: [] };
  let lines = 0;
  let bytes = 0;
  const stack: string[] = [];

  const problem = (
    code: RequirementsProblemCode,
    file: string,
    line: number,
    text: string,
    message: string,
  ): NormaliseResult => ({ ok: false, problem: { code, file, line, text, message } });

  const visit = (
    file: string,
    asConstraint: boolean,
    from?: { file: string; line: number; text: string },
  ) => {
    const where = from ?? { file, line: 0, text: '' };
    if (stack.includes(file))
      return problem('INCLUDE_CYCLE', where.file, where.line, where.text, `"${file}" includes itself`);
    if (stack.length >= MAX_INCLUDE_DEPTH)
      return problem(
        'INCLUDE_TOO_DEEP',
        where.file,
        where.line,
        where.text,
        `includes nested deeper than ${MAX_INCLUDE_DEPTH}`,
      );
    const text = opts.read(file);
    if (text === null)
      return problem(
        'INCLUDE_NOT_FOUND',
        where.file,
        where.line,
        where.text,
        `"${file}" not found in the workspace`,
      );
    bytes += Buffer.byteLength(text);
    if (bytes > MAX_TOTAL_BYTES)
      return problem('TOO_LARGE', file, 0, '', `requirements exceed ${MAX_TOTAL_BYTES} bytes`);
    stack.push(file);
    for (const { line, text: l } of logicalLines(text)) {
      if (++lines > MAX_LINES)
        return problem('TOO_LARGE', file, line, l, `requirements exceed ${MAX_LINES} lines`);
      const r = visitLine(file, line, l, asConstraint);
      if (r) return r;
    }
    stack.pop();
    return null;
  };

  const visitLine = (
    file: string,
    line: number,
    text: string,
    asConstraint: boolean,
  ): NormaliseResult | null => {
    const origin = `${file}:${line}`;
    const bad = (c: { code: RequirementsProblemCode; message: string }) =>
      problem(c.code, file, line, text, c.message);
    const { req, opts: options } = splitLine(text);
    const policy = opts.policy;
    const weakens = (what: string, setting: string) =>
      bad({ code: 'WEAKENS_POLICY', message: `${what} weakens the device's pip policy (${setting})` });
    if (req !== '') {
      const parsed = parseRequirement(req, opts.workspace);
      if (!parsed.ok) return bad(parsed);
      const tokens = [...parsed.value.tokens];
      let rest = options;
      while (rest.length > 0) {
        // Per-requirement options: only hashes (anything else could pass arbitrary build arguments).
        const o = /^--hash(?:=(.*))?$/.exec(rest[0] ?? '');
        if (!o)
          return bad({
            code: 'UNSUPPORTED_OPTION',
            message: `option ${rest[0]} is not supported after a requirement`,
          });
        const value = o[1] ?? rest[1];
        if (value === undefined || !/^[a-z0-9]+:[0-9a-f]+$/i.test(value))
          return bad({ code: 'MALFORMED', message: `invalid --hash value` });
        tokens.push(`--hash=${value.toLowerCase()}`);
        rest = rest.slice(o[1] === undefined ? 2 : 1);
      }
      if (parsed.value.localPath !== undefined) out.localPaths.push(parsed.value.localPath);
      (asConstraint ? out.constraints : out.requirements).push({ tokens, origin });
      return null;
    }
    const taken = takeOption(options);
    if (!taken.ok) return bad(taken);
    const { name, value, rest } = taken.value;
    if (rest.length > 0)
      return bad({ code: 'MALFORMED', message: `unexpected "${rest.join(' ')}" after ${name}` });
    if (
      policy?.onlyBinary &&
      (name === '--no-binary' || (name === '--only-binary' && /:none:/.test(value ?? '')))
    )
      return weakens(name, 'EDGEFLEET_PIP_ONLY_BINARY: wheels only');
    if (
      policy?.pinnedIndex &&
      (name === '--index-url' || name === '--extra-index-url' || name === '--trusted-host')
    )
      return weakens(name, 'packages come only from the device index');
    if (policy?.pinnedIndex && name === '--find-links') {
      const loc = checkLocation(value ?? '', opts.workspace);
      if (loc.ok && typeof loc.value === 'string')
        return weakens(
          `${name} to a place outside the workspace`,
          'packages come only from the device index',
        );
    }
    switch (name) {
      case '--requirement':
      case '--constraint': {
        const v = value ?? '';
        if (SCHEME.test(v))
          return bad({ code: 'REMOTE_INCLUDE', message: `remote requirements file "${v}" is not supported` });
        const p = checkLocalPath(v, dirOf(file));
        if (!p.ok) return bad(p);
        // pip: `-r` inside a constraints file still reads requirements; `-c` always constraints.
        return visit(p.value, name === '--constraint', { file, line, text });
      }
      case '--editable': {
        const v = value ?? '';
        const [body, marker] = splitMarker(v, true);
        const ex = /^(.*?)(\[[^\]]*\])?$/.exec(body);
        const location = ex?.[1] ?? body;
        const loc = checkLocation(location, opts.workspace);
        if (!loc.ok) return bad(loc);
        const extras = ex?.[2] ?? '';
        if (typeof loc.value === 'string') {
          out.requirements.push({
            tokens: ['--editable', `${loc.value}${extras}`, ...(marker ? [';', marker] : [])],
            origin,
          });
          return null;
        }
        // The workspace is deleted after the job while the environment is cached and shared: an
        // editable link into it would dangle. Install the same source as a regular package.
        out.notes.push(
          `${origin}: editable install of "${location}" made a regular install (the workspace is temporary)`,
        );
        out.localPaths.push(loc.value.ws);
        const tokens: Token[] = [extras ? { ...loc.value, extras } : loc.value];
        if (marker) tokens.push(';', marker);
        out.requirements.push({ tokens, origin });
        return null;
      }
      case '--find-links':
      case '--index-url':
      case '--extra-index-url': {
        const loc = checkLocation(value ?? '', opts.workspace);
        if (!loc.ok) return bad(loc);
        out.requirements.push({ tokens: [name, loc.value], origin });
        return null;
      }
      case '--trusted-host':
      case '--only-binary':
      case '--no-binary':
      case '--use-feature': {
        const v = value ?? '';
        if (!/^[A-Za-z0-9:._,*-]+$/.test(v))
          return bad({ code: 'MALFORMED', message: `invalid value for ${name}` });
        out.requirements.push({ tokens: [name, v], origin });
        return null;
      }
      default:
        out.requirements.push({ tokens: [name], origin });
        return null;
    }
  };

  const first = checkLocalPath(entry);
  if (!first.ok) return problem(first.code, entry, 0, '', first.message);
  const r = visit(first.value, false);
  return r ?? { ok: true, value: out };
}
