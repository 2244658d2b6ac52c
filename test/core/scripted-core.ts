/**
 * A scriptable stand-in for the XML core, for the tests that must see what a client really does on
 * the wire: it records every request it receives, counts connections and the requests in flight on
 * each, and answers each request as the test's script says (by default, an API_OK RESULT).
 */
import net from 'node:net';
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { MessageFramer } from '../../src/protocol/framing.js';
import { buildResult, childText, parseXml } from '../../src/protocol/xml.js';

export interface Received {
  type: string;
  requestId: string;
  text: string;
  /** Which connection carried it (1, 2, ... in order of acceptance). */
  connection: number;
}

export type Reply =
  /** Write these bytes (after `delayMs`). */
  | { bytes: string | Buffer; delayMs?: number }
  /** Write these pieces one by one, `gapMs` apart. */
  | { chunks: (string | Buffer)[]; gapMs?: number }
  /** Close the connection without answering. */
  | 'drop'
  /** Never answer. */
  | 'silent';

/** undefined: the default answer. */
export type Script = (request: Received) => Reply | undefined | Promise<Reply | undefined>;

export function okResult(type: string, requestId: string | number, message = 'API_OK'): string {
  return buildResult({ requestType: type, requestId, resultType: 'API_OK', resultCode: 20, resultMessage: message });
}

export class ScriptedCore {
  readonly received: Received[] = [];
  readonly sockets = new Set<net.Socket>();
  open = 0;
  maxOpen = 0;
  accepted = 0;
  /** The most requests one connection had received and not yet answered. */
  maxInFlightOnOneConnection = 0;
  /** What arrived on a connection while a request of it was still unanswered. */
  pipelined = 0;

  private constructor(
    private readonly server: net.Server,
    public script: Script,
  ) {}

  static async start(script: Script = () => undefined, port = 0): Promise<ScriptedCore> {
    const server = net.createServer({ noDelay: true });
    const core = new ScriptedCore(server, script);
    server.on('connection', (socket) => core.serve(socket));
    server.listen(port, '127.0.0.1');
    await once(server, 'listening');
    return core;
  }

  get port(): number {
    const address = this.server.address();
    if (!address || typeof address === 'string') throw new Error('not listening');
    return address.port;
  }

  count(type: string): number {
    return this.received.filter((r) => r.type === type).length;
  }

  /** Close every connection from the core's side. */
  dropAll(): void {
    for (const socket of this.sockets) socket.destroy();
  }

  async close(): Promise<void> {
    this.dropAll();
    if (!this.server.listening) return;
    this.server.close();
    await once(this.server, 'close');
  }

  private serve(socket: net.Socket): void {
    const connection = ++this.accepted;
    this.sockets.add(socket);
    this.open++;
    this.maxOpen = Math.max(this.maxOpen, this.open);
    const framer = new MessageFramer(64 * 1024 * 1024);
    let inFlight = 0;
    let chain = Promise.resolve();
    let silent = false;
    socket.on('error', () => socket.destroy());
    socket.on('close', () => {
      this.sockets.delete(socket);
      this.open--;
    });
    socket.on('data', (chunk: Buffer) => {
      for (const frame of framer.push(chunk)) {
        const text = frame.bytes.toString('utf8');
        const root = parseXml(text);
        const received: Received = {
          type: (childText(root, 'TYPE') ?? '').trim(),
          requestId: (childText(root, 'REQUESTID') ?? '').trim(),
          text,
          connection,
        };
        this.received.push(received);
        if (inFlight > 0) this.pipelined++;
        inFlight++;
        this.maxInFlightOnOneConnection = Math.max(this.maxInFlightOnOneConnection, inFlight);
        // A blocking server: requests of one connection are answered one after the other.
        chain = chain.then(async () => {
          if (silent || socket.destroyed) return;
          const reply = (await this.script(received)) ?? { bytes: okResult(received.type, received.requestId) };
          if (reply === 'silent') {
            silent = true;
            return;
          }
          if (reply === 'drop') {
            inFlight--;
            socket.destroy();
            return;
          }
          if ('chunks' in reply) {
            for (const [i, piece] of reply.chunks.entries()) {
              if (i === reply.chunks.length - 1) inFlight--;
              if (socket.destroyed) return;
              socket.write(piece);
              if (i < reply.chunks.length - 1) await sleep(reply.gapMs ?? 5);
            }
            return;
          }
          if (reply.delayMs) await sleep(reply.delayMs);
          inFlight--;
          if (!socket.destroyed) socket.write(reply.bytes);
        });
      }
    });
  }
}
