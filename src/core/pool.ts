/**
 * The gateway's connections to the XML core: N persistent CoreConnections, a bounded FIFO of
 * requests waiting for one, reconnection with backoff, a TEST health probe and fast failure while
 * the core is known to be down. One rule outranks the others: a request whose bytes may have reached
 * the core is never sent again, because the core may have carried it out (a second CALLSTART would
 * start a second call). Only a request that was never written moves on to another connection.
 *
 * This room talks TCP through `connection.ts` and speaks `protocol/`; it never imports `http/`.
 * Its events carry what metrics and logs need without depending on either.
 */
import { EventEmitter, setMaxListeners } from 'node:events';
import { buildRequest } from '../protocol/xml.js';
import { backoffDelay } from './backoff.js';
import { DeadlineTimer } from './deadline-timer.js';
import { CoreConnection, CoreError, defaultMaxAnswerBytes, type CoreAnswer, type CoreErrorKind, type CoreRequest } from './connection.js';

export { CoreError, type CoreAnswer, type CoreErrorKind, type CoreRequest } from './connection.js';

export interface CorePoolOptions {
  host: string;
  port: number;
  /** Persistent connections: the most requests in flight at once. */
  size: number;
  /** Requests that may wait for a connection; one more is rejected `queue-full` at once. */
  queueMax: number;
  /** From writing a request to its complete answer; past it the connection is destroyed. */
  requestTimeoutMs: number;
  connectTimeoutMs: number;
  maxAnswerBytes?: number;
  /** How long a request may wait for a connection (default: requestTimeoutMs). */
  queueTimeoutMs?: number;
  backoffInitialMs?: number;
  /**
   * The longest wait between attempts to reach the core (default 500 ms). Low on purpose: a refused
   * connection costs the core nothing, and a core back from a restart serves calls within it.
   */
  backoffMaxMs?: number;
  /** How often an idle connection is probed with TEST. */
  healthIntervalMs?: number;
  /** The time a TEST probe has to be answered, for a new connection and for readiness (default 2000 ms). */
  probeTimeoutMs?: number;
  /** A request waiting this long for its answer (or for a connection) makes the pool not ready (default 5000 ms). */
  stallMs?: number;
}

/** Whether the pool can serve calls now, and if not, why (for /readyz and its operator). */
export type CoreReadiness = { ready: true } | { ready: false; reason: string };

export interface CorePoolStats {
  size: number;
  /** Connections open and proven by a TEST (idle + busy). */
  open: number;
  /** Connections being opened or proven. */
  connecting: number;
  busy: number;
  queued: number;
  /** The core answered recently and no attempt to reach it has failed since it last did. */
  up: boolean;
}

export interface CoreAnswerEvent {
  type: string;
  resultType: string;
  resultCode: number | undefined;
  /** From request() to the answer, queueing included. */
  seconds: number;
  queuedSeconds: number;
}

export interface CoreFailureEvent {
  type: string;
  /** `aborted` when the caller's signal ended the request. */
  kind: CoreErrorKind | 'aborted';
  mayHaveReachedCore: boolean;
  seconds: number;
}

export type CorePoolEvents = {
  answer: [CoreAnswerEvent];
  failure: [CoreFailureEvent];
  /** The core answers again (or for the first time). */
  up: [];
  /** The core cannot be reached; requests fail at once until a probe succeeds. */
  down: [reason: unknown];
  connect: [];
  disconnect: [reason: unknown];
};

interface Waiter {
  request: CoreRequest;
  signal: AbortSignal | undefined;
  resolve: (answer: CoreAnswer) => void;
  reject: (error: unknown) => void;
  startedAt: number;
  /** When it stops waiting for a connection. */
  deadline: number;
  onAbort: (() => void) | undefined;
  /** Connections that turned out closed before the request could be written. */
  unwritten: number;
}

type Health = 'starting' | 'up' | 'down';

const seconds = (from: number): number => (performance.now() - from) / 1000;

