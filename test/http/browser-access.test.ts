/**
 * What a browser page needs of the gateway, over real HTTP against the seeded simulator: CORS for
 * the sites of CORS_ORIGINS (and nothing for the others, nor on the WebAPI unless asked), signed
 * media links for <audio> and downloads (valid, tampered with part by part, expired, on another
 * gateway with the same key or another), event tickets for EventSource, mediaUrl on recordings,
 * and CALLLIST's PLAYBACKLINK rewritten under PLAYBACK_LINK_BASE. The gateway's log is captured
 * whole: no signature nor ticket may appear in it.
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
import { EventTickets } from '../../src/access/event-tickets.js';
import { Gatekeeper } from '../../src/access/gatekeeper.js';
import { runKeysCommand } from '../../src/access/keys-cli.js';
import { OriginList } from '../../src/access/origins.js';
import { SigningKeys } from '../../src/access/signing-keys.js';
import { createLogger, signedAccess } from '../../src/app.js';
import { corsAllowedHeaders, corsAllowedMethods, corsExposedHeaders, corsMaxAgeSeconds } from '../../src/http/access/cors.js';
import { restOperations } from '../../src/http/rest/operations.js';
import { SseClient } from './sse-client.js';
import { startTestGateway, type TestGateway } from './gateway-harness.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'browser-access-'));
const keysFile = path.join(dir, 'keys.yaml');
const auditFile = path.join(dir, 'audit.log');
const signingKey = 'k'.repeat(16) + 'A1b2C3d4E5f6G7h8';
const listed = 'https://console.example.com';
/** A seeded WAV recording. */
const recordId = 10121972;
const keys: Record<string, string> = {};
const logLines: string[] = [];
/** Every link and ticket handed out: none may be in the log. */
const secrets: string[] = [];
let store: ApiKeyStore;
let audit: AuditTrail;
let gw: TestGateway;

function keyOf(name: string, scopes: string): string {
  return runKeysCommand(['create', '--name', name, '--scopes', scopes], keysFile).split('\n')[0]!;
}

