/**
 * RECORDINGINFO, our extension, answered by the gateway from its recording catalog rather than by
 * the core: a real API Server does not know it (API_UNKNOWN_MESSAGE_TYPE), so only this way do the
 * WebAPI's `type=recordinginfo` and REST's `GET /api/v1/recordings/{recordId}` work in front of one.
 * The answer is the RESULT the simulator writes (RECORDINGS/COUNT and a RECORDING per recording),
 * from whichever source found the recordings (the core's own RECORDINGINFO among them). Every other
 * request goes to the core untouched.
 */
import type { CoreAnswer, CoreRequest } from '../core/connection.js';
import { ResultCode, resultTypeOf } from '../protocol/result-codes.js';
import { childText, element, parseXml, resultElement, serialize, type XmlElement } from '../protocol/xml.js';
import type { RecordingCatalog } from '../recordings/recording-catalog.js';
import { RecordingLookupError, parseIdentList, recordingElement, type RecordingSelection } from '../recordings/recording.js';
import type { CoreSender } from './core-call.js';

/** An answer written by the gateway, in the shape the core's answers have. */
class GatewayAnswer implements CoreAnswer {
  readonly bytes: Buffer;
  readonly requestType = 'RECORDINGINFO';
  readonly resultType: string;

  constructor(
    readonly root: XmlElement,
    readonly requestId: string,
    readonly resultCode: number,
    readonly resultMessage: string,
  ) {
    this.bytes = Buffer.from(serialize(root));
    this.resultType = resultTypeOf(resultCode) ?? '';
  }
}

function answer(requestId: string, code: number, message: string, recordings: readonly XmlElement[]): GatewayAnswer {
  const header = { requestType: 'RECORDINGINFO', requestId, resultType: resultTypeOf(code) ?? '', resultCode: code, resultMessage: message };
  // As the simulator answers: the list with success and with recordings not found, none with a refusal.
  const listed = code === ResultCode.API_OK || code === ResultCode.API_FILE_NOT_FOUND;
  const body = listed ? [element('RECORDINGS', [element('COUNT', String(recordings.length)), ...recordings])] : [];
  return new GatewayAnswer(resultElement(header, body), requestId, code, message);
}

/** IDENT, else UNIQUEFIELD (ident by default, as EMAIL's) and UNIQUEID, from the request the surface built. */
function selectionOf(request: CoreRequest): RecordingSelection {
  // The surfaces built this request themselves, escaped: it parses, and within these bounds.
  const root = parseXml(request.xml, { maxDepth: 4, maxElements: 512 });
  const idents = childText(root, 'IDENT')?.trim();
  if (idents) return { idents: parseIdentList(idents) };
  const uniqueId = childText(root, 'UNIQUEID')?.trim();
  if (!uniqueId) throw new RecordingLookupError(ResultCode.API_INVALID_MESSAGE_FORMAT, 'UNIQUEID or IDENT is required.');
  return { uniqueField: childText(root, 'UNIQUEFIELD')?.trim() || 'ident', uniqueId };
}

async function recordingInfo(catalog: RecordingCatalog, request: CoreRequest, signal: AbortSignal | undefined): Promise<CoreAnswer> {
  try {
    const found = await catalog.find(selectionOf(request), { requestId: request.requestId, ...(signal ? { signal } : {}) });
    return answer(request.requestId, ResultCode.API_OK, 'API_OK', found.map(recordingElement));
  } catch (error) {
    if (error instanceof RecordingLookupError) return answer(request.requestId, error.resultCode, error.message, []);
    throw error;
  }
}

/** `core` with RECORDINGINFO answered from `catalog`. */
export function answeringRecordingInfo(core: CoreSender, catalog: RecordingCatalog): CoreSender {
  return {
    send(request, answered, failed, signal) {
      if (request.type.trim().toUpperCase() !== 'RECORDINGINFO') return core.send(request, answered, failed, signal);
      recordingInfo(catalog, request, signal).then(answered, failed);
    },
  };
}
