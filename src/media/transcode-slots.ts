/**
 * A bound on how many ffmpeg processes the gateway runs at once. Each transcode costs a process
 * and a CPU core for as long as the client keeps reading, so past the bound the HTTP layer answers
 * 503 at once rather than queueing: a queued export would hold its client's connection open while
 * waiting, and clients of this API retry on 503 anyway.
 */
export class TranscodeSlots {
  readonly #max: number;
  readonly #maxPerOwner: number;
  #active = 0;
  /** Slots held by each owner (a caller's credential): one caller cannot take them all. */
  readonly #byOwner = new Map<string, number>();

  constructor(max: number, maxPerOwner = max) {
    if (!Number.isInteger(max) || max < 0) throw new RangeError(`TranscodeSlots needs a whole number of slots, got ${max}`);
    if (!Number.isInteger(maxPerOwner) || maxPerOwner < 0) throw new RangeError(`TranscodeSlots needs a whole number of slots per owner, got ${maxPerOwner}`);
    this.#max = max;
    this.#maxPerOwner = maxPerOwner;
  }

  /**
   * Takes a slot for `owner`, or returns undefined when all are taken, or the owner holds its
   * share. The release function may be called more than once (from both an error and a close
   * handler, say); only the first call counts.
   */
  tryAcquire(owner = ''): (() => void) | undefined {
    const held = this.#byOwner.get(owner) ?? 0;
    if (this.#active >= this.#max || held >= this.#maxPerOwner) return undefined;
    this.#active++;
    this.#byOwner.set(owner, held + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.#active--;
      const left = this.#byOwner.get(owner)! - 1;
      if (left === 0) this.#byOwner.delete(owner);
      else this.#byOwner.set(owner, left);
    };
  }

  get active(): number {
    return this.#active;
  }

  get max(): number {
    return this.#max;
  }
}
