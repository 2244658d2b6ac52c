/**
 * The REST surface derived from the catalog: each command's routes (RestRoute hints) become
 * operations with their JSON Schemas, summaries, descriptions and examples. Routes that several
 * commands share (POST /blackouts/start: BLACKOUTSTART or AGENTBLACKOUTSTART) become one operation
 * whose variant field picks the command. Pure: the plugin registers what this returns.
 */
import { commands, type CommandSpec, type ParamSpec, type RestRoute } from '../../protocol/catalog.js';
import { jsonName } from '../../protocol/json-names.js';
import { pageLimits } from '../../recordings/recording-pages.js';
import { answerExample, answerSchema, restAnswerOf } from './resources.js';
import { exampleValue, paramSchema, problemSchemaRef, requestIdSchema, type FieldPlace, type JsonSchema } from './schemas.js';

export const restPrefix = '/api/v1';

/** A command behind an operation, and how the caller's fields map onto its parameters. */
export interface CommandBinding {
  spec: CommandSpec;
  route: RestRoute;
  /** Every field the caller may give, path parameters included, by JSON name. */
  fields: ReadonlyMap<string, ParamSpec>;
  pathFields: readonly string[];
}

export interface RestOperation {
  method: RestRoute['method'];
  /** Fastify's form: /devices/:deviceId (under restPrefix). */
  url: string;
  /** OpenAPI's form: /devices/{deviceId}. */
  path: string;
  /** Where the fields other than path parameters travel. */
  place: 'query' | 'body';
  bindings: readonly CommandBinding[];
  /** The field telling variants apart, when several commands share the operation. */
  variantField: string | undefined;
  /** Serves a download rather than JSON. */
  media: boolean;
  /** The query fields of a paged list (`limit`, `cursor`), which are the walk's, not the command's. */
  pageFields: readonly string[];
  schema: JsonSchema;
}

const fieldName = (route: RestRoute, param: ParamSpec): string => route.rename?.[param.name] ?? jsonName(param.name);

function bind(spec: CommandSpec, route: RestRoute): CommandBinding {
  const pathFields = [...route.path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]!);
  const fields = new Map<string, ParamSpec>();
  for (const field of pathFields) {
    const param = spec.params.find((p) => fieldName(route, p) === field);
    if (!param) throw new Error(`${spec.type}: path parameter {${field}} of ${route.path} names no parameter`);
    fields.set(field, param);
  }
  for (const param of spec.params) {
    if (route.fixed?.[param.name] !== undefined) continue;
    if (route.only ? !route.only.includes(param.name) : route.omit?.includes(param.name)) continue;
    fields.set(fieldName(route, param), param);
  }
  return { spec, route, fields, pathFields };
}

/** Required fields and at-least-one-of groups the caller must fill, as JSON Schema keywords. */
function requirements(binding: CommandBinding): { required: string[]; anyOfGroups: string[][] } {
  const { spec, route } = binding;
  const given = new Set<string>([...Object.keys(route.fixed ?? {}), ...Object.keys(route.defaults ?? {})]);
  for (const field of binding.pathFields) given.add(binding.fields.get(field)!.name);
  const byWire = new Map([...binding.fields].filter(([field]) => !binding.pathFields.includes(field)).map(([field, p]) => [p.name, field]));
  const required = spec.required.filter((name) => !given.has(name) && byWire.has(name)).map((name) => byWire.get(name)!);
  const anyOfGroups = spec.atLeastOneOf
    .filter((group) => !group.some((name) => given.has(name)))
    .map((group) => group.filter((name) => byWire.has(name)).map((name) => byWire.get(name)!))
    .filter((group) => group.length > 0);
  return { required, anyOfGroups };
}

function example(binding: CommandBinding, place: FieldPlace): Record<string, unknown> {
  const { required, anyOfGroups } = requirements(binding);
  const chosen = new Set([...required, ...anyOfGroups.map((group) => group[0]!)]);
  for (const field of binding.fields.keys()) {
    if (chosen.size >= Math.max(3, required.length + anyOfGroups.length)) break;
    if (!binding.pathFields.includes(field)) chosen.add(field);
  }
  const out: Record<string, unknown> = {};
  for (const field of chosen) out[field] = exampleValue(binding.fields.get(field)!, place);
  if (binding.route.variant && !binding.route.variant.isDefault) out[binding.route.variant.field] = binding.route.variant.value;
  return out;
}

