/**
 * A CALLCOPYEVENT read from the core's event port, and its JSON form on the gateway's event stream.
 *
 * The header (EVENTCLASS, EVENTTYPE, MODULE, EVENTXREF) becomes fixed keys; every EVENTDATA field
 * goes into `data` under its JSON name (DEVICEID is `deviceId`, SYS_USER `sysUser`), with the
 * text exactly as the core sent it, in its order. The core's times are local and zone-less
 * ("1/31/2011 2:39:49 PM"): `times` adds an ISO-8601 reading of each field that parses as one, and
 * `receivedAt` says when the gateway received the event, since the header carries no time.
 *
 * Reading is lenient, like every reader of the core's output (the manual's own examples write
 * `<EVENTTYPE> RECORDINGPAUSED</EVENTTYPE>`), and bounded: depth, elements and fields.
 */
import { findEventSpec } from './events.js';
import { jsonName } from './json-names.js';
import { productTimeToIso } from './product-time.js';
import { childText, parseXml, type ParseLimits } from './xml.js';

export interface CoreEvent {
  /** EVENTTYPE, trimmed and upper-cased: CALLSTART, RECORDINGSTARTED... */
  type: string;
  /** EVENTCLASS as sent, or the class the vocabulary gives the type when the core left it out. */
  eventClass: string;
  module: string;
  /** The REQUESTID of the API request that caused the event. */
  eventXref: string;
  /** DEVICEID, trimmed ('' when absent): what device filters compare. */
  deviceId: string;
  /** EVENTDATA fields: wire name and text, in the order sent, the first of a repeated name only. */
  fields: [string, string][];
}

export class EventFormatError extends Error {
  override name = 'EventFormatError';
}

/** The documented events nest three deep and carry about 45 fields; these leave room and no more. */
export const eventParseLimits: ParseLimits = { maxDepth: 8, maxElements: 1024 };
export const maxEventFields = 256;

/** What an event type may look like on the stream, where it is the SSE `event:` name. */
const eventTypePattern = /^[A-Z][A-Z0-9_]{0,63}$/;

/** Read one framed CALLCOPYEVENT. Throws XmlSyntaxError or EventFormatError for what is not one. */
export function readCoreEvent(xml: string): CoreEvent {
  const root = parseXml(xml, eventParseLimits);
  if (root.name.toUpperCase() !== 'CALLCOPYEVENT') throw new EventFormatError(`not a CALLCOPYEVENT: <${root.name.slice(0, 64)}>`);
  const type = (childText(root, 'EVENTTYPE') ?? '').trim().toUpperCase();
  if (!eventTypePattern.test(type)) throw new EventFormatError(`EVENTTYPE ${JSON.stringify(type.slice(0, 64))} is not an event type`);
  const eventClass = (childText(root, 'EVENTCLASS') ?? '').trim().toUpperCase() || findEventSpec(type)?.eventClass || '';
  const fields: [string, string][] = [];
  const seen = new Set<string>();
  const eventData = root.children.find((c) => c.name.toUpperCase() === 'EVENTDATA');
  for (const field of eventData?.children ?? []) {
    const name = field.name.toUpperCase();
    if (seen.has(name)) continue;
    if (fields.length >= maxEventFields) throw new EventFormatError(`more than ${maxEventFields} EVENTDATA fields`);
    seen.add(name);
    fields.push([name, field.text]);
  }
  return {
    type,
    eventClass: eventClass.slice(0, 64),
    module: (childText(root, 'MODULE') ?? '').trim(),
    eventXref: (childText(root, 'EVENTXREF') ?? '').trim(),
    deviceId: (fields.find(([name]) => name === 'DEVICEID')?.[1] ?? '').trim(),
    fields,
  };
}

export interface EventJson {
  /** The gateway's number for the event: increasing, the SSE `id:`, what Last-Event-ID names. */
  id: number;
  type: string;
  eventClass: string;
  module: string;
  eventXref: string;
  /** When the gateway received it (ISO-8601, UTC). */
  receivedAt: string;
  /** ISO-8601 readings of the `data` fields that hold a product time, by the same names. */
  times: Record<string, string>;
  data: Record<string, string>;
}

export function eventJson(id: number, event: CoreEvent, receivedAt: Date): EventJson {
  const data: [string, string][] = [];
  const times: [string, string][] = [];
  const named = new Set<string>();
  for (const [wireName, text] of event.fields) {
    // Two wire names may share a JSON name (SYS_USER, SYSUSER): the first keeps it.
    const name = jsonName(wireName);
    if (named.has(name)) continue;
    named.add(name);
    data.push([name, text]);
    const iso = productTimeToIso(text);
    if (iso !== undefined) times.push([name, iso]);
  }
  return {
    id,
    type: event.type,
    eventClass: event.eventClass,
    module: event.module,
    eventXref: event.eventXref,
    receivedAt: receivedAt.toISOString(),
    // fromEntries defines own properties: no field name can reach a prototype.
    times: Object.fromEntries(times),
    data: Object.fromEntries(data),
  };
}
