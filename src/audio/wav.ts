/**
 * The WAV container: writing a RIFF/WAVE header, finding the format and the samples of a file, and
 * streaming a file's samples as 16-bit little-endian PCM (G.711 decoded on the way). The gateway's
 * WAV exports and the simulator's recordings share it.
 *
 * Everything here streams in bounded chunks with back-pressure: a one-hour recording never exists
 * in memory, and a client that reads slowly slows the disk reads down instead of filling a buffer.
 */
import fs from 'node:fs';
import os from 'node:os';
import { Readable } from 'node:stream';
import { mediaChunks, type ChunkPool } from './chunk-pool.js';
import { decodeG711, type G711Law } from './g711-decoder.js';

export type WavEncoding = 'pcm16' | 'mulaw' | 'alaw';

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

/** A span of bytes, both ends inclusive, as in an HTTP Range header. */
export interface ByteRange {
  start: number;
  end: number;
}

// WAVE_FORMAT_* tags of the fmt chunk.
const FORMAT_PCM = 1;
const FORMAT_ALAW = 6;
const FORMAT_MULAW = 7;
const FORMAT_EXTENSIBLE = 0xfffe;

/** 256 KiB of file per read: each read is a round trip to the thread pool, so fewer and larger reads
 * stream faster; G.711 doubles it, so no chunk handed on exceeds 512 KiB. */
const READ_BYTES = 256 * 1024;

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

export function bytesPerSampleOf(encoding: WavEncoding): number {
  return encoding === 'pcm16' ? 2 : 1;
}

// WAV is little-endian; typed arrays use the host's order.
const BIG_ENDIAN_HOST = os.endianness() === 'BE';

/**
 * The bytes of `samples` in WAV's little-endian order: a view on the same memory, which on a
 * big-endian host is byte-swapped in place (the samples are not to be used afterwards).
 */
export function littleEndianBytes(samples: Int16Array): Buffer {
  const bytes = Buffer.from(samples.buffer, samples.byteOffset, samples.byteLength);
  return BIG_ENDIAN_HOST ? bytes.swap16() : bytes;
}

/**
 * The RIFF/WAVE header of a file whose data chunk holds `dataBytes` bytes; the samples follow it
 * directly. 16-bit PCM gets the canonical 44-byte header; G.711 is a non-PCM format, for which WAV
 * wants an 18-byte fmt chunk (cbSize = 0) and a fact chunk with the sample count per channel
 * (58 bytes in all). When `dataBytes` is odd the caller writes one padding byte after the data
 * (counted in the RIFF size here).
 */
