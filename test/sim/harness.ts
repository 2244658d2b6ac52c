/**
 * Test harness for the simulator: start it on free loopback ports and talk to it over real TCP,
 * framing answers the way any client must (by the closing tag of the root element).
 */
import net from 'node:net';
import { once } from 'node:events';
import { MessageFramer } from '../../src/protocol/framing.js';
import { buildRequest, child, childText, elementsAt, parseXml, type XmlElement } from '../../src/protocol/xml.js';
import { startSimulator, type RunningSimulator, type SimulatorConfig } from '../../src/sim/simulator.js';

export async function startTestSimulator(config: SimulatorConfig = {}): Promise<RunningSimulator> {
  return startSimulator({ port: 0, eventPort: 0, ...config });
}

export interface Answer {
  xml: string;
  root: XmlElement;
  code: number;
  type: string;
  message: string;
  requestType: string;
  requestId: string;
}

export function toAnswer(xml: string): Answer {
  const root = parseXml(xml);
  return {
    xml,
    root,
    code: Number(childText(root, 'RESULTCODE')),
    type: childText(root, 'RESULTTYPE') ?? '',
    message: childText(root, 'RESULTMSG') ?? '',
    requestType: childText(root, 'REQUESTTYPE') ?? '',
    requestId: childText(root, 'REQUESTID') ?? '',
  };
}

/** One persistent connection to a core: send raw bytes or a request, read framed messages. */
export class CoreClient {
  private readonly framer = new MessageFramer(64 * 1024 * 1024);
  private readonly messages: string[] = [];
  private waiters: (() => void)[] = [];
  closed = false;

  private constructor(readonly socket: net.Socket) {
    socket.on('data', (chunk: Buffer) => {
      for (const frame of this.framer.push(chunk)) this.messages.push(frame.bytes.toString('utf8'));
      this.wake();
    });
    socket.on('close', () => {
      this.closed = true;
      this.wake();
    });
    socket.on('error', () => undefined);
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }

  static async connect(port: number, host = '127.0.0.1'): Promise<CoreClient> {
    const socket = net.connect(port, host);
    await once(socket, 'connect');
    return new CoreClient(socket);
  }

  write(data: string | Buffer): void {
    this.socket.write(data);
  }

  /** The next framed message, or an error after `timeoutMs` or when the connection closes first. */
  async next(timeoutMs = 5000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    while (this.messages.length === 0) {
      if (this.closed) throw new Error('connection closed before a message arrived');
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no message within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    return this.messages.shift()!;
  }

  /** Send raw XML and parse the answer. */
  async raw(xml: string, timeoutMs?: number): Promise<Answer> {
    this.write(xml.endsWith('\r\n') ? xml : `${xml}\r\n`);
    return toAnswer(await this.next(timeoutMs));
  }

  async request(type: string, params: Record<string, string | number> = {}, requestId: string | number = 1): Promise<Answer> {
    return this.raw(buildRequest(type, requestId, Object.entries(params).map(([k, v]) => [k, String(v)] as const)));
  }

  async waitClosed(timeoutMs = 5000): Promise<void> {
    if (this.closed) return;
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        once(this.socket, 'close'),
        new Promise((_, reject) => (timer = setTimeout(() => reject(new Error('connection still open')), timeoutMs))),
      ]);
    } finally {
      clearTimeout(timer);
    }
  }

  close(): void {
    this.socket.destroy();
  }
}

/** Elements of a path below a root (`DEVICES/DEVICE`). */
export const all = elementsAt;

export function field(el: XmlElement | undefined, name: string): string | undefined {
  return el ? child(el, name)?.text : undefined;
}
