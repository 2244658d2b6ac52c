/**
 * The CRC-32 archiver computes through the shared `crc-32` module is zlib's: the same checksums as
 * the package's own, and the module archiver's streams actually call.
 */
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { test } from 'node:test';
import crc32 from 'crc-32';
import { crc32Native } from '../../src/media/native-crc32.js';
import { multiExportZip } from '../../src/media/zip-export.js';

test('the module computes the standard CRC-32, chained the way the package chains it', () => {
  assert.equal(crc32.buf, crc32Native, 'crc-32 points at zlib');
  assert.equal(crc32.buf(Buffer.from('123456789')) >>> 0, 0xcbf43926, 'the check value of CRC-32/ISO-HDLC');
  assert.equal(crc32.buf(Buffer.alloc(0)), 0);
  const bytes = crypto.randomBytes(100_003);
  const whole = crc32.buf(bytes);
  assert.equal(crc32.buf(bytes.subarray(40_000), crc32.buf(bytes.subarray(0, 40_000))), whole, 'a CRC continues from its seed');
  assert.equal(crc32.buf(bytes, crc32.buf(bytes.subarray(0, 0))), whole);
  assert.equal(crc32.buf(Array.from(bytes.subarray(0, 9))), crc32.buf(bytes.subarray(0, 9)), 'arrays of bytes too');
  // CRC32Stream's first seed is a Buffer, which the package reads as 0.
  assert.equal(crc32.buf(bytes, Buffer.alloc(4) as unknown as number), whole);
});

test("archiver's ZIP streams checksum through this module", async () => {
  const native = crc32.buf;
  let calls = 0;
  crc32.buf = (data, seed) => {
    calls++;
    return native(data, seed);
  };
  try {
    const entry = crypto.randomBytes(300_000);
    const chunks: Buffer[] = [];
    await pipeline(
      multiExportZip([{ name: 'a.wav', open: () => Readable.from([entry]) }]),
      new Writable({
        write(chunk: Buffer, _encoding, done) {
          chunks.push(chunk);
          done();
        },
      }),
    );
    assert.ok(calls > 0, 'the entry was checksummed through crc-32');
    // The data descriptor after the stored entry carries the CRC: signature, then the CRC itself.
    const zip = Buffer.concat(chunks);
    const descriptor = zip.indexOf(Buffer.from([0x50, 0x4b, 0x07, 0x08]));
    assert.ok(descriptor > 0, 'a data descriptor follows the entry');
    assert.equal(zip.readUInt32LE(descriptor + 4), native(entry) >>> 0);
  } finally {
    crc32.buf = native;
  }
});
