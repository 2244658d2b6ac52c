import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { ALAW_DECODE, MULAW_DECODE } from '../../src/audio/g711.js';
import { decodeG711, simdG711Decoder, tableDecoder, type G711Decoder, type G711Law } from '../../src/audio/g711-decoder.js';
import { assembleG711Simd, g711SimdModuleFile, g711SimdModuleText } from '../../src/write-g711-simd.js';

const tables: Record<G711Law, Readonly<Int16Array>> = { mulaw: MULAW_DECODE, alaw: ALAW_DECODE };

/** The samples of `codes`, one table lookup each, little-endian. */
function expected(codes: Uint8Array, law: G711Law): Buffer {
  const samples = Buffer.alloc(codes.length * 2);
  codes.forEach((code, i) => samples.writeInt16LE(tables[law][code]!, 2 * i));
  return samples;
}

/** Pseudo-random codes, the same on every run. */
function codesOf(length: number, seed: number): Buffer {
  const codes = Buffer.alloc(length);
  let x = seed;
  for (let i = 0; i < length; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    codes[i] = x >>> 24;
  }
  return codes;
}

function assertDecodes(decode: G711Decoder, codes: Uint8Array, law: G711Law): void {
  const samples = decode(codes, law);
  const want = expected(codes, law);
  assert.equal(samples.length, want.length);
  if (!samples.equals(want)) {
    const at = samples.findIndex((byte, i) => byte !== want[i]) >> 1;
    assert.fail(`${law}, ${codes.length} codes: sample ${at} (code ${codes[at]}) is ${samples.readInt16LE(2 * at)}, not ${want.readInt16LE(2 * at)}`);
  }
}

describe('G.711 decoder', () => {
  test('g711-simd-module.ts is what g711-simd.wat assembles to', async () => {
    assert.equal(
      fs.readFileSync(g711SimdModuleFile, 'utf8'),
      g711SimdModuleText(await assembleG711Simd()),
      'g711-simd-module.ts is out of date: run `npm run wasm` and commit it',
    );
  });

  test('this machine decodes with WebAssembly SIMD', () => {
    assert.ok(simdG711Decoder, 'WebAssembly SIMD did not instantiate: exports fall back to the slower tables');
    assert.equal(decodeG711, simdG711Decoder);
  });

  for (const [name, decoder] of [
    ['SIMD', simdG711Decoder],
    ['table', tableDecoder],
  ] as const) {
    for (const law of ['mulaw', 'alaw'] as const) {
      test(`${name}, ${law}: every code gives its table value, wherever it sits in a block of sixteen`, (t) => {
        if (!decoder) return t.skip('no WebAssembly SIMD');
        const everyCode = Buffer.from(Array.from({ length: 256 }, (_, code) => code));
        for (let shift = 0; shift < 16; shift++) assertDecodes(decoder, Buffer.concat([Buffer.alloc(shift, 0x55), everyCode]), law);
      });

      test(`${name}, ${law}: any length, across the 65536 codes one call takes, from any offset`, (t) => {
        if (!decoder) return t.skip('no WebAssembly SIMD');
        for (const length of [0, 1, 15, 16, 17, 65_535, 65_536, 65_537, 200_003]) assertDecodes(decoder, codesOf(length, length + 1), law);
        // A view starting at an odd byte of a larger buffer, as a read into part of one gives.
        const larger = codesOf(70_001, 7);
        assertDecodes(decoder, larger.subarray(1, 70_000), law);
      });
    }

    test(`${name}: each result is a buffer of its own`, (t) => {
      if (!decoder) return t.skip('no WebAssembly SIMD');
      const first = decoder(codesOf(1000, 1), 'mulaw');
      const copy = Buffer.from(first);
      decoder(codesOf(1000, 2), 'alaw');
      assert.ok(first.equals(copy), 'a later decode changed an earlier result');
      assert.notEqual(first.buffer, decoder(codesOf(10, 3), 'mulaw').buffer);
    });

    test(`${name}: decodes into the start of a buffer it is given, which must be large enough`, (t) => {
      if (!decoder) return t.skip('no WebAssembly SIMD');
      const codes = codesOf(70_000, 4);
      const into = Buffer.alloc(2 * 70_000 + 10, 0xee);
      const samples = decoder(codes, 'alaw', into);
      assert.equal(samples.buffer, into.buffer);
      assert.equal(samples.byteOffset, into.byteOffset);
      assert.ok(samples.equals(expected(codes, 'alaw')));
      assert.ok(into.subarray(2 * 70_000).equals(Buffer.alloc(10, 0xee)), 'nothing written past the samples');
      assert.throws(() => decoder(codes, 'mulaw', Buffer.alloc(2 * 70_000 - 1)), RangeError);
    });
  }
});
