/**
 * The browsable contract: the OpenAPI 3.1 document of the gateway, built by @fastify/swagger from
 * the routes' own schemas and served at /openapi.json, and Swagger UI at /docs. Swagger UI's
 * assets come from its package, and the page's Content-Security-Policy allows nothing but this
 * origin, so the page works where the gateway has no way out to the internet.
 *
 * Registered first and without encapsulation: @fastify/swagger learns routes from an onRoute hook,
 * which sees only the routes registered after it in its own context or below.
 */
import fastifySwagger from '@fastify/swagger';
import fastifySwaggerUi from '@fastify/swagger-ui';
import type { FastifyPluginAsync } from 'fastify';
import fp from 'fastify-plugin';
import type { OpenAPIV3_1 } from 'openapi-types';
import { packageManifest } from '../../package-manifest.js';
import { webApiPathItem, webApiTag } from '../webapi/openapi.js';
import { webApiPaths } from '../webapi/plugin.js';
import { problemSchema } from '../rest/schemas.js';

export const openApiPath = '/openapi.json';
export const docsPath = '/docs';

/** The groups of the REST surface under /api/v1, in the order Swagger UI lists them. */
const tags: OpenAPIV3_1.TagObject[] = [
  { name: 'calls', description: 'Calls on recorded devices: start, stop and update them (CALLSTART, CALLSTOP, CALLUPDATE).' },
  { name: 'recordings', description: 'Recordings: search them, update a finished one, start and stop partial recordings, download or email their media.' },
  { name: 'chats', description: 'Screen-capture-only recording sessions, identified by a session ID (CHATSTART, CHATSTOP, CHATUPDATE).' },
  { name: 'blackouts', description: 'Blackouts: pause the recording of a device or an agent, for privacy (BLACKOUTSTART, AGENTBLACKOUTSTART and their STOPs).' },
  { name: 'devices', description: 'Devices (extensions) and what they are recording (DEVICELIST, DEVICESTATUS, DEVICERECORDINGSTATUS).' },
  { name: 'system', description: 'The recording system: echo test, status, channels, stations and terminology.' },
  { name: 'agents', description: "Agents: the agent's window as screen recording last captured it (AGENTWINDOW)." },
  { name: 'users', description: 'Users of the recording system, agents among them (IMPORTUSER).' },
  { name: 'groups', description: 'Groups and their permissions.' },
  { name: 'roles', description: 'Roles, their permissions and their users.' },
  { name: 'commands', description: 'Any XML command by its TYPE, with its parameters as JSON: for what has no route of its own.' },
  { name: 'events', description: 'The event stream of the core (CALLCOPYEVENT messages).' },
  { name: 'webhooks', description: 'The events POSTed to URLs of your own, signed (Standard Webhooks), retried, in order per webhook.' },
  webApiTag,
  { name: 'ops', description: 'Operating the gateway: liveness, readiness and metrics.' },
];

/** The one envelope rule of the REST surface; the README says the same. */
const restAnswerRule = `Every success is a JSON object named after what it holds.
- **A read** answers its resource under its name: a list as an array (\`{"devices": [...]}\`, \`users\`, \`recordings\`, \`channels\`, \`stations\`, \`terms\`), one resource as an object (\`{"device": {...}}\`, \`recording\`, \`status\`, \`window\`). Lists within a record are arrays too, empty when there is none (\`phones\`, \`instances\`, \`processors\`); a count the array already says is not repeated.
- **A change** (POST, PUT, PATCH, DELETE) answers \`result\`, the core's own account of what it did (\`type\`, \`code\`, \`message\`: "CALLSTART sent to all of the following cores: 1", "group: Sales already exists"), with the identifiers the core gave (\`userId\`, \`groupId\`, \`roleId\`...). \`GET /system/test\` answers its \`result\` too.
- **Fields** are the XML names in camelCase, typed: numbers, booleans for Y/N and TRUE/FALSE, each time as the core wrote it with an ISO-8601 twin (\`startTime\`, \`startTimeIso\`). A field the core left blank, or wrote in a form that is not its type, is null. Each record carries the fields the manuals list for it, present when the core gave them; the response schemas list them.
- **Pages**: \`GET /api/v1/recordings\` answers \`{"recordings": [...], "next": "..."}\`, newest first, \`limit\` (default 100, at most 500) at a time. \`next\` (and the \`Link: <...>; rel="next"\` header) is the next page's URL with an opaque \`cursor\`; it is null on the last page. Following it walks every recording once, with no gap, while new ones are recorded.
- **Failures** are \`application/problem+json\` with \`resultType\` and \`resultCode\`.
- **The wire model**: \`POST /api/v1/commands/{type}\` answers the whole RESULT as JSON (\`requestId\`, \`result\` and every element the core wrote), for what the resources leave out.`;