before(async () => {
  keys['exporter'] = keyOf('exporter', 'recordings:export,recordings:read');
  keys['reader'] = keyOf('reader', 'recordings:read');
  keys['listener'] = keyOf('listener', 'events');
  keys['other-listener'] = keyOf('other-listener', 'events');
  keys['status'] = keyOf('status', 'status');
  store = new ApiKeyStore({ file: keysFile });
  audit = new AuditTrail({ file: auditFile });
  const gatekeeper = new Gatekeeper({ open: false, keys: store, tokens: undefined, webApiNetworks: undefined, allowedOrigins: new OriginList([listed]) });
  gw = await startTestGateway({ seed: true }, {}, {
    access: { gatekeeper, webApiQueryKeys: false, metricsAuth: false, auditTrail: audit },
    signed: signedAccess(new SigningKeys([signingKey])),
    cors: { origins: new OriginList([listed, 'https://*.apps.example.com']), webApi: false },
    logger: createLogger('info', { write: (line: string) => void logLines.push(line) }),
    events: { maxPerCaller: 1 },
  });
});
after(async () => {
  await gw.close();
  store.close();
  await audit.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

const corsHeaders = (response: Response): Record<string, string> =>
  Object.fromEntries([...response.headers].filter(([name]) => name.startsWith('access-control-')));

describe('CORS', () => {
  test('a preflight from a listed origin is answered with exactly the CORS headers; from another, with none', async () => {
    const preflight = (origin: string, url = '/api/v1/devices') =>
      fetch(`${gw.url}${url}`, { method: 'OPTIONS', headers: { origin, 'access-control-request-method': 'GET', 'access-control-request-headers': 'x-api-key,range' } });
    const ok = await preflight(listed);
    assert.equal(ok.status, 204);
    assert.deepEqual(corsHeaders(ok), {
      'access-control-allow-origin': listed,
      'access-control-allow-methods': corsAllowedMethods.join(', '),
      'access-control-allow-headers': corsAllowedHeaders.join(', '),
      'access-control-expose-headers': corsExposedHeaders.join(', '),
      'access-control-max-age': String(corsMaxAgeSeconds),
    });
    assert.deepEqual(corsAllowedHeaders, ['Authorization', 'X-API-Key', 'Content-Type', 'Range', 'If-Range', 'If-None-Match', 'Last-Event-ID', 'X-Request-Id']);
    assert.ok(corsExposedHeaders.includes('RateLimit-Remaining') && corsExposedHeaders.includes('Retry-After') && corsExposedHeaders.includes('Content-Range'));
    assert.match(ok.headers.get('vary') ?? '', /Origin/);
    // The media route and the event stream too.
    for (const url of [`/api/v1/recordings/${recordId}/media`, '/api/v1/events', '/api/v1/events/tickets']) {
      assert.equal(corsHeaders(await preflight(listed, url))['access-control-allow-origin'], listed, url);
    }
    for (const origin of ['https://evil.example', 'null', 'https://console.example.com.evil.example', 'http://console.example.com']) {
      const refused = await preflight(origin);
      assert.deepEqual(corsHeaders(refused), {}, origin);
      assert.equal(refused.status, 404, origin);
    }
  });

  test('a request from a listed origin gets its origin back and the exposed headers, refusals included; never *, never credentials', async () => {
    const ok = await fetch(`${gw.url}/api/v1/recordings?limit=1`, { headers: { origin: listed, 'x-api-key': keys['reader']! } });
    assert.equal(ok.status, 200);
    assert.deepEqual(corsHeaders(ok), { 'access-control-allow-origin': listed, 'access-control-expose-headers': corsExposedHeaders.join(', ') });
    const refused = await fetch(`${gw.url}/api/v1/recordings?limit=1`, { headers: { origin: listed } });
    assert.equal(refused.status, 401);
    assert.equal(refused.headers.get('access-control-allow-origin'), listed, 'the page can read why');
    const other = await fetch(`${gw.url}/api/v1/recordings?limit=1`, { headers: { origin: 'https://evil.example', 'x-api-key': keys['reader']! } });
    assert.equal(other.status, 200, 'a credential works from anywhere; the page just cannot read the answer');
    assert.deepEqual(corsHeaders(other), {});
  });

  test('patterns: any host under *.apps.example.com with that scheme and port, nothing else', async () => {
    const allowOrigin = async (origin: string) =>
      (await fetch(`${gw.url}/api/v1/recordings?limit=1`, { headers: { origin, 'x-api-key': keys['reader']! } })).headers.get('access-control-allow-origin');
    for (const origin of ['https://a.apps.example.com', 'https://x-1.eu.apps.example.com']) assert.equal(await allowOrigin(origin), origin);
    for (const origin of ['https://apps.example.com', 'http://a.apps.example.com', 'https://a.apps.example.com:8443', 'https://evilapps.example.com', 'https://a.apps.example.com.evil.example', 'https://a_b.apps.example.com']) {
      assert.equal(await allowOrigin(origin), null, origin);
    }
  });

  test('the WebAPI keeps its legacy answers (no CORS, no Vary) unless CORS_WEBAPI is set', async () => {
    const call = (url: string) => fetch(`${url}/webAPI.aspx?type=test&requestid=3`, { headers: { origin: listed, 'x-api-key': keys['status']! } });
    const legacy = await call(gw.url);
    assert.equal(legacy.status, 200);
    assert.deepEqual(corsHeaders(legacy), {});
    assert.equal(legacy.headers.get('vary'), null);
    const preflight = await fetch(`${gw.url}/webAPI.aspx`, { method: 'OPTIONS', headers: { origin: listed, 'access-control-request-method': 'POST' } });
    assert.deepEqual(corsHeaders(preflight), {});
    assert.equal(preflight.status, 404);
    assert.equal(preflight.headers.get('content-type'), 'application/problem+json; charset=utf-8');
    const withWebApi = await startTestGateway({}, {}, { sim: gw.sim, access: { gatekeeper: new Gatekeeper({ open: false, keys: store, tokens: undefined, webApiNetworks: undefined, allowedOrigins: new OriginList([listed]), originsOnWebApi: true }), webApiQueryKeys: false, metricsAuth: false }, cors: { origins: new OriginList([listed]), webApi: true } });
    try {
      const answered = await call(withWebApi.url);
      assert.equal(answered.status, 200);
      assert.equal(answered.headers.get('access-control-allow-origin'), listed);
      assert.equal((await fetch(`${withWebApi.url}/WEBAPI.PHP`, { method: 'OPTIONS', headers: { origin: listed, 'access-control-request-method': 'POST' } })).status, 204);
    } finally {
      await withWebApi.close();
    }
  });

  test('without a credential, a listed site is trusted where CORS answers it: the WebAPI only with CORS_WEBAPI', () => {
    const origins = new OriginList([listed]);
    const ask = (originsOnWebApi: boolean, surface: 'webapi' | 'rest') =>
      new Gatekeeper({ open: false, keys: undefined, tokens: undefined, webApiNetworks: undefined, allowedOrigins: origins, originsOnWebApi }).identify({ address: '127.0.0.1', origin: listed, surface });
    assert.equal((ask(false, 'rest') as { kind: string }).kind, 'loopback');
    assert.throws(() => ask(false, 'webapi'), (error: { status?: number }) => error.status === 403);
    assert.equal((ask(true, 'webapi') as { kind: string }).kind, 'loopback');
  });
});

interface LinkAnswer {
  url: string;
  expiresAt: string;
  recordId: number;
  format: string;
}

async function makeLink(body: object, key = keys['exporter']!, id: number | string = recordId): Promise<{ status: number; json: LinkAnswer }> {
  const response = await fetch(`${gw.url}/api/v1/recordings/${id}/links`, { method: 'POST', headers: { 'x-api-key': key, 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const json = (await response.json()) as LinkAnswer;
  if (response.status === 201) secrets.push(new URL(json.url, 'http://x').searchParams.get('signature')!.split('.')[2]!);
  return { status: response.status, json };
}

async function problemOf(response: Response): Promise<{ status: number; type: string; detail: string }> {
  assert.equal(response.headers.get('content-type'), 'application/problem+json; charset=utf-8');
  const body = (await response.json()) as { detail: string };
  return { status: response.status, type: 'problem', detail: body.detail };
}

describe('signed media links', () => {
  let wav: Buffer;
  before(async () => {
    const direct = await fetch(`${gw.url}/api/v1/recordings/${recordId}/media?format=wav`, { headers: { 'x-api-key': keys['exporter']! } });
    assert.equal(direct.status, 200);
    wav = Buffer.from(await direct.arrayBuffer());
  });

  test('made with recordings:export: 201 with a relative URL, its expiry, recording and format; refused without the scope', async () => {
    const before = Date.now();
    const { status, json } = await makeLink({ format: 'wav', expiresIn: 600 });
    assert.equal(status, 201);
    assert.match(json.url, new RegExp(`^/api/v1/recordings/${recordId}/media\\?format=wav&expires=[0-9]{10}&signature=[A-Za-z0-9_-]{8}\\.[A-Za-z0-9_-]+\\.[A-Za-z0-9_-]{43}$`));
    const expires = Number(new URL(json.url, gw.url).searchParams.get('expires'));
    assert.equal(json.expiresAt, new Date(expires * 1000).toISOString());
    assert.ok(Math.abs(expires * 1000 - (before + 600_000)) < 2000);
    assert.deepEqual({ recordId: json.recordId, format: json.format }, { recordId, format: 'wav' });
    const defaults = await makeLink({});
    assert.equal(defaults.status, 201);
    assert.equal(defaults.json.format, 'wav');
    assert.equal((await makeLink({}, keys['reader'])).status, 403);
    for (const body of [{ expiresIn: 86_401 }, { expiresIn: 0 }, { format: 'flac' }, { format: 'wav', extra: 1 }]) assert.equal((await makeLink(body)).status, 400, JSON.stringify(body));
  });

  test('usable with no other credential, GET and HEAD, and with Range (206)', async () => {
    const { json } = await makeLink({ format: 'wav', expiresIn: 600 });
    const full = await fetch(`${gw.url}${json.url}`);
    assert.equal(full.status, 200);
    assert.equal(full.headers.get('content-type'), 'audio/wav');
    assert.deepEqual(Buffer.from(await full.arrayBuffer()), wav);
    const head = await fetch(`${gw.url}${json.url}`, { method: 'HEAD' });
    assert.equal(head.status, 200);
    assert.equal(head.headers.get('content-length'), String(wav.length));
    const part = await fetch(`${gw.url}${json.url}`, { headers: { range: 'bytes=100-299' } });
    assert.equal(part.status, 206);
    assert.equal(part.headers.get('content-range'), `bytes 100-299/${wav.length}`);
    assert.deepEqual(Buffer.from(await part.arrayBuffer()), wav.subarray(100, 300));
    // From a page of another site, as an <audio> element fetches it.
    const crossSite = await fetch(`${gw.url}${json.url}`, { headers: { 'sec-fetch-site': 'cross-site', range: 'bytes=0-' } });
    assert.equal(crossSite.status, 206);
    await crossSite.arrayBuffer();
  });

  test('a change to any part, another recording or format, a parameter more or less: 403 problem+json', async () => {
    const { json } = await makeLink({ format: 'wav', expiresIn: 600 });
    const url = new URL(json.url, gw.url);
    const [keyId, creator, mac] = url.searchParams.get('signature')!.split('.') as [string, string, string];
    const flip = (text: string, at: number): string => `${text.slice(0, at)}${text[at] === 'A' ? 'B' : 'A'}${text.slice(at + 1)}`;
    const withParams = (changes: Record<string, string | null>, pathname = url.pathname): string => {
      const params = new URLSearchParams(url.search);
      for (const [name, value] of Object.entries(changes)) {
        if (value === null) params.delete(name);
        else params.set(name, value);
      }
      return `${pathname}?${params}`;
    };
    const expires = url.searchParams.get('expires')!;
    const tampered: [string, string][] = [
      ['format', withParams({ format: 'mp3' })],
      ['format case', withParams({ format: 'WAV' })],
      ['recording', withParams({}, `/api/v1/recordings/${recordId + 1}/media`)],
      ['recording spelled otherwise', withParams({}, `/api/v1/recordings/0${recordId}/media`)],
      ['expires', withParams({ expires: String(Number(expires) + 1) })],
      ['key id', withParams({ signature: `${flip(keyId, 0)}.${creator}.${mac}` })],
      ['creator', withParams({ signature: `${keyId}.${Buffer.from('key:admin').toString('base64url')}.${mac}` })],
      ['mac', withParams({ signature: `${keyId}.${creator}.${flip(mac, 10)}` })],
      ['mac cut', withParams({ signature: `${keyId}.${creator}.${mac.slice(0, -1)}` })],
      ['extra parameter', `${json.url.replace(/^[^?]*/, url.pathname)}&as=zip`],
      ['repeated parameter', `${url.pathname}${url.search}&format=wav`],
      ['no signature', withParams({ signature: null })],
      ['no expires', withParams({ expires: null })],
    ];
    for (const [what, target] of tampered) {
      const response = await fetch(`${gw.url}${target}`);
      assert.equal(response.status, 403, what);
      assert.match((await problemOf(response)).detail, /link is not valid/, what);
    }
    // A link opens its media route only: elsewhere its parameters are no credential.
    assert.equal((await fetch(`${gw.url}/api/v1/recordings/${recordId}${url.search}`)).status, 401);
    assert.equal((await fetch(`${gw.url}/api/v1/recordings/media${url.search}&recordIds=${recordId}`)).status, 401);
    assert.equal((await fetch(`${gw.url}/api/v1/recordings/${recordId}/links${url.search}`, { method: 'POST' })).status, 401);
  });

  test('revoking the key that made a link ends the link', async () => {
    const temporary = keyOf('temporary', 'recordings:export');
    store.reload();
    const { status, json } = await makeLink({ format: 'wav' }, temporary);
    assert.equal(status, 201);
    const before = await fetch(`${gw.url}${json.url}`, { method: 'HEAD' });
    assert.equal(before.status, 200);
    runKeysCommand(['revoke', 'temporary'], keysFile);
    store.reload();
    const after = await fetch(`${gw.url}${json.url}`, { method: 'HEAD' });
    assert.equal(after.status, 403);
  });

  test('an expired link: 403', async () => {
    const { json } = await makeLink({ format: 'wav', expiresIn: 1 });
    await new Promise((r) => setTimeout(r, 2100));
    const response = await fetch(`${gw.url}${json.url}`);
    assert.equal(response.status, 403);
    assert.match((await problemOf(response)).detail, /expired/);
  });

  test('honoured by another gateway with the same LINK_SIGNING_KEY, refused by one with another', async () => {
    const { json } = await makeLink({ format: 'wav', expiresIn: 600 });
    // Replicas share the keys file as they share the signing key.
    const access = { gatekeeper: new Gatekeeper({ open: false, keys: store, tokens: undefined, webApiNetworks: undefined, allowedOrigins: new Set() }), webApiQueryKeys: false, metricsAuth: false };
    const twin = await startTestGateway({}, {}, { sim: gw.sim, access, signed: signedAccess(new SigningKeys(['n'.repeat(40), signingKey])) });
    const stranger = await startTestGateway({}, {}, { sim: gw.sim, access, signed: signedAccess(new SigningKeys(['s'.repeat(40)])) });
    try {
      const there = await fetch(`${twin.url}${json.url}`, { headers: { range: 'bytes=0-99' } });
      assert.equal(there.status, 206, 'verified by a key that no longer signs (rotation)');
      assert.deepEqual(Buffer.from(await there.arrayBuffer()), wav.subarray(0, 100));
      assert.equal((await fetch(`${stranger.url}${json.url}`)).status, 403);
    } finally {
      await twin.close();
      await stranger.close();
    }
  });

  test('mediaUrl on recordings, in their response schemas', async () => {
    const ajv = addFormats.default(new Ajv2020({ strict: false }));
    const schemaOf = (routePath: string) => {
      const operation = restOperations().find((o) => o.method === 'GET' && o.path === routePath)!;
      return (operation.schema['response'] as Record<number, { content: Record<string, { schema: object }> }>)[200]!.content['application/json']!.schema;
    };
    const list = await fetch(`${gw.url}/api/v1/recordings?limit=3`, { headers: { 'x-api-key': keys['reader']! } });
    const listed = (await list.json()) as { recordings: { recordId: number; mediaUrl: string }[] };
    assert.equal(listed.recordings.length, 3);
    for (const recording of listed.recordings) assert.equal(recording.mediaUrl, `/api/v1/recordings/${recording.recordId}/media`);
    const validateList = ajv.compile(schemaOf('/recordings'));
    assert.ok(validateList(listed), JSON.stringify(validateList.errors));
    const one = (await (await fetch(`${gw.url}/api/v1/recordings/${recordId}`, { headers: { 'x-api-key': keys['reader']! } })).json()) as { recording: { mediaUrl: string } };
    assert.equal(one.recording.mediaUrl, `/api/v1/recordings/${recordId}/media`);
    const validateOne = ajv.compile(schemaOf('/recordings/{recordId}'));
    assert.ok(validateOne(one), JSON.stringify(validateOne.errors));
    assert.equal(((schemaOf('/recordings') as { properties: { recordings: { items: { properties: Record<string, unknown> } } } }).properties.recordings.items.properties['mediaUrl'] as { type: string }).type, 'string');
  });

  test('PLAYBACK_LINK_BASE: a caller that may export gets signed gateway links in CALLLIST, the answer otherwise byte for byte the same', async () => {
    const base = 'https://gw.example.com';
    const rewriting = await startTestGateway({}, {}, {
      sim: gw.sim,
      access: { gatekeeper: new Gatekeeper({ open: false, keys: store, tokens: undefined, webApiNetworks: undefined, allowedOrigins: new Set() }), webApiQueryKeys: false, metricsAuth: false },
      signed: signedAccess(new SigningKeys([signingKey])),
      playbackLinks: { base, lifetimeSeconds: 3600, format: 'wav' },
    });
    try {
      const query = '/webAPI.aspx?type=calllist&requestid=77&callcount=3';
      const call = async (url: string, key: string) => Buffer.from(await (await fetch(`${url}${query}`, { headers: { 'x-api-key': key } })).arrayBuffer()).toString('latin1');
      const core = await call(gw.url, keys['exporter']!);
      assert.equal(await call(rewriting.url, keys['reader']!), core, 'a caller without recordings:export gets the core\'s answer');
      const rewritten = await call(rewriting.url, keys['exporter']!);
      const links = [...rewritten.matchAll(/<PLAYBACKLINK>([^<]*)<\/PLAYBACKLINK>/g)].map((m) => m[1]!);
      const ids = [...core.matchAll(/<RECORDID>([0-9]+)<\/RECORDID>/g)].map((m) => m[1]!);
      assert.equal(links.length, 3);
      assert.equal(ids.length, 3);
      let i = 0;
      assert.equal(core.replace(/<PLAYBACKLINK>[^<]*<\/PLAYBACKLINK>/g, () => `<PLAYBACKLINK>${links[i++]}</PLAYBACKLINK>`), rewritten, 'only the PLAYBACKLINK texts differ');
      for (const [k, link] of links.entries()) {
        assert.match(link, new RegExp(`^${base}/api/v1/recordings/${ids[k]}/media\\?format=wav&amp;expires=[0-9]+&amp;signature=[A-Za-z0-9_.-]+$`));
        const url = new URL(link.replaceAll('&amp;', '&'));
        secrets.push(url.searchParams.get('signature')!.split('.')[2]!);
        const response = await fetch(`${rewriting.url}${url.pathname}${url.search}`, { method: 'HEAD' });
        assert.equal(response.status, 200, `the link opens recording ${ids[k]}`);
        assert.equal(response.headers.get('content-type'), 'audio/wav');
      }
      // Signed links it makes are absolute under the base.
      const made = await fetch(`${rewriting.url}/api/v1/recordings/${recordId}/links`, { method: 'POST', headers: { 'x-api-key': keys['exporter']! } });
      const json = (await made.json()) as LinkAnswer;
      assert.equal(made.status, 201);
      assert.ok(json.url.startsWith(`${base}/api/v1/recordings/${recordId}/media?format=wav&expires=`), json.url);
      secrets.push(new URL(json.url).searchParams.get('signature')!.split('.')[2]!);
    } finally {
      await rewriting.close();
    }
  });
});

describe('event tickets', () => {
  const ticketFor = async (key: string | undefined): Promise<{ status: number; body: { ticket: string; expiresAt: string } }> => {
    const response = await fetch(`${gw.url}/api/v1/events/tickets`, { method: 'POST', headers: key ? { 'x-api-key': key } : {} });
    const body = (await response.json()) as { ticket: string; expiresAt: string };
    if (response.status === 201) secrets.push(body.ticket);
    return { status: response.status, body };
  };

  test('a ticket opens the stream once, in its credential\'s name and share; reused, forged or expired, 403; no events scope, 403', async () => {
    const before = Date.now();
    const { status, body } = await ticketFor(keys['listener']);
    assert.equal(status, 201);
    assert.deepEqual(Object.keys(body).sort(), ['expiresAt', 'ticket']);
    assert.ok(Math.abs(Date.parse(body.expiresAt) - (before + 30_000)) < 2000);
    assert.equal((await ticketFor(keys['status'])).status, 403);
    assert.equal((await ticketFor(undefined)).status, 401);

    const url = `${gw.url}/api/v1/events?type=CALLSTART&ticket=${encodeURIComponent(body.ticket)}`;
    const stream = await SseClient.open(url);
    try {
      assert.equal(stream.status, 200);
      await stream.statusBecomes('up');
      gw.sim.context.events.publish('CALLSTART', { DEVICEID: 'ticketed' }, 1);
      const [event] = await stream.nextEvents(1);
      assert.equal(event!.json.type, 'CALLSTART');
      assert.equal(event!.json.data['deviceId'], 'ticketed');

      const again = await fetch(url);
      assert.equal(again.status, 403);
      assert.match((await problemOf(again)).detail, /used already/);
      // The stream counts against the key that asked for the ticket (EVENTS_MAX_PER_CREDENTIAL 1 here).
      const sameKey = await fetch(`${gw.url}/api/v1/events`, { headers: { 'x-api-key': keys['listener']! } });
      assert.equal(sameKey.status, 429);
      await sameKey.arrayBuffer();
      const otherKey = new AbortController();
      const other = await fetch(`${gw.url}/api/v1/events`, { headers: { 'x-api-key': keys['other-listener']! }, signal: otherKey.signal });
      assert.equal(other.status, 200);
      otherKey.abort();
    } finally {
      stream.close();
    }

    const forged = (await ticketFor(keys['other-listener'])).body.ticket;
    const [keyId, payload, mac] = forged.split('.') as [string, string, string];
    const asListener = Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(payload, 'base64url').toString()), n: 'listener' })).toString('base64url');
    for (const ticket of [`${keyId}.${asListener}.${mac}`, `${keyId}.${payload}.${mac.slice(0, -2)}AA`, 'nonsense', `${keyId}.${payload}`]) {
      const response = await fetch(`${gw.url}/api/v1/events?ticket=${encodeURIComponent(ticket)}`);
      assert.equal(response.status, 403, ticket);
      await response.arrayBuffer();
    }

    // A ticket of a key the gateway holds, that lived a second.
    const brief = new EventTickets({ keys: new SigningKeys([signingKey]), lifetimeSeconds: 1 }).issue({ name: 'listener', kind: 'key' });
    secrets.push(brief.ticket);
    await new Promise((r) => setTimeout(r, 1100));
    const expired = await fetch(`${gw.url}/api/v1/events?ticket=${encodeURIComponent(brief.ticket)}`);
    assert.equal(expired.status, 403);
    assert.match((await problemOf(expired)).detail, /expired/);
  });

  test('a key never goes in a URL: apikey= is no credential on REST nor on the stream', async () => {
    for (const url of [`/api/v1/recordings?apikey=${encodeURIComponent(keys['reader']!)}`, `/api/v1/events?apikey=${encodeURIComponent(keys['listener']!)}`]) {
      const response = await fetch(`${gw.url}${url}`);
      assert.equal(response.status, 401, url);
      await response.arrayBuffer();
    }
  });
});

describe('the record of it', () => {
  test('the audit trail has each link made and each use in the maker\'s name; no log line holds a signature, a ticket or a key', async () => {
    await audit.close();
    audit = new AuditTrail({ file: auditFile });
    const lines = fs.readFileSync(auditFile, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    const validate = addFormats.default(new Ajv2020({ strict: true })).compile(auditRecordSchema);
    for (const line of lines) assert.ok(validate(line), JSON.stringify(validate.errors));
    const made = lines.filter((l) => l.action === 'link' && (l.outcome as { status: number }).status === 201);
    assert.ok(made.length >= 5, `${made.length} links made`);
    assert.deepEqual(
      { credential: made[0]!.credential, type: made[0]!.type, identifiers: made[0]!.identifiers, format: made[0]!.format, via: made[0]!.via },
      { credential: 'exporter', type: 'EXPORT', identifiers: { RECORDID: String(recordId) }, format: 'wav', via: undefined },
    );
    const used = lines.filter((l) => l.via === 'signed-link');
    assert.ok(used.length >= 4, `${used.length} uses`);
    for (const use of used) assert.deepEqual([use.action, use.type], ['export', 'EXPORT']);
    assert.deepEqual([...new Set(used.map((u) => u.credential))].sort(), ['exporter', 'temporary'], 'each use in the name of the key that made the link');
    assert.equal(used.filter((u) => u.credential === 'temporary').length, 1, 'the use before the key was revoked, not the one after');
    assert.ok(used.some((u) => (u.outcome as { status: number }).status === 206));
    assert.ok(lines.some((l) => l.action === 'refused' && l.credential === 'reader' && l.reason === 'recordings:export'));

    const log = logLines.join('');
    assert.ok(logLines.length > 50, `${logLines.length} log lines`);
    assert.ok(secrets.length > 8);
    for (const secret of [...secrets, ...Object.values(keys), signingKey]) assert.ok(!log.includes(secret), `a secret in the log: ${secret.slice(0, 12)}...`);
    assert.doesNotMatch(log, /signature=(?!\[redacted\])/);
    assert.doesNotMatch(log, /ticket=(?!\[redacted\])/);
    assert.match(log, /signed link refused/, 'refusals are logged, with why');
  });
});
