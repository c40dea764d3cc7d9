// Configuration from flags and EDGEFLEET_* variables: defaults, precedence, every malformed value.
import { ConfigError } from '@edgefleet/service-kit';
import { describe, expect, it } from 'vitest';
import { HelpRequested, loadConfig, parseSeed, usageText } from '../src/config.js';

const fails = (env: Record<string, string>, argv: string[] = []): string => {
  try {
    loadConfig(env, argv);
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return (e as Error).message;
  }
  throw new Error('expected a ConfigError');
};

describe('loadConfig', () => {
  it('has the legacy defaults and the lan profile', () => {
    const c = loadConfig({}, []);
    expect(c).toMatchObject({
      port: 4001,
      bindPort: 8000,
      bindAddr: '0.0.0.0',
      members: [],
      profile: 'lan',
      role: 'edge',
      leaveTimeoutMs: 3000,
    });
    expect(c.advertiseAddr).toBeUndefined();
    expect(c.nodeName).toBeUndefined();
  });

  it('reads the legacy flags in Go style, single or double dash, = or space', () => {
    const c = loadConfig({}, [
      '-members=10.0.0.1:8000,10.0.0.2:8001',
      '--port',
      '4005',
      '-bindPort=8100',
      '--name=jetson-7',
      '-ip',
      '10.0.0.9',
      '--bind=127.0.0.1',
      '-profile=local',
    ]);
    expect(c).toMatchObject({
      members: [
        { host: '10.0.0.1', port: 8000 },
        { host: '10.0.0.2', port: 8001 },
      ],
      port: 4005,
      bindPort: 8100,
      nodeName: 'jetson-7',
      advertiseAddr: '10.0.0.9',
      bindAddr: '127.0.0.1',
      profile: 'local',
    });
  });

  it('reads the EDGEFLEET_* equivalents, and a flag wins over its variable', () => {
    const env = {
      EDGEFLEET_MEMBERS: 'a.example:1',
      EDGEFLEET_PORT: '4100',
      EDGEFLEET_BIND_PORT: '9000',
      EDGEFLEET_NODE_NAME: 'from-env',
      EDGEFLEET_ADVERTISE_ADDR: '192.168.1.2',
      EDGEFLEET_BIND_ADDR: '192.168.1.2',
      EDGEFLEET_PROFILE: 'wan',
    };
    expect(loadConfig(env, [])).toMatchObject({
      members: [{ host: 'a.example', port: 1 }],
      port: 4100,
      bindPort: 9000,
      nodeName: 'from-env',
      advertiseAddr: '192.168.1.2',
      profile: 'wan',
    });
    expect(loadConfig(env, ['-port=4200', '-profile', 'local', '-name=flag'])).toMatchObject({
      port: 4200,
      profile: 'local',
      nodeName: 'flag',
      bindPort: 9000,
    });
  });

  it('accepts an empty members list and blanks in it', () => {
    expect(loadConfig({}, ['-members=']).members).toEqual([]);
    expect(loadConfig({}, ['-members= a:1 ,, b ']).members).toEqual([
      { host: 'a', port: 1 },
      { host: 'b', port: undefined },
    ]);
  });

  it.each([
    [['-port=eighty'], /-port: expected an integer \(got "eighty"\)/],
    [['-port=70000'], /-port: .*65535/],
    [['-port', '-1'], /-port: /],
    [['-bindPort=1.5'], /-bindPort: expected an integer/],
    [['-ip=not-an-ip'], /-ip: expected an IP address/],
    [['-ip=10.0.0.256'], /-ip: expected an IP address/],
    [['-bind=localhost'], /-bind: expected an IP address/],
    [['-profile=fast'], /-profile: expected lan, wan or local/],
    [['-role=worker'], /-role: expected edge or server/],
    [['-members=a:1,:2'], /-members: expected host:port, got ":2"/],
    [['-members=a:b'], /-members: expected host:port, got "a:b"/],
    [['-members=a:0'], /-members: expected host:port/],
    [['-members=a:65536'], /-members: expected host:port/],
    [['-members=[::1'], /-members: expected host:port/],
    [['-members=a b:1'], /-members: expected host:port/],
    [['-name='], /-name: /],
    [['-advertisePort=0'], /-advertisePort: /],
    [['-logLevel=loud'], /-logLevel: /],
    [['-nope=1'], /flags: flag provided but not defined: -nope/],
    [['-port'], /flags: flag needs an argument: -port/],
    [['stray'], /flags: unexpected argument: stray/],
  ])('rejects %j naming the flag', (argv, pattern) => {
    expect(fails({}, argv)).toMatch(pattern);
  });

  it('names the variable when the bad value came from the environment', () => {
    expect(fails({ EDGEFLEET_BIND_PORT: 'x' })).toMatch(/EDGEFLEET_BIND_PORT: expected an integer/);
    expect(fails({ EDGEFLEET_PROFILE: 'x' })).toMatch(/EDGEFLEET_PROFILE: expected lan, wan or local/);
  });

  it('reports help as its own outcome', () => {
    expect(() => loadConfig({}, ['--help'])).toThrow(HelpRequested);
    expect(usageText()).toMatch(/-members host:port,…/);
    expect(usageText()).toMatch(/-bindPort port\n.*default 8000, env EDGEFLEET_BIND_PORT/);
  });
});

