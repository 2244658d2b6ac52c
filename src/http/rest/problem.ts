/**
 * Failures of the REST surface as RFC 9457 problem details (`application/problem+json`), carrying
 * the RESULTTYPE and RESULTCODE of the documented table. The HTTP status comes from the one
 * RESULTCODE table in protocol/result-codes unless the gateway itself decided it (a core that
 * cannot be reached, a full queue).
 */
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { ResultCode, resultTypeOf } from '../../protocol/result-codes.js';

export const problemMediaType = 'application/problem+json';

export interface ProblemField {
  /** The field's JSON name, or a JSON pointer into the request. */
  field: string;
  detail: string;
}

export interface ProblemDetails {
  resultCode: number;
  /** The RESULTTYPE; by default the table's label of resultCode. */
  resultType?: string;
  detail: string;
  requestId?: number | undefined;
  errors?: ProblemField[];
}

/** The `type` of a problem: a stable URI per RESULTTYPE. */
export function problemTypeUri(resultType: string): string {
  return `urn:uptivity:result:${resultType}`;
}

export function problemBody(status: number, details: ProblemDetails, instance?: string): Record<string, unknown> {
  const resultType = details.resultType ?? resultTypeOf(details.resultCode) ?? 'API_ERROR_UNKNOWN';
  return {
    type: problemTypeUri(resultType),
    title: resultType,
    status,
    detail: details.detail,
    ...(instance ? { instance } : {}),
    ...(details.requestId !== undefined ? { requestId: details.requestId } : {}),
    resultType,
    resultCode: details.resultCode,
    ...(details.errors ? { errors: details.errors } : {}),
  };
}

export function sendProblem(reply: FastifyReply, status: number, details: ProblemDetails): FastifyReply {
  return reply
    .code(status)
    .type(problemMediaType)
    .send(JSON.stringify(problemBody(status, details, reply.request.url.split('?')[0])));
}

/** The problem a Fastify error (validation, a bad JSON body, a body too large) becomes. */
function problemOfError(error: FastifyError): { status: number; detail: string; errors?: ProblemField[] } {
  if (error.validation) {
    // The branches of an at-least-one-of group each report their missing field: say it once.
    const alternatives = error.validation.filter((issue) => issue.keyword === 'required' && issue.schemaPath.includes('/anyOf/'));
    const errors: ProblemField[] = [];
    if (alternatives.length > 0) {
      const names = alternatives.map((issue) => String((issue.params as Record<string, unknown>)['missingProperty']));
      errors.push({ field: names.join('|'), detail: `one of ${names.join(', ')} is required` });
    }
    for (const issue of error.validation) {
      if (issue.keyword === 'anyOf' || alternatives.includes(issue)) continue;
      const params = issue.params as Record<string, unknown>;
      const property = (params['missingProperty'] ?? params['additionalProperty']) as string | undefined;
      const field = [issue.instancePath.replace(/^\//, '').replace(/\//g, '.'), property].filter(Boolean).join('.') || (error.validationContext ?? '');
      const unknown = params['additionalProperty'] !== undefined;
      errors.push({ field, detail: unknown ? `${field} is not a field of this operation` : `${field}: ${issue.message ?? 'is not valid'}` });
    }
    return { status: 400, detail: `${errors.map((e) => e.detail).join('; ')}.`, errors };
  }
  const status = error.statusCode && error.statusCode >= 400 ? error.statusCode : 500;
  return { status, detail: status === 500 ? 'The gateway failed to handle the request.' : error.message };
}

/** A Fastify error handler: schema validation, a bad or too large body, anything else, as a problem. */
export function sendErrorProblem(error: FastifyError, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  const problem = problemOfError(error);
  if (problem.status >= 500) request.log.error({ err: error }, 'request failed');
  return sendProblem(reply, problem.status, {
    resultCode: problem.status >= 500 ? ResultCode.API_ERROR_UNKNOWN : problem.status === 429 ? ResultCode.API_COMMAND_QUEUE_FULL : ResultCode.API_INVALID_MESSAGE_FORMAT,
    detail: problem.detail,
    ...(problem.errors ? { errors: problem.errors } : {}),
  });
}
