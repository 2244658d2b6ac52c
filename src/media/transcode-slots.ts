/**
 * A bound on how many ffmpeg processes the gateway runs at once. Each transcode costs a process
 * and a CPU core for as long as the client keeps reading, so past the bound the HTTP layer answers
 * 503 at once rather than queueing: a queued export would hold its client's connection open while
 * waiting, and clients of this API retry on 503 anyway.
 */
export class TranscodeSlots {
  readonly #max: number;
  #active = 0;

  constructor(max: number) {
    if (!Number.isInteger(max) || max < 0) throw new RangeError(`TranscodeSlots needs a whole number of slots, got ${max}`);
    this.#max = max;
  }

  /**
   * Takes a slot, or returns undefined when all are taken. The release function may be called
   * more than once (from both an error and a close handler, say); only the first call counts.
   */
  tryAcquire(): (() => void) | undefined {
    if (this.#active >= this.#max) return undefined;
    this.#active++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.#active--;
    };
  }

  get active(): number {
    return this.#active;
  }

  get max(): number {
    return this.#max;
  }
}
