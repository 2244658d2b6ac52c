/**
 * EXPORT, COMBINEDEXPORT and MULTIEXPORT: the WebAPI's own functions, which stream recordings in
 * MEDIA_FORMAT. Parameters are checked against the catalog and the recordings resolved (core, then
 * path map) before the first byte; what is missing is an XML RESULT naming it. Then the body
 * streams with back-pressure; a caller who goes away stops the work (files closed, ffmpeg killed).
 * Exports that run ffmpeg take a transcode slot; when none is free the caller gets 503 at once.
 */
import { createHash } from 'node:crypto';
import { closeSync } from 'node:fs';
import type { Readable } from 'node:stream';
import { create as contentDisposition } from 'content-disposition';
import type { FastifyReply, FastifyRequest } from 'fastify';
import rangeParser from 'range-parser';
import { checkParams, exportMediaFormats, findParam, type CommandSpec } from '../../protocol/catalog.js';
import { ResultCode, httpStatusForResultCode } from '../../protocol/result-codes.js';
import { element, serialize } from '../../protocol/xml.js';
import { cavFileExtension, cavMime, cavStream } from '../../media/cav.js';
import { audioFormatInfo, concatenatedPcm, encodeExport, exportFilePlan, nativeRate, pcmSource, type AudioFormat, type EncodedAudio, type ExportFormat, type MediaTools } from '../../media/export-audio.js';
import { ffmpegVersion } from '../../media/ffmpeg.js';
import { fileRangeStream } from '../../media/file-range-stream.js';
import { TranscodeSlotRefused, type CachedMedia, type TranscodeCache } from '../../media/transcode-cache.js';
import type { RecordingFiles } from '../../media/recording-files.js';
import { resolveRecordings, type ExportedRecording } from '../../media/resolution.js';
import type { RecordingCatalog } from '../../recordings/recording-catalog.js';
import { RecordingLookupError, parseIdentList, type RecordingSelection } from '../../recordings/recording.js';
import type { Slots } from '../../media/slots.js';
import { multiExportZip } from '../../media/zip-export.js';
import { describeCoreFailure } from '../core-failures.js';
import type { GatewayMetrics } from '../ops/metrics.js';
import { sendResult } from '../webapi/result-reply.js';
import { callerKey, noteResult } from '../access/plugin.js';
import { sendMediaStream } from './media-response.js';
import { mediaAnswer, notModified, setValidators, type MediaAnswer, type MediaRepresentation } from './conditional.js';
import type { WebApiCall } from '../webapi/parameters.js';

export interface ExportOptions {
  /** Where recordings are found (the product database, RECORDINGINFO, the event index, the share). */
  catalog: RecordingCatalog;
  files: RecordingFiles;
  /** The ffmpeg binary, located on first use. */
  ffmpeg: () => Promise<string>;
  /** Transcodes (ffmpeg) at once, overall and per caller; a short wait for one past the bound. */
  slots: Slots;
  /**
   * Exports being answered at once, overall (past it 503) and per caller (past it 429): what
   * bounds the files, sockets and buffers exports hold. Unbounded when absent.
   */
  exportSlots?: Slots;
  /** An export whose client has not taken a byte for this long is ended (default 30 s). */
  stallTimeoutMs?: number;
  /** Where single-recording exports are written whole and kept. */
  cache: TranscodeCache;
  metrics: GatewayMetrics;
  coreTimeoutMs: number;
}

/** A bound on work of one kind, and what a caller refused by it is told. */
interface BusyWork {
  bound: Slots;
  /** Every slot taken: 503 with this message and code. */
  full: string;
  fullCode: number;
  /** The caller holds its own share: 429 with this message. */
  ownShare: string;
}

/** A body ready to send: how to open it, and what the response says about it. */
interface ExportBody {
  mime: string;
  fileName: string;
  size: number | undefined;
  rangeable: boolean;
  usesFfmpeg: boolean;
  open(range?: { start: number; end: number }): Readable;
}

