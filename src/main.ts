#!/usr/bin/env node
/**
 * `uptivity-gateway`: serves the WebAPI over an XML core. Without CORE_HOST it starts the core
 * simulator in-process, seeded, on CORE_PORT / CORE_EVENT_PORT of 127.0.0.1, so that a fresh clone
 * answers the manual's example URLs at once.
 */
import { randomBytes } from 'node:crypto';
import type { FastifyBaseLogger } from 'fastify';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type https from 'node:https';
import type { AddressInfo } from 'node:net';
import { buildApp, createLogger, signedAccess } from './app.js';
import { buildHttpsRedirect } from './http/https-redirect.js';
import { LogOutput } from './log-output.js';
import { ConfigError, loadConfig, usage, type GatewayConfig } from './config.js';
import { CorePool } from './core/pool.js';
import { CoreEventSubscription } from './core/events.js';
import { CoreFailureSummary } from './core/failure-summary.js';
import { SharedState } from './cluster/redis.js';
import { SharedTicketLedger } from './cluster/ticket-ledger.js';
import { SharedEventLogReader, SharedEventStream } from './cluster/event-log.js';
import { EventLogFollower } from './cluster/event-log-follower.js';
import { EventLogWriter } from './cluster/event-log-writer.js';
import type { EventLogReader, LiveEvents } from './core/event-feed.js';
import { EventIndex } from './recordings/event-index.js';
import { GatewayMetrics } from './http/ops/metrics.js';
import type { RunningSimulator } from './sim/simulator.js';
import { productRecordingRoot } from './sim/product-format.js';
import { locateFfmpeg } from './media/ffmpeg.js';
import { RecordingFiles, parsePathMap } from './media/recording-files.js';
import { Slots } from './media/slots.js';
import { TranscodeCache } from './media/transcode-cache.js';
import { openRecordingCatalog } from './recordings/catalog-setup.js';
import { RecorderClock } from './recordings/recorder-clock.js';
import { ApiKeyStore, networkList } from './access/api-keys.js';
import { AuditTrail } from './access/audit.js';
import { Gatekeeper } from './access/gatekeeper.js';
import { OriginList } from './access/origins.js';
import { SigningKeys } from './access/signing-keys.js';
import { OidcVerifier } from './access/oidc.js';
import { runKeysCommand } from './access/keys-cli.js';
import { Webhooks } from './webhooks/webhooks.js';
import { RedisWebhookStore } from './webhooks/redis-store.js';
import { SqliteWebhookStore } from './webhooks/sqlite-store.js';

interface EventLog {
  /** What the HTTP surfaces serve. */
  live: LiveEvents;
  feedIndex(index: EventIndex): void;
  /** The log as the webhook fan-out reads it, at its own pace. */
  reader: EventLogReader;
  /** Events must reach the log even with no live listener (webhooks want them). */
  subscribe(): void;
  start(): void;
  close(): Promise<void>;
}

/**
 * The live events: this gateway's own subscription to the core's event port, or with Redis the log
 * the replicas share (one of them, the lease holder, subscribes and appends; each reads a copy).
 */
/** This process's name in the leases it takes and the consumer groups it reads in (no spaces). */
const replicaName = `${os.hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`;

