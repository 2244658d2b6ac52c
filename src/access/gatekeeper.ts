/**
 * Who a caller is, from what it presents and where it calls from, by the one rule every surface
 * applies:
 *
 * 1. `AUTH=none`: everyone may do everything (a warning at every start says so).
 * 2. A credential presented (`Authorization: Bearer`, `X-API-Key`, or the WebAPI's `apikey=` where
 *    allowed) must be valid: an API key of the keys file, or an access token of the OIDC issuer.
 * 3. Without one: a WebAPI caller from a network of `WEBAPI_ALLOW_CIDRS` gets `WEBAPI_CIDR_SCOPES`
 *    (the old WebAPI's model, a firewall in front); in protected mode (no key, issuer nor network
 *    configured) a loopback caller gets every scope, as on a fresh machine; anyone else is refused.
 *
 * A caller let in without a credential is what a browser can be made to send by any page it shows,
 * so such a request from another site (`Origin` not allowed, or `Sec-Fetch-Site: cross-site`) is
 * refused. Knows no HTTP: the surfaces hand it header values and an address.
 */
import type { BlockList } from 'node:net';
import { apiKeyPrefix, inNetworks, type ApiKeyStore } from './api-keys.js';
import { AccessRefused, type Principal } from './principal.js';

/** What the access rule reads of a request. */
export interface Presented {
  authorization?: string | undefined;
  apiKey?: string | undefined;
  /** The client's address (the socket's, or the proxy's forwarded one when proxies are trusted). */
  address: string;
  origin?: string | undefined;
  secFetchSite?: string | undefined;
  /** The gateway's own origin as the request names it (`http://` + Host): its own pages (/docs) may call it. */
  selfOrigin?: string | undefined;
  surface: 'webapi' | 'rest' | 'events' | 'metrics';
}

/** The bearer-token half of the rule, when an OIDC issuer is configured. */
export interface TokenVerifier {
  verify(token: string): Promise<{ name: string; scopes: ReadonlySet<string> }>;
}

export interface GatekeeperOptions {
  /** `AUTH=none`: no protection at all. */
  open: boolean;
  keys: ApiKeyStore | undefined;
  tokens: TokenVerifier | undefined;
  /** WEBAPI_ALLOW_CIDRS with WEBAPI_CIDR_SCOPES. */
  webApiNetworks: { list: BlockList; cidrs: readonly string[]; scopes: ReadonlySet<string> } | undefined;
  /**
   * CORS_ORIGINS: the sites whose pages may call without a credential (an OriginList, or a set of
   * exact origins). They are the sites CORS lets read the answers, so they are trusted where CORS
   * applies: the REST API, media and events, and the WebAPI only with `originsOnWebApi`.
   */
  allowedOrigins: { has(origin: string): boolean };
  /** CORS_WEBAPI: the WebAPI answers those sites' pages too (default false: its legacy behaviour). */
  originsOnWebApi?: boolean;
}

const everything: ReadonlySet<string> = new Set(['*']);

// The callers let in without a credential are the same on every request: no object per request.
const openPrincipal: Principal = Object.freeze({ name: 'open', kind: 'open', scopes: everything, credentialLess: true });
const loopbackPrincipal: Principal = Object.freeze({ name: 'loopback', kind: 'loopback', scopes: everything, credentialLess: true });

/** Refused, for a caller outside loopback while nothing is configured: says what to do. */
export const protectedModeMessage =
  'This gateway is in protected mode: no API key, OIDC issuer or network rule is configured, so it answers only on loopback. ' +
  'Create a key (uptivity-gateway keys create --name NAME --scopes SCOPES) and send it as Authorization: Bearer KEY or X-API-Key: KEY, ' +
  'or set WEBAPI_ALLOW_CIDRS, or AUTH=none to turn protection off.';

function isLoopback(address: string): boolean {
  return address === '::1' || address.startsWith('127.') || address.startsWith('::ffff:127.');
}

/** The token of `Authorization: Bearer <token>`, or undefined. */
function bearerOf(authorization: string | undefined): string | undefined {
  const m = authorization === undefined ? null : /^Bearer +(\S{1,8192})\s*$/i.exec(authorization);
  return m?.[1];
}

export class Gatekeeper {
  constructor(private readonly options: GatekeeperOptions) {}

  /** No credential source is configured: loopback callers only. */
  get protectedMode(): boolean {
    const { open, keys, tokens, webApiNetworks } = this.options;
    return !open && !keys?.configured && !tokens && !webApiNetworks;
  }

