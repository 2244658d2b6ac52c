/**
 * The room of state shared by replicas (ARCHITECTURE.md: cluster/). With REDIS_URL, replicas share
 * it through Redis; without, each keeps its own in the process (the embedded default: `npm start`
 * needs no Redis). This file is the connection every shared piece uses.
 *
 * The client is ioredis: @fastify/rate-limit's Redis store is written for it (defineCommand, its
 * callback API), and it covers what the rest needs (Streams, scripts, Sentinel and Cluster) with
 * one client rather than two.
 *
 * Redis is never on the path of a call to the core or of an export: when it is unreachable the
 * gateway goes on serving them, /readyz says so, and what needs Redis degrades (rate limits are not
 * counted) until it is back. So commands fail fast rather than queue: no offline queue, one try,
 * and a short timeout.
 */
import { Redis } from 'ioredis';

export interface SharedStateOptions {
  url: string;
  /** Prefix of every key, so that several gateways (or tests) can share one Redis. */
  prefix: string;
  /** A command not answered in this long fails (default 500 ms). */
  commandTimeoutMs?: number;
  /** Told once per change, with the reason of a loss (never the URL, which may hold a password). */
  onState?: (state: 'up' | 'down', reason?: string) => void;
}

export class SharedState {
  readonly redis: Redis;
  readonly prefix: string;
  #state: 'connecting' | 'up' | 'down' = 'connecting';

  constructor(private readonly options: SharedStateOptions) {
    this.prefix = options.prefix;
    this.redis = new Redis(options.url, {
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      commandTimeout: options.commandTimeoutMs ?? 500,
      connectTimeout: 2000,
      // Reconnect soon, and keep trying: a Redis back from a restart is used again within a second or two.
      retryStrategy: (attempt) => Math.min(100 * attempt, 2000),
    });
    this.redis.on('ready', () => this.#become('up'));
    this.redis.on('error', (error: Error) => this.#become('down', error.message));
    this.redis.on('end', () => this.#become('down', 'the connection ended'));
  }

  #become(state: 'up' | 'down', reason?: string): void {
    if (this.#state === state) return;
    this.#state = state;
    this.options.onState?.(state, reason);
  }

  /** Whether Redis answers now (as far as the connection knows). */
  get up(): boolean {
    return this.#state === 'up' && this.redis.status === 'ready';
  }

  async close(): Promise<void> {
    this.options.onState = undefined;
    await this.redis.quit().catch(() => this.redis.disconnect());
  }
}
