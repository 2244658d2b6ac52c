/**
 * archiver checksums every byte a ZIP stores through the `crc-32` package, a CRC-32 written in
 * JavaScript: about 600 MB/s on these machines, the largest single cost of a MULTIEXPORT. Node's
 * zlib computes the same CRC natively, four times as fast. The package is one module shared by
 * every copy of archiver's streams (CRC32Stream, the stored-buffer path, the encrypted CAV), so
 * pointing its `buf` at zlib once speeds up all of them. Same polynomial and the same chaining:
 * the checksums are identical (the tests compare them, and `unzip -t` checks every archive).
 */
import crc32 from 'crc-32';
import { crc32 as zlibCrc32 } from 'node:zlib';

/**
 * `crc-32`'s `buf`: signed result, and `seed` is the CRC so far. CRC32Stream passes a Buffer as
 * its first seed, which the package reads as 0.
 */
function nativeBuf(data: number[] | Uint8Array, seed?: number): number {
  const bytes = data instanceof Uint8Array ? data : Uint8Array.from(data);
  return zlibCrc32(bytes, typeof seed === 'number' ? seed >>> 0 : 0) | 0;
}

crc32.buf = nativeBuf;

export { nativeBuf as crc32Native };