  /** What the startup log says of access. */
  describe(): string {
    if (this.options.open) return 'AUTH=none: access control is off, and anyone who can reach the gateway may do anything';
    if (this.protectedMode) return 'protected mode: no API key, OIDC issuer or network rule is configured, so only loopback callers are served';
    const sources = [
      this.options.keys?.configured ? `${this.options.keys.size} API key${this.options.keys.size === 1 ? "" : "s"}` : undefined,
      this.options.tokens ? 'OIDC access tokens' : undefined,
      this.options.webApiNetworks ? `the WebAPI without a credential from ${this.options.webApiNetworks.cidrs.join(', ')}` : undefined,
    ].filter(Boolean);
    return `callers are identified by ${sources.join(', ')}`;
  }

  /**
   * The principal of a request, or AccessRefused. A promise only when a token must be verified:
   * an API key is checked at once, on the hot path.
   */
  identify(presented: Presented): Principal | Promise<Principal> {
    if (this.options.open) return openPrincipal;
    const bearer = bearerOf(presented.authorization);
    if (presented.authorization !== undefined && bearer === undefined) {
      throw new AccessRefused(401, 'The Authorization header must be Bearer followed by an API key or an access token.');
    }
    const credential = bearer ?? presented.apiKey;
    if (credential !== undefined) return this.withCredential(credential, presented.address);
    const networks = this.options.webApiNetworks;
    let principal: Principal | undefined;
    if (presented.surface === 'webapi' && networks && inNetworks(networks.list, presented.address)) {
      principal = { name: `network:${presented.address}`, kind: 'network', scopes: networks.scopes, credentialLess: true };
    } else if (this.protectedMode) {
      if (!isLoopback(presented.address)) throw new AccessRefused(403, protectedModeMessage, `protected mode: refused ${presented.address}`);
      principal = loopbackPrincipal;
    }
    if (!principal) throw new AccessRefused(401, 'A credential is needed: Authorization: Bearer <API key or access token>, or X-API-Key: <API key>.');
    this.refuseCrossSite(presented);
    return principal;
  }

  /**
   * Whether a credential that made a signed link may still do what the link does. A key is looked
   * up again (revoked, expired, its scopes changed: the link ends with it); a token cannot be, and a
   * link of one lives at most a day; those let in without a credential are as they were.
   */
  stillGrants(creator: Pick<Principal, 'kind' | 'name'>, scope: string): boolean {
    if (creator.kind !== 'key') return true;
    return this.options.keys?.stillGrants(creator.name, scope) ?? false;
  }

  private withCredential(credential: string, address: string): Principal | Promise<Principal> {
    const { keys, tokens } = this.options;
    if (credential.startsWith(apiKeyPrefix)) {
      if (!keys) throw new AccessRefused(401, 'The API key is not valid.', 'an API key presented while no keys file is configured');
      return keys.authenticate(credential, address);
    }
    if (tokens) {
      return tokens.verify(credential).then(
        (identity): Principal => ({ name: identity.name, kind: 'token', scopes: identity.scopes, credentialLess: false }),
        (error: unknown) => {
          throw new AccessRefused(401, 'The access token is not valid.', `a token refused: ${error instanceof Error ? error.message : String(error)}`);
        },
      );
    }
    throw new AccessRefused(401, 'The credential is not valid.', 'a bearer that is no API key, while no OIDC issuer is configured');
  }

  /** A request let in without a credential may not come from another site's page. */
  private refuseCrossSite(presented: Presented): void {
    const { origin, selfOrigin } = presented;
    const site = presented.secFetchSite?.toLowerCase();
    // A browser names the page's origin on every POST and cross-origin fetch; a navigation (a GET
    // link or form) may carry only Sec-Fetch-Site. Clients without a browser send neither.
    const listed = origin !== undefined && (presented.surface !== 'webapi' || this.options.originsOnWebApi === true) && this.options.allowedOrigins.has(origin);
    const foreign = origin !== undefined ? origin !== selfOrigin && !listed : site === 'cross-site';
    if (foreign) {
      throw new AccessRefused(
        403,
        'A request from another site is refused when it carries no credential: send an API key or an access token, or list the site in CORS_ORIGINS (and, for the WebAPI, set CORS_WEBAPI=true).',
        `a cross-site request (Origin ${origin ?? 'none'}, Sec-Fetch-Site ${site ?? 'none'}) without a credential`,
      );
    }
  }
}
