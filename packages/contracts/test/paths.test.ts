import { describe, expect, it } from 'vitest';
import {
  checkRelativePath,
  inputTargetPath,
  MAX_PATH_BYTES,
  MAX_PATH_DEPTH,
  parseS3Uri,
} from '../src/index.js';

describe('checkRelativePath', () => {
  const cases: [string, ReturnType<typeof checkRelativePath>][] = [
    ['main.py', null],
    ['data/model.h5', null],
    ['a/b/c/d.txt', null],
    ['ünïcödé/файл.txt', null],
    ['..hidden', null],
    ['a..b', null],
    ['', 'EMPTY'],
    ['..', 'DOT_SEGMENT'],
    ['.', 'DOT_SEGMENT'],
    ['../x', 'DOT_SEGMENT'],
    ['a/../..', 'DOT_SEGMENT'],
    ['a/..', 'DOT_SEGMENT'],
    ['a/./b', 'DOT_SEGMENT'],
    ['a/../b', 'DOT_SEGMENT'],
    ['/etc/passwd', 'ABSOLUTE'],
    ['/', 'ABSOLUTE'],
    ['C:evil', 'ABSOLUTE'],
    ['c:/windows', 'ABSOLUTE'],
    ['a//b', 'EMPTY_SEGMENT'],
    ['a\\b', 'BACKSLASH'],
    ['..\\..\\x', 'BACKSLASH'],
    ['a\u0000b', 'CONTROL_CHAR'],
    ['a\nb', 'CONTROL_CHAR'],
    ['a\u007fb', 'CONTROL_CHAR'],
    ['x'.repeat(256), 'SEGMENT_TOO_LONG'],
    ['é'.repeat(128), 'SEGMENT_TOO_LONG'],
    [`${'a/'.repeat(MAX_PATH_DEPTH)}b`, 'TOO_DEEP'],
    [`${'abcdefgh/'.repeat(120)}x`, 'TOO_LONG'],
  ];
  it.each(cases)('%j → %s', (path, expected) => {
    expect(checkRelativePath(path)).toBe(expected);
  });

  it('accepts a trailing slash only when asked', () => {
    expect(checkRelativePath('images/', { allowTrailingSlash: true })).toBeNull();
    expect(checkRelativePath('images/')).toBe('EMPTY_SEGMENT');
    expect(checkRelativePath('/', { allowTrailingSlash: true })).toBe('ABSOLUTE');
    expect(checkRelativePath('../', { allowTrailingSlash: true })).toBe('DOT_SEGMENT');
    expect(checkRelativePath('a//', { allowTrailingSlash: true })).toBe('EMPTY_SEGMENT');
  });

  it('counts the length limit in UTF-8 bytes', () => {
    const exact = `${'a/'.repeat(0)}${'abcd/'.repeat(MAX_PATH_BYTES / 5 - 1)}`;
    expect(checkRelativePath(`${exact}x`)).toBe(exact.split('/').length > MAX_PATH_DEPTH ? 'TOO_DEEP' : null);
  });

  it('rejects every path that resolves outside its root (exhaustive over short segment sequences)', () => {
    const segments = ['a', '.', '..', ''];
    const all: string[][] = [[]];
    for (let depth = 0; depth < 4; depth++) {
      for (const prefix of all.filter((p) => p.length === depth))
        for (const s of segments) all.push([...prefix, s]);
    }
    for (const parts of all) {
      if (parts.length === 0) continue;
      const path = parts.join('/');
      // Walk the segments like a filesystem would; a path is only safe if it never climbs above root
      // and has no '.', '..' or empty segment at all.
      const verdict = checkRelativePath(path);
      const clean = parts.every((p) => p === 'a');
      expect(verdict === null, path).toBe(clean);
    }
  });
});

describe('parseS3Uri', () => {
  it('parses objects, prefixes and the bucket root', () => {
    expect(parseS3Uri('s3://bucket/code/main.py')).toEqual({
      ok: true,
      value: { bucket: 'bucket', key: 'code/main.py', isPrefix: false },
    });
    expect(parseS3Uri('s3://bucket/data/')).toEqual({
      ok: true,
      value: { bucket: 'bucket', key: 'data/', isPrefix: true },
    });
    expect(parseS3Uri('s3://bucket')).toEqual({
      ok: true,
      value: { bucket: 'bucket', key: '', isPrefix: true },
    });
    expect(parseS3Uri('s3://bucket/')).toEqual({
      ok: true,
      value: { bucket: 'bucket', key: '', isPrefix: true },
    });
  });
  it.each([
    ['http://bucket/key', 'NOT_S3'],
    ['s3:/bucket/key', 'NOT_S3'],
    ['s3://', 'NOT_S3'],
    ['s3://Bucket/key', 'BAD_BUCKET'],
    ['s3://b/key', 'BAD_BUCKET'],
    ['s3://bu..cket/key', 'BAD_BUCKET'],
    ['s3://bucket/../x', 'DOT_SEGMENT'],
    ['s3://bucket/a/../../x', 'DOT_SEGMENT'],
    ['s3://bucket/..', 'DOT_SEGMENT'],
    ['s3://bucket//x', 'ABSOLUTE'],
    ['s3://bucket/a\u0000b', 'CONTROL_CHAR'],
    ['s3://bucket/a\\b', 'BACKSLASH'],
  ])('%j → %s', (uri, problem) => {
    expect(parseS3Uri(uri)).toEqual({ ok: false, problem });
  });
});

describe('inputTargetPath', () => {
  it.each([
    [{ uri: 's3://b1b/code/main.py' }, 'main.py'],
    [{ uri: 's3://b1b/data/model.h5' }, 'model.h5'],
    [{ uri: 's3://b1b/datasets/run1/' }, 'run1/'],
    [{ uri: 's3://b1b/datasets/run1/', path: 'images/' }, 'images/'],
    [{ uri: 's3://b1b/x/y.txt', path: 'in/y2.txt' }, 'in/y2.txt'],
    [{ uri: 's3://b1b/' }, ''],
  ])('%j → %j', (input, expected) => {
    expect(inputTargetPath(input)).toBe(expected);
  });
});
