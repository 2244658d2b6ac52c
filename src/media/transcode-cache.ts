/**
 * Single-recording exports kept on disk, so that a recording played again is a file sent, not a
 * transcode run again. Files are named by a key the caller derives from everything that decides
 * their bytes (the source file's identity, the format, the encoder's settings and version): a
 * changed source or setting is a new name, and the old file ages out.
 *
 * - Bounded by `maxBytes`, least recently used evicted first; 0 keeps nothing, yet every export is
 *   still written as a complete file first (the headers a player needs are written last) and
 *   removed once its readers have it open.
 * - Written under a temporary name, synced, then renamed: a crash leaves at most a temporary file,
 *   which is never served and is removed at the next start.
 * - The index is the directory: it is read again at start, most recently used (mtime) last.
 * - One encode per key at a time: concurrent requests wait for the same file (single flight). The
 *   encode is abandoned (ffmpeg killed) when every request waiting for it has gone away.
 *
 * One gateway process owns a directory: two sharing one would remove each other's temporary files.
 * This room knows no HTTP; the export handler decides what a request gets.
 */
import { randomBytes } from 'node:crypto';
import { closeSync, openSync } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';

/** What the cache reports, for metrics. */
export interface TranscodeCacheObserver {
  hit(): void;
  miss(): void;
  /** A file was removed to stay under the bound. */
  evicted(bytes: number): void;
  /** An encode finished and its file is complete. */
  filled(seconds: number): void;
}

export interface TranscodeCacheOptions {
  directory: string;
  /** Bytes of files kept at most; 0: none kept. */
  maxBytes: number;
  observer?: Partial<TranscodeCacheObserver>;
}

/** How to make a file the cache does not have. */
export interface TranscodeFill {
  /** Writes the complete file at `file` (a path that does not exist yet); rejects on failure. */
  write(file: string, signal: AbortSignal): Promise<void>;
  /**
   * Takes what the encode may run under (a transcode slot), or undefined when none is free; it may
   * wait a while for one, until `signal` (every caller gone) aborts.
   */
  takeSlot(signal: AbortSignal): (() => void) | undefined | Promise<(() => void) | undefined>;
}

/** A complete file, opened for one reader, who closes `fd`. */
export interface CachedMedia {
  fd: number;
  size: number;
  /** Whether it was there already (no encode waited for). */
  hit: boolean;
}

/** No encode could start: its slot was refused. */
export class TranscodeSlotRefused extends Error {
  override name = 'TranscodeSlotRefused';
}

/** Keys are SHA-256 hex digests; the extension is the format's. */
const entryName = /^[0-9a-f]{64}\.[a-z0-9]{1,8}$/;
/** Files being written; hidden, and removed at start. */
const partialPrefix = '.partial-';
/** A hit moves a file's mtime forward at most this often: the LRU order survives a restart. */
const touchIntervalMs = 60_000;

interface Entry {
  size: number;
  touchedAt: number;
}

interface Waiter {
  resolve(media: CachedMedia): void;
  reject(error: Error): void;
  signal: AbortSignal;
  onAbort(): void;
}

interface Flight {
  waiters: Set<Waiter>;
  abort: AbortController;
}

export class TranscodeCache {
  readonly directory: string;
  readonly maxBytes: number;
  readonly #observer: Partial<TranscodeCacheObserver>;
  /** Least recently used first (a Map keeps insertion order; a hit re-inserts). */
  readonly #entries = new Map<string, Entry>();
  readonly #flights = new Map<string, Flight>();
  #bytes = 0;

  private constructor(options: TranscodeCacheOptions) {
    if (!Number.isSafeInteger(options.maxBytes) || options.maxBytes < 0) throw new RangeError(`TranscodeCache needs a whole number of bytes, got ${options.maxBytes}`);
    if (!options.directory) throw new RangeError('TranscodeCache needs a directory');
    this.directory = path.resolve(options.directory);
    this.maxBytes = options.maxBytes;
    this.#observer = options.observer ?? {};
  }

