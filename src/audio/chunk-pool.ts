/**
 * Buffers for the chunks of exports, used again once the response has written them.
 *
 * Every byte of an export passes through a chunk that was read or decoded into a buffer. Allocated
 * afresh, those buffers are garbage as soon as the socket has them, but V8 collects such
 * off-heap memory only once some 32 MB of it has piled up: a MULTIEXPORT of 200 recordings
 * (170 MB) kept that much dead audio in the process at all times. Given back after the write, a
 * few buffers carry the whole export.
 *
 * A buffer comes back only through `giveBack` with a chunk covering exactly the bytes `lend` handed
 * on: a stream that copies, splits or concatenates chunks on the way passes other views, which are
 * never given back and are left to the garbage collector. So a buffer is reused only when the one
 * consumer that wrote it out says so, never while a part of it may still be read. A reused buffer
 * is lent again only with the bytes just read or decoded into it.
 */

/**
 * What each lent buffer's chunk covers, by the buffer's memory. Keyed by the ArrayBuffer and
 * holding no buffer, so that a chunk nobody gives back is collected as if it had never been lent
 * (a WeakMap from the chunk to its buffer kept such chunks alive measurably longer).
 */
const lent = new WeakMap<ArrayBufferLike, { pool: ChunkPool; start: number; end: number }>();

export class ChunkPool {
  /** Buffers given back, by size. */
  private readonly free = new Map<number, Buffer[]>();

  /**
   * `maxFree`: buffers of one size kept for reuse; more given back are left to the GC. An export
   * has two or three chunks in flight, so the default serves several at once and keeps at most
   * 12 MiB (16 of 256 KiB and 16 of 512 KiB) after a burst.
   */
  constructor(private readonly maxFree = 16) {}

  /**
   * A buffer of `bytes` to fill: one given back, or a new one. Its contents are undefined. It has
   * its memory to itself (allocUnsafeSlow never shares), which `giveBack` relies on.
   */
  take(bytes: number): Buffer {
    return this.free.get(bytes)?.pop() ?? Buffer.allocUnsafeSlow(bytes);
  }

  /**
   * Bytes `start` to `end` (exclusive) of `buffer`, a buffer from `take`, as a chunk to hand on.
   * The caller must not touch `buffer` afterwards: once `giveBack(chunk)` is called, `take` may
   * return it.
   */
  lend(buffer: Buffer, start: number, end: number): Buffer {
    const chunk = buffer.subarray(start, end);
    lent.set(buffer.buffer, { pool: this, start: chunk.byteOffset, end: chunk.byteOffset + chunk.length });
    return chunk;
  }

  /** A buffer from `take` that was not lent after all. */
  putBack(buffer: Buffer): void {
    let buffers = this.free.get(buffer.length);
    if (!buffers) this.free.set(buffer.length, (buffers = []));
    if (buffers.length < this.maxFree) buffers.push(buffer);
  }
}

/**
 * `chunk` has been written out and nothing reads it any more: if a pool lent it, its buffer goes
 * back to that pool. Any other chunk is left alone, so the consumer can call this for every chunk.
 */
/** The pool of the exports' chunks, which the HTTP response gives back. */
export const mediaChunks = new ChunkPool();

export function giveBack(chunk: Uint8Array): void {
  const memory = chunk.buffer;
  const loan = lent.get(memory);
  if (!loan || loan.start !== chunk.byteOffset || loan.end !== chunk.byteOffset + chunk.byteLength) return;
  lent.delete(memory);
  loan.pool.putBack(Buffer.from(memory));
}
