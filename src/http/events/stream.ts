/**
 * The core's live events as Server-Sent Events, for any route that serves them (`/api/v1/events`
 * and the WebAPI's `type=events`). What a client receives:
 *
 *   event: status            first, and whenever the subscription to the core's event port changes:
 *   data: {"eventPort":"up"}   connecting, up or down (no id: status is not part of the history)
 *
 *   event: gap               when Last-Event-ID names an event no longer held (or not of this run):
 *   data: {"lastEventId":N,"resumeFrom":M}   events from M on follow
 *
 *   id: 1767225600000042     each CALLCOPYEVENT: the event type as the SSE event name, the
 *   event: CALLSTART         increasing id that Last-Event-ID resumes from, the JSON form of
 *   data: {...}              protocol/event-json as data
 *
 *   : heartbeat              a comment every heartbeat interval, so proxies keep the stream open
 *
 * The framing is written here rather than with an SSE plugin (@fastify/sse, fastify-sse-v2,
 * better-sse): each waits on a slow client per message or buffers for it, while here a slow client
 * must cost nothing but its own socket buffers and then be dropped, which the EventFeed's cursors
 * do; what is left is a few lines of `field: value` text. The stream is a PassThrough handed to
 * reply.send(), so Fastify's lifecycle (request ids, the request log line, metrics, a client
 * disconnecting) applies as to any other response.
 */
import { PassThrough } from 'node:stream';
import type { FastifyReply } from 'fastify';
import type { EventRecord, FeedAttachment, FeedEndReason, FeedListener, LiveEvents, UpstreamState } from '../../core/event-feed.js';
import { selects, type EventSelection } from './selection.js';


export interface EventStreamOptions {
  heartbeatMs: number;
  /** Streams one caller (a credential, or an address without one) may hold at once. */
  maxPerCaller?: number;
  /** A stream whose socket has not drained for this long is dropped, even if no event passes it. */
  stallMs?: number;
  /** Bytes a stream holds beyond its socket before it stops taking events (they wait in the feed). */
  highWaterMark?: number;
  /** After shutdown ends a stream, how long its last bytes may take before the socket is cut. */
  closeGraceMs?: number;
}

export const eventStreamType = 'text/event-stream';

export function eventFrame(record: EventRecord): string {
  // The type matched ^[A-Z][A-Z0-9_]*$ when read and JSON.stringify escapes CR and LF, so neither
  // field can break the framing.
  return `id: ${record.id}\nevent: ${record.type}\ndata: ${record.json}\n\n`;
}

/**
 * Each record's frame, encoded once for every stream that sends it: with a thousand listeners, a
 * string built and encoded per listener per event is most of what an event costs.
 */
const encodedFrames = new WeakMap<EventRecord, Buffer>();

function encodedFrame(record: EventRecord): Buffer {
  let frame = encodedFrames.get(record);
  if (!frame) {
    frame = Buffer.from(eventFrame(record));
    encodedFrames.set(record, frame);
  }
  return frame;
}

const statusFrame = (state: UpstreamState): string => `event: status\ndata: {"eventPort":"${state === 'idle' ? 'connecting' : state}"}\n\n`;
const gapFrame = (lastEventId: number, resumeFrom: number): string => `event: gap\ndata: {"lastEventId":${lastEventId},"resumeFrom":${resumeFrom}}\n\n`;
const heartbeatFrame = ': heartbeat\n\n';
/**
 * Written as the gateway shuts down: EventSource reconnects after `retry` ms, by then (through the
 * load balancer) to another replica, and resumes with Last-Event-ID.
 */
const shutdownFrame = 'retry: 1000\n\n';

class EventStream implements FeedListener {
  readonly body: PassThrough;
  attachment: FeedAttachment | undefined;
  private heartbeat: NodeJS.Timeout | undefined;
  /** When a write last found the stream full, until it drains. */
  private fullSince: number | undefined;
  /**
   * Events delivered in this turn of the event loop, written as one chunk at its end: each write is
   * a system call per client, and under load events come in bursts (a read of the event port or of
   * the shared log holds several), so the batch grows with the load and costs no added wait.
   */
  private batch: Buffer[] = [];
  private batchBytes = 0;
  private flushScheduled = false;
  /** deliver() said the stream is full: the feed waits for resume(). */
  private saidFull = false;

  constructor(
    private readonly selection: EventSelection,
    private readonly options: Required<EventStreamOptions>,
    onClose: (stream: EventStream) => void,
  ) {
    this.body = new PassThrough({ highWaterMark: options.highWaterMark });
    this.body.on('drain', () => this.drained());
    this.body.once('close', () => {
      clearInterval(this.heartbeat);
      this.attachment?.detach();
      onClose(this);
    });
    // Fastify destroys the body when the client goes; that may come as an error, which is expected.
    this.body.on('error', () => undefined);
  }

  start(attachment: FeedAttachment): void {
    this.attachment = attachment;
    this.heartbeat = setInterval(() => this.beat(), this.options.heartbeatMs);
    this.heartbeat.unref();
  }

  get bufferedBytes(): number {
    return this.body.writableLength + this.body.readableLength + this.batchBytes;
  }

