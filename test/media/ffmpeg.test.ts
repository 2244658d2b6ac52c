/**
 * ffmpeg as the gateway runs it: real ffmpeg processes, real files in a temporary directory, and
 * ffprobe as the independent judge of what came out.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { promisify } from 'node:util';
import {
  FfmpegError,
  audioFormats,
  decodeToPcm,
  encodeAudio,
  locateFfmpeg,
  runningTranscodes,
  type AudioFormat,
} from '../../src/media/ffmpeg.js';

const execFileAsync = promisify(execFile);
const hasFfprobe = spawnSync('ffprobe', ['-version']).status === 0;
const bundledFfmpeg: string = createRequire(import.meta.url)('@ffmpeg-installer/ffmpeg').path;

/** `seconds` of a 440 Hz sine as s16le PCM, produced lazily in chunks of 100 ms (or forever). */
function sinePcm(seconds: number, sampleRate: number, channels = 1): Readable {
  const total = Number.isFinite(seconds) ? Math.round(seconds * sampleRate) : Infinity;
  const perChunk = Math.floor(sampleRate / 10);
  function* chunks(): Generator<Buffer> {
    for (let start = 0; start < total; start += perChunk) {
      const frames = Math.min(perChunk, total - start);
      const chunk = Buffer.alloc(frames * channels * 2);
      for (let i = 0; i < frames; i++) {
        const sample = Math.round(12000 * Math.sin((2 * Math.PI * 440 * (start + i)) / sampleRate));
        for (let c = 0; c < channels; c++) chunk.writeInt16LE(sample, (i * channels + c) * 2);
      }
      yield chunk;
    }
  }
  return Readable.from(chunks(), { objectMode: false });
}

interface Probe {
  streams: { codec_name?: string; sample_rate?: string; channels?: number }[];
  format: { format_name?: string; start_time?: string; duration?: string };
}

async function ffprobe(file: string): Promise<Probe> {
  const { stdout } = await execFileAsync('ffprobe', ['-v', 'error', '-show_streams', '-show_format', '-of', 'json', file]);
  return JSON.parse(stdout) as Probe;
}

/**
 * How long the file plays. A negative start time marks codec priming the player skips (the edit
 * list of our m4a), so the end of presentation is start + duration. WebM written to a pipe has no
 * duration in its header (the muxer cannot go back to write it), so there the last packet tells.
 */
async function playedSeconds(file: string, probe: Probe): Promise<number> {
  if (probe.format.duration !== undefined) return Number(probe.format.start_time ?? 0) + Number(probe.format.duration);
  const { stdout } = await execFileAsync('ffprobe', ['-v', 'error', '-show_entries', 'packet=pts_time,duration_time', '-of', 'json', file]);
  const packets = (JSON.parse(stdout) as { packets: { pts_time: string; duration_time: string }[] }).packets;
  const last = packets.at(-1);
  assert.ok(last, `${file} has packets`);
  return Number(last.pts_time) + Number(last.duration_time);
}

function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ESRCH') return false;
    throw error;
  }
}

async function waitUntil(condition: () => boolean, what: string, ms = 3000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

function firstChunk(stream: Readable): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    stream.once('data', (chunk: Buffer) => {
      stream.pause();
      resolve(chunk);
    });
    stream.once('error', reject);
  });
}

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

const expectedCodec: Record<AudioFormat, { codec: string; container: string; sampleRate: number }> = {
  // Written at 16 kHz at least: see the next comment.
  mp3: { codec: 'mp3', container: 'mp3', sampleRate: 16000 },
  m4a: { codec: 'aac', container: 'mp4', sampleRate: 8000 },
  // Opus always decodes at 48 kHz, whatever rate it was fed.
  webm: { codec: 'opus', container: 'webm', sampleRate: 48000 },
  opus: { codec: 'opus', container: 'ogg', sampleRate: 48000 },
};

/**
 * How far past 3 s a format may play. MP3 over a pipe carries no LAME tag (ffmpeg writes it by
 * seeking back at the end), so players also play the encoder delay and the padding of the last
 * frame: 3.168 s for 3 s at 8 kHz, which is why MP3 is written at 16 kHz or more, where the excess
 * stays under 0.1 s. The other formats carry their priming in the container (m4a edit list, Opus
 * pre-skip).
 */
