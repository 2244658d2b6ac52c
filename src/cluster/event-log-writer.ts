/**
 * The duty of the one replica that holds the event log's lease: be the subscription to the core's
 * event port and append what it sends to the shared Stream. Every replica runs a writer; all but
 * one wait, trying to take the lease now and then, and the one that takes it subscribes.
 *
 * The holder renews its lease a few times per lease time and, while the core's port is up, marks
 * when it last was (the `alive` key): a replica that takes over after a holder died reads that mark
 * and appends a `gap` for the window from it to its own subscription, since the event port keeps
 * nothing for a subscriber that was away. A holder that learns it was deposed (a renewal refused)
 * stops its subscription at once; one that does not learn it (paused) is kept out by the fencing
 * token every append carries.
 *
 * Appends go out in order, in batches, one call in flight: each entry is numbered under the
 * holder's token, so a batch sent again after a timeout is not written twice. While Redis is
 * away, entries wait in a bounded queue; past the bound the oldest give way to a `gap`.
 */
import { EventEmitter } from 'node:events';
import { CoreEventSubscription, gapJson, subscriptionGapType, type CoreEventsOptions } from '../core/events.js';
import type { UpstreamState } from '../core/event-feed.js';
import { eventJson, type CoreEvent } from '../protocol/event-json.js';
import { EventLease, type EventEntry, type SharedEventStream } from './event-log.js';
import { eventPortKey } from './event-log-follower.js';
import type { SharedState } from './redis.js';

export interface EventLogWriterOptions {
  /** How to reach the core's event port (the subscription the holder makes). */
  subscription: Omit<CoreEventsOptions, 'feed'>;
  /** This replica's name in the lease. */
  holder: string;
  leaseMs: number;
  /** Entries held while Redis does not take them; past it the oldest make way for a gap. */
  maxQueued?: number;
}

export type EventLogWriterEvents = {
  /** This replica took the lease: it now subscribes to the core's event port. */
  holding: [token: number];
  /** This replica no longer holds the lease (deposed, or released). */
  released: [reason: string];
  /** The subscription's own news, for the logs. */
  up: [];
  down: [reason: Error];
  unreadable: [reason: Error];
};

const maxBatch = 256;

interface Queued {
  seq: number;
  entry: EventEntry;
  /** When the event came from the core: the start of the window if it has to make way for a gap. */
  at: Date;
}

/** The entry of an event: its JSON without the id, which the log gives. */
function eventEntry(event: CoreEvent, receivedAt: Date): EventEntry {
  const { id: _id, ...body } = eventJson(0, event, receivedAt);
  return { type: event.type, eventClass: event.eventClass, deviceId: event.deviceId, body: JSON.stringify(body) };
}

function gapEntry(from: Date, to: Date): EventEntry {
  const { id: _id, ...body } = gapJson(0, from, to);
  return { type: subscriptionGapType, eventClass: subscriptionGapType, deviceId: '', body: JSON.stringify(body) };
}

export class EventLogWriter extends EventEmitter<EventLogWriterEvents> {
  private readonly lease: EventLease;
  private readonly aliveKey: string;
  private readonly portKey: string;
  private running = false;
  private token: number | undefined;
  private subscription: CoreEventSubscription | undefined;
  private queue: Queued[] = [];
  private nextSeq = 1;
  private sending = false;
  private retryTimer: NodeJS.Timeout | undefined;
  private tickTimer: NodeJS.Timeout | undefined;
  /** Whether the window before this holder's first subscription is still to be announced. */
  private announceTakeover = false;
  /** Set from subscribing until the takeover's gap is queued: nothing is sent before it. */
  private awaitingGap = false;
  private readonly maxQueued: number;
  /** When this holder last marked itself subscribed with nothing left to append. */
  private lastAlive: number | undefined;

  constructor(
    private readonly shared: SharedState,
    private readonly stream: SharedEventStream,
    private readonly options: EventLogWriterOptions,
  ) {
    super();
    this.lease = new EventLease(shared, options.holder, options.leaseMs);
    this.aliveKey = `${shared.prefix}events:alive`;
    this.portKey = eventPortKey(shared.prefix);
    this.maxQueued = options.maxQueued ?? 10_000;
  }

  /** Whether this replica holds the lease now (as far as it knows). */
  get holding(): boolean {
    return this.token !== undefined;
  }

  get upstream(): UpstreamState {
    return this.subscription?.upstream ?? 'idle';
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    void this.tick();
  }

  /** Give the lease up (after marking when the port was last up), so another replica takes over at once. */
  async close(): Promise<void> {
    this.running = false;
    clearTimeout(this.tickTimer);
    clearTimeout(this.retryTimer);
    const token = this.token;
    if (token === undefined) return;
    // What is queued gets one chance to land before the lease goes.
    const deadline = performance.now() + 1000;
    while (this.queue.length > 0 && this.shared.up && performance.now() < deadline) await this.flush();
    await this.stepDown('released at shutdown', true);
  }

  /** Take or renew the lease, several times per lease time. */
  private async tick(): Promise<void> {
    if (!this.running) return;
    try {
      if (this.token === undefined) await this.tryToHold();
      else if (await this.lease.renew(this.token)) await this.markAlive();
      else await this.stepDown('the lease was lost (it expired, or another replica took it)', false);
    } catch {
      // Redis away: a holder keeps its subscription and queues; renewal tells later whether it may go on.
    }
    if (!this.running) return;
    // A holder renews three times per lease time; the others ask ten times, so that one takes over
    // within a tenth of the lease time after it expires (a SET NX that fails costs Redis little).
    const period = this.token === undefined ? Math.max(this.options.leaseMs / 10, 50) : this.options.leaseMs / 3;
    // Jitter, so that waiting replicas do not all ask at the same moment.
    this.tickTimer = setTimeout(() => void this.tick(), period * (0.8 + Math.random() * 0.4));
  }