export class CorePool extends EventEmitter<CorePoolEvents> {
  private readonly options: Required<CorePoolOptions>;
  /** Least recently used first: traffic and probes rotate over every connection. */
  private readonly idle: CoreConnection[] = [];
  private readonly busy = new Set<CoreConnection>();
  private readonly all = new Set<CoreConnection>();
  /** Waiting for a connection, oldest first: their deadlines only grow along the queue. */
  private readonly queue: Waiter[] = [];
  /** One timer for the whole queue, due at its head's deadline, rather than one per waiter. */
  private readonly queueTimeout = new DeadlineTimer(() => this.expireQueue());
  private opening = 0;
  private health: Health = 'starting';
  private downReason = '';
  /** Consecutive failed attempts to open a working connection. */
  private failures = 0;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private healthTimer: NodeJS.Timeout | undefined;
  private nextProbeId = 1;
  /** When each busy connection was handed its request: the oldest tells a hung core. */
  private readonly lentAt = new Map<CoreConnection, number>();
  /** The readiness check in progress or just made: probers share it rather than each sending a TEST. */
  private readinessCheck: { at: number; result: Promise<CoreReadiness> } | undefined;
  private state: 'new' | 'running' | 'closing' = 'new';
  private closing: Promise<void> | undefined;
  private drained: (() => void) | undefined;
  /** Aborts connection attempts when the pool closes. */
  private readonly lifetime = new AbortController();

  constructor(options: CorePoolOptions) {
    super();
    if (!Number.isInteger(options.size) || options.size < 1) throw new RangeError('CorePool size must be a positive integer');
    if (!Number.isInteger(options.queueMax) || options.queueMax < 0) throw new RangeError('CorePool queueMax must be a non-negative integer');
    this.options = {
      ...options,
      maxAnswerBytes: options.maxAnswerBytes ?? defaultMaxAnswerBytes,
      queueTimeoutMs: options.queueTimeoutMs ?? options.requestTimeoutMs,
      backoffInitialMs: options.backoffInitialMs ?? 100,
      backoffMaxMs: options.backoffMaxMs ?? 500,
      healthIntervalMs: options.healthIntervalMs ?? 30_000,
      probeTimeoutMs: options.probeTimeoutMs ?? Math.min(2000, options.requestTimeoutMs),
      stallMs: options.stallMs ?? 5000,
    };
    for (const name of ['probeTimeoutMs', 'stallMs', 'backoffMaxMs', 'healthIntervalMs'] as const) {
      if (!(this.options[name] > 0)) throw new RangeError(`CorePool ${name} must be positive`);
    }
    // Every connection being opened listens on this signal: a pool of more than ten would trip
    // Node's leak warning although each listener goes once its connection settles.
    setMaxListeners(options.size + 1, this.lifetime.signal);
  }

  /** Open the connections and start probing. Requests made before start() start the pool. */
  start(): void {
    if (this.state !== 'new') return;
    this.state = 'running';
    this.healthTimer = setInterval(() => this.probeIdle(), this.options.healthIntervalMs);
    this.healthTimer.unref();
    this.fill();
  }

  get stats(): CorePoolStats {
    return {
      size: this.options.size,
      open: this.idle.length + this.busy.size,
      connecting: this.opening,
      busy: this.busy.size,
      queued: this.queue.length,
      up: this.health === 'up',
    };
  }

  /** How long the oldest request has waited, for a connection or for its answer, in ms (0 with none). */
  oldestWaitMs(now = performance.now()): number {
    let oldest = this.queue[0]?.startedAt ?? now;
    for (const at of this.lentAt.values()) if (at < oldest) oldest = at;
    return now - oldest;
  }

  /**
   * Whether the pool can serve calls now: not while closing, while the core is down, while a request
   * has waited past `stallMs`, or when a TEST is not answered within `probeTimeoutMs` (a hung core
   * accepts connections and answers nothing; only asking tells it). Checks made within a second of
   * each other share one TEST, so load balancers probing often cost the core little.
   */
  readiness(): Promise<CoreReadiness> {
    const now = performance.now();
    if (this.readinessCheck && now - this.readinessCheck.at < 1000) return this.readinessCheck.result;
    const result = this.checkReadiness(now);
    this.readinessCheck = { at: now, result };
    return result;
  }

