/**
 * The OIDC verifier against a real OpenID provider (oidc-provider) on loopback: access tokens come
 * from its token endpoint by the client-credentials grant, and edge-case tokens are minted with the
 * provider's own signing keys, which the test generates and hands to it.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, test } from 'node:test';
import { base64url, CompactSign, decodeJwt, exportSPKI, importJWK, SignJWT, type CryptoKey, type JWTPayload } from 'jose';
import { looksLikeJwt, MAX_TOKEN_LENGTH, OidcVerifier, TokenRefused, type TokenRefusalReason } from '../../src/access/oidc.js';
import { AUDIENCE, OTHER_AUDIENCE, TestProvider, signingKey, type SigningKey } from './oidc-provider.js';

/** A token signed with `key`, for the provider's issuer and the gateway's audience unless told otherwise. */
async function mint(issuer: string, key: SigningKey, claims: JWTPayload = {}, header: Record<string, unknown> = {}): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  const payload = { iss: issuer, aud: AUDIENCE, iat: now, exp: now + 300, sub: 'reporting', client_id: 'reporting', scope: 'status', ...claims };
  return new SignJWT(payload).setProtectedHeader({ alg: key.alg, kid: key.kid, typ: 'at+jwt', ...header }).sign(key.privateKey);
}

/** The reason a token is refused, after checking that no part of the token leaked into the error. */
async function refusal(verifier: OidcVerifier, token: string): Promise<TokenRefusalReason> {
  const error: unknown = await verifier.verify(token).then(
    (identity) => assert.fail(`accepted as ${identity.name}`),
    (error: unknown) => error,
  );
  assert.ok(error instanceof TokenRefused, String(error));
  const told = `${error.message}\n${error.stack}\n${String((error.cause as Error | undefined)?.message)}`;
  for (const part of token.split('.').filter((part) => part.length >= 8)) assert.ok(!told.includes(part), `the error shows the token: ${told}`);
  return error.reason;
}

