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
  /** Id of the next event to deliver. */
  next = 0;
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

export class EventFeed {
  private readonly ring: (EventRecord | undefined)[];
  private oldestId: number;
  private nextId: number;
  private heldBytes = 0;
  private readonly attachments = new Set<Attachment>();
  private state: UpstreamState = 'idle';
  private received = 0;
  private dropped = 0;

  constructor(private readonly options: EventFeedOptions) {
    if (!Number.isInteger(options.capacity) || options.capacity < 1) throw new RangeError('EventFeed capacity must be a positive integer');
    this.ring = new Array<EventRecord | undefined>(options.capacity);
    this.nextId = options.firstId ?? Date.now() * 1000;
    this.oldestId = this.nextId;
  }

  get stats(): EventFeedStats {
    return {
      upstream: this.state,
      listeners: this.attachments.size,
      received: this.received,
      dropped: this.dropped,
      held: this.nextId - this.oldestId,
      heldBytes: this.heldBytes,
      oldestId: this.oldestId,
      nextId: this.nextId,
    };
  }

  get upstream(): UpstreamState {
    return this.state;
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
      attachment.next = this.nextId;
    } else if (lastEventId >= this.oldestId - 1 && lastEventId < this.nextId) {
      attachment.next = lastEventId + 1;
    } else {
      // Older than the buffer, or an id this run never gave (another run's, another replica's): what
      // the client missed is unknown, so it is told, and gets everything held.
      attachment.next = this.oldestId;
      listener.gap(lastEventId, this.oldestId);
    }
    if (attachment.active) this.pump(attachment);
    return attachment;
  }

  /** Add an event; `make` builds it around its id. */
  append(make: (id: number) => EventRecord): EventRecord {
    const record = make(this.nextId);
    const { capacity, maxBytes } = this.options;
    // The new event takes the oldest one's slot when the buffer is full: that one goes first.
    if (this.nextId - this.oldestId >= capacity) this.evictOldest();
    this.ring[this.nextId % capacity] = record;
    this.nextId++;
    this.heldBytes += record.bytes;
    this.received++;
    while (this.heldBytes > maxBytes && this.nextId - this.oldestId > 1) this.evictOldest();
    for (const attachment of [...this.attachments]) {
      if (!attachment.active) continue;
      if (!attachment.paused) this.pump(attachment);
      else if (attachment.next < this.oldestId) this.dropListener(attachment, 'lapped');
    }
    return record;
  }

  private evictOldest(): void {
    const slot = this.oldestId % this.options.capacity;
    this.heldBytes -= this.ring[slot]?.bytes ?? 0;
    this.ring[slot] = undefined;
    this.oldestId++;
  }

  /** Let every listener go (shutdown). */
  close(): void {
    for (const attachment of [...this.attachments]) {
      this.remove(attachment);
      attachment.listener.end('closing');
    }
  }

  /** @internal Deliver to a listener until it is full or has caught up. */
  pump(attachment: Attachment): void {
    if (attachment.next < this.oldestId) {
      this.dropListener(attachment, 'lapped');
      return;
    }
    while (attachment.active && !attachment.paused && attachment.next < this.nextId) {
      const record = this.ring[attachment.next % this.options.capacity]!;
      attachment.next++;
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
