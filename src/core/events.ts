/**
 * The gateway's one subscription to the XML core's event port: connect, send EVENTS (class ALL,
 * every device), read its RESULT, then frame each CALLCOPYEVENT, read it leniently and add it to
 * the EventFeed that every HTTP listener reads. However many listen, the core sees one subscriber.
 *
 * It starts with the first listener and then stays subscribed until close(), even when nobody
 * listens: the buffer is what a client resumes from after a dropped connection, so it must not go
 * blind the moment the last client blinks. A connection that fails, closes or sends what cannot be
 * framed is replaced with backoff and jitter; one event that cannot be read is skipped and counted.
 *
 * This room talks TCP and speaks `protocol/`; it never imports `http/`.
 */
import { EventEmitter } from 'node:events';
import net from 'node:net';
import { eventJson, readCoreEvent, type CoreEvent } from '../protocol/event-json.js';
import { FrameTooLargeError, MessageFramer, type Frame } from '../protocol/framing.js';
import { ResultCode } from '../protocol/result-codes.js';
import { buildRequest, childText, parseXml } from '../protocol/xml.js';
import { backoffDelay } from './backoff.js';
import { EventFeed, type EventFeedOptions, type EventFeedStats, type FeedAttachment, type FeedListener, type UpstreamState } from './event-feed.js';

/**
 * The type of the record that announces a window in which the subscription was down (`event: gap`
 * on the stream). Lower case: no event of the core can have it, and every selection passes it.
 */
export const subscriptionGapType = 'gap';

/** The JSON of a gap record: the window in which the core's events were lost to every listener. */
export function gapJson(id: number, from: Date, to: Date): { id: number; type: string; from: string; to: string; reason: string } {
  return { id, type: subscriptionGapType, from: from.toISOString(), to: to.toISOString(), reason: "the subscription to the core's event port was down" };
}

export interface CoreEventsOptions {
  host: string;
  port: number;
  connectTimeoutMs: number;
  /** Time the core has to answer the EVENTS request. */
  subscribeTimeoutMs: number;
  /** Bound on one message from the event port; past it the connection is replaced. */
  maxMessageBytes?: number;
  backoffInitialMs?: number;
  /**
   * The longest wait between attempts to subscribe again (default 500 ms): every event the core
   * sends while the subscription is down is lost to every listener, and an attempt costs one connect.
   */
  backoffMaxMs?: number;
  /**
   * The buffer listeners read from (one gateway alone). Without it the subscription only tells its
   * `event` and `gap` listeners: the holder of the shared event log writes them to Redis instead.
   */
  feed?: EventFeedOptions;
}

export interface CoreEventsStats extends EventFeedStats {
  /** Connections opened to the event port since start. */
  connections: number;
  /** Messages from the event port that were not readable events, skipped. */
  unreadable: number;
}

export type CoreEventsEvents = {
  /** Subscribed: events flow. */
  up: [];
  /** The subscription was lost, or could not be made; it is retried with backoff. */
  down: [reason: Error];
  /** A message that is not a readable CALLCOPYEVENT was skipped. */
  unreadable: [reason: Error];
  /** An event was read (before listeners of the feed get it): for the recordings' event index and the shared log. */
  event: [event: CoreEvent, receivedAt: Date];
  /** The core's events between `from` and `to` were lost to us: the subscription was down. */
  gap: [from: Date, to: Date];
};

const defaultMaxMessageBytes = 64 * 1024;

class SubscriptionLost extends Error {
  override name = 'SubscriptionLost';
}

export class CoreEventSubscription extends EventEmitter<CoreEventsEvents> {
  readonly feed: EventFeed | undefined;
  private readonly options: Required<Omit<CoreEventsOptions, 'feed'>>;
  private state: 'new' | 'running' | 'closed' = 'new';
  private socket: net.Socket | undefined;
  private timer: NodeJS.Timeout | undefined;
  private failures = 0;
  private connections = 0;
  /** When a subscription that held was lost: the start of a window whose events nobody received. */
  private lostAt: Date | undefined;
  private unreadable = 0;
  private received = 0;
  private upstreamState: UpstreamState = 'idle';

