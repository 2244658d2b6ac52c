/**
 * Operating the gateway: /livez, /readyz (503 while calls cannot be served, with why) and /metrics. The
 * request id, the log line and the HTTP metrics of every request are the RequestRecorder's.
 */
import type { FastifyPluginAsync, FastifyReply } from 'fastify';
import fp from 'fastify-plugin';
import type { CoreReadiness } from '../../core/pool.js';
import type { RecordingSourceStatus } from '../../recordings/recording.js';
import { recordingSourceOrder } from '../../recordings/recording.js';
import { ResultCode } from '../../protocol/result-codes.js';
import { refusal } from '../access/plugin.js';
import { sendProblem } from '../rest/problem.js';
import type { GatewayMetrics } from './metrics.js';

export interface OpsOptions {
  metrics: GatewayMetrics;
  /** Whether calls can be served now, and if not why: the core pool's check, and shutting down. */
  readiness: () => Promise<CoreReadiness>;
  /** Whether Redis (REDIS_URL) answers, reported by /readyz; calls and exports do not need it, so it does not decide readiness. */
  sharedState?: (() => 'up' | 'down') | undefined;
  /** Where exports find recordings, reported by /readyz; they do not decide readiness. */
  recordingSources?: (() => RecordingSourceStatus[]) | undefined;
  /** METRICS_AUTH: /metrics needs the metrics scope (/livez and /readyz stay open). */
  metricsAuth?: boolean;
}

// The routes' schemas serialize their answers and document them in the OpenAPI document.
const opsTags = ['ops'];

const livezSchema = {
  operationId: 'getLivez',
  // Open to anyone: probes carry no credential.
  security: [],
  summary: 'Liveness: the process serves HTTP',
  description: "200 as long as the gateway answers HTTP. It does not look at the core (that is /readyz), so that an orchestrator does not restart the gateway for the core's outage.",
  tags: opsTags,
  response: {
    200: {
      description: 'The gateway is alive.',
      type: 'object',
      required: ['status'],
      properties: { status: { type: 'string', enum: ['ok'] } },
      examples: [{ status: 'ok' }],
    },
  },
};

const recordingSourcesSchema = {
  type: 'array',
  description: 'Where exports find recordings, in the order the sources are tried, and whether each is in use.',
  items: {
    type: 'object',
    required: ['name', 'active', 'detail'],
    properties: {
      name: { type: 'string', enum: [...recordingSourceOrder] },
      active: { type: 'boolean' },
      detail: { type: 'string' },
    },
  },
};

const readinessSchema = (status: string, core: string) => ({
  type: 'object',
  required: ['status', 'core', ...(status === 'ready' ? [] : ['reason'])],
  properties: {
    status: { type: 'string', enum: [status] },
    core: { type: 'string', enum: [core] },
    ...(status === 'ready' ? {} : { reason: { type: 'string', description: 'Why calls cannot be served now.' } }),
    redis: { type: 'string', enum: ['up', 'down'], description: 'With REDIS_URL: whether Redis answers (shared rate limits are not counted while it does not).' },
    recordings: recordingSourcesSchema,
  },
  examples: [
    {
      status,
      core,
      ...(status === 'ready' ? {} : { reason: 'the core did not answer TEST: no answer within 2000 ms' }),
      recordings: [
        { name: 'recordinginfo', active: false, detail: 'the XML core does not answer RECORDINGINFO (API_UNKNOWN_MESSAGE_TYPE), as a real API Server' },
        { name: 'index', active: true, detail: 'RECORDINGSTOPPED and RECORDINGUPDATE of the event port, kept in data/gateway/recording-index.sqlite for 400 days (1520 recordings)' },
      ],
    },
  ],
});

const readyzSchema = {
  operationId: 'getReadyz',
  security: [],
  summary: 'Readiness: the XML core answers',
  description:
    'Whether the gateway can serve calls now: 200 when the XML core answers a TEST within CORE_PROBE_TIMEOUT_MS; 503 with Retry-After and the reason when it does not (down, hung), when a request has waited past CORE_STALL_MS, or while the gateway shuts down. Checks within a second share one TEST.',
  tags: opsTags,
  response: {
    200: { description: 'The core is up.', ...readinessSchema('ready', 'up') },
    503: {
      description: 'Calls cannot be served now; `reason` says why.',
      headers: { 'retry-after': { type: 'integer', description: 'Seconds before asking again.' } },
      ...readinessSchema('not ready', 'down'),
    },
  },
};

const metricsSchema = (contentType: string, metricsAuth: boolean) => ({
  operationId: 'getMetrics',
  // Open unless METRICS_AUTH, then with the metrics scope.
  ...(metricsAuth ? { 'x-scopes': ['metrics'] } : { security: [] }),
  summary: 'Prometheus metrics',
  description: 'HTTP requests by route, method and status; XML core requests by type and result; the connections and queue of the core pool; whether the core is up; exports; the process. In the Prometheus text format.',
  tags: opsTags,
  response: {
    200: {
      description: 'The metrics, in the Prometheus text exposition format.',
      content: {
        [contentType]: {
          schema: {
            type: 'string',
            examples: ['# HELP uptivity_core_up 1 while the XML core is reachable, else 0.\n# TYPE uptivity_core_up gauge\nuptivity_core_up 1\n'],
          },
        },
      },
    },
  },
});

const ops: FastifyPluginAsync<OpsOptions> = async (app, { metrics, readiness, sharedState, recordingSources, metricsAuth }) => {
  app.get('/livez', { logLevel: 'warn', schema: livezSchema }, async () => ({ status: 'ok' }));
  app.get('/readyz', { logLevel: 'warn', schema: readyzSchema }, async (_request, reply) => {
    const recordings = { ...(sharedState ? { redis: sharedState() } : {}), ...(recordingSources ? { recordings: recordingSources() } : {}) };
    const now = await readiness();
    if (now.ready) return { status: 'ready', core: 'up', ...recordings };
    return reply.code(503).header('retry-after', '1').send({ status: 'not ready', core: 'down', reason: now.reason, ...recordings });
  });
  app.get('/metrics', { logLevel: 'warn', schema: metricsSchema(metrics.registry.contentType, metricsAuth ?? false), ...(metricsAuth ? { config: { access: 'metrics' } } : {}) }, async (request, reply) => {
    if (metricsAuth) {
      const refused = refusal(request, 'metrics');
      if (refused) return sendProblem(reply as FastifyReply, refused.status, { resultCode: ResultCode.API_COMMAND_NOT_ALLOWED, detail: refused.message });
    }
    reply.type(metrics.registry.contentType);
    return metrics.registry.metrics();
  });
};

export const opsPlugin = fp(ops, { name: 'uptivity-ops' });
