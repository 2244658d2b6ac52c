/**
 * A gateway on a free loopback port in front of a simulator of its own: what the WebAPI tests talk
 * to over real HTTP.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { buildApp, type AppDependencies } from '../../src/app.js';
import { CorePool, type CorePoolOptions } from '../../src/core/pool.js';
import { CoreEventSubscription, type CoreEventsOptions } from '../../src/core/events.js';
import type { EventFeedOptions } from '../../src/core/event-feed.js';
import type { EventStreamOptions } from '../../src/http/events/stream.js';
import { startSimulator, type RunningSimulator, type SimulatorConfig } from '../../src/sim/simulator.js';
import { productRecordingRoot } from '../../src/sim/product-format.js';
import { locateFfmpeg } from '../../src/media/ffmpeg.js';
import { RecordingFiles } from '../../src/media/recording-files.js';
import { Slots } from '../../src/media/slots.js';
import { TranscodeCache } from '../../src/media/transcode-cache.js';
import { GatewayMetrics } from '../../src/http/ops/metrics.js';
import { openRecordingCatalog, type CatalogSetup } from '../../src/recordings/catalog-setup.js';
import type { EventIndex } from '../../src/recordings/event-index.js';
import { RecorderClock } from '../../src/recordings/recorder-clock.js';
import type { RecordingCatalog } from '../../src/recordings/recording-catalog.js';
import { loadConfig } from '../../src/config.js';
import { SqliteWebhookStore } from '../../src/webhooks/sqlite-store.js';
import type { WebhookStore } from '../../src/webhooks/store.js';
import { Webhooks, type WebhookSettings } from '../../src/webhooks/webhooks.js';

export interface TestGatewayOptions {
  /** The address to listen on (default 127.0.0.1): 0.0.0.0 to be called from this machine's own network address. */
  listenHost?: string;
  /** Who callers are (default: protected mode, loopback callers with every scope). */
  access?: AppDependencies['access'];
  rateLimit?: AppDependencies['rateLimit'];
  /** Where the gateway logs (default: nowhere, at level silent). */
  logger?: AppDependencies['logger'];
  /** A simulator to use instead of starting one; it is left running on close. */
  sim?: RunningSimulator;
  /** Serve EXPORT, COMBINEDEXPORT and MULTIEXPORT from the simulator's recordings (default true). */
  exports?: boolean;
  /**
   * How exports find recordings: the sources in order (default RECORDINGINFO alone), the gateway's
   * data dir for the event index (default a temporary one), the product database, the recorder's zone.
   */
  recordings?: Partial<Omit<CatalogSetup, 'ask' | 'files' | 'clock'>> & { timeZone?: string };
  maxTranscodes?: number;
  /** The transcode cache: its folder (default: a temporary one, removed on close) and bound (default 1 GiB). */
  mediaCache?: { directory?: string; maxBytes?: number };
  /** State shared with other gateways (REDIS_URL). */
  shared?: AppDependencies['shared'];
  /** Exports at once, overall and per caller (default: unbounded), and the stall bound (default 30 s). */
  exportBounds?: { max: number; maxPerCaller: number; stallTimeoutMs?: number };
  /** The ffmpeg binary exports run (default: the one `locateFfmpeg` finds). */
  ffmpegPath?: string;
  /** Signed links and tickets (default: a key made for the gateway), CORS, PLAYBACK_LINK_BASE. */
  signed?: AppDependencies['signed'];
  cors?: AppDependencies['cors'];
  playbackLinks?: AppDependencies['playbackLinks'];
  /** Live events: how the subscription to the simulator's event port and the streams are set up. */
  events?: Partial<EventStreamOptions> & Partial<EventFeedOptions> & Partial<Omit<CoreEventsOptions, 'feed'>>;
  /**
   * Webhooks (/api/v1/webhooks), following this gateway's own events: the settings (default the
   * configuration's defaults, private targets allowed: test receivers are on 127.0.0.1) and the
   * store (default webhooks.sqlite in the data dir).
   */
  webhooks?: Partial<WebhookSettings> & { store?: WebhookStore };
}

export interface TestGateway {
  sim: RunningSimulator;
  catalog: RecordingCatalog;
  /** The event index, when it is one of the sources. */
  index: EventIndex | undefined;
  pool: CorePool;
  app: FastifyInstance;
  events: CoreEventSubscription;
  webhooks: Webhooks | undefined;
  url: string;
  /** Requests the core received since the gateway started, as text. */
  received(): string[];
  close(): Promise<void>;
}

/** An XML core the gateway is put in front of: an in-process simulator, or a process of its own. */
export interface CoreUnderTest {
  host: string;
  port: number;
  eventPort: number;
  /** The folder the core's `C:\Recordings\` is. */
  recordingsDir: string;
  /** The requests the core has received, as text, when it can tell. */
  requests?: () => string[];
}

export type GatewayUnderTest = Omit<TestGateway, 'sim'>;

export async function startTestGateway(
  simConfig: SimulatorConfig = {},
  poolOptions: Partial<CorePoolOptions> = {},
  options: TestGatewayOptions = {},
): Promise<TestGateway> {
  const sim = options.sim ?? (await startSimulator({ port: 0, eventPort: 0, ...simConfig }));
  const core = { host: sim.host, port: sim.port, eventPort: sim.eventPort, recordingsDir: sim.context.recordingsDir, requests: () => sim.requests.list().map((r) => r.text) };
  const gateway = await attachTestGateway(core, poolOptions, options);
  return {
    ...gateway,
    sim,
    close: async () => {
      await gateway.close();
      if (!options.sim) await sim.close();
    },
  };
}

