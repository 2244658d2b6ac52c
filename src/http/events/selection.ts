/**
 * Which live events a client asked for, and from where: the REST query (`class`, `type`,
 * `deviceId`, `lastEventId`) or the WebAPI's EVENTS parameters (EVENTCLASS, EVENTVALUE), plus the
 * Last-Event-ID header either way. Both surfaces end in the same EventSelection.
 */
import type { EventRecord } from '../../core/event-feed.js';
import { subscriptionGapType } from '../../core/events.js';
import { checkParams, type CommandSpec } from '../../protocol/catalog.js';
import { eventSpecs, findEventSpec, type EventClass } from '../../protocol/events.js';
import { ResultCode } from '../../protocol/result-codes.js';

export interface EventSelection {
  /** Undefined: every class. */
  eventClass?: EventClass;
  /** Undefined: every type. */
  types?: ReadonlySet<string>;
  /** Undefined: every device. */
  deviceId?: string;
  /** Resume after this id (Last-Event-ID). */
  lastEventId?: number;
}

export type SelectionProblem = { problem: string; resultCode: number };

export function selects(selection: EventSelection, record: EventRecord): boolean {
  // Every listener hears of a window in which events may have been lost, whatever it selected.
  if (record.type === subscriptionGapType) return true;
  if (selection.eventClass !== undefined && record.eventClass !== selection.eventClass) return false;
  if (selection.types !== undefined && !selection.types.has(record.type)) return false;
  if (selection.deviceId !== undefined && record.deviceId !== selection.deviceId) return false;
  return true;
}

/** Event ids are safe integers; 16 digits cover them. */
export const eventIdPattern = '^[0-9]{1,16}$';
const eventIdRegExp = new RegExp(eventIdPattern);
const maxTypes = eventSpecs.length;

/**
 * The id a client resumes after. The header wins over a query parameter: a browser's EventSource
 * reconnects to the same URL, so the parameter is where the client started and the header where it
 * got to.
 */
export function resumeAfter(header: string | string[] | undefined, parameter: string | undefined): number | undefined | SelectionProblem {
  const given = (Array.isArray(header) ? header[0] : header)?.trim() || parameter?.trim();
  if (!given) return undefined;
  if (!eventIdRegExp.test(given)) return { problem: 'Last-Event-ID must be the id of an event of this stream (digits).', resultCode: ResultCode.API_INVALID_MESSAGE_FORMAT };
  return Number(given);
}

/** `CALLSTART,CALLSTOP` to the set of documented types it names, or why it cannot be. */
export function eventTypesOf(list: string): ReadonlySet<string> | SelectionProblem {
  const names = list.split(',').map((name) => name.trim()).filter(Boolean);
  if (names.length > maxTypes) return { problem: `At most ${maxTypes} event types may be named.`, resultCode: ResultCode.API_EVENT_TYPE_INVALID };
  const types = new Set<string>();
  for (const name of names) {
    const spec = findEventSpec(name);
    if (!spec) {
      return {
        problem: `${JSON.stringify(name.slice(0, 64))} is not an event type; the types are ${eventSpecs.map((s) => s.type).join(', ')}.`,
        resultCode: ResultCode.API_EVENT_TYPE_INVALID,
      };
    }
    types.add(spec.type);
  }
  return types;
}

export interface EventsQuery {
  class?: string;
  type?: string;
  deviceId?: string;
  lastEventId?: string;
}

export function restEventSelection(query: EventsQuery, lastEventIdHeader: string | string[] | undefined): EventSelection | SelectionProblem {
  const selection: EventSelection = {};
  if (query.class) selection.eventClass = query.class.toUpperCase() as EventClass;
  if (query.type) {
    const types = eventTypesOf(query.type);
    if ('problem' in types) return types;
    if (types.size > 0) selection.types = types;
  }
  if (query.deviceId) selection.deviceId = query.deviceId.trim();
  const after = resumeAfter(lastEventIdHeader, query.lastEventId);
  if (typeof after === 'object') return after;
  if (after !== undefined) selection.lastEventId = after;
  return selection;
}

/**
 * The WebAPI's `type=events`: EVENTCLASS (ALL, CALL or RECORD) and EVENTVALUE (a device), checked
 * against the catalog's EVENTS as the event port would check them; LASTEVENTID resumes as the REST
 * query's lastEventId does.
 */
export function webApiEventSelection(
  spec: CommandSpec,
  params: ReadonlyMap<string, string>,
  lastEventIdHeader: string | string[] | undefined,
): EventSelection | SelectionProblem {
  const eventClass = (params.get('EVENTCLASS') ?? '').trim().toUpperCase() || 'ALL';
  const deviceId = (params.get('EVENTVALUE') ?? '').trim();
  const [problem] = checkParams(spec, new Map([['EVENTCLASS', eventClass], ['EVENTVALUE', deviceId]]));
  if (problem) {
    return {
      problem: problem.problem,
      resultCode: problem.param === 'EVENTCLASS' ? ResultCode.API_EVENT_TYPE_INVALID : ResultCode.API_INVALID_MESSAGE_FORMAT,
    };
  }
  const selection: EventSelection = {};
  if (eventClass !== 'ALL') selection.eventClass = eventClass as EventClass;
  if (deviceId) selection.deviceId = deviceId;
  const after = resumeAfter(lastEventIdHeader, params.get('LASTEVENTID'));
  if (typeof after === 'object') return after;
  if (after !== undefined) selection.lastEventId = after;
  return selection;
}

/** Whether an Accept header asks for `text/event-stream` (and does not refuse it with q=0). */
export function acceptsEventStream(accept: string | undefined): boolean {
  if (!accept) return false;
  for (const range of accept.slice(0, 4096).split(',')) {
    const [type, ...params] = range.split(';');
    if (type?.trim().toLowerCase() !== 'text/event-stream') continue;
    const refused = params.some((param) => /^\s*q\s*=\s*0(\.0{0,3})?\s*$/i.test(param));
    if (!refused) return true;
  }
  return false;
}
