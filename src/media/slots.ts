/**
 * A bound on work of one kind that the gateway does at once: transcodes (each an ffmpeg process
 * and a CPU core for as long as it runs) and exports (each a file, a socket and the buffers between
 * them for as long as its client reads). Two bounds: overall, and per owner (a caller's credential,
 * or address), so that one caller cannot take every slot.
 *
 * Past the overall bound a caller may wait a short, bounded while for a slot (`waitMs`, at most
 * `maxWaiting` callers), handed over in order as slots free up: a burst a little over the bound is
 * served a moment later instead of being refused. Past its own share a caller waits for nothing:
 * only its own work ending can free it.
 */
export interface SlotsOptions {
  /** Slots in all. */
  max: number;
  /** Slots one owner may hold (default: all). */
  maxPerOwner?: number;
  /** How long a caller may wait for a slot when all are taken (default 0: refused at once). */
  waitMs?: number;
  /** Callers that may wait at once (default 4 per slot). */
  maxWaiting?: number;
}

/** Why a slot was not given: every slot is taken (and waiting did not help), or the owner holds its share. */
export type SlotRefusal = 'full' | 'owner';

type Release = () => void;

interface Waiter {
  owner: string;
  give: (release: Release | undefined) => void;
}

export class Slots {
  readonly #max: number;
  readonly #maxPerOwner: number;
  readonly #waitMs: number;
  readonly #maxWaiting: number;
  #active = 0;
  readonly #byOwner = new Map<string, number>();
  readonly #waiting: Waiter[] = [];

  constructor(options: SlotsOptions | number, maxPerOwner?: number) {
    const { max, maxPerOwner: perOwner = maxPerOwner ?? (typeof options === 'number' ? options : options.max), waitMs = 0, maxWaiting } =
      typeof options === 'number' ? { max: options } : options;
    for (const [name, value] of [['slots', max], ['slots per owner', perOwner], ['wait', waitMs]] as const) {
      if (!Number.isInteger(value) || value < 0) throw new RangeError(`Slots needs a whole number of ${name}, got ${value}`);
    }
    this.#max = max;
    this.#maxPerOwner = perOwner;
    this.#waitMs = waitMs;
    this.#maxWaiting = maxWaiting ?? 4 * max;
  }

  /**
   * Takes a slot for `owner`, or returns undefined when all are taken, or the owner holds its
   * share. The release function may be called more than once (from both an error and a close
   * handler, say); only the first call counts.
   */
  tryAcquire(owner = ''): Release | undefined {
    if (this.#active >= this.#max || this.#held(owner) >= this.#maxPerOwner) return undefined;
    return this.#take(owner);
  }

  /**
   * A slot for `owner`, waiting up to `waitMs` for one when all are taken; undefined when none
   * came (see `refusal` for why), or when `signal` aborted the wait.
   */
  acquire(owner = '', signal?: AbortSignal): Promise<Release | undefined> {
    const now = this.tryAcquire(owner);
    if (now || this.refusal(owner) === 'owner' || this.#waitMs === 0 || this.#waiting.length >= this.#maxWaiting || signal?.aborted) {
      return Promise.resolve(now);
    }
    return new Promise((resolve) => {
      const waiter: Waiter = {
        owner,
        give: (release) => {
          clearTimeout(timer);
          signal?.removeEventListener('abort', leave);
          resolve(release);
        },
      };
      const leave = (): void => {
        const at = this.#waiting.indexOf(waiter);
        if (at !== -1) this.#waiting.splice(at, 1);
        waiter.give(undefined);
      };
      const timer = setTimeout(leave, this.#waitMs);
      signal?.addEventListener('abort', leave, { once: true });
      this.#waiting.push(waiter);
    });
  }

  /** Why `owner` would be refused a slot now, or undefined when it would get one. */
  refusal(owner = ''): SlotRefusal | undefined {
    // A share as large as the whole is no share: an owner holding every slot finds them all busy.
    if (this.#maxPerOwner < this.#max && this.#held(owner) >= this.#maxPerOwner) return 'owner';
    if (this.#active >= this.#max) return 'full';
    return undefined;
  }

  get active(): number {
    return this.#active;
  }

  get max(): number {
    return this.#max;
  }

  /** Callers waiting for a slot. */
  get waiting(): number {
    return this.#waiting.length;
  }

  #held(owner: string): number {
    return this.#byOwner.get(owner) ?? 0;
  }

  #take(owner: string): Release {
    this.#active++;
    this.#byOwner.set(owner, this.#held(owner) + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.#active--;
      const left = this.#held(owner) - 1;
      if (left === 0) this.#byOwner.delete(owner);
      else this.#byOwner.set(owner, left);
      this.#handOver();
    };
  }

  /** A freed slot goes to the first waiter whose owner may hold one more. */
  #handOver(): void {
    while (this.#active < this.#max) {
      const at = this.#waiting.findIndex((waiter) => this.#held(waiter.owner) < this.#maxPerOwner);
      if (at === -1) return;
      const [waiter] = this.#waiting.splice(at, 1);
      waiter!.give(this.#take(waiter!.owner));
    }
  }
}
