/**
 * Fuzzing the surfaces a client can reach: WebAPI calls (query strings and form bodies) built from
 * the catalog's names and hostile values, REST bodies shaped by the OpenAPI document with wrong
 * types and shapes, and a core answering bytes of any kind. Whatever comes in: no 5xx but the
 * documented ones, a well-formed XML RESULT or JSON answer, the caller's REQUESTID echoed, and a
 * gateway still serving afterwards.
 *
 * Bounded by count and time: FUZZ_RUNS (runs per property, default 150) and FUZZ_SECONDS (per
 * property, default 20). `npm run fuzz` runs it longer.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import fc from 'fast-check';
import { commands, findCommand } from '../../src/protocol/catalog.js';
import { child, childText, parseXml } from '../../src/protocol/xml.js';
import { ScriptedCore } from '../core/scripted-core.js';
import { attachTestGateway, startTestGateway, type TestGateway } from '../http/gateway-harness.js';
import { anyValue, hostilePiece, soupDocument } from '../protocol/xml-arbitraries.js';

const numRuns = Number(process.env.FUZZ_RUNS ?? 150);
const interruptAfterTimeLimit = Number(process.env.FUZZ_SECONDS ?? 20) * 1000;
const runs = { numRuns, interruptAfterTimeLimit, markInterruptAsFailure: false };

/** What the WebAPI may answer: success, refusals of the call, and the documented failures of the core. */
const webApiStatuses = new Set([200, 400, 401, 403, 404, 405, 413, 415, 429, 501, 502, 503, 504]);

const paramNames = [...new Set(commands.flatMap((spec) => spec.params.map((p) => p.name)))];
const typeName = fc.oneof(
  fc.constantFrom(...commands.map((spec) => spec.type)).map((t) => (Math.random() < 0.5 ? t.toLowerCase() : t)),
  fc.string({ maxLength: 80 }),
);
const name = fc.oneof(fc.constantFrom(...paramNames), fc.constantFrom(...paramNames).map((n) => n.toLowerCase()), fc.string({ maxLength: 20 }), hostilePiece);
const value = fc.oneof(anyValue, hostilePiece, fc.string({ maxLength: 2000 }));
const requestIdValue = fc.oneof(fc.integer({ min: 1, max: 2147483647 }).map(String), fc.constantFrom('0', '-1', '2147483648', '1e3', ' 7 ', ''));
const call = fc.record({
  type: typeName,
  requestId: fc.option(requestIdValue, { nil: undefined }),
  pairs: fc.array(fc.tuple(name, value), { maxLength: 12 }),
  viaForm: fc.boolean(),
});

/** Every byte percent-encoded: a lone surrogate, which encodeURIComponent refuses, goes as the bytes a client would send. */
const percentEncoded = (text: string): string => Array.from(Buffer.from(text, 'utf8'), (b) => `%${b.toString(16).padStart(2, '0')}`).join('');

function encode(pairs: [string, string][]): string {
  return pairs.map(([n, v]) => `${percentEncoded(n)}=${percentEncoded(v)}`).join('&');
}

/** The answer is a RESULT with a code; the caller's REQUESTID, when it gave a valid one, comes back. */
function assertWellFormedResult(status: number, contentType: string, body: string, requestId: string | undefined): void {
  assert.ok(webApiStatuses.has(status), `HTTP ${status}: ${body.slice(0, 300)}`);
  if (status === 405) return;
  assert.match(contentType, /^text\/xml/, body.slice(0, 200));
  const root = parseXml(body);
  assert.equal(root.name, 'RESULT', body.slice(0, 200));
  assert.match(childText(root, 'RESULTCODE') ?? '', /^[0-9]+$/, body.slice(0, 300));
  if (requestId !== undefined && /^[1-9][0-9]{0,9}$/.test(requestId) && Number(requestId) <= 2147483647 && child(root, 'REQUESTID')) {
    assert.equal(childText(root, 'REQUESTID')!.trim(), requestId, body.slice(0, 300));
  }
}

