/**
 * The gateway's Prometheus metrics (prom-client), in a registry of their own so that several
 * gateways in one process (tests) do not share counters. Label values are bounded: routes are
 * route patterns, TYPE is a catalog type or OTHER.
 */
import client from 'prom-client';
import { findCommand } from '../../protocol/catalog.js';
import { LatencyHistogram, type LatencyChild } from './latency-histogram.js';
import type { WebhookObserver } from '../../webhooks/dispatcher.js';

/** What the live event metrics read from the subscription to the core's event port. */
export interface LiveEventCounts {
  listeners: number;
  received: number;
  dropped: number;
  up: boolean;
}

const noLiveEvents: LiveEventCounts = { listeners: 0, received: 0, dropped: 0, up: false };

export class GatewayMetrics {
  readonly registry = new client.Registry();
  readonly httpRequests = new client.Counter({
    name: 'uptivity_http_requests_total',
    help: 'HTTP requests answered, by route pattern, method and status.',
    labelNames: ['route', 'method', 'status'] as const,
    registers: [this.registry],
    collect: () => this.flushCounts(),
  });
  readonly httpDuration = new LatencyHistogram(
    'uptivity_http_request_duration_seconds',
    'Time to answer an HTTP request, by route pattern.',
    [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    this.registry,
  );
  readonly coreRequests = new client.Counter({
    name: 'uptivity_core_requests_total',
    help: 'Requests to the XML core, by TYPE and the RESULTTYPE answered (or the failure: TIMEOUT, UNAVAILABLE...).',
    labelNames: ['type', 'result_type'] as const,
    registers: [this.registry],
    collect: () => this.flushCounts(),
  });
  readonly coreDuration = new LatencyHistogram(
    'uptivity_core_request_duration_seconds',
    'Round trip of a request to the XML core, queueing included, by TYPE.',
    [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    this.registry,
  );
  readonly exportRequests = new client.Counter({
    name: 'uptivity_export_requests_total',
    help: 'Exports started (EXPORT, COMBINEDEXPORT, MULTIEXPORT), by function and MEDIA_FORMAT.',
    labelNames: ['function', 'format'] as const,
    registers: [this.registry],
  });
  readonly exportBytes = new client.Counter({
    name: 'uptivity_export_bytes_total',
    help: 'Bytes of exports sent to callers, by function.',
    labelNames: ['function'] as const,
    registers: [this.registry],
  });
  readonly recordingLookups = new client.Counter({
    name: 'uptivity_recording_lookups_total',
    help: 'Questions put to the recording sources by exports, by source and outcome (found, missed, failed).',
    labelNames: ['source', 'outcome'] as const,
    registers: [this.registry],
  });
  readonly recordingLookupDuration = new client.Histogram({
    name: 'uptivity_recording_lookup_duration_seconds',
    help: 'Time a recording source took to answer an export, by source.',
    labelNames: ['source'] as const,
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });
  /** Set by the gateway that finds recordings: its sources as they are now. */
  recordingSources: () => ReadonlyArray<{ name: string; active: boolean }> = () => [];
  /** Set when the event index is a source: the recordings it holds. */
  recordingIndexSize: (() => number) | undefined;
  /** Set by the export handler, which serves from the transcode cache: what it keeps now. */
  mediaCache: () => { bytes: number; files: number } = () => ({ bytes: 0, files: 0 });
  readonly mediaCacheRequests = new client.Counter({
    name: 'uptivity_media_cache_requests_total',
    help: 'Single-recording exports asked of the transcode cache, by outcome: hit (the file was kept) or miss (made, or waited for while another request made it).',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });
  readonly mediaCacheFills = new client.Histogram({
    name: 'uptivity_media_cache_fill_duration_seconds',
    help: 'Time to write one export whole into the transcode cache (its count is the encodes run).',
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
    registers: [this.registry],
  });
  readonly mediaCacheEvictions = new client.Counter({
    name: 'uptivity_media_cache_evictions_total',
    help: 'Files removed from the transcode cache to stay under MEDIA_CACHE_MAX_BYTES.',
    registers: [this.registry],
  });
  readonly mediaCacheEvictedBytes = new client.Counter({
    name: 'uptivity_media_cache_evicted_bytes_total',
    help: 'Bytes of the files removed from the transcode cache to stay under its bound.',
    registers: [this.registry],
  });
  /** What the transcode cache reports, as these metrics. */
  readonly mediaCacheObserver = {
    hit: (): void => this.mediaCacheRequests.inc({ outcome: 'hit' }),
    miss: (): void => this.mediaCacheRequests.inc({ outcome: 'miss' }),
    evicted: (bytes: number): void => {
      this.mediaCacheEvictions.inc();
      this.mediaCacheEvictedBytes.inc(bytes);
    },
    filled: (seconds: number): void => this.mediaCacheFills.observe(seconds),
  };
  /** Set by the export handler, which owns the transcode slots. */
  activeTranscodes: () => number = () => 0;
  /** Set by the app that serves live events, from the one subscription to the core's event port. */
  liveEvents: () => LiveEventCounts = () => noLiveEvents;
  readonly webhookDeliveries = new client.Counter({
    name: 'uptivity_webhook_deliveries_total',
    help: 'Webhook deliveries after an attempt, by outcome: delivered, retrying, failed (dead-lettered) or disabled (410 Gone).',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });
  readonly webhookAttemptDuration = new client.Histogram({
    name: 'uptivity_webhook_attempt_duration_seconds',
    help: 'Time a webhook attempt took, by result: delivered (2xx), failed, gone (410) or throttled (429/503 with Retry-After).',
    labelNames: ['result'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 15, 30],
    registers: [this.registry],
  });
  /** What the webhook dispatcher reports, as these metrics. */
  readonly webhookObserver: WebhookObserver = {
    attempted: (result, seconds) => this.webhookAttemptDuration.observe({ result }, seconds),
    settled: (outcome) => this.webhookDeliveries.inc({ outcome }),
  };
  /** Set by the gateway that delivers webhooks: the deliveries waiting in every queue (of every replica, with Redis). */
  webhookQueueDepth: (() => Promise<number>) | undefined;
  /** The event streams of each app (HTTP, HTTPS) sharing these metrics. */
  private readonly eventStreamSets = new Set<{ readonly stats: { bufferedBytes: number } }>();
  readonly transcodes: client.Gauge;
  readonly poolConnections: client.Gauge<'state'>;
  readonly poolQueueDepth: client.Gauge;
  readonly coreUp: client.Gauge;
  readonly eventListeners: client.Gauge;
  readonly eventsReceived: client.Counter;
  readonly eventListenersDropped: client.Counter;
  readonly eventPortUp: client.Gauge;
  readonly eventStreamBytes: client.Gauge;

  constructor(poolStats: () => { size: number; open: number; busy: number; queued: number; up: boolean }) {
    client.collectDefaultMetrics({ register: this.registry });
    this.poolConnections = new client.Gauge({
      name: 'uptivity_core_pool_connections',
      help: 'Connections of the core pool: configured size, open, and in use.',
      labelNames: ['state'] as const,
      registers: [this.registry],
      collect() {
        const stats = poolStats();
        this.set({ state: 'size' }, stats.size);
        this.set({ state: 'open' }, stats.open);
        this.set({ state: 'in_use' }, stats.busy);
      },
    });
    this.poolQueueDepth = new client.Gauge({
      name: 'uptivity_core_pool_queue_depth',
      help: 'Requests waiting for a core connection.',
      registers: [this.registry],
      collect() {
        this.set(poolStats().queued);
      },
    });
    const metrics = this;
    this.transcodes = new client.Gauge({
      name: 'uptivity_export_active_transcodes',
      help: 'Exports running ffmpeg now.',
      registers: [this.registry],
      collect() {
        this.set(metrics.activeTranscodes());
      },
    });
    new client.Gauge({
      name: 'uptivity_media_cache_bytes',
      help: 'Bytes of the files the transcode cache keeps.',
      registers: [this.registry],
      collect() {
        this.set(metrics.mediaCache().bytes);
      },
    });
    new client.Gauge({
      name: 'uptivity_media_cache_files',
      help: 'Files the transcode cache keeps.',
      registers: [this.registry],
      collect() {
        this.set(metrics.mediaCache().files);
      },
    });
    this.coreUp = new client.Gauge({
      name: 'uptivity_core_up',
      help: '1 while the XML core is reachable, else 0.',
      registers: [this.registry],
      collect() {
        this.set(poolStats().up ? 1 : 0);
      },
    });
    this.eventListeners = new client.Gauge({
      name: 'uptivity_events_listeners',
      help: 'Clients listening to the live event stream.',
      registers: [this.registry],
      collect() {
        this.set(metrics.liveEvents().listeners);
      },
    });
    this.eventsReceived = this.runningTotal(
      'uptivity_events_received_total',
      "CALLCOPYEVENTs received from the core's event port.",
      () => metrics.liveEvents().received,
    );
    this.eventListenersDropped = this.runningTotal(
      'uptivity_events_listeners_dropped_total',
      'Event stream clients cut off for not reading fast enough.',
      () => metrics.liveEvents().dropped,
    );
    this.eventPortUp = new client.Gauge({
      name: 'uptivity_events_port_up',
      help: "1 while the gateway is subscribed to the core's event port, else 0 (also before the first listener).",
      registers: [this.registry],
      collect() {
        this.set(metrics.liveEvents().up ? 1 : 0);
      },
    });
    new client.Gauge({
      name: 'uptivity_recording_source_active',
      help: 'Recording sources configured, by name and position in the order they are tried: 1 while lookups go to it, else 0 (RECORDINGINFO of a core that does not answer it).',
      labelNames: ['source', 'position'] as const,
      registers: [this.registry],
      collect() {
        this.reset();
        metrics.recordingSources().forEach((s, i) => this.set({ source: s.name, position: String(i + 1) }, s.active ? 1 : 0));
      },
    });
    new client.Gauge({
      name: 'uptivity_recording_index_recordings',
      help: 'Recordings the event index holds (RECORDINGSTOPPED / RECORDINGUPDATE of the event port).',
      registers: [this.registry],
      collect() {
        if (metrics.recordingIndexSize) this.set(metrics.recordingIndexSize());
      },
    });
    new client.Gauge({
      name: 'uptivity_webhook_queue_depth',
      help: 'Webhook deliveries waiting to be delivered (pending or retrying), in every queue.',
      registers: [this.registry],
      async collect() {
        // Asked of the store at each scrape; a store that cannot be reached leaves the last figure.
        if (!metrics.webhookQueueDepth) return;
        try {
          this.set(await metrics.webhookQueueDepth());
        } catch {
          // the last figure stays
        }
      },
    });
    this.eventStreamBytes = new client.Gauge({
      name: 'uptivity_events_buffered_bytes',
      help: 'Bytes the event streams hold for clients beyond their sockets (bounded per client; a client that does not drain is cut).',
      registers: [this.registry],
      collect() {
        let bytes = 0;
        for (const streams of metrics.eventStreamSets) bytes += streams.stats.bufferedBytes;
        this.set(bytes);
      },
    });
  }

  /** A counter following a total kept elsewhere (the subscription counts): it adds the difference at each scrape. */
  private runningTotal(name: string, help: string, total: () => number): client.Counter {
    let counted = 0;
    return new client.Counter({
      name,
      help,
      registers: [this.registry],
      collect() {
        const now = total();
        if (now > counted) this.inc(now - counted);
        counted = now;
      },
    });
  }

  watchEventStreams(streams: { readonly stats: { bufferedBytes: number } }): void {
    this.eventStreamSets.add(streams);
  }

  /**
   * Counts since the last scrape, added to the counters when they are collected: prom-client hashes
   * the labels of every increment, a measurable part of a request's cost. Scrapes stay exact.
   */
  private readonly pendingCounts = new Map<string, { counter: client.Counter<string>; labels: Record<string, string>; count: number }>();
  private readonly durations = new Map<string, LatencyChild>();

  private count(counter: client.Counter<string>, key: string, labels: () => Record<string, string>): void {
    const pending = this.pendingCounts.get(key);
    if (pending) pending.count++;
    else this.pendingCounts.set(key, { counter, labels: labels(), count: 1 });
  }

  /** Called by each counter's collect(): moves the pending counts into the counters. */
  private flushCounts(): void {
    for (const pending of this.pendingCounts.values()) {
      if (pending.count === 0) continue;
      pending.counter.inc(pending.labels, pending.count);
      pending.count = 0;
    }
  }

  private duration(histogram: LatencyHistogram, key: string, labels: Record<string, string>): LatencyChild {
    let child = this.durations.get(key);
    if (!child) {
      child = histogram.labels(labels);
      this.durations.set(key, child);
    }
    return child;
  }

  /** Record one core request: the TYPE as a catalog type or OTHER, the RESULTTYPE or failure label. */
  observeCoreRequest(type: string, resultType: string, seconds: number): void {
    const label = GatewayMetrics.typeLabel(type);
    this.count(this.coreRequests, `core ${label} ${resultType}`, () => ({ type: label, result_type: resultType }));
    this.duration(this.coreDuration, `core ${label}`, { type: label }).observe(seconds);
  }

  observeRecordingLookup(source: string, outcome: string, seconds: number): void {
    this.recordingLookups.inc({ source, outcome });
    this.recordingLookupDuration.observe({ source }, seconds);
  }

  observeHttpRequest(route: string, method: string, status: number, seconds: number): void {
    this.count(this.httpRequests, `http ${route} ${method} ${status}`, () => ({ route, method, status: String(status) }));
    this.duration(this.httpDuration, `http ${route}`, { route }).observe(seconds);
  }

  /** A TYPE as a label value: catalog types as they are, anything else OTHER. */
  static typeLabel(type: string): string {
    return findCommand(type)?.type ?? 'OTHER';
  }
}
