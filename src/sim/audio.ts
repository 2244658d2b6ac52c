/**
 * The simulator's recordings as real WAV files: 8 kHz mono, 16-bit PCM or G.711 (mu-law, A-law),
 * carrying a deterministic speech-like signal so that exports, emails and players downstream handle
 * something that is obviously audio, with exact digital silence where a blackout paused recording.
 *
 * Everything here streams in bounded chunks: a one-hour recording never exists in memory, neither
 * while it is written nor while it is decoded.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';

export type WavEncoding = 'pcm16' | 'mulaw' | 'alaw';

/** Every recording the simulator makes is 8 kHz mono, like the telephony audio the product records. */
export const SAMPLE_RATE = 8000;

/** A span, in milliseconds from the start of a recording, where the audio is digital silence. */
export interface Silence {
  fromMs: number;
  toMs: number;
}

export interface WavInfo {
  encoding: WavEncoding;
  sampleRate: number;
  channels: number;
  /** Byte offset of the first sample in the file. */
  dataOffset: number;
  /** Bytes of sample data (without a padding byte). */
  dataBytes: number;
  durationSeconds: number;
}

// WAVE_FORMAT_* tags of the fmt chunk.
const FORMAT_PCM = 1;
const FORMAT_ALAW = 6;
const FORMAT_MULAW = 7;
const FORMAT_EXTENSIBLE = 0xfffe;

const CHUNK_BYTES = 64 * 1024;

function formatTagOf(encoding: WavEncoding): number {
  switch (encoding) {
    case 'pcm16':
      return FORMAT_PCM;
    case 'mulaw':
      return FORMAT_MULAW;
    case 'alaw':
      return FORMAT_ALAW;
  }
}

function bytesPerSampleOf(encoding: WavEncoding): number {
  return encoding === 'pcm16' ? 2 : 1;
}

// ---------------------------------------------------------------------------------------------
// G.711. The CCITT reference code (Sun's g711.c) works on 14-bit (mu-law) and 13-bit (A-law)
// linear samples; these take and return 16-bit samples, scaling the way that code does, so the
// results match other implementations built on it (sox, Python's audioop, most telephony stacks).

/** The code ending each mu-law segment, in 14-bit magnitudes biased by 33 (0x84 at 16 bits). */
const MULAW_SEGMENT_END = [0x3f, 0x7f, 0xff, 0x1ff, 0x3ff, 0x7ff, 0xfff, 0x1fff] as const;
/** The code ending each A-law segment, in 13-bit magnitudes. */
const ALAW_SEGMENT_END = [0x1f, 0x3f, 0x7f, 0xff, 0x1ff, 0x3ff, 0x7ff, 0xfff] as const;

function segmentOf(value: number, ends: readonly number[]): number {
  let segment = 0;
  while (segment < ends.length && value > ends[segment]!) segment++;
  return segment;
}

/** ITU-T G.711 mu-law code of a 16-bit linear sample. */
export function linearToMuLaw(sample: number): number {
  const MULAW_BIAS = 0x84 >> 2;
  const MULAW_CLIP = 8159;
  let magnitude = sample >> 2;
  let mask: number;
  if (magnitude < 0) {
    magnitude = -magnitude;
    mask = 0x7f;
  } else {
    mask = 0xff;
  }
  magnitude = Math.min(magnitude, MULAW_CLIP) + MULAW_BIAS;
  const segment = segmentOf(magnitude, MULAW_SEGMENT_END);
  if (segment >= 8) return 0x7f ^ mask;
  return ((segment << 4) | ((magnitude >> (segment + 1)) & 0x0f)) ^ mask;
}

/** The 16-bit linear value of a G.711 mu-law code. */
export function muLawToLinear(code: number): number {
  const u = ~code & 0xff;
  const magnitude = ((((u & 0x0f) << 3) + 0x84) << ((u & 0x70) >> 4)) - 0x84;
  // Code 0x7F is mu-law's negative zero; JavaScript's -0 is not a sample value.
  return u & 0x80 && magnitude !== 0 ? -magnitude : magnitude;
}

