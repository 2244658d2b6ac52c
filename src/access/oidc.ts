/**
 * Bearer access tokens (JWT) from one configured OpenID provider, checked as Envoy's jwt_authn
 * checks them: the provider's keys are fetched once and cached, an unknown key id causes one
 * rate-limited refetch, and one place checks signature, issuer, audience and time. A policy with no
 * HTTP: the access hook hands it the bearer string and gets an identity or a `TokenRefused`.
 */
import { createRemoteJWKSet, decodeProtectedHeader, errors, jwtVerify, type JWTPayload } from 'jose';

export interface OidcOptions {
  /** OIDC_ISSUER, e.g. https://login.example.com/realms/x */
  issuer: string;
  /** OIDC_AUDIENCE: this gateway's name in the tokens' `aud`. */
  audience: string;
  /** Default 30. */
  clockToleranceSeconds?: number;
  /** Default 5000, for discovery and JWKS. */
  fetchTimeoutMs?: number;
  /** Least time between two JWKS refetches caused by an unknown kid (default 30 s). */
  refetchCooldownMs?: number;
}

export interface TokenIdentity {
  /** Who: the token's client_id (or azp) for a client-credentials token, else sub. For logs and audit. */
  name: string;
  subject: string | undefined;
  clientId: string | undefined;
  /** From the `scope` claim (space-separated string) or `scp` (array or string). */
  scopes: ReadonlySet<string>;
  expiresAt: Date | undefined;
}

export type TokenRefusalReason =
  | 'malformed'
  | 'signature'
  | 'expired'
  | 'not-yet-valid'
  | 'issuer'
  | 'audience'
  | 'algorithm'
  | 'unknown-key'
  | 'provider-unreachable';

