/**
 * No secret reaches the gateway's log, whatever the path: a gateway logging at `trace` into memory
 * is sent secrets in every casing and encoding, in the query and in form bodies, on its routes and
 * beside them (a trailing slash, a mistyped name, `..`), with credential headers, in bodies Fastify
 * refuses and in requests Node cannot parse; then every line is searched for every secret value.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import * as fc from 'fast-check';
import { ApiKeyStore } from '../../src/access/api-keys.js';
import { AuditTrail } from '../../src/access/audit.js';
import { Gatekeeper } from '../../src/access/gatekeeper.js';
import { runKeysCommand } from '../../src/access/keys-cli.js';
import { createLogger } from '../../src/app.js';
import { redactLogLine, redactSecrets, secretParamNames } from '../../src/http/ops/log-redaction.js';
import { allScopes } from '../../src/protocol/catalog.js';
import { startTestGateway, type TestGateway } from './gateway-harness.js';

const password = 'S3cretXyz123';
/** Shaped as our keys are, but in no keys file. */
const unknownKey = `upk_k3yid0000z_${'Q7vX'.repeat(10)}aB9`;
/** Shaped as an access token; no issuer is configured, so it is refused. */
const jwt = 'eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJsZWFrLXRlc3QiLCJzY29wZSI6ImNhbGxzIn0.Zm9yZ2VkU2lnbmF0dXJlVmFsdWVGb3JMb2dz';
const opaqueToken = 'Opaque7TokenQrs789';
const junkApiKey = 'JunkApiKeyWvu456';
let validKey: string;

const lines: string[] = [];
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'log-redaction-'));
let store: ApiKeyStore;
let auditTrail: AuditTrail;
let gw: TestGateway;
let port: number;

/**
 * Every value that must never be logged, whole and in parts: a key's secret after `upk_<id>_` (its
 * id is no secret: a line may name it), a token's claims and signature.
 */
function secrets(): string[] {
  return [password, unknownKey, unknownKey.slice(15), validKey, validKey.slice(15), jwt, jwt.split('.')[1]!, jwt.split('.')[2]!, opaqueToken, junkApiKey];
}

/** A line's text, plus the bytes of any Buffer in it as text: a secret must not hide as numbers. */
function haystack(line: string): string {
  let text = line;
  for (const m of line.matchAll(/"data":\[([0-9,]*)\]/g)) text += '\n' + Buffer.from(m[1]!.split(',').filter(Boolean).map(Number)).toString('latin1');
  return text;
}

function leaksIn(from = 0): string[] {
  const found: string[] = [];
  for (const line of lines.slice(from)) {
    const text = haystack(line);
    for (const secret of secrets()) if (text.includes(secret)) found.push(`${secret} in ${line.trimEnd()}`);
  }
  return found;
}

/** A request as sent, path untouched (fetch would resolve `..` and `//`). */
function send(method: string, target: string, headers: Record<string, string> = {}, body?: string | Buffer): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method, path: target, headers: { ...headers, ...(body !== undefined ? { 'content-length': String(Buffer.byteLength(body)) } : {}) } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    // A body refused before it is read may reset the connection under the rest of it.
    req.on('error', (error: NodeJS.ErrnoException) => (error.code === 'ECONNRESET' || error.code === 'EPIPE' ? resolve(0) : reject(error)));
    req.end(body);
  });
}

/** Bytes Node's parser refuses (a header line without a colon): the `clientError` path. */
function sendUnparsable(request: string): Promise<void> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1', () => socket.write(request));
    socket.on('data', () => undefined);
    socket.on('close', () => resolve());
    socket.on('error', () => resolve());
  });
}

before(async () => {
  const keysFile = path.join(dir, 'keys.yaml');
  validKey = runKeysCommand(['create', '--name', 'redaction', '--scopes', allScopes.join(',')], keysFile).split('\n')[0]!;
  store = new ApiKeyStore({ file: keysFile });
  const logger = createLogger('trace', { write: (line: string) => void lines.push(line) });
  const gatekeeper = new Gatekeeper({ open: false, keys: store, tokens: undefined, webApiNetworks: undefined, allowedOrigins: new Set() });
  auditTrail = new AuditTrail({ log: logger });
  gw = await startTestGateway({}, { requestTimeoutMs: 1000 }, { logger, access: { gatekeeper, webApiQueryKeys: true, metricsAuth: true, auditTrail } });
  port = Number(new URL(gw.url).port);
});

