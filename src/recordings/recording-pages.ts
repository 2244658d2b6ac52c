/**
 * Recordings page by page, newest first, on CALLLIST: the walk a REST client makes with `limit` and
 * a cursor. CALLLIST has no offset, only CALLCOUNT (the newest N) and CALLDATESTART / CALLDATEEND
 * (inclusive UNIX seconds), and many recordings may share a second. So a page is cut in (time,
 * RECORDID) order, newest first, and the cursor says where the walk stands: the second of the last
 * recording delivered and, when the page ended inside that second, its RECORDID. The next page
 * reads that second whole (its order within a second is the core's, so it is sorted here), then
 * what lies strictly below. A recording that arrives while a client pages is met if it lies below
 * the cursor and was never before it, so a walk has no repeats and no gaps.
 *
 * The last second of an answer cut by CALLCOUNT may be incomplete: its recordings are left to the
 * next page, which reads that second whole.
 */
import { ResultCode } from '../protocol/result-codes.js';
import type { CallList, CallListQuery, SearchResult } from './call-list.js';
import { RecordingLookupError, recordIdPattern, type LookupContext } from './recording.js';

/** Where a walk stands: every recording newer than `second`, and at `second` those from `before` up, were delivered. */
export interface PageCursor {
  second: number;
  /** The RECORDID the page ended on inside `second`; absent, the whole of `second` is still to come. */
  before?: string;
}

export interface PageQuery {
  /** CALLLIST's filters other than CALLCOUNT and the dates. */
  filters: ReadonlyArray<readonly [param: string, value: string]>;
  /** The caller's CALLDATESTART and CALLDATEEND, UNIX seconds, inclusive. */
  start?: number;
  end?: number;
  limit: number;
  cursor?: PageCursor;
}

export interface RecordingPage {
  results: SearchResult[];
  next: PageCursor | undefined;
}

export const pageLimits = { defaultLimit: 100, maxLimit: 500 } as const;

/**
 * Recordings one second may hold for a walk to pass it: the most one CALLLIST is asked for (the
 * simulator, like a cautious core, answers no more than 1000 at once).
 */
export const maxRecordingsPerSecond = 999;

/** RECORDIDs compared as the integers they are. */
function compareIds(a: string, b: string): number {
  const x = a.replace(/^0+(?=\d)/, '');
  const y = b.replace(/^0+(?=\d)/, '');
  return x.length - y.length || (x < y ? -1 : x > y ? 1 : 0);
}

type Timed = SearchResult & { recordingTime: number };

/** Newest first; within a second, highest RECORDID first. */
const newestFirst = (a: Timed, b: Timed): number => b.recordingTime - a.recordingTime || compareIds(b.recordId, a.recordId);

export class RecordingPages {
  constructor(private readonly callList: CallList) {}

  private async read(page: PageQuery, bounds: { start?: number; end?: number; count: number }, context: LookupContext): Promise<Timed[]> {
    const query: CallListQuery = { filters: page.filters, count: bounds.count };
    const start = Math.max(page.start ?? -Infinity, bounds.start ?? -Infinity);
    if (Number.isFinite(start)) query.start = start;
    if (bounds.end !== undefined) query.end = bounds.end;
    const results = await this.callList.searchResults(query, context);
    // A result without a time cannot be placed in the walk; the core always writes RECORDINGTIME.
    return results.filter((r): r is Timed => r.recordingTime !== undefined && (bounds.end === undefined || r.recordingTime <= bounds.end)).sort(newestFirst);
  }

  /** Every recording of one second, highest RECORDID first. */
  private async wholeSecond(page: PageQuery, second: number, context: LookupContext): Promise<Timed[]> {
    const results = await this.read(page, { start: second, end: second, count: maxRecordingsPerSecond + 1 }, context);
    if (results.length > maxRecordingsPerSecond) {
      throw new RecordingLookupError(
        ResultCode.API_ERROR_PROCESSING_MESSAGE,
        `More than ${maxRecordingsPerSecond} recordings match at one second (${second}); narrow the filters to page past it.`,
      );
    }
    return results.filter((r) => r.recordingTime === second);
  }

  /** What follows a page that ends with `last`, `following` being the next recording if any. */
  private nextAfter(page: PageQuery, last: Timed, following: Timed | undefined): PageCursor | undefined {
    if (following === undefined) return undefined;
    if (following.recordingTime === last.recordingTime) return { second: last.recordingTime, before: last.recordId };
    return this.below(page, last.recordingTime);
  }

  /** The cursor of "everything strictly below this second", or undefined when the caller's range ends there. */
  private below(page: PageQuery, second: number): PageCursor | undefined {
    const next = second - 1;
    return next < 0 || (page.start !== undefined && next < page.start) ? undefined : { second: next };
  }

  async page(page: PageQuery, context: LookupContext): Promise<RecordingPage> {
    const { limit, cursor } = page;
    let head: Timed[] = [];
    let end: number | undefined = page.end;
    if (cursor?.before !== undefined) {
      const before = cursor.before;
      head = (await this.wholeSecond(page, cursor.second, context)).filter((r) => compareIds(r.recordId, before) < 0);
      if (head.length > limit) return { results: head.slice(0, limit), next: { second: cursor.second, before: head[limit - 1]!.recordId } };
      end = cursor.second - 1;
    } else if (cursor) {
      end = cursor.second;
    }
    if (page.end !== undefined && end !== undefined) end = Math.min(end, page.end);

    const want = limit + 1 - head.length;
    const exhausted = end !== undefined && (end < 0 || (page.start !== undefined && end < page.start));
    const tail = exhausted ? [] : await this.read(page, { ...(end !== undefined ? { end } : {}), count: want }, context);
    // Cut by CALLCOUNT: the oldest second of the answer may hold more than it shows.
    const cut = tail.length >= want ? tail[tail.length - 1]!.recordingTime : undefined;
    const complete = cut === undefined ? tail : tail.filter((r) => r.recordingTime > cut);
    const all = [...head, ...complete];

    if (all.length > limit) {
      const results = all.slice(0, limit);
      return { results, next: this.nextAfter(page, results[limit - 1]!, all[limit]) };
    }
    if (cut === undefined) return { results: all, next: undefined };
    // Everything at and above the last second delivered is complete; what follows starts below it.
    if (all.length > 0) return { results: all, next: this.below(page, all[all.length - 1]!.recordingTime) };
    // Every recording of the answer is in its oldest second: read that second whole now.
    const second = await this.wholeSecond(page, cut, context);
    if (second.length > limit) {
      const results = second.slice(0, limit);
      return { results, next: { second: cut, before: results[limit - 1]!.recordId } };
    }
    return { results: second, next: this.below(page, cut) };
  }
}

/** The cursor as an opaque token for a URL. */
export function encodeCursor(cursor: PageCursor): string {
  return Buffer.from(cursor.before === undefined ? `${cursor.second}` : `${cursor.second}.${cursor.before}`).toString('base64url');
}

/** A token of encodeCursor, or undefined when it is not one. */
export function decodeCursor(token: string): PageCursor | undefined {
  if (token.length > 64 || !/^[A-Za-z0-9_-]+$/.test(token)) return undefined;
  const match = /^(\d{1,12})(?:\.(\d{1,18}))?$/.exec(Buffer.from(token, 'base64url').toString('latin1'));
  if (!match) return undefined;
  const before = match[2];
  if (before !== undefined && !recordIdPattern.test(before)) return undefined;
  return before === undefined ? { second: Number(match[1]) } : { second: Number(match[1]), before };
}
