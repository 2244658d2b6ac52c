/**
 * From recordings on disk to the bytes of an export, as streams. Every recording is first 16-bit
 * PCM: WAV sources (PCM, mu-law, A-law) are decoded here, anything else, and any part that must be
 * resampled to join others, by ffmpeg. The PCM is then written as the format asked: WAV, raw PCM
 * and VOX in TypeScript, the compressed codecs by ffmpeg. Sizes are known up front where the
 * format allows, so the HTTP layer can send Content-Length and serve ranges.
 */
import fs from 'node:fs/promises';
import { createWriteStream } from 'node:fs';
import { Readable, pipeline } from 'node:stream';
import { pipeline as pipelineAsync } from 'node:stream/promises';
import type { exportMediaFormats } from '../protocol/catalog.js';
import { audioFormats, decodeToPcm, encodeAudio, encodeAudioFile, encodeAudioFileTo, fileEncoderSettings } from './ffmpeg.js';
import { pcm16Stream, readWavInfo, wavHeader, type WavInfo } from '../audio/wav.js';
import { voxEncoder } from '../audio/vox.js';

/** A MEDIA_FORMAT of the catalog's export functions, lower-cased. */
export type ExportFormat = Lowercase<(typeof exportMediaFormats)[number]>;
/** The formats of one audio stream (CAV wraps one of them). */
export type AudioFormat = Exclude<ExportFormat, 'cav'>;

/** Non-WAV sources are decoded at this rate: wideband voice, above any telephony recording. */
const decodedSourceRate = 16_000;

export const audioFormatInfo: Record<AudioFormat, { mime: string; extension: string; needsFfmpeg: boolean }> = {
  wav: { mime: 'audio/wav', extension: 'wav', needsFfmpeg: false },
  // Raw samples: nothing in the bytes says their layout, so no audio type claims to.
  pcm: { mime: 'application/octet-stream', extension: 'pcm', needsFfmpeg: false },
  vox: { mime: 'audio/x-vox', extension: 'vox', needsFfmpeg: false },
  mp3: compressed('mp3'),
  m4a: compressed('m4a'),
  webm: compressed('webm'),
  opus: compressed('opus'),
};

function compressed(format: keyof typeof audioFormats): { mime: string; extension: string; needsFfmpeg: boolean } {
  return { mime: audioFormats[format].mime, extension: audioFormats[format].extension.replace(/^\./, ''), needsFfmpeg: true };
}

/** A recording's audio as 16-bit PCM, not yet opened. */
export interface PcmSource {
  sampleRate: number;
  channels: number;
  /** Bytes of PCM, when known before decoding (WAV sources read here). */
  bytes: number | undefined;
  /** Whether opening it starts ffmpeg. */
  usesFfmpeg: boolean;
  /** The one file it is read from as it is, when it is one (encoders may read it directly). */
  file?: string;
  /** `range`: bytes of the PCM, inclusive, when `bytes` is known. */
  open(range?: { start: number; end: number }): Readable;
}

export interface MediaTools {
  ffmpeg: string;
  signal?: AbortSignal;
}

function wavInfoOrUndefined(file: string): WavInfo | undefined {
  try {
    return readWavInfo(file);
  } catch {
    return undefined; // not a WAV we decode: ffmpeg's business
  }
}

/**
 * The PCM of one file, at its own rate, or at `sampleRate` mono when given (to join others).
 * Throws only when ffmpeg would be needed and is not configured (never: it always is).
 */
export function pcmSource(file: string, tools: MediaTools, sampleRate?: number): PcmSource {
  const info = wavInfoOrUndefined(file);
  if (info && (sampleRate === undefined || (info.sampleRate === sampleRate && info.channels === 1))) {
    return {
      sampleRate: info.sampleRate,
      channels: info.channels,
      bytes: Math.floor(info.dataBytes / (info.encoding === 'pcm16' ? 2 : 1)) * 2,
      usesFfmpeg: false,
      file,
      open: (range) => pcm16Stream(file, info, range),
    };
  }
  const rate = sampleRate ?? decodedSourceRate;
  return {
    sampleRate: rate,
    channels: 1,
    bytes: undefined,
    usesFfmpeg: true,
    open: () => decodeToPcm(file, { ffmpeg: tools.ffmpeg, sampleRate: rate, channels: 1, signal: tools.signal }),
  };
}

/** The native rate of a file when it is a WAV read here (to pick the rate several parts join at). */
export function nativeRate(file: string): number {
  return wavInfoOrUndefined(file)?.sampleRate ?? decodedSourceRate;
}

/** Several sources one after another, each opened when the previous has ended. */
export function concatenatedPcm(parts: readonly PcmSource[]): PcmSource {
  const first = parts[0];
  if (!first) throw new RangeError('nothing to concatenate');
  const known = parts.every((p) => p.bytes !== undefined);
  return {
    sampleRate: first.sampleRate,
    channels: first.channels,
    bytes: known ? parts.reduce((sum, p) => sum + p.bytes!, 0) : undefined,
    usesFfmpeg: parts.some((p) => p.usesFfmpeg),
    open: () => Readable.from(inTurn(parts.map((p) => () => p.open())), { objectMode: false }),
  };
}

/** Buffers and streams one after another; each stream is opened when the one before has ended. */
async function* inTurn(parts: readonly (Buffer | (() => Readable))[]): AsyncGenerator<Buffer> {
  for (const part of parts) {
    if (Buffer.isBuffer(part)) {
      if (part.length > 0) yield part;
      continue;
    }
    const stream = part();
    try {
      for await (const chunk of stream as AsyncIterable<Buffer>) yield chunk;
    } finally {
      stream.destroy();
    }
  }
}

