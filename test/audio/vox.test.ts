import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import fc from 'fast-check';
import { decodeVox, voxEncoder } from '../../src/audio/vox.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'media-vox-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));

function s16le(samples: ArrayLike<number>): Buffer {
  const bytes = Buffer.alloc(samples.length * 2);
  for (let i = 0; i < samples.length; i++) bytes.writeInt16LE(samples[i]!, i * 2);
  return bytes;
}

/** VOX bytes of `pcm`, handed to the encoder in the given pieces. */
async function encode(pcm: Buffer, cuts: readonly number[] = []): Promise<Buffer> {
  const bounds = [0, ...[...cuts].sort((a, b) => a - b), pcm.length];
  const pieces = bounds.slice(1).map((end, i) => pcm.subarray(bounds[i], end));
  const chunks: Buffer[] = [];
  for await (const chunk of Readable.from(pieces).pipe(voxEncoder())) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

function sine(hz: number, amplitude: number, count: number, rate = 8000): number[] {
  return Array.from({ length: count }, (_, n) => Math.round(amplitude * Math.sin((2 * Math.PI * hz * n) / rate)));
}

/** Signal-to-noise ratio in dB of `decoded` against `original`, from sample `from` on. */
function snr(original: ArrayLike<number>, decoded: ArrayLike<number>, from = 0): number {
  let signal = 0;
  let noise = 0;
  for (let i = from; i < original.length; i++) {
    signal += original[i]! ** 2;
    noise += (original[i]! - decoded[i]!) ** 2;
  }
  return 10 * Math.log10(signal / Math.max(noise, 1));
}

/** What ffmpeg's own OKI decoder (adpcm_ima_oki) makes of a .vox file; undefined without ffmpeg. */
function ffmpegDecodesVox(file: string): Int16Array | undefined {
  // There is no VOX demuxer: read the file as raw bytes and force the OKI decoder onto them.
  const args = ['-v', 'error', '-f', 'u8', '-ar', '8000', '-ac', '1', '-c:a', 'adpcm_ima_oki', '-i', file, '-f', 's16le', '-'];
  const run = spawnSync('ffmpeg', args, { maxBuffer: 64 << 20 });
  if (run.error) return undefined;
  assert.equal(run.status, 0, run.stderr.toString());
  return Int16Array.from({ length: run.stdout.length / 2 }, (_, i) => run.stdout.readInt16LE(i * 2));
}

describe('VOX (Dialogic/OKI ADPCM)', () => {
  test('digital silence codes as the smallest steps around zero: 0x08 0x08 ...', async () => {
    const vox = await encode(Buffer.alloc(200));
    assert.deepEqual([...vox], new Array(50).fill(0x08));
    assert.deepEqual([...decodeVox(vox)], new Array(100).fill(0).map((_, i) => (i % 2 ? 0 : 32)));
  });

  test('two samples a byte; an odd count is completed by repeating the last sample; half a sample is dropped', async () => {
    for (const count of [0, 1, 2, 3, 7, 8000, 8001]) {
      const pcm = s16le(sine(300, 8000, count));
      assert.equal((await encode(pcm)).length, Math.ceil(count / 2), `${count} samples`);
      assert.equal((await encode(Buffer.concat([pcm, Buffer.of(0x7f)]))).length, Math.ceil(count / 2), `${count} samples and a half`);
    }
    // The padding nibble is the last sample coded once more, as if the input had repeated it.
    const odd = sine(300, 8000, 41);
    assert.deepEqual(await encode(s16le(odd)), await encode(s16le([...odd, odd[40]!])));
  });

  test('decoded samples are 12-bit values scaled to 16 bits', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 500 }), (bytes) => {
        for (const sample of decodeVox(Buffer.from(bytes))) {
          if (sample % 16 !== 0 || sample < -32768 || sample > 32752) return false;
        }
        return true;
      }),
    );
  });

  test('property: the codec state carries across chunks cut anywhere, even inside a sample', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.integer({ min: -32768, max: 32767 }), { maxLength: 400 }),
        fc.array(fc.nat(), { maxLength: 6 }),
        async (samples, cuts) => {
          const pcm = s16le(samples);
          const whole = await encode(pcm);
          const pieces = await encode(pcm, cuts.map((cut) => (pcm.length ? cut % pcm.length : 0)));
          assert.deepEqual(pieces, whole);
        },
      ),
      { numRuns: 200 },
    );
  });

  test('property: decode(encode(x)) tracks speech-band signals within ADPCM error', async () => {
    const tone = fc.record({ hz: fc.integer({ min: 60, max: 1500 }), amplitude: fc.integer({ min: 200, max: 10000 }), phase: fc.double({ min: 0, max: 6.28, noNaN: true }) });
    await fc.assert(
      fc.asyncProperty(fc.array(tone, { minLength: 1, maxLength: 3 }), async (tones) => {
        const samples = Array.from({ length: 4000 }, (_, n) =>
          Math.round(tones.reduce((sum, t) => sum + t.amplitude * Math.sin((2 * Math.PI * t.hz * n) / 8000 + t.phase), 0)),
        );
        const decoded = decodeVox(await encode(s16le(samples)));
        // The step adapts from its smallest size: judge after the first 50 ms.
        const ratio = snr(samples, decoded, 400);
        assert.ok(ratio > 12, `SNR ${ratio.toFixed(1)} dB for ${JSON.stringify(tones)}`);
        // Quantization of each sample stays within one largest step (1552 twelve-bit units).
        for (let i = 400; i < samples.length; i++) assert.ok(Math.abs(samples[i]! - decoded[i]!) <= 1552 * 16, `sample ${i}`);
      }),
      { numRuns: 60 },
    );
  });

  for (const [name, samples] of [
    ['a 440 Hz tone', sine(440, 12000, 3 * 8000 + 1)],
    // A chirp sweeping far past 4 kHz at full scale: slope overload and clipping, every step size.
    ['a full-scale chirp', Array.from({ length: 20000 }, (_, n) => Math.round(32767 * Math.sin(n * n * 0.001)))],
  ] as const) {
    test(`${name}: ffmpeg's OKI decoder hears exactly what decodeVox does`, async (t) => {
      const vox = await encode(s16le(samples));
      const file = path.join(dir, `${name}.vox`);
      fs.writeFileSync(file, vox);
      const heard = ffmpegDecodesVox(file);
      if (!heard) return t.skip('ffmpeg is not on PATH');
      assert.deepEqual(heard, decodeVox(vox));
    });
  }

  test("a 440 Hz tone comes through ffmpeg's decoder as that tone", async (t) => {
    const samples = sine(440, 12000, 3 * 8000);
    const file = path.join(dir, 'tone.vox');
    fs.writeFileSync(file, await encode(s16le(samples)));
    const heard = ffmpegDecodesVox(file);
    if (!heard) return t.skip('ffmpeg is not on PATH');
    const ratio = snr(samples, heard, 400);
    assert.ok(ratio > 20, `SNR of a 440 Hz tone through VOX: ${ratio.toFixed(1)} dB`);
    // And it is a tone, not noise at the right level: correlation with the input.
    let dot = 0;
    let a = 0;
    let b = 0;
    for (let i = 400; i < samples.length; i++) {
      dot += samples[i]! * heard[i]!;
      a += samples[i]! ** 2;
      b += heard[i]! ** 2;
    }
    assert.ok(dot / Math.sqrt(a * b) > 0.99, `correlation ${dot / Math.sqrt(a * b)}`);
  });

  test('back-pressure: while nobody reads the VOX, the encoder stops taking PCM', async () => {
    const second = s16le(sine(440, 10000, 8000));
    let pulled = 0;
    const source = new Readable({
      read() {
        this.push(pulled++ < 600 ? second : null);
      },
    });
    const encoder = source.pipe(voxEncoder());
    await new Promise((resolve) => setTimeout(resolve, 50));
    // Ten minutes is 9.6 MB of PCM: only a few seconds of it may be in flight.
    assert.ok(pulled < 10, `${pulled} seconds of PCM taken with no one reading`);
    let bytes = 0;
    for await (const chunk of encoder) bytes += (chunk as Buffer).length;
    assert.equal(bytes, 600 * 4000);
  });
});
