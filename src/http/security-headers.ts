/**
 * The security headers of every answer (media and event streams included), as helmet writes them:
 * no MIME sniffing, no framing, no referrer, and HSTS on HTTPS. helmet decides the headers and
 * their values; they do not depend on the request, so it is asked once at startup and each answer
 * gets the list. Running helmet's middleware on every request (as @fastify/helmet does) cost
 * 17-25% of a hello-world's throughput on this machine for four headers, measured side by side.
 * The rest of helmet's set is for pages; /docs sets its own Content-Security-Policy.
 */
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import helmet, { type HelmetOptions } from 'helmet';
import type { IncomingMessage, ServerResponse } from 'node:http';

function optionsFor(overHttps: boolean): HelmetOptions {
  return {
    contentSecurityPolicy: false,
    crossOriginEmbedderPolicy: false,
    crossOriginOpenerPolicy: false,
    crossOriginResourcePolicy: false,
    originAgentCluster: false,
    xDnsPrefetchControl: false,
    xDownloadOptions: false,
    xPermittedCrossDomainPolicies: false,
    xXssProtection: false,
    strictTransportSecurity: overHttps ? { maxAge: 31_536_000 } : false,
    xFrameOptions: { action: 'deny' },
    referrerPolicy: { policy: 'no-referrer' },
    xContentTypeOptions: true,
  };
}

/** The headers helmet sets for these options, in its order. */
export function securityHeaders(overHttps: boolean): [name: string, value: string][] {
  const headers: [string, string][] = [];
  const response = {
    setHeader: (name: string, value: string) => void headers.push([name, String(value)]),
    removeHeader: () => undefined,
  } as unknown as ServerResponse;
  helmet(optionsFor(overHttps))({} as IncomingMessage, response, () => undefined);
  return headers;
}

export const securityHeadersPlugin = fp(
  async (app: FastifyInstance, { overHttps }: { overHttps: boolean }) => {
    const headers = securityHeaders(overHttps);
    // Among the reply's own headers, not on the raw response: one header set on the raw response
    // sends Node's writeHead down its slow path, where every header of the answer (type, length,
    // request id) is set on the raw response again, checked and lower-cased one by one, some 0.7 µs
    // of a WebAPI call's 50. A hijacked reply (a media export) copies the reply's headers to the
    // raw response, and an event stream is sent as a reply: both carry them still.
    app.addHook('onRequest', (_request, reply, done) => {
      for (const [name, value] of headers) reply.header(name, value);
      done();
    });
  },
  { name: 'uptivity-security-headers' },
);
