/**
 * What the gateway records of every HTTP request: the request id returned in X-Request-Id, one
 * structured log line when the response is done, and the HTTP metrics.
 *
 * This is Fastify's LogController, the documented place to customize its per-request log lines,
 * rather than a pair of onRequest/onResponse hooks: Fastify calls the controller directly at the
 * start and the end of every request, where hooks would cost each request two hook runs.
 */
import { LogController, type FastifyReply, type FastifyRequest } from 'fastify';
import type { GatewayMetrics } from './metrics.js';
import { redactUrl } from './log-redaction.js';

export const requestIdHeader = 'x-request-id';

export class RequestRecorder extends LogController {
  constructor(
    private readonly metrics: GatewayMetrics,
    /** True while the gateway shuts down. */
    private readonly draining: () => boolean = () => false,
  ) {
    super();
  }

  /** Replaces Fastify's "incoming request" line: the completion line says it all. */
  override incomingRequest(request: FastifyRequest, reply: FastifyReply): void {
    reply.header(requestIdHeader, request.id);
    // Shutting down: each keep-alive connection closes after its answer, so that none is idle when
    // the server stops (a request sent on an idle connection as it closes would get no answer).
    if (this.draining()) reply.header('connection', 'close');
  }

  /** Replaces Fastify's "request completed" line with the gateway's own, and counts the request. */
  override requestCompleted(error: Error | null | undefined, request: FastifyRequest, reply: FastifyReply): void {
    const route = request.routeOptions.url ?? 'unmatched';
    const ms = reply.elapsedTime;
    this.metrics.observeHttpRequest(route, request.method, reply.statusCode, ms / 1000);
    const line: Record<string, unknown> = { method: request.method, route, status: reply.statusCode, ms: Math.round(ms * 10) / 10 };
    if (request.coreFailure !== undefined) line.coreFailure = request.coreFailure;
    if (error) request.log.error({ ...line, err: error }, 'request');
    else request.log.info(line, 'request');
  }

  /**
   * Fastify's own 404 (left only where a not-found handler itself calls for one) would log the raw
   * URL, query string and all.
   */
  override routeNotFound(request: FastifyRequest): void {
    request.log.info({ method: request.method, url: redactUrl(request.url) }, 'no route');
  }
}
