#!/usr/bin/env node
// Wiring only: flags/env → config → logger → gossip driver → HTTP → meta refresher → join → shutdown.
// Prints the legacy program's two plain lines (`Local member <ip>:<port>`, `Listening on :<port>`)
// before any JSON log line. SIGTERM: leave the cluster (bounded), then close in reverse order.
import { writeSync } from 'node:fs';
import { hostname, networkInterfaces } from 'node:os';
import { redisNames } from '@edgefleet/contracts';
import {
  ConfigError,
  closeRedis,
  createLogger,
  createMetricsRegistry,
  createRedis,
  EXIT_CONFIG,
  installShutdown,
  redisReachable,
  runService,
} from '@edgefleet/service-kit';
import type { Logger } from 'pino';
import { ADVERTISE_REASON_TEXT, chooseAdvertiseAddr } from './advertise.js';
import { readDefaultRoutes } from './advertise-routes.js';
import { buildApp } from './app.js';
import { type Config, HelpRequested, loadConfig, SERVICE, usageText } from './config.js';
import { registerDashboard } from './dashboard-server/index.js';
import { DepartedMembers } from './departed/departed-members.js';
import { fileDepartedStore, redisDepartedStore } from './departed/departed-store.js';
import { withDeparted } from './departed/departed-view.js';
import { KeyringAdmin } from './keyring-admin.js';
import { readKeyringFile, startupKeys, writeKeyringFile } from './keyring-file.js';
import { detectDeviceLabels } from './meta/device-labels.js';
import { createGossipMetrics } from './metrics.js';
import { Keyring } from './protocol/keyring.js';
import { protocolSettings } from './protocol-settings.js';
import { registerReconnectMetrics } from './reconnect-metrics.js';
import { readDeviceLoad } from './runtime/device-load.js';
import { Driver } from './runtime/driver.js';
import { MetaRefresher } from './runtime/meta-refresher.js';
import { TegrastatsSampler } from './runtime/tegrastats-sampler.js';
import { createMemberlistCodec } from './runtime/wire-memberlist.js';
import { VERSION } from './version.js';

/**
 * The legacy program's plain stdout lines. Written synchronously to fd 1, the way pino writes its JSON
 * lines, so they come out in program order (process.stdout.write may still be queued when pino writes).
 */
const legacyLine = (text: string) => writeSync(1, `${text}\n`);

function configFromProcess(): Config {
  try {
    return loadConfig(process.env, process.argv.slice(2));
  } catch (e) {
    if (e instanceof HelpRequested) {
      process.stdout.write(usageText());
      process.exit(0);
    }
    if (e instanceof ConfigError) {
      process.stderr.write(`${SERVICE}: ${e.message}\n${usageText()}`);
      process.exit(EXIT_CONFIG);
    }
    throw e;
  }
}

/**
 * The gossip keyring from --key, --key-text and --keyring-file (empty = plaintext cluster). An
 * existing keyring file is the keyring (keyring-file.ts); a missing one is created from the flags.
 */
async function loadKeyring(config: Config, logger: Logger): Promise<Keyring> {
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

async function start(config: Config): Promise<void> {
  const logger = createLogger({ service: SERVICE, level: config.logLevel });
  const advertise = chooseAdvertiseAddr(
    config.bindAddr,
    config.advertiseAddr,
    networkInterfaces(),
    config.advertiseAddr ? [] : readDefaultRoutes(),
  );
  // Event-loop lag sampled every second instead of prom-client's 10 ms: that timer alone cost ~0.2
  // CPU s/min, more than the whole protocol of an idle node in a 10-node cluster (bench/cluster.ts).
  // A stall still shows in full (it delays the pending sample), only with fewer samples.
  const registry = createMetricsRegistry(SERVICE, { eventLoopMonitoringPrecision: 1000 });
  let driver: Driver | undefined;
  const metrics = createGossipMetrics(registry, () => driver);
  registerReconnectMetrics(registry, () => driver?.engine);
  const redis = createRedis({
    url: config.redisUrl,
    name: `${SERVICE}:load`,
    logger,
    ...(config.redisPassword ? { password: config.redisPassword } : {}),
  });
  const loadKey = redisNames(config.redisPrefix).deviceLoad;
  const sampler = new TegrastatsSampler({
    tegrastatsPath: config.tegrastatsPath,
    intervalMs: config.tegrastatsIntervalMs,
    nvpmodelPath: config.nvpmodelPath,
    ...(config.powerModeFile ? { powerModeFile: config.powerModeFile } : {}),
    logger,
  });
  const refresher = new MetaRefresher({
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
    readHw: () => sampler.current(),
    publish: (meta) => driver?.updateMeta(meta),
    pollMs: config.loadPollMs,
    minIntervalMs: config.metaMinIntervalMs,
    logger,
  });
  const departed = new DepartedMembers({
    selfName: config.nodeName ?? hostname(),
    retentionMs: config.gossipDeadRetention,
    store: config.gossipDepartedFile
      ? fileDepartedStore(config.gossipDepartedFile)
      : redisDepartedStore(redis, redisNames(config.redisPrefix).departedMembers),
    logger,
    registry,
    active: (name) => ['alive', 'suspect'].includes(driver?.engine.node(name)?.state ?? ''),
  });
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
  const keyringAdmin = new KeyringAdmin({
    keyring,
    logger,
    ...(keyringFile !== undefined ? { persist: (keys) => writeKeyringFile(keyringFile, keys) } : {}),
  });
  driver = await Driver.start({
    name: config.nodeName ?? hostname(),
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
    meta: refresher.initialMeta(),
    metrics,
    delegate: {
      localState: () => departed.localState(),
      mergeRemoteState: (b) => departed.mergeRemoteState(b),
      notify: (e) => departed.notify(e),
    },
  });
  const gossip = driver;
  const view = withDeparted(gossip, departed);
  legacyLine(`Local member ${gossip.advertise.ip}:${gossip.advertise.port}`);

  const { app, requireToken } = buildApp({
    logger,
    host: config.httpHost,
    registry,
    view: () => view,
    keyring: () => keyringAdmin,
    checks: [{ name: 'redis', check: () => redisReachable(redis) }],
    ...(config.apiToken ? { apiToken: config.apiToken } : {}),
  });
  registerDashboard(app, { view: () => view, events: gossip, jobApiUrl: config.jobApiUrl, requireToken });
  // The legacy line goes out before fastify's own "Server listening" JSON line; a failed listen
  // exits the process anyway.
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
  sampler.start();
  refresher.start();

  installShutdown({
    logger,
    deadlineMs: config.shutdownTimeoutMs,
    closers: [
      { name: 'gossip-leave', close: () => gossip.leave(config.leaveTimeoutMs) },
      { name: 'meta', close: () => refresher.stop() },
      { name: 'tegrastats', close: () => sampler.stop() },
      { name: 'http', close: () => app.close() },
      { name: 'gossip', close: () => gossip.close() },
      { name: 'departed', close: () => departed.close() },
      { name: 'redis', close: () => closeRedis(redis) },
    ],
  });

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

const config = configFromProcess();
await runService(SERVICE, () => config, start);