after(async () => {
  await gw.close();
  store.close();
  await auditTrail.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

const paths = [
  '/webAPI.aspx',
  '/webAPI.aspx/',
  '/WEBAPI.ASPX',
  '/webapi.asp',
  '/webAPI.php',
  '/api/v1/nosuch',
  '/api/v1/recordings/1/media/',
  '/api/v1/commands/test',
  '/x/../webAPI.aspx',
  '//webAPI.aspx',
  '/livez/',
  '/docs/nosuch',
];

/** A secret name as a caller may spell it: each character in either case or percent-encoded. */
const spelledName = fc.constantFrom(...secretParamNames).chain((name) =>
  fc.tuple(...[...name].map((c) => fc.constantFrom(c.toLowerCase(), c.toUpperCase(), `%${c.charCodeAt(0).toString(16)}`, `%${c.charCodeAt(0).toString(16).toUpperCase()}`))).map((chars) => chars.join('')),
);

/** Made once the valid key is. */
const credentialHeaders = (): fc.Arbitrary<Record<string, string>> => fc.record(
  {
    authorization: fc.constantFrom(`Bearer ${unknownKey}`, `Bearer ${jwt}`, `Bearer ${opaqueToken}`, `bearer ${validKey}`, `Basic ${opaqueToken}`),
    'x-api-key': fc.constantFrom(unknownKey, junkApiKey, validKey),
  },
  { requiredKeys: [] },
);

test('secret parameters in any spelling, on any path, in the query or a form body, with credential headers: never logged', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.constantFrom(...paths),
      spelledName,
      fc.constantFrom('GET', 'POST'),
      fc.boolean(),
      credentialHeaders(),
      async (target, name, method, inBody, headers) => {
        const from = lines.length;
        const pair = `${name}=${password}`;
        const query = `type=export&requestid=1&ident=1&encrypt=Y&${inBody ? 'media_format=wav' : pair}`;
        if (method === 'POST') {
          await send('POST', `${target}?${query}`, { ...headers, 'content-type': 'application/x-www-form-urlencoded' }, `user1=x&${inBody ? pair : 'user2=y'}`);
        } else {
          await send('GET', `${target}?${query}${inBody ? `&${pair}` : ''}`, headers);
        }
        assert.deepEqual(leaksIn(from), []);
      },
    ),
    { numRuns: 150 },
  );
});

