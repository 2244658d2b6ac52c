import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { once } from 'node:events';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import fc from 'fast-check';
import { ALAW_DECODE, MULAW_DECODE } from '../../src/audio/g711.js';
import {
  decodeWavToPcm16,
  pcm16ByteLength,
  pcm16Stream,
  readWavInfo,
  wavExportSize,
  wavHeader,
  type ByteRange,
  type WavEncoding,
  type WavInfo,
} from '../../src/audio/wav.js';
import { ChunkPool, giveBack } from '../../src/audio/chunk-pool.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'media-wav-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));

const encodings: readonly WavEncoding[] = ['pcm16', 'mulaw', 'alaw'];

/** A WAV of random samples (every code of G.711 turns up), padded as RIFF wants. */
function writeWav(name: string, encoding: WavEncoding, dataBytes: number, sampleRate = 8000, channels = 1): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, Buffer.concat([wavHeader(dataBytes, encoding, sampleRate, channels), randomBytes(dataBytes), Buffer.alloc(dataBytes % 2)]));
  return file;
}

async function collect(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

async function decodedSamples(file: string): Promise<Int16Array> {
  const chunks: Buffer[] = [];
  for await (const chunk of decodeWavToPcm16(file)) chunks.push(chunk);
  const bytes = Buffer.concat(chunks);
  return Int16Array.from({ length: bytes.length / 2 }, (_, i) => bytes.readInt16LE(i * 2));
}

/** The samples ffmpeg decodes `file` to, as s16le; undefined when ffmpeg is not installed. */
function ffmpegPcm16(file: string): Buffer | undefined {
  const run = spawnSync('ffmpeg', ['-v', 'error', '-i', file, '-f', 's16le', '-c:a', 'pcm_s16le', '-'], { maxBuffer: 64 << 20 });
  if (run.error) return undefined;
  assert.equal(run.status, 0, run.stderr.toString());
  return run.stdout;
}

/** ffprobe's view of the first stream of `file`; undefined when ffprobe is not installed. */
function probeStream(file: string): { codec_name: string; sample_rate: string; channels: number; duration: string } | undefined {
  const run = spawnSync('ffprobe', ['-v', 'error', '-show_streams', '-of', 'json', file], { encoding: 'utf8' });
  if (run.error) return undefined;
  assert.equal(run.status, 0, run.stderr);
  return (JSON.parse(run.stdout) as { streams: { codec_name: string; sample_rate: string; channels: number; duration: string }[] }).streams[0];
}

/** Writes the WAV export of `source` (header, then pcm16Stream) to a file beside it. */
async function writeExport(source: string, info: WavInfo): Promise<string> {
  const target = `${source}.export.wav`;
  const header = wavHeader(pcm16ByteLength(info), 'pcm16', info.sampleRate, info.channels);
  await pipeline(Readable.from([header]), fs.createWriteStream(target));
  await pipeline(pcm16Stream(source, info), fs.createWriteStream(target, { flags: 'a' }));
  return target;
}

/** Sources of every kind: mono telephony, 16 kHz stereo, and data that ends inside a sample frame. */
const sources: readonly { name: string; encoding: WavEncoding; dataBytes: number; sampleRate: number; channels: number }[] = [
  { name: 'pcm16-mono', encoding: 'pcm16', dataBytes: 2 * 8000, sampleRate: 8000, channels: 1 },
  { name: 'mulaw-mono', encoding: 'mulaw', dataBytes: 3 * 8000, sampleRate: 8000, channels: 1 },
  { name: 'alaw-mono', encoding: 'alaw', dataBytes: 3 * 8000 + 1, sampleRate: 8000, channels: 1 },
  { name: 'pcm16-stereo', encoding: 'pcm16', dataBytes: 4 * 16000 + 3, sampleRate: 16000, channels: 2 },
  { name: 'mulaw-stereo', encoding: 'mulaw', dataBytes: 2 * 16000 + 1, sampleRate: 16000, channels: 2 },
  { name: 'alaw-stereo', encoding: 'alaw', dataBytes: 2 * 16000, sampleRate: 16000, channels: 2 },
];

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

  test('any rate and channel count: byte rate, block align and the fact count follow', () => {
    const pcm = wavHeader(64000, 'pcm16', 16000, 2);
    assert.deepEqual([pcm.readUInt16LE(22), pcm.readUInt32LE(24), pcm.readUInt32LE(28), pcm.readUInt16LE(32), pcm.readUInt16LE(34)], [2, 16000, 64000, 4, 16]);
    const mulaw = wavHeader(48000, 'mulaw', 48000, 6);
    assert.deepEqual([mulaw.readUInt16LE(22), mulaw.readUInt32LE(24), mulaw.readUInt32LE(28), mulaw.readUInt16LE(32), mulaw.readUInt16LE(34)], [6, 48000, 288000, 6, 8]);
    assert.equal(mulaw.readUInt32LE(46), 8000, 'fact counts sample frames, not bytes');
  });

  test('refuses rates and channel counts a fmt chunk cannot hold', () => {
    assert.throws(() => wavHeader(0, 'pcm16', 0, 1), RangeError);
    assert.throws(() => wavHeader(0, 'pcm16', 8000, 0), RangeError);
    assert.throws(() => wavHeader(0, 'pcm16', 8000, 65536), RangeError);
    assert.throws(() => wavHeader(0, 'pcm16', 44100.5, 1), RangeError);
    assert.throws(() => wavHeader(0, 'pcm16', 2 ** 31, 2), RangeError);
  });

  test('refuses sizes a RIFF file cannot describe', () => {
    assert.throws(() => wavHeader(2 ** 32, 'pcm16'), RangeError);
    assert.throws(() => wavHeader(-2, 'pcm16'), RangeError);
    assert.throws(() => wavHeader(1.5, 'mulaw'), RangeError);
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
    const file = writeWav('chunked.wav', 'mulaw', 20 * 8000);
    let largest = 0;
    let total = 0;
    for await (const chunk of decodeWavToPcm16(file)) {
      largest = Math.max(largest, chunk.length);
      total += chunk.length;
    }
    assert.equal(total, 20 * 8000 * 2);
    assert.ok(largest <= 512 * 1024, `a chunk of ${largest} bytes`);
  });

  test('mu-law and A-law decode to the G.711 values of their codes', async () => {
    for (const encoding of ['mulaw', 'alaw'] as const) {
      const file = writeWav(`decode-${encoding}.wav`, encoding, 8000);
      const codes = fs.readFileSync(file).subarray(58);
      const table = encoding === 'mulaw' ? MULAW_DECODE : ALAW_DECODE;
      assert.deepEqual([...(await decodedSamples(file))], [...codes].map((code) => table[code]));
    }
  });
});

