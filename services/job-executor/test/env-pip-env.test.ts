// pip's environment and argv: nothing of the executor's environment leaks but the allowlist.
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_PROXY_VARS,
  indexArgs,
  type PipSettings,
  pipEnvironment,
  pipInstallArgv,
  proxyCredentialsWithheld,
} from '../src/core/env/pip-env.js';

const settings: PipSettings = {
  extraIndexUrls: [],
  noIndex: false,
  findLinks: [],
  onlyBinary: false,
  proxyVars: DEFAULT_PROXY_VARS,
};

describe('pipEnvironment', () => {
  it('passes only PATH, LANG, proxies and our PIP_* settings; HOME is the throwaway one', () => {
    const env = pipEnvironment(
      {
        PATH: '/usr/bin:/bin',
        LANG: 'en_US.UTF-8',
        HOME: '/root',
        HTTPS_PROXY: 'http://proxy:3128',
        AWS_SECRET_ACCESS_KEY: 's',
        AWS_ACCESS_KEY_ID: 'k',
        REDIS_PASSWORD: 'p',
        EDGEFLEET_REDIS_PASSWORD: 'p',
        EDGEFLEET_API_TOKEN: 't',
        PIP_INDEX_URL: 'https://attacker/simple',
        PYTHONPATH: '/tmp/evil',
        http_proxy: '',
      },
      '/cache/.building/k-1.home',
      settings,
    );
    expect(Object.keys(env).sort()).toEqual(
      [
        'HOME',
        'HTTPS_PROXY',
        'LANG',
        'PATH',
        'PIP_CACHE_DIR',
        'PIP_CONFIG_FILE',
        'PIP_DISABLE_PIP_VERSION_CHECK',
        'PIP_NO_INPUT',
        'PYTHONNOUSERSITE',
      ].sort(),
    );
    expect(env.HOME).toBe('/cache/.building/k-1.home');
    expect(env.PIP_CONFIG_FILE).toBe('/dev/null');
    expect(JSON.stringify(env)).not.toMatch(/attacker|evil|"s"|"p"|"t"/);
  });
  it('gives pip proxies without their credentials unless the device is binary-only (no build code runs)', () => {
    const source = {
      HTTPS_PROXY: 'http://proxy-user:SEEDED-PROXY-PASS@proxy.lan:3128',
      http_proxy: 'http://SEEDED-PROXY-TOKEN@proxy.lan:3128/',
      NO_PROXY: '127.0.0.1,localhost',
    };
    const env = pipEnvironment(source, '/h', settings);
    expect([env.HTTPS_PROXY, env.http_proxy, env.NO_PROXY]).toEqual([
      'http://proxy.lan:3128',
      'http://proxy.lan:3128/',
      '127.0.0.1,localhost',
    ]);
    expect(JSON.stringify(env)).not.toContain('SEEDED');
    expect(proxyCredentialsWithheld(source, settings)).toEqual(['HTTPS_PROXY', 'http_proxy']);
    const binaryOnly = { ...settings, onlyBinary: true };
    expect(pipEnvironment(source, '/h', binaryOnly).HTTPS_PROXY).toBe(source.HTTPS_PROXY);
    expect(proxyCredentialsWithheld(source, binaryOnly)).toEqual([]);
  });
  it('has a PATH and LANG even when the executor has none', () => {
    const env = pipEnvironment({}, '/h', settings);
    expect(env.PATH).toMatch(/\/usr\/bin/);
    expect(env.LANG).toBe('C.UTF-8');
  });
});

describe('pip argv', () => {
  it('maps the device index settings; no index wins over index URLs', () => {
    expect(
      indexArgs({
        ...settings,
        indexUrl: 'https://m/simple',
        extraIndexUrls: ['https://x/simple'],
        findLinks: ['/opt/w'],
      }),
    ).toEqual([
      '--index-url',
      'https://m/simple',
      '--extra-index-url',
      'https://x/simple',
      '--find-links',
      '/opt/w',
    ]);
    expect(indexArgs({ ...settings, noIndex: true, indexUrl: 'https://m/simple', onlyBinary: true })).toEqual(
      ['--no-index', '--only-binary', ':all:'],
    );
  });
  it('runs the venv pip or the host pip against the venv, never through a shell', () => {
    const common = {
      venvPython: '/c/b/bin/python',
      hostPython: '/usr/bin/python3',
      settings,
      findLinks: ['/ws', '/ws/wheels'],
    };
    expect(
      pipInstallArgv({ ...common, seedPip: true, requirementsFile: '/h/r.txt', constraintsFile: '/h/c.txt' }),
    ).toEqual([
      '/c/b/bin/python',
      '-m',
      'pip',
      'install',
      '--disable-pip-version-check',
      '--no-input',
      '--no-warn-script-location',
      '--progress-bar',
      'off',
      '--find-links',
      '/ws',
      '--find-links',
      '/ws/wheels',
      '--constraint',
      '/h/c.txt',
      '--requirement',
      '/h/r.txt',
    ]);
    expect(pipInstallArgv({ ...common, seedPip: false }).slice(0, 6)).toEqual([
      '/usr/bin/python3',
      '-m',
      'pip',
      '--python',
      '/c/b/bin/python',
      'install',
    ]);
  });
});
