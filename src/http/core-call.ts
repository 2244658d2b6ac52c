/**
 * One request to the XML core on behalf of an HTTP caller, the same for every surface: timed and
 * counted by TYPE and RESULTTYPE, and a failure described once (status, RESULTCODE, message,
 * Retry-After) for the surface to render in its own format (XML RESULT, problem+json).
 * Callbacks rather than a promise: this is the hot path of the WebAPI.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { CoreError, type CoreAnswer, type CorePool } from '../core/pool.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** How the core request of this call failed (TIMEOUT, UNAVAILABLE...), for its log line. */
    coreFailure: string | undefined;
  }
}
import { describeCoreFailure, type CoreFailure } from './core-failures.js';
import type { GatewayMetrics } from './ops/metrics.js';

/** What a surface sends its core requests through: the pool, or the pool behind what the gateway answers itself. */
export type CoreSender = Pick<CorePool, 'send'>;

export interface CoreCallDependencies {
  pool: CoreSender;
  metrics: GatewayMetrics;
  coreTimeoutMs: number;
}

export interface CoreCall {
  type: string;
  requestId: string;
  xml: string;
}

export function askCore(
  deps: CoreCallDependencies,
  request: FastifyRequest,
  reply: FastifyReply,
  call: CoreCall,
  answered: (answer: CoreAnswer) => void,
  failed: (failure: CoreFailure) => void,
): void {
  sendCounted(deps, call, answered, (error, failure) => {
    // Said in the request's own line (RequestRecorder); the pool's failures are summarised apart.
    request.coreFailure = failure.label;
    // Not a CoreError: a defect of the gateway, whose stack is what finds it.
    if (!(error instanceof CoreError)) request.log.error({ err: error, type: call.type }, 'core request failed');
    if (failure.retryAfterSeconds) reply.header('retry-after', String(failure.retryAfterSeconds));
    failed(failure);
  });
}

/**
 * The same request as a promise, for a surface that asks the core several times for one call (the
 * pages of recordings). Rejects with the pool's error, which describeCoreFailure reads.
 */
export function askCoreAsync(deps: CoreCallDependencies, call: CoreCall): Promise<CoreAnswer> {
  return new Promise((resolve, reject) => sendCounted(deps, call, resolve, (error) => reject(error)));
}

function sendCounted(deps: CoreCallDependencies, call: CoreCall, answered: (answer: CoreAnswer) => void, failed: (error: unknown, failure: CoreFailure) => void): void {
  const started = performance.now();
  deps.pool.send(
    call,
    (answer) => {
      deps.metrics.observeCoreRequest(call.type, answer.resultType || 'NONE', (performance.now() - started) / 1000);
      answered(answer);
    },
    (error: unknown) => {
      const failure = describeCoreFailure(error, deps.coreTimeoutMs);
      deps.metrics.observeCoreRequest(call.type, failure.label, (performance.now() - started) / 1000);
      failed(error, failure);
    },
  );
}
