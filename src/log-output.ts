/**
 * Where the gateway's log lines go: a stream (stdout), written in batches. A request writes one line;
 * handing each to the stream, or to pino's own destination, costs several times what formatting it
 * does. Lines gather in memory and go out in one write `flushMs` after the first of them, or at once
 * past `batchBytes`. A timer rather than setImmediate: an immediate pending at every turn keeps the
 * event loop from waiting in poll, so under load it turns far more often, each turn with less I/O.
 * If the stream cannot keep up (a terminal, a stalled pipe), lines past `maxPendingBytes` are dropped
 * and counted rather than held without bound; the count is reported with the next write.
 */
import type { Writable } from 'node:stream';

export interface LogOutputOptions {
  /** Write at once when this much is gathered (default 64 KB). */
  batchBytes?: number;
  /** Drop lines while the stream holds this much unwritten (default 8 MB). */
  maxPendingBytes?: number;
  /** Write what is gathered at most this long after its first line (default 20 ms). */
  flushMs?: number;
}

export class LogOutput {
  private pending: string[] = [];
  private pendingBytes = 0;
  /** At most one: a batch written early (past batchBytes) leaves it to write what follows. */
  private timer: NodeJS.Timeout | undefined;
  private dropped = 0;
  private readonly batchBytes: number;
  private readonly maxPendingBytes: number;
  private readonly flushMs: number;

  constructor(
    private readonly stream: Writable,
    options: LogOutputOptions = {},
  ) {
    this.batchBytes = options.batchBytes ?? 64 * 1024;
    this.maxPendingBytes = options.maxPendingBytes ?? 8 * 1024 * 1024;
    this.flushMs = options.flushMs ?? 20;
  }

  /** pino's destination interface: one serialised line, newline included. */
  write(line: string): boolean {
    if (this.stream.writableLength + this.pendingBytes + line.length > this.maxPendingBytes) {
      this.dropped++;
      return false;
    }
    this.pending.push(line);
    this.pendingBytes += line.length;
    if (this.pendingBytes >= this.batchBytes) this.flush();
    else
      this.timer ??= setTimeout(() => {
        this.timer = undefined;
        this.flush();
      }, this.flushMs);
    return true;
  }

  /** Write what is gathered now (at shutdown, and what pino calls flushSync). */
  flush(): void {
    if (this.dropped > 0) {
      const time = Date.now();
      this.pending.push(`{"level":40,"time":${time},"msg":"${this.dropped} log lines dropped: the log output is not keeping up"}\n`);
      this.dropped = 0;
    }
    if (this.pending.length === 0) return;
    const chunk = this.pending.length === 1 ? this.pending[0]! : this.pending.join('');
    this.pending = [];
    this.pendingBytes = 0;
    this.stream.write(chunk);
  }

  flushSync(): void {
    this.flush();
  }
}
