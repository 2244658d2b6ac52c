/**
 * MULTIEXPORT's ZIP: one entry per recording, written as a stream to whoever reads it (an HTTP
 * response). However many recordings are asked for, memory stays flat: entries are stored (audio
 * is already compressed, or PCM that deflate barely shrinks), exactly one source is open at a
 * time, and a slow reader holds every source back instead of letting them be read ahead.
 * The CAV writer (`cav.ts`) drives its archive through the same `streamZipEntries`.
 */
import type { Archiver } from 'archiver';
import { PassThrough, type Readable } from 'node:stream';
import { finished } from 'node:stream/promises';
// archiver's CRC-32, computed by zlib from here on.
import './native-crc32.js';

export interface ZipEntrySource {
  /** The entry's name inside the ZIP, e.g. `7005-13-35-07.wav`. */
  name: string;
  /** Modification time recorded for the entry; the time of writing when absent. */
  date?: Date;
  /**
   * Size in bytes, when the caller knows it. The writer does not need it (streamed entries carry
   * their sizes in a data descriptor, and ZIP64 is switched on from the real counts); it is here
   * for callers that report progress or log what they exported.
   */
  size?: number;
  /** Opens the entry's bytes. Called only when the previous entry is completely written. */
  open: () => Readable | Promise<Readable>;
}

export interface ZipExportOptions {
  /** Aborting stops the export: the open source is destroyed and the ZIP stream errors. */
  signal?: AbortSignal;
}

/**
 * Memory between the archive and its reader, beyond which archiver stops pulling from the current
 * source (archiver's own default). Measured: at 256 KiB the archive's internal streams stop and
 * start after nearly every 512 KiB chunk of decoded audio, and a MULTIEXPORT of 200 recordings
 * takes half as long again. A download holds a few MiB at most either way.
 */
const archiveHighWaterMark = 1024 * 1024;

/**
 * archiver, loaded with the first ZIP rather than at startup: a gateway that never writes one
 * keeps the 8 MB it takes.
 */
export async function storedZipArchive(): Promise<Archiver> {
  const { ZipArchive } = await import('archiver');
  return new ZipArchive({ store: true, highWaterMark: archiveHighWaterMark });
}

/** A ZIP of the entries, one after another, each stored (not deflated). */
export function multiExportZip(
  entries: AsyncIterable<ZipEntrySource> | Iterable<ZipEntrySource>,
  options: ZipExportOptions = {},
): Readable {
  return streamZipEntries(storedZipArchive, entries, options);
}

/**
 * Feeds entries to an archiver instance one at a time and returns what it writes.
 *
 * Archiver queues appended entries and writes them in order, but a source handed to `append` is a
 * stream the caller already opened: appending all entries up front would open every recording at
 * once. So the next entry is opened only after archiver reports the previous one written (its
 * `entry` event) and the previous source has closed (its file descriptor or decoder released).
 *
 * The archive (made by `createArchive`, which may load archiver first) is piped into a plain Node
 * stream that is returned at once, so the reader gets core stream semantics whatever stream
 * library the archiver version uses, and so destroying it is noticed here: the reader going away
 * (an HTTP client hanging up), the signal aborting, a source or the entry list failing all end in
 * the same `stop`.
 */
export function streamZipEntries(
  createArchive: () => Archiver | Promise<Archiver>,
  entries: AsyncIterable<ZipEntrySource> | Iterable<ZipEntrySource>,
  options: ZipExportOptions = {},
): Readable {
  const { signal } = options;
  // As large as the archive's buffer, so that a 512 KiB chunk passes without a stop.
  const output = new PassThrough({ highWaterMark: 1024 * 1024 });
  let archive: Archiver | undefined;
  let stopped = false;
  let current: Readable | undefined;
  let currentWritten: (() => void) | undefined;

  const stop = (reason?: Error): void => {
    if (stopped) return;
    stopped = true;
    signal?.removeEventListener('abort', onAbort);
    current?.destroy();
    current = undefined;
    currentWritten?.();
    // The entry being written never completes now, so archiver cannot wind down by itself:
    // abort drops its queue, destroy releases what it buffered.
    if (archive) windDown(archive);
    if (!output.destroyed) output.destroy(reason);
  };

  const windDown = (stoppedArchive: Archiver): void => {
    stoppedArchive.abort();
    stoppedArchive.unpipe(output);
    stoppedArchive.destroy();
  };

  const onAbort = (): void => {
    const reason: unknown = signal?.reason;
    stop(reason instanceof Error ? reason : new Error('ZIP export aborted'));
  };

  output.on('close', () => {
    if (!output.readableEnded) stop();
    signal?.removeEventListener('abort', onAbort);
  });

  if (signal?.aborted) {
    onAbort();
    return output;
  }
  signal?.addEventListener('abort', onAbort, { once: true });

  const feed = async (): Promise<void> => {
    const created = await createArchive();
    // Stays attached after stop: an aborted archiver may still report errors (e.g. ABORTED from a
    // late finalize), and an unheard 'error' would crash the process.
    created.on('error', (error) => stop(error));
    if (stopped) return windDown(created);
    archive = created;
    archive.on('entry', () => currentWritten?.());
    archive.pipe(output);
    for await (const entry of entries) {
      if (stopped) return;
      const source = await entry.open();
      if (stopped) {
        source.destroy();
        return;
      }
      current = source;
      // Archiver 8 pipes a source through its own PassThrough and never listens for the source's
      // errors: a failing source would crash the process, or leave the entry waiting for an end
      // that never comes. So an error or a close before the end stops the export here.
      // `finished` also waits for 'close' when the stream will emit one, so the descriptor or
      // decoder is released before the next recording is opened.
      const released = finished(source).then(
        () => true,
        (error: unknown) => {
          stop(error instanceof Error ? error : new Error(`source of ${entry.name} failed`));
          return false;
        },
      );
      const written = new Promise<void>((resolve) => {
        currentWritten = resolve;
      });
      archive.append(source, { name: entry.name, date: entry.date, store: true });
      await written;
      currentWritten = undefined;
      if (stopped || !(await released)) return;
      current = undefined;
    }
    if (stopped) return;
    archive.finalize().catch(() => {
      // Reported through the 'error' event as well, which stops the export.
    });
  };
  feed().catch((error: unknown) => {
    stop(error instanceof Error ? error : new Error(`ZIP export failed: ${String(error)}`));
  });

  return output;
}
