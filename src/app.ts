/**
 * Builds the gateway's Fastify instance from its configuration and its core pool: used by main.ts
 * and by the tests, which give it a pool onto a simulator of their own.
 */
import { randomBytes } from 'node:crypto';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyReply, type FastifyRequest, type FastifyServerOptions } from 'fastify';
import type { AuditTrail } from './access/audit.js';
import { Gatekeeper } from './access/gatekeeper.js';
import { EventTickets, type TicketLedger } from './access/event-tickets.js';
import { MediaLinks } from './access/media-links.js';
import { SigningKeys } from './access/signing-keys.js';
import { registerCors, type CorsOptions } from './http/access/cors.js';
import { recordingMediaPath } from './http/rest/recording-media.js';
import type { AccessRefused } from './access/principal.js';
import rateLimit, { type RateLimitOptions } from '@fastify/rate-limit';
import type { SharedState } from './cluster/redis.js';
import { accessPlugin, callerKey } from './http/access/plugin.js';
import { securityHeadersPlugin } from './http/security-headers.js';
import { sendProblem } from './http/rest/problem.js';
import { sendResult } from './http/webapi/result-reply.js';
import { webApiHeaderOf } from './http/webapi/plugin.js';
import { ResultCode } from './protocol/result-codes.js';
import { pino, type DestinationStream } from 'pino';
import type { CorePool, CoreReadiness } from './core/pool.js';
import type { LiveEvents } from './core/event-feed.js';
import { consolePlugin } from './http/console/plugin.js';
import { docsPlugin } from './http/docs/plugin.js';
import { eventsPlugin } from './http/events/plugin.js';
import { EventStreams, type EventStreamOptions } from './http/events/stream.js';
import { buildLazyValidator } from './http/lazy-validators.js';
import { answerClientError } from './http/webapi/client-errors.js';
import { GatewayMetrics } from './http/ops/metrics.js';
import { opsPlugin } from './http/ops/plugin.js';
import { RequestRecorder, requestIdHeader } from './http/ops/request-record.js';
import { redactLogLine, redactUrl, redactedLogPaths, redactedValue } from './http/ops/log-redaction.js';
import { webApiPlugin } from './http/webapi/plugin.js';
import { restPlugin } from './http/rest/plugin.js';
import { restPrefix } from './http/rest/operations.js';
import { exportHandler, type ExportOptions } from './http/media/exports.js';
import { answeringRecordingInfo } from './http/recording-info.js';
import { webhookRoutes } from './http/webhooks/plugin.js';
import type { Webhooks } from './webhooks/webhooks.js';

export interface AppDependencies {
  pool: CorePool;
  coreTimeoutMs: number;
  /** Shared when several listeners (HTTP and HTTPS) serve one gateway. */
  metrics?: GatewayMetrics;
  /** Shared by the listeners of one gateway; by default a synchronous logger at `logLevel`. */
  logger?: FastifyBaseLogger;
  logLevel?: string;
  https?: { cert: Buffer; key: Buffer };
  /** Exports need to know where recordings are; without this they answer API_COMMAND_NOT_SUPPORTED. */
  exports?: Omit<ExportOptions, 'metrics' | 'coreTimeoutMs'>;
  /**
   * Who callers are and what they may do. Without it the gateway is in protected mode: loopback
   * callers only, with every scope.
   */
  access?: { gatekeeper: Gatekeeper; webApiQueryKeys: boolean; metricsAuth: boolean; auditTrail?: AuditTrail; oidcIssuer?: string };
  /**
   * Requests per window for each credential (a key may set its own), or address without one; the
   * store is @fastify/rate-limit's (in memory by default; a shared one for several replicas).
   */
  rateLimit?: { max: number; windowMs: number; store?: RateLimitOptions['store'] };
  /**
   * REDIS_URL: state shared with the other replicas (rate-limit counters). Without it each replica
   * keeps its own. Its state is reported by /readyz, which it does not decide.
   */
  shared?: SharedState;
  /**
   * The live events the listeners of this gateway share: its one subscription to the core's event
   * port, or with REDIS_URL its copy of the log all replicas share. Without it /api/v1/events is not
   * served and the WebAPI's type=events goes to the core as before.
   */
  events?: EventStreamOptions & { subscription: LiveEvents };
  /** True once the gateway is shutting down: /readyz fails so that load balancers stop sending. */
  draining?: () => boolean;
  /**
   * Signed media links and event tickets (signedAccess(keys)); shared by the listeners of one
   * gateway, so a ticket is used once across them. By default signed with a key made for this app.
   */
  signed?: SignedAccess;
  /** CORS_ORIGINS and CORS_WEBAPI; without it, no CORS header is sent. */
  cors?: CorsOptions;
  /**
   * PLAYBACK_LINK_BASE: signed links are absolute under it, and CALLLIST's PLAYBACKLINK on the
   * WebAPI becomes one (of `format`, for `lifetimeSeconds`) for callers that may export.
   */
  playbackLinks?: { base: string; lifetimeSeconds: number; format: string };
  /** Webhook subscriptions and deliveries (webhooks/); without it, /api/v1/webhooks is not served. */
  webhooks?: Webhooks;
}

