// The environment pip runs with, and its argv. Pure.
//
// pip inherits nothing from the executor: the executor's environment holds AWS credentials, the Redis
// password and EDGEFLEET_* settings, and a requirements file (or a build backend's setup.py) can read
// its environment. Only PATH, LANG, a throwaway HOME, the proxy variables the operator configured and
// the PIP_* variables set here reach it. PIP_CONFIG_FILE=/dev/null makes pip skip every config file
// (/etc/pip.conf, ~/.config/pip): the device's index settings come from EDGEFLEET_PIP_* only.
//
// Proxy credentials (`HTTPS_PROXY=http://user:password@proxy:3128`): pip runs as the job user, and
// unless the device is binary-only (EDGEFLEET_PIP_ONLY_BINARY) an sdist's setup.py runs inside that
// install with pip's environment, where it can read them. So without binary-only the proxy variables
// reach pip with their user-info removed (the proxy must then accept the device by address), and the
// executor says so once at start (proxyCredentialsWithheld); with binary-only no job code runs during
// the install and they pass whole.

export interface PipSettings {
  /** EDGEFLEET_PIP_INDEX_URL: replaces PyPI. */
  indexUrl?: string | undefined;
  /** EDGEFLEET_PIP_EXTRA_INDEX_URLS. */
  extraIndexUrls: string[];
  /** EDGEFLEET_PIP_NO_INDEX: no index at all (only find-links and direct URLs). */
  noIndex: boolean;
  /** EDGEFLEET_PIP_FIND_LINKS: device-wide wheel folders or pages. */
  findLinks: string[];
  /** EDGEFLEET_PIP_ONLY_BINARY: refuse sdists, so no job-supplied build code runs during install. */
  onlyBinary: boolean;
  /** Names of proxy variables passed through when set (HTTP_PROXY, HTTPS_PROXY, NO_PROXY, lower case). */
  proxyVars: string[];
}

export const DEFAULT_PROXY_VARS = [
  'HTTP_PROXY',
  'HTTPS_PROXY',
  'NO_PROXY',
  'http_proxy',
  'https_proxy',
  'no_proxy',
];
/** PATH given to pip when the executor's own is unset. */
const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** The whole environment of a pip process. */
/** A proxy URL without its user-info (`http://u:p@h:3128` → `http://h:3128`); other text unchanged. */
function withoutUserinfo(value: string): string {
  return value.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^\s/?#]*@/i, '$1');
}

/** Names of the proxy variables whose credentials pip will not get (see the header). */
export function proxyCredentialsWithheld(
  source: Record<string, string | undefined>,
  settings: Pick<PipSettings, 'proxyVars' | 'onlyBinary'>,
): string[] {
  if (settings.onlyBinary) return [];
  return settings.proxyVars.filter((n) => {
    const v = source[n];
    return v !== undefined && v !== '' && withoutUserinfo(v) !== v;
  });
}

export function pipEnvironment(
  source: Record<string, string | undefined>,
  home: string,
  settings: Pick<PipSettings, 'proxyVars'> & { onlyBinary?: boolean },
): Record<string, string> {
  const env: Record<string, string> = {
    PATH: source.PATH ?? DEFAULT_PATH,
    HOME: home,
    LANG: source.LANG ?? 'C.UTF-8',
    PIP_CONFIG_FILE: '/dev/null',
    PIP_DISABLE_PIP_VERSION_CHECK: '1',
    PIP_NO_INPUT: '1',
    PIP_CACHE_DIR: `${home}/pip-cache`,
    PYTHONNOUSERSITE: '1',
  };
  for (const name of settings.proxyVars) {
    const v = source[name];
    if (v !== undefined && v !== '') env[name] = settings.onlyBinary ? v : withoutUserinfo(v);
  }
  return env;
}

/** Device-level index arguments for `pip install`. */
export function indexArgs(s: PipSettings): string[] {
  const args: string[] = [];
  if (s.noIndex) args.push('--no-index');
  else {
    if (s.indexUrl) args.push('--index-url', s.indexUrl);
    for (const u of s.extraIndexUrls) args.push('--extra-index-url', u);
  }
  for (const f of s.findLinks) args.push('--find-links', f);
  if (s.onlyBinary) args.push('--only-binary', ':all:');
  return args;
}

/**
 * argv of the install step (program first). `pipPython` runs pip: the venv's own python when it was
 * seeded with pip, else the host interpreter driving the venv through `--python`.
 */
export function pipInstallArgv(opts: {
  venvPython: string;
  hostPython: string;
  seedPip: boolean;
  settings: PipSettings;
  requirementsFile?: string | undefined;
  constraintsFile?: string | undefined;
  findLinks: string[];
}): string[] {
  const head = opts.seedPip
    ? [opts.venvPython, '-m', 'pip']
    : [opts.hostPython, '-m', 'pip', '--python', opts.venvPython];
  const argv = [
    ...head,
    'install',
    '--disable-pip-version-check',
    '--no-input',
    '--no-warn-script-location',
    '--progress-bar',
    'off',
    ...indexArgs(opts.settings),
  ];
  for (const f of opts.findLinks) argv.push('--find-links', f);
  if (opts.constraintsFile) argv.push('--constraint', opts.constraintsFile);
  if (opts.requirementsFile) argv.push('--requirement', opts.requirementsFile);
  return argv;
}
