/**
 * Failures of the REST surface as RFC 9457 problem details (`application/problem+json`), carrying
 * the RESULTTYPE and RESULTCODE of the documented table. The HTTP status comes from the one
 * RESULTCODE table in protocol/result-codes unless the gateway itself decided it (a core that
 * cannot be reached, a full queue).
 */
import type { FastifyReply } from 'fastify';
import { resultTypeOf } from '../../protocol/result-codes.js';

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