/** How a surface refuses a call in its own format: an XML RESULT on the WebAPI, problem+json on REST. */
export type Refusal = (
  reply: FastifyReply,
  status: number,
  header: { type: string; requestId: string | undefined },
  code: number,
  message: string,
) => FastifyReply;

function canonicalParams(spec: CommandSpec, params: ReadonlyMap<string, string>): Map<string, string> {
  const canonical = new Map<string, string>();
  for (const [name, value] of params) canonical.set(findParam(spec, name)?.name ?? name, value.trim());
  return canonical;
}

function selectionOf(spec: CommandSpec, params: ReadonlyMap<string, string>): RecordingSelection {
  if (spec.type === 'EXPORT') return { uniqueField: params.get('UNIQUEFIELD')!, uniqueId: params.get('UNIQUEID')! };
  return { idents: parseIdentList(params.get('IDENT')!) };
}

/** Recording metadata for a CAV: the core's RECORDING element, as the core gave it. */
function metadataXml(recordings: readonly ExportedRecording[]): string {
  return `<?xml version="1.0" encoding="utf-8"?>\r\n${serialize(element('RECORDINGS', recordings.map((r) => r.metadata)))}`;
}

function cavBody(audio: EncodedAudio, recordings: readonly ExportedRecording[], password: string | undefined, tools: MediaTools): Omit<ExportBody, 'fileName'> {
  return {
    mime: cavMime,
    size: undefined,
    rangeable: false,
    usesFfmpeg: audio.usesFfmpeg,
    open: () =>
      cavStream({
        audio: { name: `audio.${audio.extension}`, open: () => audio.open() },
        metadataXml: metadataXml(recordings),
        password,
        signal: tools.signal,
      }),
  };
}

function singleBody(spec: CommandSpec, recordings: ExportedRecording[], format: ExportFormat, password: string | undefined, tools: MediaTools): ExportBody {
  const source =
    spec.type === 'EXPORT'
      ? pcmSource(recordings[0]!.file, tools)
      : (() => {
          // Parts join at the highest rate among them; the others are resampled by ffmpeg.
          const rate = Math.max(...recordings.map((r) => nativeRate(r.file)));
          return concatenatedPcm(recordings.map((r) => pcmSource(r.file, tools, rate)));
        })();
  const stem = spec.type === 'EXPORT' ? recordings[0]!.recordId : `${recordings[0]!.recordId}-${recordings.at(-1)!.recordId}-combined`;
  if (format === 'cav') return { ...cavBody(encodeExport(source, 'wav', tools), recordings, password, tools), fileName: `${stem}${cavFileExtension}` };
  const audio = encodeExport(source, format, tools);
  return { ...audio, fileName: `${stem}.${audio.extension}` };
}

function zipBody(recordings: ExportedRecording[], format: ExportFormat, password: string | undefined, requestId: string, tools: MediaTools): ExportBody {
  const width = String(recordings.length).length;
  const entries = recordings.map((recording, i) => {
    const source = pcmSource(recording.file, tools);
    const audio = encodeExport(source, format === 'cav' ? 'wav' : format, tools);
    const body = format === 'cav' ? cavBody(audio, [recording], password, tools) : audio;
    // Numbered in the order asked, then the recording's ID: entries sort and say what they hold.
    const name = `${String(i + 1).padStart(width, '0')}-${recording.recordId}.${format === 'cav' ? cavFileExtension.slice(1) : audio.extension}`;
    return { name, usesFfmpeg: body.usesFfmpeg, open: () => body.open() };
  });
  return {
    mime: 'application/zip',
    fileName: `recordings-${requestId}.zip`,
    size: undefined,
    rangeable: false,
    usesFfmpeg: entries.some((e) => e.usesFfmpeg),
    open: () => multiExportZip(entries, { signal: tools.signal }),
  };
}

