/**
 * The live events of all replicas as one log in Redis: a Stream that exactly one replica at a time
 * appends to, the holder of a lease, which is then the one subscription to the core's event port.
 *
 * The lease is a key set with NX and an expiry, holding the holder's name and a fencing token: a
 * number drawn from a counter each time the lease is taken, so every holder has a larger one than
 * the last. Appending goes through a script that compares the caller's token with the lease's, in
 * Redis, atomically with the XADD. A holder deposed without knowing it (its lease expired during a
 * GC pause, a network partition, a stopped process) still holds its old token: its appends are
 * refused, whatever they race with, so nothing it read from the core after its successor took over
 * lands in the log twice or out of order.
 */
import type { SharedState } from './redis.js';

/** What a Stream entry holds: field names to values. */
export type StreamFields = Readonly<Record<string, string>>;

export interface StreamEntry {
  /** The Stream's id: `<ms>-<seq>`. */
  id: string;
  fields: Record<string, string>;
}

const takeLease = `
if redis.call('EXISTS', KEYS[1]) == 1 then return nil end
local token = redis.call('INCR', KEYS[2])
redis.call('SET', KEYS[1], ARGV[1] .. ' ' .. token, 'PX', ARGV[2])
return token`;

const renewLease = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0`;

const releaseLease = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`;

/** XADD only under the lease of the caller's token; ARGV: token, max length, then field, value... */
const fencedAppend = `
local lease = redis.call('GET', KEYS[1])
if not lease then return nil end
local token = string.match(lease, ' (%d+)$')
if token ~= ARGV[1] then return nil end
return redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[2], '*', unpack(ARGV, 3))`;

/** The lease of the event log, as one replica sees it. */
export class EventLease {
  private readonly leaseKey: string;
  private readonly counterKey: string;

  constructor(
    private readonly shared: SharedState,
    /** This replica's name in the lease (its host name and process, say). */
    private readonly holder: string,
    readonly leaseMs = 5000,
  ) {
    if (!/^[^\s]{1,200}$/.test(holder)) throw new RangeError('a lease holder is named without spaces, in at most 200 characters');
    if (!Number.isInteger(leaseMs) || leaseMs < 100) throw new RangeError('a lease lasts at least 100 ms');
    this.leaseKey = `${shared.prefix}events:lease`;
    this.counterKey = `${shared.prefix}events:fence`;
  }

  /** Takes the lease if nobody holds it: its fencing token, or undefined. */
  async acquire(): Promise<number | undefined> {
    const token = (await this.shared.redis.eval(takeLease, 2, this.leaseKey, this.counterKey, this.holder, this.leaseMs)) as number | null;
    return token ?? undefined;
  }

  /** Extends the lease held with `token`; false when it is no longer ours (expired, or taken since). */
  async renew(token: number): Promise<boolean> {
    return (await this.shared.redis.eval(renewLease, 1, this.leaseKey, `${this.holder} ${token}`, this.leaseMs)) === 1;
  }

  /** Gives the lease up at shutdown, so that another replica takes over at once rather than after it expires. */
  async release(token: number): Promise<boolean> {
    return (await this.shared.redis.eval(releaseLease, 1, this.leaseKey, `${this.holder} ${token}`)) === 1;
  }

  /** Who holds the lease now, and with which token. */
  async holderNow(): Promise<{ holder: string; token: number } | undefined> {
    const value = await this.shared.redis.get(this.leaseKey);
    const match = value === null ? null : /^(\S+) (\d+)$/.exec(value);
    return match ? { holder: match[1]!, token: Number(match[2]) } : undefined;
  }
}

/** The Stream of events the replicas share, capped at about `maxLength` entries. */
export class SharedEventStream {
  private readonly streamKey: string;
  private readonly leaseKey: string;

  constructor(
    private readonly shared: SharedState,
    readonly maxLength: number,
  ) {
    if (!Number.isInteger(maxLength) || maxLength < 1) throw new RangeError('a stream holds at least one entry');
    this.streamKey = `${shared.prefix}events:stream`;
    this.leaseKey = `${shared.prefix}events:lease`;
  }

  /** Appends under the lease of `token`: the entry's id, or undefined when that lease is no longer held. */
  async append(token: number, fields: StreamFields): Promise<string | undefined> {
    const pairs = Object.entries(fields).flat();
    if (pairs.length === 0) throw new RangeError('an entry has at least one field');
    const id = (await this.shared.redis.eval(fencedAppend, 2, this.leaseKey, this.streamKey, String(token), this.maxLength, ...pairs)) as string | null;
    return id ?? undefined;
  }

  /** Entries after `afterId` (exclusive; '0' for the oldest held), at most `count`. */
  async after(afterId: string, count: number): Promise<StreamEntry[]> {
    const entries = await this.shared.redis.xrange(this.streamKey, `(${afterId}`, '+', 'COUNT', count);
    return entries.map(([id, flat]) => {
      const fields: Record<string, string> = {};
      for (let i = 0; i + 1 < flat.length; i += 2) fields[flat[i]!] = flat[i + 1]!;
      return { id, fields };
    });
  }
}
