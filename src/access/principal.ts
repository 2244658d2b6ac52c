/**
 * The access room: who a caller is and what it may do. The XML core has no notion of callers, so
 * the gateway is the only place this is enforced; every surface adapts the same rules from here.
 * This room knows no HTTP: it speaks of addresses, header values and scopes.
 */
import type { Scope } from '../protocol/catalog.js';

/** A caller the gateway has recognised. */
export interface Principal {
  /**
   * Who, for logs and the audit trail, never a secret: a key's name, a token's client, `loopback`,
   * `network:10.0.0.0/8`, `open`.
   */
  name: string;
  kind: 'key' | 'token' | 'loopback' | 'network' | 'open';
  scopes: ReadonlySet<string>;
  /**
   * Let in without a credential (protected mode on loopback, a network rule, AUTH=none): a browser
   * may send such requests on behalf of any page, so cross-site ones are refused.
   */
  credentialLess: boolean;
  /** Its own request rate, when its key sets one. */
  rateLimit?: { max: number; windowMs: number };
  /**
   * Let in by what a credential handed out rather than by the credential itself: a signed media link
   * (one recording, in one format) or an event ticket (one event stream). `name` and `kind` are then
   * the credential's that made it, so the audit trail and the limits count the use against it.
   */
  via?: 'link' | 'ticket';
}

export function grants(principal: Principal, scope: Scope): boolean {
  return principal.scopes.has('*') || principal.scopes.has(scope);
}

/**
 * Why a caller is not let in. `detail` is for the log only: a caller is never told whether a key
 * does not exist, was revoked or expired.
 */
export class AccessRefused extends Error {
  override name = 'AccessRefused';
  constructor(
    /** 401: no usable credential; 403: a credential or address that may not do this. */
    readonly status: 401 | 403,
    /** What the caller is told. */
    message: string,
    /** What the log says. */
    readonly detail: string = message,
  ) {
    super(message);
  }
}
