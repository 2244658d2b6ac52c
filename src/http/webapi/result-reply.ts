/**
 * The XML RESULT the gateway answers itself with, on the WebAPI paths: the documented header
 * echoing the caller's REQUESTTYPE and REQUESTID, a RESULTCODE of the table and a clear message.
 */
import type { FastifyReply } from 'fastify';
import { resultTypeOf } from '../../protocol/result-codes.js';
import { buildResult } from '../../protocol/xml.js';

export const xmlType = 'text/xml; charset=utf-8';

/** The longest REQUESTTYPE or REQUESTID echoed back in a gateway RESULT. */
const maxEcho = 64;

export function sendResult(
  reply: FastifyReply,
  status: number,
  header: { type: string; requestId: string | undefined },
  code: number,
  message: string,
): FastifyReply {
  return reply
    .code(status)
    .type(xmlType)
    .send(
      buildResult({
        requestType: header.type.slice(0, maxEcho),
        requestId: (header.requestId ?? '').trim().slice(0, maxEcho),
        resultType: resultTypeOf(code) ?? 'API_ERROR_UNKNOWN',
        resultCode: code,
        resultMessage: message,
      }),
    );
}
