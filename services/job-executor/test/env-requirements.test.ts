// Requirements parsing and normalisation: pure, table-driven, no disk.
import { describe, expect, it } from 'vitest';
import {
  checkFileUrl,
  checkLocalPath,
  keyText,
  logicalLines,
  type NormaliseResult,
  normaliseRequirements,
  parseRequirement,
  renderEntry,
} from '../src/core/env/requirements.js';

const WS = '/data/jobs/j1/work';
const norm = (files: Record<string, string>, entry = 'requirements.txt'): NormaliseResult =>
  normaliseRequirements(entry, { workspace: WS, read: (p) => files[p] ?? null });
const lines = (r: NormaliseResult) => {
  if (!r.ok) throw new Error(`unexpected problem: ${r.problem.code} ${r.problem.message}`);
  return {
    key: r.value.requirements.map((e) => renderEntry(e, null)),
    pip: r.value.requirements.map((e) => renderEntry(e, WS)),
    constraints: r.value.constraints.map((e) => renderEntry(e, null)),
    localPaths: r.value.localPaths,
    notes: r.value.notes,
  };
};
const problem = (r: NormaliseResult) => {
  if (r.ok) throw new Error('expected a problem');
  return r.problem;
};

describe('logicalLines', () => {
  it('drops comments and blank lines, joins continuations, collapses whitespace', () => {
    const text = '# header\n\nfoo==1.0   # pinned\n  bar \\\n  >=2\nurl#egg=x\r\n\t baz\t\t[x] \n';
    expect(logicalLines(text)).toEqual([
      { line: 3, text: 'foo==1.0' },
      { line: 4, text: 'bar >=2' },
      { line: 6, text: 'url#egg=x' },
      { line: 7, text: 'baz [x]' },
    ]);
  });
  it('expands every $-{VAR} to nothing (secrets never reach the file pip reads)', () => {
    const v = (name: string) => '$' + '{' + name + '}';
    expect(logicalLines(`https://u:${v('AWS_SECRET_ACCESS_KEY')}@h/x.whl\n${v('HOME')}/y`)).toEqual([
      { line: 1, text: 'https://u:@h/x.whl' },
      { line: 2, text: '/y' },
    ]);
  });
  it('keeps a continued comment line as a comment, and a trailing backslash at EOF', () => {
    expect(logicalLines('# a \\\nfoo\nbar \\')).toEqual([
      { line: 2, text: 'foo' },
      { line: 3, text: 'bar' },
    ]);
  });
});

describe('parseRequirement', () => {
  const ok = (t: string) => {
    const r = parseRequirement(t, WS);
    if (!r.ok) throw new Error(`${t}: ${r.message}`);
    return r.value.tokens
      .map((x) => (typeof x === 'string' ? x : `{${x.ws}${x.url ? ' url' : ''}}`))
      .join(' ');
  };
  const bad = (t: string) => {
    const r = parseRequirement(t, WS);
    if (r.ok) throw new Error(`${t}: expected a refusal`);
    return r.code;
  };
  it.each([
    ['foo', 'foo'],
    ['Foo_Bar == 1.0', 'foo-bar==1.0'],
    ['foo >= 1, < 2', 'foo>=1,<2'],
    ['foo[Extra1, b] ~= 1.4', 'foo[Extra1,b]~=1.4'],
    ['foo (>=1.0)', 'foo>=1.0'],
    ['foo==1.0; python_version < "3.8"', 'foo==1.0 ; python_version < "3.8"'],
    [
      'imageai @ https://h/imageai-2.0.2-py3-none-any.whl',
      'imageai @ https://h/imageai-2.0.2-py3-none-any.whl',
    ],
    ['x @ https://h/x.whl ; sys_platform == "linux"', 'x @ https://h/x.whl ; sys_platform == "linux"'],
    ['x @ git+https://github.com/a/b@v1', 'x @ git+https://github.com/a/b@v1'],
    ['https://h/a-1.0-py3-none-any.whl', 'https://h/a-1.0-py3-none-any.whl'],
    ['./wheels/a-1.0-py3-none-any.whl', '{wheels/a-1.0-py3-none-any.whl}'],
    ['a-1.0-py3-none-any.whl', '{a-1.0-py3-none-any.whl}'],
    ['./mylib', '{mylib}'],
    ['mylib/', '{mylib}'],
    ['./mylib[fast]', '{mylib}'],
    [`x @ file://${WS}/w/x-1.0-py3-none-any.whl`, 'x @ {w/x-1.0-py3-none-any.whl url}'],
  ])('%s → %s', (input, expected) => expect(ok(input)).toBe(expected));

  it.each([
    ['/etc/passwd.whl', 'UNSAFE_PATH'],
    ['../other/x.whl', 'UNSAFE_PATH'],
    ['./a/../../x', 'UNSAFE_PATH'],
    ['~/x.whl', 'UNSAFE_PATH'],
    ['x @ file:///etc/shadow', 'UNSAFE_PATH'],
    [`x @ file://${WS}/../secret.whl`, 'UNSAFE_PATH'],
    [`x @ file://${WS}2/a.whl`, 'UNSAFE_PATH'],
    ['x @ file://otherhost/a.whl', 'UNSUPPORTED_URL'],
    ['file:///root/.aws/credentials', 'UNSAFE_PATH'],
    ['git+file:///srv/repo', 'UNSAFE_PATH'],
    ['ftp://h/x.whl', 'UNSUPPORTED_URL'],
    ['x @ ./local', 'UNSUPPORTED_URL'],
    ['foo === ', 'MALFORMED'],
    ['foo bar', 'MALFORMED'],
    ['foo==1.0;', 'MALFORMED'],
    ['-foo', 'MALFORMED'],
    ['foo[', 'MALFORMED'],
  ])('refuses %s (%s)', (input, code) => expect(bad(input)).toBe(code));
});