/** ITU-T G.711 A-law code of a 16-bit linear sample (even bits inverted: the 0x55 XOR). */
export function linearToALaw(sample: number): number {
  let magnitude = sample >> 3;
  let mask: number;
  if (magnitude >= 0) {
    mask = 0xd5;
  } else {
    mask = 0x55;
    magnitude = -magnitude - 1;
  }
  const segment = segmentOf(magnitude, ALAW_SEGMENT_END);
  if (segment >= 8) return 0x7f ^ mask;
  const mantissa = segment < 2 ? (magnitude >> 1) & 0x0f : (magnitude >> segment) & 0x0f;
  return ((segment << 4) | mantissa) ^ mask;
}

/**
 * The 16-bit linear value of a G.711 A-law code. A-law has no zero level: its "zero" codes
 * 0xD5 and 0x55 decode to +8 and -8.
 */
export function aLawToLinear(code: number): number {
  const a = (code ^ 0x55) & 0xff;
  let magnitude = (a & 0x0f) << 4;
  const segment = (a & 0x70) >> 4;
  if (segment === 0) magnitude += 8;
  else magnitude = (magnitude + 0x108) << (segment - 1);
  return a & 0x80 ? magnitude : -magnitude;
}

// WAV is little-endian; typed arrays use the host's order.
const BIG_ENDIAN_HOST = os.endianness() === 'BE';

// Decoding runs once per byte of every exported recording: tables keep it a lookup.
const MULAW_DECODE = Int16Array.from({ length: 256 }, (_, code) => muLawToLinear(code));
const ALAW_DECODE = Int16Array.from({ length: 256 }, (_, code) => aLawToLinear(code));

// ---------------------------------------------------------------------------------------------
// The WAV container.

/**
 * The RIFF/WAVE header of an 8 kHz mono file whose data chunk holds `dataBytes` bytes; the samples
 * follow it directly. 16-bit PCM gets the canonical 44-byte header; G.711 is a non-PCM format, for
 * which WAV wants an 18-byte fmt chunk (cbSize = 0) and a fact chunk with the sample count
 * (58 bytes in all). When `dataBytes` is odd the caller writes one padding byte after the data
 * (counted in the RIFF size here).
 */
export function wavHeader(dataBytes: number, encoding: WavEncoding): Buffer {
  const pcm = encoding === 'pcm16';
  const bytesPerSample = bytesPerSampleOf(encoding);
  const fmtBytes = pcm ? 16 : 18;
  const headerBytes = 12 + 8 + fmtBytes + (pcm ? 0 : 12) + 8;
  const padded = dataBytes + (dataBytes % 2);
  if (!Number.isInteger(dataBytes) || dataBytes < 0 || headerBytes - 8 + padded > 0xffffffff) {
    throw new RangeError(`a WAV data chunk cannot hold ${dataBytes} bytes`);
  }
  const header = Buffer.alloc(headerBytes);
  let at = 0;
  const tag = (s: string): void => {
    header.write(s, at, 'ascii');
    at += 4;
  };
  const u32 = (n: number): void => {
    header.writeUInt32LE(n, at);
    at += 4;
  };
  const u16 = (n: number): void => {
    header.writeUInt16LE(n, at);
    at += 2;
  };
  tag('RIFF');
  u32(headerBytes - 8 + padded);
  tag('WAVE');
  tag('fmt ');
  u32(fmtBytes);
  u16(formatTagOf(encoding));
  u16(1);
  u32(SAMPLE_RATE);
  u32(SAMPLE_RATE * bytesPerSample);
  u16(bytesPerSample);
  u16(bytesPerSample * 8);
  if (!pcm) {
    u16(0);
    tag('fact');
    u32(4);
    u32(dataBytes / bytesPerSample);
  }
  tag('data');
  u32(dataBytes);
  return header;
}

