/**
 * The WebAPI as the OpenAPI document shows it. Its routes carry no Fastify schema on purpose: the
 * legacy parameter rules (names in any case, repeats joined with a comma, any parameter passed on
 * to the core) are no JSON Schema, and a querystring schema would have Fastify coerce and refuse
 * calls the WebAPI must accept. So it is described here, by hand but from the catalog: the
 * commands `type` takes, the media the export functions answer with, and the RESULTs the gateway
 * itself answers with, built by the code that builds them.
 */
import type { OpenAPIV3_1 } from 'openapi-types';
import { commands } from '../../protocol/catalog.js';
import { ResultCode, resultTypeOf } from '../../protocol/result-codes.js';
import { buildResult } from '../../protocol/xml.js';
import { audioFormatInfo } from '../../media/export-audio.js';
import { cavMime } from '../../media/cav.js';

export const webApiTag: OpenAPIV3_1.TagObject = {
  name: 'webapi',
  description:
    'The legacy WebAPI Service, URL for URL: each call becomes one XML request to the core, whose RESULT comes back verbatim. ' +
    '`/webAPI.php` is the same and matches any case of the path (`/Webapi.aspx`); it is left out of this document, as are HEAD routes.',
};

/** Commands a WebAPI call may name; the event port's and the deprecated ones are not offered. */
const offeredTypes = commands.filter((spec) => spec.servedBy !== 'event-port' && !spec.deprecated).map((spec) => spec.type.toLowerCase());

function resultExample(requestType: string, requestId: string, code: number, message: string): string {
  return buildResult({ requestType, requestId, resultType: resultTypeOf(code) ?? 'API_ERROR_UNKNOWN', resultCode: code, resultMessage: message });
}

const xmlSchema: OpenAPIV3_1.SchemaObject = { type: 'string', description: 'An XML `RESULT` element.' };

function xmlResponse(description: string, examples: Record<string, { summary: string; value: string }>): OpenAPIV3_1.ResponseObject {
  return { description, content: { 'text/xml': { schema: xmlSchema, examples } } };
}

const typeParameter = (required: boolean): OpenAPIV3_1.ParameterObject => ({
  name: 'type',
  in: 'query',
  required,
  description: 'The XML command, in any case; it becomes `<TYPE>`. Types the gateway does not know still go to the core.',
  schema: { type: 'string', enum: offeredTypes },
  example: 'devicestatus',
});

const requestIdParameter = (required: boolean): OpenAPIV3_1.ParameterObject => ({
  name: 'requestid',
  in: 'query',
  required,
  description: 'REQUESTID of the XML request, echoed in the RESULT: a positive integer no larger than 2147483647.',
  schema: { type: 'integer', minimum: 1, maximum: 2147483647 },
  example: 8,
});

/**
 * The command's own parameters: one query parameter each, under its name in any case. An object
 * exploded in form style is how OpenAPI says "any other name=value pairs".
 */
const commandParameters: OpenAPIV3_1.ParameterObject = {
  name: 'parameters',
  in: 'query',
  required: false,
  description:
    'The command\'s parameters, e.g. `deviceid=200&user9=x`: each becomes an element of its upper-cased name, in order. ' +
    'Names are case-insensitive; the same name repeated in the same casing is joined with a comma, in different casings it is refused.',
  style: 'form',
  explode: true,
  schema: { type: 'object', additionalProperties: { type: 'string' } },
  example: { deviceid: '1111' },
};

const exportMediaTypes = [...new Set([...Object.values(audioFormatInfo).map((format) => format.mime), cavMime])];

