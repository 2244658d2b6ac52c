/** Waiters resolved together when work may have come, or each after its own time: how idle loops sleep without polling hard. */
export class WakeUp {
  private waiters: (() => void)[] = [];

  wait(timeoutMs: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, Math.max(0, timeoutMs));
      function done(): void {
        clearTimeout(timer);
        resolve();
      }
      this.waiters.push(done);
    });
  }

  wake(): void {
    for (const done of this.waiters.splice(0)) done();
  }
}