describe('gossip keys', () => {
  const b64 = (n: number) => Buffer.alloc(n, 7).toString('base64');
  it('accepts a base64 key of 16, 24 or 32 bytes, and the legacy key text', () => {
    for (const n of [16, 24, 32]) expect(loadConfig({}, [`-key=${b64(n)}`]).gossipKey).toBe(b64(n));
    expect(loadConfig({}, ['--key-text', 'clustersecret'])).toMatchObject({
      gossipKeyText: 'clustersecret',
      gossipKeyTextSize: 24,
    });
    expect(
      loadConfig({ EDGEFLEET_GOSSIP_KEY_TEXT_SIZE: '32' }, ['--key-text=x'.padEnd(40, 'y')])
        .gossipKeyTextSize,
    ).toBe(32);
    expect(loadConfig({}, []).gossipVerifyIncoming).toBe(true);
    expect(loadConfig({ EDGEFLEET_GOSSIP_VERIFY_INCOMING: 'false' }, []).gossipVerifyIncoming).toBe(false);
  });

  it.each([
    [['-key=not base64!'], /-key: the key is not valid standard base64/],
    [[`-key=${b64(20)}`], /-key: the key decodes to 20 bytes; expected 16, 24 or 32/],
    [['--key-text=this-secret-is-too-long-for-24'], /-key-text: the key text is 30 characters; at most 24/],
    [['--key-text=caf\u00e9'], /-key-text: the key text has a non-printable or non-ASCII character/],
    [['--keyring-file='], /-keyring-file: must not be empty/],
  ])('refuses %j without echoing the key', (argv, pattern) => {
    const message = fails({}, argv);
    expect(message).toMatch(pattern);
    expect(message).not.toContain('too-long-for');
    expect(message).not.toContain('base64!');
  });

  it('names the variable for a bad key from the environment, without its value', () => {
    const message = fails({ EDGEFLEET_GOSSIP_KEY: 'c2VjcmV0' });
    expect(message).toMatch(/EDGEFLEET_GOSSIP_KEY: the key decodes to 6 bytes/);
    expect(message).not.toContain('c2VjcmV0');
    expect(fails({ EDGEFLEET_GOSSIP_KEY_TEXT_SIZE: '20' })).toMatch(
      /EDGEFLEET_GOSSIP_KEY_TEXT_SIZE: expected 16, 24 or 32/,
    );
  });
});