const responses: OpenAPIV3_1.ResponsesObject = {
  200: {
    description:
      "The core's RESULT, verbatim, whatever its RESULTCODE: the core answered. The export functions (EXPORT, COMBINEDEXPORT, MULTIEXPORT) answer with the media instead.",
    content: {
      'text/xml': {
        schema: xmlSchema,
        examples: {
          test: { summary: 'type=test&requestid=17', value: resultExample('TEST', '17', ResultCode.API_OK, 'API_OK') },
        },
      },
      ...Object.fromEntries(exportMediaTypes.map((type) => [type, { schema: { type: 'string', contentMediaType: type } }])),
    },
  },
  206: {
    description: 'The byte range asked for, of a `wav` or `pcm` export of a WAV recording.',
    content: Object.fromEntries(['audio/wav', 'application/octet-stream'].map((type) => [type, { schema: { type: 'string', contentMediaType: type } }])),
  },
  400: xmlResponse('The gateway refused the call, and sent nothing to the core: bad parameters or REQUESTID, or an export that no WAV can hold (over 4 GiB of samples).', {
    duplicates: {
      summary: 'deviceid=1&DeviceId=2',
      value: resultExample('DEVICESTATUS', '8', ResultCode.API_INVALID_MESSAGE_FORMAT, 'parameters must be unique but duplicates were found.'),
    },
    requestId: {
      summary: 'requestid=0',
      value: resultExample('TEST', '0', ResultCode.API_REQUESTID_INVALID, 'REQUESTID must be a positive integer no larger than 2147483647.'),
    },
  }),
  413: xmlResponse('The form body is larger than 1 MiB.', {
    tooLarge: { summary: 'a 2 MiB form', value: resultExample('TEST', '17', ResultCode.API_INVALID_MESSAGE_FORMAT, "A call's form body may hold at most 1048576 bytes.") },
  }),
  415: xmlResponse('The body is not a form.', {
    json: {
      summary: 'a JSON body',
      value: resultExample('TEST', '17', ResultCode.API_INVALID_MESSAGE_FORMAT, "A call's body is a form (application/x-www-form-urlencoded), not application/json."),
    },
  }),
  401: {
    ...xmlResponse('No credential, or one that is not valid (an API key as X-API-Key or Authorization: Bearer, or an access token); nothing was sent to the core.', {
      none: { summary: 'no credential', value: resultExample('TEST', '17', ResultCode.API_COMMAND_NOT_ALLOWED, 'A credential is needed: Authorization: Bearer <API key or access token>, or X-API-Key: <API key>.') },
    }),
    headers: { 'WWW-Authenticate': { description: 'Bearer realm="uptivity-gateway"', schema: { type: 'string' } } },
  },
  403: xmlResponse("The credential lacks the command's scope, or a caller without one is outside loopback (protected mode) or on another site's page; nothing was sent to the core.", {
    scope: { summary: 'a scope missing', value: resultExample('IMPORTUSER', '17', ResultCode.API_COMMAND_NOT_ALLOWED, 'This needs the scope admin; crm has calls, recordings:read.') },
  }),
  429: {
    ...xmlResponse("Past the caller's rate limit.", {
      limited: { summary: 'too many requests', value: resultExample('TEST', '17', ResultCode.API_COMMAND_QUEUE_FULL, "Too many requests: at most 6000 in this caller's window; try again in 12 seconds.") },
    }),
    headers: {
      'Retry-After': { description: 'Seconds to wait before trying again.', schema: { type: 'integer' } },
      'RateLimit-Limit': { description: 'Requests allowed per window.', schema: { type: 'integer' } },
      'RateLimit-Remaining': { description: 'Requests left in this window.', schema: { type: 'integer' } },
      'RateLimit-Reset': { description: 'Seconds until the window resets.', schema: { type: 'integer' } },
    },
  },
  500: xmlResponse('The gateway failed to handle the call. The failure is in its log; the answer says nothing of it.', {
    failed: { summary: 'a failure inside the gateway', value: resultExample('EXPORT', '17', ResultCode.API_ERROR_PROCESSING_MESSAGE, 'The gateway failed to handle the call; see its log.') },
  }),
  404: xmlResponse('An export names a recording, or a file, that does not exist.', {
    missing: { summary: 'EXPORT of an unknown recording', value: resultExample('EXPORT', '9', ResultCode.API_FILE_NOT_FOUND, 'No recording matches the request.') },
  }),
  502: xmlResponse('The core answered something the gateway cannot use (another request\'s answer, too large).', {
    unusable: {
      summary: 'an unusable answer',
      value: resultExample('TEST', '17', ResultCode.API_ERROR_PROCESSING_MESSAGE, 'The XML core answered with something the gateway cannot use: the answer is too large.'),
    },
  }),
  503: {
    ...xmlResponse('The core is unreachable, the gateway is shutting down, or too many requests wait for the core.', {
      down: { summary: 'the core is down', value: resultExample('TEST', '17', ResultCode.API_ERROR_RECORDER_NOT_RUNNING, 'The XML core is unreachable.') },
    }),
    headers: { 'Retry-After': { description: 'Seconds to wait before trying again.', schema: { type: 'integer' } } },
  },
  504: xmlResponse('The core did not answer in time; it may have carried the request out.', {
    timeout: {
      summary: 'no answer in time',
      value: resultExample('TEST', '17', ResultCode.API_ERROR_PROCESSING_MESSAGE, 'The XML core did not answer within 30000 ms. The core may have carried the request out.'),
    },
  }),
};

const description =
  'Calls the XML API the way the manual\'s "WebAPI Call Syntax" says: `type` names the command, `requestid` its REQUESTID, ' +
  'and every other parameter becomes an element of the XML request. The core\'s answer comes back verbatim as `text/xml`, ' +
  'HTTP 200 whatever its RESULTCODE; what the gateway itself refuses or cannot get an answer to is an XML RESULT of the ' +
  "manual's table with a fitting HTTP status. EXPORT, COMBINEDEXPORT and MULTIEXPORT stream media from the recordings.\n\n" +
  'Needs the scope of the command `type` names: `status`, `calls`, `recordings:read`, `recordings:export`, `events` or `admin` ' +
  '(for a type the catalog does not know), or `*`. Networks of WEBAPI_ALLOW_CIDRS may call without a credential.';

/** The path item of `/webAPI.aspx`: GET with the query string, POST with a form body too. */
export function webApiPathItem(): Record<'get' | 'post', OpenAPIV3_1.OperationObject> {
  return {
    get: {
      operationId: 'callWebApi',
      summary: 'Call the XML API through the URL (legacy WebAPI)',
      description,
      tags: [webApiTag.name],
      parameters: [typeParameter(true), requestIdParameter(true), commandParameters],
      responses,
    },
    post: {
      operationId: 'postWebApi',
      summary: 'Call the XML API with a form body (legacy WebAPI)',
      description: `${description}\n\nThe parameters may be in the query string, in an \`application/x-www-form-urlencoded\` body, or both (the query string first).`,
      tags: [webApiTag.name],
      parameters: [typeParameter(false), requestIdParameter(false), commandParameters],
      requestBody: {
        required: false,
        content: {
          'application/x-www-form-urlencoded': {
            schema: {
              type: 'object',
              properties: { type: { type: 'string', enum: offeredTypes }, requestid: { type: 'integer', minimum: 1, maximum: 2147483647 } },
              additionalProperties: { type: 'string' },
            },
            example: { type: 'importuser', action: 'list', requestid: 17 },
          },
        },
      },
      responses,
    },
  };
}
