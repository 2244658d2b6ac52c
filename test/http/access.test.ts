/**
 * Scopes on every surface, derived from the catalog so that no command can slip through: each
 * command through the WebAPI, through POST /api/v1/commands/{type} and through each of its REST
 * resource routes, with a key that has its scope (the core hears it), one that lacks it (403, the
 * core hears nothing) and none (401, the core hears nothing). Then the audit trail of those calls,
 * protected mode from the machine's own non-loopback address, and what a browser on another site
 * may do.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { ApiKeyStore } from '../../src/access/api-keys.js';
import { AuditTrail, auditRecordSchema } from '../../src/access/audit.js';
import { Gatekeeper } from '../../src/access/gatekeeper.js';
import { runKeysCommand } from '../../src/access/keys-cli.js';
import { restOperations, restPrefix } from '../../src/http/rest/operations.js';
import { exampleValue } from '../../src/http/rest/schemas.js';
import { commands, commandScopes, type CommandScope, type CommandSpec } from '../../src/protocol/catalog.js';
import { childText, parseXml } from '../../src/protocol/xml.js';
import { startTestGateway, type TestGateway } from './gateway-harness.js';
import { sampleParams } from './rest/samples.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'access-'));
const keysFile = path.join(dir, 'keys.yaml');
const auditFile = path.join(dir, 'audit.log');
/** A key per scope, named after it. */
const keyOf = new Map<CommandScope, string>();
let store: ApiKeyStore;
let audit: AuditTrail;
let gw: TestGateway;