describe('fuzzing against the simulator', () => {
  let gw: TestGateway;
  before(async () => {
    gw = await startTestGateway({ seed: true }, { requestTimeoutMs: 3000 });
  });
  after(async () => {
    await gw.close();
  });

  test('WebAPI calls of any shape: a well-formed RESULT, a documented status, the REQUESTID echoed', async () => {
    await fc.assert(
      fc.asyncProperty(call, async ({ type, requestId, pairs, viaForm }) => {
        const all: [string, string][] = [['type', type], ...(requestId === undefined ? [] : [['requestid', requestId] as [string, string]]), ...pairs];
        // What the gateway serves itself (exports) and the event port are other tests' subject: here
        // every call is answered at once.
        if ((findCommand(type)?.servedBy ?? 'core') !== 'core') return;
        const response = viaForm
          ? await fetch(`${gw.url}/webAPI.aspx`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: encode(all) })
          : await fetch(`${gw.url}/webAPI.aspx?${encode(all)}`);
        assertWellFormedResult(response.status, response.headers.get('content-type') ?? '', await response.text(), requestId);
      }),
      runs,
    );
    assert.equal((await fetch(`${gw.url}/webAPI.aspx?type=test&requestid=1`)).status, 200, 'still serving');
  });

  test('REST bodies of wrong types and shapes, on every operation that takes one: never a 500, always JSON', async () => {
    const document = (await (await fetch(`${gw.url}/openapi.json`)).json()) as {
      paths: Record<string, Record<string, { requestBody?: { content: Record<string, { schema: { properties?: Record<string, unknown> } }> } }>>;
    };
    const operations: { method: string; path: string; fields: string[] }[] = [];
    for (const [path, methods] of Object.entries(document.paths)) {
      if (!path.startsWith('/api/v1/')) continue;
      for (const [method, operation] of Object.entries(methods)) {
        const schema = operation.requestBody?.content['application/json']?.schema;
        if (schema) operations.push({ method: method.toUpperCase(), path, fields: Object.keys(schema.properties ?? {}) });
      }
    }
    assert.ok(operations.length > 20, `operations with a body: ${operations.length}`);
    const wrongValue = fc.oneof(fc.boolean(), fc.integer(), fc.double(), fc.constant(null), fc.array(fc.string(), { maxLength: 3 }), fc.object({ maxDepth: 2 }), value);
    const body = (fields: string[]) =>
      fc.oneof(
        fc.dictionary(fields.length > 0 ? fc.constantFrom(...fields) : fc.string(), wrongValue, { maxKeys: 6 }),
        fc.dictionary(fc.string({ maxLength: 12 }), wrongValue, { maxKeys: 4 }),
        fc.oneof(fc.array(wrongValue, { maxLength: 3 }), fc.string(), fc.integer(), fc.constant(null)),
      );
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...operations).chain((operation) => fc.tuple(fc.constant(operation), body(operation.fields), fc.string({ maxLength: 12 }))),
        async ([operation, json, segment]) => {
          const path = operation.path.replace(/\{[^}]+\}/g, () => percentEncoded(segment) || '1');
          const response = await fetch(`${gw.url}${path}`, { method: operation.method, headers: { 'content-type': 'application/json' }, body: JSON.stringify(json) });
          const text = await response.text();
          assert.ok(response.status < 500 || [501, 502, 503, 504].includes(response.status), `${operation.method} ${path} ${JSON.stringify(json).slice(0, 200)}: ${response.status} ${text.slice(0, 300)}`);
          assert.match(response.headers.get('content-type') ?? '', /^application\/(problem\+)?json/, text.slice(0, 200));
          assert.doesNotThrow(() => JSON.parse(text), text.slice(0, 200));
        },
      ),
      runs,
    );
    assert.equal((await fetch(`${gw.url}/api/v1/system/test`)).status, 200, 'still serving');
  });
});

test('a core answering bytes of any kind: the WebAPI answers a RESULT with a documented status, and the next caller is served', async () => {
  let answer: Buffer = Buffer.alloc(0);
  // The pool's own TEST probes are answered properly; what callers send gets the fuzzed bytes.
  const core = await ScriptedCore.start((request) => (request.type === 'TEST' ? undefined : { bytes: answer }));
  const gw = await attachTestGateway({ host: '127.0.0.1', port: core.port, eventPort: 1, recordingsDir: '/nonexistent' }, { requestTimeoutMs: 150, size: 2 }, { exports: false });
  try {
    await fc.assert(
      fc.asyncProperty(fc.oneof(soupDocument, fc.string({ unit: 'binary', maxLength: 400 }), fc.uint8Array({ maxLength: 400 }).map((b) => Buffer.from(b).toString('latin1'))), async (bytes) => {
        answer = Buffer.from(bytes, 'latin1');
        const response = await fetch(`${gw.url}/webAPI.aspx?type=devicelist&requestid=77`);
        const body = await response.text();
        assert.ok([200, 502, 503, 504].includes(response.status), `${response.status} for ${JSON.stringify(bytes).slice(0, 200)}`);
        // 200 is the core's own answer, verbatim; the gateway's are RESULTs of its own.
        if (response.status !== 200) assertWellFormedResult(response.status, response.headers.get('content-type') ?? '', body, '77');
      }),
      // Most such answers never end: each run waits for the request timeout.
      { ...runs, numRuns: Math.ceil(numRuns / 5) },
    );
  } finally {
    await gw.close();
    await core.close();
  }
});
