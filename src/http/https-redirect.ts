/**
 * The plain HTTP port when TLS is configured and HTTP_MODE=redirect: every request is sent to the
 * same path on the HTTPS port (308 keeps the method and body), and nothing else is served there
 * but /livez, so that a health check on the plain port keeps working.
 */
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { securityHeadersPlugin } from './security-headers.js';

/** `httpsPort`: the HTTPS listener's port, asked when a request comes (it may be picked at listen). */
export function buildHttpsRedirect(options: { httpsPort: () => number; logger: FastifyBaseLogger }): FastifyInstance {
  const app = Fastify({ loggerInstance: options.logger, disableRequestLogging: true, routerOptions: { caseSensitive: false } }) as unknown as FastifyInstance;
  app.register(securityHeadersPlugin, { overHttps: false });
  app.get('/livez', async () => ({ status: 'ok' }));
  app.setNotFoundHandler((request, reply) => {
    // request.hostname is the Host header's name, which Fastify has checked; the port is ours.
    const location = `https://${request.hostname}:${options.httpsPort()}${request.url}`;
    return reply.code(308).header('location', location).send();
  });
  return app;
}