const description = `${packageManifest.description}.

Three surfaces over one catalog of the XML API's commands:
- **REST/JSON** under \`/api/v1\`: resources and JSON Schemas derived from the catalog; failures are RFC 9457 problem details carrying the RESULTCODE.
- **WebAPI** (\`/webAPI.aspx\`): the legacy URL syntax, the core's XML RESULT returned verbatim.
- **ops**: \`/livez\`, \`/readyz\`, \`/metrics\`.

## REST answers
${restAnswerRule}

This document is generated from the routes' schemas and checked in as \`openapi/openapi.json\`.`;

/**
 * Everything the document may load, and where the page may send requests: this origin only.
 * Scripts and styles are the package's files, so no inline source or eval is needed either.
 */
const contentSecurityPolicy = [
  "default-src 'self'",
  "base-uri 'self'",
  "connect-src 'self'",
  "font-src 'self' data:",
  "form-action 'self'",
  "frame-ancestors 'self'",
  "img-src 'self' data:",
  "object-src 'none'",
  "script-src 'self'",
  "script-src-attr 'none'",
  "style-src 'self'",
].join('; ');

/** The document as /openapi.json serves it and `npm run openapi` writes it. */
export function openApiText(document: unknown): string {
  return `${JSON.stringify(document, null, 2)}\n`;
}

/** How a caller shows who it is: an API key in either header, or an OIDC access token. */
function securitySchemes(oidcIssuer: string | undefined): Record<string, OpenAPIV3_1.SecuritySchemeObject> {
  return {
    apiKey: { type: 'apiKey', in: 'header', name: 'X-API-Key', description: 'An API key of the gateway (upk_...), made with `uptivity-gateway keys create`.' },
    bearer: { type: 'http', scheme: 'bearer', description: 'An API key, or an access token of the OpenID provider the gateway trusts (OIDC_ISSUER).' },
    ...(oidcIssuer
      ? { oidc: { type: 'openIdConnect' as const, openIdConnectUrl: `${oidcIssuer.replace(/\/+$/, '')}/.well-known/openid-configuration`, description: 'Access tokens of the OpenID provider, with the operation\'s scopes.' } }
      : {}),
  };
}

export interface DocsOptions {
  /** OIDC_ISSUER: the document then offers OpenID Connect with each operation's scopes. */
  oidcIssuer?: string | undefined;
}

const docs: FastifyPluginAsync<DocsOptions> = async (app, { oidcIssuer }) => {
  const webApiRoutes = new Set<string>(webApiPaths);
  await app.register(fastifySwagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: packageManifest.name,
        version: packageManifest.version,
        description,
        license: { name: packageManifest.license, identifier: packageManifest.license },
      },
      // Relative: the server that serves the document, wherever it is deployed.
      servers: [{ url: '/', description: 'The gateway serving this document' }],
      tags,
      components: { securitySchemes: securitySchemes(oidcIssuer), schemas: { Problem: problemSchema as OpenAPIV3_1.SchemaObject } },
      // Every operation needs a credential unless it says otherwise (/livez, /readyz): in protected
      // mode, on loopback, the gateway lets callers in without one (see Access control).
      security: [{ apiKey: [] }, { bearer: [] }],
      // openapi-types' 3.1 PathItemObject intersects the 3.0 and 3.1 operation types, which no 3.1
      // schema satisfies; the validator in the tests is the judge of this part instead.
      paths: { [webApiPaths[0]]: webApiPathItem() } as OpenAPIV3_1.PathsObject,
    },
    // The WebAPI's routes are described by webApiPathItem, not by a schema (see there); its .php
    // twin is the same contract under another name and would only double every operation.
    // With an OpenID provider, an operation's scopes are its token's scopes.
    transform: ({ schema, url }) => {
      if (webApiRoutes.has(url)) return { schema: { ...schema, hide: true }, url };
      const scopes = (schema as { 'x-scopes'?: string[] } | undefined)?.['x-scopes'];
      if (!oidcIssuer || !scopes) return { schema, url };
      return { schema: { ...schema, security: [{ apiKey: [] }, { bearer: [] }, { oidc: scopes }] }, url };
    },
  });
  await app.register(fastifySwaggerUi, {
    routePrefix: docsPath,
    staticCSP: contentSecurityPolicy,
    theme: { title: `${packageManifest.name} API` },
    // BaseLayout leaves out the top bar: its box to load another document has no use here, and its
    // Swagger logo carries an inline <style> that the policy above rightly refuses.
    uiConfig: { layout: 'BaseLayout', docExpansion: 'list', deepLinking: true, displayOperationId: true },
  });

  let text: string | undefined;
  app.get(openApiPath, { schema: { hide: true } }, async (_request, reply) => {
    text ??= openApiText(app.swagger());
    return reply.type('application/json; charset=utf-8').send(text);
  });
};

export const docsPlugin = fp(docs, { name: 'uptivity-docs' });
