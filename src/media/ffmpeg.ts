/**
 * Compressed audio through ffmpeg. Streamed exports (combined, ZIP entries) go through pipes: PCM
 * in on stdin, the encoded file out on stdout. One recording's export is written by ffmpeg to a
 * file of the transcode cache instead (`encodeAudioFileTo`), so that it can go back and finish the
 * headers a player needs to seek. The gateway reads and writes WAV itself (`wav.ts`); ffmpeg is only
 * for the compressed export formats (mp3, m4a, webm, opus) and for sources the gateway cannot read
 * or must resample.
 *
 * Every ffmpeg process belongs to a response, or to the requests waiting for one cached file. When
 * they go away (the client disconnects and the stream is destroyed, or the signal aborts) the
 * process is killed at once: a transcode that nobody reads any more would otherwise hold a CPU core and a slot of
 * `Slots` until it drained its input. `runningTranscodes()` and the `pid` on each output
 * stream let tests (and /metrics) see that none is left behind.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import { PassThrough, pipeline, type Readable } from 'node:stream';
import { promisify } from 'node:util';

export type AudioFormat = 'mp3' | 'm4a' | 'webm' | 'opus';

/** What an HTTP response says about each export format. */
export const audioFormats: Record<AudioFormat, { mime: string; extension: string }> = {
  mp3: { mime: 'audio/mpeg', extension: '.mp3' },
  m4a: { mime: 'audio/mp4', extension: '.m4a' },
  webm: { mime: 'audio/webm', extension: '.webm' },
  opus: { mime: 'audio/ogg', extension: '.opus' },
};

/** The output of one ffmpeg process: a readable stream that also names the process. */
export interface TranscodeOutput extends Readable {
  /** The ffmpeg process id; undefined when it never started (spawn failed, or already aborted). */
  readonly pid: number | undefined;
}

/** ffmpeg ran but failed; the message carries the end of what it wrote to stderr. */
export class FfmpegError extends Error {
  constructor(
    message: string,
    readonly exitCode: number | null,
    readonly signal: NodeJS.Signals | null,
    readonly stderrTail: string,
  ) {
    super(message);
    this.name = 'FfmpegError';
  }
}

export interface EncodeAudioOptions {
  ffmpeg: string;
  /** Rate of the incoming PCM, in Hz. */
  sampleRate: number;
  /** Channels of the incoming PCM (interleaved). */
  channels: number;
  format: AudioFormat;
  signal?: AbortSignal;
  /** ffmpeg's `-b:a`, e.g. `32k`; each format has a default suited to telephony speech. */
  bitrate?: string;
}

export interface DecodeToPcmOptions {
  ffmpeg: string;
  /** Rate of the PCM produced, in Hz; ffmpeg resamples to it. */
  sampleRate: number;
  /** Channels of the PCM produced; 1 (mono) unless told. */
  channels?: number;
  signal?: AbortSignal;
}

// ---------------------------------------------------------------------------------------------
// Finding ffmpeg

const located = new Map<string, Promise<string>>();

/**
 * The ffmpeg binary to use: the configured one (which must run, or this fails naming it), else
 * `ffmpeg` on PATH, else the binary shipped by the npm package `@ffmpeg-installer/ffmpeg`, so a
 * machine that only ran `npm install` still exports every format.
 *
 * The answer is cached per configured value. A failed lookup is not: a retry probes again, so an
 * operator who installs ffmpeg need not restart the gateway.
 */
export function locateFfmpeg(configured?: string): Promise<string> {
  const key = configured ?? '';
  let answer = located.get(key);
  if (!answer) {
    answer = findFfmpeg(configured);
    located.set(key, answer);
    answer.catch(() => located.delete(key));
  }
  return answer;
}

async function findFfmpeg(configured: string | undefined): Promise<string> {
  if (configured) {
    try {
      await probeFfmpeg(configured);
      return configured;
    } catch (error) {
      throw new Error(`The configured ffmpeg (${configured}) does not run: ${describe(error)}`, { cause: error });
    }
  }
  const tried: string[] = [];
  try {
    await probeFfmpeg('ffmpeg');
    return 'ffmpeg';
  } catch (error) {
    tried.push(`ffmpeg on PATH: ${describe(error)}`);
  }
  try {
    const bundled = bundledFfmpegPath();
    await probeFfmpeg(bundled);
    return bundled;
  } catch (error) {
    tried.push(`@ffmpeg-installer/ffmpeg: ${describe(error)}`);
  }
  throw new Error(`No ffmpeg found for compressed audio (${tried.join('; ')})`);
}

