// Settings of the gossip-membership service. Every setting is an EDGEFLEET_* variable (README table);
// the operator-facing ones are also command-line flags compatible with the legacy Go `cluster`
// program (`-members=…`, `--port 4001`, see flags.ts). A flag wins over its variable. Nothing here
// runs at import time: main.ts calls parseGossipConfig(process.argv.slice(2), process.env).
import { isIP } from 'node:net';
import { ConfigError, commonConfigShape, env, envName, loadEnvConfig } from '@edgefleet/service-kit';
import { z } from 'zod';
import { parseDurationMs } from './duration.js';
import { type FlagSpec, parseFlags, usage } from './flags.js';
import { combineKeySources } from './keyring/key-parse.js';
import { PROTOCOL_VERSION_DEFAULT, PROTOCOL_VERSION_MAX, PROTOCOL_VERSION_MIN } from './protocol/config.js';
import { LABEL_MAX_BYTES } from './wire/label.js';

export const SERVICE = 'gossip-membership';
/** HTTP port of the membership API (the legacy program's default). */
export const DEFAULT_PORT = 4001;
/** Gossip port, UDP and TCP (the legacy program's default; memberlist's own default is 7946). */
const DEFAULT_BIND_PORT = 8000;

/** One seed to join: `host:port`, `[v6]:port`, or `host` (then the port is our bindPort, as in Go). */
export interface SeedAddress {
  host: string;
  port: number | undefined;
}

/** Parses one `--members` entry; undefined when malformed. memberlist's `name/host:port` is accepted (the name is ignored). */
export function parseSeed(raw: string): SeedAddress | undefined {
  const s = raw.includes('/') ? raw.slice(raw.indexOf('/') + 1) : raw;
  let host: string;
  let portText: string | undefined;
  const v6 = /^\[([^\]]+)\](?::(.*))?$/.exec(s);
  if (v6) {
    host = v6[1] as string;
    portText = v6[2];
    if (isIP(host) !== 6) return undefined;
  } else if ((s.match(/:/g) ?? []).length > 1) {
    if (isIP(s) !== 6) return undefined;
    host = s;
  } else {
    const colon = s.indexOf(':');
    host = colon < 0 ? s : s.slice(0, colon);
    portText = colon < 0 ? undefined : s.slice(colon + 1);
    if (!/^[A-Za-z0-9.-]+$/.test(host) || host.startsWith('.') || host.startsWith('-')) return undefined;
  }
  if (host === '') return undefined;
  if (portText === undefined) return { host, port: undefined };
  if (!/^\d{1,5}$/.test(portText)) return undefined;
  const port = Number(portText);
  return port >= 1 && port <= 65535 ? { host, port } : undefined;
}

const ip = (what: string) =>
  z
    .string()
    .trim()
    .refine((v) => isIP(v) !== 0, `expected an IP address (${what})`);

