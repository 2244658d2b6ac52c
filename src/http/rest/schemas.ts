/**
 * JSON Schemas of the REST surface, from the catalog's parameter specs: types, the documented
 * maximum lengths, enums, required fields and at-least-one-of groups. They drive validation (a bad
 * body is refused with 400 before anything reaches the core) and the OpenAPI document.
 */
import { maxRecordingIdents, type ParamSpec } from '../../protocol/catalog.js';

export type JsonSchema = Record<string, unknown>;

/** Where a field travels: a JSON body, the query string, or the path. */
export type FieldPlace = 'body' | 'query' | 'path';

const int32Range = { minimum: -2147483648, maximum: 2147483647 };

/** Values that read naturally in examples; the rest are made up from the type. */
const exampleTexts: Readonly<Record<string, string>> = {
  DEVICEID: '1111',
  DEVICEALIAS: 'DESK1',
  SYS_USER: 'gkerber',
  CRM_USER: 'CCGKERBER',
  STATIONNAME: 'WS-0142',
  CALLINSTANCE: '1',
  ANI: '6145557038',
  DNIS: '8005550100',
  SESSIONID: 'chat-2041',
  GROUPNAME: 'Sales',
  ROLENAME: 'Supervisors',
  USERNAME: 'jdoe',
  FIRSTNAME: 'Jane',
  LASTNAME: 'Doe',
  PHONEID: '5001',
  TOADDRESS: 'qa@example.com',
  EMAIL: 'jane.doe@example.com',
  COMPUTERNAME: 'WS-0142',
  USER1: 'Gold Level',
  UNIQUEID: '10122100',
};

export function exampleValue(param: ParamSpec, place: FieldPlace): unknown {
  if (param.list) return place === 'body' ? [10122100, 10122101] : place === 'path' ? 10122100 : '10122100,10122101';
  switch (param.type) {
    case 'int32':
      return 1;
    case 'int64':
      return param.unixTime ? '2026-11-23T09:00:00Z' : 10122100;
    case 'flag':
      return true;
    case 'enum':
      return param.values?.[0];
    case 'text':
      return exampleTexts[param.name] ?? 'text';
  }
}

/** The schema of one parameter where it travels. */
export function paramSchema(param: ParamSpec, place: FieldPlace): JsonSchema {
  const described = (schema: JsonSchema): JsonSchema => (param.description ? { ...schema, description: param.description } : schema);
  if (param.list) {
    if (place === 'path') return described({ type: 'integer', minimum: 0 });
    if (place === 'query') return described({ type: 'string', pattern: '^[0-9]{1,18}(,[0-9]{1,18})*$', maxLength: param.maxLength });
    return described({ type: 'array', items: { type: 'integer', minimum: 0 }, minItems: 1, maxItems: maxRecordingIdents });
  }
  switch (param.type) {
    case 'int32':
      return described({ type: 'integer', ...int32Range });
    case 'int64':
      if (param.unixTime) {
        return described({ anyOf: [{ type: 'integer' }, { type: 'string', format: 'date-time' }], description: `${param.description ?? ''} UNIX seconds or an ISO-8601 date-time.`.trim() });
      }
      return described({ type: 'integer' });
    case 'flag':
      return described({ type: 'boolean' });
    case 'enum': {
      // The core compares case-insensitively; the canonical spelling and lower case are both offered.
      const values = [...new Set([...(param.values ?? []), ...(param.values ?? []).map((v) => v.toLowerCase())])];
      return described({ type: 'string', enum: values });
    }
    case 'text':
      return described({ type: 'string', ...(param.maxLength !== undefined ? { maxLength: param.maxLength } : {}) });
  }
}

export const requestIdSchema: JsonSchema = {
  type: 'integer',
  minimum: 1,
  maximum: 2147483647,
  description: 'REQUESTID of the XML request; the gateway assigns one when it is omitted.',
};

/**
 * Where the document keeps the problem schema once (components.schemas.Problem): every REST
 * operation answers it for each failure status, and written out inline it was half the document.
 * Response schemas only document here (the surface serializes with JSON.stringify), so nothing
 * needs to resolve the reference but the document's readers.
 */
export const problemSchemaRef: JsonSchema = { $ref: '#/components/schemas/Problem' };

export const problemSchema: JsonSchema = {
  type: 'object',
  description: 'RFC 9457 problem details with the RESULTTYPE and RESULTCODE of the documented table.',
  required: ['type', 'title', 'status', 'detail', 'resultType', 'resultCode'],
  properties: {
    type: { type: 'string', format: 'uri' },
    title: { type: 'string' },
    status: { type: 'integer' },
    detail: { type: 'string' },
    instance: { type: 'string' },
    requestId: { type: 'integer' },
    resultType: { type: 'string' },
    resultCode: { type: 'integer' },
    errors: {
      type: 'array',
      items: { type: 'object', properties: { field: { type: 'string' }, detail: { type: 'string' } } },
    },
  },
};