/** An export body: its stream is created by `open`, so a caller can check sizes and ranges first. */
export interface EncodedAudio {
  mime: string;
  extension: string;
  /** Total bytes, when known before encoding. */
  size: number | undefined;
  /** Whether `open(range)` serves byte ranges (the size is known and the bytes are a plain mapping of the PCM). */
  rangeable: boolean;
  usesFfmpeg: boolean;
  open(range?: { start: number; end: number }): Readable;
}

const WAV_HEADER_BYTES = 44;

export function encodeExport(source: PcmSource, format: AudioFormat, tools: MediaTools): EncodedAudio {
  const { mime, extension } = audioFormatInfo[format];
  const base = { mime, extension, usesFfmpeg: source.usesFfmpeg || audioFormatInfo[format].needsFfmpeg };
  switch (format) {
    case 'pcm':
      return { ...base, size: source.bytes, rangeable: source.bytes !== undefined, open: (range) => source.open(range) };
    case 'wav': {
      // A WAV whose size is not known up front says so with the largest sizes: players and ffmpeg
      // read such streamed WAVs to their end.
      const header = wavHeader(source.bytes ?? 0xffffffff - WAV_HEADER_BYTES, 'pcm16', source.sampleRate, source.channels);
      const size = source.bytes === undefined ? undefined : WAV_HEADER_BYTES + source.bytes;
      return { ...base, size, rangeable: size !== undefined, open: (range) => wavBytes(header, source, range) };
    }
    case 'vox':
      // pipeline returns the encoder; destroying it destroys the source too.
      return { ...base, size: undefined, rangeable: false, open: () => pipeline(source.open(), voxEncoder(), () => {}) };
    default:
      return {
        ...base,
        usesFfmpeg: true,
        size: undefined,
        rangeable: false,
        open: () =>
          source.file !== undefined
            ? // One file: ffmpeg reads it itself rather than through a pipe of PCM from here.
              encodeAudioFile(source.file, { ffmpeg: tools.ffmpeg, sampleRate: source.sampleRate, format, signal: tools.signal })
            : encodeAudio(source.open(), { ffmpeg: tools.ffmpeg, sampleRate: source.sampleRate, channels: source.channels, format, signal: tools.signal }),
      };
  }
}

/** The bytes `range` of header + PCM: the header's part, then the PCM's. */
function wavBytes(header: Buffer, source: PcmSource, range?: { start: number; end: number }): Readable {
  if (!range) return Readable.from(inTurn([header, () => source.open()]));
  const parts: (Buffer | (() => Readable))[] = [];
  if (range.start < header.length) parts.push(header.subarray(range.start, Math.min(header.length, range.end + 1)));
  const pcmStart = Math.max(0, range.start - header.length);
  const pcmEnd = range.end - header.length;
  if (pcmEnd >= pcmStart) parts.push(() => source.open({ start: pcmStart, end: pcmEnd }));
  return Readable.from(inTurn(parts));
}

/**
 * Raised when the gateway's own writers change what they write (WAV, PCM, VOX), so that files
 * cached by an older version are not served as this one's.
 */
const ownWritersVersion = 1;

/** How one recording's export is written as a whole file, and what decides its bytes. */
export interface ExportFilePlan {
  /** Everything but the source that decides the bytes: a cache key is made of it. */
  settings: string;
  /** Whether writing it runs ffmpeg (and so needs a transcode slot). */
  usesFfmpeg: boolean;
  /** Writes the export to `output`, which must not exist yet. */
  write(output: string, signal: AbortSignal): Promise<void>;
}

/**
 * One recording exported as a complete file. The compressed formats are written by ffmpeg itself,
 * so it can finish each container's header (duration, seek index) once the encode is done; the
 * others are the streams of `encodeExport` written out, a WAV's sizes then filled in.
 */
export function exportFilePlan(file: string, format: AudioFormat, ffmpeg: string): ExportFilePlan {
  const info = wavInfoOrUndefined(file);
  if (audioFormatInfo[format].needsFfmpeg) {
    const compressed = format as keyof typeof audioFormats;
    const sampleRate = info?.sampleRate ?? decodedSourceRate;
    const resample = info === undefined;
    return {
      settings: `ffmpeg ${fileEncoderSettings(compressed, sampleRate, { resample })}`,
      usesFfmpeg: true,
      write: (output, signal) => encodeAudioFileTo(file, output, { ffmpeg, sampleRate, resample, format: compressed, signal }),
    };
  }
  return {
    settings: `gateway ${ownWritersVersion} ${format} ${info ? 'wav' : `ffmpeg-decoded ${decodedSourceRate}`}`,
    usesFfmpeg: info === undefined,
    write: async (output, signal) => {
      const source = pcmSource(file, { ffmpeg, signal });
      const audio = encodeExport(source, format, { ffmpeg, signal });
      await pipelineAsync(audio.open(), createWriteStream(output, { flags: 'wx' }), { signal });
      if (format === 'wav' && source.bytes === undefined) await fillInWavSizes(output);
    },
  };
}

/** A WAV written before its length was known says so with the largest sizes: now it is known. */
async function fillInWavSizes(file: string): Promise<void> {
  const handle = await fs.open(file, 'r+');
  try {
    const { size } = await handle.stat();
    if (size - 8 > 0xffffffff) throw new RangeError(`a WAV file cannot hold ${size - WAV_HEADER_BYTES} bytes of samples`);
    const riff = Buffer.alloc(4);
    riff.writeUInt32LE(size - 8);
    const data = Buffer.alloc(4);
    data.writeUInt32LE(size - WAV_HEADER_BYTES);
    await handle.write(riff, 0, 4, 4);
    await handle.write(data, 0, 4, WAV_HEADER_BYTES - 4);
  } finally {
    await handle.close();
  }
}