export const ConfigSchema = z.object({
  ...commonConfigShape,
  /** HTTP port of the membership API (flag --port). */
  port: env.port().default(DEFAULT_PORT),
  /** Gossip port, UDP and TCP on the same number (flag --bindPort). 0 = any free port. */
  bindPort: env.port().default(DEFAULT_BIND_PORT),
  /** Address the gossip sockets bind (flag --bind). */
  bindAddr: ip('bind').default('0.0.0.0'),
  /**
   * Address other nodes reach us at (flag --ip). Default: the bind address, or with 0.0.0.0 the IPv4
   * of the default route's interface, never a USB/container bridge (advertise-interface.ts).
   */
  advertiseAddr: ip('advertise').optional(),
  /** Port other nodes reach us at (flag --advertisePort); default: the bound gossip port. */
  advertisePort: env.int(1, 65535).optional(),
  /** Seeds to join at start, comma-separated host:port (flag --members). */
  members: env
    .list()
    .transform((list, ctx) => {
      const out: SeedAddress[] = [];
      for (const item of list) {
        const seed = parseSeed(item);
        if (seed) out.push(seed);
        else ctx.addIssue({ code: 'custom', message: `expected host:port, got ${JSON.stringify(item)}` });
      }
      return out;
    })
    .default([]),
  /** Timing profile: memberlist's LAN, WAN or Local values (flag --profile). Local = the legacy program. */
  profile: z.enum(['lan', 'wan', 'local'], { message: 'expected lan, wan or local' }).default('lan'),
  /** This node's role in the fleet, carried in its meta (flag --role). */
  role: z.enum(['edge', 'server'], { message: 'expected edge or server' }).default('edge'),
  /** The job API address carried in meta (flag --jobApi); default http://<advertise address>:4100. */
  jobApi: z.string().trim().max(96).optional(),
  /** Base URL of the local job API that the dashboard's /v1/jobs* proxy forwards to. */
  jobApiUrl: env.url().default('http://127.0.0.1:4100'),
  /** Meta labels, detected on the device when unset. */
  arch: z.string().max(32).optional(),
  l4tVersion: z.string().max(32).optional(),
  gpu: z.string().max(48).optional(),
  /** Where the L4T release is read from (a read-only mount in a container). */
  l4tReleaseFile: z.string().min(1).default('/etc/nv_tegra_release'),
  /** Where the board model is read from (NUL-terminated text; a read-only mount in a container). */
  deviceModelFile: z.string().min(1).default('/proc/device-tree/model'),
  /** The tegrastats binary sampled for live device facts; missing = no such facts. */
  tegrastatsPath: z.string().min(1).default('/usr/bin/tegrastats'),
  /** tegrastats --interval, in ms. */
  tegrastatsIntervalMs: env.int(500, 600_000).default(5_000),
  /** The nvpmodel binary whose `-q` gives the power mode; missing = no power mode. */
  nvpmodelPath: z.string().min(1).default('/usr/sbin/nvpmodel'),
  /** A file holding the power mode (`nvpmodel -q` output or the name), read instead of running nvpmodel. */
  powerModeFile: z.string().min(1).optional(),
  /** How often the device load is read from Redis, in ms. */
  loadPollMs: env.int(100, 600_000).default(2_000),
  /** Least time between two meta re-broadcasts, in ms (each costs an incarnation bump fleet-wide). */
  metaMinIntervalMs: env.int(0, 3_600_000).default(5_000),
  /** Gossip encryption key: base64 of 16, 24 or 32 bytes, the Serf/Consul form (flag --key). */
  gossipKey: z.string().optional(),
  /** Gossip encryption key as an ASCII secret zero-padded to gossipKeyTextSize bytes, the legacy program's form (flag --key-text). */
  gossipKeyText: z.string().optional(),
  /** Size the --key-text secret is padded to: 16, 24 (default, AES-192 like the legacy program) or 32. */
  gossipKeyTextSize: z
    .enum(['16', '24', '32'], { message: 'expected 16, 24 or 32' })
    .transform(Number)
    .default(24),
  /**
   * Consul keyring file (JSON array of base64 keys, first = primary; flag --keyring-file). Once it
   * exists it is the keyring (keyring/startup-keys.ts); a missing one is created from --key/--key-text; the
   * keyring API (/v1/keyring*) rewrites it after every change.
   */
  keyringFile: z.string().optional(),
  /** memberlist GossipVerifyIncoming: refuse unencrypted gossip when a key is set (false during a rollout). */
  gossipVerifyIncoming: env.bool().default(true),
  /** memberlist GossipVerifyOutgoing: encrypt what we send when a key is set (false during a rollout). */
  gossipVerifyOutgoing: env.bool().default(true),
  /**
   * Gossip label (memberlist ≥ 0.3 Config.Label, flag --label): prefixed to every packet and every
   * stream we dial and part of the encryption's additional data; traffic with another label, or
   * none, is dropped. 1..255 bytes of UTF-8 without control characters; unset = no label (the wire
   * bytes of memberlist 0.2.2).
   */
  gossipLabel: z
    .string()
    .refine((v) => Buffer.byteLength(v, 'utf8') <= LABEL_MAX_BYTES, {
      message: `must be at most ${LABEL_MAX_BYTES} bytes (UTF-8)`,
    })
    .refine((v) => !/\p{Cc}/u.test(v), { message: 'must not contain control characters' })
    .optional(),
  /**
   * memberlist SkipInboundLabelCheck (flag --skip-inbound-label-check): inbound gossip is expected
   * WITHOUT a label header (something in front of this node, e.g. a proxy, checked and removed it)
   * and is authenticated with our --label; inbound gossip that still carries a header is dropped.
   * What we send is labelled as usual.
   */
  gossipSkipInboundLabelCheck: env.bool().default(false),
  /**
   * Accept inbound gossip without a label, and with no --label any label (flag --label-migration):
   * only while a running cluster moves on or off a label. memberlist has no such mode.
   */
  gossipLabelMigration: env.bool().default(false),
  /**
   * How long a node that died or left stays listed after the member table reaped it (departed
   * record, src/departed/). Go duration text ("24h", "90s", "1h30m"); "0" = only what the member
   * table holds, as memberlist does.
   */
  gossipDeadRetention: z
    .string()
    .transform((v, ctx) => {
      const ms = parseDurationMs(v);
      if (ms === undefined) {
        ctx.addIssue({ code: 'custom', message: 'expected a duration such as 24h, 90s, 1h30m or 0' });
        return z.NEVER;
      }
      return ms;
    })
    .default(24 * 3_600_000),
  /** Keep the departed record in this file instead of the device's Redis (devices without Redis). */
  gossipDepartedFile: z.string().trim().min(1).optional(),
  /**
   * Protocol version we speak (memberlist Config.ProtocolVersion, flag --protocol-version), 1..5.
   * 1 is for clusters of old nodes; with a key it also seals with encryption version 0 (PKCS#7
   * padding), as memberlist does.
   */
  protocolVersion: env.int(PROTOCOL_VERSION_MIN, PROTOCOL_VERSION_MAX).default(PROTOCOL_VERSION_DEFAULT),
  /** memberlist DelegateProtocolMin/Max/Version, advertised in every alive (flags --delegate-protocol-*). */
  delegateProtocolMin: env.int(0, 255).default(0),
  delegateProtocolMax: env.int(0, 255).default(0),
  delegateProtocolVersion: env.int(0, 255).default(0),
  /**
   * Reconnect to dead nodes (flag --reconnect): push/pulls with nodes that died, which heals a
   * partition longer than gossipToTheDeadTime (protocol/reconnect.ts). false = memberlist's behaviour.
   */
  gossipReconnect: env.bool().default(true),
  /** While no seed of --members answers, the join is retried this often, in ms. */
  joinRetryMs: env.int(100, 600_000).default(5_000),
  /** On SIGTERM, how long to wait for the leave to spread before closing, in ms. */
  leaveTimeoutMs: env.int(0, 60_000).default(3_000),
});
export type Config = z.infer<typeof ConfigSchema>;
/** The gossip node's settings (createGossipNode's config). */
export type GossipConfig = Config;
type ConfigKey = keyof Config;

