/**
 * Which recordings an export names, and where their audio is: the core answers RECORDINGINFO (by
 * UNIQUEFIELD + UNIQUEID, or by IDENT list, in order), then each FILENAME goes through the path
 * map. Everything is resolved before the first byte of an export is sent, so that a missing
 * recording or file is an XML RESULT naming it, never a cut download.
 */
import { ResultCode } from '../protocol/result-codes.js';
import { findCommand } from '../protocol/catalog.js';
import { buildRequest, childText, elementsAt, type XmlElement } from '../protocol/xml.js';
import type { CoreAnswer, CoreRequest } from '../core/connection.js';
import { PathMapError, type RecordingFiles } from './recording-files.js';

export interface ExportedRecording {
  recordId: string;
  /** As the core names it (`C:\Recordings\...`). */
  productFile: string;
  /** On this machine. */
  file: string;
  durationSeconds: number;
  /** The RECORDING element of the core's answer: the recording's metadata. */
  metadata: XmlElement;
}

export type Selection = { uniqueField: string; uniqueId: string } | { idents: string[] };

/** Why the recordings cannot be exported: a result code of the documented table and what is missing. */
export class ResolutionError extends Error {
  override name = 'ResolutionError';
  constructor(
    readonly resultCode: number,
    message: string,
  ) {
    super(message);
  }
}

/** Where RECORDINGINFO's answer lists the recordings, as the catalog says. */
const recordingList = findCommand('RECORDINGINFO')!.result.lists[0]!;

export async function resolveRecordings(
  ask: (request: CoreRequest) => Promise<CoreAnswer>,
  requestId: string,
  selection: Selection,
  files: RecordingFiles,
): Promise<ExportedRecording[]> {
  const params = 'idents' in selection ? [['IDENT', selection.idents.join(',')] as const] : [
    ['UNIQUEFIELD', selection.uniqueField] as const,
    ['UNIQUEID', selection.uniqueId] as const,
  ];
  const answer = await ask({ type: 'RECORDINGINFO', requestId, xml: buildRequest('RECORDINGINFO', requestId, params) });
  if (answer.resultCode === ResultCode.API_UNKNOWN_MESSAGE_TYPE) {
    throw new ResolutionError(ResultCode.API_COMMAND_NOT_SUPPORTED, 'The XML core does not answer RECORDINGINFO, which exports need to find recordings.');
  }
  if (answer.resultCode !== ResultCode.API_OK) {
    throw new ResolutionError(answer.resultCode ?? ResultCode.API_ERROR_UNKNOWN, answer.resultMessage || answer.resultType);
  }
  const list = elementsAt(answer.root, recordingList);
  if (list.length === 0) throw new ResolutionError(ResultCode.API_FILE_NOT_FOUND, 'No recording matches the request.');
  const missing: string[] = [];
  const found = await Promise.all(
    list.map(async (recording): Promise<ExportedRecording | undefined> => {
      const recordId = childText(recording, 'RECORDID')?.trim() ?? '';
      const productFile = childText(recording, 'FILENAME')?.trim() ?? '';
      try {
        if (productFile === '') throw new PathMapError('it has no media file');
        const file = await files.locate(productFile);
        return { recordId, productFile, file, durationSeconds: Number(childText(recording, 'DURATION') ?? 0), metadata: recording };
      } catch (error) {
        if (!(error instanceof PathMapError)) throw error;
        missing.push(`${recordId} (${error.message})`);
        return undefined;
      }
    }),
  );
  if (missing.length > 0) throw new ResolutionError(ResultCode.API_FILE_NOT_FOUND, `No recording file found for ${missing.join(', ')}.`);
  return found as ExportedRecording[];
}
