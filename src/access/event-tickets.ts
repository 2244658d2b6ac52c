/**
 * Event tickets: a browser's EventSource cannot send a header, and a key or token never goes in a
 * URL (it would end in proxy logs and browser history). A caller with the `events` scope asks for a
 * ticket with its credential; the ticket opens one event stream, once, within a short time, in the
 * caller's name, so the stream counts against that credential's share of streams.
 *
 * A ticket is self-contained and signed (signing-keys.ts): `<key id>.<payload>.<mac>`, the payload
 * base64url JSON of who asked, its expiry and a random id. Any replica with the same
 * LINK_SIGNING_KEY can verify it. That it is used once is a ledger's: this process's memory by
 * default, or one the replicas share (cluster/, on Redis), so that a ticket opens one stream in
 * all, for as long as it could still be used.
 */
import { randomBytes } from 'node:crypto';
import { AccessRefused, type Principal } from './principal.js';
import { keyIdPattern, type SigningKeys } from './signing-keys.js';

export const defaultTicketLifetimeSeconds = 30;
/** Tickets remembered as used at once; past it (tens of thousands of streams opened in half a minute), redeeming waits its turn: refused. */
const maxRemembered = 100_000;
/** The longest ticket taken: a name of 256 characters and its JSON, with room. */
export const maxTicketLength = 2048;

interface TicketPayload {
  /** The credential's name and kind. */
  n: string;
  k: Principal['kind'];
  /** Expiry, UNIX milliseconds. */
  e: number;
  /** A random id: what "used" is remembered by. */
  j: string;
}

const principalKinds: ReadonlySet<string> = new Set<Principal['kind']>(['key', 'token', 'loopback', 'network', 'open']);

/**
 * Where used tickets are recorded until they expire. `claim` is true for the first use of an id,
 * false for any later one; it may throw AccessRefused when it cannot record one.
 */
export interface TicketLedger {
  claim(id: string, expiresAtMs: number, now: number): boolean | Promise<boolean>;
}

/** The ledger of one process: a gateway alone, or replicas that share no state. */
export class LocalTicketLedger implements TicketLedger {
  /** Ticket ids used, with their expiry, in the order they were used (so, roughly, of expiry). */
  private readonly used = new Map<string, number>();

  claim(id: string, expiresAtMs: number, now: number): boolean {
    // Used in order and all of one lifetime, so they expire nearly in order: stop at the first live one.
    for (const [usedId, expires] of this.used) {
      if (expires > now) break;
      this.used.delete(usedId);
    }
    if (this.used.has(id)) return false;
    if (this.used.size >= maxRemembered) throw new AccessRefused(403, 'This event ticket is not valid: ask for a new one (POST /api/v1/events/tickets).', 'event ticket refused: too many tickets used within their lifetime');
    this.used.set(id, expiresAtMs);
    return true;
  }

  /** How many used tickets are remembered (tests, metrics). */
  get remembered(): number {
    return this.used.size;
  }
}

export interface EventTicketsOptions {
  keys: SigningKeys;
  /** Where used tickets are recorded (default: this process's memory). */
  ledger?: TicketLedger;
  lifetimeSeconds?: number;
  now?: () => number;
}

export class EventTickets {
  private readonly now: () => number;
  private readonly lifetimeMs: number;
  private readonly ledger: TicketLedger;

  constructor(private readonly options: EventTicketsOptions) {
    this.now = options.now ?? Date.now;
    const lifetime = options.lifetimeSeconds ?? defaultTicketLifetimeSeconds;
    if (!Number.isInteger(lifetime) || lifetime < 1 || lifetime > 3600) throw new RangeError('a ticket lives 1 to 3600 seconds');
    this.lifetimeMs = lifetime * 1000;
    this.ledger = options.ledger ?? new LocalTicketLedger();
  }

  /** A ticket for `principal`'s event stream. */
  issue(principal: Pick<Principal, 'name' | 'kind'>): { ticket: string; expiresAt: Date } {
    const expires = this.now() + this.lifetimeMs;
    const payload: TicketPayload = { n: principal.name, k: principal.kind, e: expires, j: randomBytes(16).toString('base64url') };
    const encoded = Buffer.from(JSON.stringify(payload), 'utf8').toString('base64url');
    const keyId = this.options.keys.signingKeyId;
    const { mac } = this.options.keys.sign(canonical(keyId, encoded));
    return { ticket: `${keyId}.${encoded}.${mac}`, expiresAt: new Date(expires) };
  }

  /**
   * The principal a ticket stands for, with the `events` scope alone, and the ticket used up.
   * Rejects with AccessRefused (403) for a ticket not signed here, expired or used already.
   */
  async redeem(ticket: string): Promise<Principal> {
    const invalid = (detail: string): AccessRefused => new AccessRefused(403, 'This event ticket is not valid: ask for a new one (POST /api/v1/events/tickets).', `event ticket refused: ${detail}`);
    if (ticket.length > maxTicketLength) throw invalid('too long');
    const [keyId = '', encoded = '', mac = '', ...rest] = ticket.split('.');
    if (rest.length > 0 || !keyIdPattern.test(keyId) || !/^[A-Za-z0-9_-]+$/.test(encoded)) throw invalid('not <key id>.<payload>.<mac>');
    if (!this.options.keys.verify(keyId, canonical(keyId, encoded), mac)) throw invalid(`the MAC does not match (key ${keyId})`);
    let payload: TicketPayload;
    try {
      payload = JSON.parse(Buffer.from(encoded, 'base64url').toString('utf8')) as TicketPayload;
    } catch {
      throw invalid('the payload is not JSON');
    }
    if (typeof payload.n !== 'string' || !principalKinds.has(payload.k) || typeof payload.e !== 'number' || typeof payload.j !== 'string') throw invalid('the payload is not a ticket');
    const now = this.now();
    if (payload.e <= now) throw new AccessRefused(403, 'This event ticket has expired: ask for a new one.', `event ticket refused: expired at ${new Date(payload.e).toISOString()}`);
    if (!(await this.ledger.claim(payload.j, payload.e, now))) {
      throw new AccessRefused(403, 'This event ticket was used already: ask for a new one.', `event ticket refused: used already (${payload.k} ${payload.n})`);
    }
    return { name: payload.n, kind: payload.k, scopes: new Set(['events']), credentialLess: false, via: 'ticket' };
  }
}

function canonical(keyId: string, encodedPayload: string): string {
  return ['uptivity-gateway event ticket v1', keyId, encodedPayload].join('\n');
}
