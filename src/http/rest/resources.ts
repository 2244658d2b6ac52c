/**
 * The REST answer rule, in one place: a read answers its resource under the name of what it holds
 * (`devices`: an array, `device`: an object), a change answers `result`, the core's own account of
 * what it did, with the identifiers the core gave (`userId`, `groupId`). Records carry the fields
 * the catalog declares for them (result-records.ts), typed: repeated elements and comma lists are
 * always arrays, a value that does not read as its type is null, and what the catalog does not
 * declare is left out, so the response schemas built here say exactly what is sent. The wire model,
 * everything the core wrote, stays on POST /api/v1/commands/{type} (result-json.ts).
 */
import { resultFieldTypes, type CommandSpec, type RestResource, type RestRoute } from '../../protocol/catalog.js';
import { jsonName } from '../../protocol/json-names.js';
import type { ResultRecord } from '../../protocol/result-records.js';
import { elementsAt, type XmlElement } from '../../protocol/xml.js';
import { setLeaf, type JsonObject, type JsonValue } from './result-json.js';
import { successCodes } from '../../protocol/result-codes.js';
import type { JsonSchema } from './schemas.js';
import { mediaUrlSchema, recordingMediaPath, recordingResourceNames } from './recording-media.js';

/** The RESULT header of a success: only the success codes are answered 200. */
const successResultSchema: JsonSchema = {
  type: 'object',
  required: ['type', 'code', 'message'],
  properties: {
    type: { type: 'string', description: 'RESULTTYPE', examples: ['API_OK'] },
    code: { type: 'integer', enum: [...successCodes], description: 'RESULTCODE' },
    message: { type: 'string', description: "RESULTMSG: the core's account of what it did." },
  },
  additionalProperties: false,
};

/** What a route answers: a resource, or the outcome of a change. */
export type RestAnswer = { kind: 'resource'; resource: RestResource } | { kind: 'outcome'; identifiers: ResultRecord };

export function restAnswerOf(spec: CommandSpec, route: RestRoute): RestAnswer {
  return route.answer ? { kind: 'resource', resource: route.answer } : { kind: 'outcome', identifiers: { fields: spec.result.identifiers ?? [] } };
}

interface RecordReader {
  /** The declared field each JSON name (of a field or one of its aliases) stands for. */
  fields: ReadonlyMap<string, string>;
  commaLists: ReadonlySet<string>;
}

const readers = new WeakMap<ResultRecord, RecordReader>();

function readerOf(record: ResultRecord): RecordReader {
  let reader = readers.get(record);
  if (!reader) {
    // Matched by JSON name: the manuals spell some fields with and without underscores (FIRST_NAME, FIRSTNAME).
    const fields = new Map(record.fields.map((field) => [jsonName(field), field]));
    for (const [alias, field] of Object.entries(record.aliases ?? {})) fields.set(jsonName(alias), field);
    reader = { fields, commaLists: new Set(record.commaLists ?? []) };
    readers.set(record, reader);
  }
  return reader;
}

/** One record as JSON: its declared fields and nested records, the first of each name. */
export function recordJson(element: XmlElement, record: ResultRecord): JsonObject {
  const reader = readerOf(record);
  const out: JsonObject = {};
  for (const child of element.children) {
    const upper = child.name.toUpperCase();
    const nested = record.nested?.find((n) => (typeof n.element === 'string' ? n.element === upper : n.element.test(upper)));
    if (nested) {
      const value = recordJson(child, nested.record);
      if (nested.many) ((out[nested.name] ??= []) as JsonValue[]).push(value);
      else if (!Object.hasOwn(out, nested.name)) out[nested.name] = value;
      continue;
    }
    if (child.children.length > 0) continue;
    const field = reader.fields.get(jsonName(child.name));
    if (field === undefined) continue;
    const key = jsonName(field);
    if (Object.hasOwn(out, key)) continue;
    if (reader.commaLists.has(field)) out[key] = child.text.split(',').map((item) => item.trim()).filter((item) => item !== '');
    else setLeaf(out, field, key, child.text, 'null');
  }
  for (const nested of record.nested ?? []) if (nested.many) out[nested.name] ??= [];
  for (const field of reader.commaLists) out[jsonName(field)] ??= [];
  return out;
}

/**
 * A record of a resource as it is answered: its JSON, and for a recording the gateway's own media
 * route (`mediaUrl`), from its RECORDID.
 */
export function resourceRecordJson(element: XmlElement, resource: RestResource): JsonObject {
  const out = recordJson(element, resource.record);
  if (recordingResourceNames.has(resource.name)) {
    const recordId = out['recordId'];
    if ((typeof recordId === 'number' || typeof recordId === 'string') && recordId !== '') out['mediaUrl'] = recordingMediaPath(String(recordId));
  }
  return out;
}

/** The records of a resource in a RESULT, in order. */
export function resourceRecords(root: XmlElement, resource: RestResource): XmlElement[] {
  return resource.at === '' ? [root] : elementsAt(root, resource.at);
}

