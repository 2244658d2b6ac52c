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
 *
 * Entry ids are made by the script, from Redis's clock: `<ms>-<seq>` with seq below 1000, so that
 * the one number ms × 1000 + seq names an entry exactly (the SSE id, what Last-Event-ID resumes
 * from on any replica) and ids keep the time order a retention by age trims on.
 */
import type { Redis } from 'ioredis';
import type { EventLogReader, EventRecord } from '../core/event-feed.js';
import type { SharedState } from './redis.js';

/** What a Stream entry holds: field names to values. */
export type StreamFields = Readonly<Record<string, string>>;

export interface StreamEntry {
  /** The Stream's id: `<ms>-<seq>`. */
  id: string;
  fields: Record<string, string>;
}

/** How much of the log Redis keeps: a number of entries, or entries younger than an age. */
export type EventRetention = { entries: number } | { ageMs: number };

/** The counter starts from the time in ms, so tokens keep growing even after Redis lost its data. */
const takeLease = `
if redis.call('EXISTS', KEYS[1]) == 1 then return nil end
if redis.call('EXISTS', KEYS[2]) == 0 then
  local now = redis.call('TIME')
  redis.call('SET', KEYS[2], now[1] .. string.format('%03d', math.floor(tonumber(now[2]) / 1000)))
end
local token = redis.call('INCR', KEYS[2])
redis.call('SET', KEYS[1], ARGV[1] .. ' ' .. token, 'PX', ARGV[2])
return token`;

const renewLease = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0`;

const releaseLease = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`;

/**
 * XADD a batch only under the lease of the caller's token.
 * KEYS: lease, stream, applied. ARGV: token, 'MAXLEN' or 'MINID', its bound (entries, or an age in
 * ms), the holder's sequence number of the first entry, then four fields per entry (type, class,
 * device, body). The holder numbers its entries; `applied` keeps the last number written under its
 * token, so a batch sent again after a timeout (which Redis had run) is not written twice.
 * Returns the ids, false for an entry written before; nil when the lease is not the caller's.
 * A count is trimmed approximately (whole nodes, cheap); an age exactly, since a node can span
 * more time than the age itself.
 */
const fencedAppend = `
local lease = redis.call('GET', KEYS[1])
if not lease then return nil end
if string.match(lease, ' (%d+)$') ~= ARGV[1] then return nil end
local done = 0
local applied = redis.call('GET', KEYS[3])
if applied then
  local token, seq = string.match(applied, '^(%d+) (%d+)$')
  if token == ARGV[1] then done = tonumber(seq) end
end
local now = redis.call('TIME')
local ms = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
local lastMs, lastSeq = -1, 0
local newest = redis.call('XREVRANGE', KEYS[2], '+', '-', 'COUNT', 1)
if #newest > 0 then
  local m, q = string.match(newest[1][1], '^(%d+)-(%d+)$')
  lastMs, lastSeq = tonumber(m), tonumber(q)
end
local ids = {}
local first = tonumber(ARGV[4])
local n = (#ARGV - 4) / 4
for i = 1, n do
  if first + i - 1 <= done then
    ids[i] = false
  else
    if ms > lastMs then lastMs, lastSeq = ms, 0
    elseif lastSeq < 999 then lastSeq = lastSeq + 1
    else lastMs, lastSeq = lastMs + 1, 0 end
    local at = 4 + (i - 1) * 4
    ids[i] = redis.call('XADD', KEYS[2], string.format('%d-%d', lastMs, lastSeq),
      'type', ARGV[at + 1], 'class', ARGV[at + 2], 'device', ARGV[at + 3], 'body', ARGV[at + 4])
  end
end
redis.call('SET', KEYS[3], ARGV[1] .. ' ' .. string.format('%d', first + n - 1))
if ARGV[2] == 'MAXLEN' then
  redis.call('XTRIM', KEYS[2], 'MAXLEN', '~', ARGV[3])
else
  redis.call('XTRIM', KEYS[2], 'MINID', string.format('%d-0', ms - tonumber(ARGV[3])))
end
return ids`;

/** A lease that one replica at a time holds, with a fencing token (the event log's, or another duty's). */
export class Lease {
  readonly leaseKey: string;
  private readonly counterKey: string;

