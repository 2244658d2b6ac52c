/**
 * One TCP connection to the XML core's API port. The product's API Server is a blocking server: one
 * request at a time per connection, answered in order, with no correlation beyond that order. So a
 * connection carries at most one request, and whenever the order can no longer be trusted (a
 * timeout, bytes nobody asked for, an answer to another request) the connection is destroyed rather
 * than reused: a late or stray answer must never reach the next caller.
 *
 * This room talks TCP and speaks `protocol/` (framing, lenient XML, the catalog); it never imports
 * `http/`. Pooling, queueing and reconnection live in `pool.ts`.
 */
import { EventEmitter } from 'node:events';
import net from 'node:net';
import { findCommand, isValidRequestId } from '../protocol/catalog.js';
import { FrameTooLargeError, MessageFramer, type Frame } from '../protocol/framing.js';
import { childText, leadingChildTexts, parseXml, resultHeaderNames, type XmlElement } from '../protocol/xml.js';
import { DeadlineTimer } from './deadline-timer.js';

/**
 * Why the core gave no usable answer. `unavailable`: no connection, or it broke; `timeout`: no
 * complete answer in time; `queue-full`: too many requests waiting; `protocol`: the core answered
 * something that is not the answer to this request; `too-large`: the answer passed the size bound;
 * `closed`: the pool is shutting down.
 */
export type CoreErrorKind = 'unavailable' | 'timeout' | 'queue-full' | 'protocol' | 'closed' | 'too-large';

