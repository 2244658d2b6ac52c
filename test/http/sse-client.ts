/**
 * A Server-Sent Events client for the tests, over node:http: it parses the stream as the HTML
 * standard says an EventSource does (fields, comments, blank line ends a message) and keeps every
 * message and comment for the test to wait on.
 */
import http from 'node:http';
import type { EventJson } from '../../src/protocol/event-json.js';

export interface SseMessage {
  /** 'message' when the stream named none. */
  event: string;
  id: string | undefined;
  data: string;
}

export interface SseEvent extends SseMessage {
  id: string;
  json: EventJson;
}

export class SseClient {
  readonly messages: SseMessage[] = [];
  readonly comments: string[] = [];
  /** Next message `next()` looks at. */
  private read = 0;
  private buffer = '';
  private pending: Partial<SseMessage> & { dataLines: string[] } = { dataLines: [] };
  private waiters: (() => void)[] = [];
  ended = false;
  bytes = 0;
  /** The reconnection time the stream last set (`retry:`), in ms. */
  retry: number | undefined;

  private constructor(
    private readonly request: http.ClientRequest,
    readonly response: http.IncomingMessage,
  ) {
    response.setEncoding('utf8');
    response.on('data', (text: string) => {
      this.bytes += Buffer.byteLength(text);
      this.parse(text);
      this.wake();
    });
    const finish = (): void => {
      this.ended = true;
      this.wake();
    };
    response.on('end', finish);
    response.on('close', finish);
    response.on('error', finish);
  }

  static open(url: string, headers: Record<string, string> = {}): Promise<SseClient> {
    return new Promise((resolve, reject) => {
      const request = http.get(url, { headers: { accept: 'text/event-stream', ...headers } }, (response) => resolve(new SseClient(request, response)));
      request.on('error', reject);
    });
  }

  get status(): number {
    return this.response.statusCode ?? 0;
  }

  /** Every event (a message with an id) received so far, parsed. */
  get events(): SseEvent[] {
    return this.messages.filter((m): m is SseEvent => m.id !== undefined).map(withJson);
  }

  private parse(text: string): void {
    this.buffer += text;
    for (;;) {
      const nl = this.buffer.indexOf('\n');
      if (nl === -1) return;
      const line = this.buffer.slice(0, nl).replace(/\r$/, '');
      this.buffer = this.buffer.slice(nl + 1);
      if (line === '') {
        if (this.pending.dataLines.length > 0 || this.pending.event !== undefined) {
          this.messages.push({ event: this.pending.event ?? 'message', id: this.pending.id, data: this.pending.dataLines.join('\n') });
        }
        this.pending = { dataLines: [] };
      } else if (line.startsWith(':')) {
        this.comments.push(line.slice(1).trim());
      } else {
        const colon = line.indexOf(':');
        const field = colon === -1 ? line : line.slice(0, colon);
        const value = colon === -1 ? '' : line.slice(colon + 1).replace(/^ /, '');
        if (field === 'data') this.pending.dataLines.push(value);
        else if (field === 'event') this.pending.event = value;
        else if (field === 'id') this.pending.id = value;
        else if (field === 'retry' && /^[0-9]+$/.test(value)) this.retry = Number(value);
      }
    }
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const wake of waiters) wake();
  }

  /** Wait until `ready` holds, or fail after `timeoutMs` or when the stream ends first. */
  async until<T>(ready: () => T | undefined, what: string, timeoutMs = 10_000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const value = ready();
      if (value !== undefined) return value;
      if (this.ended) throw new Error(`the stream ended before ${what}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no ${what} within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** The next message not yet looked at that `matches` (those before it are passed over). */
  async next(matches: (m: SseMessage) => boolean = () => true, timeoutMs?: number): Promise<SseMessage> {
    return this.until(() => {
      while (this.read < this.messages.length) {
        const message = this.messages[this.read++]!;
        if (matches(message)) return message;
      }
      return undefined;
    }, 'matching message', timeoutMs);
  }

  /** The next `count` events (messages with an id), in order. */
  async nextEvents(count: number, timeoutMs?: number): Promise<SseEvent[]> {
    const events: SseEvent[] = [];
    for (let i = 0; i < count; i++) events.push(withJson((await this.next((m) => m.id !== undefined, timeoutMs)) as SseEvent));
    return events;
  }

  /** The next status message's eventPort state. */
  async nextStatus(timeoutMs?: number): Promise<string> {
    const message = await this.next((m) => m.event === 'status', timeoutMs);
    return (JSON.parse(message.data) as { eventPort: string }).eventPort;
  }

  /** Wait for the status to become `state` (statuses before it are passed over). */
  async statusBecomes(state: string, timeoutMs?: number): Promise<void> {
    await this.next((m) => m.event === 'status' && (JSON.parse(m.data) as { eventPort: string }).eventPort === state, timeoutMs);
  }

  async waitEnded(timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!this.ended) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`the stream is still open after ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  close(): void {
    this.request.destroy();
  }
}

function withJson(message: SseMessage): SseEvent {
  return { ...message, json: JSON.parse(message.data) } as SseEvent;
}
