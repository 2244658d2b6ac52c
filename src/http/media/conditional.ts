/**
 * What a request for a whole media file asks of it (RFC 9110): a 304 when the caller's copy is
 * current (If-None-Match, If-Modified-Since, through `fresh`), one byte range (Range, `range-parser`)
 * unless If-Range names another version, 416 past the end. Multiple ranges get the whole file, which
 * RFC 9110 allows and every player accepts.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import fresh from 'fresh';
import rangeParser from 'range-parser';

/** A file's validators and length, known before its bytes are sent. */
export interface MediaRepresentation {
  size: number;
  /** A strong ETag, quoted. */
  etag: string;
  lastModified: Date;
}

export type MediaAnswer = { kind: 'not-modified' } | { kind: 'unsatisfiable' } | { kind: 'whole' } | { kind: 'part'; start: number; end: number };

/** The validators as response headers (also on a 304, which must carry the ETag). */
export function setValidators(reply: FastifyReply, representation: Pick<MediaRepresentation, 'etag' | 'lastModified'>): void {
  reply.header('etag', representation.etag).header('last-modified', representation.lastModified.toUTCString());
}

/** Whether the caller's copy is the current one: 304 Not Modified, before anything is made. */
export function notModified(request: FastifyRequest, representation: Pick<MediaRepresentation, 'etag' | 'lastModified'>): boolean {
  const { 'if-none-match': ifNoneMatch, 'if-modified-since': ifModifiedSince } = request.headers;
  if (ifNoneMatch === undefined && ifModifiedSince === undefined) return false;
  // Only the conditions: `fresh` also answers "stale" to Cache-Control: no-cache, a directive for
  // caches on the way (RFC 9111) that an origin evaluating preconditions does not heed (RFC 9110
  // 13.2.1), and that fetch() adds to every conditional request a script makes.
  return fresh({ 'if-none-match': ifNoneMatch, 'if-modified-since': ifModifiedSince }, { etag: representation.etag, 'last-modified': representation.lastModified.toUTCString() });
}

/**
 * If-Range holds when it is this file's ETag (compared strongly: a weak one never matches), or a
 * date no earlier than its Last-Modified, as `send` (Express's static files) decides it.
 */
function ifRangeHolds(ifRange: string, representation: MediaRepresentation): boolean {
  const value = ifRange.trim();
  if (value.startsWith('"') || value.startsWith('W/')) return value === representation.etag;
  const date = Date.parse(value);
  return !Number.isNaN(date) && Math.floor(representation.lastModified.getTime() / 1000) * 1000 <= date;
}

/** What to answer a GET (or HEAD, which Range does not apply to) of `representation`. */
export function mediaAnswer(request: FastifyRequest, representation: MediaRepresentation): MediaAnswer {
  if (notModified(request, representation)) return { kind: 'not-modified' };
  const asked = request.method === 'GET' ? request.headers.range : undefined;
  if (!asked) return { kind: 'whole' };
  const ifRange = request.headers['if-range'];
  if (typeof ifRange === 'string' && !ifRangeHolds(ifRange, representation)) return { kind: 'whole' };
  const ranges = rangeParser(representation.size, asked, { combine: true });
  if (ranges === -1) return { kind: 'unsatisfiable' };
  if (Array.isArray(ranges) && ranges.length === 1 && ranges.type === 'bytes') return { kind: 'part', start: ranges[0]!.start, end: ranges[0]!.end };
  return { kind: 'whole' };
}