  constructor(
    private readonly shared: SharedState,
    /** What the lease is for: its keys are `<prefix><name>:lease` and `<prefix><name>:fence`. */
    name: string,
    /** This replica's name in the lease (its host name and process, say). */
    private readonly holder: string,
    readonly leaseMs = 5000,
  ) {
    if (!/^[^\s]{1,200}$/.test(holder)) throw new RangeError('a lease holder is named without spaces, in at most 200 characters');
    if (!Number.isInteger(leaseMs) || leaseMs < 100) throw new RangeError('a lease lasts at least 100 ms');
    this.leaseKey = `${shared.prefix}${name}:lease`;
    this.counterKey = `${shared.prefix}${name}:fence`;
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

/** The lease of the event log: whoever holds it is the one subscription to the core's event port. */
export class EventLease extends Lease {
  constructor(shared: SharedState, holder: string, leaseMs = 5000) {
    super(shared, 'events', holder, leaseMs);
  }
}

/** One event as the holder appends it; `body` is its JSON without the id, which the log gives. */
export interface EventEntry {
  type: string;
  eventClass: string;
  deviceId: string;
  body: string;
}

/** The SSE id of a Stream entry: ms × 1000 + seq. */
export function eventIdOf(streamId: string): number {
  const dash = streamId.indexOf('-');
  return Number(streamId.slice(0, dash)) * 1000 + Number(streamId.slice(dash + 1));
}

/** The Stream id of an SSE id. */
export function streamIdOf(eventId: number): string {
  return `${Math.floor(eventId / 1000)}-${eventId % 1000}`;
}

/** An entry of the Stream as the record listeners read, its id spliced into the JSON. */
export function recordOfEntry(entry: StreamEntry): EventRecord {
  const id = eventIdOf(entry.id);
  const { type = '', class: eventClass = '', device = '', body = '{}' } = entry.fields;
  const json = body === '{}' ? `{"id":${id}}` : `{"id":${id},${body.slice(1)}`;
  return { id, type, eventClass, deviceId: device, json, bytes: Buffer.byteLength(json) };
}

/** The Stream of events the replicas share, bounded by the retention. */
export class SharedEventStream {
  readonly streamKey: string;
  private readonly leaseKey: string;
  private readonly appliedKey: string;

  constructor(
    private readonly shared: SharedState,
    readonly retention: EventRetention,
  ) {
    const bound = 'entries' in retention ? retention.entries : retention.ageMs;
    if (!Number.isInteger(bound) || bound < 1) throw new RangeError('a retention keeps at least one entry, or one ms');
    this.streamKey = `${shared.prefix}events:stream`;
    this.leaseKey = `${shared.prefix}events:lease`;
    this.appliedKey = `${shared.prefix}events:applied`;
  }

  /**
   * Appends under the lease of `token`, numbered from `firstSeq` by the holder (see fencedAppend):
   * the entries' ids (undefined for one written before), or undefined when that lease is no longer held.
   */
  async append(token: number, firstSeq: number, entries: readonly EventEntry[]): Promise<(string | undefined)[] | undefined> {
    if (entries.length === 0) return [];
    const args = entries.flatMap((e) => [e.type, e.eventClass, e.deviceId, e.body]);
    const bound = 'entries' in this.retention ? ['MAXLEN', this.retention.entries] : ['MINID', this.retention.ageMs];
    const ids = (await this.shared.redis.eval(fencedAppend, 3, this.leaseKey, this.streamKey, this.appliedKey, String(token), ...bound, firstSeq, ...args)) as
      | (string | null)[]
      | null;
    return ids?.map((id) => id ?? undefined);
  }

  /** Entries after `afterId` (exclusive; 0 for the oldest held), at most `count`. */
  async after(afterId: number, count: number): Promise<StreamEntry[]> {
    return entriesOf(await this.shared.redis.xrange(this.streamKey, `(${streamIdOf(afterId)}`, '+', 'COUNT', count));
  }

  /**
   * The newest `count` entries, oldest first, and the id of the newest entry the Stream no longer
   * holds before them (0 when it never dropped one): where a replica's copy of the log starts.
   */
  async tail(count: number): Promise<{ entries: StreamEntry[]; floorId: number }> {
    const newest = entriesOf(await this.shared.redis.xrevrange(this.streamKey, '+', '-', 'COUNT', count + 1)).reverse();
    if (newest.length > count) return { entries: newest.slice(1), floorId: eventIdOf(newest[0]!.id) };
    return { entries: newest, floorId: await this.droppedUpTo() };
  }

  /** The id of the newest entry the Stream dropped (trimmed or deleted), 0 when none: Redis 7 keeps it. */
  async droppedUpTo(): Promise<number> {
    try {
      const info = (await this.shared.redis.call('XINFO', 'STREAM', this.streamKey)) as unknown[];
      const at = info.indexOf('max-deleted-entry-id');
      return at >= 0 ? eventIdOf(String(info[at + 1])) : 0;
    } catch (error) {
      // No Stream yet: nothing was ever dropped.
      if (error instanceof Error && /no such key/i.test(error.message)) return 0;
      throw error;
    }
  }
}

function entriesOf(raw: [string, string[]][]): StreamEntry[] {
  return raw.map(([id, flat]) => {
    const fields: Record<string, string> = {};
    for (let i = 0; i + 1 < flat.length; i += 2) fields[flat[i]!] = flat[i + 1]!;
    return { id, fields };
  });
}

/**
 * The shared Stream read at a reader's pace (the webhook fan-out). Waiting is a blocking XREAD, on a
 * connection of its own: on the shared one it would hold up every other command behind it.
 */
export class SharedEventLogReader implements EventLogReader {
  private blocking: Redis | undefined;

  constructor(
    private readonly shared: SharedState,
    private readonly stream: SharedEventStream,
  ) {}

  async readAfter(afterId: number, count: number): Promise<EventRecord[]> {
    return (await this.stream.after(afterId, count)).map(recordOfEntry);
  }

  async newestId(): Promise<number> {
    const [newest] = await this.shared.redis.xrevrange(this.stream.streamKey, '+', '-', 'COUNT', 1);
    return newest ? eventIdOf(newest[0]) : 0;
  }

  async waitAfter(afterId: number, timeoutMs: number): Promise<void> {
    if (!this.blocking) {
      this.blocking = this.shared.redis.duplicate({ commandTimeout: timeoutMs + 2000, enableOfflineQueue: false });
      // Failures come back from xread below; an 'error' without a listener would be printed as unhandled.
      this.blocking.on('error', () => undefined);
    }
    try {
      await this.blocking.xread('COUNT', 1, 'BLOCK', Math.max(1, Math.round(timeoutMs)), 'STREAMS', this.stream.streamKey, streamIdOf(afterId));
    } catch {
      // Redis away: wait out the time rather than spin; the caller reads again after it.
      await new Promise((resolve) => setTimeout(resolve, Math.min(timeoutMs, 1000)));
    }
  }

  close(): void {
    this.blocking?.disconnect();
  }
}
