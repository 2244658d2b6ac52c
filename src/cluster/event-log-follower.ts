/**
 * One replica's copy of the shared event log: the tail of the Stream in a local EventFeed, which the
 * replica's SSE listeners read exactly as they read a gateway's own subscription. The copy follows
 * the Stream with a blocking XREAD on a connection of its own, so an event reaches every replica's
 * listeners as soon as its holder appends it, whichever replica that is.
 *
 * Ids are the Stream's (ms × 1000 + seq), the same on every replica: a client that resumes with
 * Last-Event-ID on another replica gets what follows that id there, and when that replica has not
 * read it yet (it lags by a few ms), the listener waits for it rather than being told of a gap.
 *
 * Whether the core's event port is up is the holder's to know; it writes it under a key that
 * expires with its lease, which the copy reads as it follows: no key, no holder subscribed.
 */
import { EventEmitter } from 'node:events';
import type { Redis } from 'ioredis';
import { EventFeed, type EventFeedOptions, type EventFeedStats, type EventRecord, type FeedAttachment, type FeedListener, type UpstreamState } from '../core/event-feed.js';
import { eventIdOf, recordOfEntry, streamIdOf, type SharedEventStream } from './event-log.js';
import type { SharedState } from './redis.js';

export interface EventLogFollowerOptions {
  feed: Omit<EventFeedOptions, 'firstId' | 'sharedIds'>;
  /** How long one blocking read waits for entries before looking at the port's state again. */
  blockMs?: number;
}

export type EventLogFollowerEvents = {
  /** A record was added to the copy (for the recordings' event index). */
  record: [record: EventRecord];
};

/** The key under which the holder says whether the core's event port is up (the copy reads it). */
export const eventPortKey = (prefix: string): string => `${prefix}events:port`;

const upstreamStates: readonly string[] = ['connecting', 'up', 'down'];

export class EventLogFollower extends EventEmitter<EventLogFollowerEvents> {
  private copy: EventFeed;
  private blocking: Redis | undefined;
  private running = false;
  private lastId = 0;
  private seeded = false;
  private stopped: Promise<void> | undefined;
  private portReadAt = 0;

  constructor(
    private readonly shared: SharedState,
    private readonly stream: SharedEventStream,
    private readonly options: EventLogFollowerOptions,
  ) {
    super();
    this.copy = new EventFeed({ ...options.feed, sharedIds: true });
  }

  /** The copy listeners read from. */
  get feed(): EventFeed {
    return this.copy;
  }

  get stats(): EventFeedStats {
    return this.feed.stats;
  }

  listen(listener: FeedListener, lastEventId?: number): FeedAttachment | undefined {
    if (!this.running) return undefined;
    return this.feed.attach(listener, lastEventId);
  }

  start(): void {
    if (this.running || this.stopped) return;
    this.running = true;
    this.blocking = this.shared.redis.duplicate({ commandTimeout: (this.options.blockMs ?? 1000) + 2000, enableOfflineQueue: false, lazyConnect: false });
    // Errors are the loop's to handle; an unhandled 'error' would be the process's.
    this.blocking.on('error', () => undefined);
    this.stopped = this.follow();
  }

  async close(): Promise<void> {
    this.running = false;
    this.blocking?.disconnect();
    await this.stopped;
    this.feed.close();
  }

  private async follow(): Promise<void> {
    const blockMs = this.options.blockMs ?? 1000;
    let failures = 0;
    while (this.running) {
      try {
        if (!this.seeded) await this.seed();
        await this.readPortState();
        const answer = await this.blocking!.xread('COUNT', 1000, 'BLOCK', blockMs, 'STREAMS', this.stream.streamKey, streamIdOf(this.lastId));
        failures = 0;
        const entries = answer?.[0]?.[1] ?? [];
        for (const [id, flat] of entries) {
          const fields: Record<string, string> = {};
          for (let i = 0; i + 1 < flat.length; i += 2) fields[flat[i]!] = flat[i + 1]!;
          this.add(recordOfEntry({ id, fields }));
        }
      } catch {
        if (!this.running) break;
        failures++;
        // Redis is away: the port's state is unknown here, and no event comes. Once back, the read
        // goes on from the last id, so nothing the Stream still holds is missed.
        this.feed.setUpstream('down');
        await new Promise((resolve) => setTimeout(resolve, Math.min(100 * failures, 1000)));
        if (failures > 1) await this.reseedIfTrimmed().catch(() => undefined);
      }
    }
  }

  private add(record: EventRecord): void {
    if (record.id <= this.lastId) return;
    this.lastId = record.id;
    this.feed.push(record);
    this.emit('record', record);
  }

  private async seed(): Promise<void> {
    const { entries, floorId } = await this.stream.tail(this.options.feed.capacity);
    const records = entries.map(recordOfEntry);
    this.feed.seed(records, floorId);
    this.lastId = records.at(-1)?.id ?? floorId;
    this.seeded = true;
  }

  /**
   * After an absence, the Stream may have dropped entries this copy never read: its listeners
   * cannot be given them, so they are let go (they resume with Last-Event-ID and hear of the gap).
   */
  private async reseedIfTrimmed(): Promise<void> {
    if (!this.seeded || !this.shared.up) return;
    const [oldest] = await this.stream.after(0, 1);
    if (!oldest || eventIdOf(oldest.id) <= this.lastId) return;
    if ((await this.stream.droppedUpTo()) <= this.lastId) return;
    this.copy.close();
    this.copy = new EventFeed({ ...this.options.feed, sharedIds: true });
    this.seeded = false;
  }

  /** At most four times a second: it costs a GET, and a change of state is rare. */
  private async readPortState(): Promise<void> {
    const now = performance.now();
    if (now - this.portReadAt < 250) return;
    this.portReadAt = now;
    const state = await this.shared.redis.get(eventPortKey(this.shared.prefix));
    this.feed.setUpstream(state && upstreamStates.includes(state) ? (state as UpstreamState) : 'connecting');
  }
}