/** Why a token is not accepted. The message is for the log; it never contains the token. */
export class TokenRefused extends Error {
  override name = 'TokenRefused';
  constructor(
    readonly reason: TokenRefusalReason,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/** Longer than any access token a provider issues; refused before any parsing or fetching. */
export const MAX_TOKEN_LENGTH = 8 * 1024;

/**
 * Public-key algorithms only: with a symmetric one (HS256) the provider's public key could be used
 * as the HMAC secret by anyone, and `none` signs nothing. jose's key set then also requires the
 * key chosen to announce the header's `alg` (or, without one, to be of its type and curve).
 */
const ASYMMETRIC_ALGORITHMS = [
  'RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA', 'Ed25519',
];

/** A provider that is down is asked again at most this often, not once per request. */
const DISCOVERY_RETRY_MS = 60_000;

/**
 * Keys are refreshed in the background after this long, so that a key the provider withdrew stops
 * being trusted; the set in hand stays in use until a refresh succeeds, so a provider briefly down
 * does not stop tokens signed with keys already known.
 */
const KEYS_REFRESH_MS = 10 * 60_000;

const JWT_SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;

/**
 * Whether a bearer string looks like a JWT (three base64url parts), to tell it apart from an API key.
 * The signature part may be empty so that an unsigned (`alg: none`) token reaches the verifier and
 * is refused for its algorithm rather than taken for a key.
 */
export function looksLikeJwt(value: string): boolean {
  return JWT_SHAPE.test(value);
}

type KeySet = ReturnType<typeof createRemoteJWKSet>;

export class OidcVerifier {
  readonly #issuer: string;
  readonly #audience: string;
  readonly #clockToleranceSeconds: number;
  readonly #fetchTimeoutMs: number;
  readonly #refetchCooldownMs: number;
  readonly #closing = new AbortController();
  #discovery: Promise<KeySet> | undefined;
  #keys: { set: KeySet; uri: string } | undefined;
  #keysRefreshedAt = 0;
  #keysRefreshFailure: string | undefined;
  #failure: { at: number; detail: string } | undefined;

  constructor(options: OidcOptions) {
    const { issuer, audience, clockToleranceSeconds = 30, fetchTimeoutMs = 5000, refetchCooldownMs = 30_000 } = options;
    assertSafeUrl(issuer, 'the OIDC issuer');
    if (typeof audience !== 'string' || audience === '') throw new RangeError('the OIDC audience must not be empty');
    if (!Number.isFinite(clockToleranceSeconds) || clockToleranceSeconds < 0) {
      throw new RangeError(`clockToleranceSeconds must be a number of seconds, 0 or more (was ${clockToleranceSeconds})`);
    }
    if (!Number.isInteger(fetchTimeoutMs) || fetchTimeoutMs < 1 || fetchTimeoutMs > 2 ** 31 - 1) {
      throw new RangeError(`fetchTimeoutMs must be a whole number of milliseconds from 1 to 2147483647 (was ${fetchTimeoutMs})`);
    }
    // A cooldown of 0 would let a flood of tokens with made-up key ids become a flood of fetches.
    if (!Number.isInteger(refetchCooldownMs) || refetchCooldownMs < 1) {
      throw new RangeError(`refetchCooldownMs must be a whole number of milliseconds, at least 1 (was ${refetchCooldownMs})`);
    }
    this.#issuer = issuer;
    this.#audience = audience;
    this.#clockToleranceSeconds = clockToleranceSeconds;
    this.#fetchTimeoutMs = fetchTimeoutMs;
    this.#refetchCooldownMs = refetchCooldownMs;
    // Discovered at once, so that readiness tells whether the provider is usable before any token.
    this.#discover().catch(() => {});
  }

  async verify(token: string): Promise<TokenIdentity> {
    if (token.length > MAX_TOKEN_LENGTH) throw new TokenRefused('malformed', `the token is longer than ${MAX_TOKEN_LENGTH} characters`);
    if (!looksLikeJwt(token)) throw new TokenRefused('malformed', 'the token is not a compact JWT');
    const keys = await this.#discover();
    this.#refreshKeysIfOld(keys);
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, keys, {
        issuer: this.#issuer,
        audience: this.#audience,
        algorithms: ASYMMETRIC_ALGORITHMS,
        clockTolerance: this.#clockToleranceSeconds,
        requiredClaims: ['exp'],
      }));
    } catch (error) {
      throw this.#refusal(error, token, keys);
    }
    return identityOf(payload);
  }

  /** For /readyz-style status: issuer, whether discovery succeeded, key count; no secrets. */
  status(): { issuer: string; ready: boolean; detail: string } {
    // A failed discovery is retried from here too (within its retry interval), so that readiness
    // comes back with the provider even when no token arrives.
    this.#discover().catch(() => {});
    if (this.#closing.signal.aborted) return { issuer: this.#issuer, ready: false, detail: 'closed' };
    const keys = this.#keys;
    if (keys) {
      const count = keys.set.jwks()?.keys.length ?? 0;
      const refresh = this.#keysRefreshFailure ? `; last refresh failed: ${this.#keysRefreshFailure}` : '';
      return { issuer: this.#issuer, ready: true, detail: `${count} key(s) from ${keys.uri}${refresh}` };
    }
    if (this.#failure) return { issuer: this.#issuer, ready: false, detail: `discovery failed: ${this.#failure.detail}` };
    return { issuer: this.#issuer, ready: false, detail: 'discovery under way' };
  }

  close(): void {
    this.#closing.abort();
  }

  /** The provider's key set, after discovery and a first load of its keys; shared by concurrent callers. */
  #discover(): Promise<KeySet> {
    if (this.#closing.signal.aborted) return Promise.reject(new TokenRefused('provider-unreachable', 'the verifier is closed'));
    if (this.#discovery) return this.#discovery;
    const failure = this.#failure;
    if (failure && Date.now() - failure.at < DISCOVERY_RETRY_MS) {
      return Promise.reject(new TokenRefused('provider-unreachable', `the OpenID provider is unusable: ${failure.detail}`));
    }
    this.#discovery = this.#loadKeySet().then(
      (keys) => {
        this.#failure = undefined;
        return keys;
      },
      (error: unknown) => {
        this.#discovery = undefined;
        const detail = describe(error);
        this.#failure = { at: Date.now(), detail };
        throw new TokenRefused('provider-unreachable', `the OpenID provider is unusable: ${detail}`, { cause: error });
      },
    );
    return this.#discovery;
  }

  async #loadKeySet(): Promise<KeySet> {
    const url = `${this.#issuer.replace(/\/$/, '')}/.well-known/openid-configuration`;
    const signal = AbortSignal.any([this.#closing.signal, AbortSignal.timeout(this.#fetchTimeoutMs)]);
    let document: unknown;
    try {
      const response = await fetch(url, { signal, redirect: 'error', headers: { accept: 'application/json' } });
      if (response.status !== 200) throw new Error(`${url} answered ${response.status}`);
      document = await response.json();
    } catch (error) {
      if (signal.aborted && !this.#closing.signal.aborted) throw new Error(`${url} gave no answer within ${this.#fetchTimeoutMs} ms`);
      throw error;
    }
    const { issuer, jwks_uri: jwksUri } = (document ?? {}) as { issuer?: unknown; jwks_uri?: unknown };
    // OpenID Connect Discovery 1.0 §4.3: a document for another issuer must not be used.
    if (issuer !== this.#issuer) throw new Error(`the discovery document names the issuer ${JSON.stringify(issuer)}, not ${this.#issuer}`);
    if (typeof jwksUri !== 'string') throw new Error('the discovery document has no jwks_uri');
    assertSafeUrl(jwksUri, 'the provider\'s jwks_uri');
    const set = createRemoteJWKSet(new URL(jwksUri), {
      timeoutDuration: this.#fetchTimeoutMs,
      cooldownDuration: this.#refetchCooldownMs,
      // Never stale by jose's clock: #refreshKeysIfOld refreshes in the background instead, keeping
      // the keys in hand while the provider is away.
      cacheMaxAge: Number.POSITIVE_INFINITY,
    });
    await set.reload();
    if (this.#closing.signal.aborted) throw new Error('the verifier is closed');
    this.#keys = { set, uri: jwksUri };
    this.#keysRefreshedAt = Date.now();
    return set;
  }

  #refreshKeysIfOld(keys: KeySet): void {
    if (Date.now() - this.#keysRefreshedAt < KEYS_REFRESH_MS || keys.reloading) return;
    this.#keysRefreshedAt = Date.now();
    keys.reload().then(
      () => { this.#keysRefreshFailure = undefined; },
      (error: unknown) => { this.#keysRefreshFailure = describe(error); },
    );
  }

  #refusal(error: unknown, token: string, keys: KeySet): TokenRefused {
    if (error instanceof TokenRefused) return error;
    if (error instanceof errors.JWTExpired) return new TokenRefused('expired', 'the token has expired');
    if (error instanceof errors.JWTClaimValidationFailed) {
      switch (error.claim) {
        case 'iss': return new TokenRefused('issuer', `the token is not from ${this.#issuer}`);
        case 'aud': return new TokenRefused('audience', `the token is not for ${this.#audience}`);
        case 'nbf': return new TokenRefused('not-yet-valid', 'the token is not valid yet');
        default: return new TokenRefused('malformed', `the token's ${error.claim} claim is ${error.reason}`);
      }
    }
    if (error instanceof errors.JOSEAlgNotAllowed) return new TokenRefused('algorithm', `the token's algorithm is not one of ${ASYMMETRIC_ALGORITHMS.join(', ')}`);
    if (error instanceof errors.JWSSignatureVerificationFailed || error instanceof errors.JWKSMultipleMatchingKeys) {
      return new TokenRefused('signature', 'the token\'s signature does not verify');
    }
    if (error instanceof errors.JWKSNoMatchingKey) {
      // A key with this id exists but is for another algorithm: an algorithm refusal, not a key
      // the provider may have just added.
      const { kid } = decodeProtectedHeader(token);
      const known = keys.jwks()?.keys.some((key) => kid === undefined || key.kid === kid) ?? false;
      return known
        ? new TokenRefused('algorithm', 'the token\'s algorithm is not the one its key announces')
        : new TokenRefused('unknown-key', 'the token\'s key id is not among the provider\'s keys');
    }
    if (error instanceof errors.JWKSTimeout || error instanceof errors.JWKSInvalid || !(error instanceof errors.JOSEError) || error.code === 'ERR_JOSE_GENERIC') {
      // Fetching the keys again (an unknown kid) failed, or the provider answered with no usable key set.
      return new TokenRefused('provider-unreachable', `the provider's keys could not be fetched: ${describe(error)}`, { cause: error });
    }
    return new TokenRefused('malformed', 'the token is not a well-formed signed JWT');
  }
}

/** An error for the log: fetch's own message ("fetch failed") says nothing without its cause. */
function describe(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = error.cause as { code?: unknown; message?: unknown } | undefined;
  const detail = typeof cause?.code === 'string' ? cause.code : typeof cause?.message === 'string' ? cause.message : undefined;
  return detail ? `${error.message} (${detail})` : error.message;
}

function identityOf(payload: JWTPayload): TokenIdentity {
  const subject = typeof payload.sub === 'string' && payload.sub !== '' ? payload.sub : undefined;
  const clientId = stringClaim(payload.client_id) ?? stringClaim(payload.azp);
  // RFC 9068 §2.2: a token issued to a client for itself (client credentials) has no sub or the
  // client's own id as sub; a token issued for a user has the user as sub.
  const name = subject === undefined || subject === clientId ? clientId : subject;
  if (name === undefined) throw new TokenRefused('malformed', 'the token names neither a subject nor a client');
  return {
    name,
    subject,
    clientId,
    scopes: scopesOf(payload),
    expiresAt: typeof payload.exp === 'number' ? new Date(payload.exp * 1000) : undefined,
  };
}

function stringClaim(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

function scopesOf(payload: JWTPayload): Set<string> {
  const { scope, scp } = payload;
  const words = (value: unknown): string[] => (typeof value === 'string' ? value.split(/\s+/) : []);
  // `scope` is RFC 8693/9068's space-separated string; Azure AD and Okta put an array (or string) in `scp`.
  const all = [...words(scope), ...(Array.isArray(scp) ? scp.flatMap(words) : words(scp))];
  return new Set(all.filter((word) => word !== ''));
}

/**
 * Keys fetched over plain HTTP could be replaced on the way, and with them every token's trust; so
 * plain HTTP only to this machine (a provider beside the gateway, and the tests).
 */
function assertSafeUrl(value: string, what: string): void {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new RangeError(`${what} must be a URL (was ${JSON.stringify(value)})`);
  }
  const loopback = ['localhost', '127.0.0.1', '[::1]'].includes(url.hostname) || url.hostname.startsWith('127.');
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && loopback)) {
    throw new RangeError(`${what} must be an https URL, or http on this machine (was ${JSON.stringify(value)})`);
  }
}
