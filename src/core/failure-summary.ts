/**
 * Failed core requests, as an operator should read them: the first of a kind in an interval is
 * logged at once, the rest of that interval counted and logged as one line when it ends. While the
 * core is down every request fails the same way; one line per request (with a stack trace) is how a
 * ten-second outage once wrote 66,000 lines and hid the one that said the core was down. The
 * request's own completion line still says how it failed (at info, with its request id).
 */
import type { CoreFailureEvent } from './pool.js';

export interface FailureLogger {
  warn(fields: Record<string, unknown>, message: string): void;
}

interface KindCount {
  count: number;
  /** The first failure of the interval (logged), for the summary's context. */
  type: string;
}

export class CoreFailureSummary {
  private readonly counts = new Map<string, KindCount>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly log: FailureLogger,
    private readonly intervalMs = 10_000,
  ) {
    if (!(intervalMs > 0)) throw new RangeError('CoreFailureSummary intervalMs must be positive');
  }

  note(failure: CoreFailureEvent): void {
    // A caller that went away is not a failure of the core.
    if (failure.kind === 'aborted') return;
    const seen = this.counts.get(failure.kind);
    if (seen) {
      seen.count++;
      return;
    }
    this.counts.set(failure.kind, { count: 1, type: failure.type });
    this.log.warn({ kind: failure.kind, type: failure.type, mayHaveReachedCore: failure.mayHaveReachedCore }, 'a core request failed; others like it are counted');
    this.timer ??= setTimeout(() => this.flush(), this.intervalMs).unref();
  }

  /** Logs what the interval counted past its first failures, and starts a new interval. */
  flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    for (const [kind, { count }] of this.counts) {
      if (count > 1) this.log.warn({ kind, failed: count, seconds: this.intervalMs / 1000 }, 'core requests failed');
    }
    this.counts.clear();
  }
}