  /** Opens (creating it) the cache in `directory`: temporary files removed, the index read, the bound applied. */
  static async open(options: TranscodeCacheOptions): Promise<TranscodeCache> {
    const cache = new TranscodeCache(options);
    await fs.mkdir(cache.directory, { recursive: true });
    const found: { name: string; size: number; usedAt: number }[] = [];
    for (const name of await fs.readdir(cache.directory)) {
      const file = path.join(cache.directory, name);
      if (name.startsWith(partialPrefix)) {
        await fs.rm(file, { force: true });
        continue;
      }
      if (!entryName.test(name)) continue;
      const stat = await fs.stat(file).catch(() => undefined);
      if (stat?.isFile()) found.push({ name, size: stat.size, usedAt: stat.mtimeMs });
    }
    found.sort((a, b) => a.usedAt - b.usedAt);
    for (const { name, size, usedAt } of found) {
      cache.#entries.set(name, { size, touchedAt: usedAt });
      cache.#bytes += size;
    }
    await cache.#evict(undefined);
    return cache;
  }

  /** Bytes of the files kept. */
  get bytes(): number {
    return this.#bytes;
  }

  /** Files kept. */
  get size(): number {
    return this.#entries.size;
  }

  /** Encodes running now. */
  get filling(): number {
    return this.#flights.size;
  }

  /**
   * The file of `key` in `extension`, opened: the kept one, or one `fill` makes (joining an encode
   * of the same file already running). Rejects with TranscodeSlotRefused when an encode was needed
   * and `fill.takeSlot` refused, with `signal`'s reason when the caller went away, or with the
   * encode's error.
   */
  async get(key: string, extension: string, fill: TranscodeFill, signal: AbortSignal): Promise<CachedMedia> {
    const name = `${key}.${extension}`;
    if (!entryName.test(name)) throw new RangeError(`not a cache key and extension: ${name}`);
    signal.throwIfAborted();
    const entry = this.#entries.get(name);
    if (entry) {
      const file = path.join(this.directory, name);
      try {
        // Opened at once rather than through the thread pool: the directory is the gateway's own,
        // on a local disk, and a hit's time to first byte is mostly such hops (measured: an open
        // and close through the pool cost about ten times the CPU of these calls on a busy core).
        // Its size is the index's: files here are only ever written whole and renamed in.
        const fd = openSync(file, 'r');
        this.#use(name, file);
        this.#observer.hit?.();
        return { fd, size: entry.size, hit: true };
      } catch (error) {
        // Removed behind our back (by hand, or a full disk's cleanup): made again below.
        if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
        this.#forget(name);
      }
    }
    this.#observer.miss?.();
    const flight = this.#flights.get(name) ?? this.#start(name, fill);
    return new Promise<CachedMedia>((resolve, reject) => {
      const waiter: Waiter = {
        resolve,
        reject,
        signal,
        onAbort: () => {
          flight.waiters.delete(waiter);
          reject(signal.reason instanceof Error ? signal.reason : new Error('The export was abandoned'));
          // Nobody left to read it: the encode stops, its slot is freed.
          if (flight.waiters.size === 0 && this.#flights.get(name) === flight) {
            this.#flights.delete(name);
            flight.abort.abort(new Error('Every caller waiting for this export went away'));
          }
        },
      };
      flight.waiters.add(waiter);
      signal.addEventListener('abort', waiter.onAbort, { once: true });
    });
  }