before(async () => {
  for (const scope of commandScopes) keyOf.set(scope, runKeysCommand(['create', '--name', scope.replace(':', '-'), '--scopes', scope], keysFile).split('\n')[0]!);
  store = new ApiKeyStore({ file: keysFile });
  audit = new AuditTrail({ file: auditFile });
  const gatekeeper = new Gatekeeper({ open: false, keys: store, tokens: undefined, webApiNetworks: undefined, allowedOrigins: new Set() });
  gw = await startTestGateway({ seed: false }, {}, { access: { gatekeeper, webApiQueryKeys: false, metricsAuth: true, auditTrail: audit } });
});
after(async () => {
  await gw.close();
  store.close();
  await audit.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

/** A key without the scope a command needs. */
const otherKey = (scope: CommandScope): string => keyOf.get(scope === 'status' ? 'calls' : 'status')!;

interface Sent {
  status: number;
  /** What the core received meanwhile. */
  received: string[];
  body: string;
}

async function send(url: string, init: RequestInit, key: string | undefined): Promise<Sent> {
  const from = gw.received().length;
  const response = await fetch(`${gw.url}${url}`, { ...init, headers: { ...(init.headers as Record<string, string>), ...(key ? { 'x-api-key': key } : {}) } });
  const body = await response.text();
  // What the core received is seen once the answer is in; an export may ask it before its first byte.
  return { status: response.status, received: gw.received().slice(from), body };
}

/** Each way a command can be sent: the WebAPI, the escape hatch, and each REST resource route. */
function requestsOf(spec: CommandSpec): { surface: string; url: string; init: RequestInit }[] {
  const params = sampleParams(spec);
  const ways: { surface: string; url: string; init: RequestInit }[] = [
    { surface: 'WebAPI', url: `/webAPI.aspx?${new URLSearchParams([['type', spec.type], ['requestid', '7'], ...params])}`, init: {} },
    {
      surface: 'REST /commands',
      url: `${restPrefix}/commands/${spec.type.toLowerCase()}`,
      init: { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(Object.fromEntries(params)) },
    },
  ];
  for (const operation of restOperations()) {
    for (const binding of operation.bindings.filter((b) => b.spec === spec)) {
      let url = `${restPrefix}${operation.path}`;
      const fields: Record<string, unknown> = {};
      const wanted = new Set([...spec.required, ...spec.atLeastOneOf.map((group) => group[0]!)]);
      for (const [field, param] of binding.fields) {
        if (binding.pathFields.includes(field)) url = url.replace(`{${field}}`, encodeURIComponent(String(exampleValue(param, 'path'))));
        else if (wanted.has(param.name)) fields[field] = exampleValue(param, operation.place);
      }
      if (binding.route.variant && !binding.route.variant.isDefault) fields[binding.route.variant.field] = binding.route.variant.value;
      const init: RequestInit =
        operation.place === 'body'
          ? { method: operation.method, headers: { 'content-type': 'application/json' }, body: JSON.stringify(fields) }
          : { method: operation.method };
      if (operation.place === 'query' && Object.keys(fields).length > 0) url += `?${new URLSearchParams(Object.entries(fields).map(([k, v]) => [k, String(v)]))}`;
      ways.push({ surface: `REST ${operation.method} ${operation.path}`, url, init });
    }
  }
  return ways;
}

describe('every command on every surface', () => {
  test('with its scope it reaches the core; without, 403; with no credential, 401; the core hears nothing refused', async () => {
    let checked = 0;
    for (const spec of commands.filter((c) => c.servedBy !== 'event-port')) {
      for (const way of requestsOf(spec)) {
        const what = `${spec.type} via ${way.surface}`;
        const allowed = await send(way.url, way.init, keyOf.get(spec.scope));
        assert.ok(![401, 403].includes(allowed.status), `${what} with ${spec.scope}: ${allowed.status} ${allowed.body.slice(0, 200)}`);
        assert.ok(allowed.received.length > 0, `${what}: the core heard it (${allowed.status} ${allowed.body.slice(0, 200)})`);
        const lacking = await send(way.url, way.init, otherKey(spec.scope));
        assert.equal(lacking.status, 403, `${what} without ${spec.scope}`);
        assert.deepEqual(lacking.received, [], `${what} without ${spec.scope}: nothing reaches the core`);
        assert.match(lacking.body, new RegExp(`This needs the scope ${spec.scope.replace(':', ':')}`));
        const anonymous = await send(way.url, way.init, undefined);
        assert.equal(anonymous.status, 401, `${what} without a credential`);
        assert.deepEqual(anonymous.received, [], `${what} without a credential: nothing reaches the core`);
        if (way.surface === 'WebAPI') {
          const root = parseXml(lacking.body);
          assert.equal(childText(root, 'RESULTCODE'), '44');
          assert.equal(childText(root, 'REQUESTTYPE'), spec.type);
        }
        checked++;
      }
    }
    assert.ok(checked > commands.length * 2, `${checked} ways checked`);
  });

  test('a type the catalog does not know needs admin; the live events need events; /metrics needs metrics', async () => {
    assert.equal((await send('/webAPI.aspx?type=nosuchthing&requestid=1', {}, keyOf.get('calls'))).status, 403);
    const admin = await send('/webAPI.aspx?type=nosuchthing&requestid=1', {}, keyOf.get('admin'));
    assert.equal(admin.status, 200);
    assert.equal(admin.received.length, 1);
    assert.equal((await send(`${restPrefix}/events`, {}, keyOf.get('status'))).status, 403);
    assert.equal((await send('/metrics', {}, keyOf.get('status'))).status, 403);
    assert.equal((await send('/metrics', {}, undefined)).status, 401);
    for (const open of ['/livez', '/readyz', '/openapi.json']) assert.equal((await send(open, {}, undefined)).status, 200, open);
  });

  test('401 says which credentials are taken; a refusal tells nothing of why a key was refused', async () => {
    const response = await fetch(`${gw.url}/api/v1/devices`, { headers: { authorization: 'Bearer upk_aaaaaaaaaa_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA' } });
    assert.equal(response.status, 401);
    assert.equal(response.headers.get('www-authenticate'), 'Bearer realm="uptivity-gateway"');
    assert.equal(((await response.json()) as { detail: string }).detail, 'The API key is not valid.');
  });
});

describe('the audit trail', () => {
  test('mutating commands, exports and refusals are written, schema-checked and without a key; reads are not', async () => {
    const calls = keyOf.get('calls')!;
    await send('/webAPI.aspx?type=callstart&requestid=31&deviceid=4711&user1=x', {}, calls);
    await send('/webAPI.aspx?type=devicestatus&requestid=32&deviceid=4711', {}, keyOf.get('status'));
    await send('/webAPI.aspx?type=importuser&requestid=33&action=delete&username=jdoe', {}, calls);
    await send('/webAPI.aspx?type=export&requestid=34&uniquefield=ident&uniqueid=1&media_format=wav&password=secret', {}, keyOf.get('recordings:export'));
    await audit.close();
    audit = new AuditTrail({ file: auditFile });
    const lines = fs.readFileSync(auditFile, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    const validate = addFormats.default(new Ajv2020({ strict: true })).compile(auditRecordSchema);
    for (const line of lines) assert.ok(validate(line), JSON.stringify(validate.errors));
    const byRequest = (id: string) => lines.find((l) => (l.identifiers as Record<string, string>)['DEVICEID'] === id || l.type === id);
    assert.deepEqual(
      { type: byRequest('4711')?.type, action: byRequest('4711')?.action, credential: byRequest('4711')?.credential, outcome: byRequest('4711')?.outcome },
      { type: 'CALLSTART', action: 'command', credential: 'calls', outcome: { status: 200, resultCode: 20, resultType: 'API_OK' } },
    );
    assert.ok(!lines.some((l) => l.type === 'DEVICESTATUS' && l.action !== 'refused'), 'a read is not audited, only its refusals');
    assert.deepEqual(
      lines.filter((l) => l.type === 'IMPORTUSER' && (l.identifiers as Record<string, string>)['USERNAME'] === 'jdoe').map((l) => ({ action: l.action, reason: l.reason, status: (l.outcome as { status: number }).status, identifiers: l.identifiers })),
      [{ action: 'refused', reason: 'admin', status: 403, identifiers: { ACTION: 'delete', USERNAME: 'jdoe' } }],
    );
    const exported = lines.find((l) => l.type === 'EXPORT')!;
    assert.equal(exported.action, 'export');
    assert.equal(String(exported.format).toLowerCase(), 'wav');
    assert.deepEqual(exported.outcome, { status: 404, resultCode: 41, resultType: 'API_FILE_NOT_FOUND' });
    const text = fs.readFileSync(auditFile, 'utf8');
    for (const secret of [...keyOf.values(), 'secret']) assert.ok(!text.includes(secret), 'no key nor password in the audit trail');
  });
});

describe('protected mode and cross-site requests', () => {
  /** This machine's own address on a network, when it has one: a caller that is not loopback. */
  const external = Object.values(os.networkInterfaces()).flat().find((i) => i && i.family === 'IPv4' && !i.internal)?.address;

  test('with nothing configured, a caller from the machine\'s own network address is refused and told how; loopback is served', { skip: !external && 'no non-loopback IPv4 address here' }, async () => {
    const local = await startTestGateway({ seed: false }, {}, { sim: gw.sim, listenHost: '0.0.0.0' });
    try {
      const port = new URL(local.url).port;
      const far = await fetch(`http://${external}:${port}/webAPI.aspx?type=test&requestid=1`);
      assert.equal(far.status, 403);
      assert.match(childText(parseXml(await far.text()), 'RESULTMSG') ?? '', /protected mode.*keys create/);
      const near = await fetch(`http://127.0.0.1:${port}/webAPI.aspx?type=test&requestid=1`);
      assert.equal(near.status, 200);
    } finally {
      await local.close();
    }
  });

  test('a form POST from another site is refused without a credential, served with one', async () => {
    const local = await startTestGateway({ seed: false }, {}, { sim: gw.sim });
    try {
      const form = { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', origin: 'https://evil.example' }, body: 'type=importuser&action=delete&username=jdoe&requestid=5' };
      const before = gw.sim.requests.list().length;
      const refused = await fetch(`${local.url}/webAPI.aspx`, form);
      assert.equal(refused.status, 403);
      assert.equal(gw.sim.requests.list().length, before, 'nothing reached the core');
      const navigation = await fetch(`${local.url}/webAPI.aspx?type=test&requestid=5`, { headers: { 'sec-fetch-site': 'cross-site' } });
      assert.equal(navigation.status, 403);
      assert.equal((await fetch(`${local.url}/webAPI.aspx?type=test&requestid=5`)).status, 200, 'a program without a browser is unaffected');
    } finally {
      await local.close();
    }
  });
});

describe('rate limits', () => {
  test('per credential: 429 with Retry-After and RateLimit headers, as RESULT 47 on the WebAPI and problem+json on REST; a key may have its own; the window resets', async () => {
    const file = path.join(dir, 'limited.yaml');
    const slow = runKeysCommand(['create', '--name', 'slow', '--scopes', 'status', '--file', file], file).split('\n')[0]!;
    const other = runKeysCommand(['create', '--name', 'other', '--scopes', 'status', '--file', file], file).split('\n')[0]!;
    const roomy = runKeysCommand(['create', '--name', 'roomy', '--scopes', 'status', '--rate-limit', '6/60000', '--file', file], file).split('\n')[0]!;
    const limitedKeys = new ApiKeyStore({ file });
    const gatekeeper = new Gatekeeper({ open: false, keys: limitedKeys, tokens: undefined, webApiNetworks: undefined, allowedOrigins: new Set() });
    const limited = await startTestGateway({ seed: false }, {}, { sim: gw.sim, access: { gatekeeper, webApiQueryKeys: false, metricsAuth: false }, rateLimit: { max: 3, windowMs: 1500 } });
    try {
      const call = (key: string, url = '/webAPI.aspx?type=test&requestid=9') => fetch(`${limited.url}${url}`, { headers: { 'x-api-key': key } });
      const statuses: number[] = [];
      for (let i = 0; i < 3; i++) statuses.push((await call(slow)).status);
      const over = await call(slow);
      assert.deepEqual([...statuses, over.status], [200, 200, 200, 429]);
      assert.ok(Number(over.headers.get('retry-after')) >= 1);
      assert.equal(over.headers.get('ratelimit-limit'), '3');
      assert.equal(over.headers.get('ratelimit-remaining'), '0');
      const root = parseXml(await over.text());
      assert.deepEqual([childText(root, 'RESULTCODE'), childText(root, 'REQUESTTYPE'), childText(root, 'REQUESTID')], ['47', 'TEST', '9']);
      const rest = await call(slow, '/api/v1/devices');
      assert.equal(rest.status, 429);
      assert.equal(((await rest.json()) as { resultCode: number }).resultCode, 47);
      assert.equal((await call(other)).status, 200, 'another credential has its own count');
      for (let i = 0; i < 6; i++) assert.equal((await call(roomy)).status, 200, `its own limit, request ${i + 1}`);
      assert.equal((await call(roomy)).status, 429);
      assert.equal((await fetch(`${limited.url}/livez`)).status, 200, 'open routes are not counted');
      await new Promise((r) => setTimeout(r, 1600));
      assert.equal((await call(slow)).status, 200, 'a new window');
    } finally {
      await limited.close();
      limitedKeys.close();
    }
  });
});

describe('event streams', () => {
  test('one caller holds at most its share of the streams: 429 (48) past it, on REST and the WebAPI', async () => {
    const limited = await startTestGateway({ seed: false }, {}, { sim: gw.sim, events: { maxPerCaller: 1 } });
    const open = new AbortController();
    try {
      const first = await fetch(`${limited.url}/api/v1/events`, { signal: open.signal });
      assert.equal(first.status, 200);
      const second = await fetch(`${limited.url}/api/v1/events`);
      assert.equal(second.status, 429);
      assert.equal(((await second.json()) as { resultCode: number }).resultCode, 48);
      const webApi = await fetch(`${limited.url}/webAPI.aspx?type=events&requestid=0`, { headers: { accept: 'text/event-stream' } });
      assert.equal(webApi.status, 429);
      assert.equal(childText(parseXml(await webApi.text()), 'RESULTCODE'), '48');
      open.abort();
      const deadline = Date.now() + 5000;
      let again: Response;
      // The stream closes once the gateway sees the connection go.
      while ((again = await fetch(`${limited.url}/api/v1/events`)).status !== 200 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      assert.equal(again.status, 200);
      await again.body?.cancel();
    } finally {
      await limited.close();
    }
  });
});

describe('apikey= on the WebAPI', () => {
  test('taken in the query or the form only with WEBAPI_QUERY_KEYS, never sent to the core; refused otherwise', async () => {
    const gatekeeper = new Gatekeeper({ open: false, keys: store, tokens: undefined, webApiNetworks: undefined, allowedOrigins: new Set() });
    const withQueryKeys = await startTestGateway({ seed: false }, {}, { sim: gw.sim, access: { gatekeeper, webApiQueryKeys: true, metricsAuth: false } });
    const status = keyOf.get('status')!;
    try {
      const from = gw.sim.requests.list().length;
      const inQuery = await fetch(`${withQueryKeys.url}/webAPI.aspx?type=test&requestid=41&apikey=${encodeURIComponent(status)}`);
      assert.equal(inQuery.status, 200);
      const inForm = await fetch(`${withQueryKeys.url}/webAPI.aspx?type=test&requestid=42`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: `apikey=${encodeURIComponent(status)}`,
      });
      assert.equal(inForm.status, 200);
      const heard = gw.sim.requests.list().slice(from).map((r) => r.text);
      assert.equal(heard.length, 2);
      assert.ok(!heard.some((t) => /APIKEY|upk_/i.test(t)), 'the key never reaches the core');
      const wrong = await fetch(`${withQueryKeys.url}/webAPI.aspx?type=test&requestid=43&apikey=upk_nope`);
      assert.equal(wrong.status, 401);
      const scope = await fetch(`${withQueryKeys.url}/webAPI.aspx?type=callstart&requestid=44&deviceid=1&apikey=${encodeURIComponent(status)}`);
      assert.equal(scope.status, 403);
      const none = await fetch(`${withQueryKeys.url}/webAPI.aspx?type=test&requestid=45`);
      assert.equal(none.status, 401);
      // Without the setting, a key in the URL is refused, and not sent on either.
      const off = await send(`/webAPI.aspx?type=test&requestid=46&apikey=${encodeURIComponent(status)}`, {}, status);
      assert.equal(off.status, 400);
      assert.deepEqual(off.received, []);
    } finally {
      await withQueryKeys.close();
    }
  });
});
