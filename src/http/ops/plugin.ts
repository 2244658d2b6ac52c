/**
 * Operating the gateway: /livez, /readyz (503 while the core is unreachable), /metrics, a request
 * id on every answer (X-Request-Id, taken from the caller when sane), one structured log line per
 * request, and the HTTP metrics. Registered without encapsulation so its hooks see every route.
 */
import type { FastifyPluginAsync } from 'fastify';
import fp from 'fastify-plugin';
import type { GatewayMetrics } from './metrics.js';

export interface OpsOptions {
  metrics: GatewayMetrics;
  coreIsUp: () => boolean;
}

export const requestIdHeader = 'x-request-id';

const ops: FastifyPluginAsync<OpsOptions> = async (app, { metrics, coreIsUp }) => {
  // Callback hooks, not async ones: they run on every request, and a promise each costs.
  app.addHook('onRequest', (request, reply, done) => {
    reply.header(requestIdHeader, request.id);
    done();
  });
  app.addHook('onResponse', (request, reply, done) => {
    const route = request.routeOptions.url ?? 'unmatched';
    const seconds = reply.elapsedTime / 1000;
    metrics.observeHttpRequest(route, request.method, reply.statusCode, seconds);
    request.log.info({ method: request.method, route, status: reply.statusCode, ms: Math.round(reply.elapsedTime * 10) / 10 }, 'request');
    done();
  });

  app.get('/livez', { logLevel: 'warn' }, async () => ({ status: 'ok' }));
  app.get('/readyz', { logLevel: 'warn' }, async (_request, reply) => {
    if (coreIsUp()) return { status: 'ready', core: 'up' };
    return reply.code(503).header('retry-after', '5').send({ status: 'not ready', core: 'down' });
  });
  app.get('/metrics', { logLevel: 'warn' }, async (_request, reply) => {
    reply.type(metrics.registry.contentType);
    return metrics.registry.metrics();
  });
};

export const opsPlugin = fp(ops, { name: 'uptivity-ops' });