  #start(name: string, fill: TranscodeFill): Flight {
    const flight: Flight = { waiters: new Set(), abort: new AbortController() };
    this.#flights.set(name, flight);
    const partial = path.join(this.directory, `${partialPrefix}${randomBytes(6).toString('hex')}-${name}`);
    const final = path.join(this.directory, name);
    const started = performance.now();
    void (async () => {
      // Callers who join while the slot is awaited share this flight: one encode, whatever the wait.
      const release = await fill.takeSlot(flight.abort.signal);
      try {
        if (!release) throw new TranscodeSlotRefused('No transcode slot is free');
        await fill.write(partial, flight.abort.signal);
        flight.abort.signal.throwIfAborted();
        // On disk before it has its name, so that no crash leaves a named file that is not whole.
        const written = await fs.open(partial, 'r');
        let size: number;
        try {
          await written.sync();
          size = (await written.stat()).size;
        } finally {
          await written.close();
        }
        await fs.rename(partial, final);
        await this.#syncDirectory();
        this.#observer.filled?.((performance.now() - started) / 1000);
        const kept = this.maxBytes > 0 && size <= this.maxBytes;
        if (kept) {
          // Indexed before the flight ends, so a request arriving now finds it rather than encoding again.
          this.#entries.set(name, { size, touchedAt: Date.now() });
          this.#bytes += size;
        }
        if (this.#flights.get(name) === flight) this.#flights.delete(name);
        const opened = await Promise.all(
          [...flight.waiters].map(async (waiter) => {
            flight.waiters.delete(waiter);
            waiter.signal.removeEventListener('abort', waiter.onAbort);
            try {
              return { waiter, fd: openSync(final, 'r') };
            } catch (error) {
              return { waiter, error: error as Error };
            }
          }),
        );
        // Unlinked once its readers have it open: they read on, nobody else finds it. Done before
        // they are answered, so that what they see on disk is the cache as it now stands.
        if (kept) await this.#evict(name);
        else await fs.rm(final, { force: true });
        for (const { waiter, fd, error } of opened) {
          if (fd === undefined) waiter.reject(error!);
          else if (waiter.signal.aborted) {
            waiter.reject(new Error('The caller went away'));
            closeSync(fd);
          } else waiter.resolve({ fd, size, hit: false });
        }
      } catch (error) {
        if (this.#flights.get(name) === flight) this.#flights.delete(name);
        await fs.rm(partial, { force: true }).catch(() => undefined);
        for (const waiter of flight.waiters) {
          waiter.signal.removeEventListener('abort', waiter.onAbort);
          waiter.reject(error as Error);
        }
        flight.waiters.clear();
      } finally {
        release?.();
      }
    })();
    return flight;
  }

  /** Moves `name` to the most recently used end; its mtime too, now and then, for the next start. */
  #use(name: string, file: string): void {
    const entry = this.#entries.get(name);
    if (!entry) return;
    this.#entries.delete(name);
    this.#entries.set(name, entry);
    const now = Date.now();
    if (now - entry.touchedAt >= touchIntervalMs) {
      entry.touchedAt = now;
      const at = new Date(now);
      fs.utimes(file, at, at).catch(() => undefined);
    }
  }

  #forget(name: string): void {
    const entry = this.#entries.get(name);
    if (!entry) return;
    this.#entries.delete(name);
    this.#bytes -= entry.size;
  }

  /** Removes the least recently used files until the kept bytes fit the bound, sparing `newest`. */
  async #evict(newest: string | undefined): Promise<void> {
    const removals: Promise<void>[] = [];
    for (const [name, entry] of this.#entries) {
      if (this.#bytes <= this.maxBytes) break;
      if (name === newest) continue;
      this.#forget(name);
      this.#observer.evicted?.(entry.size);
      // A reader that has it open reads on: an unlinked file lives until it is closed.
      removals.push(fs.rm(path.join(this.directory, name), { force: true }).catch(() => undefined));
    }
    await Promise.all(removals);
  }

  /** A rename is durable once the directory is synced. */
  async #syncDirectory(): Promise<void> {
    const directory = await fs.open(this.directory, 'r');
    try {
      await directory.sync();
    } finally {
      await directory.close();
    }
  }
}
