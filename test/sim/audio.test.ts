import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { decodeWavToPcm16, readWavInfo, type WavEncoding } from '../../src/audio/wav.js';
import { SAMPLE_RATE, writeRecordingWav } from '../../src/sim/audio.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sim-audio-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));

const encodings: readonly WavEncoding[] = ['pcm16', 'mulaw', 'alaw'];
const headerBytes: Record<WavEncoding, number> = { pcm16: 44, mulaw: 58, alaw: 58 };
const bytesPerSample: Record<WavEncoding, number> = { pcm16: 2, mulaw: 1, alaw: 1 };

async function decodedSamples(file: string): Promise<Int16Array> {
  const chunks: Buffer[] = [];
  for await (const chunk of decodeWavToPcm16(file)) chunks.push(chunk);
  const bytes = Buffer.concat(chunks);
  const samples = new Int16Array(bytes.length / 2);
  for (let i = 0; i < samples.length; i++) samples[i] = bytes.readInt16LE(i * 2);
  return samples;
}

function rms(samples: Int16Array, from = 0, to = samples.length): number {
  let sum = 0;
  for (let i = from; i < to; i++) sum += samples[i]! ** 2;
  return Math.sqrt(sum / Math.max(1, to - from));
}

/** What ffprobe makes of a file, or undefined when ffprobe is not installed. */
function ffprobe(file: string): { codec: string; sampleRate: number; channels: number; duration: number } | undefined {
  const run = spawnSync(
    'ffprobe',
    ['-v', 'error', '-show_entries', 'stream=codec_name,sample_rate,channels:format=duration', '-of', 'json', file],
    { encoding: 'utf8' },
  );
  if (run.error) return undefined;
  assert.equal(run.status, 0, run.stderr);
  const parsed = JSON.parse(run.stdout) as { streams: { codec_name: string; sample_rate: string; channels: number }[]; format: { duration: string } };
  const stream = parsed.streams[0]!;
  return { codec: stream.codec_name, sampleRate: Number(stream.sample_rate), channels: stream.channels, duration: Number(parsed.format.duration) };
}