describe('gossip label', () => {
  it('reads --label and --skip-inbound-label-check in every spelling, and their variables', () => {
    expect(loadConfig({}, [])).toMatchObject({ gossipSkipInboundLabelCheck: false });
    expect(loadConfig({}, []).gossipLabel).toBeUndefined();
    expect(loadConfig({}, ['--label', 'fleet-a']).gossipLabel).toBe('fleet-a');
    expect(loadConfig({}, ['-label=fleet-a', '-skip-inbound-label-check'])).toMatchObject({
      gossipLabel: 'fleet-a',
      gossipSkipInboundLabelCheck: true,
    });
    expect(loadConfig({}, ['--skip-inbound-label-check=false']).gossipSkipInboundLabelCheck).toBe(false);
    const env = { EDGEFLEET_GOSSIP_LABEL: 'from-env', EDGEFLEET_GOSSIP_SKIP_INBOUND_LABEL_CHECK: 'true' };
    expect(loadConfig(env, [])).toMatchObject({ gossipLabel: 'from-env', gossipSkipInboundLabelCheck: true });
    expect(loadConfig(env, ['--label=flag']).gossipLabel).toBe('flag');
    // 255 bytes is the most; UTF-8 counts bytes, not characters.
    expect(loadConfig({}, [`--label=${'x'.repeat(255)}`]).gossipLabel).toHaveLength(255);
    expect(loadConfig({}, [`--label=${'é'.repeat(127)}`]).gossipLabel).toHaveLength(127);
  });

  it.each([
    [[`--label=${'x'.repeat(256)}`], /-label: must be at most 255 bytes/],
    [[`--label=${'é'.repeat(128)}`], /-label: must be at most 255 bytes/],
    [['--label='], /-label: must not be empty/],
    [['--label=a\tb'], /-label: must not contain control characters/],
    [['--label'], /flag needs an argument: -label/],
    [['--skip-inbound-label-check=maybe'], /invalid boolean value "maybe" for -skip-inbound-label-check/],
  ])('refuses %j naming the flag', (argv, pattern) => {
    expect(fails({}, argv)).toMatch(pattern);
  });

  it('names the variable for a bad label from the environment', () => {
    expect(fails({ EDGEFLEET_GOSSIP_LABEL: 'y'.repeat(300) })).toMatch(
      /EDGEFLEET_GOSSIP_LABEL: must be at most 255 bytes/,
    );
    expect(fails({ EDGEFLEET_GOSSIP_SKIP_INBOUND_LABEL_CHECK: 'sure' })).toMatch(
      /EDGEFLEET_GOSSIP_SKIP_INBOUND_LABEL_CHECK: expected true or false/,
    );
  });

  it('reads the dead retention as a Go duration (default 24 h, 0 = as memberlist) and names it when unparsable', () => {
    expect(loadConfig({}, []).gossipDeadRetention).toBe(24 * 3_600_000);
    expect(loadConfig({ EDGEFLEET_GOSSIP_DEAD_RETENTION: '0' }, []).gossipDeadRetention).toBe(0);
    expect(loadConfig({ EDGEFLEET_GOSSIP_DEAD_RETENTION: '1h30m' }, []).gossipDeadRetention).toBe(5_400_000);
    expect(loadConfig({ EDGEFLEET_GOSSIP_DEAD_RETENTION: '250ms' }, []).gossipDeadRetention).toBe(250);
    for (const bad of ['a day', '-1h', '24', '1d', '1h 30m'])
      expect(fails({ EDGEFLEET_GOSSIP_DEAD_RETENTION: bad })).toMatch(
        /EDGEFLEET_GOSSIP_DEAD_RETENTION: expected a duration/,
      );
  });

  it('lists both flags in the usage text with their variables', () => {
    expect(usageText()).toMatch(/-label name\n.*env EDGEFLEET_GOSSIP_LABEL/);
    expect(usageText()).toMatch(/-skip-inbound-label-check\n.*EDGEFLEET_GOSSIP_SKIP_INBOUND_LABEL_CHECK/);
  });
});

describe('parseSeed', () => {
  it.each([
    ['10.0.0.1:8000', { host: '10.0.0.1', port: 8000 }],
    ['node-a.local:7946', { host: 'node-a.local', port: 7946 }],
    ['10.0.0.1', { host: '10.0.0.1', port: undefined }],
    ['[::1]:7946', { host: '::1', port: 7946 }],
    ['[fe80::1]', { host: 'fe80::1', port: undefined }],
    ['::1', { host: '::1', port: undefined }],
    ['name/10.0.0.1:8000', { host: '10.0.0.1', port: 8000 }],
  ])('%s', (raw, expected) => {
    expect(parseSeed(raw)).toEqual(expected);
  });
  it.each(['', ':1', 'a:', 'a:x', 'a:1:2:3', '[::1]:x', '[zz]:1', 'a_b:1', '-a:1', 'a:123456'])(
    'rejects %j',
    (raw) => {
      expect(parseSeed(raw)).toBeUndefined();
    },
  );
});
