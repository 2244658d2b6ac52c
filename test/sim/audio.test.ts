import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  SAMPLE_RATE,
  aLawToLinear,
  decodeWavToPcm16,
  linearToALaw,
  linearToMuLaw,
  muLawToLinear,
  readWavInfo,
  wavHeader,
  writeRecordingWav,
  type WavEncoding,
} from '../../src/sim/audio.js';

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

describe('wavHeader', () => {
  test('16-bit PCM: the canonical 44-byte header', () => {
    const h = wavHeader(16000, 'pcm16');
    assert.equal(h.length, 44);
    assert.equal(h.toString('ascii', 0, 4), 'RIFF');
    assert.equal(h.readUInt32LE(4), 44 - 8 + 16000);
    assert.equal(h.toString('ascii', 8, 16), 'WAVEfmt ');
    assert.equal(h.readUInt32LE(16), 16);
    assert.deepEqual([h.readUInt16LE(20), h.readUInt16LE(22), h.readUInt32LE(24), h.readUInt32LE(28), h.readUInt16LE(32), h.readUInt16LE(34)], [1, 1, 8000, 16000, 2, 16]);
    assert.equal(h.toString('ascii', 36, 40), 'data');
    assert.equal(h.readUInt32LE(40), 16000);
  });

  for (const [encoding, tag] of [['mulaw', 7], ['alaw', 6]] as const) {
    test(`${encoding}: format ${tag}, an 18-byte fmt chunk with cbSize 0 and a fact chunk`, () => {
      const h = wavHeader(8001, encoding);
      assert.equal(h.length, 58);
      assert.equal(h.readUInt32LE(4), 58 - 8 + 8001 + 1, 'the RIFF size counts the padding byte of odd data');
      assert.equal(h.readUInt32LE(16), 18);
      assert.deepEqual([h.readUInt16LE(20), h.readUInt16LE(22), h.readUInt32LE(24), h.readUInt32LE(28), h.readUInt16LE(32), h.readUInt16LE(34), h.readUInt16LE(36)], [tag, 1, 8000, 8000, 1, 8, 0]);
      assert.equal(h.toString('ascii', 38, 42), 'fact');
      assert.equal(h.readUInt32LE(42), 4);
      assert.equal(h.readUInt32LE(46), 8001, 'fact holds the sample count');
      assert.equal(h.toString('ascii', 50, 54), 'data');
      assert.equal(h.readUInt32LE(54), 8001);
    });
  }

  test('refuses sizes a RIFF file cannot describe', () => {
    assert.throws(() => wavHeader(2 ** 32, 'pcm16'), RangeError);
    assert.throws(() => wavHeader(-2, 'pcm16'), RangeError);
    assert.throws(() => wavHeader(1.5, 'mulaw'), RangeError);
  });
});

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

describe('readWavInfo and decodeWavToPcm16', () => {
  /** A hand-made WAV: a JUNK chunk before fmt, an odd-sized LIST chunk (padded) before data. */
  function wavWithExtraChunks(samples: readonly number[]): Buffer {
    const chunk = (id: string, body: Buffer): Buffer => {
      const head = Buffer.alloc(8);
      head.write(id, 0, 'ascii');
      head.writeUInt32LE(body.length, 4);
      return Buffer.concat([head, body, Buffer.alloc(body.length % 2)]);
    };
    const fmt = Buffer.alloc(16);
    fmt.writeUInt16LE(1, 0);
    fmt.writeUInt16LE(1, 2);
    fmt.writeUInt32LE(8000, 4);
    fmt.writeUInt32LE(16000, 8);
    fmt.writeUInt16LE(2, 12);
    fmt.writeUInt16LE(16, 14);
    const data = Buffer.alloc(samples.length * 2);
    samples.forEach((v, i) => data.writeInt16LE(v, i * 2));
    const body = Buffer.concat([
      Buffer.from('WAVE'),
      chunk('JUNK', Buffer.alloc(28)),
      chunk('fmt ', fmt),
      chunk('LIST', Buffer.from('INFOISFT\x05\x00\x00\x00sim!\x00')),
      chunk('data', data),
    ]);
    const riff = Buffer.alloc(8);
    riff.write('RIFF', 0, 'ascii');
    riff.writeUInt32LE(body.length, 4);
    return Buffer.concat([riff, body]);
  }

  test('skips unknown chunks, odd-sized ones by their padding byte', async () => {
    const file = path.join(dir, 'chunks.wav');
    const bytes = wavWithExtraChunks([1, -2, 300, -32768, 32767]);
    fs.writeFileSync(file, bytes);
    const info = readWavInfo(file);
    assert.equal(info.dataOffset, bytes.length - 10);
    assert.deepEqual({ ...info, dataOffset: 0 }, { encoding: 'pcm16', sampleRate: 8000, channels: 1, dataOffset: 0, dataBytes: 10, durationSeconds: 5 / 8000 });
    assert.deepEqual([...(await decodedSamples(file))], [1, -2, 300, -32768, 32767]);
  });

  test('a data size promising more than the file holds is cut to what is there', () => {
    const file = path.join(dir, 'truncated.wav');
    fs.writeFileSync(file, Buffer.concat([wavHeader(16000, 'pcm16'), Buffer.alloc(100)]));
    assert.equal(readWavInfo(file).dataBytes, 100);
  });

  test('throws a clear error for files that are not WAV', () => {
    const text = path.join(dir, 'notes.txt');
    fs.writeFileSync(text, 'this is not audio');
    assert.throws(() => readWavInfo(text), /notes\.txt is not a WAV file/);
    assert.throws(() => decodeWavToPcm16(text), /not a WAV file/);
    const empty = path.join(dir, 'empty.bin');
    fs.writeFileSync(empty, '');
    assert.throws(() => readWavInfo(empty), /not a WAV file/);
    const headerless = path.join(dir, 'no-data.wav');
    fs.writeFileSync(headerless, wavHeader(0, 'pcm16').subarray(0, 36));
    assert.throws(() => readWavInfo(headerless), /no data chunk/);
    const eightBit = path.join(dir, 'eight-bit.wav');
    const header = wavHeader(0, 'pcm16');
    header.writeUInt16LE(8, 34);
    fs.writeFileSync(eightBit, header);
    assert.throws(() => readWavInfo(eightBit), /unsupported WAV format \(format tag 1, 8 bits per sample\)/);
  });

  test('streams in bounded chunks', async () => {
    const file = path.join(dir, 'chunked.wav');
    writeRecordingWav(file, { durationSeconds: 20, encoding: 'mulaw', seed: 3 });
    let largest = 0;
    let total = 0;
    for await (const chunk of decodeWavToPcm16(file)) {
      largest = Math.max(largest, chunk.length);
      total += chunk.length;
    }
    assert.equal(total, 20 * 8000 * 2);
    assert.ok(largest <= 128 * 1024, `a chunk of ${largest} bytes`);
  });

  test('mu-law and A-law decode to the G.711 values of their codes', async () => {
    for (const encoding of ['mulaw', 'alaw'] as const) {
      const file = path.join(dir, 'decode', `${encoding}.wav`);
      writeRecordingWav(file, { durationSeconds: 1, encoding, seed: 9 });
      const codes = fs.readFileSync(file).subarray(58);
      const decode = encoding === 'mulaw' ? muLawToLinear : aLawToLinear;
      assert.deepEqual([...(await decodedSamples(file))], [...codes].map(decode));
    }
  });
});