async function closedPort(): Promise<number> {
  const server = net.createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe('OidcVerifier against a real OpenID provider', () => {
  let keyA: SigningKey;
  let provider: TestProvider;
  let verifier: OidcVerifier;

  before(async () => {
    keyA = await signingKey('key-a');
    provider = await TestProvider.start([keyA]);
    verifier = new OidcVerifier({ issuer: provider.issuer, audience: AUDIENCE });
  });
  after(async () => {
    verifier.close();
    await provider.close();
  });

  test('a token from the token endpoint names its client and carries the scopes granted', async () => {
    const token = await provider.token({ scope: 'status calls recordings:read' });
    const identity = await verifier.verify(token);
    assert.equal(identity.name, 'reporting');
    assert.equal(identity.clientId, 'reporting');
    assert.equal(identity.subject, 'reporting');
    assert.deepEqual([...identity.scopes].sort(), ['calls', 'recordings:read', 'status']);
    const { exp } = decodeJwt(token);
    assert.equal(identity.expiresAt?.getTime(), exp! * 1000);
    assert.deepEqual(verifier.status(), { issuer: provider.issuer, ready: true, detail: `1 key(s) from ${provider.issuer}/jwks` });
  });

  test('a scope not asked for is not in the identity', async () => {
    const identity = await verifier.verify(await provider.token({ scope: 'status' }));
    assert.deepEqual([...identity.scopes], ['status']);
    assert.ok(!identity.scopes.has('recordings:read'));
  });

  test('scp as an array or a string, and a user token named by its subject', async () => {
    const asArray = await verifier.verify(await mint(provider.issuer, keyA, { scope: undefined, scp: ['calls', 'status'] }));
    assert.deepEqual([...asArray.scopes].sort(), ['calls', 'status']);
    const asString = await verifier.verify(await mint(provider.issuer, keyA, { scope: undefined, scp: 'calls  status' }));
    assert.deepEqual([...asString.scopes].sort(), ['calls', 'status']);
    const user = await verifier.verify(await mint(provider.issuer, keyA, { sub: 'alice', client_id: undefined, azp: 'console' }));
    assert.deepEqual([user.name, user.subject, user.clientId], ['alice', 'alice', 'console']);
    assert.equal(await refusal(verifier, await mint(provider.issuer, keyA, { sub: undefined, client_id: undefined })), 'malformed');
  });

  test('an expired token from the provider is refused', async () => {
    const strict = new OidcVerifier({ issuer: provider.issuer, audience: AUDIENCE, clockToleranceSeconds: 0 });
    try {
      const token = await provider.token({ clientId: 'short-lived' });
      // Accepted within the tolerance, whereas a token of one second may already be past its exp.
      assert.equal((await verifier.verify(token)).name, 'short-lived');
      const { exp } = decodeJwt(token);
      assert.ok(exp! * 1000 - Date.now() < 2000, 'a token of one second');
      await sleep(exp! * 1000 - Date.now() + 100);
      assert.equal(await refusal(strict, token), 'expired');
    } finally {
      strict.close();
    }
  });

  test('time claims are checked with the clock tolerance; exp is required', async () => {
    const now = Math.floor(Date.now() / 1000);
    assert.equal(await refusal(verifier, await mint(provider.issuer, keyA, { exp: now - 60 })), 'expired');
    assert.equal((await verifier.verify(await mint(provider.issuer, keyA, { exp: now - 10 }))).name, 'reporting');
    assert.equal(await refusal(verifier, await mint(provider.issuer, keyA, { nbf: now + 120 })), 'not-yet-valid');
    assert.equal((await verifier.verify(await mint(provider.issuer, keyA, { nbf: now + 10 }))).name, 'reporting');
    assert.equal(await refusal(verifier, await mint(provider.issuer, keyA, { exp: undefined })), 'malformed');
  });

  test('a token for another audience or from another issuer is refused', async () => {
    assert.equal(await refusal(verifier, await provider.token({ resource: OTHER_AUDIENCE })), 'audience');
    assert.equal(await refusal(verifier, await mint(provider.issuer, keyA, { aud: [OTHER_AUDIENCE, 'x'] })), 'audience');
    assert.equal((await verifier.verify(await mint(provider.issuer, keyA, { aud: [OTHER_AUDIENCE, AUDIENCE] }))).name, 'reporting');
    assert.equal(await refusal(verifier, await mint('https://login.evil.test', keyA)), 'issuer');
  });

  test('a discovery document for another issuer is not used', async () => {
    // The same provider reached by another name announces its own issuer, not this one.
    const misnamed = new OidcVerifier({ issuer: provider.issuer.replace('127.0.0.1', 'localhost'), audience: AUDIENCE });
    try {
      assert.equal(await refusal(misnamed, await provider.token()), 'provider-unreachable');
      const status = misnamed.status();
      assert.equal(status.ready, false);
      assert.match(status.detail, /issuer/);
    } finally {
      misnamed.close();
    }
  });

  test('a changed payload or another key under the provider\'s kid fails the signature', async () => {
    const [header, payload, signature] = (await provider.token({ scope: 'status' })).split('.');
    const widened = base64url.encode(JSON.stringify({ ...decodeJwt(`${header}.${payload}.${signature}`), scope: 'status calls' }));
    assert.equal(await refusal(verifier, `${header}.${widened}.${signature}`), 'signature');
    const impostor = await signingKey(keyA.kid);
    assert.equal(await refusal(verifier, await mint(provider.issuer, impostor)), 'signature');
  });

  test('alg none, and HS256 keyed with the provider\'s public key, are refused for their algorithm', async () => {
    const now = Math.floor(Date.now() / 1000);
    const claims = { iss: provider.issuer, aud: AUDIENCE, iat: now, exp: now + 300, sub: 'reporting', client_id: 'reporting', scope: 'status calls' };
    const unsigned = `${base64url.encode(JSON.stringify({ alg: 'none', kid: keyA.kid }))}.${base64url.encode(JSON.stringify(claims))}.`;
    assert.equal(await refusal(verifier, unsigned), 'algorithm');

    // The attack: take the public key as published and use it as an HMAC secret.
    const published = await provider.publishedJwks();
    const publicJwk = published.keys[0]!;
    const secrets = [
      new TextEncoder().encode(JSON.stringify(publicJwk)),
      new TextEncoder().encode(published.text),
      new TextEncoder().encode(await exportSPKI(keyA.publicKey)),
    ];
    for (const secret of secrets) {
      const hs256 = await new SignJWT(claims).setProtectedHeader({ alg: 'HS256', kid: keyA.kid }).sign(secret);
      assert.equal(await refusal(verifier, hs256), 'algorithm');
    }
  });

  test('only the algorithm a key announces is accepted with it', async () => {
    // The provider's key says RS256; the same RSA key used with PS256 is refused.
    const samePrivateKeyAsPss = (await importJWK({ ...keyA.privateJwk, alg: 'PS256' }, 'PS256')) as CryptoKey;
    assert.equal(await refusal(verifier, await mint(provider.issuer, { ...keyA, alg: 'PS256', privateKey: samePrivateKeyAsPss })), 'algorithm');
    const ec = await signingKey(keyA.kid, 'ES256');
    assert.equal(await refusal(verifier, await mint(provider.issuer, ec)), 'algorithm');
  });

  test('garbage and oversized tokens are malformed', async () => {
    for (const garbage of ['', 'not-a-jwt', 'a.b.c', 'bm90IGpzb24.e30.c2lnbmF0dXJl', 'a.b.c.d.e', 'ey J.x.y']) {
      assert.equal(await refusal(verifier, garbage), 'malformed', garbage);
    }
    const signedNonsense = await new CompactSign(new TextEncoder().encode('not json'))
      .setProtectedHeader({ alg: keyA.alg, kid: keyA.kid })
      .sign(keyA.privateKey);
    assert.equal(await refusal(verifier, signedNonsense), 'malformed');
    const oversized = await mint(provider.issuer, keyA, { padding: 'x'.repeat(MAX_TOKEN_LENGTH) });
    assert.ok(oversized.length > MAX_TOKEN_LENGTH);
    assert.equal(await refusal(verifier, oversized), 'malformed');
    // Refused before discovery: a verifier whose provider is away says malformed, not unreachable.
    const away = new OidcVerifier({ issuer: `http://127.0.0.1:${await closedPort()}`, audience: AUDIENCE });
    try {
      assert.equal(await refusal(away, oversized), 'malformed');
    } finally {
      away.close();
    }
  });
});

test('tokens signed with the provider\'s elliptic-curve, Edwards-curve and RSA-PSS keys are accepted', async () => {
  const keys = await Promise.all([
    signingKey('rsa', 'RS256'),
    signingKey('pss', 'PS256'),
    signingKey('p256', 'ES256'),
    signingKey('p384', 'ES384'),
    signingKey('ed', 'EdDSA'),
  ]);
  const provider = await TestProvider.start(keys);
  const verifier = new OidcVerifier({ issuer: provider.issuer, audience: AUDIENCE });
  try {
    assert.equal((await verifier.verify(await provider.token())).name, 'reporting');
    for (const key of keys) assert.equal((await verifier.verify(await mint(provider.issuer, key))).name, 'reporting', key.alg);
    assert.match(verifier.status().detail, /^5 key\(s\)/);
  } finally {
    verifier.close();
    await provider.close();
  }
});

describe('key rotation', () => {
  test('an unknown kid refetches the keys once; another within the cooldown is refused without a fetch', async () => {
    const [keyA, keyB, keyC] = await Promise.all(['rot-a', 'rot-b', 'rot-c'].map((kid) => signingKey(kid)));
    const provider = await TestProvider.start([keyA!]);
    const cooldownMs = 1000;
    const verifier = new OidcVerifier({ issuer: provider.issuer, audience: AUDIENCE, refetchCooldownMs: cooldownMs });
    try {
      assert.equal((await verifier.verify(await provider.token())).name, 'reporting');
      assert.equal(provider.jwksFetches, 1);
      await verifier.verify(await provider.token());
      assert.equal(provider.jwksFetches, 1, 'keys are cached');

      // Every token is got before the first refetch, so that what must happen within the cooldown
      // after it is only verifying, however slow the machine.
      provider.use([keyC!]);
      const tokenC = await provider.token();
      const madeUpKids = await Promise.all(Array.from({ length: 20 }, (_, i) => mint(provider.issuer, { ...keyC!, kid: `made-up-${i}` })));
      provider.use([keyB!]);
      const tokenB = await provider.token();
      await sleep(cooldownMs + 50);

      assert.equal((await verifier.verify(tokenB)).name, 'reporting');
      assert.equal(provider.jwksFetches, 2, 'one refetch for the new kid');
      provider.use([keyC!]);
      assert.equal(await refusal(verifier, tokenC), 'unknown-key');
      // A flood of made-up key ids within the cooldown does not reach the provider.
      const flood = await Promise.all(madeUpKids.map((token) => refusal(verifier, token)));
      assert.deepEqual(new Set(flood), new Set(['unknown-key']));
      assert.equal(provider.jwksFetches, 2, 'no fetch within the cooldown');

      await sleep(cooldownMs + 50);
      assert.equal((await verifier.verify(tokenC)).name, 'reporting');
      assert.equal(provider.jwksFetches, 3);
      assert.match(verifier.status().detail, /^1 key\(s\)/);
    } finally {
      verifier.close();
      await provider.close();
    }
  });
});

test('after ten minutes the keys are refreshed in the background, and kept while the provider is away', async (t) => {
  const [keyA, keyB] = await Promise.all(['old', 'new'].map((kid) => signingKey(kid)));
  const provider = await TestProvider.start([keyA!]);
  const verifier = new OidcVerifier({ issuer: provider.issuer, audience: AUDIENCE, refetchCooldownMs: 1000 });
  // Only Date is mocked: jose's claim checks and the verifier's ages read it, timeouts stay real.
  t.mock.timers.enable({ apis: ['Date'], now: Date.now() });
  const until = async (condition: () => boolean) => {
    while (!condition()) await sleep(5);
  };
  try {
    assert.equal((await verifier.verify(await mint(provider.issuer, keyA!))).name, 'reporting');
    assert.equal(provider.jwksFetches, 1);

    t.mock.timers.tick(11 * 60_000);
    provider.away = true;
    assert.equal((await verifier.verify(await mint(provider.issuer, keyA!))).name, 'reporting', 'the keys in hand are used');
    await until(() => /last refresh failed/.test(verifier.status().detail));
    assert.equal(provider.jwksFetches, 2, 'one background refresh');
    assert.equal((await verifier.verify(await mint(provider.issuer, keyA!))).name, 'reporting');
    assert.equal(provider.jwksFetches, 2, 'not retried per token');
    const { ready, detail } = verifier.status();
    assert.equal(ready, true);
    assert.match(detail, /last refresh failed/);

    // Back, having withdrawn the old key: it is trusted until the refresh brings the new set.
    t.mock.timers.tick(11 * 60_000);
    provider.away = false;
    provider.use([keyB!]);
    assert.equal((await verifier.verify(await mint(provider.issuer, keyA!))).name, 'reporting');
    await until(() => !/failed/.test(verifier.status().detail));
    assert.equal(await refusal(verifier, await mint(provider.issuer, keyA!)), 'unknown-key');
    assert.equal((await verifier.verify(await mint(provider.issuer, keyB!))).name, 'reporting');
    assert.equal(provider.jwksFetches, 3);
    assert.doesNotMatch(verifier.status().detail, /failed/);
  } finally {
    verifier.close();
    await provider.close();
  }
});

describe('provider unreachable', () => {
  let sockets: net.Socket[] = [];
  let silent: net.Server;
  before(async () => {
    // Accepts connections and never answers.
    silent = net.createServer((socket) => sockets.push(socket)).listen(0, '127.0.0.1');
    await once(silent, 'listening');
  });
  after(async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise((resolve) => silent.close(resolve));
  });

  test('a closed port is refused as provider-unreachable at once', async () => {
    const issuer = `http://127.0.0.1:${await closedPort()}`;
    const verifier = new OidcVerifier({ issuer, audience: AUDIENCE, fetchTimeoutMs: 2000 });
    try {
      const key = await signingKey('k');
      const started = performance.now();
      assert.equal(await refusal(verifier, await mint(issuer, key)), 'provider-unreachable');
      assert.ok(performance.now() - started < 2000);
      const status = verifier.status();
      assert.equal(status.ready, false);
      assert.match(status.detail, /^discovery failed/);
    } finally {
      verifier.close();
    }
  });

  test('a provider that never answers is refused within the fetch timeout, and not asked again per token', async () => {
    const { port } = silent.address() as net.AddressInfo;
    const issuer = `http://127.0.0.1:${port}`;
    const fetchTimeoutMs = 300;
    const verifier = new OidcVerifier({ issuer, audience: AUDIENCE, fetchTimeoutMs });
    try {
      assert.deepEqual(verifier.status(), { issuer, ready: false, detail: 'discovery under way' });
      const token = await mint(issuer, await signingKey('k'));
      const started = performance.now();
      assert.equal(await refusal(verifier, token), 'provider-unreachable');
      const elapsed = performance.now() - started;
      assert.ok(elapsed < fetchTimeoutMs + 1000, `refused after ${elapsed} ms`);
      const connections = sockets.length;
      assert.equal(await refusal(verifier, token), 'provider-unreachable');
      assert.equal(await refusal(verifier, token), 'provider-unreachable');
      assert.equal(sockets.length, connections, 'a failed discovery is remembered');
      assert.match(verifier.status().detail, /no answer within 300 ms/);
    } finally {
      verifier.close();
    }
  });
});