/** The catalog's formats that hold audio of any length: all but WAV and CAV, which wraps a WAV. */
const unboundedFormats = exportMediaFormats.filter((f) => f !== 'WAV' && f !== 'CAV').map((f) => f.toLowerCase());

/** What the headers say of the media, dropped when an error is answered instead. */
const mediaHeaders = ['content-disposition', 'content-length', 'content-range', 'accept-ranges', 'etag', 'last-modified'];

/** A strong ETag naming everything that decides the bytes: the same parts, the same file. */
function etagOf(parts: readonly unknown[]): { key: string; etag: string } {
  const key = createHash('sha256').update(JSON.stringify(parts)).digest('hex');
  return { key, etag: `"${key.slice(0, 32)}"` };
}

/** A file's validators and length, and the format it is in (for metrics). */
type FileRepresentation = MediaRepresentation & { format: AudioFormat };

export function exportHandler(options: ExportOptions) {
  const { catalog, files, slots, metrics, cache } = options;
  const stallTimeoutMs = options.stallTimeoutMs ?? 30_000;

  /**
   * No slot came (`busy` says of what): 429 when the caller holds its own share, 503 when every
   * slot is taken, both with Retry-After.
   */
  function refuseBusy(request: FastifyRequest, reply: FastifyReply, call: WebApiCall, refuse: Refusal, busy: BusyWork): FastifyReply {
    reply.header('retry-after', '5');
    const { bound, full, fullCode, ownShare } = busy;
    return bound.refusal(callerKey(request)) === 'owner'
      ? refuse(reply, 429, call, ResultCode.API_TOO_MANY_CLIENTS, ownShare)
      : refuse(reply, 503, call, fullCode, full);
  }
  const busyTranscodes: BusyWork = {
    bound: slots,
    full: 'Every transcoding slot is busy; try again shortly.',
    fullCode: ResultCode.API_COMMAND_QUEUE_FULL,
    ownShare: 'This caller is running as many transcodes as it may; wait for one to end.',
  };
  const busyExports: BusyWork | undefined = options.exportSlots && {
    bound: options.exportSlots,
    full: 'The gateway is running as many exports as it may; try again shortly.',
    fullCode: ResultCode.API_TOO_MANY_CLIENTS,
    ownShare: 'This caller has as many exports running as it may; wait for one to end.',
  };
  metrics.activeTranscodes = () => slots.active;
  metrics.mediaCache = () => ({ bytes: cache.bytes, files: cache.size });

  interface RecordingFileCall {
    request: FastifyRequest;
    reply: FastifyReply;
    call: WebApiCall;
    refuse: Refusal;
    format: AudioFormat;
    recording: ExportedRecording;
    body: ExportBody;
    ffmpeg: string;
    abort: AbortController;
  }

  /**
   * One recording, in any format but CAV, as a whole file a player can seek in: its length and
   * validators known before the first byte, so HEAD, Range, If-Range and If-None-Match all apply.
   * WAV and PCM of a WAV source are mapped from the source as they are read; every other export is
   * written whole by the transcode cache first (and kept there), then sent as a file.
   */
  async function sendRecordingFile({ request, reply, call, refuse, format, recording, body, ffmpeg, abort }: RecordingFileCall): Promise<FastifyReply> {
    const stat = recording.fileStat;
    // The source's identity: a recording written again (another size or mtime, or another file) is another export.
    const source = [recording.file, stat.size, stat.mtimeMs, stat.ino];
    reply.header('content-type', body.mime).header('content-disposition', contentDisposition(body.fileName)).header('accept-ranges', 'bytes');
    const caller = reply.raw;
    // A caller who leaves while the file is made stops waiting for it (and the encode, if nobody else waits).
    const onClose = (): void => {
      if (!caller.writableFinished) abort.abort(new Error('the caller went away'));
    };
    caller.once('close', onClose);

    if (body.rangeable && body.size !== undefined) {
      const representation = { format, size: body.size, ...etagOf(['source', format, ...source]), lastModified: stat.mtime };
      setValidators(reply, representation);
      return sendFile(request, reply, call, refuse, representation, mediaAnswer(request, representation), (range) => body.open(range), undefined);
    }

    if (body.usesFfmpeg && !ffmpeg) return refuse(reply, 501, call, ResultCode.API_COMMAND_NOT_SUPPORTED, `No ffmpeg is available to export ${format}.`);
    const plan = exportFilePlan(recording.file, format, ffmpeg);
    let version = '';
    if (plan.usesFfmpeg) {
      try {
        version = await ffmpegVersion(ffmpeg);
      } catch (error) {
        request.log.warn({ err: error }, 'ffmpeg does not answer -version');
        return refuse(reply, 501, call, ResultCode.API_COMMAND_NOT_SUPPORTED, `No ffmpeg is available to export ${format}.`);
      }
    }
    const { key, etag } = etagOf(['file', plan.settings, version, ...source]);
    const validators = { etag, lastModified: stat.mtime };
    setValidators(reply, validators);
    // The ETag is known before the file is made (ffmpeg writes bitexact files): a current copy costs no encode.
    if (notModified(request, validators)) return reply.code(304).send();
    let media: CachedMedia;
    try {
      media = await cache.get(
        key,
        audioFormatInfo[format].extension,
        {
          write: plan.write,
          // Shared by every caller, and at most a caller's share to each credential (or address).
          takeSlot: (signal) => (plan.usesFfmpeg ? slots.acquire(callerKey(request), signal) : () => undefined),
        },
        abort.signal,
      );
    } catch (error) {
      for (const header of mediaHeaders) reply.removeHeader(header);
      if (error instanceof TranscodeSlotRefused) return refuseBusy(request, reply, call, refuse, busyTranscodes);
      if (!abort.signal.aborted) request.log.error({ err: error, type: 'EXPORT' }, 'export failed before its first byte');
      return refuse(reply, 500, call, ResultCode.API_ERROR_PROCESSING_MESSAGE, 'The export failed; see the gateway log.');
    }
    if (abort.signal.aborted) {
      // Gone between the file's completion and now: its response will never ask for the bytes.
      closeSync(media.fd);
      return reply;
    }
    const representation = { format, ...validators, size: media.size };
    const open = (range?: { start: number; end: number }): Readable => fileRangeStream(media.fd, media.size, range);
    return sendFile(request, reply, call, refuse, representation, mediaAnswer(request, representation), open, () => closeSync(media.fd));
  }

  /** The answer to a request for a whole file of known length: 304, 416, 206 or 200, HEAD's without a body. */
  function sendFile(
    request: FastifyRequest,
    reply: FastifyReply,
    call: WebApiCall,
    refuse: Refusal,
    representation: FileRepresentation,
    answer: MediaAnswer,
    open: (range?: { start: number; end: number }) => Readable,
    /** Called when `open` will not be: what was opened for it is closed. */
    unused: (() => void) | undefined,
  ): FastifyReply {
    const { size } = representation;
    if (answer.kind === 'not-modified') {
      unused?.();
      return reply.code(304).send();
    }
    if (answer.kind === 'unsatisfiable') {
      unused?.();
      return reply.code(416).header('content-range', `bytes */${size}`).send();
    }
    const range = answer.kind === 'part' ? { start: answer.start, end: answer.end } : undefined;
    if (range) reply.code(206).header('content-range', `bytes ${range.start}-${range.end}/${size}`);
    reply.header('content-length', String(range ? range.end - range.start + 1 : size));
    if (request.method === 'HEAD') {
      unused?.();
      return reply.send();
    }
    metrics.exportRequests.inc({ function: 'EXPORT', format: representation.format });
    let bytes = 0;
    if (request.audit) request.audit.bytes = () => bytes;
    reply.raw.once('close', () => metrics.exportBytes.inc({ function: 'EXPORT' }, bytes));
    sendMediaStream(reply, open(range), {
      stallTimeoutMs,
      stalled: () => request.log.info({ type: 'EXPORT', stallTimeoutMs }, 'export ended: its client stopped reading'),
      sent: (n) => (bytes += n),
      beforeFirstByte: (error) => {
        request.log.error({ err: error, type: 'EXPORT' }, 'export failed before its first byte');
        for (const header of mediaHeaders) reply.removeHeader(header);
        reply.code(200);
        refuse(reply, 500, call, ResultCode.API_ERROR_PROCESSING_MESSAGE, 'The export failed; see the gateway log.');
      },
      failedMidStream: (error) => {
        if (!reply.raw.destroyed) request.log.error({ err: error, type: 'EXPORT' }, 'export failed while streaming');
      },
    });
    return reply;
  }

  return async (spec: CommandSpec, call: WebApiCall, request: FastifyRequest, reply: FastifyReply, refuseAs: Refusal = sendResult): Promise<FastifyReply> => {
    // Every refusal's RESULTCODE goes to the export's audit line.
    const refuse: Refusal = (r, status, header, code, message) => {
      noteResult(request, code, undefined);
      return refuseAs(r, status, header, code, message);
    };
    // Every export holds a slot from here until its response closes, whichever way it ends.
    if (busyExports && request.method !== 'HEAD') {
      const released = busyExports.bound.tryAcquire(callerKey(request));
      if (!released) return refuseBusy(request, reply, call, refuse, busyExports);
      reply.raw.once('close', released);
    }
    const requestId = call.requestId!.trim();
    const params = canonicalParams(spec, call.params);
    const problems = checkParams(spec, params);
    if (problems.length > 0) {
      return refuse(reply, 400, call, ResultCode.API_INVALID_MESSAGE_FORMAT, problems.map((p) => p.problem).join('; ') + '.');
    }
    // checkParams has held MEDIA_FORMAT to the catalog's values.
    const format = params.get('MEDIA_FORMAT')!.toLowerCase() as ExportFormat;
    // ENCRYPT applies to CAV files only (the manual's EXPORT example sends it with mp3, to no effect).
    const encrypt = format === 'cav' && params.get('ENCRYPT')?.toUpperCase() === 'Y';
    const password = params.get('PASSWORD');
    if (encrypt && !password) {
      return refuse(reply, 400, call, ResultCode.API_INVALID_MESSAGE_FORMAT, 'ENCRYPT=Y needs a PASSWORD.');
    }

    let recordings: ExportedRecording[];
    try {
      recordings = await resolveRecordings(catalog, selectionOf(spec, params), { requestId }, files);
    } catch (error) {
      if (error instanceof RecordingLookupError) {
        return refuse(reply, httpStatusForResultCode(error.resultCode), call, error.resultCode, error.message);
      }
      const failure = describeCoreFailure(error, options.coreTimeoutMs);
      request.log.warn({ err: error, type: spec.type }, 'export resolution failed');
      if (failure.retryAfterSeconds) reply.header('retry-after', String(failure.retryAfterSeconds));
      return refuse(reply, failure.httpStatus, call, failure.resultCode, failure.message);
    }

    const abort = new AbortController();
    // A caller who leaves (while it waits for a slot, say) stops what works for it.
    reply.raw.once('close', () => {
      if (!reply.raw.writableFinished) abort.abort(new Error('the caller went away'));
    });
    let ffmpeg = '';
    try {
      ffmpeg = await options.ffmpeg();
    } catch (error) {
      request.log.warn({ err: error }, 'no ffmpeg: only wav, pcm and vox of WAV sources can be exported');
    }
    const tools: MediaTools = { ffmpeg, signal: abort.signal };
    let body: ExportBody;
    try {
      body =
        spec.type === 'MULTIEXPORT'
          ? zipBody(recordings, format, encrypt ? password : undefined, requestId, tools)
          : singleBody(spec, recordings, format, encrypt ? password : undefined, tools);
    } catch (error) {
      // A WAV's sizes are 32-bit: more than 4 GiB of samples (some 74 hours of 8 kHz audio) has no
      // WAV to go in, which is known from the headers before a sample is read.
      if (error instanceof RangeError) {
        const problem = error.message.charAt(0).toUpperCase() + error.message.slice(1);
        return refuse(reply, 400, call, ResultCode.API_INVALID_MESSAGE_FORMAT, `${problem}: ask for ${unboundedFormats.join(', ')}, or for fewer recordings.`);
      }
      throw error;
    }
    if (spec.type === 'EXPORT' && format !== 'cav') {
      return sendRecordingFile({ request, reply, call, refuse, format, recording: recordings[0]!, body, ffmpeg, abort });
    }
    // HEAD (link checkers, download managers asking the size) gets the headers a GET would, and
    // nothing is exported: no file is read and no ffmpeg started.
    const head = request.method === 'HEAD';
    let release: (() => void) | undefined;
    if (body.usesFfmpeg && !ffmpeg) return refuse(reply, 501, call, ResultCode.API_COMMAND_NOT_SUPPORTED, `No ffmpeg is available to export ${format}.`);
    if (body.usesFfmpeg && !head) {
      // Shared by every caller, and at most a caller's share to each credential (or address).
      release = await slots.acquire(callerKey(request), abort.signal);
      if (!release) return refuseBusy(request, reply, call, refuse, busyTranscodes);
    }

    reply.header('content-type', body.mime).header('content-disposition', contentDisposition(body.fileName));
    let range: { start: number; end: number } | undefined;
    if (body.rangeable && body.size !== undefined) {
      reply.header('accept-ranges', 'bytes');
      // Range is a GET's (RFC 9110): HEAD describes the whole file.
      const asked = head ? undefined : request.headers.range;
      const ranges = asked ? rangeParser(body.size, asked, { combine: true }) : undefined;
      if (ranges === -1) {
        release?.();
        return reply.code(416).header('content-range', `bytes */${body.size}`).send();
      }
      // A malformed header, or several ranges, is answered with the whole file (RFC 9110 allows it).
      if (Array.isArray(ranges) && ranges.length === 1 && ranges.type === 'bytes') {
        range = { start: ranges[0]!.start, end: ranges[0]!.end };
        reply.code(206).header('content-range', `bytes ${range.start}-${range.end}/${body.size}`);
      }
    }
    const length = range ? range.end - range.start + 1 : body.size;
    if (length !== undefined) reply.header('content-length', String(length));
    if (head) return reply.send();

    metrics.exportRequests.inc({ function: spec.type, format });
    let bytes = 0;
    if (request.audit) request.audit.bytes = () => bytes;
    reply.raw.once('close', () => {
      // A caller gone before the end: stop everything still working for it.
      if (!reply.raw.writableFinished) abort.abort(new Error('the caller went away'));
      release?.();
      metrics.exportBytes.inc({ function: spec.type }, bytes);
    });
    sendMediaStream(reply, body.open(range), {
      stallTimeoutMs,
      stalled: () => request.log.info({ type: spec.type, stallTimeoutMs }, 'export ended: its client stopped reading'),
      sent: (n) => (bytes += n),
      beforeFirstByte: (error) => {
        request.log.error({ err: error, type: spec.type }, 'export failed before its first byte');
        for (const header of mediaHeaders) reply.removeHeader(header);
        refuse(reply, 500, call, ResultCode.API_ERROR_PROCESSING_MESSAGE, 'The export failed; see the gateway log.');
      },
      failedMidStream: (error) => {
        if (!abort.signal.aborted) request.log.error({ err: error, type: spec.type }, 'export failed while streaming');
      },
    });
    return reply;
  };
}
