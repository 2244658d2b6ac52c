/**
 * RECORDINGINFO, where the core answers it: our simulator's extension, which finds recordings by
 * any Recording column or by IDENT list and names their FILENAME. A real API Server answers it
 * API_UNKNOWN_MESSAGE_TYPE, so the source probes the core once and then stays on or off; a probe
 * the core could not answer (down, timed out) is tried again with the next lookup.
 */
import { findCommand, maxRecordingIdents, recordingColumns } from '../protocol/catalog.js';
import { ResultCode } from '../protocol/result-codes.js';
import { buildRequest, childText, elementsAt, type XmlElement } from '../protocol/xml.js';
import type { AskCore } from './call-list.js';
import {
  RecordingLookupError,
  ownFieldNames,
  recordIdPattern,
  type FoundRecording,
  type LookupContext,
  type RecordingSource,
  type RecordingSourceStatus,
} from './recording.js';

const recordingList = findCommand('RECORDINGINFO')!.result.lists[0]!;

function foundRecording(recording: XmlElement): FoundRecording {
  const text = (name: string): string => childText(recording, name)?.trim() ?? '';
  const seconds = (name: string): number | undefined => (/^[0-9]{1,15}$/.test(text(name)) ? Number(text(name)) : undefined);
  return {
    recordId: text('RECORDID'),
    filename: text('FILENAME'),
    durationSeconds: seconds('DURATION'),
    recordingTime: seconds('RECORDINGTIME'),
    fields: recording.children.filter((c) => !ownFieldNames.has(c.name.toUpperCase())).map((c) => [c.name.toUpperCase(), c.text.trim()] as const),
    source: 'recordinginfo',
  };
}

export class RecordingInfoSource implements RecordingSource {
  readonly name = 'recordinginfo' as const;
  readonly authoritative = true;
  readonly lookupColumns: ReadonlySet<string> = new Set(recordingColumns);
  private answered: boolean | undefined;
  private probing: Promise<boolean> | undefined;

  constructor(private readonly ask: AskCore) {}

  status(): RecordingSourceStatus {
    const detail =
      this.answered === undefined
        ? 'RECORDINGINFO of the XML core, not probed yet'
        : this.answered
          ? 'RECORDINGINFO of the XML core (an extension the core answers)'
          : 'the XML core does not answer RECORDINGINFO (API_UNKNOWN_MESSAGE_TYPE), as a real API Server';
    return { name: this.name, active: this.answered === true, detail };
  }

  async usable(context: LookupContext): Promise<boolean> {
    if (this.answered !== undefined) return this.answered;
    this.probing ??= this.probe(context).finally(() => (this.probing = undefined));
    return this.probing;
  }

  /** Ask for ident 0, which no recording has: any answer but API_UNKNOWN_MESSAGE_TYPE means the core serves it. */
  private async probe(context: LookupContext): Promise<boolean> {
    const answer = await this.ask({ type: 'RECORDINGINFO', requestId: context.requestId, xml: buildRequest('RECORDINGINFO', context.requestId, [['IDENT', '0']]) }, context.signal);
    this.answered = answer.resultCode !== ResultCode.API_UNKNOWN_MESSAGE_TYPE;
    return this.answered;
  }

  async findByColumn(column: string, value: string, context: LookupContext): Promise<FoundRecording | undefined> {
    const found = await this.lookup([['UNIQUEFIELD', column], ['UNIQUEID', value]], context);
    return found[0];
  }

  async findByIdents(idents: readonly string[], context: LookupContext): Promise<Map<string, FoundRecording>> {
    const wanted = [...new Set(idents.filter((i) => recordIdPattern.test(i)))].slice(0, maxRecordingIdents);
    const byId = new Map<string, FoundRecording>();
    if (wanted.length === 0) return byId;
    for (const recording of await this.lookup([['IDENT', wanted.join(',')]], context)) byId.set(recording.recordId, recording);
    return byId;
  }

  private async lookup(params: [string, string][], context: LookupContext): Promise<FoundRecording[]> {
    const answer = await this.ask({ type: 'RECORDINGINFO', requestId: context.requestId, xml: buildRequest('RECORDINGINFO', context.requestId, params) }, context.signal);
    // Not found is an answer (the recordings found are still listed); anything else is a refusal.
    if (answer.resultCode !== ResultCode.API_OK && answer.resultCode !== ResultCode.API_FILE_NOT_FOUND) {
      if (answer.resultCode === ResultCode.API_UNKNOWN_MESSAGE_TYPE) this.answered = false;
      throw new RecordingLookupError(answer.resultCode ?? ResultCode.API_ERROR_UNKNOWN, answer.resultMessage || answer.resultType);
    }
    return elementsAt(answer.root, recordingList).map(foundRecording).filter((r) => recordIdPattern.test(r.recordId));
  }

  async close(): Promise<void> {}
}