test('bodies Fastify refuses, core failures, unparsable requests and tokens in the URL: never logged', async () => {
  const form = { 'content-type': 'application/x-www-form-urlencoded' };
  const json = { 'content-type': 'application/json' };
  // JSON to the WebAPI: 415.
  await send('POST', `/webAPI.aspx?type=test&requestid=1&password=${password}`, json, JSON.stringify({ password }));
  // Past the body limits: 413 from the WebAPI, and from a path no route serves.
  await send('POST', `/webAPI.aspx?type=test&requestid=1&password=${password}`, form, `a=${'x'.repeat(2 * 1024 * 1024)}`);
  await send('POST', `/nosuch?password=${password}`, json, `{"a":"${'x'.repeat(2 * 1024 * 1024)}"}`);
  // Not JSON, where JSON is read: REST, a route of the root, no route at all.
  await send('POST', `/api/v1/commands/test?password=${password}`, json, `{"password":"${password}"`);
  await send('POST', `/livez?password=${password}`, json, `{"password":"${password}"`);
  await send('POST', `/nosuch?password=${password}`, json, `{"password":"${password}"`);
  // A REST body whose field is a secret, refused by its schema.
  await send('POST', `/api/v1/recordings/1/email?signature=${password}`, { ...json, authorization: `Bearer ${validKey}` }, JSON.stringify({ password, toAddress: 'a@example.com', unknownField: 1 }));
  // Tokens in the query under any name, and credentials that are accepted.
  await send('GET', `/webAPI.aspx?type=test&requestid=1&token=${jwt}&next=%2Fx%3Fpassword%3D${password}`);
  await send('GET', `/webAPI.aspx?type=test&requestid=1&apikey=${validKey}`);
  await send('POST', '/webAPI.aspx', form, `type=test&requestid=2&APIKEY=${validKey}&password=${password}`);
  await send('GET', `/api/v1/nosuch/${unknownKey}/${jwt}`);
  await send('GET', `/webAPI.aspx/%E0%A4%A?password=${password}`);
  // A core that does not answer in time: the request's line says how it failed.
  gw.sim.faults.add({ kind: 'delay', type: 'DEVICELIST', delayMs: 1500, times: 1 });
  await send('GET', `/webAPI.aspx?type=devicelist&requestid=3&password=${password}`, { 'x-api-key': validKey });
  // Requests Node cannot parse: Fastify logs the error, with the bytes it read.
  await sendUnparsable(`GET /webAPI.aspx?password=${password} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${opaqueToken}\r\nX-API-Key: ${junkApiKey}\r\nno colon here\r\n\r\n`);
  await sendUnparsable(`GET /webAPI.aspx?apikey=${unknownKey} HTTP/1.1\r\nHost: x\r\nX-API-Key: ${validKey}\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nabcde`);
  // Lines written as a response finishes may follow it.
  await new Promise((resolve) => setTimeout(resolve, 100));

  assert.deepEqual(leaksIn(), []);
  for (const line of lines) assert.doesNotThrow(() => JSON.parse(line), line);
  // The test saw what it means to: lines of every kind, the secrets' places marked.
  const all = lines.join('');
  for (const expected of [/"no route"/, /=\[redacted\]/, /"client error"/, /"rawPacket":"\[redacted\]"/, /"coreFailure":"TIMEOUT"/, /"access refused"/, /"audit"/]) {
    assert.match(all, expected);
  }
});

test('a root 404 is a problem, not Fastify\'s echo of the URL', async () => {
  const response = await fetch(`${gw.url}/webAPI.aspx/?type=export&password=${password}`);
  assert.equal(response.status, 404);
  assert.match(response.headers.get('content-type') ?? '', /^application\/problem\+json/);
  const body = (await response.json()) as Record<string, unknown>;
  assert.equal(body['status'], 404);
  assert.equal(body['detail'], 'No route GET /webAPI.aspx/; see /docs.');
  assert.ok(!JSON.stringify(body).includes(password));
});

test('redaction keeps names and what is not secret', () => {
  assert.equal(redactSecrets('/webAPI.aspx?type=export&PassWord=a&b=1#x'), '/webAPI.aspx?type=export&PassWord=[redacted]&b=1#x');
  assert.equal(redactSecrets('pass%77ord=a&encrypt%5Fpassword=b'), 'pass%77ord=[redacted]&encrypt%5Fpassword=[redacted]');
  assert.equal(redactSecrets('/x?newpassword=keep&passwords=keep&user9=keep'), '/x?newpassword=keep&passwords=keep&user9=keep');
  assert.equal(redactSecrets(`/x?next=%2Fy%3Fticket%3D${password}`), '/x?next=%2Fy%3Fticket%3D[redacted]');
  assert.equal(redactSecrets(`Authorization: Bearer ${opaqueToken}`), 'Authorization: Bearer [redacted]');
  assert.equal(redactSecrets(`/a/${unknownKey}/b/${jwt}`), '/a/[redacted]/b/[redacted]');
  const line = JSON.stringify({ url: `/a?api_key=x"y\\z&b=1`, headers: { authorization: `Basic ${opaqueToken}`, 'X-API-Key': junkApiKey }, body: { PASSWORD: 'p"q' } }) + '\n';
  const redacted = redactLogLine(line);
  assert.deepEqual(JSON.parse(redacted), { url: '/a?api_key=[redacted]&b=1', headers: { authorization: '[redacted]', 'X-API-Key': '[redacted]' }, body: { PASSWORD: '[redacted]' } });
  const plain = '{"level":30,"reqId":"3cb751344565-4","method":"GET","route":"/webAPI.aspx","status":200,"ms":9.1,"msg":"request"}\n';
  assert.equal(redactLogLine(plain), plain);
});
