/**
 * A real OpenID provider (oidc-provider) on loopback for the tests: access tokens come from its
 * token endpoint by the client-credentials grant, signed with keys the test generates and hands to
 * it, so edge-case tokens can be minted with the same keys. It can be given other keys (a rotation)
 * while its issuer stays, and counts the requests for its key set.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import http from 'node:http';
import net from 'node:net';
import { exportJWK, generateKeyPair, type CryptoKey, type JWK } from 'jose';
import Provider, { errors as providerErrors, type Adapter, type Configuration } from 'oidc-provider';

export const AUDIENCE = 'https://gateway.test/api';
export const OTHER_AUDIENCE = 'https://other.test/api';
export const RESOURCE_SCOPES = 'status calls recordings:read recordings:export';

export interface SigningKey {
  kid: string;
  alg: string;
  privateKey: CryptoKey;
  publicKey: CryptoKey;
  privateJwk: JWK;
}

export async function signingKey(kid: string, alg = 'RS256'): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  return { kid, alg, privateKey, publicKey, privateJwk: { ...(await exportJWK(privateKey)), kid, alg, use: 'sig' } };
}

// JWT access tokens are not stored by the provider, so the client-credentials grant needs no
// storage; an adapter that keeps nothing spares the tests its development memory store's warning.
const noStorage = (): Adapter => {
  const nothing = async () => undefined;
  return { upsert: nothing, find: nothing, findByUserCode: nothing, findByUid: nothing, consume: nothing, destroy: nothing, revokeByGrantId: nothing };
};

function providerConfiguration(keys: SigningKey[]): Configuration {
  const client = (id: string) => ({
    client_id: id,
    client_secret: `${id}-secret`,
    grant_types: ['client_credentials'],
    redirect_uris: [],
    response_types: [],
  });
  return {
    adapter: noStorage,
    clients: [client('reporting'), client('short-lived')],
    jwks: { keys: keys.map((key) => key.privateJwk) } as Configuration['jwks'],
    cookies: { keys: ['test-cookie-key'] },
    // The resource server's accessTokenTTL is only read by the provider's default TTL function.
    ttl: { ClientCredentials: (_ctx, token) => token.resourceServer?.accessTokenTTL ?? 300 },
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      resourceIndicators: {
        enabled: true,
        defaultResource: () => AUDIENCE,
        useGrantedResource: () => true,
        getResourceServerInfo: (_ctx, resource, client) => {
          if (resource !== AUDIENCE && resource !== OTHER_AUDIENCE) throw new providerErrors.InvalidTarget();
          return {
            audience: resource,
            scope: RESOURCE_SCOPES,
            accessTokenFormat: 'jwt',
            accessTokenTTL: client.clientId === 'short-lived' ? 1 : 300,
          };
        },
      },
    },
  };
}

/**
 * One loopback HTTP server whose OpenID provider can be replaced by one with other keys (a key
 * rotation) while the issuer stays; it counts the requests for the key set.
 */
export class TestProvider {
  jwksFetches = 0;
  /** While true, every request is answered 503, as by a provider that is down behind its proxy. */
  away = false;
  #handler: http.RequestListener = (_req, res) => res.writeHead(503).end();
  private constructor(readonly server: http.Server, readonly issuer: string) {}

  static async start(keys: SigningKey[]): Promise<TestProvider> {
    let self: TestProvider | undefined;
    const server = http.createServer((req, res) => {
      if (req.url === '/jwks') self!.jwksFetches++;
      if (self!.away) res.writeHead(503).end();
      else self!.#handler(req, res);
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const { port } = server.address() as net.AddressInfo;
    self = new TestProvider(server, `http://127.0.0.1:${port}`);
    self.use(keys);
    return self;
  }

  /** From now on the provider signs with the first key and publishes these keys only. */
  use(keys: SigningKey[]): void {
    this.#handler = new Provider(this.issuer, providerConfiguration(keys)).callback();
  }

  async token({ clientId = 'reporting', scope = 'status calls', resource = AUDIENCE } = {}): Promise<string> {
    const response = await fetch(`${this.issuer}/token`, {
      method: 'POST',
      headers: {
        authorization: `Basic ${Buffer.from(`${clientId}:${clientId}-secret`).toString('base64')}`,
        'content-type': 'application/x-www-form-urlencoded',
      },
      body: new URLSearchParams({ grant_type: 'client_credentials', scope, resource }),
    });
    const body = (await response.json()) as { access_token?: string };
    assert.equal(response.status, 200, JSON.stringify(body));
    assert.ok(body.access_token);
    return body.access_token;
  }

  async publishedJwks(): Promise<{ text: string; keys: JWK[] }> {
    const text = await (await fetch(`${this.issuer}/jwks`)).text();
    return { text, keys: (JSON.parse(text) as { keys: JWK[] }).keys };
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server.close(resolve));
  }
}