/** What LINK_SIGNING_KEY signs: media links and event tickets. */
export interface SignedAccess {
  links: MediaLinks;
  tickets: EventTickets;
}

/** `ledger`: where used event tickets are recorded (default: this process; shared: cluster/ticket-ledger). */
export function signedAccess(keys: SigningKeys, ledger?: TicketLedger): SignedAccess {
  return { links: new MediaLinks({ keys, pathOf: recordingMediaPath }), tickets: new EventTickets({ keys, ...(ledger ? { ledger } : {}) }) };
}

const requestIdPattern = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * Ids the gateway gives: a random prefix per process and a sequence number, unique across restarts
 * and replicas without drawing random bytes for every request.
 */
function requestIdSource(): () => string {
  const prefix = randomBytes(6).toString('hex');
  let sequence = 0;
  return () => `${prefix}-${(++sequence).toString(36)}`;
}

/**
 * The gateway's logger: JSON lines on `destination` (stdout by default). No line carries a secret
 * (http/ops/log-redaction): request URLs are redacted where they are serialized, credential headers
 * by path, and every finished line once more for what Fastify and libraries write of their own.
 */
export function createLogger(level: string, destination?: DestinationStream): FastifyBaseLogger {
  const options = {
    level,
    serializers: {
      req: (req: { method: string; url: string }) => ({ method: req.method, url: redactUrl(req.url) }),
    },
    redact: { paths: [...redactedLogPaths], censor: redactedValue },
    hooks: { streamWrite: redactLogLine },
  };
  return destination ? pino(options, destination) : pino(options);
}

/** Without an access configuration: protected mode, loopback callers only. */
const protectedGatekeeper = new Gatekeeper({ open: false, keys: undefined, tokens: undefined, webApiNetworks: undefined, allowedOrigins: new Set() });

const refuseAsProblem = (_request: FastifyRequest, reply: FastifyReply, refused: AccessRefused): void =>
  void sendProblem(reply, refused.status, { resultCode: ResultCode.API_COMMAND_NOT_ALLOWED, detail: refused.message });