/** Flag name → config key; the flag's variable is envName(key). */
const FLAG_KEYS: Record<string, ConfigKey> = {
  members: 'members',
  port: 'port',
  bindPort: 'bindPort',
  name: 'nodeName',
  ip: 'advertiseAddr',
  advertisePort: 'advertisePort',
  bind: 'bindAddr',
  profile: 'profile',
  role: 'role',
  jobApi: 'jobApi',
  httpHost: 'httpHost',
  logLevel: 'logLevel',
  key: 'gossipKey',
  'key-text': 'gossipKeyText',
  'keyring-file': 'keyringFile',
  label: 'gossipLabel',
  'skip-inbound-label-check': 'gossipSkipInboundLabelCheck',
  'label-migration': 'gossipLabelMigration',
  'protocol-version': 'protocolVersion',
  'delegate-protocol-min': 'delegateProtocolMin',
  'delegate-protocol-max': 'delegateProtocolMax',
  'delegate-protocol-version': 'delegateProtocolVersion',
  reconnect: 'gossipReconnect',
};

const FLAGS: FlagSpec[] = [
  { name: 'members', value: 'host:port,…', help: 'nodes to join at start', env: envName('members') },
  {
    name: 'port',
    value: 'port',
    help: 'HTTP port of the membership API',
    default: String(DEFAULT_PORT),
    env: envName('port'),
  },
  {
    name: 'bindPort',
    value: 'port',
    help: 'gossip port (UDP and TCP)',
    default: String(DEFAULT_BIND_PORT),
    env: envName('bindPort'),
  },
  { name: 'name', value: 'name', help: 'node name', default: 'the host name', env: envName('nodeName') },
  {
    name: 'ip',
    value: 'address',
    help: 'advertised address',
    default: "bind address or the default route's IPv4",
    env: envName('advertiseAddr'),
  },
  {
    name: 'advertisePort',
    value: 'port',
    help: 'advertised gossip port',
    default: 'the bind port',
    env: envName('advertisePort'),
  },
  {
    name: 'bind',
    value: 'address',
    help: 'gossip bind address',
    default: '0.0.0.0',
    env: envName('bindAddr'),
  },
  {
    name: 'profile',
    value: 'lan|wan|local',
    help: 'timing profile (local = the legacy program)',
    default: 'lan',
    env: envName('profile'),
  },
  {
    name: 'role',
    value: 'edge|server',
    help: 'role carried in node meta',
    default: 'edge',
    env: envName('role'),
  },
  {
    name: 'jobApi',
    value: 'url',
    help: 'job API address carried in node meta',
    default: 'http://<ip>:4100',
    env: envName('jobApi'),
  },
  {
    name: 'httpHost',
    value: 'address',
    help: 'HTTP bind address',
    default: '127.0.0.1',
    env: envName('httpHost'),
  },
  { name: 'logLevel', value: 'level', help: 'log level', default: 'info', env: envName('logLevel') },
  {
    name: 'key',
    value: 'base64',
    help: 'gossip encryption key, 16/24/32 bytes in base64',
    env: envName('gossipKey'),
  },
  {
    name: 'key-text',
    value: 'secret',
    help: 'gossip encryption key as ASCII text, zero-padded to 24 bytes (the legacy form)',
    env: envName('gossipKeyText'),
  },
  {
    name: 'keyring-file',
    value: 'path',
    help: 'keyring file: JSON array of base64 keys, the first one encrypts (kept up to date by /v1/keyring)',
    env: envName('keyringFile'),
  },
  {
    name: 'label',
    value: 'name',
    help: 'gossip label (≤ 255 bytes): nodes with another label, or none, are not members',
    env: envName('gossipLabel'),
  },
  {
    name: 'skip-inbound-label-check',
    bool: true,
    help: "memberlist's SkipInboundLabelCheck: inbound gossip comes without a label header (removed in front of us) and counts as --label; a labelled one is dropped",
    default: 'false',
    env: envName('gossipSkipInboundLabelCheck'),
  },
  {
    name: 'label-migration',
    bool: true,
    help: 'also accept gossip without a label (and, without --label, any label) while moving a cluster on or off a label',
    default: 'false',
    env: envName('gossipLabelMigration'),
  },
  {
    name: 'protocol-version',
    value: '1-5',
    help: 'memberlist protocol version to speak (1 also seals with encryption version 0)',
    default: String(PROTOCOL_VERSION_DEFAULT),
    env: envName('protocolVersion'),
  },
  {
    name: 'delegate-protocol-min',
    value: 'n',
    help: 'delegate protocol min advertised in Vsn (memberlist DelegateProtocolMin)',
    default: '0',
    env: envName('delegateProtocolMin'),
  },
  {
    name: 'delegate-protocol-max',
    value: 'n',
    help: 'delegate protocol max advertised in Vsn (memberlist DelegateProtocolMax)',
    default: '0',
    env: envName('delegateProtocolMax'),
  },
  {
    name: 'delegate-protocol-version',
    value: 'n',
    help: 'delegate protocol version advertised in Vsn (memberlist DelegateProtocolVersion)',
    default: '0',
    env: envName('delegateProtocolVersion'),
  },
  {
    name: 'reconnect',
    bool: true,
    help: 'push/pull with dead nodes so that long partitions heal (false = memberlist)',
    default: 'true',
    env: envName('gossipReconnect'),
  },
];

