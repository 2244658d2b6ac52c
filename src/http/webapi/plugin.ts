/**
 * The WebAPI: `/webAPI.aspx` and `/webAPI.php` (paths match in any case) with the manual's
 * parameter semantics, GET or POST with parameters in the query string, a form body, or both.
 * Each call becomes one XML request to the core; the core's answer goes back verbatim as
 * `text/xml`, HTTP 200 whatever its RESULTCODE. What the gateway itself refuses, or cannot get an
 * answer to, is an XML RESULT of the documented table with a fitting HTTP status. One exception:
 * `type=events` from a caller that accepts `text/event-stream` gets the gateway's live event stream.
 */
import type { FastifyError, FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import type { Gatekeeper } from '../../access/gatekeeper.js';
import { findCommand, isValidRequestId, unknownTypeScope, type CommandSpec } from '../../protocol/catalog.js';
import { callerKey, challenge, identify, noteResult, refusal } from '../access/plugin.js';
import { ResultCode } from '../../protocol/result-codes.js';
import { buildRequest } from '../../protocol/xml.js';
import { askCore, type CoreSender } from '../core-call.js';
import { acceptsEventStream, webApiEventSelection } from '../events/selection.js';
import type { EventStreams } from '../events/stream.js';
import type { GatewayMetrics } from '../ops/metrics.js';
import type { Refusal } from '../media/exports.js';
import { mergeWebApiParams, type WebApiCall } from './parameters.js';
import { sendResult, xmlType } from './result-reply.js';
import { rewritePlaybackLinks, type PlaybackLinkOptions } from './playback-links.js';
import { grants } from '../../access/principal.js';

/** How the gateway serves the WebAPI's own functions (EXPORT, COMBINEDEXPORT, MULTIEXPORT). */
export type GatewayCommandHandler = (
  spec: CommandSpec,
  call: WebApiCall,
  request: FastifyRequest,
  reply: FastifyReply,
  refuse?: Refusal,
) => Promise<FastifyReply>;

export interface WebApiOptions {
  pool: CoreSender;
  /** Who callers are; `apikey=` is taken as a credential only with `webApiQueryKeys` (WEBAPI_QUERY_KEYS). */
  access: { gatekeeper: Gatekeeper; webApiQueryKeys: boolean };
  metrics: GatewayMetrics;
  coreTimeoutMs: number;
  /** Without it, those functions answer API_COMMAND_NOT_SUPPORTED. */
  gatewayCommands?: GatewayCommandHandler;
  /**
   * With it, `type=events` from a caller that accepts text/event-stream is answered with the live
   * event stream of /api/v1/events; without that Accept header it still goes to the core.
   */
  eventStreams?: EventStreams;
  /** PLAYBACK_LINK_BASE: CALLLIST's PLAYBACKLINKs become signed links of the gateway (playback-links.ts). */
  playbackLinks?: PlaybackLinkOptions | undefined;
}

export const webApiPaths = ['/webAPI.aspx', '/webAPI.php'] as const;

/** The largest form body accepted. */
const maxFormBytes = 1024 * 1024;
/**
 * The name/value pairs of a call: the query string first, then a form body. The query string is the
 * one Fastify already parsed (each name in its own casing, repeats as arrays), not parsed again.
 */
function callPairs(request: FastifyRequest): [string, string][] {
  const pairs = queryPairs(request);
  if (typeof request.body === 'string' && request.body.length > 0) pairs.push(...new URLSearchParams(request.body));
  return pairs;
}

/** What is wrong with a body Fastify refused, said in the WebAPI's terms. */
function bodyProblem(error: FastifyError, request: FastifyRequest): string | undefined {
  switch (error.code) {
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return `A call's body is a form (application/x-www-form-urlencoded), not ${String(request.headers['content-type']).slice(0, 100)}.`;
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return `A call's form body may hold at most ${maxFormBytes} bytes.`;
    default:
      return undefined;
  }
}

/** TYPE and REQUESTID of a call as its query string says them: what a refusal before the handler echoes. */
export function webApiHeaderOf(request: FastifyRequest): { type: string; requestId: string | undefined } {
  const merged = mergeWebApiParams(queryPairs(request));
  return merged.ok ? merged.call : merged;
}

function queryPairs(request: FastifyRequest): [string, string][] {
  const pairs: [string, string][] = [];
  for (const [name, value] of Object.entries((request.query ?? {}) as Record<string, string | string[]>)) {
    if (Array.isArray(value)) for (const v of value) pairs.push([name, v]);
    else pairs.push([name, value]);
  }
  return pairs;
}

export const webApiPlugin: FastifyPluginAsync<WebApiOptions> = async (app, { pool, metrics, coreTimeoutMs, gatewayCommands, eventStreams, access, playbackLinks }) => {
  const core = { pool, metrics, coreTimeoutMs };
  // The form body is kept raw: the duplicate rules need every name in its own casing and order.
  // Other bodies (JSON, text) are refused with 415 rather than silently ignored.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string', bodyLimit: maxFormBytes }, (_request, body, done) =>
    done(null, body),
  );

  // Not an async function: the answer is sent from the pool's callback, which spares the request
  // path a promise and Fastify's handling of it. Nor does it return `reply` while the answer is
  // pending: a reply is a thenable, and Fastify would hook a listener on the response to await it.
  const handler = (request: FastifyRequest, reply: FastifyReply): FastifyReply | Promise<FastifyReply> | undefined => {
    const merged = mergeWebApiParams(callPairs(request));
    if (!merged.ok) return sendResult(reply, 400, merged, ResultCode.API_INVALID_MESSAGE_FORMAT, merged.message);
    const { type, requestId, params } = merged.call;
    // A key in the URL (for clients that can only build URLs) is a credential, never a parameter:
    // it is not sent to the core, whether or not it is accepted.
    const queryKey = params.get('APIKEY');
    if (queryKey !== undefined) {
      params.delete('APIKEY');
      if (!access.webApiQueryKeys) {
        return sendResult(reply, 400, merged.call, ResultCode.API_INVALID_MESSAGE_FORMAT, 'apikey= is not accepted here: send the key as X-API-Key or Authorization: Bearer (or enable WEBAPI_QUERY_KEYS).');
      }
      // An API key is checked at once: no promise on this path.
      void identify(access.gatekeeper, request, 'webapi', queryKey);
    }
    // With WEBAPI_QUERY_KEYS a caller without a header credential is refused here, once the form
    // body that may carry its apikey= is read; otherwise it was refused before its body was read.
    if (request.accessRefusal) {
      const refused = request.accessRefusal;
      request.log.warn({ access: refused.detail, status: refused.status }, 'access refused');
      return sendResult(challenge(reply, refused), refused.status, merged.call, ResultCode.API_COMMAND_NOT_ALLOWED, refused.message);
    }
    if (!type) return sendResult(reply, 400, merged.call, ResultCode.API_INVALID_MESSAGE_FORMAT, 'The call has no type parameter.');
    const spec = findCommand(type);
    const refused = refusal(request, spec?.scope ?? unknownTypeScope, { type, spec, params });
    if (refused) return sendResult(reply, refused.status, merged.call, ResultCode.API_COMMAND_NOT_ALLOWED, refused.message);
    if (!isValidRequestId(requestId, spec?.minRequestId ?? 1)) {
      return sendResult(reply, 400, merged.call, ResultCode.API_REQUESTID_INVALID, 'REQUESTID must be a positive integer no larger than 2147483647.');
    }
    if (spec?.servedBy === 'event-port' && eventStreams && acceptsEventStream(request.headers.accept)) {
      const selection = webApiEventSelection(spec, merged.call.params, request.headers['last-event-id']);
      if ('problem' in selection) return sendResult(reply, 400, merged.call, selection.resultCode, selection.problem);
      return eventStreams.serve(
        reply,
        selection,
        (reason) =>
          reason === 'caller'
            ? sendResult(reply.header('retry-after', '5'), 429, merged.call, ResultCode.API_TOO_MANY_CLIENTS, 'This caller has as many event streams open as it may; close one first.')
            : sendResult(reply.header('retry-after', '5'), 503, merged.call, ResultCode.API_TOO_MANY_CLIENTS, 'The gateway serves no more event streams now; try again later.'),
        callerKey(request),
      );
    }
    if (spec?.servedBy === 'gateway') {
      if (gatewayCommands) return gatewayCommands(spec, merged.call, request, reply);
      return sendResult(reply, 501, merged.call, ResultCode.API_COMMAND_NOT_SUPPORTED, `${spec.type} is not available in this version of the gateway.`);
    }
    // Unknown types go to the core too: it is the authority on what it serves (API_UNKNOWN_MESSAGE_TYPE).
    const id = requestId!.trim();
    askCore(
      core,
      request,
      reply,
      { type, requestId: id, xml: buildRequest(type, id, params) },
      (answer) => {
        noteResult(request, answer.resultCode, answer.resultType);
        const principal = request.principal;
        if (playbackLinks && spec?.type === 'CALLLIST' && principal && grants(principal, 'recordings:export')) {
          reply.type(xmlType).send(rewritePlaybackLinks(answer.bytes, playbackLinks, { kind: principal.kind, name: principal.name }));
          return;
        }
        reply.type(xmlType).send(answer.bytes);
      },
      (failure) => {
        noteResult(request, failure.resultCode, undefined);
        sendResult(reply, failure.httpStatus, merged.call, failure.resultCode, failure.message);
      },
    );
    return undefined;
  };

  // What Fastify refuses before the handler (a body of another type, too large, not decodable) and
  // anything that throws is an XML RESULT too, echoing what the query string says of the call.
  // Unexpected failures are logged and described without their internals.
  app.setErrorHandler((error: FastifyError, request, reply) => {
    const header = webApiHeaderOf(request);
    const status = error.statusCode;
    // Past a caller's rate: the queue of what it may send is full, in the table's words.
    if (status === 429) return sendResult(reply, 429, header, ResultCode.API_COMMAND_QUEUE_FULL, error.message);
    if (status !== undefined && status >= 400 && status < 500) {
      return sendResult(reply, status, header, ResultCode.API_INVALID_MESSAGE_FORMAT, bodyProblem(error, request) ?? error.message);
    }
    request.log.error({ err: error }, 'request failed');
    return sendResult(reply, 500, header, ResultCode.API_ERROR_PROCESSING_MESSAGE, 'The gateway failed to handle the call; see its log.');
  });

  // HEAD is safe in HTTP (link checkers and prefetchers send it freely), but a GET of the WebAPI
  // may start a call: HEAD is refused rather than carried out with its body thrown away.
  const refuseHead = (_request: FastifyRequest, reply: FastifyReply): FastifyReply =>
    reply.code(405).header('allow', 'GET, POST').send();
  for (const url of webApiPaths) {
    app.route({ method: ['GET', 'POST'], url, handler, exposeHeadRoute: false, config: { access: 'webapi' } });
    app.route({ method: 'HEAD', url, handler: refuseHead });
  }
};