describe('writeRecordingWav', () => {
  for (const encoding of encodings) {
    test(`${encoding}: exact size, duration * 8000 samples, readable back`, async () => {
      const file = path.join(dir, 'sizes', `three-${encoding}.wav`);
      const { bytes } = writeRecordingWav(file, { durationSeconds: 3, encoding, seed: 11 });
      const expected = headerBytes[encoding] + 3 * SAMPLE_RATE * bytesPerSample[encoding];
      assert.equal(bytes, expected);
      assert.equal(fs.statSync(file).size, expected);
      assert.deepEqual(readWavInfo(file), {
        encoding,
        sampleRate: 8000,
        channels: 1,
        dataOffset: headerBytes[encoding],
        dataBytes: 3 * SAMPLE_RATE * bytesPerSample[encoding],
        durationSeconds: 3,
      });
      assert.equal((await decodedSamples(file)).length, 3 * SAMPLE_RATE);
    });
  }

  test('a zero-second recording is a valid, empty WAV', async () => {
    const file = path.join(dir, 'empty.wav');
    assert.deepEqual(writeRecordingWav(file, { durationSeconds: 0, encoding: 'mulaw', seed: 1 }), { bytes: 58 });
    assert.equal(readWavInfo(file).durationSeconds, 0);
    assert.equal((await decodedSamples(file)).length, 0);
  });

  test('refuses durations that are not whole non-negative seconds, writing nothing', () => {
    const file = path.join(dir, 'refused', 'x.wav');
    assert.throws(() => writeRecordingWav(file, { durationSeconds: 1.5, encoding: 'pcm16', seed: 1 }), RangeError);
    assert.throws(() => writeRecordingWav(file, { durationSeconds: -1, encoding: 'pcm16', seed: 1 }), RangeError);
    assert.equal(fs.existsSync(path.dirname(file)), false);
  });

  test('creates parent folders, replaces an existing file and leaves no temporary file', () => {
    const folder = path.join(dir, '20240105', '200');
    const file = path.join(folder, '200-10-11-12.wav');
    writeRecordingWav(file, { durationSeconds: 2, encoding: 'pcm16', seed: 1 });
    writeRecordingWav(file, { durationSeconds: 1, encoding: 'alaw', seed: 1 });
    assert.deepEqual(fs.readdirSync(folder), ['200-10-11-12.wav']);
    assert.equal(readWavInfo(file).encoding, 'alaw');
    assert.equal(fs.statSync(file).size, 58 + 8000);
  });

  test('the same seed gives the same bytes, another seed other bytes', () => {
    for (const encoding of encodings) {
      const a = path.join(dir, 'seeds', `a-${encoding}.wav`);
      const b = path.join(dir, 'seeds', `b-${encoding}.wav`);
      const c = path.join(dir, 'seeds', `c-${encoding}.wav`);
      writeRecordingWav(a, { durationSeconds: 2, encoding, seed: 46 });
      writeRecordingWav(b, { durationSeconds: 2, encoding, seed: 46 });
      writeRecordingWav(c, { durationSeconds: 2, encoding, seed: 47 });
      assert.ok(fs.readFileSync(a).equals(fs.readFileSync(b)), `${encoding}: same seed`);
      assert.ok(!fs.readFileSync(a).equals(fs.readFileSync(c)), `${encoding}: different seed`);
    }
  });

  test('the signal sounds like speech: loud enough, well below clipping, in syllables with pauses', async () => {
    for (const seed of [1, 2, 3, 1509, 2 ** 40 + 5]) {
      const file = path.join(dir, 'speech', `${seed}.wav`);
      writeRecordingWav(file, { durationSeconds: 10, encoding: 'pcm16', seed });
      const samples = await decodedSamples(file);
      assert.ok(rms(samples) > 1000, `seed ${seed}: RMS ${rms(samples)}`);
      for (let second = 0; second < 10; second++) {
        const level = rms(samples, second * SAMPLE_RATE, (second + 1) * SAMPLE_RATE);
        assert.ok(level > 500, `seed ${seed}: second ${second} has RMS ${level}`);
      }
      const peak = samples.reduce((max, v) => Math.max(max, Math.abs(v)), 0);
      assert.ok(peak < 16384, `seed ${seed}: peak ${peak} is not well below clipping`);
      // Syllables: bursts of 20 ms frames with energy, separated by quiet frames.
      let bursts = 0;
      let quietFrames = 0;
      let active = false;
      for (let frame = 0; frame < samples.length / 160; frame++) {
        const loud = rms(samples, frame * 160, (frame + 1) * 160) > 300;
        if (loud && !active) bursts++;
        if (!loud) quietFrames++;
        active = loud;
      }
      assert.ok(bursts / 10 >= 2 && bursts / 10 <= 8, `seed ${seed}: ${bursts / 10} syllables a second`);
      assert.ok(quietFrames > 0.1 * (samples.length / 160), `seed ${seed}: no pauses`);
    }
  });

  for (const encoding of encodings) {
    test(`${encoding}: samples inside silences are exact digital silence, the rest is not`, async () => {
      const file = path.join(dir, 'silences', `${encoding}.wav`);
      writeRecordingWav(file, {
        durationSeconds: 4,
        encoding,
        seed: 77,
        // Out of order, one starting before the recording, one running past its end.
        silences: [
          { fromMs: 3000, toMs: 9000 },
          { fromMs: 500, toMs: 1250 },
          { fromMs: -200, toMs: 50 },
        ],
      });
      const silent: [number, number][] = [
        [0, 400],
        [4000, 10000],
        [24000, 32000],
      ];
      const info = readWavInfo(file);
      const raw = fs.readFileSync(file).subarray(info.dataOffset);
      const silentCode = { pcm16: 0, mulaw: 0xff, alaw: 0xd5 }[encoding];
      const silentValue = encoding === 'alaw' ? 8 : 0;
      const samples = await decodedSamples(file);
      assert.equal(samples.length, 32000);
      for (const [from, to] of silent) {
        for (let n = from; n < to; n++) {
          if (samples[n] !== silentValue) assert.fail(`sample ${n} is ${samples[n]}`);
          const code = encoding === 'pcm16' ? raw.readInt16LE(n * 2) : raw[n];
          if (code !== silentCode) assert.fail(`sample ${n} is coded ${code}`);
        }
      }
      for (const [from, to] of [
        [400, 4000],
        [10000, 24000],
      ] as const) {
        assert.ok(rms(samples, from, to) > 1000, `samples ${from}..${to} have RMS ${rms(samples, from, to)}`);
      }
    });
  }

  test('a 30-minute recording is written in bounded memory', () => {
    const file = path.join(dir, 'long', 'thirty-minutes.wav');
    const moduleUrl = new URL('../../src/sim/audio.js', import.meta.url).href;
    // In a fresh process, so that the high-water mark of its resident memory measures this write.
    const script = `
      import { writeRecordingWav } from ${JSON.stringify(moduleUrl)};
      writeRecordingWav(${JSON.stringify(file)}, { durationSeconds: 2, encoding: 'pcm16', seed: 1 });
      globalThis.gc();
      const before = process.memoryUsage();
      const peakBefore = process.resourceUsage().maxRSS;
      const { bytes } = writeRecordingWav(${JSON.stringify(file)}, { durationSeconds: 1800, encoding: 'pcm16', seed: 7 });
      const after = process.memoryUsage();
      console.log(JSON.stringify({
        bytes,
        heapUsed: after.heapUsed - before.heapUsed,
        arrayBuffers: after.arrayBuffers - before.arrayBuffers,
        peakRss: (process.resourceUsage().maxRSS - peakBefore) * 1024,
      }));`;
    const run = spawnSync(process.execPath, ['--expose-gc', '--input-type=module', '-e', script], { encoding: 'utf8' });
    assert.equal(run.status, 0, run.stderr);
    const growth = JSON.parse(run.stdout) as { bytes: number; heapUsed: number; arrayBuffers: number; peakRss: number };
    const MB = 1024 * 1024;
    assert.equal(growth.bytes, 44 + 1800 * 8000 * 2);
    assert.equal(fs.statSync(file).size, growth.bytes);
    assert.ok(growth.heapUsed < 4 * MB, `heap grew by ${growth.heapUsed} bytes`);
    assert.ok(growth.arrayBuffers < 4 * MB, `array buffers grew by ${growth.arrayBuffers} bytes`);
    // The whole file would be 28.8 MB.
    assert.ok(growth.peakRss < 12 * MB, `peak resident memory grew by ${growth.peakRss} bytes`);
  });

  test('ffprobe reads each encoding with the right codec and duration', (t) => {
    const files = encodings.map((encoding) => {
      const file = path.join(dir, 'ffprobe', `${encoding}.wav`);
      writeRecordingWav(file, { durationSeconds: 5, encoding, seed: 5 });
      return { encoding, file };
    });
    if (!ffprobe(files[0]!.file)) {
      t.skip('ffprobe is not on PATH');
      return;
    }
    const codecs: Record<WavEncoding, string> = { pcm16: 'pcm_s16le', mulaw: 'pcm_mulaw', alaw: 'pcm_alaw' };
    for (const { encoding, file } of files) {
      const probe = ffprobe(file)!;
      assert.deepEqual({ ...probe, duration: Math.round(probe.duration * 1000) }, { codec: codecs[encoding], sampleRate: 8000, channels: 1, duration: 5000 });
    }
  });
});
