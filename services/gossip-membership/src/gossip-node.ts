// The gossip-membership service as one object (service-kit's ServiceHandle): what main.ts, the tests,
// the benchmarks and a process hosting several services all start and stop.
//
// createGossipNode only builds: logger, metrics, the Redis client (when none is given), the departed
// store and the HTTP routes. start() does the I/O in the order the legacy program did: keyring file,
// gossip sockets (prints `Local member <ip>:<port>`), `Listening on :<port>`, HTTP listen, the
// tegrastats and meta loops, then the join in the background. stop() leaves the cluster (bounded by
// leaveTimeoutMs) and closes in the reverse order of start-up, within one deadline (closeAll).
// Nothing here touches the process (no signal handlers, no exit): main.ts does that.
import { writeSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { hostname, networkInterfaces } from 'node:os';
import { redisNames } from '@edgefleet/contracts';
import {
  type Closer,
  closeAll,
  closeRedis,
  createMetricsRegistry,
  createRedis,
  redisReachable,
  type ServiceDeps,
  type ServiceHandle,
  serviceLogger,
} from '@edgefleet/service-kit';
import type { Logger } from 'pino';
import { ADVERTISE_REASON_TEXT, chooseAdvertiseAddr } from './advertise.js';
import { readDefaultRoutes } from './advertise-routes.js';
import { buildApp } from './app.js';
import { type GossipConfig, SERVICE } from './config.js';
import { registerDashboard } from './dashboard-server/index.js';
import { DepartedMembers } from './departed/departed-members.js';
import { fileDepartedStore, redisDepartedStore } from './departed/departed-store.js';
import { withDeparted } from './departed/departed-view.js';
import { Keyring } from './keyring/keyring.js';
import { KeyringAdmin } from './keyring/keyring-admin.js';
import { readKeyringFile, writeKeyringFile } from './keyring/keyring-file.js';
import { startupKeys } from './keyring/startup-keys.js';
import type { MembershipView } from './membership-view.js';
import { detectDeviceLabels } from './meta/device-labels.js';
import { createGossipMetrics } from './metrics.js';
import { protocolSettings } from './protocol-settings.js';
import { registerReconnectMetrics } from './reconnect-metrics.js';
import { readDeviceLoad } from './runtime/device-load.js';
import { Driver } from './runtime/driver.js';
import { MetaRefresher } from './runtime/meta-refresher.js';
import { TegrastatsSampler } from './runtime/tegrastats-sampler.js';
import { createMemberlistCodec } from './runtime/wire-memberlist.js';
import { VERSION } from './version.js';

export interface GossipDeps extends ServiceDeps {
  /**
   * Where the legacy program's two plain lines go (`Local member <ip>:<port>`, `Listening on :<port>`).
   * Default: written synchronously to fd 1, the way pino writes its JSON lines, so they come out in
   * program order (process.stdout.write may still be queued when pino writes).
   */
  legacyLine?: (text: string) => void;
  /**
   * Folder the dashboard page is served from. Default: dist/dashboard/ next to the built code
   * (dashboard-server/index.ts); a program running from src/ (tests) passes its own.
   */
  dashboardDir?: string;
}

const stdoutLine = (text: string) => writeSync(1, `${text}\n`);

/**
 * The gossip keyring from --key, --key-text and --keyring-file (empty = plaintext cluster). An
 * existing keyring file is the keyring (keyring/startup-keys.ts); a missing one is created from the flags.
 */
async function loadKeyring(config: GossipConfig, logger: Logger): Promise<Keyring> {
  const file = config.keyringFile;
  const keys = startupKeys(
    { key: config.gossipKey, keyText: config.gossipKeyText, keyTextSize: config.gossipKeyTextSize },
    file !== undefined,
    file === undefined ? undefined : await readKeyringFile(file),
  );
  if (!keys.ok) throw new Error(`gossip keys: ${keys.detail}`);
  if (keys.ignoredFlags)
    logger.warn(
      { keyringFile: file },
      'the keyring file is the keyring: --key / --key-text not in it are ignored',
    );
  if (keys.create && file !== undefined) {
    await writeKeyringFile(file, keys.keys);
    logger.info({ keyringFile: file }, 'keyring file created from the given key');
  }
  const ring = Keyring.create(keys.keys);
  if (!ring.ok) throw new Error(`gossip keys: ${ring.detail}`);
  return ring.keyring;
}

/** Builds a gossip-membership node; nothing is bound until start(). */
export async function createGossipNode(config: GossipConfig, deps: GossipDeps = {}): Promise<ServiceHandle> {
  const logger = serviceLogger(deps, SERVICE, config.logLevel);
  const legacyLine = deps.legacyLine ?? stdoutLine;
  // Event-loop lag sampled every second instead of prom-client's 10 ms: that timer alone cost ~0.2
  // CPU s/min, more than the whole protocol of an idle node in a 10-node cluster (bench/cluster.ts).
  // A stall still shows in full (it delays the pending sample), only with fewer samples.
  const registry = deps.registry ?? createMetricsRegistry(SERVICE, { eventLoopMonitoringPrecision: 1000 });
  let driver: Driver | undefined;
  let view: MembershipView | undefined;
  let keyringAdmin: KeyringAdmin | undefined;
  let sampler: TegrastatsSampler | undefined;
  let refresher: MetaRefresher | undefined;
  const metrics = createGossipMetrics(registry, () => driver);
  registerReconnectMetrics(registry, () => driver?.engine);
  const ownRedis = deps.redis === undefined;
  const redis =
    deps.redis ??
    createRedis({
      url: config.redisUrl,
      name: `${SERVICE}:load`,
      logger,
      ...(config.redisPassword ? { password: config.redisPassword } : {}),
    });
  const nodeName = config.nodeName ?? hostname();
  const departed = new DepartedMembers({
    selfName: nodeName,
    retentionMs: config.gossipDeadRetention,
    store: config.gossipDepartedFile
      ? fileDepartedStore(config.gossipDepartedFile)
      : redisDepartedStore(redis, redisNames(config.redisPrefix).departedMembers),
    logger,
    registry,
    active: (name) => ['alive', 'suspect'].includes(driver?.engine.node(name)?.state ?? ''),
  });

  const { app, requireToken } = buildApp({
    logger,
    host: config.httpHost,
    registry,
    view: () => view,
    keyring: () => keyringAdmin,
    checks: [{ name: 'redis', check: () => redisReachable(redis) }],
    ...(config.apiToken ? { apiToken: config.apiToken } : {}),
  });
  registerDashboard(app, {
    view: () => view,
    // The feed subscribes on its first client, which needs a view, so the driver exists by then.
    events: { on: (listener) => driver?.on(listener) ?? (() => {}) },
    jobApiUrl: config.jobApiUrl,
    requireToken,
    ...(deps.dashboardDir !== undefined ? { staticDir: deps.dashboardDir } : {}),
  });

  let started = false;
  async function start(): Promise<void> {
    if (started) throw new Error(`${SERVICE}: already started`);
    started = true;
    const advertise = chooseAdvertiseAddr(
      config.bindAddr,
      config.advertiseAddr,
      networkInterfaces(),
      config.advertiseAddr ? [] : readDefaultRoutes(),
    );
    const loadKey = redisNames(config.redisPrefix).deviceLoad;
    const hw = new TegrastatsSampler({
      tegrastatsPath: config.tegrastatsPath,
      intervalMs: config.tegrastatsIntervalMs,
      nvpmodelPath: config.nvpmodelPath,
      ...(config.powerModeFile ? { powerModeFile: config.powerModeFile } : {}),
      logger,
    });
    sampler = hw;
    const meta = new MetaRefresher({
      staticMeta: {
        role: config.role,
        api: config.jobApi ?? `http://${advertise.ip}:4100`,
        version: VERSION,
        labels: detectDeviceLabels(
          {
            ...(config.arch ? { arch: config.arch } : {}),
            ...(config.l4tVersion ? { l4t: config.l4tVersion } : {}),
            ...(config.gpu ? { gpu: config.gpu } : {}),
          },
          { l4tReleaseFile: config.l4tReleaseFile, modelFile: config.deviceModelFile },
        ),
      },
      readLoad: () => readDeviceLoad(redis, loadKey),
      readHw: () => hw.current(),
      publish: (m) => driver?.updateMeta(m),
      pollMs: config.loadPollMs,
      minIntervalMs: config.metaMinIntervalMs,
      logger,
    });
    refresher = meta;
    void departed.load();
    const protocol = protocolSettings({
      profile: config.profile,
      protocolVersion: config.protocolVersion,
      delegateProtocolMin: config.delegateProtocolMin,
      delegateProtocolMax: config.delegateProtocolMax,
      delegateProtocolVersion: config.delegateProtocolVersion,
      reconnect: config.gossipReconnect,
    });
    const keyring = await loadKeyring(config, logger);
    const keyringFile = config.keyringFile;
    const admin = new KeyringAdmin({
      keyring,
      logger,
      ...(keyringFile !== undefined ? { persist: (keys) => writeKeyringFile(keyringFile, keys) } : {}),
    });
    const gossip = await Driver.start({
      name: nodeName,
      bindAddr: config.bindAddr,
      bindPort: config.bindPort,
      advertiseAddr: advertise.ip,
      ...(config.advertisePort ? { advertisePort: config.advertisePort } : {}),
      config: protocol,
      codec: createMemberlistCodec(protocol, {
        keyring,
        verifyIncoming: config.gossipVerifyIncoming,
        verifyOutgoing: config.gossipVerifyOutgoing,
        ...(config.gossipLabel ? { label: config.gossipLabel } : {}),
        skipInboundLabelCheck: config.gossipSkipInboundLabelCheck,
        labelMigration: config.gossipLabelMigration,
      }),
      leaveTimeoutMs: config.leaveTimeoutMs,
      logger,
      meta: meta.initialMeta(),
      metrics,
      delegate: {
        localState: () => departed.localState(),
        mergeRemoteState: (b) => departed.mergeRemoteState(b),
        notify: (e) => departed.notify(e),
      },
    });
    driver = gossip;
    keyringAdmin = admin;
    view = withDeparted(gossip, departed);
    legacyLine(`Local member ${gossip.advertise.ip}:${gossip.advertise.port}`);
    // The legacy line goes out before fastify's own "Server listening" JSON line.
    legacyLine(`Listening on :${config.port}`);
    // After the legacy lines (they come first, see the header).
    logger[advertise.reason === 'loopback-fallback' ? 'warn' : 'info'](
      { advertise },
      `advertising ${advertise.ip}: ${ADVERTISE_REASON_TEXT[advertise.reason]}`,
    );
    await app.listen({ host: config.httpHost, port: config.port });
    logger.info(
      {
        name: gossip.self().name,
        gossip: gossip.advertise,
        http: config.port,
        profile: config.profile,
        encrypted: keyring.enabled,
        label: config.gossipLabel ?? null,
      },
      `${SERVICE} listening`,
    );
    hw.start();
    meta.start();

    // Joining runs in the background: seeds that boot after us are retried, HTTP already answers.
    if (config.members.length > 0)
      void gossip
        .joinWithRetry(config.members, config.joinRetryMs, (attempt) =>
          logger.warn(
            { members: config.members, attempt, retryMs: config.joinRetryMs },
            'no member answered; retrying',
          ),
        )
        .then((joined) => {
          if (joined > 0) logger.info({ joined, members: gossip.members().length }, 'joined the cluster');
        });
  }

  function stop(deadlineMs = config.shutdownTimeoutMs): Promise<boolean> {
    // The reverse of start-up, the leave first so that peers hear it while we still answer.
    const closers: Closer[] = [
      { name: 'gossip-leave', close: () => driver?.leave(config.leaveTimeoutMs) },
      { name: 'meta', close: () => refresher?.stop() },
      { name: 'tegrastats', close: () => sampler?.stop() },
      { name: 'http', close: () => app.close() },
      { name: 'gossip', close: () => driver?.close() },
      { name: 'departed', close: () => departed.close() },
      ...(ownRedis ? [{ name: 'redis', close: () => closeRedis(redis) }] : []),
    ];
    return closeAll(closers, deadlineMs, logger);
  }

  return {
    service: SERVICE,
    logger,
    app,
    start,
    stop,
    port: () => (app.server.address() as AddressInfo | null)?.port ?? config.port,
  };
}
