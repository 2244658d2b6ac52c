/**
 * A webhook receiver as an integrator runs one: a real HTTP server on 127.0.0.1 that records every
 * request it gets and answers as the test says (a status and headers, or holding the request open),
 * and checks signatures with the `standardwebhooks` package, not with the gateway's own code.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';

export interface Received {
  headers: Record<string, string>;
  body: string;
  /** performance.now() when it arrived. */
  at: number;
  path: string;
}

export interface Answer {
  status: number;
  headers?: Record<string, string>;
}

/** How to answer the nth request (from 0): an answer, or 'hold' to keep it open until the receiver closes. */
export type Responder = (request: Received, n: number) => Answer | 'hold';

export class WebhookReceiver {
  readonly received: Received[] = [];
  private readonly server: http.Server;
  private waiters: (() => void)[] = [];
  private readonly held = new Set<http.ServerResponse>();
  responder: Responder = () => ({ status: 204 });

  private constructor() {
    this.server = http.createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        const headers: Record<string, string> = {};
        for (const [name, value] of Object.entries(request.headers)) if (typeof value === 'string') headers[name] = value;
        const received = { headers, body: Buffer.concat(chunks).toString('utf8'), at: performance.now(), path: request.url ?? '' };
        const answer = this.responder(received, this.received.length);
        this.received.push(received);
        for (const wake of this.waiters.splice(0)) wake();
        if (answer === 'hold') {
          this.held.add(response);
          return;
        }
        response.writeHead(answer.status, answer.headers ?? {}).end();
      });
    });
  }

  static async start(): Promise<WebhookReceiver> {
    const receiver = new WebhookReceiver();
    await new Promise<void>((resolve) => receiver.server.listen(0, '127.0.0.1', resolve));
    return receiver;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/hooks`;
  }

  /** Waits until `count` requests have come (or fails after `timeoutMs`). */
  async waitFor(count: number, timeoutMs = 10_000): Promise<Received[]> {
    const deadline = performance.now() + timeoutMs;
    while (this.received.length < count) {
      const left = deadline - performance.now();
      if (left <= 0) throw new Error(`the receiver got ${this.received.length} requests, not ${count}, within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    return this.received.slice(0, count);
  }

  /** The payload of a delivery, verified with `secret` by the standardwebhooks package (throws when not valid). */
  static verify(secret: string, received: Received): unknown {
    return new Webhook(secret).verify(received.body, received.headers);
  }

  async close(): Promise<void> {
    for (const response of this.held) response.destroy();
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server.close(resolve));
  }
}