describe('checkLocalPath / checkFileUrl', () => {
  it('accepts workspace paths and refuses escapes', () => {
    expect(checkLocalPath('./a/b/')).toEqual({ ok: true, value: 'a/b' });
    expect(checkLocalPath('.')).toEqual({ ok: true, value: '' });
    expect(checkLocalPath('c.txt', 'sub')).toEqual({ ok: true, value: 'sub/c.txt' });
    expect(checkLocalPath('a//b').ok).toBe(false);
    expect(checkLocalPath('a\\..\\b').ok).toBe(false);
    expect(checkLocalPath('a/\u0000').ok).toBe(false);
    expect(checkFileUrl(`file://${WS}`, WS)).toEqual({ ok: true, value: '' });
    expect(checkFileUrl(`file://localhost${WS}/a%20b.whl`, WS)).toEqual({ ok: true, value: 'a b.whl' });
    expect(checkFileUrl(`file://${WS}/a%2F..%2F..%2Fx`, WS).ok).toBe(false);
    expect(checkFileUrl('file:', WS).ok).toBe(false);
  });
});

describe('normaliseRequirements', () => {
  it('keeps names, URLs, options; the key form is workspace-relative, the pip form absolute', () => {
    const r = lines(
      norm({
        'requirements.txt': [
          '# app',
          '-f ./wheels',
          '--extra-index-url https://pypi.example/simple',
          '-i https://mirror.example/simple',
          '--no-index',
          '--prefer-binary',
          'numpy==1.26.4 --hash=sha256:ABCDEF',
          'imageai @ https://h/imageai-2.0.2-py3-none-any.whl',
          'https://h/b-1.0-py3-none-any.whl',
          './wheels/c-1.0-py3-none-any.whl',
          '--trusted-host pypi.example',
        ].join('\n'),
      }),
    );
    expect(r.key).toEqual([
      '--find-links ./wheels',
      '--extra-index-url https://pypi.example/simple',
      '--index-url https://mirror.example/simple',
      '--no-index',
      '--prefer-binary',
      'numpy==1.26.4 --hash=sha256:abcdef',
      'imageai @ https://h/imageai-2.0.2-py3-none-any.whl',
      'https://h/b-1.0-py3-none-any.whl',
      './wheels/c-1.0-py3-none-any.whl',
      '--trusted-host pypi.example',
    ]);
    expect(r.pip[0]).toBe(`--find-links ${WS}/wheels`);
    expect(r.pip[8]).toBe(`${WS}/wheels/c-1.0-py3-none-any.whl`);
    expect(r.localPaths).toEqual(['wheels/c-1.0-py3-none-any.whl']);
  });

  it('accepts every option spelling', () => {
    const r = lines(
      norm({
        'requirements.txt':
          '-f./w\n--find-links=./w\n--find-links ./w\n-fhttps://h/links\n--index-url=https://i/simple',
      }),
    );
    expect(r.key).toEqual([
      '--find-links ./w',
      '--find-links ./w',
      '--find-links ./w',
      '--find-links https://h/links',
      '--index-url https://i/simple',
    ]);
  });

  it('inlines -r recursively (paths relative to the including file) and keeps -c as constraints', () => {
    const r = lines(
      norm({
        'requirements.txt': 'a\n-r reqs/base.txt\n-c constraints.txt\nz',
        'reqs/base.txt': 'b\n-r more.txt',
        'reqs/more.txt': 'c',
        'constraints.txt': 'b<2\n-r extra.txt',
        'extra.txt': 'd',
      }),
    );
    expect(r.key).toEqual(['a', 'b', 'c', 'd', 'z']);
    expect(r.constraints).toEqual(['b<2']);
  });

  it('hashes the same for files that differ only in layout, comments and spacing', () => {
    const a = norm({ 'requirements.txt': 'foo==1\n-r b.txt\n', 'b.txt': 'Bar >= 2' });
    const b = norm({ 'requirements.txt': '# x\n\n  foo == 1   # pin\nbar>=2\n' });
    if (!a.ok || !b.ok) throw new Error('unexpected');
    expect(keyText(a.value)).toBe(keyText(b.value));
    const c = norm({ 'requirements.txt': 'foo==1\nbar>=3' });
    if (!c.ok) throw new Error('unexpected');
    expect(keyText(c.value)).not.toBe(keyText(a.value));
  });

  it('turns a local editable install into a regular one and leaves VCS editables alone', () => {
    const r = lines(
      norm({ 'requirements.txt': '-e ./mylib\n-e git+https://g/x.git#egg=x\n--editable=./lib2[fast]' }),
    );
    expect(r.key).toEqual(['./mylib', '--editable git+https://g/x.git#egg=x', './lib2[fast]']);
    expect(r.localPaths).toEqual(['mylib', 'lib2']);
    expect(r.notes).toHaveLength(2);
  });

  it.each([
    [{ 'requirements.txt': '-r ../../etc/x' }, 'UNSAFE_PATH', 1],
    [{ 'requirements.txt': 'a\n-r /etc/passwd' }, 'UNSAFE_PATH', 2],
    [{ 'requirements.txt': '-c ../c.txt' }, 'UNSAFE_PATH', 1],
    [{ 'requirements.txt': '-r sub/a.txt', 'sub/a.txt': '-r ../b.txt' }, 'UNSAFE_PATH', 1],
    [{ 'requirements.txt': '-r https://h/req.txt' }, 'REMOTE_INCLUDE', 1],
    [{ 'requirements.txt': '-r missing.txt' }, 'INCLUDE_NOT_FOUND', 1],
    [{ 'requirements.txt': '-r a.txt', 'a.txt': '-r requirements.txt' }, 'INCLUDE_CYCLE', 1],
    [{ 'requirements.txt': '-e /opt/lib' }, 'UNSAFE_PATH', 1],
    [{ 'requirements.txt': '-e ../lib' }, 'UNSAFE_PATH', 1],
    [{ 'requirements.txt': '--editable file:///home/x' }, 'UNSAFE_PATH', 1],
    [{ 'requirements.txt': '-f /var/wheels' }, 'UNSAFE_PATH', 1],
    [{ 'requirements.txt': '-f file:///var/wheels' }, 'UNSAFE_PATH', 1],
    [{ 'requirements.txt': '-i file:///srv/simple' }, 'UNSAFE_PATH', 1],
    [{ 'requirements.txt': '--src /tmp' }, 'UNSUPPORTED_OPTION', 1],
    [{ 'requirements.txt': 'foo --global-option=--x' }, 'UNSUPPORTED_OPTION', 1],
    [{ 'requirements.txt': 'foo --hash=nothex!' }, 'MALFORMED', 1],
    [{ 'requirements.txt': '-r' }, 'MALFORMED', 1],
    [{ 'requirements.txt': '--no-index=1' }, 'MALFORMED', 1],
    [{ 'requirements.txt': '-f ./w extra' }, 'MALFORMED', 1],
    [{ 'requirements.txt': '--only-binary ";rm"' }, 'MALFORMED', 1],
    [{ 'requirements.txt': 'ok\n\nfoo==' }, 'MALFORMED', 3],
  ])('refuses %j with %s at line %i', (files, code, line) => {
    const p = problem(norm(files as Record<string, string>));
    expect(p.code).toBe(code);
    expect(p.line).toBe(line);
  });

  it('refuses an unsafe entry path, deep nesting and oversized input', () => {
    expect(problem(norm({}, '../requirements.txt')).code).toBe('UNSAFE_PATH');
    const deep: Record<string, string> = {};
    for (let i = 0; i < 12; i++) deep[i === 0 ? 'requirements.txt' : `r${i}.txt`] = `-r r${i + 1}.txt`;
    expect(problem(norm(deep)).code).toBe('INCLUDE_TOO_DEEP');
    expect(problem(norm({ 'requirements.txt': 'a\n'.repeat(6000) })).code).toBe('TOO_LARGE');
  });

  it('names the file and line of a problem inside an include', () => {
    const p = problem(
      norm({ 'requirements.txt': 'a\n-r sub/b.txt', 'sub/b.txt': 'ok\nx @ file:///etc/passwd' }),
    );
    expect(p).toMatchObject({
      code: 'UNSAFE_PATH',
      file: 'sub/b.txt',
      line: 2,
      text: 'x @ file:///etc/passwd',
    });
  });
});
