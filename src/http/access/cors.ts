/**
 * CORS for browser pages of the sites in CORS_ORIGINS (@fastify/cors), on the REST API, the media
 * routes and the event stream (everything under /api/v1), and on the WebAPI only with CORS_WEBAPI:
 * its callers are programs, and a site it never answered should not start reading its answers on
 * an upgrade. A listed origin is echoed back, never `*`, and no credentials mode is offered: the
 * gateway takes credentials in headers (Authorization, X-API-Key), which a page sends without one,
 * and sets no cookie. An origin not listed gets no CORS header at all (its preflight is a 404), so
 * its page cannot read an answer nor send a header that needs a preflight.
 *
 * The CORS hook runs before the access hook (global hooks before route hooks): a preflight, which
 * carries no credential, is answered before anyone asks for one, and a refusal (401, 403, 429)
 * carries the CORS headers, so the page can read why.
 */
import cors from '@fastify/cors';
import type { FastifyInstance } from 'fastify';
import type { OriginList } from '../../access/origins.js';
import { webApiPaths } from '../webapi/plugin.js';

/** How long a browser may keep a preflight's answer: 2 hours, Chromium's ceiling (Firefox takes up to a day). */
export const corsMaxAgeSeconds = 7200;

/** What a page may read of an answer beyond the safelisted headers. */
export const corsExposedHeaders = [
  'Content-Disposition',
  'Content-Range',
  'Accept-Ranges',
  'Content-Length',
  'ETag',
  'Link',
  'X-Request-Id',
  'Retry-After',
  'RateLimit-Limit',
  'RateLimit-Remaining',
  'RateLimit-Reset',
  'WWW-Authenticate',
] as const;

/** What a page may send. */
export const corsAllowedHeaders = ['Authorization', 'X-API-Key', 'Content-Type', 'Range', 'If-Range', 'If-None-Match', 'Last-Event-ID', 'X-Request-Id'] as const;
export const corsAllowedMethods = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'] as const;

export interface CorsOptions {
  origins: OriginList;
  /** CORS_WEBAPI: the WebAPI's paths too. */
  webApi: boolean;
}

const webApiPathSet: ReadonlySet<string> = new Set(webApiPaths.map((p) => p.toLowerCase()));

/** Whether CORS applies to a path (without its query). The router ignores case, so does this. */
function coveredPath(path: string, webApi: boolean): boolean {
  const lower = path.toLowerCase();
  if (lower === '/api/v1' || lower.startsWith('/api/v1/')) return true;
  return webApi && webApiPathSet.has(lower);
}

export function registerCors(app: FastifyInstance, { origins, webApi }: CorsOptions): void {
  if (origins.size === 0) return;
  // Routes outside /api/v1 (and the WebAPI unless asked) are marked, and @fastify/cors leaves them
  // alone: no CORS header, not even Vary: Origin, so their answers stay as they were.
  app.addHook('onRoute', (route) => {
    if (route.url !== '*' && !coveredPath(route.url, webApi)) route.config = { ...route.config, cors: false } as typeof route.config;
  });
  // A preflight goes to the one OPTIONS route @fastify/cors adds, for every path: one for a path
  // outside CORS is answered here, before that plugin's hook, as the path no route serves that it is.
  app.addHook('onRequest', (request, reply, done) => {
    if (request.method === 'OPTIONS' && !coveredPath(request.url.split('?', 1)[0]!, webApi)) return reply.callNotFound();
    done();
  });
  app.register(cors, {
    // The page's own origin, echoed; `false` sends no CORS header at all.
    origin: (origin: string | undefined, done: (error: Error | null, allow: string | false) => void) => done(null, origin !== undefined && origins.has(origin) ? origin : false),
    // Strings, not arrays: joined once here rather than on every answer.
    methods: corsAllowedMethods.join(', '),
    allowedHeaders: corsAllowedHeaders.join(', '),
    exposedHeaders: corsExposedHeaders.join(', '),
    credentials: false,
    maxAge: corsMaxAgeSeconds,
    strictPreflight: true,
  });
}