/** Reads the format and where the samples are, from the RIFF chunks, without reading the samples. */
export function readWavInfo(file: string): WavInfo {
  const fd = fs.openSync(file, 'r');
  try {
    const fileBytes = fs.fstatSync(fd).size;
    const read = (position: number, length: number): Buffer => {
      const buffer = Buffer.alloc(length);
      const got = fs.readSync(fd, buffer, 0, length, position);
      return buffer.subarray(0, got);
    };
    const riff = read(0, 12);
    if (riff.length < 12 || riff.toString('ascii', 0, 4) !== 'RIFF' || riff.toString('ascii', 8, 12) !== 'WAVE') {
      throw new Error(`${file} is not a WAV file (no RIFF/WAVE header)`);
    }
    let fmt: Buffer | undefined;
    let position = 12;
    while (position + 8 <= fileBytes) {
      const chunk = read(position, 8);
      const id = chunk.toString('ascii', 0, 4);
      const size = chunk.readUInt32LE(4);
      const body = position + 8;
      if (id === 'fmt ') {
        fmt = read(body, Math.min(size, 40));
      } else if (id === 'data') {
        if (!fmt) throw new Error(`${file} is not a valid WAV file: data chunk before fmt chunk`);
        // Writers that stream leave the size unset (0xFFFFFFFF), cut-off files promise more than
        // they hold: either way, the samples are what the file has.
        const dataBytes = Math.min(size, fileBytes - body);
        return wavInfoFromFmt(file, fmt, body, dataBytes);
      }
      // Chunks are word aligned: an odd-sized chunk is followed by a padding byte.
      position = body + size + (size & 1);
    }
    throw new Error(`${file} is not a valid WAV file: ${fmt ? 'no data chunk' : 'no fmt chunk'}`);
  } finally {
    fs.closeSync(fd);
  }
}

function wavInfoFromFmt(file: string, fmt: Buffer, dataOffset: number, dataBytes: number): WavInfo {
  if (fmt.length < 16) throw new Error(`${file} is not a valid WAV file: fmt chunk too short`);
  let formatTag = fmt.readUInt16LE(0);
  const channels = fmt.readUInt16LE(2);
  const sampleRate = fmt.readUInt32LE(4);
  const bitsPerSample = fmt.readUInt16LE(14);
  // WAVE_FORMAT_EXTENSIBLE carries the real format tag in the first two bytes of its sub-format GUID.
  if (formatTag === FORMAT_EXTENSIBLE && fmt.length >= 26) formatTag = fmt.readUInt16LE(24);
  let encoding: WavEncoding;
  if (formatTag === FORMAT_PCM && bitsPerSample === 16) encoding = 'pcm16';
  else if (formatTag === FORMAT_MULAW && bitsPerSample === 8) encoding = 'mulaw';
  else if (formatTag === FORMAT_ALAW && bitsPerSample === 8) encoding = 'alaw';
  else throw new Error(`${file}: unsupported WAV format (format tag ${formatTag}, ${bitsPerSample} bits per sample)`);
  if (channels < 1 || sampleRate < 1) throw new Error(`${file} is not a valid WAV file: ${channels} channels at ${sampleRate} Hz`);
  const frameBytes = channels * bytesPerSampleOf(encoding);
  return {
    encoding,
    sampleRate,
    channels,
    dataOffset,
    dataBytes,
    durationSeconds: Math.floor(dataBytes / frameBytes) / sampleRate,
  };
}

/**
 * The samples of a WAV file as 16-bit little-endian PCM, in chunks of at most 128 KiB. `info` is
 * the file's readWavInfo when the caller already has it (so what it counted is what gets streamed);
 * without it the header is read at the call, which throws at once for a file that is not a WAV.
 */
export async function* decodeWavToPcm16(file: string, info: WavInfo = readWavInfo(file)): AsyncGenerator<Buffer> {
  if (info.dataBytes === 0) return;
  const stream = fs.createReadStream(file, {
    start: info.dataOffset,
    end: info.dataOffset + info.dataBytes - 1,
    highWaterMark: CHUNK_BYTES,
  });
  if (info.encoding === 'pcm16') {
    // Read boundaries need not fall on sample boundaries; a trailing odd byte is not a sample.
    let carry: Buffer | undefined;
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      const bytes = carry ? Buffer.concat([carry, chunk]) : chunk;
      const whole = bytes.length & ~1;
      carry = whole < bytes.length ? bytes.subarray(whole) : undefined;
      if (whole > 0) yield bytes.subarray(0, whole);
    }
    return;
  }
  const table = info.encoding === 'mulaw' ? MULAW_DECODE : ALAW_DECODE;
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    const samples = new Int16Array(chunk.length);
    for (let i = 0; i < chunk.length; i++) samples[i] = table[chunk[i]!]!;
    const out = Buffer.from(samples.buffer, samples.byteOffset, samples.byteLength);
    yield BIG_ENDIAN_HOST ? out.swap16() : out;
  }
}