test('looksLikeJwt tells a JWT from an API key', async () => {
  const key = await signingKey('k');
  assert.equal(looksLikeJwt(await mint('https://login.example.test', key)), true);
  assert.equal(looksLikeJwt('eyJhbGciOiJub25lIn0.e30.'), true);
  for (const value of ['', 'ugw_3f9a8b7c6d5e4f3a2b1c', 'a.b', 'a.b.c.d.e', 'a b.c.d', 'a.b.c=']) assert.equal(looksLikeJwt(value), false, value);
});

test('options are checked at construction', () => {
  const audience = AUDIENCE;
  assert.throws(() => new OidcVerifier({ issuer: 'not a url', audience }), RangeError);
  assert.throws(() => new OidcVerifier({ issuer: 'http://login.example.test/realms/x', audience }), /https/);
  assert.throws(() => new OidcVerifier({ issuer: 'https://login.example.test', audience: '' }), RangeError);
  assert.throws(() => new OidcVerifier({ issuer: 'https://login.example.test', audience, refetchCooldownMs: 0 }), RangeError);
  assert.throws(() => new OidcVerifier({ issuer: 'https://login.example.test', audience, fetchTimeoutMs: -1 }), RangeError);
  assert.throws(() => new OidcVerifier({ issuer: 'https://login.example.test', audience, clockToleranceSeconds: Number.NaN }), RangeError);
});