const allowedExcess: Record<AudioFormat, number> = { mp3: 0.1, m4a: 0.1, webm: 0.1, opus: 0.1 };

describe('ffmpeg', () => {
  let dir: string;
  let ffmpeg: string;

  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'ffmpeg-test-'));
    ffmpeg = await locateFfmpeg();
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function encodeToFile(binary: string, format: AudioFormat, name: string = format): Promise<string> {
    const file = path.join(dir, `${name}${audioFormats[format].extension}`);
    const output = encodeAudio(sinePcm(3, 8000), { ffmpeg: binary, sampleRate: 8000, channels: 1, format });
    assert.equal(typeof output.pid, 'number');
    await pipeline(output, createWriteStream(file));
    return file;
  }

  async function assertEncoded(file: string, format: AudioFormat): Promise<void> {
    const probe = await ffprobe(file);
    const expected = expectedCodec[format];
    assert.equal(probe.streams.length, 1);
    assert.equal(probe.streams[0]?.codec_name, expected.codec);
    assert.equal(Number(probe.streams[0]?.sample_rate), expected.sampleRate);
    assert.equal(probe.streams[0]?.channels, 1);
    assert.match(probe.format.format_name ?? '', new RegExp(expected.container));
    const played = await playedSeconds(file, probe);
    assert.ok(played >= 3 - 0.1 && played <= 3 + allowedExcess[format], `${format} plays ${played} s, expected about 3 s`);
  }

  for (const format of Object.keys(audioFormats) as AudioFormat[]) {
    test(`encodes 3 s of 8 kHz PCM to ${format}`, { skip: !hasFfprobe && 'no ffprobe' }, async () => {
      const file = await encodeToFile(ffmpeg, format);
      await assertEncoded(file, format);
      assert.equal(runningTranscodes(), 0);
    });
  }

  test('audioFormats names the MIME type and extension of each format', () => {
    assert.deepEqual(audioFormats, {
      mp3: { mime: 'audio/mpeg', extension: '.mp3' },
      m4a: { mime: 'audio/mp4', extension: '.m4a' },
      webm: { mime: 'audio/webm', extension: '.webm' },
      opus: { mime: 'audio/ogg', extension: '.opus' },
    });
  });

  test('opus resamples a rate libopus refuses (11025 Hz) instead of failing', { skip: !hasFfprobe && 'no ffprobe' }, async () => {
    const file = path.join(dir, 'odd-rate.opus');
    await pipeline(encodeAudio(sinePcm(1, 11025), { ffmpeg, sampleRate: 11025, channels: 1, format: 'opus' }), createWriteStream(file));
    const probe = await ffprobe(file);
    assert.equal(probe.streams[0]?.codec_name, 'opus');
    assert.ok(Math.abs((await playedSeconds(file, probe)) - 1) < 0.1);
  });

  test('m4a streams: fragments come out while the input is still being written', async () => {
    // With audio alone, frag_keyframe would make one fragment, released only at the end of input.
    const input = new PassThrough();
    const output = encodeAudio(input, { ffmpeg, sampleRate: 8000, channels: 1, format: 'm4a' });
    const received: Buffer[] = [];
    output.on('data', (chunk: Buffer) => received.push(chunk));
    for await (const chunk of sinePcm(5, 8000)) input.write(chunk);
    await waitUntil(() => Buffer.concat(received).includes('moof'), 'a fragment arrives before the input ends');
    input.end();
    await new Promise((resolve) => output.once('end', resolve));
    assert.equal(runningTranscodes(), 0);
  });

  test('decodes an mp3 to PCM at the requested rate and channels', async () => {
    const mp3 = await encodeToFile(ffmpeg, 'mp3', 'for-decoding');
    const mono = await readAll(decodeToPcm(mp3, { ffmpeg, sampleRate: 16000 }));
    const monoSeconds = mono.length / (16000 * 2);
    assert.equal(mono.length % 2, 0);
    assert.ok(monoSeconds >= 2.95 && monoSeconds <= 3.2, `decoded ${monoSeconds} s`);
    const stereo = await readAll(decodeToPcm(mp3, { ffmpeg, sampleRate: 8000, channels: 2 }));
    assert.ok(Math.abs(stereo.length / (8000 * 4) - monoSeconds) < 0.01, 'stereo at 8 kHz lasts as long as mono at 16 kHz');
    // The sine survives: the PCM is not silence.
    const peak = Math.max(...Array.from({ length: mono.length / 2 }, (_, i) => Math.abs(mono.readInt16LE(i * 2))));
    assert.ok(peak > 8000, `peak ${peak}`);
    assert.equal(runningTranscodes(), 0);
  });

  test('a file ffmpeg cannot read errors with ffmpeg’s own message', async () => {
    const garbage = path.join(dir, 'garbage.wav');
    await writeFile(garbage, Buffer.from(Array.from({ length: 5000 }, (_, i) => (i * 7919 + 13) % 251)));
    await assert.rejects(readAll(decodeToPcm(garbage, { ffmpeg, sampleRate: 8000 })), (error: unknown) => {
      assert.ok(error instanceof FfmpegError);
      assert.equal(error.exitCode, 1);
      assert.match(error.message, /Invalid data found when processing input/);
      return true;
    });
    await assert.rejects(readAll(decodeToPcm(path.join(dir, 'missing.mp3'), { ffmpeg, sampleRate: 8000 })), /No such file or directory/);
    assert.equal(runningTranscodes(), 0);
  });

  test('a failing encode errors with the tail of stderr, bounded, and destroys the input', async () => {
    const input = sinePcm(Infinity, 8000, 1);
    // 300 channels: ffmpeg cannot build the resampler and exits 1.
    const output = encodeAudio(input, { ffmpeg, sampleRate: 8000, channels: 300, format: 'mp3' });
    await assert.rejects(readAll(output), (error: unknown) => {
      assert.ok(error instanceof FfmpegError);
      assert.match(error.message, /^ffmpeg exited with code \d+: .+/s);
      assert.ok(error.stderrTail.length > 0 && Buffer.byteLength(error.stderrTail) <= 2048);
      return true;
    });
    await waitUntil(() => input.destroyed, 'the input is destroyed');
    await waitUntil(() => runningTranscodes() === 0, 'no ffmpeg is left');
  });

  test('a source that fails makes the output fail, not end as if whole', async () => {
    let sent = 0;
    const input = new Readable({
      read() {
        if (sent++ < 5) this.push(Buffer.alloc(1600));
        else this.destroy(new Error('disk read failed'));
      },
    });
    const output = encodeAudio(input, { ffmpeg, sampleRate: 8000, channels: 1, format: 'mp3' });
    await assert.rejects(readAll(output), /disk read failed/);
    assert.ok(output.pid !== undefined);
    const pid = output.pid;
    await waitUntil(() => !processExists(pid), 'ffmpeg is gone');
  });

  test('a source closed before its end (no error) makes the output fail too', async () => {
    const input = new PassThrough();
    const output = encodeAudio(input, { ffmpeg, sampleRate: 8000, channels: 1, format: 'opus' });
    input.write(Buffer.alloc(16000));
    setTimeout(() => input.destroy(), 50);
    await assert.rejects(readAll(output), /closed before its end/);
    const alreadyClosed = new PassThrough();
    alreadyClosed.destroy();
    const refused = encodeAudio(alreadyClosed, { ffmpeg, sampleRate: 8000, channels: 1, format: 'mp3' });
    assert.equal(refused.pid, undefined);
    await assert.rejects(readAll(refused), /closed before its end/);
    await waitUntil(() => runningTranscodes() === 0, 'no ffmpeg is left');
  });

  test('destroying the output (a client went away) kills ffmpeg and destroys the input', async () => {
    const input = sinePcm(Infinity, 8000);
    const output = encodeAudio(input, { ffmpeg, sampleRate: 8000, channels: 1, format: 'mp3' });
    const pid = output.pid;
    assert.ok(pid !== undefined);
    await firstChunk(output);
    assert.ok(processExists(pid));
    assert.equal(runningTranscodes(), 1);
    output.destroy();
    await waitUntil(() => !processExists(pid), 'ffmpeg is gone');
    await waitUntil(() => runningTranscodes() === 0, 'no transcode is counted');
    assert.ok(input.destroyed);
  });

  test('aborting the signal kills ffmpeg, errors the output and destroys the input', async () => {
    const input = sinePcm(Infinity, 8000);
    const controller = new AbortController();
    const output = encodeAudio(input, { ffmpeg, sampleRate: 8000, channels: 1, format: 'webm', signal: controller.signal });
    const pid = output.pid;
    assert.ok(pid !== undefined);
    const failed = new Promise<Error>((resolve) => output.once('error', resolve));
    await firstChunk(output);
    controller.abort();
    assert.equal((await failed).name, 'AbortError');
    await waitUntil(() => !processExists(pid), 'ffmpeg is gone');
    await waitUntil(() => runningTranscodes() === 0, 'no transcode is counted');
    assert.ok(input.destroyed);
  });

  test('aborting a decode kills its ffmpeg', async () => {
    const mp3 = await encodeToFile(ffmpeg, 'mp3', 'for-abort');
    const controller = new AbortController();
    const output = decodeToPcm(mp3, { ffmpeg, sampleRate: 48000, signal: controller.signal });
    const pid = output.pid;
    assert.ok(pid !== undefined);
    const failed = new Promise<Error>((resolve) => output.once('error', resolve));
    controller.abort();
    assert.equal((await failed).name, 'AbortError');
    await waitUntil(() => !processExists(pid), 'ffmpeg is gone');
  });

  test('a signal aborted beforehand starts no process', async () => {
    const input = sinePcm(1, 8000);
    const output = encodeAudio(input, { ffmpeg, sampleRate: 8000, channels: 1, format: 'mp3', signal: AbortSignal.abort() });
    assert.equal(output.pid, undefined);
    await assert.rejects(readAll(output), { name: 'AbortError' });
    assert.ok(input.destroyed);
    assert.equal(runningTranscodes(), 0);
  });

  test('an ffmpeg that cannot be spawned errors the output', async () => {
    const input = sinePcm(1, 8000);
    const output = encodeAudio(input, { ffmpeg: path.join(dir, 'no-ffmpeg-here'), sampleRate: 8000, channels: 1, format: 'mp3' });
    await assert.rejects(readAll(output), /Cannot run ffmpeg .*ENOENT/);
    assert.ok(input.destroyed);
  });

  describe('locateFfmpeg', () => {
    test('a configured path that does not run fails, naming it', async () => {
      const bogus = path.join(dir, 'bogus', 'ffmpeg');
      await assert.rejects(locateFfmpeg(bogus), (error: unknown) => {
        assert.ok(error instanceof Error);
        assert.ok(error.message.includes(`The configured ffmpeg (${bogus}) does not run`), error.message);
        assert.match(error.message, /ENOENT/);
        return true;
      });
    });

    test('a configured path that runs something other than ffmpeg fails', async () => {
      const impostor = path.join(dir, 'impostor');
      await writeFile(impostor, '#!/bin/sh\necho hello\n', { mode: 0o755 });
      await assert.rejects(locateFfmpeg(impostor), /did not answer -version as ffmpeg does/);
    });

    test('a configured path that runs is the answer, cached', async () => {
      const first = locateFfmpeg(bundledFfmpeg);
      assert.equal(locateFfmpeg(bundledFfmpeg), first);
      assert.equal(await first, bundledFfmpeg);
    });

    test('without configuration: ffmpeg on PATH, else the npm package’s binary', async () => {
      // A process whose PATH holds no ffmpeg must fall back to @ffmpeg-installer.
      const emptyPath = await mkdtemp(path.join(dir, 'empty-path-'));
      const moduleUrl = new URL('../../src/media/ffmpeg.js', import.meta.url).href;
      const script = `const { locateFfmpeg } = await import(${JSON.stringify(moduleUrl)}); console.log(await locateFfmpeg());`;
      const { stdout } = await execFileAsync(process.execPath, ['--input-type=module', '-e', script], { env: { PATH: emptyPath } });
      assert.equal(stdout.trim(), bundledFfmpeg);
      // And here, where ffmpeg is on PATH (the test found one in before()), it is chosen.
      assert.ok(ffmpeg === 'ffmpeg' || ffmpeg === bundledFfmpeg);
    });

    for (const format of Object.keys(audioFormats) as AudioFormat[]) {
      test(`the npm package’s ffmpeg encodes ${format}`, { skip: !hasFfprobe && 'no ffprobe' }, async () => {
        const file = await encodeToFile(bundledFfmpeg, format, `bundled-${format}`);
        await assertEncoded(file, format);
      });
    }
  });
});
