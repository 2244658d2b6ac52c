/**
 * The recordings room: where a recording is and what it holds, for the WebAPI's exports. The XML
 * API has no command that says where a recording's file is (RECORDINGINFO is an extension of our
 * simulator), so the gateway learns it from the sources a real deployment has: the product's
 * database, the event port's RECORDINGSTOPPED / RECORDINGUPDATE, and the recordings share with the
 * product's file naming, beside RECORDINGINFO where the core answers it. This module is the
 * vocabulary every source speaks; `recording-catalog.ts` tries them in order.
 *
 * This room may use `protocol/` and `core/` (it asks the core CALLLIST and RECORDINGINFO) and knows
 * no HTTP.
 */
import { fieldNameOfColumn, maxRecordingIdents, recordingColumns } from '../protocol/catalog.js';

export { fieldNameOfColumn };
import { ResultCode } from '../protocol/result-codes.js';
import { element, type XmlElement } from '../protocol/xml.js';

/** What an export names: one recording by UNIQUEFIELD + UNIQUEID, or an IDENT list in order. */
export type RecordingSelection = { uniqueField: string; uniqueId: string } | { idents: readonly string[] };

/** One recording as a source found it. */
export interface FoundRecording {
  /** RECORDID: the Recording table's ident. */
  recordId: string;
  /** FILENAME as the product names it (`C:\Recordings\20110131\1111\1111-14-39-50.au`). */
  filename: string;
  /** DURATION in seconds, when the source knows it. */
  durationSeconds: number | undefined;
  /** RECORDINGTIME, the start of the recording, in UNIX seconds, when the source knows it. */
  recordingTime: number | undefined;
  /**
   * The rest of what the source holds of the recording, by the names RECORDINGINFO and CALLLIST use
   * (DEVICEID, AGENTID, USER1...), in a stable order. What a source does not hold is absent.
   */
  fields: ReadonlyArray<readonly [name: string, value: string]>;
  /** Which source answered. */
  source: RecordingSourceName;
  /** Why `filename` is empty: the source knows the recording but found no file for it. */
  unlocated?: string;
}

export type RecordingSourceName = 'database' | 'recordinginfo' | 'index' | 'share';

/** The documented order of the sources: the product's own records first, then what we learn ourselves. */
export const recordingSourceOrder: readonly RecordingSourceName[] = ['database', 'recordinginfo', 'index', 'share'];

/** What a lookup carries to the sources. */
export interface LookupContext {
  /** The REQUESTID of the caller's request, used for the core requests a lookup makes. */
  requestId: string;
  signal?: AbortSignal;
}

/** A source's state, for the startup log, /readyz and /metrics. */
export interface RecordingSourceStatus {
  name: RecordingSourceName;
  /** Whether lookups go to it now. */
  active: boolean;
  /** What it is and why it is (in)active, without credentials. */
  detail: string;
}

export interface RecordingSource {
  readonly name: RecordingSourceName;
  /**
   * Whether it sees the whole Recording table (the database, RECORDINGINFO): what it does not find
   * does not exist, and no later source is asked.
   */
  readonly authoritative: boolean;
  /**
   * The Recording columns UNIQUEFIELD may name with this source (lower-cased); `ident` among them
   * means it also resolves IDENT lists.
   */
  readonly lookupColumns: ReadonlySet<string>;
  status(): RecordingSourceStatus;
  /** Whether lookups should go to it now (RECORDINGINFO: the core answered the probe). */
  usable(context: LookupContext): Promise<boolean>;
  /** The newest recording whose `column` holds `value`, or undefined. */
  findByColumn(column: string, value: string, context: LookupContext): Promise<FoundRecording | undefined>;
  /** The recordings of these idents it knows, by ident; the others are left to the next source. */
  findByIdents(idents: readonly string[], context: LookupContext): Promise<Map<string, FoundRecording>>;
  close(): Promise<void>;
}

/**
 * Why recordings cannot be found: a RESULTCODE of the documented table and a message for the
 * caller (API_INVALID_MESSAGE_FORMAT for a UNIQUEFIELD no source can use, API_FILE_NOT_FOUND for
 * what no source knows, API_DATABASE_QUERY_ERROR for a database that failed).
 */
export class RecordingLookupError extends Error {
  override name = 'RecordingLookupError';
  constructor(
    readonly resultCode: number,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/** A source that could not answer (its database is down, a query timed out). */
export class RecordingSourceFailure extends RecordingLookupError {
  override name = 'RecordingSourceFailure';
  constructor(
    readonly source: RecordingSourceName,
    message: string,
    options?: ErrorOptions,
  ) {
    super(ResultCode.API_DATABASE_QUERY_ERROR, message, options);
  }
}

const knownColumns = new Set(recordingColumns);

/** UNIQUEFIELD as a Recording column (the manual prints `Ident`, `Calldirection`, `mediaLabel`), or undefined. */
export function recordingColumnOf(uniqueField: string): string | undefined {
  const column = uniqueField.trim().toLowerCase();
  return knownColumns.has(column) ? column : undefined;
}

/** Recording columns whose values are whole numbers: a UNIQUEID that is not one matches nothing. */
export const integerColumns: ReadonlySet<string> = new Set(['ident', 'audio_size', 'video_size', 'duration', 'wrap_duration']);

/** The most digits a RECORDID has (a 64-bit identity column). */
export const recordIdPattern = /^[0-9]{1,18}$/;

/** IDENT, comma-separated recording IDs in the order asked (repeats kept); RecordingLookupError (16) when it is not one. */
export function parseIdentList(text: string): string[] {
  const idents = text.split(',').map((s) => s.trim()).filter((s) => s !== '');
  const refuse = (message: string): never => {
    throw new RecordingLookupError(ResultCode.API_INVALID_MESSAGE_FORMAT, message);
  };
  if (idents.length === 0) refuse('IDENT names no recording.');
  if (idents.length > maxRecordingIdents) refuse(`IDENT may name at most ${maxRecordingIdents} recordings.`);
  const bad = idents.find((s) => !recordIdPattern.test(s));
  if (bad !== undefined) refuse(`IDENT ${JSON.stringify(bad.slice(0, 40))} is not a recording ID.`);
  return idents;
}

/** The fields FoundRecording holds in its own properties, first in a RECORDING element. */
export const ownFieldNames: ReadonlySet<string> = new Set(['RECORDID', 'FILENAME', 'DURATION', 'RECORDINGTIME']);

/**
 * A recording as RECORDINGINFO writes it: `<RECORDING>` with RECORDID, FILENAME, DURATION and
 * RECORDINGTIME (UNIX seconds, as CALLLIST gives it), then what its source holds.
 */
export function recordingElement(recording: FoundRecording): XmlElement {
  const seconds = (n: number | undefined): string => (n === undefined ? '' : String(n));
  return element('RECORDING', [
    element('RECORDID', recording.recordId),
    element('FILENAME', recording.filename),
    element('DURATION', seconds(recording.durationSeconds)),
    element('RECORDINGTIME', seconds(recording.recordingTime)),
    ...recording.fields.map(([name, value]) => element(name, value)),
  ]);
}