function bundledFfmpegPath(): string {
  // The package is CommonJS and resolves the binary for this platform when it is loaded.
  const installer: unknown = createRequire(import.meta.url)('@ffmpeg-installer/ffmpeg');
  const binary = (installer as { path?: unknown } | null)?.path;
  if (typeof binary !== 'string' || binary === '') throw new Error('the package names no binary for this platform');
  return binary;
}

const execFileAsync = promisify(execFile);

/** Runs `ffmpeg -version`; rejects unless the program answers as ffmpeg. Resolves to its first line. */
async function probeFfmpeg(binary: string): Promise<string> {
  const { stdout } = await execFileAsync(binary, ['-hide_banner', '-version'], { timeout: 10_000, maxBuffer: 1 << 20 });
  if (!stdout.startsWith('ffmpeg version')) throw new Error('it ran, but did not answer -version as ffmpeg does');
  return stdout.slice(0, stdout.indexOf('\n') >>> 0).trim();
}

const versions = new Map<string, Promise<string>>();

/**
 * The first line of `binary -version` (`ffmpeg version 5.1.9-0+deb12u1 ...`), asked once per binary:
 * the transcode cache keys files by it, since another build may write other bytes.
 */
export function ffmpegVersion(binary: string): Promise<string> {
  let version = versions.get(binary);
  if (!version) {
    version = probeFfmpeg(binary);
    versions.set(binary, version);
    version.catch(() => versions.delete(binary));
  }
  return version;
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

// ---------------------------------------------------------------------------------------------
// Encoding and decoding

/** Bitrates for speech recorded from a telephone line; music would want more. */
export const defaultBitrates: Readonly<Record<AudioFormat, string>> = { mp3: '32k', m4a: '32k', webm: '24k', opus: '24k' };

/** The mp3 bitrate used unless a caller asks for another (the export benchmark compares at it). */
export const mp3Bitrate = defaultBitrates.mp3;

/** MP3 is written at this rate or above (see encoderArguments). */
export const mp3MinimumRate = 16_000;

/** The only rates libopus accepts as input. */
const opusRates = [8000, 12000, 16000, 24000, 48000] as const;

/**
 * Length of each MP4 fragment, in microseconds. Fragmenting is what lets an MP4 be written to a
 * pipe; fragmenting by time matters because `frag_keyframe` alone cuts only at video keyframes,
 * so an audio-only file would become a single fragment that ffmpeg holds in memory until the
 * input ends, and the client would receive nothing until then.
 */
const mp4FragmentMicroseconds = 1_000_000;

/**
 * Encodes s16le PCM (`pcm`, interleaved at `sampleRate` and `channels`) to `format`, returning the
 * encoded file as a stream. The PCM is piped into ffmpeg with back-pressure, so a slow reader of
 * the output slows the reading of the source down.
 *
 * The output ends only once ffmpeg has exited successfully; if it fails, the output errors with
 * an `FfmpegError` carrying the end of ffmpeg's stderr. If `pcm` errors, ffmpeg is killed and the
 * output errors with that error (an input cut short must not look like a complete file).
 */
export function encodeAudio(pcm: Readable, options: EncodeAudioOptions): TranscodeOutput {
  const { format, sampleRate, channels } = options;
  assertPositiveInteger('sampleRate', sampleRate);
  assertPositiveInteger('channels', channels);
  const bitrate = options.bitrate ?? defaultBitrates[format];
  if (!/^\d+(\.\d+)?[kM]?$/.test(bitrate)) throw new RangeError(`Not a bitrate ffmpeg understands: ${bitrate}`);

  const args = [
    '-hide_banner', '-loglevel', 'error',
    '-f', 's16le', '-ar', String(sampleRate), '-ac', String(channels), '-i', 'pipe:0',
    ...encoderArguments(format, sampleRate),
    '-b:a', bitrate,
    'pipe:1',
  ];
  return runFfmpeg(options.ffmpeg, args, pcm, options.signal);
}

function encoderArguments(format: AudioFormat, sampleRate: number): string[] {
  switch (format) {
    case 'mp3':
      // On a pipe ffmpeg cannot go back to write the LAME tag that tells players to skip the
      // encoder delay and the last frame's padding. Below 16 kHz a frame lasts 72 ms and the file
      // plays up to 0.15 s long; from 16 kHz the excess stays under 0.1 s.
      return ['-c:a', 'libmp3lame', ...(sampleRate < mp3MinimumRate ? ['-ar', String(mp3MinimumRate)] : []), '-f', 'mp3'];
    case 'm4a':
      return [
        '-c:a', 'aac',
        // empty_moov lets the header go out before any sample is known; delay_moov waits for the
        // first fragment so the header still carries the edit list that hides AAC's priming
        // samples (without it the file plays 1024 samples longer than the recording).
        '-movflags', 'empty_moov+delay_moov+default_base_moof',
        '-frag_duration', String(mp4FragmentMicroseconds),
        '-f', 'ipod',
      ];
    case 'webm':
      return ['-c:a', 'libopus', '-application', 'voip', ...opusRateArguments(sampleRate), '-f', 'webm'];
    case 'opus':
      return ['-c:a', 'libopus', '-application', 'voip', ...opusRateArguments(sampleRate), '-f', 'ogg'];
  }
}

/**
 * The same codecs written to a file, which ffmpeg can seek back into once the encode is done: so
 * each container gets what a player needs to show a length and to seek. MP3 gets its Xing/LAME
 * frame (frame count, so the duration, and the encoder delay and padding to skip); WebM its
 * Duration and Cues; MP4 one `moov` moved before the media (faststart), not fragments. `bitexact`
 * keeps dates and random stream identifiers out, so one recording always gives the same bytes and
 * the ETag can be known before encoding.
 */
function fileEncoderArguments(format: AudioFormat, sampleRate: number): string[] {
  const exact = ['-fflags', '+bitexact', '-flags:a', '+bitexact'];
  switch (format) {
    case 'mp3':
      // Still 16 kHz at least: ffprobe and players that read no LAME tag take the duration as
      // frames x frame length, and an 8 kHz frame (72 ms, MPEG 2.5, which not every player
      // decodes) and the encoder delay make that up to 0.21 s longer than the recording; at
      // 16 kHz up to 0.11 s, of which the delay (ffprobe's start time) is 0.07 s.
      return ['-c:a', 'libmp3lame', ...(sampleRate < mp3MinimumRate ? ['-ar', String(mp3MinimumRate)] : []), ...exact, '-f', 'mp3'];
    case 'm4a':
      return ['-c:a', 'aac', '-movflags', '+faststart', ...exact, '-f', 'ipod'];
    case 'webm':
      return ['-c:a', 'libopus', '-application', 'voip', ...opusRateArguments(sampleRate), ...exact, '-f', 'webm'];
    case 'opus':
      return ['-c:a', 'libopus', '-application', 'voip', ...opusRateArguments(sampleRate), ...exact, '-f', 'ogg'];
  }
}

/**
 * What decides the bytes `encodeAudioFileTo` writes for a source at `sampleRate`, as one string:
 * a cache keyed by it is invalidated by any change of codec, container option or bitrate.
 */
export function fileEncoderSettings(format: AudioFormat, sampleRate: number, options: { bitrate?: string; resample?: boolean } = {}): string {
  return [...fileEncoderArguments(format, sampleRate), '-b:a', options.bitrate ?? defaultBitrates[format], options.resample ? `-ar ${sampleRate} -ac 1` : ''].join(' ');
}

/** Resamples only when libopus would refuse the rate, and then to the nearest rate above it. */
function opusRateArguments(sampleRate: number): string[] {
  if ((opusRates as readonly number[]).includes(sampleRate)) return [];
  const rate = opusRates.find((candidate) => candidate > sampleRate) ?? 48000;
  return ['-ar', String(rate)];
}

/**
 * Decodes the first audio stream of any file ffmpeg can read to s16le PCM at `sampleRate`
 * (mono unless `channels` says otherwise). Same kill and error rules as `encodeAudio`.
 */
export function decodeToPcm(file: string, options: DecodeToPcmOptions): TranscodeOutput {
  const channels = options.channels ?? 1;
  assertPositiveInteger('sampleRate', options.sampleRate);
  assertPositiveInteger('channels', channels);
  const args = [
    '-nostdin', '-hide_banner', '-loglevel', 'error',
    // `file:` keeps a name such as `http://...` or `concat:...` from being taken as a protocol, and
    // the whitelist keeps a playlist-like file from making ffmpeg open anything but local files.
    '-protocol_whitelist', 'file',
    '-i', `file:${file}`,
    '-map', '0:a:0',
    '-f', 's16le', '-c:a', 'pcm_s16le', '-ar', String(options.sampleRate), '-ac', String(channels),
    'pipe:1',
  ];
  return runFfmpeg(options.ffmpeg, args, undefined, options.signal);
}

/**
 * Encodes the first audio stream of a file to `format`, ffmpeg reading the file itself: for one
 * recording this spares piping its PCM through the gateway. `sampleRate` is the file's own rate,
 * which the format rules (MP3's minimum, Opus's rates) start from.
 */
export function encodeAudioFile(file: string, options: Omit<EncodeAudioOptions, 'channels'> & { channels?: number }): TranscodeOutput {
  const { format, sampleRate } = options;
  assertPositiveInteger('sampleRate', sampleRate);
  const bitrate = options.bitrate ?? defaultBitrates[format];
  if (!/^\d+(\.\d+)?[kM]?$/.test(bitrate)) throw new RangeError(`Not a bitrate ffmpeg understands: ${bitrate}`);
  const args = [
    '-nostdin', '-hide_banner', '-loglevel', 'error',
    '-protocol_whitelist', 'file',
    '-i', `file:${file}`,
    '-map', '0:a:0',
    ...(options.channels ? ['-ac', String(options.channels)] : []),
    ...encoderArguments(format, sampleRate),
    '-b:a', bitrate,
    'pipe:1',
  ];
  return runFfmpeg(options.ffmpeg, args, undefined, options.signal);
}

export interface EncodeToFileOptions {
  ffmpeg: string;
  /** The rate the format rules start from: the file's own, or the one it is resampled to. */
  sampleRate: number;
  /** Resample to `sampleRate`, mono (a source ffmpeg decodes: the rate exports decode such sources at). */
  resample?: boolean;
  format: AudioFormat;
  signal?: AbortSignal;
  bitrate?: string;
}

/**
 * Encodes the first audio stream of `file` to `format`, written by ffmpeg to `output` (a path that
 * must not exist yet), so that ffmpeg can finish each container's header once the encode is done.
 * Resolves when ffmpeg has exited successfully; rejects with an FfmpegError, or the signal's reason
 * (ffmpeg is then killed). The caller removes `output` on failure.
 */
export function encodeAudioFileTo(file: string, output: string, options: EncodeToFileOptions): Promise<void> {
  const { format, sampleRate } = options;
  assertPositiveInteger('sampleRate', sampleRate);
  const bitrate = options.bitrate ?? defaultBitrates[format];
  if (!/^\d+(\.\d+)?[kM]?$/.test(bitrate)) throw new RangeError(`Not a bitrate ffmpeg understands: ${bitrate}`);
  const encoder = fileEncoderArguments(format, sampleRate);
  const args = [
    '-nostdin', '-hide_banner', '-loglevel', 'error',
    '-protocol_whitelist', 'file',
    '-i', `file:${file}`,
    '-map', '0:a:0',
    ...(options.resample ? ['-ac', '1', ...(encoder.includes('-ar') ? [] : ['-ar', String(sampleRate)])] : []),
    ...encoder,
    '-b:a', bitrate,
    // -n: never overwrite; the name is fresh, and a file already there is somebody else's.
    '-n', `file:${output}`,
  ];
  return runFfmpegToFile(options.ffmpeg, args, options.signal);
}

function assertPositiveInteger(name: string, value: number): void {
  if (!Number.isInteger(value) || value <= 0) throw new RangeError(`${name} must be a positive whole number, got ${value}`);
}

// ---------------------------------------------------------------------------------------------
// The process

/** ffmpeg processes started here that have not exited yet. */
const running = new Set<ChildProcess>();

/** How many ffmpeg processes started by this module are still alive. */
export function runningTranscodes(): number {
  return running.size;
}

/** Enough of stderr to show ffmpeg's last complaint, not a whole log. */
const stderrTailBytes = 2048;

class FfmpegOutput extends PassThrough implements TranscodeOutput {
  constructor(readonly pid: number | undefined) {
    super();
  }
}

function runFfmpeg(ffmpeg: string, args: string[], input: Readable | undefined, signal: AbortSignal | undefined): TranscodeOutput {
  const refusal = signal?.aborted
    ? abortReason(signal)
    : input?.destroyed
      ? (input.errored ?? new Error('The audio source was closed before its end'))
      : undefined;
  if (refusal) {
    input?.destroy();
    const output = new FfmpegOutput(undefined);
    output.destroy(refusal);
    return output;
  }

  const child = spawn(ffmpeg, args, { stdio: [input ? 'pipe' : 'ignore', 'pipe', 'pipe'] });
  const output = new FfmpegOutput(child.pid);
  let settled = false;
  const exitError = superviseFfmpeg(child, ffmpeg, (error) => fail(error));

  const onAbort = (): void => fail(abortReason(signal));

  // Ends the work on any path but success: whoever was waiting on ffmpeg no longer is.
  function fail(error: Error | undefined): void {
    if (settled) return;
    settled = true;
    signal?.removeEventListener('abort', onAbort);
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    input?.destroy();
    child.stdout?.destroy();
    output.destroy(error);
  }

  signal?.addEventListener('abort', onAbort, { once: true });
  // A consumer that destroys the output (a client went away) wants the process gone too.
  output.once('close', () => fail(undefined));

  child.stdout?.once('error', (error) => fail(error));
  // Not ended by stdout: the output may only end once the exit status says the file is whole.
  child.stdout?.pipe(output, { end: false });

  // 'close' comes after stdout has been read to its end, so everything is already in `output`.
  child.once('close', (code, killedBy) => {
    if (settled) return;
    if (code === 0) {
      settled = true;
      signal?.removeEventListener('abort', onAbort);
      output.end();
      return;
    }
    fail(exitError(code, killedBy));
  });

  if (input && child.stdin) {
    const stdin = child.stdin;
    // Set when ffmpeg's side of the pipe goes first (it exited, or stopped reading): pipeline then
    // tears the input down too, and ffmpeg's exit status, which follows, is the error to report.
    // These listeners are added before pipeline's own, so each sees its event before pipeline acts.
    let ffmpegStoppedReading = false;
    const stoppedReading = (): void => {
      ffmpegStoppedReading = true;
    };
    stdin.once('error', stoppedReading);
    stdin.once('close', stoppedReading);
    // A source that fails or is closed early must not look like a plain end of input: ffmpeg would
    // finish a file that seems whole but is cut short.
    input.once('error', (error) => {
      if (!ffmpegStoppedReading) fail(error);
    });
    input.once('close', () => {
      if (!input.readableEnded && !ffmpegStoppedReading) fail(new Error('The audio source was closed before its end'));
    });
    pipeline(input, stdin, () => {
      // Nothing to do: the listeners above and ffmpeg's exit status decide how the output ends.
    });
  }
  return output;
}

/** ffmpeg writing a file itself: only its exit status and stderr come back. Same kill rules as runFfmpeg. */
function runFfmpegToFile(ffmpeg: string, args: string[], signal: AbortSignal | undefined): Promise<void> {
  if (signal?.aborted) return Promise.reject(abortReason(signal));
  return new Promise((resolve, reject) => {
    const child = spawn(ffmpeg, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let settled = false;
    const settle = (error: Error | undefined): void => {
      if (settled) return;
      settled = true;
      signal?.removeEventListener('abort', onAbort);
      if (error) reject(error);
      else resolve();
    };
    const onAbort = (): void => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      settle(abortReason(signal));
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    const exitError = superviseFfmpeg(child, ffmpeg, settle);
    child.once('close', (code, killedBy) => settle(code === 0 ? undefined : exitError(code, killedBy)));
  });
}

/**
 * What every ffmpeg run shares: it is in `running` until it exits, a binary that cannot be started
 * is `failed` with a clear error, and the tail of its stderr is kept for the error of a failed exit,
 * which the returned function builds.
 */
function superviseFfmpeg(child: ChildProcess, ffmpeg: string, failed: (error: Error) => void): (code: number | null, killedBy: NodeJS.Signals | null) => FfmpegError {
  if (child.pid !== undefined) running.add(child);
  let stderrTail = Buffer.alloc(0);
  child.once('error', (error) => {
    running.delete(child);
    failed(new Error(`Cannot run ffmpeg (${ffmpeg}): ${error.message}`, { cause: error }));
  });
  child.once('exit', () => running.delete(child));
  child.stderr?.on('data', (chunk: Buffer) => {
    stderrTail = Buffer.concat([stderrTail, chunk]);
    if (stderrTail.length > stderrTailBytes) stderrTail = stderrTail.subarray(stderrTail.length - stderrTailBytes);
  });
  return (code, killedBy) => {
    const tail = stderrTail.toString('utf8').trim();
    const status = code === null ? `was killed by ${killedBy}` : `exited with code ${code}`;
    return new FfmpegError(`ffmpeg ${status}${tail ? `: ${tail}` : ''}`, code, killedBy, tail);
  };
}

function abortReason(signal: AbortSignal | undefined): Error {
  const reason: unknown = signal?.reason;
  if (reason instanceof Error) return reason;
  const error = new Error('The transcode was aborted', { cause: reason });
  error.name = 'AbortError';
  return error;
}
