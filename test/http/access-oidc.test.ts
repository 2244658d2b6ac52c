/**
 * Access tokens of an OpenID provider on the gateway's surfaces: a client-credentials token from a
 * real provider (oidc-provider on loopback) is let in with the scopes it was granted, on REST and
 * the WebAPI alike; a scope it lacks is 403, a bad token 401, and API keys keep working beside it.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { ApiKeyStore } from '../../src/access/api-keys.js';
import { Gatekeeper } from '../../src/access/gatekeeper.js';
import { runKeysCommand } from '../../src/access/keys-cli.js';
import { OidcVerifier } from '../../src/access/oidc.js';
import { childText, parseXml } from '../../src/protocol/xml.js';
import { AUDIENCE, TestProvider, signingKey } from '../access/oidc-provider.js';
import { startTestGateway, type TestGateway } from './gateway-harness.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'access-oidc-'));
let provider: TestProvider;
let verifier: OidcVerifier;
let keys: ApiKeyStore;
let gw: TestGateway;
let key: string;

before(async () => {
  provider = await TestProvider.start([await signingKey('k1')]);
  verifier = new OidcVerifier({ issuer: provider.issuer, audience: AUDIENCE });
  const file = path.join(dir, 'keys.yaml');
  key = runKeysCommand(['create', '--name', 'ops', '--scopes', 'admin', '--file', file], file).split('\n')[0]!;
  keys = new ApiKeyStore({ file });
  const gatekeeper = new Gatekeeper({ open: false, keys, tokens: verifier, webApiNetworks: undefined, allowedOrigins: new Set() });
  gw = await startTestGateway({ seed: false }, {}, { access: { gatekeeper, webApiQueryKeys: false, metricsAuth: false } });
});
after(async () => {
  await gw.close();
  verifier.close();
  keys.close();
  await provider.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

test('a token granted status and calls: REST and WebAPI commands of those scopes, not admin', async () => {
  const token = await provider.token({ scope: 'status calls' });
  assert.equal((await fetch(`${gw.url}/api/v1/devices`, { headers: bearer(token) })).status, 200);
  const test = await fetch(`${gw.url}/webAPI.aspx?type=test&requestid=4`, { headers: bearer(token) });
  assert.equal(childText(parseXml(await test.text()), 'RESULTCODE'), '20');
  const users = await fetch(`${gw.url}/api/v1/users`, { headers: bearer(token) });
  assert.equal(users.status, 403);
  assert.match(((await users.json()) as { detail: string }).detail, /needs the scope admin; reporting has status, calls/);
});

test('a token without the scope asked is refused that scope', async () => {
  const token = await provider.token({ scope: 'status' });
  assert.equal((await fetch(`${gw.url}/api/v1/calls/start`, { method: 'POST', headers: { ...bearer(token), 'content-type': 'application/json' }, body: '{"deviceId":"1"}' })).status, 403);
});

test('a token tampered with, or for another audience, is 401 with the challenge; an API key still works', async () => {
  const token = await provider.token({ scope: 'status' });
  const [head, body, signature] = token.split('.') as [string, string, string];
  const tampered = `${head}.${Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(body, 'base64url').toString()), scope: 'admin' })).toString('base64url')}.${signature}`;
  const refused = await fetch(`${gw.url}/api/v1/users`, { headers: bearer(tampered) });
  assert.equal(refused.status, 401);
  assert.equal(refused.headers.get('www-authenticate'), 'Bearer realm="uptivity-gateway"');
  assert.equal(((await refused.json()) as { detail: string }).detail, 'The access token is not valid.');
  assert.equal((await fetch(`${gw.url}/api/v1/users`, { headers: { 'x-api-key': key } })).status, 200);
});
