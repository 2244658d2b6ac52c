/**
 * CALLLIST, the one command of the product that lists recordings: filters on DEVICEID, DEVICEALIAS,
 * CRM_USER, SYS_USER, GROUP, GATE, ANI, DNIS and USER1..USER15, AND-ed, newest first, at most
 * CALLCOUNT results between CALLDATESTART and CALLDATEEND (UNIX seconds). Each SEARCHRESULT carries
 * RECORDID, DEVICEID, DEVICEALIAS, RECORDINGTIME, DURATION and the call's data, but no FILENAME:
 * that is what the other sources add.
 */
import type { CoreAnswer, CoreRequest } from '../core/connection.js';
import { findCommand, findParam, recordingColumns } from '../protocol/catalog.js';
import { ResultCode } from '../protocol/result-codes.js';
import { buildRequest, childText, elementsAt, type XmlElement } from '../protocol/xml.js';
import { RecordingLookupError, fieldNameOfColumn, ownFieldNames, recordIdPattern, type LookupContext } from './recording.js';

/** How the sources ask the core: the gateway's pool. */
export type AskCore = (request: CoreRequest, signal?: AbortSignal) => Promise<CoreAnswer>;

/** One SEARCHRESULT: RECORDID, RECORDINGTIME and DURATION read, every field kept as sent. */
export interface CallListEntry {
  recordId: string;
  recordingTime: number | undefined;
  durationSeconds: number | undefined;
  deviceId: string;
  deviceAlias: string;
  /**
   * The call's data, by name, in order: every child of the SEARCHRESULT but its position
   * (CALLNUMBER), what the properties above hold, and the product's player link.
   */
  fields: [string, string][];
}

const callListSpec = findCommand('CALLLIST')!;

/**
 * The Recording columns CALLLIST filters on, with the parameter each is sent as: its parameters
 * that name a column (DEVICEID is device_id, GROUP sgroup, USER1..USER15).
 */
export const callListFilterColumns: ReadonlyMap<string, string> = new Map(
  recordingColumns.flatMap((column) => {
    const param = findParam(callListSpec, fieldNameOfColumn(column));
    return param ? [[column, param.name] as const] : [];
  }),
);

const notCallData: ReadonlySet<string> = new Set([...ownFieldNames, 'CALLNUMBER', 'PLAYBACKLINK']);
const searchResults = callListSpec.result.lists[0]!;

/**
 * Whether a filter value could be stored at all: the core refuses a value longer than the
 * parameter's documented length, and no recording holds one.
 */
export function storableFilterValue(param: string, value: string): boolean {
  const maxLength = findParam(callListSpec, param)?.maxLength;
  return maxLength === undefined || value.length <= maxLength;
}

/** A SEARCHRESULT as the core wrote it, with its RECORDID and RECORDINGTIME read. */
export interface SearchResult {
  element: XmlElement;
  recordId: string;
  recordingTime: number | undefined;
}

export interface CallListQuery {
  filters?: ReadonlyArray<readonly [param: string, value: string]>;
  count: number;
  /** UNIX seconds, inclusive. */
  start?: number;
  end?: number;
}

function number(text: string | undefined): number | undefined {
  const value = text?.trim();
  return value && /^-?[0-9]{1,15}$/.test(value) ? Number(value) : undefined;
}

export class CallList {
  constructor(private readonly ask: AskCore) {}

  /**
   * One CALLLIST's SEARCHRESULTs with a RECORDID, as the core wrote them. Throws the pool's
   * CoreError when the core cannot answer, RecordingLookupError when it refuses.
   */
  async searchResults(query: CallListQuery, context: LookupContext): Promise<SearchResult[]> {
    const params: [string, string][] = [...(query.filters ?? []).map(([p, v]) => [p, v] as [string, string]), ['CALLCOUNT', String(query.count)]];
    if (query.start !== undefined) params.push(['CALLDATESTART', String(Math.floor(query.start))]);
    if (query.end !== undefined) params.push(['CALLDATEEND', String(Math.floor(query.end))]);
    const answer = await this.ask({ type: 'CALLLIST', requestId: context.requestId, xml: buildRequest('CALLLIST', context.requestId, params) }, context.signal);
    if (answer.resultCode !== undefined && answer.resultCode !== ResultCode.API_OK) {
      throw new RecordingLookupError(answer.resultCode, `CALLLIST was refused: ${answer.resultMessage || answer.resultType}`);
    }
    const results: SearchResult[] = [];
    for (const element of elementsAt(answer.root, searchResults)) {
      const recordId = childText(element, 'RECORDID')?.trim() ?? '';
      if (recordIdPattern.test(recordId)) results.push({ element, recordId, recordingTime: number(childText(element, 'RECORDINGTIME')) });
    }
    return results;
  }

  /** One CALLLIST, each SEARCHRESULT read. */
  async query(query: CallListQuery, context: LookupContext): Promise<CallListEntry[]> {
    return (await this.searchResults(query, context)).map(({ element, recordId, recordingTime }) => {
      const fields: [string, string][] = [];
      for (const child of element.children) {
        const name = child.name.toUpperCase();
        if (!notCallData.has(name)) fields.push([name, child.text.trim()]);
      }
      return {
        recordId,
        recordingTime,
        durationSeconds: number(childText(element, 'DURATION')),
        deviceId: childText(element, 'DEVICEID')?.trim() ?? '',
        deviceAlias: childText(element, 'DEVICEALIAS')?.trim() ?? '',
        fields,
      };
    });
  }

  /**
   * Walk the recordings newest first, `pageSize` at a time, moving CALLDATEEND back to the oldest
   * time of each page (inclusive, so a second split across pages is read again and deduplicated),
   * until `wanted` says stop, the history ends, or `limit` recordings were read.
   * Returns whether the history was read to its end.
   */
  async scan(pageSize: number, limit: number, context: LookupContext, visit: (entry: CallListEntry) => boolean): Promise<boolean> {
    const seen = new Set<string>();
    let end: number | undefined;
    while (seen.size < limit) {
      const page = await this.query({ count: pageSize, ...(end !== undefined ? { end } : {}) }, context);
      let fresh = 0;
      for (const entry of page) {
        if (seen.has(entry.recordId)) continue;
        seen.add(entry.recordId);
        fresh++;
        if (!visit(entry)) return false;
      }
      if (page.length < pageSize) return true;
      const oldest = Math.min(...page.map((e) => e.recordingTime ?? Infinity));
      // A full page within one second, or without times, cannot be paged past.
      if (fresh === 0 || !Number.isFinite(oldest) || oldest === end) return false;
      end = oldest;
    }
    return false;
  }
}
