/**
 * One timer for deadlines that keep moving on: a connection's request timeout, the pool's queue
 * timeout. Setting and clearing a timer for every request costs more than the rest of the pool's
 * bookkeeping; here the timer stays armed while later deadlines come and go, and is moved only to
 * bring it forward. When it fires, its owner looks at what is due now and asks again for the next.
 */
export class DeadlineTimer {
  private timer: NodeJS.Timeout | undefined;
  private due = 0;

  /**
   * `onDue` runs once the earliest deadline asked for has come (and possibly a little early, at
   * the timer's millisecond grain: the owner checks). `unref`: the timer alone keeps no process up.
   */
  constructor(
    private readonly onDue: () => void,
    private readonly unref = false,
  ) {}

  /** Make sure `onDue` runs no later than `deadline` (a performance.now() time). */
  by(deadline: number): void {
    if (this.timer && this.due <= deadline) return;
    clearTimeout(this.timer);
    this.due = deadline;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.onDue();
    }, Math.max(0, deadline - performance.now()));
    if (this.unref) this.timer.unref();
  }

  cancel(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }
}
