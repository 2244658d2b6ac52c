/**
 * Which recordings an export names, and where their audio is: the recording catalog finds them (by
 * UNIQUEFIELD + UNIQUEID, or by IDENT list, in order), then each FILENAME goes through the path
 * map. Everything is resolved before the first byte of an export is sent, so that a missing
 * recording or file is an XML RESULT naming it, never a cut download.
 */
import type { Stats } from 'node:fs';
import { ResultCode } from '../protocol/result-codes.js';
import type { XmlElement } from '../protocol/xml.js';
import type { RecordingCatalog } from '../recordings/recording-catalog.js';
import { RecordingLookupError, recordingElement, type FoundRecording, type LookupContext, type RecordingSelection } from '../recordings/recording.js';
import { PathMapError, type RecordingFiles } from './recording-files.js';

export interface ExportedRecording {
  recordId: string;
  /** As the product names it (`C:\Recordings\...`). */
  productFile: string;
  /** On this machine. */
  file: string;
  /** The file's stat when it was found: its identity (size, mtime, inode) for validators and caches. */
  fileStat: Stats;
  durationSeconds: number | undefined;
  /** The recording's metadata, as a RECORDING element of the names RECORDINGINFO and CALLLIST use. */
  metadata: XmlElement;
}

export async function resolveRecordings(
  catalog: RecordingCatalog,
  selection: RecordingSelection,
  context: LookupContext,
  files: RecordingFiles,
): Promise<ExportedRecording[]> {
  const recordings = await catalog.find(selection, context);
  const missing: string[] = [];
  const located = new Map<string, Promise<{ path: string; stat: Stats } | undefined>>();
  const locate = (recording: FoundRecording): Promise<{ path: string; stat: Stats } | undefined> => {
    // An IDENT list may repeat a recording: its file is checked once and missing once.
    let file = located.get(recording.recordId);
    if (!file) {
      file = (async () => {
        try {
          if (recording.filename === '') throw new PathMapError(recording.unlocated ?? 'it has no media file');
          return await files.locateFile(recording.filename);
        } catch (error) {
          if (!(error instanceof PathMapError)) throw error;
          missing.push(`${recording.recordId} (${error.message})`);
          return undefined;
        }
      })();
      located.set(recording.recordId, file);
    }
    return file;
  };
  const paths = await Promise.all(recordings.map(locate));
  if (missing.length > 0) throw new RecordingLookupError(ResultCode.API_FILE_NOT_FOUND, `No recording file found for ${missing.join(', ')}.`);
  return recordings.map((recording, i) => ({
    recordId: recording.recordId,
    productFile: recording.filename,
    file: paths[i]!.path,
    fileStat: paths[i]!.stat,
    durationSeconds: recording.durationSeconds,
    metadata: recordingElement(recording),
  }));
}