function openEventLog({ shared, host, port, config, logger }: { shared: SharedState | undefined; host: string; port: number; config: GatewayConfig; logger: FastifyBaseLogger }): EventLog {
  const eventPort = `${host}:${port}`;
  const subscription = { host, port, connectTimeoutMs: config.core.connectTimeoutMs, subscribeTimeoutMs: config.core.timeoutMs };
  const feed = { capacity: config.events.buffer, maxBytes: 16 * 1024 * 1024, maxListeners: config.events.maxListeners };
  const said = {
    up: () => logger.info({ eventPort }, "subscribed to the core's events"),
    down: (reason: Error) => logger.warn({ eventPort, reason: reason.message }, "the core's event port is down"),
    unreadable: (reason: Error) => logger.warn({ reason: reason.message }, 'skipped a message of the event port that is not a readable event'),
  };
  if (!shared) {
    // Subscribed at startup when the event index is a recording source; otherwise with the first
    // listener of /api/v1/events (or of the WebAPI's type=events): a gateway nobody asks for events
    // costs the core no subscriber.
    const events = new CoreEventSubscription({ ...subscription, feed });
    events.on('up', said.up).on('down', said.down).on('unreadable', said.unreadable);
    return {
      live: events,
      feedIndex: (index) => {
        events.on('event', (event) => index.record(event));
        events.start();
      },
      reader: events.feed!.reader,
      subscribe: () => events.start(),
      start: () => undefined,
      close: () => events.close(),
    };
  }
  const stream = new SharedEventStream(shared, config.events.retention);
  const writer = new EventLogWriter(shared, stream, { subscription, holder: replicaName, leaseMs: config.events.leaseMs });
  const follower = new EventLogFollower(shared, stream, { feed });
  writer.on('up', said.up).on('down', said.down).on('unreadable', said.unreadable);
  writer.on('holding', (token) => logger.info({ holder: replicaName, token }, "this replica holds the event log's lease: it is the subscription to the core's event port"));
  writer.on('released', (reason) => logger.info({ holder: replicaName, reason }, "this replica no longer holds the event log's lease"));
  const reader = new SharedEventLogReader(shared, stream);
  return {
    live: follower,
    feedIndex: (index) =>
      follower.on('record', (record) => {
        if (EventIndex.wants(record.type)) index.recordJson(JSON.parse(record.json) as { type: string; data: Record<string, string> });
      }),
    reader,
    // The holder subscribes whether or not anyone listens.
    subscribe: () => undefined,
    // Every replica contends for the lease from the start, listeners or not: the log is for all of them.
    start: () => {
      writer.start();
      follower.start();
    },
    close: async () => {
      await writer.close();
      await follower.close();
      reader.close();
    },
  };
}

