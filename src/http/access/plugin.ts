/**
 * The one hook that applies `access/` to every route: each route says in its config which surface
 * it is (`access: 'webapi' | 'rest' | 'events' | 'metrics'`); the caller is identified before its
 * body is read (by its credential; on the media route by a signed link, on the event stream by a
 * ticket: each stands for the credential that made it, and opens that route alone), and each
 * surface asks `refusal(request, scope)` once it knows the command, so the scope comes from the
 * catalog wherever the command arrives. Routes without `access` (/livez,
 * /readyz, /docs) are open. A refusal's reason for the log is logged here; the caller gets the
 * surface's own format (an XML RESULT on the WebAPI, problem+json on REST).
 */
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { AccessRefused, grants, type Principal } from '../../access/principal.js';
import type { Gatekeeper, Presented } from '../../access/gatekeeper.js';
import { auditIdentifiers, type AuditTrail } from '../../access/audit.js';
import type { EventTickets } from '../../access/event-tickets.js';
import { mediaLinkParams, type MediaLinks } from '../../access/media-links.js';
import type { CommandSpec, Scope } from '../../protocol/catalog.js';
import { resultTypeOf } from '../../protocol/result-codes.js';

export type AccessSurface = Presented['surface'];

/** What a surface tells the audit trail of the command a request carries. */
export interface AuditNote {
  type: string;
  action: 'command' | 'export' | 'email' | 'read' | 'refused' | 'link';
  params: ReadonlyMap<string, string>;
  resultCode?: number | undefined;
  resultType?: string | undefined;
  /** Bytes an export sent so far. */
  bytes?: () => number;
  /** The scope that was missing, for a refusal. */
  reason?: string;
}

declare module 'fastify' {
  interface FastifyRequest {
    /** Who the caller is, on a route that asks. */
    principal: Principal | undefined;
    /** The command it carries, for the audit trail. */
    audit: AuditNote | undefined;
    /** Why the caller is not let in, on a route that asks: every surface refuses it in its format. */
    accessRefusal: AccessRefused | undefined;
  }
  interface FastifyContextConfig {
    access?: AccessSurface;
  }
}

export interface AccessOptions {
  gatekeeper: Gatekeeper;
  /** Where mutating commands, exports, emails and refusals for lack of scope are written. */
  auditTrail?: AuditTrail | undefined;
  /**
   * WEBAPI_QUERY_KEYS: a WebAPI caller may send its key as `apikey=`, in a form body too, so one
   * without a header credential is refused by the WebAPI once it has read the call.
   */
  webApiQueryKeys: boolean;
  /** Signed media links: without it, a media route's `signature=` is refused like any bad credential. */
  links?: MediaLinks | undefined;
  /** Event tickets: without it, the event stream's `ticket=` is refused. */
  tickets?: EventTickets | undefined;
}

/** The route a signed link opens (Fastify's form, under /api/v1), GET and HEAD. */
export const signedMediaRoute = '/api/v1/recordings/:recordId/media';
/** The route an event ticket opens, GET. */
export const ticketedEventsRoute = '/api/v1/events';

/** The query string of a URL, without its `?`. */
function queryOf(url: string): string {
  const at = url.indexOf('?');
  return at < 0 ? '' : url.slice(at + 1);
}

