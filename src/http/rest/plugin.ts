/**
 * The REST/JSON surface under /api/v1, generated from the command catalog: the resource routes of
 * operations.ts and POST /api/v1/commands/{type}, which reaches any command with a JSON object of
 * parameters. Bodies and query strings are validated against the catalog's schemas before anything
 * reaches the core; answers are the RESULT as JSON (result-json.ts); failures are problem+json with
 * the HTTP status of the one RESULTCODE table. A caller may omit requestId; the gateway assigns one.
 */
import type { FastifyPluginAsync, FastifyReply, FastifyRequest, RouteOptions } from 'fastify';
import { checkParams, commands, findCommand, findParam, isValidRequestId, unknownTypeScope, type CommandSpec, type ParamSpec, type RestResource } from '../../protocol/catalog.js';
import { noteResult, refusal } from '../access/plugin.js';
import { jsonName } from '../../protocol/json-names.js';
import { isoToUnixTime } from '../../protocol/product-time.js';
import { ResultCode, httpStatusForResultCode, isSuccessCode } from '../../protocol/result-codes.js';
import { buildRequest, isXmlName, requestEnvelopeNames, type XmlElement } from '../../protocol/xml.js';
import type { CoreAnswer } from '../../core/pool.js';
import { CallList } from '../../recordings/call-list.js';
import { RecordingPages, decodeCursor, encodeCursor, pageLimits, type PageCursor } from '../../recordings/recording-pages.js';
import { RecordingLookupError } from '../../recordings/recording.js';
import { askCore, askCoreAsync, type CoreCallDependencies } from '../core-call.js';
import { describeCoreFailure } from '../core-failures.js';
import type { Refusal } from '../media/exports.js';
import type { GatewayCommandHandler } from '../webapi/plugin.js';
import { webApiLimits } from '../webapi/parameters.js';
import { restOperations, type CommandBinding, type RestOperation } from './operations.js';
import { sendErrorProblem, sendProblem } from './problem.js';
import { outcomeJson, resourceJson, resourceRecordJson, restAnswerOf, type RestAnswer } from './resources.js';
import { resultBody } from './result-json.js';
import { linkRoutes, type LinkRoutesOptions } from './links.js';
import { problemSchemaRef, requestIdSchema } from './schemas.js';

export interface RestOptions extends CoreCallDependencies {
  /** EXPORT, COMBINEDEXPORT and MULTIEXPORT; without it they answer API_COMMAND_NOT_SUPPORTED. */
  gatewayCommands?: GatewayCommandHandler;
  /** Signed media links (POST /recordings/{recordId}/links); without it, that route is not served. */
  links?: LinkRoutesOptions | undefined;
}

type Fields = Record<string, unknown>;

/** REQUESTIDs the gateway gives callers who send none: 1..2147483647, then around again. */
function coreRequestIds(): () => number {
  let last = 0;
  return () => (last = last >= 2147483647 ? 1 : last + 1);
}

/** A JSON value as the text of an XML parameter. */
function wireValue(param: ParamSpec | undefined, value: unknown): string {
  if (typeof value === 'boolean') return value ? 'Y' : 'N';
  if (Array.isArray(value)) return value.map((item) => String(item)).join(',');
  const text = String(value);
  if (param?.unixTime && !/^-?\d+$/.test(text)) return String(isoToUnixTime(text) ?? text);
  if (param?.type === 'enum') return param.values?.find((v) => v.toUpperCase() === text.toUpperCase()) ?? text;
  return text;
}

/** The body of an answer that is all header, as the readings of an answer see it: nothing. */
const headerOnlyRoot: XmlElement = Object.freeze({ name: 'RESULT', text: '', children: Object.freeze([]) as unknown as XmlElement[] });

const refuseAsProblem: Refusal = (reply, status, header, code, message) =>
  sendProblem(reply, status, { resultCode: code, detail: message, requestId: header.requestId === undefined ? undefined : Number(header.requestId) });

