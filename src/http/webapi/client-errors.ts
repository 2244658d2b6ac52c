/**
 * Requests Node refuses before Fastify sees them (a malformed request line, headers past the size
 * limit, a request that took too long to arrive). A WebAPI client reads an XML RESULT whatever
 * happens, so on the WebAPI paths the refusal is one; elsewhere it is what Fastify answers.
 */
import type { FastifyInstance } from 'fastify';
import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import { ResultCode } from '../../protocol/result-codes.js';
import { buildResult } from '../../protocol/xml.js';
import { xmlType } from './result-reply.js';

interface ClientError extends Error {
  code?: string;
  /** The bytes Node was parsing when it gave up (a Buffer): the request line, when it fitted in them. */
  rawPacket?: unknown;
}

/** The WebAPI's paths, matched as the router matches them (case-insensitively), query string or not. */
const webApiRequestLine = /^[A-Z]+ \/webapi\.(?:aspx|php)(?:[?# ]|$)/i;

function refusalOf(error: ClientError): { status: number; message: string } {
  switch (error.code) {
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return { status: 408, message: 'The request did not arrive in time.' };
    case 'HPE_HEADER_OVERFLOW':
      return { status: 431, message: 'The request headers are larger than the gateway accepts.' };
    default:
      return { status: 400, message: 'The request is not valid HTTP.' };
  }
}

/** Fastify's clientErrorHandler: `this` is the server's instance. */
export function answerClientError(this: FastifyInstance, error: ClientError, socket: Socket): void {
  // A reset connection has nobody to answer.
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  // Mostly network noise or a load balancer's probe, as Fastify logs it (rawPacket is redacted).
  this.log.trace({ err: error }, 'client error');
  const { status, message } = refusalOf(error);
  if (socket.writable) {
    const head = Buffer.isBuffer(error.rawPacket) ? error.rawPacket.subarray(0, 64).toString('latin1') : '';
    const [type, body] = webApiRequestLine.test(head)
      ? [
          xmlType,
          buildResult({ requestType: '', requestId: '', resultType: 'API_INVALID_MESSAGE_FORMAT', resultCode: ResultCode.API_INVALID_MESSAGE_FORMAT, resultMessage: message }),
        ]
      : ['application/json', JSON.stringify({ error: STATUS_CODES[status], message, statusCode: status })];
    socket.write(`HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: ${type}\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
  }
  socket.destroy(error);
}