describe('pcm16Stream and wavExportSize', () => {
  for (const source of sources) {
    test(`${source.name}: the PCM is what ffmpeg decodes, whole frames only`, async (t) => {
      const file = writeWav(`${source.name}.wav`, source.encoding, source.dataBytes, source.sampleRate, source.channels);
      const info = readWavInfo(file);
      const pcm = await collect(pcm16Stream(file, info));
      assert.equal(pcm.length, pcm16ByteLength(info));
      assert.equal(pcm.length % (2 * source.channels), 0);
      const reference = ffmpegPcm16(file);
      if (!reference) return t.skip('ffmpeg is not on PATH');
      assert.ok(pcm.equals(reference), `${pcm.length} bytes, ffmpeg ${reference.length}`);
    });

    test(`${source.name}: the export is a 16-bit WAV of the same rate, channels and duration, wavExportSize bytes long`, async (t) => {
      const file = writeWav(`${source.name}-export.wav`, source.encoding, source.dataBytes, source.sampleRate, source.channels);
      const info = readWavInfo(file);
      const exported = await writeExport(file, info);
      assert.equal(fs.statSync(exported).size, wavExportSize(info));
      assert.equal(wavExportSize(info), 44 + Math.floor(info.durationSeconds * source.sampleRate) * 2 * source.channels);
      assert.deepEqual({ ...readWavInfo(exported), dataOffset: 0 }, { ...info, encoding: 'pcm16', dataOffset: 0, dataBytes: pcm16ByteLength(info) });
      const probed = probeStream(exported);
      if (!probed) return t.skip('ffprobe is not on PATH');
      const original = probeStream(file)!;
      assert.deepEqual(
        { codec: probed.codec_name, rate: Number(probed.sample_rate), channels: probed.channels },
        { codec: 'pcm_s16le', rate: source.sampleRate, channels: source.channels },
      );
      assert.equal(Number(probed.duration), Number(original.duration));
      assert.equal(Number(probed.duration), info.durationSeconds);
    });
  }

  for (const encoding of encodings) {
    test(`${encoding}: property: a range is exactly those bytes of the whole stream`, async () => {
      const file = writeWav(`ranges-${encoding}.wav`, encoding, 1001, 8000, 1);
      const info = readWavInfo(file);
      const whole = await collect(pcm16Stream(file, info));
      const size = whole.length;
      const range = fc
        .tuple(fc.integer({ min: 0, max: size - 1 }), fc.integer({ min: 0, max: size - 1 }))
        .map(([a, b]): ByteRange => ({ start: Math.min(a, b), end: Math.max(a, b) }));
      await fc.assert(
        fc.asyncProperty(range, async ({ start, end }) => {
          const part = await collect(pcm16Stream(file, info, { start, end }));
          assert.ok(part.equals(whole.subarray(start, end + 1)), `bytes ${start}-${end}`);
        }),
        { numRuns: 150, examples: [[{ start: 0, end: 0 }], [{ start: size - 1, end: size - 1 }], [{ start: 1, end: 2 }], [{ start: 0, end: size - 1 }]] },
      );
    });
  }

  test('G.711 longer than one read: every sample, and ranges across the reads, odd ends included', async () => {
    const codes = 700_001; // three reads of 256 Ki codes, the last one odd
    const file = writeWav('long.wav', 'mulaw', codes);
    const info = readWavInfo(file);
    const whole = await collect(pcm16Stream(file, info));
    const data = fs.readFileSync(file).subarray(info.dataOffset, info.dataOffset + codes);
    assert.equal(whole.length, codes * 2);
    for (let i = 0; i < codes; i++) if (whole.readInt16LE(2 * i) !== MULAW_DECODE[data[i]!]) assert.fail(`sample ${i}`);
    const boundary = 2 * 256 * 1024;
    for (const [start, end] of [
      [boundary - 1, boundary],
      [boundary - 3, 2 * boundary + 5],
      [1, 2 * codes - 2],
      [2 * codes - 1, 2 * codes - 1],
    ] as const) {
      assert.ok((await collect(pcm16Stream(file, info, { start, end }))).equals(whole.subarray(start, end + 1)), `bytes ${start}-${end}`);
    }
  });

  test('16-bit PCM longer than one read: the file\'s bytes, and ranges across the reads', async () => {
    const bytes = 2 * 700_001;
    const file = writeWav('long16.wav', 'pcm16', bytes);
    const info = readWavInfo(file);
    const data = fs.readFileSync(file).subarray(info.dataOffset, info.dataOffset + bytes);
    assert.ok((await collect(pcm16Stream(file, info))).equals(data));
    const boundary = 256 * 1024;
    for (const [start, end] of [
      [boundary - 1, boundary],
      [boundary - 3, 2 * boundary + 5],
      [1, bytes - 2],
      [bytes - 1, bytes - 1],
    ] as const) {
      assert.ok((await collect(pcm16Stream(file, info, { start, end }))).equals(data.subarray(start, end + 1)), `bytes ${start}-${end}`);
    }
  });

  for (const encoding of ['pcm16', 'mulaw'] as const) {
    test(`${encoding}: a file cut short after its header was read ends the stream with what is there`, async () => {
      const file = writeWav(`cut-${encoding}.wav`, encoding, 600_000);
      const info = readWavInfo(file);
      const kept = info.dataOffset + 300_001;
      fs.truncateSync(file, kept);
      const pcm = await collect(pcm16Stream(file, info));
      assert.equal(pcm.length, 300_001 * (encoding === 'pcm16' ? 1 : 2));
    });
  }

  test('a G.711 stream destroyed after its first chunk closes its file', async () => {
    const file = writeWav('closed.wav', 'alaw', 600_000);
    const openFiles = (): number => fs.readdirSync('/proc/self/fd').length;
    const before = openFiles();
    const stream = pcm16Stream(file, readWavInfo(file));
    await once(stream, 'data');
    stream.destroy();
    await once(stream, 'close');
    assert.equal(openFiles(), before);
  });

  test('an HTTP-style export: header bytes then a PCM range add up to the suffix of the export', async () => {
    const file = writeWav('suffix.wav', 'alaw', 5000);
    const info = readWavInfo(file);
    const exported = fs.readFileSync(await writeExport(file, info));
    // bytes=-1000 of the export: all of it is samples, starting 44 bytes into the file.
    const size = wavExportSize(info);
    const tail = await collect(pcm16Stream(file, info, { start: size - 1000 - 44, end: size - 44 - 1 }));
    assert.ok(tail.equals(exported.subarray(size - 1000)));
  });

  test('an empty WAV streams nothing and exports as a bare header', async () => {
    const file = writeWav('empty.wav', 'mulaw', 0);
    const info = readWavInfo(file);
    assert.equal((await collect(pcm16Stream(file, info))).length, 0);
    assert.equal(wavExportSize(info), 44);
    assert.throws(() => pcm16Stream(file, info, { start: 0, end: 0 }), RangeError);
  });

  test('refuses ranges outside the PCM, before opening anything', () => {
    const file = writeWav('refused.wav', 'mulaw', 100);
    const info = readWavInfo(file);
    for (const range of [
      { start: 0, end: 200 },
      { start: 5, end: 4 },
      { start: -1, end: 3 },
      { start: 0.5, end: 3 },
    ]) {
      assert.throws(() => pcm16Stream(file, info, range), RangeError, JSON.stringify(range));
    }
  });

  test('wavExportSize refuses audio a WAV file cannot hold', () => {
    const info: WavInfo = { encoding: 'mulaw', sampleRate: 8000, channels: 1, dataOffset: 58, dataBytes: 2 ** 31, durationSeconds: 2 ** 31 / 8000 };
    assert.throws(() => wavExportSize(info), RangeError);
  });

  for (const encoding of ['pcm16', 'mulaw'] as const) {
    test(`${encoding}: a file that goes away fails the stream, it does not end it`, async () => {
      const file = writeWav(`vanishing-${encoding}.wav`, encoding, 1000);
      const info = readWavInfo(file);
      fs.rmSync(file);
      await assert.rejects(collect(pcm16Stream(file, info)), { code: 'ENOENT' });
    });
  }

  test('back-pressure: a consumer that does not read holds the disk reads, and destroying closes the file', async (t) => {
    const file = writeWav('large.wav', 'mulaw', 4 * 1024 * 1024);
    const info = readWavInfo(file);
    const openFiles = (): number => fs.readdirSync('/proc/self/fd').length;
    const stream = pcm16Stream(file, info);
    await new Promise((resolve) => setTimeout(resolve, 100));
    // 8 MiB of PCM are waiting to be read; only a few chunks may be buffered.
    assert.ok(stream.readableLength <= 512 * 1024, `${stream.readableLength} bytes buffered`);
    if (!fs.existsSync('/proc/self/fd')) return t.skip('no /proc/self/fd to count open files');
    const before = openFiles();
    stream.destroy();
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.equal(openFiles(), before - 1, 'the WAV file is closed');
  });
});

