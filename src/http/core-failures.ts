/**
 * What the gateway tells a caller when the XML core could not answer: the one mapping from a
 * CoreError to an HTTP status and a RESULTCODE of the documented table, shared by every surface.
 */
import { CoreError } from '../core/pool.js';
import { ResultCode } from '../protocol/result-codes.js';

export interface CoreFailure {
  /** What went wrong, as a metrics label: UNAVAILABLE, QUEUE_FULL, TIMEOUT... */
  label: string;
  httpStatus: number;
  resultCode: number;
  message: string;
  /** Seconds a caller should wait before trying again (Retry-After). */
  retryAfterSeconds?: number;
}

export function describeCoreFailure(error: unknown, timeoutMs: number): CoreFailure {
  if (!(error instanceof CoreError)) {
    return { label: 'ERROR', httpStatus: 500, resultCode: ResultCode.API_ERROR_UNKNOWN, message: 'The gateway failed to handle the request.' };
  }
  const label = error.kind.toUpperCase().replace('-', '_');
  const carriedOut = error.mayHaveReachedCore ? ' The core may have carried the request out.' : '';
  switch (error.kind) {
    case 'unavailable':
      return {
        label,
        httpStatus: 503,
        resultCode: ResultCode.API_ERROR_RECORDER_NOT_RUNNING,
        message: `The XML core is unreachable.${carriedOut}`,
        retryAfterSeconds: 5,
      };
    case 'queue-full':
      return { label, httpStatus: 503, resultCode: ResultCode.API_COMMAND_QUEUE_FULL, message: 'Too many requests are waiting for the XML core.', retryAfterSeconds: 1 };
    case 'closed':
      return { label, httpStatus: 503, resultCode: ResultCode.API_ERROR_RECORDER_NOT_RUNNING, message: 'The gateway is shutting down.', retryAfterSeconds: 5 };
    case 'timeout':
      return {
        label,
        httpStatus: 504,
        resultCode: ResultCode.API_ERROR_PROCESSING_MESSAGE,
        message: `The XML core did not answer within ${timeoutMs} ms.${carriedOut}`,
      };
    case 'too-large':
    case 'protocol':
      return {
        label,
        httpStatus: 502,
        resultCode: ResultCode.API_ERROR_PROCESSING_MESSAGE,
        message: `The XML core answered with something the gateway cannot use: ${error.message}.${carriedOut}`,
      };
  }
}
