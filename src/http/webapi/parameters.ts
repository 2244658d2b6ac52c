/**
 * The WebAPI's parameter semantics, from the manual's "WebAPI Call Syntax": names are
 * case-insensitive; the same name repeated in the same casing is joined into one comma-separated
 * value ("deviceid=1234&deviceid=5555" reaches the core as "1234,5555"); the same name in different
 * casings is an error and nothing is sent. Pure: pairs in, a command out.
 */
import { isXmlName } from '../../protocol/xml.js';

export const duplicatesMessage = 'parameters must be unique but duplicates were found.';

/** Bounds on what one WebAPI call may carry. */
export const webApiLimits = {
  maxParameters: 256,
  maxNameLength: 64,
  maxValueLength: 64 * 1024,
} as const;

export interface WebApiCall {
  /** TYPE, upper-cased ('' when absent). */
  type: string;
  /** REQUESTID as given (undefined when absent). */
  requestId: string | undefined;
  /** Every other parameter: upper-cased name to value, in the order first seen. */
  params: Map<string, string>;
}

export type MergeResult = { ok: true; call: WebApiCall } | { ok: false; message: string; type: string; requestId: string | undefined };

/**
 * Merge the name/value pairs of a call (query string, then form body) into one command.
 * `type` and `requestid` are the two names the WebAPI itself reads.
 */
export function mergeWebApiParams(pairs: Iterable<readonly [string, string]>): MergeResult {
  const byName = new Map<string, { casing: string; values: string[] }>();
  let conflict = false;
  let count = 0;
  let invalid: string | undefined;
  for (const [name, value] of pairs) {
    if (++count > webApiLimits.maxParameters) {
      invalid ??= `A call may carry at most ${webApiLimits.maxParameters} parameters.`;
      break;
    }
    if (name === '') continue; // "&&" or a trailing "&"
    const upper = name.toUpperCase();
    if (name.length > webApiLimits.maxNameLength || !isXmlName(upper)) {
      invalid ??= `Parameter name ${JSON.stringify(name.slice(0, webApiLimits.maxNameLength))} is not valid.`;
      continue;
    }
    if (value.length > webApiLimits.maxValueLength) {
      invalid ??= `Parameter ${name} is longer than ${webApiLimits.maxValueLength} characters.`;
      continue;
    }
    const entry = byName.get(upper);
    if (!entry) byName.set(upper, { casing: name, values: [value] });
    else if (entry.casing === name) entry.values.push(value);
    else conflict = true;
  }
  const first = (name: string): string | undefined => byName.get(name)?.values.join(',');
  const type = (first('TYPE') ?? '').trim().toUpperCase();
  const requestId = first('REQUESTID');
  if (conflict) return { ok: false, message: duplicatesMessage, type, requestId };
  if (invalid) return { ok: false, message: invalid, type, requestId };
  // `type` and `requestid` are the call's own; REQUESTTYPE would be a second TYPE for the core.
  if (byName.has('REQUESTTYPE')) return { ok: false, message: 'REQUESTTYPE is not a parameter: a call is one command, named by type.', type, requestId };
  const params = new Map<string, string>();
  for (const [upper, entry] of byName) {
    if (upper === 'TYPE' || upper === 'REQUESTID') continue;
    params.set(upper, entry.values.join(','));
  }
  return { ok: true, call: { type, requestId, params } };
}