export function buildApp(deps: AppDependencies): FastifyInstance {
  const newRequestId = requestIdSource();
  const metrics = deps.metrics ?? new GatewayMetrics(() => deps.pool.stats);
  const options: FastifyServerOptions = {
    // Clients in the field call /Webapi.aspx.
    routerOptions: { caseSensitive: false },
    bodyLimit: 1024 * 1024,
    requestTimeout: 60_000,
    // Closing, requests still arriving on open connections are served (with Connection: close),
    // not refused: a rolling restart must cost no caller an error.
    return503OnClosing: false,
    logController: new RequestRecorder(metrics, deps.draining),
    genReqId: (req) => {
      const given = req.headers[requestIdHeader];
      return typeof given === 'string' && requestIdPattern.test(given) ? given : newRequestId();
    },
    loggerInstance: deps.logger ?? createLogger(deps.logLevel ?? 'info'),
    // A REST body with a field its schema does not know is refused, not silently stripped.
    ajv: { customOptions: { removeAdditional: false, allowUnionTypes: true } },
    schemaController: { compilersFactory: { buildValidator: buildLazyValidator } },
    clientErrorHandler: answerClientError,
  };
  // TLS 1.2 at least: 1.0 and 1.1 are broken and no client worth serving needs them.
  const https = deps.https && { ...deps.https, minVersion: 'TLSv1.2' as const };
  const app = Fastify((https ? { ...options, https } : options) as FastifyServerOptions) as unknown as FastifyInstance;
  app.decorateRequest('coreFailure', undefined);
  app.register(securityHeadersPlugin, { overHttps: https !== undefined });
  // Fastify's own 404 logs the raw URL, query string and all, and echoes it in its body.
  app.setNotFoundHandler((request, reply) => {
    request.log.info({ method: request.method, url: redactUrl(request.url) }, 'no route');
    const path = redactUrl(request.url.split('?')[0]);
    return sendProblem(reply, 404, { resultCode: ResultCode.API_INVALID_REQUEST_TYPE, detail: `No route ${request.method} ${path}; see /docs.` });
  });
  const access = deps.access ?? { gatekeeper: protectedGatekeeper, webApiQueryKeys: false, metricsAuth: false };
  const signed = deps.signed ?? signedAccess(new SigningKeys());
  app.register(accessPlugin, {
    gatekeeper: access.gatekeeper,
    webApiQueryKeys: access.webApiQueryKeys,
    auditTrail: access.auditTrail,
    links: signed.links,
    tickets: signed.tickets,
    render: {
      webapi: (request, reply, refused) => sendResult(reply, refused.status, webApiHeaderOf(request), ResultCode.API_COMMAND_NOT_ALLOWED, refused.message),
      rest: refuseAsProblem,
      events: refuseAsProblem,
      metrics: refuseAsProblem,
    },
  });
  // After the access plugin, whose onRoute hook must see the OPTIONS route @fastify/cors adds (open,
  // not rate-limited); its own hook runs before the access hook of each route.
  if (deps.cors) registerCors(app, deps.cors);
  if (deps.rateLimit) {
    const { max, windowMs, store } = deps.rateLimit;
    app.register(rateLimit, {
      // After the access hook, which knows the caller; open routes (/livez, /readyz, /docs) are not
      // counted (the access plugin marks them).
      hook: 'onRequest',
      keyGenerator: callerKey,
      max: (request) => request.principal?.rateLimit?.max ?? max,
      timeWindow: (request) => request.principal?.rateLimit?.windowMs ?? windowMs,
      // RateLimit-Limit, -Remaining, -Reset and Retry-After on a 429; not on every answer, where
      // three more headers cost each request more than counting it does.
      enableDraftSpec: true,
      addHeadersOnExceeding: { 'ratelimit-limit': false, 'ratelimit-remaining': false, 'ratelimit-reset': false },
      ...(store ? { store } : {}),
      // Shared by the replicas: a limit of N is N in all, not N per replica. While Redis cannot be
      // reached the calls go on, uncounted, rather than fail for a counter.
      ...(deps.shared ? { redis: deps.shared.redis, nameSpace: `${deps.shared.prefix}rate-limit:`, skipOnError: true } : {}),
      // Thrown to the route's error handler, which answers in its surface's format.
      errorResponseBuilder: (_request, context) => Object.assign(new Error(`Too many requests: at most ${context.max} in this caller's window; try again in ${context.after}.`), { statusCode: 429 }),
    });
  }
  app.register(docsPlugin, { oidcIssuer: access.oidcIssuer });
  app.register(consolePlugin);
  const catalog = deps.exports?.catalog;
  if (catalog) metrics.recordingSources = () => catalog.statuses();
  const readiness = (): Promise<CoreReadiness> =>
    deps.draining?.() ? Promise.resolve({ ready: false, reason: 'the gateway is shutting down' }) : deps.pool.readiness();
  const shared = deps.shared;
  app.register(opsPlugin, {
    metrics,
    readiness,
    ...(shared ? { sharedState: () => (shared.up ? ('up' as const) : ('down' as const)) } : {}),
    recordingSources: catalog && (() => catalog.statuses()),
    metricsAuth: access.metricsAuth,
  });
  const gatewayCommands = deps.exports && exportHandler({ ...deps.exports, metrics, coreTimeoutMs: deps.coreTimeoutMs });
  let eventStreams: EventStreams | undefined;
  if (deps.events) {
    const { subscription } = deps.events;
    eventStreams = new EventStreams(subscription, deps.events);
    metrics.liveEvents = () => {
      const stats = subscription.stats;
      return { listeners: stats.listeners, received: stats.received, dropped: stats.dropped, up: stats.upstream === 'up' };
    };
    metrics.watchEventStreams(eventStreams);
    app.register(eventsPlugin, { streams: eventStreams, tickets: signed.tickets });
    // Event streams never end by themselves: end them, or close() would wait on them for ever.
    const streams = eventStreams;
    app.addHook('preClose', (done) => {
      streams.closeAll();
      done();
    });
  }
  // RECORDINGINFO is the gateway's to answer, from where it finds recordings for exports.
  const core = catalog ? answeringRecordingInfo(deps.pool, catalog) : deps.pool;
  const playbackLinks = deps.playbackLinks && { ...deps.playbackLinks, links: signed.links };
  app.register(webApiPlugin, { pool: core, metrics, coreTimeoutMs: deps.coreTimeoutMs, gatewayCommands, eventStreams, access, playbackLinks });
  app.register(restPlugin, {
    prefix: restPrefix,
    pool: core,
    metrics,
    coreTimeoutMs: deps.coreTimeoutMs,
    gatewayCommands,
    links: { links: signed.links, publicBase: deps.playbackLinks?.base },
  });
  if (deps.webhooks) app.register(webhookRoutes, { webhooks: deps.webhooks });
  return app;
}