export function wavHeader(dataBytes: number, encoding: WavEncoding, sampleRate = 8000, channels = 1): Buffer {
  const pcm = encoding === 'pcm16';
  const blockAlign = bytesPerSampleOf(encoding) * channels;
  const fmtBytes = pcm ? 16 : 18;
  const headerBytes = 12 + 8 + fmtBytes + (pcm ? 0 : 12) + 8;
  const padded = dataBytes + (dataBytes % 2);
  if (!Number.isInteger(dataBytes) || dataBytes < 0 || headerBytes - 8 + padded > 0xffffffff) {
    throw new RangeError(`a WAV data chunk cannot hold ${dataBytes} bytes`);
  }
  if (!Number.isInteger(channels) || channels < 1 || channels > 0xffff || !Number.isInteger(sampleRate) || sampleRate < 1 || sampleRate * blockAlign > 0xffffffff) {
    throw new RangeError(`a WAV file cannot be ${channels}-channel ${sampleRate} Hz audio`);
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
  u16(channels);
  u32(sampleRate);
  u32(sampleRate * blockAlign);
  u16(blockAlign);
  u16(bytesPerSampleOf(encoding) * 8);
  if (!pcm) {
    u16(0);
    tag('fact');
    u32(4);
    u32(Math.floor(dataBytes / blockAlign));
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
  return {
    encoding,
    sampleRate,
    channels,
    dataOffset,
    dataBytes,
    durationSeconds: framesOf({ encoding, channels, dataBytes }) / sampleRate,
  };
}

/** Whole sample frames (one sample of every channel) in the data; a cut-off last frame is not one. */
function framesOf(info: Pick<WavInfo, 'encoding' | 'channels' | 'dataBytes'>): number {
  return Math.floor(info.dataBytes / (info.channels * bytesPerSampleOf(info.encoding)));
}

/** Bytes of 16-bit PCM that the samples of `info` decode to: what pcm16Stream gives without a range. */
export function pcm16ByteLength(info: WavInfo): number {
  return framesOf(info) * info.channels * 2;
}

/**
 * Bytes of a 16-bit PCM WAV holding the samples of `info`: `wavHeader(pcm16ByteLength(info),
 * 'pcm16', rate, channels)` followed by `pcm16Stream(file, info)`. Known before a sample is read,
 * so that an HTTP response can carry a Content-Length and answer Range requests. Throws a
 * RangeError when the samples would not fit in a WAV file.
 */
export function wavExportSize(info: WavInfo): number {
  const pcmBytes = pcm16ByteLength(info);
  return wavHeader(pcmBytes, 'pcm16', info.sampleRate, info.channels).length + pcmBytes;
}

/**
 * The samples of a WAV file as 16-bit little-endian PCM, read from disk as the consumer takes them.
 * `range` picks bytes of that PCM (both ends inclusive, as in HTTP), not of the file: for 16-bit
 * sources they are the file's own bytes, for G.711 each file byte becomes two. Throws a RangeError
 * at once for a range outside the PCM; errors reading the file arrive on the stream, and destroying
 * the stream closes the file. The chunks are lent from `chunks` (see chunk-pool.ts): a consumer
 * that gives them back once written has the export carried by a few buffers.
 */
export function pcm16Stream(file: string, info: WavInfo, range?: ByteRange, chunks = mediaChunks): Readable {
  const pcmBytes = pcm16ByteLength(info);
  if (!range && pcmBytes === 0) return Readable.from([]);
  const { start, end } = range ?? { start: 0, end: pcmBytes - 1 };
  if (!Number.isInteger(start) || !Number.isInteger(end) || start < 0 || start > end || end >= pcmBytes) {
    throw new RangeError(`bytes ${start}-${end} are not within the ${pcmBytes} bytes of 16-bit audio of ${file}`);
  }
  if (info.encoding === 'pcm16') return new Pcm16FileReader(file, info.dataOffset + start, end - start + 1, chunks);
  // PCM byte b comes from code b >> 1: decode the codes spanning the range, then trim the halves.
  return new G711FileDecoder(file, info.encoding, chunks, {
    position: info.dataOffset + (start >> 1),
    codes: (end >> 1) - (start >> 1) + 1,
    skip: start & 1,
    length: end - start + 1,
  });
}

/**
 * A span of a file, read in turn into buffers of at most READ_BYTES that a subclass turns into
 * chunks. The file is opened when the stream is constructed and closed when it is destroyed.
 */
abstract class FileSpanReader extends Readable {
  private fd: number | undefined;
  private position: number;
  private bytesLeft: number;
  /** A read is in the thread pool: the file is closed only after it, or its descriptor could be reused under it. */
  private reading = false;
  private afterRead: (() => void) | undefined;

  constructor(
    private readonly file: string,
    span: { position: number; bytes: number },
    highWaterMark: number,
  ) {
    super({ highWaterMark });
    this.position = span.position;
    this.bytesLeft = span.bytes;
  }

  /** Where the next read goes: at most its length is read. */
  protected abstract target(): Buffer;
  /** Pushes what a read brought, the first `got` bytes of `target`; false when nothing more is wanted. */
  protected abstract deliver(target: Buffer, got: number): boolean;
  /** `target` brought nothing (end of file or an error). */
  protected unused(_target: Buffer): void {}
  /** The stream is destroyed and no read is pending: buffers of its own can be reused. */
  protected released(): void {}

  override _construct(callback: (error?: Error | null) => void): void {
    fs.open(this.file, 'r', (error, fd) => {
      this.fd = fd;
      callback(error);
    });
  }

  override _read(): void {
    const target = this.target();
    this.reading = true;
    fs.read(this.fd!, target, 0, Math.min(target.length, this.bytesLeft), this.position, (error, got) => {
      this.reading = false;
      if (this.afterRead) return this.afterRead();
      if (error || got === 0) {
        this.unused(target);
        // A file shorter than its header said ends with what there was.
        return error ? this.destroy(error) : this.push(null);
      }
      this.position += got;
      this.bytesLeft -= got;
      if (!this.deliver(target, got) || this.bytesLeft === 0) this.push(null);
    });
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    const close = (): void => {
      this.released();
      if (this.fd === undefined) return callback(error);
      fs.close(this.fd, () => callback(error));
    };
    if (this.reading) this.afterRead = close;
    else close();
  }
}

/** 16-bit PCM as the file holds it, each read in a buffer of the pool. */
class Pcm16FileReader extends FileSpanReader {
  constructor(
    file: string,
    position: number,
    bytes: number,
    private readonly chunks: ChunkPool,
  ) {
    super(file, { position, bytes }, READ_BYTES);
  }

  protected override target(): Buffer {
    return this.chunks.take(READ_BYTES);
  }

  protected override deliver(target: Buffer, got: number): boolean {
    this.push(this.chunks.lend(target, 0, got));
    return true;
  }

  protected override unused(target: Buffer): void {
    this.chunks.putBack(target);
  }
}

/**
 * G.711 codes of a file decoded to 16-bit PCM as the consumer reads. The codes are read into one
 * buffer of the pool, used for every read and given back when the stream is destroyed, and decoded
 * into buffers of the pool.
 */
class G711FileDecoder extends FileSpanReader {
  private readonly codes: Buffer;
  private toSkip: number;
  private pcmBytesLeft: number;

  constructor(
    file: string,
    private readonly law: G711Law,
    private readonly chunks: ChunkPool,
    range: { position: number; codes: number; skip: number; length: number },
  ) {
    super(file, { position: range.position, bytes: range.codes }, 2 * READ_BYTES);
    this.codes = chunks.take(READ_BYTES);
    this.toSkip = range.skip;
    this.pcmBytesLeft = range.length;
  }

  protected override target(): Buffer {
    return this.codes;
  }

  protected override released(): void {
    this.chunks.putBack(this.codes);
  }

  protected override deliver(codes: Buffer, got: number): boolean {
    const samples = this.chunks.take(2 * codes.length);
    decodeG711(codes.subarray(0, got), this.law, samples);
    const end = Math.min(2 * got, this.toSkip + this.pcmBytesLeft);
    if (end > this.toSkip) {
      this.push(this.chunks.lend(samples, this.toSkip, end));
      this.pcmBytesLeft -= end - this.toSkip;
    } else {
      this.chunks.putBack(samples);
    }
    this.toSkip = 0;
    return this.pcmBytesLeft > 0;
  }
}

/**
 * The samples of a WAV file as 16-bit little-endian PCM, in chunks of at most 512 KiB. `info` is
 * the file's readWavInfo when the caller already has it (so what it counted is what gets streamed);
 * without it the header is read at the call, which throws at once for a file that is not a WAV.
 */
export async function* decodeWavToPcm16(file: string, info: WavInfo = readWavInfo(file)): AsyncGenerator<Buffer> {
  yield* pcm16Stream(file, info) as AsyncIterable<Buffer>;
}