function operationId(method: string, path: string): string {
  const words = path
    .split('/')
    .filter(Boolean)
    .map((segment) => (segment.startsWith('{') ? `by ${segment.slice(1, -1)}` : segment))
    .flatMap((segment) => segment.split(/[\s-]+/));
  return [method.toLowerCase(), ...words.map((w) => w[0]!.toUpperCase() + w.slice(1))].join('');
}

function describe(bindings: readonly CommandBinding[]): string {
  return bindings
    .map(({ spec, route }) => {
      const variant = route.variant ? `With \`${route.variant.field}=${route.variant.value}\`: ` : '';
      const fixed = Object.entries(route.fixed ?? {}).map(([name, value]) => `${name}=${value}`);
      const command = `XML command ${spec.type}${fixed.length > 0 ? ` (${fixed.join(', ')})` : ''}`;
      return `${variant}${spec.description} ${command}.`;
    })
    .join('\n\n');
}

function mediaResponses(): JsonSchema {
  const binary = { schema: { type: 'string', format: 'binary' } };
  return {
    200: {
      description: 'The media, streamed. WAV, PCM and VOX of WAV sources have a Content-Length and honour Range.',
      content: { 'audio/wav': binary, 'audio/mpeg': binary, 'audio/mp4': binary, 'audio/webm': binary, 'audio/ogg': binary, 'application/zip': binary, 'application/octet-stream': binary },
    },
    206: { description: 'The byte range asked for.', content: { 'audio/wav': binary, 'application/octet-stream': binary } },
  };
}

function jsonResponses(bindings: readonly CommandBinding[]): JsonSchema {
  const answers = bindings.map((b) => restAnswerOf(b.spec, b.route));
  const schemas = [...new Map(answers.map((answer) => { const schema = answerSchema(answer); return [JSON.stringify(schema), schema] as const; })).values()];
  const paged = answers.some((answer) => answer.kind === 'resource' && answer.resource.paged);
  return {
    200: {
      description: answers[0]!.kind === 'resource'
        ? `The ${answers.map((a) => (a.kind === 'resource' ? a.resource.name : '')).join(' or ')}${paged ? ', one page of them' : ''}.`
        : "The core's result, and the identifiers it gave.",
      // @fastify/swagger reads each header as its schema.
      ...(paged ? { headers: { Link: { type: 'string', description: 'The next page: `<url>; rel="next"`, absent on the last page.' } } } : {}),
      content: { 'application/json': { schema: schemas.length === 1 ? schemas[0]! : { anyOf: schemas }, example: answerExample(answers[0]!) } },
    },
  };
}

/** `limit` and `cursor`, the query fields of a paged list. */
const pageFieldSchemas: Record<string, JsonSchema> = {
  limit: {
    type: 'integer',
    minimum: 1,
    maximum: pageLimits.maxLimit,
    default: pageLimits.defaultLimit,
    description: `Recordings per page, newest first (default ${pageLimits.defaultLimit}, at most ${pageLimits.maxLimit}).`,
  },
  cursor: {
    type: 'string',
    maxLength: 64,
    pattern: '^[A-Za-z0-9_-]+$',
    description: 'Where the previous page ended: take it from that page\'s `next` link, with the same filters.',
  },
};

/**
 * The parameters of a signed link (POST /recordings/{recordId}/links) on the media route of one
 * recording. The access hook checks them and takes them off the query before the route sees it.
 */
const signedLinkPath = '/recordings/{recordId}/media';
const signedLinkFieldSchemas: Record<string, JsonSchema> = {
  expires: { type: 'string', pattern: '^[0-9]{1,12}$', description: 'Of a signed link: when it expires, UNIX seconds. Sent as the link gives it, with signature.' },
  signature: {
    type: 'string',
    maxLength: 2048,
    pattern: '^[A-Za-z0-9_.-]+$',
    description: 'Of a signed link: the signature that lets the link in without another credential. A link with a parameter changed or added is refused (403).',
  },
};

const problem = (description: string): JsonSchema => ({ description, content: { 'application/problem+json': { schema: problemSchemaRef } } });

const problemResponses: JsonSchema = {
  401: problem('No credential, or one that is not valid: an API key as X-API-Key or Authorization: Bearer, or an access token (WWW-Authenticate says so).'),
  403: problem("The credential lacks the operation's scope, or a caller without one is outside loopback (protected mode) or on another site's page."),
  429: problem("Past the caller's rate limit: Retry-After and the RateLimit headers say when to try again."),
  '4XX': problem('The request was refused: bad input 400, not found 404, conflict 409...'),
  '5XX': problem('The core could not be reached (503), did not answer in time (504) or failed.'),
};

