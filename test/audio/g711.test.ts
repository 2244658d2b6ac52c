import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { ALAW_DECODE, MULAW_DECODE, aLawToLinear, linearToALaw, linearToMuLaw, muLawToLinear } from '../../src/audio/g711.js';

/**
 * Runs one of Python's audioop conversions (the CCITT reference code, independent of ours) over
 * `input`; undefined when there is no python3 with audioop (it left the standard library in 3.13).
 */
function audioop(conversion: 'lin2ulaw' | 'lin2alaw' | 'ulaw2lin' | 'alaw2lin', input: Buffer): Buffer | undefined {
  // audioop works in the host's byte order; the buffers here are little-endian.
  const script = [
    'import audioop, sys',
    'data = sys.stdin.buffer.read()',
    `big = sys.byteorder == 'big'`,
    `data = audioop.byteswap(data, 2) if big and '${conversion}'.startswith('lin') else data`,
    `out = audioop.${conversion}(data, 2)`,
    `sys.stdout.buffer.write(audioop.byteswap(out, 2) if big and '${conversion}'.endswith('lin') else out)`,
  ].join('\n');
  const run = spawnSync('python3', ['-c', script], { input, maxBuffer: 1 << 20 });
  if (run.error || run.status !== 0) return undefined;
  return run.stdout;
}

const everySample = Buffer.alloc(65536 * 2);
for (let i = 0; i < 65536; i++) everySample.writeInt16LE(i - 32768, i * 2);
const everyCode = Buffer.from(Array.from({ length: 256 }, (_, code) => code));

describe('G.711', () => {
  test('mu-law encodes the reference values', () => {
    assert.equal(linearToMuLaw(0), 0xff);
    assert.equal(linearToMuLaw(-1), 0x7e);
    assert.equal(linearToMuLaw(32767), 0x80);
    assert.equal(linearToMuLaw(-32768), 0x00);
    // Values from the CCITT reference code (as in Python's audioop.lin2ulaw).
    assert.deepEqual([1000, -1000, 12345, -30000, 100, -100].map(linearToMuLaw), [0xce, 0x4e, 0x97, 0x02, 0xf2, 0x72]);
  });

  test('mu-law decodes the reference values', () => {
    assert.equal(muLawToLinear(0xff), 0);
    assert.equal(muLawToLinear(0x7f), 0);
    assert.equal(muLawToLinear(0x80), 32124);
    assert.equal(muLawToLinear(0x00), -32124);
    assert.deepEqual([0x10, 0x9a, 0xe5, 0x3c].map(muLawToLinear), [-15996, 10876, 292, -2364]);
  });

  test('A-law encodes the reference values', () => {
    assert.equal(linearToALaw(0), 0xd5);
    assert.equal(linearToALaw(-1), 0x55);
    assert.equal(linearToALaw(32767), 0xaa);
    assert.equal(linearToALaw(-32768), 0x2a);
    assert.deepEqual([1000, -1000, 12345, -30000, 100, -100].map(linearToALaw), [0xfa, 0x7a, 0xbd, 0x28, 0xd3, 0x53]);
  });

  test('A-law decodes the reference values (it has no zero level: 0xD5 is +8)', () => {
    assert.equal(aLawToLinear(0xd5), 8);
    assert.equal(aLawToLinear(0x55), -8);
    assert.equal(aLawToLinear(0xaa), 32256);
    assert.equal(aLawToLinear(0x2a), -32256);
    assert.deepEqual([0x10, 0x9a, 0xe5, 0x3c].map(aLawToLinear), [-2752, 4032, 1056, -13056]);
  });

  test('every 16-bit sample survives encode then decode within the quantization error', () => {
    for (let x = -32768; x <= 32767; x++) {
      const bound = 8 + Math.abs(x) / 16;
      const mu = muLawToLinear(linearToMuLaw(x));
      const a = aLawToLinear(linearToALaw(x));
      if (Math.abs(mu - x) > bound) assert.fail(`mu-law ${x} -> ${mu}`);
      if (Math.abs(a - x) > bound) assert.fail(`A-law ${x} -> ${a}`);
    }
  });

  test('every code decodes to a value that encodes back to it (mu-law 0x7F is the second zero)', () => {
    for (let code = 0; code < 256; code++) {
      assert.equal(linearToALaw(aLawToLinear(code)), code, `A-law ${code}`);
      assert.equal(linearToMuLaw(muLawToLinear(code)), code === 0x7f ? 0xff : code, `mu-law ${code}`);
    }
  });
});

describe('G.711 against the reference code (Python audioop)', () => {
  for (const [name, encode, conversion] of [
    ['mu-law', linearToMuLaw, 'lin2ulaw'],
    ['A-law', linearToALaw, 'lin2alaw'],
  ] as const) {
    test(`${name}: every 16-bit sample gets the reference code`, (t) => {
      const reference = audioop(conversion, everySample);
      if (!reference) return t.skip('no python3 with audioop');
      assert.equal(reference.length, 65536);
      for (let i = 0; i < 65536; i++) {
        if (encode(i - 32768) !== reference[i]) assert.fail(`${name} ${i - 32768}: ${encode(i - 32768)}, reference ${reference[i]}`);
      }
    });
  }

  for (const [name, table, conversion] of [
    ['mu-law', MULAW_DECODE, 'ulaw2lin'],
    ['A-law', ALAW_DECODE, 'alaw2lin'],
  ] as const) {
    test(`${name}: the decode table holds the reference value of every code`, (t) => {
      const reference = audioop(conversion, everyCode);
      if (!reference) return t.skip('no python3 with audioop');
      assert.deepEqual([...table], Array.from({ length: 256 }, (_, code) => reference.readInt16LE(code * 2)));
    });
  }

  test('the tables are the functions, code for code', () => {
    assert.deepEqual([...MULAW_DECODE], [...everyCode].map(muLawToLinear));
    assert.deepEqual([...ALAW_DECODE], [...everyCode].map(aLawToLinear));
  });
});
