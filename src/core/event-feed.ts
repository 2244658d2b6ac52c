/**
 * The gateway's copy of the core's live events, without sockets: the last events received, each
 * with an increasing id (what a client's Last-Event-ID resumes from), and the listeners reading
 * them.
 *
 * A listener is a cursor into the buffer, not a queue of its own: events are held once however
 * many listen. One that is full (its HTTP socket does not drain) stops being fed and its cursor
 * stays put; when it drains it catches up from the buffer. If the buffer moves past its cursor, it
 * has fallen behind for good and is dropped. So what a slow listener can hold is bounded by its own
 * socket buffers, and the buffer is bounded by count and bytes, whatever the listeners do.
 */

export interface EventRecord {
  id: number;
  type: string;
  eventClass: string;
  deviceId: string;
  /** The event's JSON form, serialised once for every listener. */
  json: string;
  /** UTF-8 bytes of `json`, what the buffer's byte bound counts. */
  bytes: number;
}

/** The subscription to the core's event port, as listeners are told of it. */
export type UpstreamState = 'idle' | 'connecting' | 'up' | 'down';

/** Why the feed let a listener go: its cursor fell out of the buffer, it stopped draining, or shutdown. */
export type FeedEndReason = 'lapped' | 'stalled' | 'closing';

export interface FeedListener {
  /**
   * Take one event (it is always taken). Return false when full: nothing more is given until the
   * listener calls resume() on its attachment.
   */
  deliver(record: EventRecord): boolean;
  /** Events after `lastEventId` are no longer held (or that id is not one of ours): delivery goes on from `resumeFrom`. */
  gap(lastEventId: number, resumeFrom: number): void;
  upstream(state: UpstreamState): void;
  /** The feed let go of this listener; nothing more will be delivered. */
  end(reason: FeedEndReason): void;
}

export interface FeedAttachment {
  /** The listener drained: deliver what it missed, and go on live. */
  resume(): void;
  /** The listener went away by itself (its client disconnected). */
  detach(): void;
  /** Let go of a listener that stopped draining. */
  drop(reason: FeedEndReason): void;
  /** Milliseconds since the listener last said it was full and has not drained since; 0 when it is not. */
  pausedForMs(): number;
}

/**
 * A log of event records read from a point on, at the reader's pace: what the webhook fan-out
 * follows. The EventFeed of one gateway is one; the Stream the replicas share (cluster/) another.
 */
export interface EventLogReader {
  /** Records after `afterId` (exclusive), oldest first, at most `count`; from the oldest held when `afterId` is older. */
  readAfter(afterId: number, count: number): Promise<EventRecord[]>;
  /** The id of the newest record (where a new reader starts), or one below the first to come. */
  newestId(): Promise<number>;
  /** Resolves once a record after `afterId` may be there, or after `timeoutMs`. */
  waitAfter(afterId: number, timeoutMs: number): Promise<void>;
}

/** Live events as the HTTP surfaces serve them: one gateway's own subscription, or a replica's copy of the shared log. */
export interface LiveEvents {
  /** Feed a listener (see EventFeed.attach); undefined past the listener bound, or when closed. */
  listen(listener: FeedListener, lastEventId?: number): FeedAttachment | undefined;
  readonly stats: EventFeedStats;
}

export interface EventFeedOptions {
  /** Events held for resumption. */
  capacity: number;
  /** Bytes of JSON held at most; the oldest events go first past it (the newest is always held). */
  maxBytes: number;
  maxListeners: number;
  /**
   * The id of the first event. Ids continue from the process's start time in microseconds by
   * default, so the ids of a restarted gateway are all larger than those of its previous run, and a
   * Last-Event-ID from before the restart is recognised as a gap instead of matching another event.
   */
  firstId?: number;
  /**
   * Records come with ids of their own (push()), from a log several replicas share: an id past the
   * newest held is one this replica has not read yet, not a stranger, so a listener resuming from
   * it waits for what follows it instead of being told of a gap.
   */
  sharedIds?: boolean;
}

export interface EventFeedStats {
  upstream: UpstreamState;
  listeners: number;
  /** Events received since start. */
  received: number;
  /** Listeners dropped for falling behind since start. */
  dropped: number;
  held: number;
  heldBytes: number;
  /** Ids of the oldest event held and of the next one to come. */
  oldestId: number;
  nextId: number;
}