async function main(): Promise<void> {
  if (process.argv[2] === 'keys') {
    // The keys file's default place follows the gateway's own configuration (GATEWAY_DATA_DIR...).
    const settings = loadConfig([], process.env)!;
    process.stdout.write(runKeysCommand(process.argv.slice(3), settings.access.keysFile));
    return;
  }
  const config = loadConfig(process.argv.slice(2), process.env);
  if (!config) {
    process.stdout.write(usage());
    return;
  }
  let sim: RunningSimulator | undefined;
  let coreHost = config.core.host;
  let corePort = config.core.port;
  let coreEventPort = config.core.eventPort;
  if (!coreHost) {
    // Loaded only when embedded: a gateway in front of a real core carries no simulator (nor SQLite).
    const { startSimulator } = await import('./sim/simulator.js');
    sim = await startSimulator({ host: '127.0.0.1', port: config.core.port, eventPort: config.core.eventPort, dataDir: config.simDataDir, seed: true });
    coreHost = sim.host;
    corePort = sim.port;
    coreEventPort = sim.eventPort;
  }
  const pool = new CorePool({
    host: coreHost,
    port: corePort,
    size: config.core.poolSize,
    queueMax: config.core.queueMax,
    requestTimeoutMs: config.core.timeoutMs,
    connectTimeoutMs: config.core.connectTimeoutMs,
    probeTimeoutMs: config.core.probeTimeoutMs,
    stallMs: config.core.stallMs,
  });
  pool.start();
  const metrics = new GatewayMetrics(() => pool.stats);
  const destination = new LogOutput(process.stdout);
  const logger = createLogger(config.logLevel, destination);
  const shared = config.redis
    ? new SharedState({
        ...config.redis,
        // Said once per change; the URL is never logged (it may hold a password).
        onState: (state, reason) =>
          state === 'up'
            ? logger.info('Redis is up: the replicas share the event log, rate limits and event tickets')
            : logger.warn({ reason }, 'Redis is down: calls and exports go on; live events wait for it, rate limits are not counted meanwhile'),
      })
    : undefined;
  const events = openEventLog({ shared, host: coreHost, port: coreEventPort, config, logger });
  const pathMap = config.exports.pathMap
    ? parsePathMap(config.exports.pathMap)
    : sim
      ? [{ productRoot: productRecordingRoot, directory: sim.context.recordingsDir }]
      : [];
  const files = new RecordingFiles(pathMap);
  const { catalog, index } = await openRecordingCatalog({
    sources: config.recordings.sources,
    ask: (request, signal) => pool.request(request, signal),
    files,
    clock: new RecorderClock(config.recordings.timeZone),
    dataDir: config.dataDir,
    indexKeepDays: config.recordings.indexKeepDays,
    scanLimit: config.recordings.scanLimit,
    ...(config.recordings.databaseUrl
      ? {
          database: {
            url: config.recordings.databaseUrl,
            table: config.recordings.databaseTable,
            poolSize: config.recordings.databasePoolSize,
            timeoutMs: config.recordings.databaseTimeoutMs,
          },
        }
      : {}),
    observe: (source, outcome, seconds, failure) => {
      metrics.observeRecordingLookup(source, outcome, seconds);
      // Another source may still find the recording: the operator hears of this one's failure anyway.
      if (failure) logger.warn({ source, err: failure }, 'a recording source failed');
    },
  });
  if (index) {
    // The index learns of recordings only while subscribed: subscribe now, not with the first listener.
    events.feedIndex(index);
    metrics.recordingIndexSize = () => index.size;
  }
  events.start();
  const exports = {
    catalog,
    files,
    ffmpeg: () => locateFfmpeg(config.exports.ffmpegPath),
    slots: new Slots({ max: config.exports.maxTranscodes, maxPerOwner: config.exports.maxTranscodesPerCredential, waitMs: config.exports.transcodeWaitMs }),
    exportSlots: new Slots({ max: config.exports.maxConcurrent, maxPerOwner: config.exports.maxPerCredential }),
    stallTimeoutMs: config.exports.stallTimeoutMs,
    cache: await TranscodeCache.open({ directory: config.exports.cacheDir, maxBytes: config.exports.cacheMaxBytes, observer: metrics.mediaCacheObserver }),
  };
  const keys = new ApiKeyStore({
    file: config.access.keysFile,
    onReload: (outcome) =>
      'error' in outcome
        ? logger.error({ file: config.access.keysFile, reason: outcome.error.message }, 'the keys file cannot be read; the keys read before stay in force')
        : logger.info({ file: config.access.keysFile, keys: outcome.keys }, 'API keys read again'),
  });
  // The verifier checks its options (an https issuer) when it is made: a bad one stops the start.
  const tokens = config.access.oidc ? new OidcVerifier(config.access.oidc) : undefined;
  const corsOrigins = new OriginList(config.access.corsOrigins);
  const gatekeeper = new Gatekeeper({
    open: config.access.open,
    keys,
    tokens,
    webApiNetworks:
      config.access.webApiCidrs.length > 0
        ? { list: networkList(config.access.webApiCidrs), cidrs: config.access.webApiCidrs, scopes: new Set(config.access.webApiCidrScopes) }
        : undefined,
    allowedOrigins: corsOrigins,
    originsOnWebApi: config.access.corsWebApi,
  });
  const signingKeys = new SigningKeys(config.access.linkSigningKeys);
  // Said, never printed: a key made here signs links and tickets that no other replica honours and
  // that stop working at the next start.
  if (signingKeys.generated) {
    logger.warn('LINK_SIGNING_KEY is not set: signed media links and event tickets are signed with a key made at start; they work on this process only, and not after a restart');
  } else {
    logger.info({ signingKeyId: signingKeys.signingKeyId, keys: config.access.linkSigningKeys.length }, 'signed links and event tickets: LINK_SIGNING_KEY');
  }
  const auditTrail = new AuditTrail({ ...(config.access.auditFile ? { file: config.access.auditFile } : {}), log: logger });
  // Webhooks: shared by the replicas in Redis, or kept in a file of this gateway's own.
  const webhooks = new Webhooks({
    store: shared
      ? new RedisWebhookStore(shared, { holder: replicaName, leaseMs: config.webhooks.leaseMs })
      : new SqliteWebhookStore({ file: path.join(config.dataDir, 'webhooks.sqlite') }),
    reader: events.reader,
    readerForgetsAtRestart: !shared,
    settings: config.webhooks,
    log: logger,
    observer: metrics.webhookObserver,
    onSubscribed: () => events.subscribe(),
  });
  metrics.webhookQueueDepth = () => webhooks.pendingCount();
  let stopping = false;
  const common = {
    draining: () => stopping,
    signed: signedAccess(signingKeys, shared && new SharedTicketLedger(shared)),
    ...(corsOrigins.size > 0 ? { cors: { origins: corsOrigins, webApi: config.access.corsWebApi } } : {}),
    ...(config.access.playbackLinks ? { playbackLinks: config.access.playbackLinks } : {}),
    pool,
    metrics,
    access: {
      gatekeeper,
      webApiQueryKeys: config.access.webApiQueryKeys,
      metricsAuth: config.access.metricsAuth,
      auditTrail,
      ...(config.access.oidc ? { oidcIssuer: config.access.oidc.issuer } : {}),
    },
    ...(config.access.rateLimit ? { rateLimit: config.access.rateLimit } : {}),
    ...(shared ? { shared } : {}),
    coreTimeoutMs: config.core.timeoutMs,
    logger,
    exports,
    events: { subscription: events.live, heartbeatMs: config.events.heartbeatMs, maxPerCaller: config.events.maxPerCredential },
    webhooks,
  };
  const tls = config.tls;
  // With TLS, the plain port serves the gateway too, redirects to HTTPS, or is not opened.
  const secure = tls ? buildApp({ ...common, https: { cert: fs.readFileSync(tls.certFile), key: fs.readFileSync(tls.keyFile) } }) : undefined;
  const httpsPort = (): number => (secure!.server.address() as AddressInfo).port;
  const plain = !tls || tls.httpMode === 'serve' ? buildApp(common) : tls.httpMode === 'redirect' ? buildHttpsRedirect({ httpsPort, logger }) : undefined;
  const apps = [plain, secure].filter((app) => app !== undefined);
  const log = logger;
  pool.on('up', () => log.info({ core: `${coreHost}:${corePort}` }, 'XML core is up'));
  pool.on('down', (reason) => log.warn({ core: `${coreHost}:${corePort}`, reason: reason instanceof Error ? reason.message : String(reason) }, 'XML core is down'));
  const failures = new CoreFailureSummary(log);
  pool.on('failure', (failure) => failures.note(failure));
  // In the background: a core that is down must not hold up the start (RECORDINGINFO's probe waits for it).
  void catalog.warmUp().then(() => {
    for (const source of catalog.statuses()) log.info({ source: source.name, active: source.active, detail: source.detail }, 'recording source');
  });
  await webhooks.start();
  if (plain) await plain.listen({ host: config.host, port: config.port });
  if (secure) await secure.listen({ host: config.host, port: tls!.port });
  // Said at every start: an open gateway is a choice someone must keep seeing.
  if (config.access.open) log.warn({ access: gatekeeper.describe() }, 'access control is off');
  else log.info({ access: gatekeeper.describe(), keysFile: config.access.keysFile }, 'access');
  log.info(
    { core: `${coreHost}:${corePort}`, embeddedSimulator: sim ? sim.dataDir : undefined, tls: config.tls ? config.tls.port : undefined },
    'uptivity-gateway ready',
  );

  const stop = (signal: 'SIGTERM' | 'SIGINT'): void => {
    if (stopping) {
      // A second Ctrl-C: the person at the terminal does not want to wait.
      if (signal === 'SIGINT') process.exit(130);
      return;
    }
    stopping = true;
    // SIGTERM comes from an orchestrator, whose load balancer needs time to see /readyz fail;
    // SIGINT from a person at a terminal, who has none to wait for.
    const delayMs = signal === 'SIGTERM' ? config.shutdown.delayMs : 0;
    log.info({ signal, delayMs, timeoutMs: config.shutdown.timeoutMs }, 'shutting down: /readyz fails, requests are still served');
    void (async () => {
      await new Promise((resolve) => setTimeout(resolve, delayMs));
      log.info('shutting down: no new connections; finishing requests, exports and event streams in flight');
      // Past the bound, what is still open is cut: the process must end for its replacement.
      const cut = setTimeout(() => {
        log.warn({ timeoutMs: config.shutdown.timeoutMs }, 'shutting down: cutting the connections still open');
        for (const app of apps) app.server.closeAllConnections();
      }, config.shutdown.timeoutMs);
      // Each app ends its own event streams when it closes; the subscription goes after them.
      await Promise.all(apps.map((app) => app.close()));
      clearTimeout(cut);
      // Attempts in flight are abandoned, their queues released: another replica (or the next start) sends them.
      await webhooks.stop();
      await events.close();
      await catalog.close();
      keys.close();
      tokens?.close();
      await auditTrail.close();
      await pool.close();
      await shared?.close();
      failures.flush();
      await sim?.close();
      destination.flushSync();
      process.exit(0);
    })();
  };
  // SIGHUP after a rotation: the audit file is opened again (logrotate renamed it), and the
  // certificate and key are read again (a renewed certificate is served without a restart).
  process.on('SIGHUP', () => {
    void auditTrail.reopen();
    if (!secure || !tls) return;
    try {
      (secure.server as https.Server).setSecureContext({ cert: fs.readFileSync(tls.certFile), key: fs.readFileSync(tls.keyFile), minVersion: 'TLSv1.2' });
      log.info({ certFile: tls.certFile }, 'certificate and key read again');
    } catch (error) {
      log.error({ certFile: tls.certFile, reason: (error as Error).message }, 'the certificate or key cannot be read; the ones in use stay');
    }
  });
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

main().catch((error: unknown) => {
  const message = error instanceof ConfigError || error instanceof Error ? error.message : String(error);
  process.stderr.write(`uptivity-gateway: ${message}\n`);
  process.exit(1);
});