export const usageText = (): string => usage(SERVICE, FLAGS);

/** `--help` was given: main prints usage and exits 0. */
export class HelpRequested extends Error {
  readonly code = 'HELP';
}

/**
 * Reads flags (argv without node and script) over variables (env). Throws ConfigError naming the
 * flag (`-port: expected an integer`) or the variable, or HelpRequested.
 */
export function loadConfig(
  source: Record<string, string | undefined> = process.env,
  argv: readonly string[] = [],
): Config {
  const parsed = parseFlags(argv, FLAGS);
  if (parsed.kind === 'help') throw new HelpRequested('help requested');
  if (parsed.kind === 'error') throw new ConfigError([{ variable: 'flags', message: parsed.message }]);
  const merged: Record<string, string | undefined> = { ...source };
  const fromFlag = new Map<string, string>();
  for (const [flag, value] of parsed.values) {
    const key = FLAG_KEYS[flag] as ConfigKey;
    // An empty variable means "unset"; an empty flag is a mistake (except an empty seed list).
    if (value.trim() === '' && key !== 'members')
      throw new ConfigError([{ variable: `-${flag}`, message: 'must not be empty' }]);
    merged[envName(key)] = value;
    fromFlag.set(envName(key), `-${flag}`);
  }
  const named = (variable: string) => fromFlag.get(variable) ?? variable;
  let config: Config;
  try {
    config = loadEnvConfig(ConfigSchema, merged);
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    throw new ConfigError(e.problems.map((p) => ({ ...p, variable: named(p.variable) })));
  }
  // Keys are checked here (the keyring file is read at start); an error never echoes a key.
  const keys = combineKeySources({
    key: config.gossipKey,
    keyText: config.gossipKeyText,
    keyTextSize: config.gossipKeyTextSize,
  });
  if (!keys.ok) {
    const variable = keys.detail.startsWith('--key-text') ? envName('gossipKeyText') : envName('gossipKey');
    throw new ConfigError([
      { variable: named(variable), message: keys.detail.replace(/^--key(-text)?: /, '') },
    ]);
  }
  return config;
}

/**
 * The config from a command line (argv without node and the script) and an environment, for any
 * program that builds a node (main.ts, a process hosting several services). Pure: throws ConfigError
 * or HelpRequested, never exits.
 */
export const parseGossipConfig = (argv: readonly string[], env: NodeJS.ProcessEnv): GossipConfig =>
  loadConfig(env, argv);