describe('pcm16Stream lending its chunks from a pool', () => {
  for (const encoding of encodings) {
    test(`${encoding}: a consumer giving every chunk back gets the same bytes from a few buffers`, async () => {
      // Many reads' worth, so buffers come round again and again.
      const file = writeWav(`pooled-${encoding}.wav`, encoding, 3 * 1024 * 1024 + 7);
      const info = readWavInfo(file);
      const expected = await collect(pcm16Stream(file, info, undefined, new ChunkPool()));
      const pool = new ChunkPool();
      const memories = new Set<ArrayBufferLike>();
      const copies: Buffer[] = [];
      let chunks = 0;
      for await (const chunk of pcm16Stream(file, info, undefined, pool) as AsyncIterable<Buffer>) {
        memories.add(chunk.buffer);
        copies.push(Buffer.from(chunk));
        chunks++;
        giveBack(chunk);
      }
      assert.ok(Buffer.concat(copies).equals(expected));
      assert.ok(chunks >= 12, `${chunks} chunks`);
      assert.ok(memories.size <= 2, `${memories.size} buffers carried ${chunks} chunks`);
    });
  }

  test('G.711: the buffer the codes are read into goes back to the pool when the stream closes, ended or destroyed', async () => {
    class WatchedPool extends ChunkPool {
      readonly taken: Buffer[] = [];
      readonly returned: Buffer[] = [];
      override take(bytes: number): Buffer {
        const buffer = super.take(bytes);
        this.taken.push(buffer);
        return buffer;
      }
      override putBack(buffer: Buffer): void {
        this.returned.push(buffer);
        super.putBack(buffer);
      }
    }
    const file = writeWav('pooled-codes.wav', 'alaw', 1024 * 1024);
    for (const destroyEarly of [false, true]) {
      const pool = new WatchedPool();
      const stream = pcm16Stream(file, readWavInfo(file), undefined, pool);
      const codes = pool.taken[0]!;
      assert.equal(codes.length, 256 * 1024, 'the codes buffer is taken when the stream is made');
      if (destroyEarly) {
        await once(stream, 'readable');
        stream.destroy();
      } else {
        await collect(stream);
      }
      if (!stream.closed) await once(stream, 'close');
      assert.ok(pool.returned.includes(codes), destroyEarly ? 'destroyed' : 'ended');
    }
  });
});