class Attachment implements FeedAttachment {
  /** Position (not id) of the next record to deliver. */
  next = 0;
  /** Records with ids up to this one are skipped: what the listener had from another replica. */
  after = -1;
  paused = false;
  pausedAt = 0;
  active = true;

  constructor(
    private readonly feed: EventFeed,
    readonly listener: FeedListener,
  ) {}

  resume(): void {
    if (!this.active || !this.paused) return;
    this.paused = false;
    this.feed.pump(this);
  }

  detach(): void {
    this.feed.remove(this);
  }

  drop(reason: FeedEndReason): void {
    this.feed.dropListener(this, reason);
  }

  pausedForMs(): number {
    return this.paused ? Math.max(performance.now() - this.pausedAt, 0) : 0;
  }
}

/**
 * Records sit in a ring by position, a counter of their own, so that ids need not follow each other
 * by one: those of a shared log are times. Ids only ever increase, so an id is found by bisection.
 */
export class EventFeed {
  private readonly ring: (EventRecord | undefined)[];
  private oldestPosition = 0;
  private nextPosition = 0;
  /** The id given to the next append(). */
  private nextId: number;
  /** Every id up to this one is no longer held (or was never ours). */
  private floorId: number;
  private heldBytes = 0;
  private readonly attachments = new Set<Attachment>();
  private state: UpstreamState = 'idle';
  private received = 0;
  private dropped = 0;
  private waiters: (() => void)[] = [];

  constructor(private readonly options: EventFeedOptions) {
    if (!Number.isInteger(options.capacity) || options.capacity < 1) throw new RangeError('EventFeed capacity must be a positive integer');
    this.ring = new Array<EventRecord | undefined>(options.capacity);
    this.nextId = options.firstId ?? Date.now() * 1000;
    this.floorId = this.nextId - 1;
  }

  get stats(): EventFeedStats {
    return {
      upstream: this.state,
      listeners: this.attachments.size,
      received: this.received,
      dropped: this.dropped,
      held: this.nextPosition - this.oldestPosition,
      heldBytes: this.heldBytes,
      oldestId: this.oldestId,
      nextId: this.nextId,
    };
  }

  get upstream(): UpstreamState {
    return this.state;
  }

  /** The id of the oldest record held, or of the next to come when none is. */
  private get oldestId(): number {
    return this.nextPosition > this.oldestPosition ? this.at(this.oldestPosition).id : this.nextId;
  }

  /** The id of the newest record held, or the one before the first to come. */
  get newestId(): number {
    return this.nextId - 1;
  }

  setUpstream(state: UpstreamState): void {
    if (state === this.state) return;
    this.state = state;
    for (const attachment of [...this.attachments]) if (attachment.active) attachment.listener.upstream(state);
  }

  /**
   * Start feeding a listener. Without `lastEventId` it gets what comes from now on; with one, the
   * events after it first, or a gap when they are not all held. Undefined when maxListeners listen.
   */
  attach(listener: FeedListener, lastEventId?: number): FeedAttachment | undefined {
    if (this.attachments.size >= this.options.maxListeners) return undefined;
    const attachment = new Attachment(this, listener);
    this.attachments.add(attachment);
    listener.upstream(this.state);
    if (lastEventId === undefined) {
      attachment.next = this.nextPosition;
    } else if (lastEventId >= this.floorId && lastEventId < this.nextId) {
      attachment.next = this.positionAfter(lastEventId);
    } else if (lastEventId >= this.nextId && this.options.sharedIds) {
      attachment.next = this.nextPosition;
      attachment.after = lastEventId;
    } else {
      // Older than the buffer, or an id this run never gave (another run's, another replica's): what
      // the client missed is unknown, so it is told, and gets everything held.
      attachment.next = this.oldestPosition;
      listener.gap(lastEventId, this.oldestId);
    }
    if (attachment.active) this.pump(attachment);
    return attachment;
  }

  /** Held records after `afterId` (exclusive), oldest first, at most `count`; from the oldest held when `afterId` is older. */
  recordsAfter(afterId: number, count: number): EventRecord[] {
    const records: EventRecord[] = [];
    for (let position = this.positionAfter(afterId); position < this.nextPosition && records.length < count; position++) records.push(this.at(position));
    return records;
  }

