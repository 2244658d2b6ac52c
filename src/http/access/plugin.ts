/**
 * The one hook that applies `access/` to every route: each route says in its config which surface
 * it is (`access: 'webapi' | 'rest' | 'events' | 'metrics'`); the caller is identified before its
 * body is read, and each surface asks `refusal(request, scope)` once it knows the command, so the
 * scope comes from the catalog wherever the command arrives. Routes without `access` (/livez,
 * /readyz, /docs) are open. A refusal's reason for the log is logged here; the caller gets the
 * surface's own format (an XML RESULT on the WebAPI, problem+json on REST).
 */
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { AccessRefused, grants, type Principal } from '../../access/principal.js';
import type { Gatekeeper, Presented } from '../../access/gatekeeper.js';
import type { Scope } from '../../protocol/catalog.js';

export type AccessSurface = Presented['surface'];

declare module 'fastify' {
  interface FastifyRequest {
    /** Who the caller is, on a route that asks. */
    principal: Principal | undefined;
    /** Why the caller is not let in, on a route that asks: every surface refuses it in its format. */
    accessRefusal: AccessRefused | undefined;
  }
  interface FastifyContextConfig {
    access?: AccessSurface;
  }
}

export interface AccessOptions {
  gatekeeper: Gatekeeper;
  /**
   * WEBAPI_QUERY_KEYS: a WebAPI caller may send its key as `apikey=`, in a form body too, so one
   * without a header credential is refused by the WebAPI once it has read the call.
   */
  webApiQueryKeys: boolean;
}

function header(request: FastifyRequest, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

export function presentedOf(request: FastifyRequest, surface: AccessSurface, apiKey?: string): Presented {
  return {
    authorization: header(request, 'authorization'),
    apiKey: apiKey ?? header(request, 'x-api-key'),
    address: request.ip,
    origin: header(request, 'origin'),
    secFetchSite: header(request, 'sec-fetch-site'),
    selfOrigin: request.headers.host ? `${request.protocol}://${request.headers.host}` : undefined,
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
 * Why the caller of `request` may not do what needs `scope` (403), or undefined when it may. The
 * caller is known: one that is not was refused before its route ran.
 */
export function refusal(request: FastifyRequest, scope: Scope): AccessRefused | undefined {
  const principal = request.principal;
  if (principal && grants(principal, scope)) return undefined;
  const held = principal ? [...principal.scopes].join(', ') || 'none' : 'none';
  const refused = new AccessRefused(403, `This needs the scope ${scope}; ${principal?.name ?? 'the caller'} has ${held}.`);
  request.log.warn({ access: refused.detail, status: 403, scope, credential: principal?.name }, 'access refused');
  return refused;
}

/** The challenge of a 401 (RFC 6750): which credential the gateway takes. */
export function challenge(reply: FastifyReply, refused: AccessRefused): FastifyReply {
  if (refused.status === 401) reply.header('www-authenticate', 'Bearer realm="uptivity-gateway"');
  return reply;
}

/** How each surface tells a caller it is not let in: in its own format. */
export type RefusalRenderer = (request: FastifyRequest, reply: FastifyReply, refused: AccessRefused) => void;

const access: FastifyPluginAsync<AccessOptions & { render: Readonly<Record<AccessSurface, RefusalRenderer>> }> = async (app, { gatekeeper, webApiQueryKeys, render }) => {
  app.decorateRequest('principal', undefined);
  app.decorateRequest('accessRefusal', undefined);
  const settle = (request: FastifyRequest, reply: FastifyReply, surface: AccessSurface, done: () => void): void => {
    const refused = request.accessRefusal;
    if (!refused || (surface === 'webapi' && webApiQueryKeys && refused.status === 401)) return done();
    request.log.warn({ access: refused.detail, status: refused.status }, 'access refused');
    render[surface](request, challenge(reply, refused), refused);
  };
  // onRequest: before any body is read, so a caller who is not let in costs no parsing.
  app.addHook('onRequest', (request, reply, done) => {
    const surface = request.routeOptions.config?.access;
    if (surface === undefined) return done();
    const pending = identify(gatekeeper, request, surface);
    if (!pending) return settle(request, reply, surface, done);
    pending.then(() => settle(request, reply, surface, done), done);
  });
};

export const accessPlugin = fp(access, { name: 'uptivity-access' });