  private write(text: string | Buffer): boolean {
    // What was delivered before goes first.
    this.flush();
    if (this.body.destroyed || this.body.writableEnded) return false;
    const more = this.body.write(text);
    if (!more) this.fullSince ??= performance.now();
    return more;
  }

  private flush(): void {
    if (this.batch.length === 0) return;
    const chunk = this.batch.length === 1 ? this.batch[0]! : Buffer.concat(this.batch, this.batchBytes);
    this.batch = [];
    this.batchBytes = 0;
    if (this.body.destroyed || this.body.writableEnded) return;
    if (!this.body.write(chunk)) this.fullSince ??= performance.now();
    // The batch alone counted as full, but the stream took it: no 'drain' will come to say so.
    else if (this.saidFull) this.drained();
  }

  private drained(): void {
    this.fullSince = undefined;
    this.saidFull = false;
    this.attachment?.resume();
  }

  private beat(): void {
    if (this.fullSince === undefined) {
      this.write(heartbeatFrame);
    } else if (performance.now() - this.fullSince >= this.options.stallMs) {
      this.attachment?.drop('stalled');
    }
  }

  deliver(record: EventRecord): boolean {
    if (!selects(this.selection, record)) return true;
    if (this.body.destroyed || this.body.writableEnded) return false;
    const frame = encodedFrame(record);
    this.batch.push(frame);
    this.batchBytes += frame.length;
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(() => {
        this.flushScheduled = false;
        this.flush();
      });
    }
    if (this.body.writableLength + this.batchBytes < this.options.highWaterMark) return true;
    this.saidFull = true;
    this.fullSince ??= performance.now();
    return false;
  }

  gap(lastEventId: number, resumeFrom: number): void {
    this.write(gapFrame(lastEventId, resumeFrom));
  }

  /** Written even when the stream is full: a status is rare (reconnects back off) and small. */
  upstream(state: UpstreamState): void {
    this.write(statusFrame(state));
  }

  end(reason: FeedEndReason): void {
    clearInterval(this.heartbeat);
    if (reason !== 'closing') {
      // Fell behind: cut, so that what its socket holds is freed now. A client that reconnects
      // with Last-Event-ID gets what it missed while the buffer still holds it.
      this.body.destroy();
      return;
    }
    this.flush();
    this.body.end();
    const cut = setTimeout(() => this.body.destroy(), this.options.closeGraceMs);
    cut.unref();
    this.body.once('close', () => clearTimeout(cut));
  }

  /** Shutdown: end the response so that the server can close, telling the client when to come back. */
  close(): void {
    this.attachment?.detach();
    this.write(shutdownFrame);
    this.end('closing');
  }
}

export interface EventStreamStats {
  open: number;
  /** Bytes the open streams hold beyond their sockets. */
  bufferedBytes: number;
}

/** The SSE responses of one Fastify instance, each fed by the shared source. */
/** Why a stream is not served: shutdown, every listener taken, or the caller's share taken. */
export type StreamRefusal = 'closing' | 'full' | 'caller';

export class EventStreams {
  private readonly open = new Set<EventStream>();
  private readonly byCaller = new Map<string, number>();
  private readonly options: Required<EventStreamOptions>;
  private closing = false;

  constructor(
    private readonly source: Pick<LiveEvents, 'listen'>,
    options: EventStreamOptions,
  ) {
    this.options = {
      heartbeatMs: options.heartbeatMs,
      stallMs: options.stallMs ?? Math.max(60_000, 4 * options.heartbeatMs),
      highWaterMark: options.highWaterMark ?? 64 * 1024,
      closeGraceMs: options.closeGraceMs ?? 1000,
      maxPerCaller: options.maxPerCaller ?? Infinity,
    };
  }

  get stats(): EventStreamStats {
    let bufferedBytes = 0;
    for (const stream of this.open) bufferedBytes += stream.bufferedBytes;
    return { open: this.open.size, bufferedBytes };
  }

  /**
   * Answer with the event stream. `refuse` answers instead, in the route's own format, when no more
   * listeners are allowed, `caller` (a credential, or an address) holds its share, or the gateway
   * is shutting down.
   */
  serve(reply: FastifyReply, selection: EventSelection, refuse: (reason: StreamRefusal) => FastifyReply, caller = ''): FastifyReply {
    if (this.closing) return refuse('closing');
    const held = this.byCaller.get(caller) ?? 0;
    // One caller may not take every stream the gateway serves.
    if (held >= this.options.maxPerCaller) return refuse('caller');
    const stream = new EventStream(selection, this.options, (closed) => {
      if (!this.open.delete(closed)) return;
      const left = this.byCaller.get(caller)! - 1;
      if (left === 0) this.byCaller.delete(caller);
      else this.byCaller.set(caller, left);
    });
    const attachment = this.source.listen(stream, selection.lastEventId);
    if (!attachment) {
      stream.body.destroy();
      return refuse('full');
    }
    this.open.add(stream);
    this.byCaller.set(caller, held + 1);
    stream.start(attachment);
    return reply
      .type(eventStreamType)
      .header('cache-control', 'no-cache')
      // nginx and its kin buffer responses unless told not to.
      .header('x-accel-buffering', 'no')
      .send(stream.body);
  }

  /** End every stream (graceful shutdown must not wait on clients that never leave). */
  closeAll(): void {
    this.closing = true;
    for (const stream of [...this.open]) stream.close();
  }
}