function header(request: FastifyRequest, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

export function presentedOf(request: FastifyRequest, surface: AccessSurface, apiKey?: string): Presented {
  const origin = header(request, 'origin');
  return {
    authorization: header(request, 'authorization'),
    apiKey: apiKey ?? header(request, 'x-api-key'),
    address: request.ip,
    origin,
    secFetchSite: header(request, 'sec-fetch-site'),
    // Only a request that names an origin is compared with the gateway's own.
    selfOrigin: origin !== undefined && request.headers.host ? `${request.protocol}://${request.headers.host}` : undefined,
    surface,
  };
}

/** Identify the caller of `request` on `surface` into request.principal or request.accessRefusal. */
export function identify(gatekeeper: Gatekeeper, request: FastifyRequest, surface: AccessSurface, apiKey?: string): void | Promise<void> {
  const refused = (error: unknown): void => {
    if (!(error instanceof AccessRefused)) throw error;
    request.principal = undefined;
    request.accessRefusal = error;
  };
  try {
    const principal = gatekeeper.identify(presentedOf(request, surface, apiKey));
    if (!(principal instanceof Promise)) {
      request.principal = principal;
      request.accessRefusal = undefined;
      return;
    }
    return principal.then((p) => {
      request.principal = p;
      request.accessRefusal = undefined;
    }, refused);
  } catch (error) {
    refused(error);
  }
}

/**
 * The audit action of a command, from its catalog entry: what takes recordings out is an export
 * when the gateway serves it (EXPORT...) and an email when the core does (EMAIL...); reads are not
 * written unless refused.
 */
function actionOf(spec: CommandSpec | undefined): AuditNote['action'] {
  if (!spec) return 'command';
  if (spec.scope === 'recordings:export') return spec.servedBy === 'gateway' ? 'export' : 'email';
  return spec.mutates ? 'command' : 'read';
}

/**
 * Why the caller of `request` may not send a command that needs `scope` (403), or undefined when
 * it may; the command is noted for the audit trail either way. The caller is known: one that is
 * not was refused before its route ran.
 */
export function refusal(request: FastifyRequest, scope: Scope, command?: { type: string; spec: CommandSpec | undefined; params: ReadonlyMap<string, string> }): AccessRefused | undefined {
  if (command) request.audit = { type: command.spec?.type ?? command.type, action: actionOf(command.spec), params: command.params };
  const principal = request.principal;
  if (principal && grants(principal, scope)) return undefined;
  const held = principal ? [...principal.scopes].join(', ') || 'none' : 'none';
  const refused = new AccessRefused(403, `This needs the scope ${scope}; ${principal?.name ?? 'the caller'} has ${held}.`);
  request.log.warn({ access: refused.detail, status: 403, scope, credential: principal?.name }, 'access refused');
  if (request.audit) Object.assign(request.audit, { action: 'refused', reason: scope });
  return refused;
}

/**
 * Who to count a request against, for rate limits and shares: its credential, or its address when
 * it came in without one (protected mode, a network rule).
 */
export function callerKey(request: FastifyRequest): string {
  const principal = request.principal;
  return principal && !principal.credentialLess ? `${principal.kind}:${principal.name}` : `address:${request.ip}`;
}

/** The RESULTCODE a command was answered with, for its audit line. */
export function noteResult(request: FastifyRequest, resultCode: number | undefined, resultType: string | undefined): void {
  if (!request.audit) return;
  request.audit.resultCode = resultCode;
  request.audit.resultType = resultType || (resultCode === undefined ? undefined : resultTypeOf(resultCode));
}

/** The challenge of a 401 (RFC 6750): which credential the gateway takes. */
export function challenge(reply: FastifyReply, refused: AccessRefused): FastifyReply {
  if (refused.status === 401) reply.header('www-authenticate', 'Bearer realm="uptivity-gateway"');
  return reply;
}

/**
 * A request of the media route that carries a link's parameters is judged as a link, and only as a
 * link (whatever else it carries): the principal is the link's creator with `recordings:export`, for
 * that recording in that format. The link's own parameters leave the query once checked, so the
 * route sees the format alone, as it would from a caller with a key.
 */
function identifyByLink(links: MediaLinks | undefined, gatekeeper: Gatekeeper, request: FastifyRequest, query: string): void {
  const recordId = (request.params as { recordId?: string }).recordId ?? '';
  try {
    if (!links) throw new AccessRefused(403, 'This gateway does not take signed links.');
    const grant = links.verify(recordId, query);
    const principal = gatekeeper.linkPrincipal(grant.creator, 'recordings:export');
    if (!principal) {
      throw new AccessRefused(403, 'This link is not valid: ask for a new one.', `signed link refused: the key ${grant.creator.name} that made it is revoked, expired or no longer has recordings:export`);
    }
    request.principal = principal;
    request.accessRefusal = undefined;
    request.query = { format: grant.format };
  } catch (error) {
    if (!(error instanceof AccessRefused)) throw error;
    request.principal = undefined;
    request.accessRefusal = error;
  }
}

/** A request of the event stream with `ticket=`: the ticket's principal, the ticket used up. */
async function identifyByTicket(tickets: EventTickets | undefined, request: FastifyRequest, given: string[]): Promise<void> {
  try {
    if (!tickets) throw new AccessRefused(403, 'This gateway does not take event tickets.');
    if (given.length !== 1) throw new AccessRefused(403, 'One ticket, once.', `${given.length} tickets in one request`);
    request.principal = await tickets.redeem(given[0]!);
    request.accessRefusal = undefined;
    delete (request.query as Record<string, unknown>)['ticket'];
  } catch (error) {
    if (!(error instanceof AccessRefused)) throw error;
    request.principal = undefined;
    request.accessRefusal = error;
  }
}

/** How each surface tells a caller it is not let in: in its own format. */
export type RefusalRenderer = (request: FastifyRequest, reply: FastifyReply, refused: AccessRefused) => void;

/** A route's hooks of one kind, as a list. */
function hooksOf<T>(hooks: T | T[] | undefined): T[] {
  return hooks === undefined ? [] : Array.isArray(hooks) ? hooks : [hooks];
}

const access: FastifyPluginAsync<AccessOptions & { render: Readonly<Record<AccessSurface, RefusalRenderer>> }> = async (app, { gatekeeper, webApiQueryKeys, render, auditTrail, links, tickets }) => {
  app.decorateRequest('principal', undefined);
  app.decorateRequest('accessRefusal', undefined);
  app.decorateRequest('audit', undefined);
  const settle = (request: FastifyRequest, reply: FastifyReply, surface: AccessSurface, done: () => void): void => {
    const refused = request.accessRefusal;
    if (!refused || (surface === 'webapi' && webApiQueryKeys && refused.status === 401)) return done();
    request.log.warn({ access: refused.detail, status: refused.status }, 'access refused');
    render[surface](request, challenge(reply, refused), refused);
  };
  /** Once the answer is out: its status, the core's RESULTCODE, the bytes an export sent. */
  const audit = (surface: AccessSurface) => (request: FastifyRequest, reply: FastifyReply, done: () => void) => {
    const note = request.audit;
    if (auditTrail && note && note.action !== 'read' && surface !== 'metrics') {
      const format = note.params.get('MEDIA_FORMAT');
      auditTrail.record({
        requestId: String(request.id),
        credential: request.principal?.name ?? 'anonymous',
        client: request.ip,
        surface,
        type: note.type,
        action: note.action,
        identifiers: auditIdentifiers(note.params),
        ...(format ? { format } : {}),
        outcome: { status: reply.statusCode, ...(note.resultCode !== undefined ? { resultCode: note.resultCode } : {}), ...(note.resultType ? { resultType: note.resultType } : {}) },
        ...(note.bytes ? { bytes: note.bytes() } : {}),
        ...(note.reason ? { reason: note.reason } : {}),
        ...(request.principal?.via ? { via: request.principal.via === 'link' ? ('signed-link' as const) : ('event-ticket' as const) } : {}),
      });
    }
    done();
  };
  // The hooks go on the routes that say which surface they are, when they are made: open routes
  // (/livez, /readyz, /docs) carry none, and no request pays for reading its route's options.
  app.addHook('onRoute', (route) => {
    const surface = route.config?.access;
    if (surface === undefined) {
      // Nor are they counted by the rate limit.
      route.config = { ...route.config, rateLimit: false };
      return;
    }
    // onRequest, first: before any body is read, so a caller who is not let in costs no parsing,
    // and before the rate limit, which counts by credential.
    const identifyCaller = (request: FastifyRequest, reply: FastifyReply, done: (error?: Error) => void): void => {
      const pending = identify(gatekeeper, request, surface);
      if (!pending) return settle(request, reply, surface, done);
      pending.then(() => settle(request, reply, surface, done), done);
    };
    const url = route.url.toLowerCase();
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    let first = identifyCaller;
    if (url === signedMediaRoute.toLowerCase() && methods.every((m) => m === 'GET' || m === 'HEAD')) {
      // Only here is a link a credential: anywhere else its parameters are unknown fields, refused.
      first = (request, reply, done) => {
        const query = queryOf(request.url);
        const params = query === '' ? undefined : new URLSearchParams(query);
        if (!params || !mediaLinkParams.some((name) => name !== 'format' && params.has(name))) return identifyCaller(request, reply, done);
        identifyByLink(links, gatekeeper, request, query);
        settle(request, reply, surface, done);
      };
    } else if (url === ticketedEventsRoute.toLowerCase() && methods.every((m) => m === 'GET' || m === 'HEAD')) {
      first = (request, reply, done) => {
        const query = queryOf(request.url);
        // Parsed as the route will parse it: a percent-encoded name is the same name.
        const given = query === '' ? [] : new URLSearchParams(query).getAll('ticket');
        if (given.length === 0) return identifyCaller(request, reply, done);
        identifyByTicket(tickets, request, given).then(() => settle(request, reply, surface, done), done);
      };
    }
    route.onRequest = [first, ...hooksOf(route.onRequest)] as typeof route.onRequest;
    if (auditTrail) route.onResponse = [...hooksOf(route.onResponse), audit(surface)] as typeof route.onResponse;
  });
};

export const accessPlugin = fp(access, { name: 'uptivity-access' });