/** A read's answer; undefined when the core answered success without the one record asked for. */
export function resourceJson(root: XmlElement, resource: RestResource): JsonObject | undefined {
  const records = resourceRecords(root, resource);
  if (resource.many) return { [resource.name]: records.map((record) => resourceRecordJson(record, resource)) };
  const first = records[0];
  return first ? { [resource.name]: resourceRecordJson(first, resource) } : undefined;
}

export interface ResultHeaderJson {
  type: string;
  code: number;
  message: string;
}

/** A change's answer: the core's result and the identifiers it gave. */
export function outcomeJson(root: XmlElement, result: ResultHeaderJson, identifiers: ResultRecord): JsonObject {
  return { result: { ...result }, ...recordJson(root, identifiers) };
}

// ---------------------------------------------------------------------------------------------
// Schemas

function fieldSchemas(field: string, commaList: boolean): [string, JsonSchema][] {
  const key = jsonName(field);
  if (commaList) return [[key, { type: 'array', items: { type: 'string' }, description: `${field}, comma-separated on the wire.` }]];
  const iso = (description: string): [string, JsonSchema] => [`${key}Iso`, { type: ['string', 'null'], description }];
  switch (resultFieldTypes.get(field)) {
    case 'integer':
      return [[key, { type: ['integer', 'null'], description: field }]];
    case 'number':
      return [[key, { type: ['number', 'null'], description: field }]];
    case 'flag':
    case 'truth':
      return [[key, { type: ['boolean', 'null'], description: field }]];
    case 'time':
      return [[key, { type: 'string', description: `${field}, as the core writes it.` }], iso(`${field} in ISO-8601 (without an offset when the core gives none).`)];
    case 'unix-time':
      return [[key, { type: ['integer', 'null'], description: `${field}, UNIX seconds.` }], iso(`${field} in ISO-8601 (UTC).`)];
    default:
      return [[key, { type: 'string', description: field }]];
  }
}

/** The JSON Schema of a record: its fields (each present when the core gave it) and nested records. */
export function recordSchema(record: ResultRecord): JsonSchema {
  const commaLists = new Set(record.commaLists ?? []);
  const properties: Record<string, JsonSchema> = Object.fromEntries(record.fields.flatMap((field) => fieldSchemas(field, commaLists.has(field))));
  const required = [...commaLists].map(jsonName);
  for (const nested of record.nested ?? []) {
    properties[nested.name] = nested.many ? { type: 'array', items: recordSchema(nested.record) } : recordSchema(nested.record);
    if (nested.many) required.push(nested.name);
  }
  return { type: 'object', properties, ...(required.length > 0 ? { required } : {}), additionalProperties: false };
}

/** The link to the next page of a paged list; null on the last page. */
const nextSchema: JsonSchema = {
  type: ['string', 'null'],
  description: 'The next page (the same query with its cursor), also sent as a `Link: <...>; rel="next"` header; null on the last page.',
};

export function answerSchema(answer: RestAnswer): JsonSchema {
  if (answer.kind === 'outcome') {
    const identifiers = recordSchema(answer.identifiers);
    return {
      type: 'object',
      required: ['result'],
      properties: { result: successResultSchema, ...(identifiers['properties'] as Record<string, JsonSchema>) },
      additionalProperties: false,
    };
  }
  const { resource } = answer;
  const record = recordSchema(resource.record);
  if (recordingResourceNames.has(resource.name)) (record['properties'] as Record<string, JsonSchema>)['mediaUrl'] = { ...mediaUrlSchema };
  const properties: Record<string, JsonSchema> = { [resource.name]: resource.many ? { type: 'array', items: record } : record };
  if (resource.paged) properties['next'] = nextSchema;
  return { type: 'object', required: Object.keys(properties), properties, additionalProperties: false };
}

/** A value of a field's schema, for the document's examples. */
function exampleOf(schema: JsonSchema): JsonValue {
  if (Array.isArray(schema['examples'])) return schema['examples'][0] as JsonValue;
  const type = Array.isArray(schema['type']) ? schema['type'][0] : schema['type'];
  const description = String(schema['description'] ?? '');
  switch (type) {
    case 'integer':
      return description.includes('UNIX') ? 1795411960 : 1;
    case 'number':
      return 4.5;
    case 'boolean':
      return false;
    case 'array':
      return schema['items'] ? [exampleOf(schema['items'] as JsonSchema)] : [];
    case 'object':
      return Object.fromEntries(Object.entries((schema['properties'] ?? {}) as Record<string, JsonSchema>).map(([key, property]) => [key, exampleOf(property)]));
    default:
      return description.includes('ISO-8601') ? '2026-11-23T05:32:40Z' : description.includes('as the core writes it') ? '11/23/2026 5:32:40 AM' : '';
  }
}

/** An answer as the schema describes it, for the document. */
export function answerExample(answer: RestAnswer): JsonValue {
  if (answer.kind === 'outcome') {
    return { result: { type: 'API_OK', code: 20, message: 'API_OK' }, ...(exampleOf(recordSchema(answer.identifiers)) as JsonObject) };
  }
  const example = exampleOf(answerSchema(answer)) as JsonObject;
  if (answer.resource.paged) example['next'] = '/api/v1/recordings?limit=100&cursor=MTc5NTQxMTk1OS4xMDEyMjEwMA';
  return example;
}