  private async tryToHold(): Promise<void> {
    const token = await this.lease.acquire();
    if (token === undefined || !this.running) {
      if (token !== undefined) await this.lease.release(token);
      return;
    }
    this.token = token;
    this.lastAlive = undefined;
    this.nextSeq = 1;
    this.queue = [];
    this.announceTakeover = true;
    this.awaitingGap = false;
    this.emit('holding', token);
    const subscription = new CoreEventSubscription(this.options.subscription);
    this.subscription = subscription;
    subscription.on('event', (event, receivedAt) => this.enqueue(eventEntry(event, receivedAt), receivedAt));
    subscription.on('gap', (from, to) => this.enqueue(gapEntry(from, to), from));
    subscription.on('up', () => {
      // Synchronously, before the events that follow in the same read are queued.
      if (this.announceTakeover) this.awaitingGap = true;
      this.emit('up');
      void this.subscribed();
    });
    subscription.on('down', (reason) => {
      this.emit('down', reason);
      void this.publishPort('down');
    });
    subscription.on('unreadable', (reason) => this.emit('unreadable', reason));
    subscription.start();
    await this.publishPort('connecting');
  }

  /** Subscribed: on taking over, announce the window since the last holder was last known subscribed. */
  private async subscribed(): Promise<void> {
    const now = new Date();
    if (this.announceTakeover) {
      this.announceTakeover = false;
      try {
        const alive = await this.shared.redis.get(this.aliveKey);
        // The gap goes first: it comes before anything this subscription reads.
        if (alive !== null && Number.isFinite(Number(alive))) this.enqueue(gapEntry(new Date(Number(alive)), now), now, true);
      } catch {
        // Without Redis the mark cannot be read: the window is announced as starting when this holder took over.
        this.enqueue(gapEntry(now, now), now, true);
      } finally {
        this.awaitingGap = false;
      }
      void this.flush();
    }
    await this.publishPort('up');
    await this.markAlive().catch(() => undefined);
  }

  private async markAlive(): Promise<void> {
    if (this.subscription?.upstream === 'up' && this.queue.length === 0) {
      const now = Date.now();
      await this.shared.redis.set(this.aliveKey, String(now));
      this.lastAlive = now;
    }
    await this.publishPort(this.upstream === 'idle' ? 'connecting' : this.upstream);
  }

  private async publishPort(state: UpstreamState): Promise<void> {
    if (this.token === undefined) return;
    // Expires with the lease: a holder that dies leaves no claim that the port is up.
    await this.shared.redis.set(this.portKey, state, 'PX', this.options.leaseMs).catch(() => undefined);
  }

  private async stepDown(reason: string, release: boolean): Promise<void> {
    const token = this.token;
    const subscription = this.subscription;
    this.token = undefined;
    this.subscription = undefined;
    this.queue = [];
    if (subscription) {
      subscription.removeAllListeners();
      if (release && subscription.upstream === 'up') await this.shared.redis.set(this.aliveKey, String(Date.now())).catch(() => undefined);
      // Deposed while subscribed (a Redis that came back without its data, say): what it read and
      // could not append is lost, so its successor must announce a gap from its last mark at least.
      else if (!release && this.lastAlive !== undefined) await this.shared.redis.set(this.aliveKey, String(this.lastAlive), 'NX').catch(() => undefined);
      await subscription.close();
    }
    if (release && token !== undefined) {
      await this.shared.redis.del(this.portKey).catch(() => undefined);
      await this.lease.release(token).catch(() => undefined);
    }
    this.emit('released', reason);
  }

  private enqueue(entry: EventEntry, at: Date, first = false): void {
    if (this.token === undefined) return;
    if (this.queue.length >= this.maxQueued) {
      // Redis has not taken anything for a while: the oldest make way for one gap over their window.
      const from = this.queue[0]!.at;
      const dropped = this.queue.splice(0, Math.ceil(this.maxQueued / 10));
      const to = dropped.at(-1)!.at;
      this.queue.unshift({ seq: 0, entry: gapEntry(from, to), at: from });
    }
    const queued = { seq: 0, entry, at };
    if (first) this.queue.unshift(queued);
    else this.queue.push(queued);
    void this.flush();
  }

  /** Send what is queued, in order, one call at a time. */
  private async flush(): Promise<void> {
    if (this.sending || this.awaitingGap || this.queue.length === 0 || this.token === undefined) return;
    this.sending = true;
    const token = this.token;
    try {
      const batch = this.queue.slice(0, maxBatch);
      // Numbers are given when an entry is first sent: a batch sent again keeps its numbers.
      for (const queued of batch) if (queued.seq === 0) queued.seq = this.nextSeq++;
      const ids = await this.stream.append(token, batch[0]!.seq, batch.map((queued) => queued.entry));
      if (this.token !== token) return;
      if (ids === undefined) {
        await this.stepDown('an append was refused: another replica holds the lease', false);
        return;
      }
      // The queue may have made way for a gap meanwhile: take off what was sent, not a count.
      const sent = new Set(batch);
      this.queue = this.queue.filter((queued) => !sent.has(queued));
    } catch {
      // Redis away or slow: the same batch goes again, with the same numbers.
      clearTimeout(this.retryTimer);
      this.retryTimer = setTimeout(() => void this.flush(), 200);
      return;
    } finally {
      this.sending = false;
    }
    if (this.queue.length > 0) void this.flush();
  }
}
