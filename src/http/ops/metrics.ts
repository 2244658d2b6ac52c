/**
 * The gateway's Prometheus metrics (prom-client), in a registry of their own so that several
 * gateways in one process (tests) do not share counters. Label values are bounded: routes are
 * route patterns, TYPE is a catalog type or OTHER.
 */
import client from 'prom-client';
import { findCommand } from '../../protocol/catalog.js';

export class GatewayMetrics {
  readonly registry = new client.Registry();
  readonly httpRequests = new client.Counter({
    name: 'uptivity_http_requests_total',
    help: 'HTTP requests answered, by route pattern, method and status.',
    labelNames: ['route', 'method', 'status'] as const,
    registers: [this.registry],
  });
  readonly httpDuration = new client.Histogram({
    name: 'uptivity_http_request_duration_seconds',
    help: 'Time to answer an HTTP request, by route pattern.',
    labelNames: ['route'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });
  readonly coreRequests = new client.Counter({
    name: 'uptivity_core_requests_total',
    help: 'Requests to the XML core, by TYPE and the RESULTTYPE answered (or the failure: TIMEOUT, UNAVAILABLE...).',
    labelNames: ['type', 'result_type'] as const,
    registers: [this.registry],
  });
  readonly coreDuration = new client.Histogram({
    name: 'uptivity_core_request_duration_seconds',
    help: 'Round trip of a request to the XML core, queueing included, by TYPE.',
    labelNames: ['type'] as const,
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });
  readonly poolConnections: client.Gauge<'state'>;
  readonly poolQueueDepth: client.Gauge;
  readonly coreUp: client.Gauge;

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
    this.coreUp = new client.Gauge({
      name: 'uptivity_core_up',
      help: '1 while the XML core is reachable, else 0.',
      registers: [this.registry],
      collect() {
        this.set(poolStats().up ? 1 : 0);
      },
    });
  }

  private readonly coreChildren = new Map<string, { duration: client.Histogram.Internal<'type'>; results: Map<string, client.Counter.Internal> }>();

  /**
   * Record one core request. Label children are looked up once per TYPE and RESULTTYPE: resolving
   * labels on every observation is a measurable part of a request's cost.
   */
  observeCoreRequest(type: string, resultType: string, seconds: number): void {
    const label = GatewayMetrics.typeLabel(type);
    let children = this.coreChildren.get(label);
    if (!children) {
      children = { duration: this.coreDuration.labels({ type: label }), results: new Map() };
      this.coreChildren.set(label, children);
    }
    let counter = children.results.get(resultType);
    if (!counter) {
      counter = this.coreRequests.labels({ type: label, result_type: resultType });
      children.results.set(resultType, counter);
    }
    counter.inc();
    children.duration.observe(seconds);
  }

  private readonly httpChildren = new Map<string, { count: client.Counter.Internal; duration: client.Histogram.Internal<'route'> }>();

  observeHttpRequest(route: string, method: string, status: number, seconds: number): void {
    const key = `${route} ${method} ${status}`;
    let children = this.httpChildren.get(key);
    if (!children) {
      children = {
        count: this.httpRequests.labels({ route, method, status: String(status) }),
        duration: this.httpDuration.labels({ route }),
      };
      this.httpChildren.set(key, children);
    }
    children.count.inc();
    children.duration.observe(seconds);
  }

  /** A TYPE as a label value: catalog types as they are, anything else OTHER. */
  static typeLabel(type: string): string {
    return findCommand(type)?.type ?? 'OTHER';
  }
}
