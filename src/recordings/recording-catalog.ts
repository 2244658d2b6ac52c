/**
 * The recording catalog: one lookup over the configured sources, in their documented order
 * (`recordingSourceOrder`: the product database, RECORDINGINFO, the event index, the share).
 *
 * - UNIQUEFIELD + UNIQUEID: the first source that can look up by that column and finds a recording
 *   answers. A column of the Recording table that no active source holds is refused (16) with the
 *   columns that can be used; a known column is never passed on as text, only as a name of the
 *   allow-list.
 * - IDENT list: each source is asked once for the idents still missing, so a MULTIEXPORT costs one
 *   round trip per source at most. The answer keeps the order asked, repeats included.
 * - An authoritative source (one that sees the whole Recording table) that answers ends the lookup.
 *   A source that fails is skipped; if nothing is found after it, its failure is the answer, since
 *   "not found" would not be the truth.
 */
import { ResultCode } from '../protocol/result-codes.js';
import {
  RecordingLookupError,
  recordingColumnOf,
  type FoundRecording,
  type LookupContext,
  type RecordingSelection,
  type RecordingSource,
  type RecordingSourceName,
  type RecordingSourceStatus,
} from './recording.js';

export type LookupOutcome = 'found' | 'missed' | 'failed';

/** Told of every question put to a source, and of its failure: for the metrics and the log. */
export type LookupObserver = (source: RecordingSourceName, outcome: LookupOutcome, seconds: number, failure?: unknown) => void;

export class RecordingCatalog {
  constructor(
    readonly sources: readonly RecordingSource[],
    private readonly observe: LookupObserver = () => undefined,
  ) {}

  /**
   * Ask each source whether it can be used now (RECORDINGINFO probes the core), so that the startup
   * log and /readyz tell the truth from the start. A source that cannot tell yet is asked again
   * with the next lookup.
   */
  async warmUp(): Promise<void> {
    await Promise.all(this.sources.map((s) => s.usable({ requestId: '1' }).catch(() => false)));
  }

  statuses(): RecordingSourceStatus[] {
    return this.sources.map((s) => s.status());
  }

  /**
   * The recordings a selection names, in order. Throws RecordingLookupError (16, 41, 23), or the
   * pool's CoreError when the core, needed by every source that could answer, failed.
   */
  async find(selection: RecordingSelection, context: LookupContext): Promise<FoundRecording[]> {
    return 'idents' in selection ? this.findIdents(selection.idents, context) : this.findByField(selection.uniqueField, selection.uniqueId, context);
  }

  private async usableSources(context: LookupContext, failures: unknown[]): Promise<RecordingSource[]> {
    const usable: RecordingSource[] = [];
    for (const source of this.sources) {
      try {
        if (await source.usable(context)) usable.push(source);
      } catch (error) {
        failures.push(error);
      }
    }
    return usable;
  }

  private async findByField(uniqueField: string, value: string, context: LookupContext): Promise<FoundRecording[]> {
    const column = recordingColumnOf(uniqueField);
    if (!column) {
      throw new RecordingLookupError(ResultCode.API_INVALID_MESSAGE_FORMAT, `UNIQUEFIELD ${JSON.stringify(uniqueField.slice(0, 64))} is not a column of the Recording table.`);
    }
    const failures: unknown[] = [];
    const usable = await this.usableSources(context, failures);
    const able = usable.filter((s) => s.lookupColumns.has(column));
    if (able.length === 0 && failures.length === 0) {
      const columns = [...new Set(usable.flatMap((s) => [...s.lookupColumns]))].sort();
      throw new RecordingLookupError(
        ResultCode.API_INVALID_MESSAGE_FORMAT,
        `UNIQUEFIELD ${column} cannot be looked up without the product database (RECORDINGS_DB_URL); here it may be one of ${columns.join(', ')}.`,
      );
    }
    let settled = false;
    let unlocated: FoundRecording | undefined;
    for (const source of able) {
      const found = await this.ask(source, failures, () => source.findByColumn(column, value, context), (r) => r !== undefined);
      if (found && (found.filename !== '' || source.authoritative)) return [found];
      // Known but without a file (the share found two): a later source may know where it is.
      unlocated ??= found ?? undefined;
      if (found === undefined && source.authoritative) {
        settled = true;
        break;
      }
    }
    if (unlocated) return [unlocated];
    if (!settled && failures.length > 0) throw failures[0];
    throw new RecordingLookupError(ResultCode.API_FILE_NOT_FOUND, `No recording has ${column} = ${JSON.stringify(value.slice(0, 255))}.`);
  }

  private async findIdents(idents: readonly string[], context: LookupContext): Promise<FoundRecording[]> {
    const failures: unknown[] = [];
    const usable = (await this.usableSources(context, failures)).filter((s) => s.lookupColumns.has('ident'));
    const found = new Map<string, FoundRecording>();
    // Known but without a file: kept in case no later source knows where it is.
    const unlocated = new Map<string, FoundRecording>();
    const missing = () => [...new Set(idents)].filter((i) => !found.has(i));
    let settled = false;
    for (const source of usable) {
      const wanted = missing();
      if (wanted.length === 0) break;
      const answer = await this.ask(source, failures, () => source.findByIdents(wanted, context), (r) => r.size > 0);
      if (answer === null) continue;
      for (const [ident, recording] of answer) {
        if (recording.filename !== '' || source.authoritative) found.set(ident, recording);
        else if (!unlocated.has(ident)) unlocated.set(ident, recording);
      }
      if (source.authoritative) {
        settled = true;
        break;
      }
    }
    for (const [ident, recording] of unlocated) if (!found.has(ident)) found.set(ident, recording);
    const absent = missing();
    if (absent.length > 0) {
      if (!settled && failures.length > 0) throw failures[0];
      throw new RecordingLookupError(ResultCode.API_FILE_NOT_FOUND, `No recording found for ${absent.join(', ')}.`);
    }
    return idents.map((i) => found.get(i)!);
  }

  /** One question to a source, timed and counted; null when it failed (the failure is kept). */
  private async ask<T>(source: RecordingSource, failures: unknown[], question: () => Promise<T>, isFound: (answer: T) => boolean): Promise<T | null> {
    const started = performance.now();
    try {
      const answer = await question();
      this.observe(source.name, isFound(answer) ? 'found' : 'missed', (performance.now() - started) / 1000);
      return answer;
    } catch (error) {
      this.observe(source.name, 'failed', (performance.now() - started) / 1000, error);
      failures.push(error);
      return null;
    }
  }

  async close(): Promise<void> {
    await Promise.all(this.sources.map((s) => s.close()));
  }
}