export class CoreError extends Error {
  override name = 'CoreError';
  constructor(
    readonly kind: CoreErrorKind,
    message: string,
    /**
     * Whether bytes of the request were written to the core. Then the core may have carried it out
     * (a CALLSTART may have started a call) and nothing may send it again on the caller's behalf.
     */
    readonly mayHaveReachedCore: boolean,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/** A request ready for the wire: `xml` as built by `protocol/xml`'s buildRequest. */
export interface CoreRequest {
  type: string;
  requestId: string;
  xml: string;
  /** Overrides the pool's request timeout for this request (a slow EMAIL, say). */
  timeoutMs?: number;
}

export interface CoreAnswer {
  /** The answer exactly as the core wrote it, from the root's `<` to its closing `>`. */
  bytes: Buffer;
  /** `bytes` parsed leniently (the core's output is not always well-formed), on first use. */
  readonly root: XmlElement;
  /**
   * The answer is known to hold nothing but header elements (REQUESTTYPE, RESULTCODE...), which the
   * header scan saw without parsing: a caller after the rest of the answer need not parse `root`.
   */
  readonly headerOnly?: boolean;
  requestType: string;
  requestId: string;
  resultCode: number | undefined;
  resultType: string;
  resultMessage: string;
}

export interface CoreConnectionOptions {
  host: string;
  port: number;
  connectTimeoutMs: number;
  /** Bound on one answer; past it the request fails `too-large` and the connection is dropped. */
  maxAnswerBytes?: number;
}

export const defaultMaxAnswerBytes = 16 * 1024 * 1024;

/** A framer that grew past this for a large answer is replaced, so idle connections hold little memory. */
const framerKeepBytes = 64 * 1024;

interface InFlight {
  type: string;
  requestId: string;
  resolve: (answer: CoreAnswer) => void;
  reject: (error: unknown) => void;
  /** performance.now() past which the request has timed out. */
  deadline: number;
  timeoutMs: number;
  signal: AbortSignal | undefined;
  onAbort: (() => void) | undefined;
}

type ConnectionEvents = {
  /** Emitted once, when the connection is destroyed, with the reason if there was one. */
  close: [reason: unknown];
};

export class CoreConnection extends EventEmitter<ConnectionEvents> {
  private framer: MessageFramer;
  private inFlight: InFlight | undefined;
  /** The request timeout. Unreferenced: a request in flight keeps the process alive through its socket. */
  private readonly timeout = new DeadlineTimer(() => this.onTimeout(), true);
  private isClosed = false;
  private readonly socketClosed: Promise<void>;

  /** Connect; fails with `unavailable` (never reached the core) or, when `signal` aborts, `closed`. */
  static open(options: CoreConnectionOptions, signal?: AbortSignal): Promise<CoreConnection> {
    const where = `${options.host}:${options.port}`;
    const maxAnswerBytes = options.maxAnswerBytes ?? defaultMaxAnswerBytes;
    return new Promise((resolve, reject) => {
      if (signal?.aborted) {
        reject(new CoreError('closed', `connecting to the core at ${where} was cancelled`, false));
        return;
      }
      // Keep-alive finds a core host that vanished while a connection sat idle in the pool.
      const socket = net.connect({ host: options.host, port: options.port, noDelay: true, keepAlive: true, keepAliveInitialDelay: 30_000 });
      const finish = (error?: CoreError): void => {
        clearTimeout(timer);
        socket.off('connect', onConnect);
        socket.off('error', onError);
        signal?.removeEventListener('abort', onAbort);
        if (error) {
          socket.destroy();
          reject(error);
        } else {
          resolve(new CoreConnection(socket, maxAnswerBytes));
        }
      };
      const onConnect = (): void => finish();
      const onError = (error: Error): void =>
        finish(new CoreError('unavailable', `cannot connect to the core at ${where}: ${error.message}`, false, { cause: error }));
      const onAbort = (): void => finish(new CoreError('closed', `connecting to the core at ${where} was cancelled`, false));
      const timer = setTimeout(
        () => finish(new CoreError('unavailable', `no connection to the core at ${where} within ${options.connectTimeoutMs} ms`, false)),
        options.connectTimeoutMs,
      );
      socket.once('connect', onConnect);
      socket.once('error', onError);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  private constructor(
    private readonly socket: net.Socket,
    private readonly maxAnswerBytes: number,
  ) {
    super();
    this.framer = new MessageFramer(maxAnswerBytes);
    this.socketClosed = new Promise((resolve) => socket.once('close', () => resolve()));
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (error) => this.destroy(lost(`the connection to the core failed: ${error.message}`, error)));
    // The core closing its side ends the conversation: nothing more can be asked on it.
    socket.on('end', () => this.destroy(lost('the core closed the connection')));
    socket.on('close', () => this.destroy(lost('the connection to the core closed')));
  }

  /** A request is in flight. */
  get busy(): boolean {
    return this.inFlight !== undefined;
  }

  get closed(): boolean {
    return this.isClosed;
  }

  /** Resolves once the socket itself has closed (after destroy, the descriptor is released asynchronously). */
  whenClosed(): Promise<void> {
    return this.socketClosed;
  }

  /**
   * Send one request and wait for its answer. Any failure after the request was written destroys the
   * connection. On a connection already closed it fails `unavailable` with mayHaveReachedCore false,
   * which is the one failure a caller may retry elsewhere. Aborting `signal` rejects with its reason.
   */
  request(request: CoreRequest, timeoutMs: number, signal?: AbortSignal): Promise<CoreAnswer> {
    return new Promise((resolve, reject) => this.send(request, timeoutMs, signal, resolve, reject));
  }

  /**
   * `request` with callbacks, for the pool: an answer reaches its caller in the same turn as its
   * last bytes, without a promise per layer. A refusal before anything is written is called back
   * on a microtask, never from within this call.
   */
  send(request: CoreRequest, timeoutMs: number, signal: AbortSignal | undefined, resolve: (answer: CoreAnswer) => void, reject: (error: unknown) => void): void {
    const refuse = (error: unknown): void => queueMicrotask(() => reject(error));
    if (this.inFlight) return refuse(new Error('CoreConnection carries one request at a time'));
    if (this.isClosed || this.socket.destroyed || !this.socket.writable) {
      // The socket can be torn down (a reset read) a tick before its events reach us.
      const error = new CoreError('unavailable', 'the connection to the core closed before the request was written', false);
      this.destroy(error);
      return refuse(error);
    }
    if (signal?.aborted) return refuse(signal.reason);
    const deadline = performance.now() + timeoutMs;
    const inFlight: InFlight = { type: request.type, requestId: request.requestId, resolve, reject, deadline, timeoutMs, signal, onAbort: undefined };
    if (signal) {
      inFlight.onAbort = () => this.destroy(signal.reason);
      signal.addEventListener('abort', inFlight.onAbort, { once: true });
    }
    this.inFlight = inFlight;
    this.timeout.by(deadline);
    this.socket.write(request.xml);
  }

  /** The timer came due: the request in flight has timed out, or one sent since is due later. */
  private onTimeout(): void {
    const inFlight = this.inFlight;
    if (!inFlight || this.isClosed) return;
    if (performance.now() >= inFlight.deadline) {
      this.destroy(new CoreError('timeout', `the core did not answer ${inFlight.type} within ${inFlight.timeoutMs} ms`, true));
    } else {
      this.timeout.by(inFlight.deadline);
    }
  }

  /**
   * Close the connection now. A request in flight fails with `reason` (a CoreError with
   * mayHaveReachedCore true unless told otherwise).
   */
  destroy(reason: unknown = new CoreError('closed', 'the connection to the core was closed', true)): void {
    if (this.isClosed) return;
    this.isClosed = true;
    this.timeout.cancel();
    const inFlight = this.takeInFlight();
    this.socket.destroy();
    // The pool hears of the loss before the caller does: the connection is gone when the caller's
    // failure is handled.
    this.emit('close', reason);
    inFlight?.reject(reason);
  }

  private takeInFlight(): InFlight | undefined {
    const inFlight = this.inFlight;
    if (!inFlight) return undefined;
    this.inFlight = undefined;
    if (inFlight.onAbort) inFlight.signal?.removeEventListener('abort', inFlight.onAbort);
    return inFlight;
  }

  private onData(chunk: Buffer): void {
    if (this.isClosed) return;
    if (!this.inFlight) {
      // The line end after an answer may come in a chunk of its own; anything else is unasked for.
      if (!isBlank(chunk)) {
        this.destroy(new CoreError('protocol', `the core sent ${chunk.length} bytes while no request was in flight`, false));
      }
      return;
    }
    let frames: Frame[];
    try {
      frames = this.framer.push(chunk);
    } catch (error) {
      // Nothing a core sends may crash the gateway: any other framing fault poisons the connection.
      this.destroy(
        error instanceof FrameTooLargeError
          ? new CoreError('too-large', `the answer to ${this.inFlight.type} exceeds ${this.maxAnswerBytes} bytes`, true, { cause: error })
          : new CoreError('protocol', `the answer to ${this.inFlight.type} cannot be framed: ${(error as Error).message}`, true, { cause: error }),
      );
      return;
    }
    const [frame, ...extra] = frames;
    if (!frame) return;
    const answer = readAnswer(frame, this.inFlight);
    if (answer instanceof CoreError) {
      this.destroy(answer);
      return;
    }
    const inFlight = this.takeInFlight()!;
    if (extra.length > 0 || this.framer.pendingBytes > 0) {
      this.destroy(new CoreError('protocol', `the core sent more than the answer to ${inFlight.type}`, false));
    } else if (frame.bytes.length > framerKeepBytes) {
      this.framer = new MessageFramer(this.maxAnswerBytes);
    }
    inFlight.resolve(answer);
  }
}

function lost(message: string, cause?: Error): CoreError {
  return new CoreError('unavailable', message, true, cause ? { cause } : undefined);
}

/** How much of an answer the lenient parser reads for its header when the fast read gave up. */
const headerScanBytes = 4096;
/** TYPE stands in for REQUESTTYPE only when the latter is absent, which takes a complete scan to know. */
const hasWholeHeader = (texts: Map<string, string>): boolean =>
  texts.has('REQUESTTYPE') && texts.has('REQUESTID') && texts.has('RESULTTYPE') && texts.has('RESULTCODE') && texts.has('RESULTMSG');

function isBlank(chunk: Buffer): boolean {
  for (const b of chunk) if (b !== 0x20 && b !== 0x09 && b !== 0x0a && b !== 0x0d) return false;
  return true;
}

function parseAnswer(bytes: Buffer): XmlElement {
  // The size bound already bounds the work; an element takes at least 4 bytes (`<a/>`), so this
  // element bound never refuses a long CALLLIST the size bound admitted.
  return parseXml(bytes.toString('utf8'), { maxDepth: 64, maxElements: Math.max(200_000, Math.ceil(bytes.length / 4)) });
}

/** The answer in a frame, or why it is not the answer to the request in flight. */
function readAnswer(frame: Frame, asked: InFlight): CoreAnswer | CoreError {
  if (frame.kind !== 'message') {
    const preview = frame.bytes.subarray(0, 80).toString('utf8').trim();
    return new CoreError('protocol', `the core answered ${asked.type} with a line that is not XML: ${JSON.stringify(preview)}`, true);
  }
  const parse = parseAnswer;
  // The header comes first and is plain: read straight from the bytes, it spares parsing the answer
  // on the hot path. Anything irregular before the header is complete goes to the lenient parser,
  // over the head of a long answer (it closes what the cut leaves open). The whole answer is parsed
  // only when a caller asks for `root`.
  const leading = leadingChildTexts(frame.bytes, resultHeaderNames, hasWholeHeader);
  let field: (name: string) => string | undefined;
  let root: XmlElement | undefined;
  const headerOnly = leading.complete && leading.onlyNamed;
  if (leading.complete || hasWholeHeader(leading.texts)) {
    field = (name) => leading.texts.get(name)?.trim();
  } else {
    let header: XmlElement;
    try {
      header = parse(frame.bytes.length > headerScanBytes ? frame.bytes.subarray(0, headerScanBytes) : frame.bytes);
      if (frame.bytes.length > headerScanBytes && childText(header, 'REQUESTTYPE') === undefined && childText(header, 'TYPE') === undefined) {
        header = parse(frame.bytes);
      }
    } catch (error) {
      return new CoreError('protocol', `the answer to ${asked.type} cannot be read: ${(error as Error).message}`, true, { cause: error });
    }
    root = frame.bytes.length > headerScanBytes ? undefined : header;
    field = (name) => childText(header, name)?.trim();
  }
  // The manual's CALLLIST example answers with <TYPE> where every other answer has <REQUESTTYPE>.
  const requestType = field('REQUESTTYPE') ?? field('TYPE') ?? '';
  if (!sameCommand(requestType, asked.type)) {
    return new CoreError('protocol', `the core answered ${requestType || 'without a REQUESTTYPE'} to a ${asked.type} request`, true);
  }
  const requestId = field('REQUESTID') ?? '';
  if (!sameRequestId(requestId, asked.requestId)) {
    return new CoreError('protocol', `the core answered REQUESTID ${requestId} to ${asked.type} REQUESTID ${asked.requestId}`, true);
  }
  const code = field('RESULTCODE');
  return new ParsedAnswer(
    frame.bytes,
    root,
    requestType,
    requestId,
    code !== undefined && /^-?[0-9]{1,10}$/.test(code) ? Number(code) : undefined,
    field('RESULTTYPE') ?? '',
    field('RESULTMSG') ?? '',
    headerOnly,
  );
}

/** An answer whose tree is parsed on first use (a class: an object literal with a getter is slow to create). */
class ParsedAnswer implements CoreAnswer {
  constructor(
    readonly bytes: Buffer,
    private parsed: XmlElement | undefined,
    readonly requestType: string,
    readonly requestId: string,
    readonly resultCode: number | undefined,
    readonly resultType: string,
    readonly resultMessage: string,
    readonly headerOnly: boolean,
  ) {}

  get root(): XmlElement {
    this.parsed ??= parseAnswer(this.bytes);
    return this.parsed;
  }
}

/** Types compare by command, so that an alias asked for and the canonical name answered match. */
function sameCommand(answered: string, asked: string): boolean {
  const a = answered.toUpperCase();
  const b = asked.trim().toUpperCase();
  if (a === b) return true;
  const spec = findCommand(a);
  return spec !== undefined && spec === findCommand(b);
}

/**
 * The core echoes REQUESTID. Only valid ids are compared (numerically, in case a core normalises
 * `007`), and an answer without one passes: an invalid id's echo is the core's business, and the
 * manual's own examples sometimes leave the header out. Two answers of the same TYPE are thus told
 * apart whenever the caller's ids differ.
 */
function sameRequestId(answered: string, asked: string): boolean {
  if (answered === '' || !isValidRequestId(asked) || !/^[0-9]{1,10}$/.test(answered)) return true;
  return Number(answered) === Number(asked.trim());
}