/** A gateway on a free loopback port in front of a core that runs already. */
export async function attachTestGateway(
  core: CoreUnderTest,
  poolOptions: Partial<CorePoolOptions> = {},
  options: TestGatewayOptions = {},
): Promise<GatewayUnderTest> {
  const timeoutMs = poolOptions.requestTimeoutMs ?? 5000;
  const pool = new CorePool({ host: core.host, port: core.port, size: 2, queueMax: 100, requestTimeoutMs: timeoutMs, connectTimeoutMs: 2000, ...poolOptions });
  pool.start();
  const files = new RecordingFiles([{ productRoot: productRecordingRoot, directory: core.recordingsDir }]);
  const { timeZone, dataDir, ...recordings } = options.recordings ?? {};
  const temporaryDataDir = dataDir === undefined ? fs.mkdtempSync(path.join(os.tmpdir(), 'gateway-data-')) : undefined;
  const metrics = new GatewayMetrics(() => pool.stats);
  const { catalog, index } = await openRecordingCatalog({
    observe: (source, outcome, seconds) => metrics.observeRecordingLookup(source, outcome, seconds),
    sources: ['recordinginfo'],
    indexKeepDays: 400,
    scanLimit: 50_000,
    ...recordings,
    dataDir: dataDir ?? temporaryDataDir!,
    ask: (request, signal) => pool.request(request, signal),
    files,
    clock: new RecorderClock(timeZone),
  });
  await catalog.warmUp();
  const temporaryCacheDir = options.mediaCache?.directory === undefined ? fs.mkdtempSync(path.join(os.tmpdir(), 'media-cache-')) : undefined;
  const exports =
    options.exports === false
      ? undefined
      : {
          catalog,
          files,
          ffmpeg: () => locateFfmpeg(options.ffmpegPath),
          slots: new Slots(options.maxTranscodes ?? 4),
          ...(options.exportBounds
            ? {
                exportSlots: new Slots({ max: options.exportBounds.max, maxPerOwner: options.exportBounds.maxPerCaller }),
                stallTimeoutMs: options.exportBounds.stallTimeoutMs,
              }
            : {}),
          cache: await TranscodeCache.open({
            directory: options.mediaCache?.directory ?? temporaryCacheDir!,
            maxBytes: options.mediaCache?.maxBytes ?? 1024 ** 3,
            observer: metrics.mediaCacheObserver,
          }),
        };
  const { capacity, maxBytes, maxListeners, heartbeatMs, stallMs, highWaterMark, closeGraceMs, maxPerCaller, ...subscription } = options.events ?? {};
  const events = new CoreEventSubscription({
    host: core.host,
    port: core.eventPort,
    connectTimeoutMs: 2000,
    subscribeTimeoutMs: timeoutMs,
    backoffInitialMs: 50,
    backoffMaxMs: 500,
    ...subscription,
    feed: { capacity: capacity ?? 1000, maxBytes: maxBytes ?? 16 * 1024 * 1024, maxListeners: maxListeners ?? 100 },
  });
  let webhooks: Webhooks | undefined;
  if (options.webhooks) {
    const { store, ...settings } = options.webhooks;
    webhooks = new Webhooks({
      store: store ?? new SqliteWebhookStore({ file: path.join(dataDir ?? temporaryDataDir!, 'webhooks.sqlite') }),
      reader: events.feed!.reader,
      readerForgetsAtRestart: true,
      settings: { ...loadConfig([], {})!.webhooks, allowPrivate: true, ...settings },
      log: { info: () => undefined, warn: () => undefined },
      observer: metrics.webhookObserver,
      onSubscribed: () => events.start(),
    });
    metrics.webhookQueueDepth = () => webhooks!.pendingCount();
    await webhooks.start();
  }
  const app = buildApp({
    ...(webhooks ? { webhooks } : {}),
    ...(options.access ? { access: options.access } : {}),
    ...(options.rateLimit ? { rateLimit: options.rateLimit } : {}),
    ...(options.shared ? { shared: options.shared } : {}),
    ...(options.signed ? { signed: options.signed } : {}),
    ...(options.cors ? { cors: options.cors } : {}),
    ...(options.playbackLinks ? { playbackLinks: options.playbackLinks } : {}),
    pool,
    metrics,
    coreTimeoutMs: timeoutMs,
    ...(options.logger ? { logger: options.logger } : { logLevel: 'silent' }),
    exports,
    events: { subscription: events, heartbeatMs: heartbeatMs ?? 15_000, stallMs, highWaterMark, closeGraceMs, maxPerCaller },
  });
  if (index) {
    events.on('event', (event) => index.record(event));
    metrics.recordingIndexSize = () => index.size;
    events.start();
  }
  await app.listen({ host: options.listenHost ?? '127.0.0.1', port: 0 });
  const address = app.server.address();
  if (!address || typeof address === 'string') throw new Error('no port');
  const skip = core.requests?.().length ?? 0;
  return {
    catalog,
    index,
    pool,
    app,
    events,
    webhooks,
    url: `http://127.0.0.1:${address.port}`,
    received: () => core.requests?.().slice(skip) ?? [],
    close: async () => {
      await app.close();
      await webhooks?.stop();
      await events.close();
      await catalog.close();
      await pool.close();
      if (temporaryDataDir) fs.rmSync(temporaryDataDir, { recursive: true, force: true });
      if (temporaryCacheDir) fs.rmSync(temporaryCacheDir, { recursive: true, force: true });
    },
  };
}