function operation(method: RestRoute['method'], path: string, bindings: CommandBinding[]): RestOperation {
  const place: 'query' | 'body' = method === 'GET' || method === 'DELETE' ? 'query' : 'body';
  const media = bindings.some((b) => b.spec.servedBy === 'gateway');
  const first = bindings[0]!;
  const variantField = first.route.variant?.field;

  const properties: Record<string, JsonSchema> = {};
  const params: Record<string, JsonSchema> = {};
  for (const binding of bindings) {
    for (const [field, param] of binding.fields) {
      if (binding.pathFields.includes(field)) params[field] ??= paramSchema(param, 'path');
      else properties[field] ??= paramSchema(param, place);
    }
  }
  if (variantField) {
    properties[variantField] = {
      type: 'string',
      enum: bindings.map((b) => b.route.variant!.value),
      description: `${first.route.variant!.description} Default: ${bindings.find((b) => b.route.variant?.isDefault)?.route.variant?.value}.`,
    };
  }
  if (!media) properties['requestId'] = requestIdSchema;
  if (media && path === signedLinkPath) Object.assign(properties, signedLinkFieldSchemas);
  const pageFields = bindings.some((b) => b.route.answer?.paged) ? Object.keys(pageFieldSchemas) : [];
  for (const field of pageFields) properties[field] = pageFieldSchemas[field]!;

  const fields: JsonSchema = { type: 'object', properties, additionalProperties: false };
  if (bindings.length === 1) {
    const { required, anyOfGroups } = requirements(first);
    if (required.length > 0) fields['required'] = required;
    // Said in words, not as anyOf branches of `required` alone: generated clients (openapi-typescript)
    // make such a body `unknown`. The handler checks the groups all the same (checkParams, 400).
    if (anyOfGroups.length > 0) {
      fields['description'] = anyOfGroups.map((group) => `At least one of ${group.map((name) => `\`${name}\``).join(', ')} is required.`).join(' ');
    }
  }
  const examples = bindings.map((binding) => example(binding, place));
  if (place === 'body') fields['examples'] = examples;
  else {
    // Query parameters carry their own example, which Swagger UI puts in its "Try it out" form.
    for (const [field, value] of Object.entries(examples[0]!)) {
      if (properties[field]) properties[field] = { ...properties[field], examples: [value] };
    }
  }
  for (const [field, param] of first.fields) {
    if (params[field]) params[field] = { ...params[field], examples: [exampleValue(param, 'path')] };
  }

  const summary = bindings.length === 1 ? (first.route.summary ?? first.spec.summary) : first.route.summary ?? bindings.map((b) => b.spec.summary).join(' / ');
  const scopes = [...new Set(bindings.map((b) => b.spec.scope))];
  const schema: JsonSchema = {
    summary,
    description: `${describe(bindings)}\n\nNeeds the scope ${scopes.map((scope) => `\`${scope}\``).join(' or ')} (or \`*\`).`,
    // The scopes a caller needs, for the security requirements the document states.
    'x-scopes': scopes,
    tags: [path.split('/')[1]!],
    operationId: operationId(method, path),
    ...(Object.keys(params).length > 0
      ? { params: { type: 'object', properties: params, required: Object.keys(params), additionalProperties: false } }
      : {}),
    [place === 'body' ? 'body' : 'querystring']: fields,
    response: { ...(media ? mediaResponses() : jsonResponses(bindings)), ...problemResponses },
    ...(bindings.every((b) => b.spec.deprecated) ? { deprecated: true } : {}),
  };
  return { method, url: path.replace(/\{(\w+)\}/g, ':$1'), path, place, bindings, variantField, media, pageFields, schema };
}

/** Every operation of the REST surface but the escape hatch and the event stream. */
export function restOperations(specs: readonly CommandSpec[] = commands): RestOperation[] {
  const grouped = new Map<string, CommandBinding[]>();
  for (const spec of specs) {
    for (const route of spec.rest) {
      const key = `${route.method} ${route.path}`;
      const list = grouped.get(key) ?? [];
      list.push(bind(spec, route));
      grouped.set(key, list);
    }
  }
  return [...grouped].map(([key, bindings]) => {
    const [method, path] = key.split(' ') as [RestRoute['method'], string];
    if (bindings.length > 1 && !bindings.every((b) => b.route.variant && b.route.variant.field === bindings[0]!.route.variant!.field)) {
      throw new Error(`${key} serves ${bindings.map((b) => b.spec.type).join(', ')} without a variant field telling them apart`);
    }
    return operation(method, path, bindings);
  });
}