  /** This feed as a log read at a reader's pace. */
  get reader(): EventLogReader {
    return {
      readAfter: async (afterId, count) => this.recordsAfter(afterId, count),
      newestId: async () => this.newestId,
      waitAfter: (afterId, timeoutMs) => (this.newestId > afterId ? Promise.resolve() : this.waitForAppend(timeoutMs)),
    };
  }

  /** Resolves with the next append, or after `timeoutMs`. */
  waitForAppend(timeoutMs: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, timeoutMs);
      function done(): void {
        clearTimeout(timer);
        resolve();
      }
      this.waiters.push(done);
    });
  }

  /** Add an event with the next id of this feed; `make` builds it around its id. */
  append(make: (id: number) => EventRecord): EventRecord {
    return this.push(make(this.nextId));
  }

  /** Add a record with an id of its own, larger than any held (a shared log's). */
  push(record: EventRecord): EventRecord {
    if (!(record.id >= this.nextId) && this.nextPosition > 0) throw new RangeError(`event id ${record.id} does not follow ${this.nextId - 1}`);
    const { capacity, maxBytes } = this.options;
    // The new event takes the oldest one's slot when the buffer is full: that one goes first.
    if (this.nextPosition - this.oldestPosition >= capacity) this.evictOldest();
    this.ring[this.nextPosition % capacity] = record;
    this.nextPosition++;
    this.nextId = record.id + 1;
    this.heldBytes += record.bytes;
    this.received++;
    while (this.heldBytes > maxBytes && this.nextPosition - this.oldestPosition > 1) this.evictOldest();
    for (const attachment of [...this.attachments]) {
      if (!attachment.active) continue;
      if (!attachment.paused) this.pump(attachment);
      else if (attachment.next < this.oldestPosition) this.dropListener(attachment, 'lapped');
    }
    const waiters = this.waiters;
    this.waiters = [];
    for (const wake of waiters) wake();
    return record;
  }

  /**
   * Start a shared log's copy from its tail: the records read from it, and the id of the last one it
   * no longer holds before them (0 when it never dropped one).
   */
  seed(records: readonly EventRecord[], floorId: number): void {
    if (this.nextPosition > 0) throw new Error('only an empty feed is seeded');
    this.floorId = floorId;
    this.nextId = floorId + 1;
    for (const record of records) this.push(record);
  }

  private at(position: number): EventRecord {
    return this.ring[position % this.options.capacity]!;
  }

  /** The position of the first held record with an id larger than `id`. */
  private positionAfter(id: number): number {
    let low = this.oldestPosition;
    let high = this.nextPosition;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if (this.at(middle).id <= id) low = middle + 1;
      else high = middle;
    }
    return low;
  }

  private evictOldest(): void {
    const slot = this.oldestPosition % this.options.capacity;
    const record = this.ring[slot];
    this.heldBytes -= record?.bytes ?? 0;
    if (record) this.floorId = record.id;
    this.ring[slot] = undefined;
    this.oldestPosition++;
  }

  /** Let every listener go (shutdown). */
  close(): void {
    for (const attachment of [...this.attachments]) {
      this.remove(attachment);
      attachment.listener.end('closing');
    }
    for (const wake of this.waiters.splice(0)) wake();
  }

  /** @internal Deliver to a listener until it is full or has caught up. */
  pump(attachment: Attachment): void {
    if (attachment.next < this.oldestPosition) {
      this.dropListener(attachment, 'lapped');
      return;
    }
    while (attachment.active && !attachment.paused && attachment.next < this.nextPosition) {
      const record = this.at(attachment.next);
      attachment.next++;
      if (record.id <= attachment.after) continue;
      if (!attachment.listener.deliver(record)) {
        attachment.paused = true;
        attachment.pausedAt = performance.now();
      }
    }
  }

  /** @internal */
  remove(attachment: Attachment): void {
    attachment.active = false;
    this.attachments.delete(attachment);
  }

  /** @internal */
  dropListener(attachment: Attachment, reason: FeedEndReason): void {
    if (!attachment.active) return;
    this.remove(attachment);
    if (reason !== 'closing') this.dropped++;
    attachment.listener.end(reason);
  }
}