// ---------------------------------------------------------------------------------------------
// The recorded signal.

/** mulberry32: a small, good-enough PRNG, so one seed always gives the same recording. */
function seededRandom(seed: number): () => number {
  // Fold in the high bits too, so seeds beyond 2^32 (or negative ones) still differ.
  let state = (Math.trunc(seed) ^ Math.trunc(seed / 2 ** 32) ^ 0x9e3779b9) >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** One period of a sine, for the table-lookup oscillators below (Math.sin per sample was the cost). */
const SINE_TABLE_BITS = 12;
const SINE_TABLE = Float64Array.from({ length: 1 << SINE_TABLE_BITS }, (_, i) => Math.sin((2 * Math.PI * i) / (1 << SINE_TABLE_BITS)));

/** The 32-bit phase increment of an oscillator at `hz` (a direct digital synthesizer). */
function phaseStep(hz: number): number {
  return Math.round((hz / SAMPLE_RATE) * 2 ** 32) >>> 0;
}

function sineAt(phase: number): number {
  return SINE_TABLE[phase >>> (32 - SINE_TABLE_BITS)]!;
}

/**
 * Something a listener, a level meter or a voice-activity detector takes for speech: a voice-like
 * pitch and a formant-like tone in syllables of 125-250 ms, 3-5 a second, with short gaps and the
 * odd longer pause. Samples come strictly in order, so the state is a cursor, not a function of time.
 */
class SpeechLikeSignal {
  private readonly random: () => number;
  private readonly pitchHz: number;
  private readonly formantStep: number;
  private pitchStep = 0;
  private pitchPhase = 0;
  private formantPhase = 0;
  private syllableLength = 1;
  private syllableAt = 0;
  private syllableGain = 0;
  private envelopePhase = 0;
  private envelopeStep = 0;
  private gapLeft = 0;

  /** Peak amplitude: about -9 dBFS, well clear of clipping even through G.711. */
  private static readonly PEAK = 11000;

  constructor(seed: number) {
    this.random = seededRandom(seed);
    this.pitchHz = 100 + this.random() * 140;
    this.formantStep = phaseStep(450 + this.random() * 850);
    this.startSyllable();
  }

  private startSyllable(): void {
    this.syllableLength = Math.round(SAMPLE_RATE / (4 + this.random() * 4));
    this.syllableAt = 0;
    this.envelopePhase = 0;
    this.envelopeStep = Math.floor(2 ** 31 / this.syllableLength);
    this.syllableGain = (0.6 + this.random() * 0.4) * SpeechLikeSignal.PEAK;
    // Intonation: each syllable a little higher or lower.
    this.pitchStep = phaseStep(this.pitchHz * (0.9 + this.random() * 0.2));
  }

  /** Fills `block[0..count)` with the next `count` samples. */
  fill(block: Int16Array, count: number): void {
    for (let i = 0; i < count; i++) {
      if (this.gapLeft > 0) {
        block[i] = 0;
        if (--this.gapLeft === 0) this.startSyllable();
        continue;
      }
      this.pitchPhase = (this.pitchPhase + this.pitchStep) >>> 0;
      this.formantPhase = (this.formantPhase + this.formantStep) >>> 0;
      // A sin^2 bump over the syllable: the first half period of the table, squared.
      const rise = sineAt(this.envelopePhase);
      this.envelopePhase = (this.envelopePhase + this.envelopeStep) >>> 0;
      const tone = 0.6 * sineAt(this.pitchPhase) + 0.4 * sineAt(this.formantPhase);
      block[i] = Math.round(rise * rise * this.syllableGain * tone);
      if (++this.syllableAt >= this.syllableLength) {
        const pauseMs = this.random() < 0.8 ? 20 + this.random() * 80 : 150 + this.random() * 250;
        this.gapLeft = Math.max(1, Math.round((pauseMs * SAMPLE_RATE) / 1000));
      }
    }
  }
}

/** Silences as sorted, merged [start, end) sample ranges clipped to the recording. */
function silentSampleRanges(silences: readonly Silence[], totalSamples: number): [number, number][] {
  const ranges = silences
    .map((s): [number, number] => [
      Math.max(0, Math.ceil((s.fromMs * SAMPLE_RATE) / 1000)),
      Math.min(totalSamples, Math.ceil((s.toMs * SAMPLE_RATE) / 1000)),
    ])
    .filter(([start, end]) => end > start)
    .sort((a, b) => a[0] - b[0]);
  const merged: [number, number][] = [];
  for (const range of ranges) {
    const last = merged[merged.length - 1];
    if (last && range[0] <= last[1]) last[1] = Math.max(last[1], range[1]);
    else merged.push(range);
  }
  return merged;
}

/**
 * Writes a recording of `durationSeconds` seconds (exactly that many times 8000 samples) whose
 * audio is deterministic from `seed`, silent within `silences`. The file appears complete or not
 * at all: it is written under a temporary name beside the target and renamed at the end.
 */
export function writeRecordingWav(
  file: string,
  opts: { durationSeconds: number; encoding: WavEncoding; seed: number; silences?: readonly Silence[] },
): { bytes: number } {
  const { durationSeconds, encoding, seed, silences = [] } = opts;
  if (!Number.isInteger(durationSeconds) || durationSeconds < 0) {
    throw new RangeError(`a recording lasts a whole number of seconds, not ${durationSeconds}`);
  }
  const totalSamples = durationSeconds * SAMPLE_RATE;
  const bytesPerSample = bytesPerSampleOf(encoding);
  const dataBytes = totalSamples * bytesPerSample;
  const header = wavHeader(dataBytes, encoding);
  const silent = silentSampleRanges(silences, totalSamples);
  const signal = new SpeechLikeSignal(seed);

  fs.mkdirSync(path.dirname(file), { recursive: true });
  const temporary = `${file}.${randomBytes(6).toString('hex')}.tmp`;
  const fd = fs.openSync(temporary, 'w');
  let open = true;
  try {
    fs.writeSync(fd, header);
    const samplesPerChunk = CHUNK_BYTES / bytesPerSample;
    const block = new Int16Array(samplesPerChunk);
    const blockBytes = Buffer.from(block.buffer, block.byteOffset, block.byteLength);
    const codes = Buffer.allocUnsafe(encoding === 'pcm16' ? 0 : samplesPerChunk);
    const encode = encoding === 'mulaw' ? linearToMuLaw : linearToALaw;
    for (let first = 0; first < totalSamples; first += samplesPerChunk) {
      const count = Math.min(samplesPerChunk, totalSamples - first);
      // The signal runs on through a silence: a blackout hides the call, it does not stop time.
      signal.fill(block, count);
      for (const [start, end] of silent) {
        if (end > first && start < first + count) block.fill(0, Math.max(start, first) - first, Math.min(end, first + count) - first);
      }
      if (encoding === 'pcm16') {
        if (BIG_ENDIAN_HOST) blockBytes.swap16();
        fs.writeSync(fd, blockBytes, 0, count * 2);
      } else {
        for (let i = 0; i < count; i++) codes[i] = encode(block[i]!);
        fs.writeSync(fd, codes, 0, count);
      }
    }
    if (dataBytes % 2) fs.writeSync(fd, Buffer.alloc(1));
    open = false;
    fs.closeSync(fd);
    fs.renameSync(temporary, file);
  } catch (error) {
    if (open) fs.closeSync(fd);
    fs.rmSync(temporary, { force: true });
    throw error;
  }
  return { bytes: header.length + dataBytes + (dataBytes % 2) };
}