  constructor(options: CoreEventsOptions) {
    super();
    this.options = {
      host: options.host,
      port: options.port,
      connectTimeoutMs: options.connectTimeoutMs,
      subscribeTimeoutMs: options.subscribeTimeoutMs,
      maxMessageBytes: options.maxMessageBytes ?? defaultMaxMessageBytes,
      backoffInitialMs: options.backoffInitialMs ?? 100,
      backoffMaxMs: options.backoffMaxMs ?? 500,
    };
    this.feed = options.feed && new EventFeed(options.feed);
  }

  get stats(): CoreEventsStats {
    const feed = this.feed?.stats ?? { listeners: 0, received: this.received, dropped: 0, held: 0, heldBytes: 0, oldestId: 0, nextId: 0 };
    return { ...feed, upstream: this.upstreamState, connections: this.connections, unreadable: this.unreadable };
  }

  /** The subscription to the core's event port: idle until started, then connecting, up or down. */
  get upstream(): UpstreamState {
    return this.upstreamState;
  }

  private setUpstream(state: UpstreamState): void {
    this.upstreamState = state;
    this.feed?.setUpstream(state);
  }

  /** Subscribe now rather than with the first listener. */
  start(): void {
    if (this.state !== 'new') return;
    this.state = 'running';
    this.connect();
  }

  /** Listen to the events (see EventFeed.attach); starts the subscription. Undefined past the listener bound. */
  listen(listener: FeedListener, lastEventId?: number): FeedAttachment | undefined {
    if (this.state === 'closed') return undefined;
    if (!this.feed) return undefined;
    this.start();
    return this.feed.attach(listener, lastEventId);
  }

  /** Unsubscribe and let every listener go. */
  async close(): Promise<void> {
    if (this.state === 'closed') return;
    this.state = 'closed';
    clearTimeout(this.timer);
    const socket = this.socket;
    this.socket = undefined;
    this.feed?.close();
    if (socket && !socket.destroyed) {
      const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
      socket.destroy();
      await closed;
    }
  }

  private connect(): void {
    if (this.state !== 'running') return;
    const { host, port } = this.options;
    const where = `${host}:${port}`;
    if (this.upstreamState !== 'down') this.setUpstream('connecting');
    this.connections++;
    // Keep-alive finds a core host that vanished while no event came.
    const socket = net.connect({ host, port, noDelay: true, keepAlive: true, keepAliveInitialDelay: 30_000 });
    this.socket = socket;
    const framer = new MessageFramer(this.options.maxMessageBytes);
    let subscribedAt: number | undefined;
    let ended = false;

    const end = (reason: Error): void => {
      if (ended) return;
      ended = true;
      clearTimeout(this.timer);
      socket.destroy();
      if (this.socket === socket) this.socket = undefined;
      if (this.state !== 'running') return;
      // A subscription that held for a while starts the backoff over; one that is lost at once
      // (a core that accepts, answers and closes) keeps backing off.
      if (subscribedAt !== undefined && performance.now() - subscribedAt >= this.options.backoffMaxMs) this.failures = 0;
      this.failures++;
      if (subscribedAt !== undefined) this.lostAt ??= new Date();
      if (this.upstreamState !== 'down') {
        this.setUpstream('down');
        this.emit('down', reason);
      }
      const delay = backoffDelay(this.failures, { initialMs: this.options.backoffInitialMs, maxMs: this.options.backoffMaxMs });
      this.timer = setTimeout(() => this.connect(), delay);
    };

    this.timer = setTimeout(() => end(new SubscriptionLost(`no connection to the event port at ${where} within ${this.options.connectTimeoutMs} ms`)), this.options.connectTimeoutMs);
    socket.once('connect', () => {
      clearTimeout(this.timer);
      this.timer = setTimeout(
        () => end(new SubscriptionLost(`the event port at ${where} did not answer EVENTS within ${this.options.subscribeTimeoutMs} ms`)),
        this.options.subscribeTimeoutMs,
      );
      // REQUESTID 0, as the manual's own EVENTS request: the catalog allows it on the event port.
      socket.write(buildRequest('EVENTS', 0, [['EVENTCLASS', 'ALL'], ['EVENTVALUE', '']]));
    });
    socket.on('error', (error) => end(new SubscriptionLost(`the event port at ${where} failed: ${error.message}`, { cause: error })));
    socket.on('end', () => end(new SubscriptionLost(`the event port at ${where} closed the connection`)));
    socket.on('close', () => end(new SubscriptionLost(`the connection to the event port at ${where} closed`)));
    socket.on('data', (chunk: Buffer) => {
      if (ended) return;
      let frames: Frame[];
      try {
        frames = framer.push(chunk);
      } catch (error) {
        // Past the size bound the stream cannot be resynchronised: only a new connection can.
        const what = error instanceof FrameTooLargeError ? `a message over ${this.options.maxMessageBytes} bytes` : 'bytes that cannot be framed';
        end(new SubscriptionLost(`the event port at ${where} sent ${what}`, { cause: error }));
        return;
      }
      for (const frame of frames) {
        if (ended) return;
        if (subscribedAt === undefined) {
          const refusal = this.readSubscriptionResult(frame);
          if (refusal) {
            end(new SubscriptionLost(`the event port at ${where} refused EVENTS: ${refusal}`));
            return;
          }
          subscribedAt = performance.now();
          clearTimeout(this.timer);
          this.setUpstream('up');
          this.emit('up');
          if (this.lostAt) this.announceGap(this.lostAt, new Date());
        } else {
          this.receive(frame);
        }
      }
    });
  }