export const restPlugin: FastifyPluginAsync<RestOptions> = async (app, options) => {
  const nextRequestId = coreRequestIds();
  const core: CoreCallDependencies = { pool: options.pool, metrics: options.metrics, coreTimeoutMs: options.coreTimeoutMs };

  app.setErrorHandler(sendErrorProblem);
  // The response schemas document the answers; the answers are already shaped, so JSON.stringify
  // serializes them. A compiled serializer per route and status would cost some 20 MB of code
  // for no gain on a path dominated by the round trip to the core.
  app.setSerializerCompiler(() => (data) => JSON.stringify(data));
  app.setNotFoundHandler((request, reply) =>
    sendProblem(reply, 404, { resultCode: ResultCode.API_INVALID_REQUEST_TYPE, detail: `No operation ${request.method} ${request.url.split('?')[0]}; see /docs.` }),
  );

  /**
   * The core's answer: on success the resource or outcome the route answers (resources.ts), or for
   * /commands/{type} the whole RESULT as JSON; problem+json otherwise.
   */
  function sendAnswer(reply: FastifyReply, spec: CommandSpec | undefined, answer: CoreAnswer, requestId: number, shape: RestAnswer | undefined): void {
    const code = answer.resultCode;
    const answeredId = Number(answer.requestId);
    const id = Number.isInteger(answeredId) && answer.requestId !== '' ? answeredId : requestId;
    if (code !== undefined && isSuccessCode(code)) {
      const result = { type: answer.resultType, code, message: answer.resultMessage };
      // Every reading below leaves the header out: an answer that is all header is not parsed.
      const root = answer.headerOnly ? headerOnlyRoot : answer.root;
      if (!shape) {
        reply.send({ requestId: id, result, ...resultBody(root, spec) });
        return;
      }
      const body = shape.kind === 'outcome' ? outcomeJson(root, result, shape.identifiers) : resourceJson(root, shape.resource);
      if (body) {
        reply.send(body);
        return;
      }
      sendProblem(reply, 502, {
        resultCode: ResultCode.API_ERROR_PROCESSING_MESSAGE,
        detail: `The core answered ${answer.resultType} without the ${shape.kind === 'resource' ? shape.resource.name : 'answer'} asked for.`,
        requestId: id,
      });
      return;
    }
    sendProblem(reply, code === undefined ? 502 : httpStatusForResultCode(code), {
      resultCode: code ?? ResultCode.API_ERROR_PROCESSING_MESSAGE,
      resultType: answer.resultType || undefined,
      detail: answer.resultMessage || answer.resultType || 'The core answered without a RESULTCODE.',
      requestId: id,
    });
  }

  /** Send a command with its parameters, or hand a gateway-served one to its handler. */
  function carryOut(
    request: FastifyRequest,
    reply: FastifyReply,
    spec: CommandSpec | undefined,
    type: string,
    requestId: number,
    params: Map<string, string>,
    shape?: RestAnswer,
  ): FastifyReply | Promise<FastifyReply> | undefined {
    const header = { type, requestId: String(requestId) };
    if (spec?.servedBy === 'gateway') {
      if (options.gatewayCommands) return options.gatewayCommands(spec, { ...header, params }, request, reply, refuseAsProblem);
      return refuseAsProblem(reply, 501, header, ResultCode.API_COMMAND_NOT_SUPPORTED, `${spec.type} is not available in this version of the gateway.`);
    }
    askCore(
      core,
      request,
      reply,
      { type, requestId: header.requestId, xml: buildRequest(type, requestId, params) },
      (answer) => {
        noteResult(request, answer.resultCode, answer.resultType);
        sendAnswer(reply, spec, answer, requestId, shape);
      },
      (failure) => {
        noteResult(request, failure.resultCode, undefined);
        refuseAsProblem(reply, failure.httpStatus, header, failure.resultCode, failure.message);
      },
    );
    // Not the pending reply: Fastify would await that thenable with a listener on the response.
    return undefined;
  }

  if (options.links) await app.register(linkRoutes, options.links);

  const recordingPages = new RecordingPages(new CallList((call) => askCoreAsync(core, call)));

  /**
   * A page of a paged list (GET /recordings): CALLLIST asked once or twice (recording-pages.ts),
   * the page's records, and the next page's link in the body and a Link header.
   */
  async function sendPage(request: FastifyRequest, reply: FastifyReply, resource: RestResource, requestId: number, params: Map<string, string>, fields: Fields): Promise<FastifyReply> {
    const problem = (status: number, resultCode: number, detail: string): FastifyReply => {
      noteResult(request, resultCode, undefined);
      return sendProblem(reply, status, { resultCode, detail, requestId });
    };
    let cursor: PageCursor | undefined;
    if (typeof fields['cursor'] === 'string') {
      cursor = decodeCursor(fields['cursor']);
      if (!cursor) return problem(400, ResultCode.API_INVALID_MESSAGE_FORMAT, 'cursor is not one this API gave: follow the `next` link of the previous page.');
    }
    const bound = (name: string): number | undefined | null => {
      const value = params.get(name);
      params.delete(name);
      return value === undefined ? undefined : /^-?[0-9]{1,12}$/.test(value) ? Number(value) : null;
    };
    const start = bound('CALLDATESTART');
    const end = bound('CALLDATEEND');
    if (start === null || end === null) return problem(400, ResultCode.API_INVALID_MESSAGE_FORMAT, 'callDateStart and callDateEnd are UNIX seconds or ISO-8601 date-times.');
    const limit = typeof fields['limit'] === 'number' ? fields['limit'] : pageLimits.defaultLimit;
    try {
      const page = await recordingPages.page(
        { filters: [...params], limit, ...(start !== undefined ? { start } : {}), ...(end !== undefined ? { end } : {}), ...(cursor ? { cursor } : {}) },
        { requestId: String(requestId) },
      );
      noteResult(request, ResultCode.API_OK, 'API_OK');
      let next: string | null = null;
      if (page.next) {
        const url = new URL(request.url, 'http://gateway');
        url.searchParams.set('cursor', encodeCursor(page.next));
        next = `${url.pathname}${url.search}`;
        reply.header('link', `<${next}>; rel="next"`);
      }
      return reply.send({ [resource.name]: page.results.map((result) => resourceRecordJson(result.element, resource)), next });
    } catch (error) {
      if (error instanceof RecordingLookupError) return problem(httpStatusForResultCode(error.resultCode), error.resultCode, error.message);
      const failure = describeCoreFailure(error, options.coreTimeoutMs);
      request.log.warn({ err: error, type: 'CALLLIST' }, 'core request failed');
      if (failure.retryAfterSeconds) reply.header('retry-after', String(failure.retryAfterSeconds));
      return problem(failure.httpStatus, failure.resultCode, failure.message);
    }
  }

  function pickBinding(operation: RestOperation, fields: Fields): CommandBinding {
    if (!operation.variantField) return operation.bindings[0]!;
    const asked = fields[operation.variantField];
    return (
      operation.bindings.find((b) => b.route.variant!.value === asked) ??
      operation.bindings.find((b) => b.route.variant!.isDefault) ??
      operation.bindings[0]!
    );
  }

  for (const operation of restOperations()) {
    // Fastify's own HEAD of a GET route runs the handler and reads the body to its end: for a media
    // export, the whole export. Those routes take HEAD themselves, and the export handler answers
    // it with the headers alone.
    const exportsMedia = operation.method === 'GET' && operation.bindings.some((b) => b.spec.servedBy === 'gateway');
    const route: RouteOptions = {
      // An operation whose fields are all optional may be called without a body at all.
      ...(operation.place === 'body'
        ? {
            preValidation: (request: FastifyRequest, _reply: FastifyReply, done: () => void) => {
              request.body ??= {};
              done();
            },
          }
        : {}),
      method: operation.method,
      config: { access: 'rest' },
      exposeHeadRoute: !exportsMedia,
      url: operation.url,
      schema: operation.schema,
      handler: (request, reply) => {
        const given = (operation.place === 'body' ? request.body : request.query) as Fields | undefined;
        const fields: Fields = { ...given, ...(request.params as Fields) };
        const binding = pickBinding(operation, fields);
        const { spec, route } = binding;
        const requestId = typeof fields['requestId'] === 'number' ? fields['requestId'] : nextRequestId();
        const params = new Map<string, string>(Object.entries(route.defaults ?? {}));
        for (const [field, param] of binding.fields) {
          if (fields[field] !== undefined) params.set(param.name, wireValue(param, fields[field]));
        }
        for (const [name, value] of Object.entries(route.fixed ?? {})) params.set(name, value);
        const unknown = Object.keys(given ?? {}).filter(
          (field) => field !== 'requestId' && field !== operation.variantField && !binding.fields.has(field) && !operation.pageFields.includes(field),
        );
        if (unknown.length > 0) {
          return refuseAsProblem(reply, 400, { type: spec.type, requestId: String(requestId) }, ResultCode.API_INVALID_MESSAGE_FORMAT, `${unknown.join(', ')} ${unknown.length > 1 ? 'do' : 'does'} not apply with ${operation.variantField}=${route.variant?.value}.`);
        }
        const refused = refusal(request, spec.scope, { type: spec.type, spec, params });
        if (refused) return refuseAsProblem(reply, refused.status, { type: spec.type, requestId: String(requestId) }, ResultCode.API_COMMAND_NOT_ALLOWED, refused.message);
        // What a schema cannot say: blank values where one is required, at most one of a group.
        if (spec.servedBy !== 'gateway') {
          const problems = checkParams(spec, params);
          if (problems.length > 0) {
            // The catalog speaks of XML names; this caller knows the fields by their JSON names.
            const fieldOf = new Map([...binding.fields].map(([field, param]) => [param.name, field]));
            const inFields = (text: string): string => text.replace(/\b[A-Z][A-Z0-9_]*\b/g, (name) => fieldOf.get(name) ?? name);
            return sendProblem(reply, 400, {
              resultCode: ResultCode.API_INVALID_MESSAGE_FORMAT,
              detail: `${problems.map((p) => inFields(p.problem)).join('; ')}.`,
              requestId,
              errors: problems.map((p) => ({ field: fieldOf.get(p.param) ?? p.param, detail: inFields(p.problem) })),
            });
          }
        }
        const shape = restAnswerOf(spec, route);
        if (shape.kind === 'resource' && shape.resource.paged) return sendPage(request, reply, shape.resource, requestId, params, fields);
        return carryOut(request, reply, spec, spec.type, requestId, params, shape);
      },
    };
    app.route(route);
    // A route of its own, so the OpenAPI document leaves it out as it does every HEAD.
    if (exportsMedia) app.route({ ...route, method: 'HEAD' });
  }

  // The escape hatch: any command, parameters as a flat JSON object, answered as JSON.
  app.route({
    method: 'POST',
    url: '/commands/:type',
    config: { access: 'rest' },
    schema: {
      summary: 'Send any XML command with a JSON object of parameters.',
      description:
        'Needs the scope of the command (its catalog entry; `admin` for a type the catalog does not know). Reaches every command of the XML API, including those without a resource route. Parameter names are the JSON names of the catalog (deviceId, sysUser, user9) or the XML names in any case (DEVICEID); values are strings, numbers, booleans (Y/N) or arrays (joined with commas). The core is the authority on what it accepts, as on the WebAPI: the answer is the same.',
      tags: ['commands'],
      operationId: 'postCommandsByType',
      params: {
        type: 'object',
        required: ['type'],
        properties: {
          type: {
            type: 'string',
            pattern: '^[A-Za-z][A-Za-z0-9_]{0,63}$',
            description: `The TYPE of the XML command, in any case: ${commands.map((spec) => spec.type).join(', ')}. A type the core does not know is answered API_UNKNOWN_MESSAGE_TYPE.`,
            examples: ['devicestatus'],
          },
        },
      },
      body: {
        type: 'object',
        maxProperties: webApiLimits.maxParameters,
        propertyNames: { pattern: '^[A-Za-z_][A-Za-z0-9_.-]{0,63}$' },
        properties: { requestId: requestIdSchema },
        // One multi-type schema rather than anyOf: Ajv coerces into the first branch of an anyOf
        // (true would become "true"), but leaves a value whose type is listed as it is.
        additionalProperties: {
          type: ['string', 'number', 'boolean', 'array'],
          maxLength: webApiLimits.maxValueLength,
          maxItems: 1000,
          items: { type: ['string', 'number'], maxLength: 64 },
        },
        examples: [{ deviceId: '1111' }],
      },
      response: {
        200: {
          description: 'The core answered with success; the RESULT as JSON.',
          content: {
            'application/json': {
              schema: { type: 'object', required: ['requestId', 'result'], properties: { requestId: { type: 'integer' }, result: { type: 'object', additionalProperties: true } }, additionalProperties: true },
              example: { requestId: 7, result: { type: 'API_OK', code: ResultCode.API_OK, message: 'API_OK' } },
            },
          },
        },
        '4XX': { description: 'Refused by the gateway or the core.', content: { 'application/problem+json': { schema: problemSchemaRef } } },
        '5XX': { description: 'The core could not be reached or failed.', content: { 'application/problem+json': { schema: problemSchemaRef } } },
      },
    },
    handler: (request, reply) => {
      const type = (request.params as { type: string }).type.toUpperCase();
      const spec = findCommand(type);
      // A type the catalog does not know may do anything at the core: admin.
      const body = (request.body ?? {}) as Fields;
      let requestId: number | undefined;
      const params = new Map<string, string>();
      for (const [field, value] of Object.entries(body)) {
        if (field.toUpperCase() === 'REQUESTID') {
          if (typeof value === 'number' && isValidRequestId(String(value), spec?.minRequestId)) requestId = value;
          else return refuseAsProblem(reply, 400, { type, requestId: undefined }, ResultCode.API_REQUESTID_INVALID, 'requestId must be an integer from 1 to 2147483647.');
          continue;
        }
        const param = spec && (spec.params.find((p) => jsonName(p.name) === field) ?? findParam(spec, field));
        const name = param?.name ?? field.toUpperCase();
        if (!isXmlName(name)) return refuseAsProblem(reply, 400, { type, requestId: undefined }, ResultCode.API_INVALID_MESSAGE_FORMAT, `${field} is not a valid parameter name.`);
        // One request is one command, the one the path names: a TYPE in the body would be a second.
        if (requestEnvelopeNames.has(name)) return refuseAsProblem(reply, 400, { type, requestId: undefined }, ResultCode.API_INVALID_MESSAGE_FORMAT, `${field} is not a parameter: the command is the one the path names.`);
        params.set(name, wireValue(param, value));
      }
      // A type the catalog does not know may do anything at the core: admin.
      const refused = refusal(request, spec?.scope ?? unknownTypeScope, { type, spec, params });
      if (refused) return refuseAsProblem(reply, refused.status, { type, requestId: undefined }, ResultCode.API_COMMAND_NOT_ALLOWED, refused.message);
      return carryOut(request, reply, spec, spec?.type ?? type, requestId ?? nextRequestId(), params);
    },
  });
};
