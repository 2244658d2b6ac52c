/**
 * The simulator's recordings as real WAV files: 8 kHz mono, 16-bit PCM or G.711 (mu-law, A-law),
 * carrying a deterministic speech-like signal so that exports, emails and players downstream handle
 * something that is obviously audio, with exact digital silence where a blackout paused recording.
 *
 * The container and G.711 are media/'s, shared with the gateway's exports; what is the
 * simulator's own is the signal and how a recording is written: in bounded chunks, so that a
 * one-hour recording never exists in memory.
 */
import fs from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { linearToALaw, linearToMuLaw } from '../audio/g711.js';
import { bytesPerSampleOf, littleEndianBytes, wavHeader, type WavEncoding } from '../audio/wav.js';

// The seed data names a recording's encoding in the container's own words.

/** Every recording the simulator makes is 8 kHz mono, like the telephony audio the product records. */
export const SAMPLE_RATE = 8000;

/** A span, in milliseconds from the start of a recording, where the audio is digital silence. */
export interface Silence {
  fromMs: number;
  toMs: number;
}

const CHUNK_BYTES = 64 * 1024;

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
  const header = wavHeader(dataBytes, encoding, SAMPLE_RATE, 1);
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
        fs.writeSync(fd, littleEndianBytes(block), 0, count * 2);
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