  /** Why the answer to EVENTS is not a subscription, or undefined when it is one. */
  private readSubscriptionResult(frame: Frame): string | undefined {
    if (frame.kind !== 'message') return 'its answer is not XML';
    let code: string | undefined;
    let message: string | undefined;
    try {
      const root = parseXml(frame.bytes.toString('utf8'), { maxDepth: 8, maxElements: 256 });
      if (root.name.toUpperCase() !== 'RESULT') return `it sent <${root.name.slice(0, 64)}> instead of a RESULT`;
      code = childText(root, 'RESULTCODE')?.trim();
      message = childText(root, 'RESULTMSG')?.trim();
    } catch (error) {
      return `its answer cannot be read: ${error instanceof Error ? error.message : String(error)}`;
    }
    return code === String(ResultCode.API_OK) ? undefined : `RESULTCODE ${code?.slice(0, 16) ?? 'missing'} ${message?.slice(0, 200) ?? ''}`.trim();
  }

  private receive(frame: Frame): void {
    const receivedAt = new Date();
    if (frame.kind !== 'message') {
      this.skip(new Error('a line that is not XML'));
      return;
    }
    let event: CoreEvent;
    try {
      event = readCoreEvent(frame.bytes.toString('utf8'));
    } catch (error) {
      // Whatever one message holds costs that message, never the subscription or the process.
      this.skip(error instanceof Error ? error : new Error(String(error)));
      return;
    }
    this.received++;
    this.emit('event', event, receivedAt);
    this.feed?.append((id) => {
      const json = JSON.stringify(eventJson(id, event, receivedAt));
      return { id, type: event.type, eventClass: event.eventClass, deviceId: event.deviceId, json, bytes: Buffer.byteLength(json) };
    });
  }

  /**
   * The event port keeps nothing for a subscriber that was away: whatever the core sent between
   * `from` and `to` is lost to every listener. They are told in the stream itself, in order, so
   * that a client resuming with Last-Event-ID hears of it too, and can reconcile with CALLLIST.
   */
  private announceGap(from: Date, to: Date): void {
    this.lostAt = undefined;
    this.emit('gap', from, to);
    this.feed?.append((id) => {
      const json = JSON.stringify(gapJson(id, from, to));
      return { id, type: subscriptionGapType, eventClass: subscriptionGapType, deviceId: '', json, bytes: Buffer.byteLength(json) };
    });
  }

  private skip(reason: Error): void {
    this.unreadable++;
    this.emit('unreadable', reason);
  }
}
