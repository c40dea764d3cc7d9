// The cache key: every input that changes the environment changes the key, nothing else does.
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.js';
import { canonicalJson, computeKey, isKey, KEY_LENGTH, type KeyInput } from '../src/core/env/cache-key.js';
import { environmentOptionsFromConfig } from '../src/env/options-from-config.js';

const base: KeyInput = {
  interpreter: {
    path: '/usr/bin/python3',
    realPath: '/usr/bin/python3.11',
    version: '3.11.2 (main, Mar 13 2023, 12:18:29) [GCC 12.2.0]',
    platformTag: 'linux-aarch64 cpython-311',
  },
  platform: 'linux-arm64',
  requirements: 'numpy==1.26.4\n--- constraints',
  files: [
    { path: 'a-1.0-py3-none-any.whl', sha256: 'aa' },
    { path: 'w/b-1.0-py3-none-any.whl', sha256: 'bb' },
  ],
  options: {
    extraIndexUrls: [],
    noIndex: false,
    findLinks: [],
    systemSitePackages: false,
    seedPip: true,
    onlyBinary: false,
  },
};

describe('computeKey', () => {
  it('is stable hex of the documented length', () => {
    const k = computeKey(base);
    expect(k).toHaveLength(KEY_LENGTH);
    expect(isKey(k)).toBe(true);
    expect(computeKey(structuredClone(base))).toBe(k);
  });

  it('ignores the order of shipped files and of object properties', () => {
    const files = [...base.files].reverse();
    const options = Object.fromEntries(Object.entries(base.options).reverse()) as KeyInput['options'];
    expect(computeKey({ ...base, files, options })).toBe(computeKey(base));
    expect(canonicalJson({ b: 1, a: [2, { d: 1, c: undefined }] })).toBe('{"a":[2,{"d":1}],"b":1}');
  });

  it.each<[string, Partial<KeyInput>]>([
    ['interpreter version', { interpreter: { ...base.interpreter, version: '3.11.9' } }],
    ['interpreter path', { interpreter: { ...base.interpreter, realPath: '/usr/bin/python3.12' } }],
    ['platform tag', { interpreter: { ...base.interpreter, platformTag: 'linux-x86_64 cpython-311' } }],
    ['device platform', { platform: 'linux-x64' }],
    ['requirements', { requirements: 'numpy==1.26.3\n--- constraints' }],
    ['a shipped wheel', { files: [{ path: 'a-1.0-py3-none-any.whl', sha256: 'cc' }, base.files[1]!] }],
    ['a shipped wheel added', { files: [...base.files, { path: 'c.whl', sha256: 'dd' }] }],
    ['system site-packages', { options: { ...base.options, systemSitePackages: true } }],
    ['index url', { options: { ...base.options, indexUrl: 'https://mirror/simple' } }],
    ['extra index', { options: { ...base.options, extraIndexUrls: ['https://x/simple'] } }],
    ['no index', { options: { ...base.options, noIndex: true } }],
    ['find-links', { options: { ...base.options, findLinks: ['/opt/wheels'] } }],
    ['seeded pip', { options: { ...base.options, seedPip: false } }],
    ['only binary', { options: { ...base.options, onlyBinary: true } }],
  ])('changes with %s', (_what, change) => {
    expect(computeKey({ ...base, ...change })).not.toBe(computeKey(base));
  });

  it('recognises only key-shaped directory names', () => {
    expect(isKey('.building')).toBe(false);
    expect(isKey('0'.repeat(KEY_LENGTH))).toBe(true);
    expect(isKey('0'.repeat(KEY_LENGTH - 1))).toBe(false);
    expect(isKey('G'.repeat(KEY_LENGTH))).toBe(false);
  });
});

describe('environmentOptionsFromConfig', () => {
  it('maps EDGEFLEET_* settings to manager options', () => {
    const config = loadConfig({
      EDGEFLEET_DATA_DIR: '/var/lib/edgefleet',
      EDGEFLEET_PIP_NO_INDEX: 'true',
      EDGEFLEET_PIP_EXTRA_INDEX_URLS: 'https://a/simple, https://b/simple',
      EDGEFLEET_PIP_FIND_LINKS: '/opt/wheels',
      EDGEFLEET_ENV_CACHE_MAX_BYTES: '1000000',
    });
    expect(environmentOptionsFromConfig(config)).toMatchObject({
      cacheDir: '/var/lib/edgefleet/envs',
      maxCacheBytes: 1_000_000,
      python: '/usr/bin/python3',
      seedPip: true,
      pip: {
        noIndex: true,
        extraIndexUrls: ['https://a/simple', 'https://b/simple'],
        findLinks: ['/opt/wheels'],
        onlyBinary: false,
      },
    });
    expect(() => loadConfig({ EDGEFLEET_PIP_INDEX_URL: 'not a url' })).toThrow(/EDGEFLEET_PIP_INDEX_URL/);
  });
});