  private async checkReadiness(now: number): Promise<CoreReadiness> {
    if (this.state === 'closing') return { ready: false, reason: 'the gateway is shutting down' };
    if (this.health === 'down') return { ready: false, reason: `the core is down: ${this.downReason}` };
    const waited = this.oldestWaitMs(now);
    if (waited > this.options.stallMs) return { ready: false, reason: `a request has waited ${Math.round(waited)} ms for the core` };
    const id = this.nextId();
    try {
      await this.request(
        { type: 'TEST', requestId: String(id), xml: buildRequest('TEST', id), timeoutMs: this.options.probeTimeoutMs },
        AbortSignal.timeout(this.options.probeTimeoutMs),
      );
      return { ready: true };
    } catch (error) {
      const why = error instanceof CoreError ? error.message : `no answer within ${this.options.probeTimeoutMs} ms`;
      return { ready: false, reason: `the core did not answer TEST: ${why}` };
    }
  }

  /**
   * Send a request on the next free connection and resolve with its answer, whatever its RESULTCODE.
   * Rejects with a CoreError, or with the signal's reason when `signal` aborts it.
   */
  request(request: CoreRequest, signal?: AbortSignal): Promise<CoreAnswer> {
    return new Promise<CoreAnswer>((resolve, reject) => this.send(request, resolve, reject, signal));
  }

  /**
   * `request` with callbacks, for the HTTP surfaces' hot path: no promise between the answer's last
   * bytes and the caller. A refusal is called back on a microtask, never from within this call.
   */
  send(request: CoreRequest, answered: (answer: CoreAnswer) => void, failed: (error: unknown) => void, signal?: AbortSignal): void {
    this.start();
    const startedAt = performance.now();
    const refuse = (error: unknown, kind: CoreFailureEvent['kind']): void => {
      this.emitFailure(request, kind, false, startedAt);
      queueMicrotask(() => failed(error));
    };
    if (this.state === 'closing') return refuse(new CoreError('closed', 'the connection pool to the core is closed', false), 'closed');
    if (signal?.aborted) return refuse(signal.reason, 'aborted');
    if (this.health === 'down') return refuse(new CoreError('unavailable', `the core is down: ${this.downReason}`, false), 'unavailable');
    if (this.idle.length === 0 && this.queue.length >= this.options.queueMax) {
      return refuse(new CoreError('queue-full', `${this.queue.length} requests are already waiting for the core`, false), 'queue-full');
    }
    const waiter: Waiter = {
      request,
      signal,
      resolve: answered,
      reject: failed,
      startedAt,
      deadline: startedAt + this.options.queueTimeoutMs,
      onAbort: undefined,
      unwritten: 0,
    };
    // A free connection and nobody ahead: sent at once, without the queue's listener.
    const connection = this.queue.length === 0 ? this.idle.shift() : undefined;
    if (connection) {
      this.lend(connection, waiter);
      return;
    }
    this.enqueue(waiter, false);
    this.dispatch();
  }

  /**
   * Stop accepting requests, fail the queued ones, let those in flight finish for up to `graceMs`
   * (default: the request timeout), then destroy every connection.
   */
  close(graceMs = this.options.requestTimeoutMs): Promise<void> {
    this.closing ??= this.shutDown(graceMs);
    return this.closing;
  }

