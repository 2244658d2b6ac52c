/**
 * Signed media links: a URL that lets whoever holds it fetch one recording in one format until it
 * expires, with no other credential, so that a browser can put it in `<audio src>`, `<video src>`
 * or a download link, where no header can be set. What the link grants is in the URL itself and
 * covered by an HMAC-SHA256 (signing-keys.ts) over a canonical string of the media path, the
 * recording, the format, the expiry, the key id and the credential that made it; so any replica
 * with the same LINK_SIGNING_KEY honours it, and a changed byte, another recording or format, a
 * parameter more or an expired link is refused. The credential that made a link is carried in it,
 * so that each use is audited in its name and counted against its limits.
 *
 * The link is `<media path>?format=<f>&expires=<unix s>&signature=<key id>.<creator>.<mac>`: its
 * `signature` carries the key id and the creator (base64url of `kind:name`, a name, never a secret)
 * beside the MAC, so the query has the three parameters the media route documents and no more.
 */
import { AccessRefused, type Principal } from './principal.js';
import { keyIdPattern, type SigningKeys } from './signing-keys.js';

/** The longest a link may live: a day. */
export const maxLinkLifetimeSeconds = 86_400;
export const defaultLinkLifetimeSeconds = 600;
/** Clock difference between replicas tolerated on the far side of an expiry (a link from a replica ahead). */
const clockSkewSeconds = 60;

/** The parameters of a signed link, in the order it is written. */
export const mediaLinkParams = ['format', 'expires', 'signature'] as const;

/** Who made a link: the credential's kind and name, as the principal said them. */
export interface LinkCreator {
  kind: Principal['kind'];
  name: string;
}

/** What a valid link grants. */
export interface MediaLinkGrant {
  recordId: string;
  format: string;
  /** UNIX seconds. */
  expires: number;
  creator: LinkCreator;
}

export interface MediaLinksOptions {
  keys: SigningKeys;
  /** The media route's path of a recording: `/api/v1/recordings/<id>/media`. */
  pathOf: (recordId: string) => string;
  now?: () => number;
}

const creatorKinds: ReadonlySet<string> = new Set<Principal['kind']>(['key', 'token', 'loopback', 'network', 'open']);
/** The longest encoded creator: a name of 256 characters of up to 4 UTF-8 bytes, in base64url. */
const maxCreatorLength = 1400;

export class MediaLinks {
  private readonly now: () => number;

  constructor(private readonly options: MediaLinksOptions) {
    this.now = options.now ?? Date.now;
  }

  /** A link to `recordId` in `format` for `lifetimeSeconds`, made by `creator`: its path and query. */
  create(grant: { recordId: string; format: string; lifetimeSeconds: number; creator: LinkCreator }): { path: string; query: string; expiresAt: Date } {
    const { recordId, format, lifetimeSeconds, creator } = grant;
    if (!Number.isInteger(lifetimeSeconds) || lifetimeSeconds < 1 || lifetimeSeconds > maxLinkLifetimeSeconds) {
      throw new RangeError(`a link lives 1 to ${maxLinkLifetimeSeconds} seconds`);
    }
    const expires = Math.floor(this.now() / 1000) + lifetimeSeconds;
    const encodedCreator = Buffer.from(`${creator.kind}:${creator.name}`, 'utf8').toString('base64url');
    const path = this.options.pathOf(recordId);
    const keyId = this.options.keys.signingKeyId;
    const { mac } = this.options.keys.sign(canonical(keyId, path, recordId, format, expires, encodedCreator));
    const query = new URLSearchParams([
      ['format', format],
      ['expires', String(expires)],
      ['signature', `${keyId}.${encodedCreator}.${mac}`],
    ]).toString();
    return { path, query, expiresAt: new Date(expires * 1000) };
  }

  /**
   * What the link of a request grants: `recordId` as its path names it, `query` the raw query
   * string (after `?`). AccessRefused (403) when it is not a link this gateway signed, as it
   * signed it, or has expired; `detail` says which for the log, without the signature.
   */
  verify(recordId: string, query: string): MediaLinkGrant {
    const invalid = (detail: string): AccessRefused => new AccessRefused(403, 'This link is not valid: ask for a new one.', `signed link refused: ${detail}`);
    if (query.length > 4096) throw invalid('the query is too long');
    const params = [...new URLSearchParams(query)];
    const names = params.map(([name]) => name);
    if (names.length !== mediaLinkParams.length || !mediaLinkParams.every((name) => names.includes(name))) {
      throw invalid(`the query holds ${names.length > 8 ? `${names.length} parameters` : names.join(', ') || 'nothing'}, not format, expires and signature once each`);
    }
    const value = (name: string): string => params.find(([n]) => n === name)![1];
    const format = value('format');
    const expiresText = value('expires');
    const [keyId = '', encodedCreator = '', mac = '', ...rest] = value('signature').split('.');
    if (rest.length > 0 || !keyIdPattern.test(keyId) || encodedCreator.length > maxCreatorLength || !/^[A-Za-z0-9_-]+$/.test(encodedCreator)) {
      throw invalid('the signature is not <key id>.<creator>.<mac>');
    }
    if (!/^[0-9]{1,12}$/.test(expiresText)) throw invalid('expires is not UNIX seconds');
    if (/[\r\n]/.test(format) || /[\r\n]/.test(recordId)) throw invalid('a field holds a line break');
    const expires = Number(expiresText);
    const path = this.options.pathOf(recordId);
    if (!this.options.keys.verify(keyId, canonical(keyId, path, recordId, format, expires, encodedCreator), mac)) {
      throw invalid(`the MAC does not match (recording ${recordId.slice(0, 32)}, format ${format.slice(0, 16)}, key ${keyId})`);
    }
    const nowSeconds = this.now() / 1000;
    if (expires <= nowSeconds) throw new AccessRefused(403, 'This link has expired: ask for a new one.', `signed link refused: expired at ${new Date(expires * 1000).toISOString()}`);
    if (expires > nowSeconds + maxLinkLifetimeSeconds + clockSkewSeconds) throw invalid('it expires further ahead than a link may live');
    const decoded = Buffer.from(encodedCreator, 'base64url').toString('utf8');
    const colon = decoded.indexOf(':');
    const kind = decoded.slice(0, colon);
    if (colon < 1 || !creatorKinds.has(kind)) throw invalid('the creator is not a credential');
    return { recordId, format, expires, creator: { kind: kind as Principal['kind'], name: decoded.slice(colon + 1) } };
  }
}

/** What the MAC covers; each field on its own line, none of which may hold a line break. */
function canonical(keyId: string, path: string, recordId: string, format: string, expires: number, encodedCreator: string): string {
  if ([path, recordId, format].some((field) => /[\r\n]/.test(field))) throw new RangeError('a field of a link holds a line break');
  return ['uptivity-gateway media link v1', keyId, path, recordId, format, String(expires), encodedCreator].join('\n');
}
