/**
 * The OpenAPI document as a running gateway serves it: the same bytes as the checked-in
 * openapi/openapi.json, valid OpenAPI 3.1 by the specification's own JSON Schema, clean by
 * Redocly's recommended lint rules, and every operation documented well enough to use it.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { Validator } from '@seriousme/openapi-schema-validator';
import { createConfig, lintFromString } from '@redocly/openapi-core';
import { restOperations, restPrefix } from '../../src/http/rest/operations.js';
import { packageRoot } from '../../src/package-manifest.js';
import { startTestGateway, type TestGateway } from './gateway-harness.js';

const checkedIn = path.join(packageRoot, 'openapi', 'openapi.json');

let gw: TestGateway;
let served: string;
let document: OpenApiDocument;

before(async () => {
  // Webhooks too, as main.ts serves them.
  gw = await startTestGateway({}, {}, { webhooks: {} });
  const response = await fetch(`${gw.url}/openapi.json`);
  assert.equal(response.status, 200);
  assert.match(response.headers.get('content-type') ?? '', /^application\/json/);
  served = await response.text();
  document = JSON.parse(served) as OpenApiDocument;
});
after(async () => {
  await gw.close();
});

interface Operation {
  operationId?: string;
  summary?: string;
  description?: string;
  parameters?: Record<string, unknown>[];
  requestBody?: { content?: Record<string, Record<string, unknown>> };
  responses?: Record<string, { content?: Record<string, Record<string, unknown>> }>;
}
interface OpenApiDocument {
  openapi: string;
  paths: Record<string, Record<string, Operation>>;
  components?: Record<string, Record<string, unknown>>;
}

const methods = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];

function operations(doc: OpenApiDocument): { name: string; operation: Operation }[] {
  return Object.entries(doc.paths).flatMap(([route, item]) =>
    methods.filter((method) => item[method]).map((method) => ({ name: `${method.toUpperCase()} ${route}`, operation: item[method]! })),
  );
}

/** A local `$ref` followed, so that examples kept in components count. */
function resolve(doc: OpenApiDocument, value: unknown): Record<string, unknown> | undefined {
  if (!value || typeof value !== 'object') return undefined;
  const ref = (value as { $ref?: unknown }).$ref;
  if (typeof ref !== 'string' || !ref.startsWith('#/')) return value as Record<string, unknown>;
  const target = ref
    .slice(2)
    .split('/')
    .reduce<unknown>((node, key) => (node as Record<string, unknown> | undefined)?.[key.replace(/~1/g, '/').replace(/~0/g, '~')], doc);
  return resolve(doc, target);
}

/** Whether a parameter, a media type or a schema shows an example value. */
function showsExample(doc: OpenApiDocument, holder: unknown): boolean {
  const node = resolve(doc, holder);
  if (!node) return false;
  if (node['example'] !== undefined || (node['examples'] && Object.keys(node['examples'] as object).length > 0)) return true;
  return node['schema'] !== undefined && showsExample(doc, node['schema']);
}

function hasExample(doc: OpenApiDocument, operation: Operation): boolean {
  const media = [
    ...Object.values(operation.requestBody?.content ?? {}),
    ...Object.values(operation.responses ?? {}).flatMap((response) => Object.values(resolve(doc, response)?.['content'] ?? {})),
  ];
  return [...(operation.parameters ?? []), ...media].some((holder) => showsExample(doc, holder));
}

test('openapi/openapi.json is byte for byte what the gateway serves at /openapi.json', () => {
  const onDisk = fs.existsSync(checkedIn) ? fs.readFileSync(checkedIn, 'utf8') : '';
  if (onDisk === served) return;
  const diskLines = onDisk.split('\n');
  const servedLines = served.split('\n');
  const line = servedLines.findIndex((text, i) => text !== diskLines[i]);
  assert.fail(
    'openapi/openapi.json is not the document the gateway serves: run `npm run openapi` and commit openapi/openapi.json' +
      ` (first difference at line ${line + 1}: served ${JSON.stringify(servedLines[line])}, file ${JSON.stringify(diskLines[line])})`,
  );
});

test('Swagger UI is given the same document', async () => {
  const response = await fetch(`${gw.url}/docs/json`);
  assert.equal(response.status, 200);
  assert.deepEqual(await response.json(), document);
});

test('the document is valid OpenAPI 3.1', async () => {
  assert.equal(document.openapi, '3.1.0');
  const validator = new Validator();
  // A fresh parse: the validator keeps and resolves what it is given.
  const result = await validator.validate(JSON.parse(served) as Record<string, unknown>);
  assert.deepEqual(result.errors ?? [], [], 'the OpenAPI 3.1 schema finds errors');
  assert.equal(result.valid, true);
});

/**
 * Lint warnings accepted, each for a reason; any other warning, and every error, fails the test.
 */
const toleratedWarnings: { ruleId: string; pointer: RegExp; why: string }[] = [
  {
    ruleId: 'operation-4xx-response',
    pointer: /^#\/paths\/~1(livez|readyz|metrics)\/get\/responses$/,
    why: 'the ops endpoints take no input, so no request to them is a client error they could answer with 4XX',
  },
];

test("the document passes Redocly's recommended lint rules", async () => {
  const config = await createConfig({ extends: ['recommended'] });
  const problems = await lintFromString({ source: served, absoluteRef: `${gw.url}/openapi.json`, config });
  const unexpected = problems
    .map((problem) => ({ severity: problem.severity, ruleId: problem.ruleId, message: problem.message, pointer: problem.location[0]?.pointer ?? '' }))
    .filter((p) => p.severity === 'error' || !toleratedWarnings.some((t) => t.ruleId === p.ruleId && t.pointer.test(p.pointer)));
  assert.deepEqual(unexpected, []);
});

function lacking(doc: OpenApiDocument): string[] {
  return operations(doc).flatMap(({ name, operation }) => {
    const missing = [
      !operation.operationId && 'operationId',
      !operation.summary?.trim() && 'summary',
      !operation.description?.trim() && 'description',
      !hasExample(doc, operation) && 'example',
    ].filter(Boolean);
    return missing.length > 0 ? [`${name}: no ${missing.join(', ')}`] : [];
  });
}

test('every operation has an operationId, a summary, a description and an example', () => {
  assert.ok(operations(document).length > 0);
  assert.deepEqual(lacking(document), []);
});

test('the WebAPI and the ops endpoints are documented; the .php twin, HEAD routes and the docs themselves are not', () => {
  const names = operations(document).map((o) => o.name);
  for (const name of ['GET /webAPI.aspx', 'POST /webAPI.aspx', 'GET /livez', 'GET /readyz', 'GET /metrics']) assert.ok(names.includes(name), name);
  assert.deepEqual(
    names.filter((name) => /webAPI\.php|^HEAD |\/docs|\/openapi\.json/.test(name)),
    [],
  );
});

test('every REST operation of the catalog is in the document, and the commands escape hatch too', () => {
  const names = new Set(operations(document).map((o) => o.name));
  const expected = [...restOperations().map((operation) => `${operation.method} ${restPrefix}${operation.path}`), `POST ${restPrefix}/commands/{type}`];
  assert.deepEqual(
    expected.filter((name) => !names.has(name)),
    [],
    'the docs plugin must be registered before the routes, or @fastify/swagger does not see them',
  );
});