  private async shutDown(graceMs: number): Promise<void> {
    this.state = 'closing';
    // Destroyed connections leave `all` at once; their sockets close a little later.
    const connections = [...this.all];
    clearInterval(this.healthTimer);
    clearTimeout(this.reconnectTimer);
    this.queueTimeout.cancel();
    this.lifetime.abort();
    for (const waiter of this.queue.splice(0)) {
      this.fail(waiter, new CoreError('closed', 'the connection pool to the core closed before the request was sent', false));
    }
    for (const connection of this.idle.splice(0)) connection.destroy();
    if (this.busy.size > 0) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, graceMs);
        this.drained = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
    this.drained = undefined;
    // Still busy after the grace period, or still proving themselves: cut.
    for (const connection of this.all) {
      connection.destroy(new CoreError('closed', 'the connection pool to the core closed before the answer came', true));
    }
    await Promise.all(connections.map((connection) => connection.whenClosed()));
  }

  // -------------------------------------------------------------------------------------------
  // Queue

  /** `front`: a waiter back from a connection that closed unwritten, ahead of those who came later. */
  private enqueue(waiter: Waiter, front: boolean): void {
    if (front) this.queue.unshift(waiter);
    else this.queue.push(waiter);
    this.watchQueue();
    if (waiter.signal && !waiter.onAbort) {
      const signal = waiter.signal;
      waiter.onAbort = () => {
        this.remove(waiter);
        this.settle(waiter);
        this.emitFailure(waiter.request, 'aborted', false, waiter.startedAt);
        waiter.reject(signal.reason);
      };
      signal.addEventListener('abort', waiter.onAbort, { once: true });
    }
  }

  /** The queue's timer is due by its head's deadline (a waiter put back at the front brings it forward). */
  private watchQueue(): void {
    const head = this.queue[0];
    if (head) this.queueTimeout.by(head.deadline);
  }

  private expireQueue(): void {
    const now = performance.now();
    while (this.queue.length > 0 && this.queue[0]!.deadline <= now) {
      this.fail(this.queue.shift()!, new CoreError('timeout', `no connection to the core became free within ${this.options.queueTimeoutMs} ms`, false));
    }
    this.watchQueue();
  }

  /** Take a waiter out of the queue (it keeps its abort listener until settled). */
  private remove(waiter: Waiter): void {
    const at = this.queue.indexOf(waiter);
    if (at !== -1) this.queue.splice(at, 1);
  }

  private settle(waiter: Waiter): void {
    if (waiter.onAbort) waiter.signal?.removeEventListener('abort', waiter.onAbort);
  }

  private fail(waiter: Waiter, error: CoreError): void {
    this.settle(waiter);
    this.emitFailure(waiter.request, error.kind, error.mayHaveReachedCore, waiter.startedAt);
    waiter.reject(error);
  }

  private emitFailure(request: CoreRequest, kind: CoreFailureEvent['kind'], mayHaveReachedCore: boolean, startedAt: number): void {
    this.emit('failure', { type: request.type, kind, mayHaveReachedCore, seconds: seconds(startedAt) });
  }

  private dispatch(): void {
    while (this.queue.length > 0) {
      const connection = this.idle.shift();
      if (!connection) return;
      this.lend(connection, this.queue.shift()!);
    }
    // Nothing left to time out: the timer would only keep the process up.
    this.queueTimeout.cancel();
  }

  /** Hand a waiter's request to a free connection. */
  private lend(connection: CoreConnection, waiter: Waiter): void {
    this.busy.add(connection);
    this.lentAt.set(connection, waiter.startedAt);
    // The connection takes over the signal: aborting now destroys it.
    if (waiter.onAbort) waiter.signal?.removeEventListener('abort', waiter.onAbort);
    waiter.onAbort = undefined;
    // Only the 'answer' event uses it, and reading the clock is not free.
    const sentAt = this.listenerCount('answer') > 0 ? performance.now() : 0;
    connection.send(
      waiter.request,
      waiter.request.timeoutMs ?? this.options.requestTimeoutMs,
      waiter.signal,
      (answer) => {
        this.release(connection);
        this.markUp();
        if (sentAt > 0) {
          this.emit('answer', {
            type: waiter.request.type,
            resultType: answer.resultType,
            resultCode: answer.resultCode,
            seconds: seconds(waiter.startedAt),
            queuedSeconds: (sentAt - waiter.startedAt) / 1000,
          });
        }
        waiter.resolve(answer);
      },
      (error: unknown) => {
        this.release(connection);
        const unwritten = error instanceof CoreError && !error.mayHaveReachedCore && error.kind === 'unavailable';
        if (unwritten && !waiter.signal?.aborted && this.state === 'running' && waiter.unwritten++ < this.options.size) {
          // Never written: another connection may carry it, ahead of those who came later.
          this.enqueue(waiter, true);
          this.dispatch();
          return;
        }
        if (error instanceof CoreError) {
          this.fail(waiter, error);
        } else {
          this.settle(waiter);
          this.emitFailure(waiter.request, 'aborted', true, waiter.startedAt);
          waiter.reject(error);
        }
      },
    );
  }

  private release(connection: CoreConnection): void {
    this.busy.delete(connection);
    this.lentAt.delete(connection);
    if (!connection.closed) {
      if (this.state === 'closing') connection.destroy();
      else this.idle.push(connection);
    }
    if (this.busy.size === 0) this.drained?.();
    this.dispatch();
  }

  // -------------------------------------------------------------------------------------------
  // Connections and health

  /** Open connections up to the size; while the core is down, one attempt at a time is the probe. */
  private fill(): void {
    if (this.state !== 'running' || this.reconnectTimer) return;
    const open = this.idle.length + this.busy.size;
    const wanted = this.health === 'down' ? Math.min(1, this.options.size - open) : this.options.size - open;
    while (this.opening < wanted) void this.openOne();
  }

  /**
   * A connection joins the pool only once it has answered a TEST: a core that accepts connections but
   * never answers (hung, or over its client limit) costs a probe, not a caller's request.
   */
  private async openOne(): Promise<void> {
    this.opening++;
    let connection: CoreConnection | undefined;
    try {
      connection = await CoreConnection.open(
        { host: this.options.host, port: this.options.port, connectTimeoutMs: this.options.connectTimeoutMs, maxAnswerBytes: this.options.maxAnswerBytes },
        this.lifetime.signal,
      );
      if (this.state !== 'running') throw new CoreError('closed', 'the connection pool to the core is closed', false);
      this.all.add(connection);
      const opened = connection;
      connection.once('close', (reason) => this.forget(opened, reason));
      await this.probe(connection);
      // The probe's answer can come with bytes that poisoned the connection.
      if (connection.closed) throw new CoreError('protocol', 'the connection closed right after its probe', false);
    } catch (error) {
      this.opening--;
      connection?.destroy();
      if (this.state !== 'running') return;
      this.failures++;
      if (this.idle.length + this.busy.size === 0 && this.opening === 0) this.markDown(error);
      this.reconnectTimer ??= setTimeout(
        () => {
          this.reconnectTimer = undefined;
          this.fill();
        },
        backoffDelay(this.failures, { initialMs: this.options.backoffInitialMs, maxMs: this.options.backoffMaxMs }),
      );
      return;
    }
    this.opening--;
    if (this.state !== 'running') {
      connection.destroy();
      return;
    }
    this.failures = 0;
    this.idle.push(connection);
    this.emit('connect');
    this.markUp();
    this.fill();
    this.dispatch();
  }

  private forget(connection: CoreConnection, reason: unknown): void {
    this.all.delete(connection);
    const at = this.idle.indexOf(connection);
    if (at !== -1) this.idle.splice(at, 1);
    const wasLent = this.busy.delete(connection);
    this.lentAt.delete(connection);
    if (at !== -1 || wasLent) this.emit('disconnect', reason);
    if (wasLent && this.busy.size === 0) this.drained?.();
    this.fill();
  }

  private nextId(): number {
    const id = this.nextProbeId;
    this.nextProbeId = id >= 2147483647 ? 1 : id + 1;
    return id;
  }

  private probe(connection: CoreConnection): Promise<CoreAnswer> {
    const id = this.nextId();
    return connection.request({ type: 'TEST', requestId: String(id), xml: buildRequest('TEST', id) }, this.options.probeTimeoutMs);
  }

  /**
   * TEST the connection idle longest. A failed probe has destroyed its connection; the replacement
   * must pass a probe of its own, and if none can, the core is down.
   */
  private probeIdle(): void {
    if (this.state !== 'running' || this.queue.length > 0) return;
    const connection = this.idle.shift();
    if (!connection) return;
    this.busy.add(connection);
    this.probe(connection).then(
      () => {
        this.release(connection);
        this.markUp();
      },
      () => this.release(connection),
    );
  }

  private markUp(): void {
    if (this.health === 'up' || this.state !== 'running') return;
    this.health = 'up';
    this.emit('up');
  }

  private markDown(reason: unknown): void {
    if (this.health === 'down') return;
    this.health = 'down';
    this.downReason = reason instanceof Error ? reason.message : String(reason);
    this.emit('down', reason);
    for (const waiter of this.queue.splice(0)) {
      this.fail(waiter, new CoreError('unavailable', `the core is down: ${this.downReason}`, false));
    }
  }
}
