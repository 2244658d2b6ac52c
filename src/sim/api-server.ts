/**
 * The API port (5620): a blocking server as the manual describes it. Each connection carries many
 * requests, one at a time, answered in order; a client may drop the connection whenever it likes.
 * Bounds: connections (API_TOO_MANY_CLIENTS beyond), message size, how long a message may stay
 * incomplete, and how many framed requests may wait while one is served.
 */
import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { FrameTooLargeError, MessageFramer, type Frame } from '../protocol/framing.js';
import { ResultCode } from '../protocol/result-codes.js';
import type { SimContext } from './context.js';
import { answer, renderResult } from './dispatcher.js';
import type { FaultPlan } from './faults.js';

export interface ApiServerLimits {
  maxClients: number;
  maxMessageBytes: number;
  /** A message left incomplete this long closes the connection. */
  incompleteMessageTimeoutMs: number;
}

export interface ReceivedRequest {
  at: number;
  text: string;
}

/** The last requests received, for tests and for people debugging an integration. */
export class RequestLog {
  private readonly entries: ReceivedRequest[] = [];
  constructor(private readonly capacity = 200) {}
  add(text: string): void {
    this.entries.push({ at: Date.now(), text: text.length > 4096 ? `${text.slice(0, 4096)}...` : text });
    if (this.entries.length > this.capacity) this.entries.shift();
  }
  list(): ReceivedRequest[] {
    return [...this.entries];
  }
}

/** Framed requests that may wait on one connection before it stops reading. */
const maxQueuedRequests = 16;

export function createApiServer(ctx: SimContext, limits: ApiServerLimits, faults: FaultPlan, log: RequestLog): net.Server {
  // allowHalfOpen: a client that shuts down its sending side after its request still gets the
  // answer; serveConnection ends the connection once the requests it received are answered.
  const server = net.createServer({ noDelay: true, allowHalfOpen: true }, (socket) => {
    socket.on('error', () => socket.destroy());
    server.getConnections((error, count) => {
      if (!error && count > limits.maxClients) {
        const header = { type: '', requestId: '' };
        socket.end(renderResult(header, { code: ResultCode.API_TOO_MANY_CLIENTS, message: `More than ${limits.maxClients} clients are connected` }, ctx));
        return;
      }
      serveConnection(socket, ctx, limits, faults, log);
    });
  });
  return server;
}

function serveConnection(socket: net.Socket, ctx: SimContext, limits: ApiServerLimits, faults: FaultPlan, log: RequestLog): void {
  const framer = new MessageFramer(limits.maxMessageBytes);
  const queue: Frame[] = [];
  let busy = false;
  let stuck = false;
  /** The client sent FIN: answer what was received, then end. */
  let ended = false;
  let incompleteTimer: NodeJS.Timeout | undefined;

  const write = async (data: string): Promise<void> => {
    if (socket.destroyed) return;
    if (!socket.write(data)) {
      await new Promise<void>((resolve) => {
        const done = (): void => {
          socket.off('drain', done);
          socket.off('close', done);
          resolve();
        };
        socket.on('drain', done);
        socket.on('close', done);
      });
    }
  };

  const rejectAndClose = (message: string): void => {
    queue.length = 0;
    socket.end(renderResult({ type: '', requestId: '' }, { code: ResultCode.API_INVALID_MESSAGE_FORMAT, message }, ctx));
  };

  const serve = async (frame: Frame): Promise<void> => {
    if (frame.kind === 'garbage') {
      await write(renderResult({ type: '', requestId: '' }, { code: ResultCode.API_INVALID_MESSAGE_FORMAT, message: 'The request is not XML' }, ctx));
      return;
    }
    const text = frame.bytes.toString('utf8');
    log.add(text);
    const { header, xml } = await answer(text, ctx);
    const fault = faults.take(header.type);
    if (!fault) return write(xml);
    switch (fault.kind) {
      case 'delay':
        await sleep(fault.delayMs ?? 1000);
        return write(xml);
      case 'silent':
        stuck = true;
        return;
      case 'drop-before-answer':
        socket.destroy();
        return;
      case 'drop': {
        const bytes = Buffer.from(xml);
        const cut = Math.min(fault.bytes ?? Math.floor(bytes.length / 2), bytes.length - 1);
        socket.write(bytes.subarray(0, cut), () => socket.destroy());
        return;
      }
      case 'fragment': {
        const bytes = Buffer.from(xml);
        const size = Math.max(1, fault.bytes ?? 7);
        for (let i = 0; i < bytes.length && !socket.destroyed; i += size) {
          socket.write(bytes.subarray(i, i + size));
          await sleep(fault.delayMs ?? 2);
        }
        return;
      }
      case 'mismatch': {
        const other = header.type === 'TEST' ? 'DEVICELIST' : 'TEST';
        return write(renderResult({ ...header, type: other }, { code: ResultCode.API_OK, message: 'API_OK' }, ctx));
      }
    }
  };

  const pump = async (): Promise<void> => {
    if (busy) return;
    busy = true;
    try {
      while (queue.length > 0 && !stuck && !socket.destroyed) {
        await serve(queue.shift()!);
        if (queue.length < maxQueuedRequests / 2 && socket.isPaused()) socket.resume();
      }
    } finally {
      busy = false;
      if (ended && (queue.length === 0 || stuck)) socket.end();
    }
  };

  socket.on('data', (chunk: Buffer) => {
    if (stuck) return;
    let frames: Frame[];
    try {
      frames = framer.push(chunk);
    } catch (error) {
      if (error instanceof FrameTooLargeError) return rejectAndClose(`The message exceeds ${limits.maxMessageBytes} bytes`);
      // Whatever else goes wrong with one client's bytes ends that connection, never the process.
      socket.destroy();
      return;
    }
    queue.push(...frames);
    if (queue.length >= maxQueuedRequests) socket.pause();
    clearTimeout(incompleteTimer);
    if (framer.pendingBytes > 0) {
      incompleteTimer = setTimeout(() => rejectAndClose('The message was not completed in time'), limits.incompleteMessageTimeoutMs);
      incompleteTimer.unref();
    }
    void pump().catch(() => socket.destroy());
  });
  socket.on('end', () => {
    ended = true;
    clearTimeout(incompleteTimer);
    if (!busy) socket.end();
  });
  socket.on('close', () => {
    clearTimeout(incompleteTimer);
    queue.length = 0;
  });
}
