/**
 * Recordings by identity: RECORDINGINFO (our extension, which the gateway's exports resolve
 * recordings through), EMAIL and COMBINEDEMAIL (which write real messages to the outbox folder).
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { maxRecordingIdents, recordingColumns, userFieldNames } from '../../protocol/catalog.js';
import { ResultCode } from '../../protocol/result-codes.js';
import { element, type XmlElement } from '../../protocol/xml.js';
import { ApiError, ok, type CommandOutcome, type CoreRequest, type SimContext } from '../context.js';
import { combinedWavStream, isValidEmailAddress, writeEmail } from '../outbox.js';
import type { RecordingRow } from '../store.js';


/** The newest recording whose UNIQUEFIELD column holds UNIQUEID. */
function recordingByField(ctx: SimContext, field: string, value: string): RecordingRow | undefined {
  const column = field.trim().toLowerCase();
  if (!recordingColumns.includes(column)) {
    throw new ApiError(ResultCode.API_INVALID_MESSAGE_FORMAT, `UNIQUEFIELD ${field} is not a column of the Recording table`);
  }
  // The column name comes from the fixed list above, never from the request itself.
  return ctx.db
    .prepare(`SELECT * FROM recordings WHERE ${column} = ? ORDER BY recording_time DESC, ident DESC LIMIT 1`)
    .get(value) as RecordingRow | undefined;
}

function parseIdents(list: string): string[] {
  const idents = list.split(',').map((s) => s.trim()).filter(Boolean);
  if (idents.length === 0) throw new ApiError(ResultCode.API_INVALID_MESSAGE_FORMAT, 'IDENT names no recording');
  if (idents.length > maxRecordingIdents) {
    throw new ApiError(ResultCode.API_INVALID_MESSAGE_FORMAT, `IDENT names more than ${maxRecordingIdents} recordings`);
  }
  for (const ident of idents) {
    if (!/^[0-9]{1,18}$/.test(ident)) throw new ApiError(ResultCode.API_INVALID_MESSAGE_FORMAT, `IDENT ${ident} is not a recording ID`);
  }
  return idents;
}

/** Recordings by IDENT, in the order asked (repeats kept), and the idents that matched nothing. */
function recordingsByIdent(ctx: SimContext, idents: readonly string[]): { found: RecordingRow[]; missing: string[] } {
  const get = ctx.db.prepare('SELECT * FROM recordings WHERE ident = ?');
  const found: RecordingRow[] = [];
  const missing: string[] = [];
  for (const ident of idents) {
    const row = get.get(Number(ident)) as RecordingRow | undefined;
    if (row) found.push(row);
    else missing.push(ident);
  }
  return { found, missing };
}

/** Where a recording's audio is on disk, if it has any and the file is there. */
function mediaFile(ctx: SimContext, recording: RecordingRow): string | undefined {
  if (!recording.media_path) return undefined;
  const file = path.join(ctx.recordingsDir, ...recording.media_path.split('/'));
  return fs.existsSync(file) ? file : undefined;
}

function recordingElement(ctx: SimContext, r: RecordingRow): XmlElement {
  const agent = r.agent_id
    ? (ctx.db.prepare('SELECT first_name, last_name FROM users WHERE CAST(user_id AS TEXT) = ?').get(r.agent_id) as
        | { first_name: string; last_name: string }
        | undefined)
    : undefined;
  return element('RECORDING', [
    element('RECORDID', String(r.ident)),
    element('FILENAME', r.filename),
    element('DURATION', String(r.duration)),
    element('RECORDINGTIME', String(r.recording_time)),
    element('RECORDINGTYPE', r.recording_type),
    element('AUDIOSIZE', String(r.audio_size)),
    element('DEVICEID', r.device_id),
    element('DEVICEALIAS', r.device_alias),
    element('AGENTID', r.agent_id),
    element('AGENTFIRSTNAME', agent?.first_name ?? ''),
    element('AGENTLASTNAME', agent?.last_name ?? ''),
    element('SYS_USER', r.sys_user),
    element('CRM_USER', r.crm_user),
    element('ANI', r.ani),
    element('DNIS', r.dnis),
    element('CALLDIRECTION', r.calldirection),
    element('GROUP', r.sgroup),
    element('GATE', r.gate),
    element('CALLID', r.callid),
    element('GLOBALCALLID', r.globalid),
    element('CALLINSTANCE', r.call_instance),
    element('SESSIONID', r.session_id),
    element('KEEPDAYS', r.keepdays),
    element('COREIDENT', r.core_ident),
    ...userFieldNames.map((u) => element(u, String(r[u.toLowerCase()] ?? ''))),
  ]);
}

/** Resolve the recordings a request names: IDENT list, else UNIQUEFIELD (default ident) + UNIQUEID. */
function requestedRecordings(ctx: SimContext, req: CoreRequest): { found: RecordingRow[]; missing: string[] } {
  const identList = req.params.get('IDENT');
  const uniqueId = req.params.get('UNIQUEID');
  const field = req.params.get('UNIQUEFIELD') || 'ident';
  if (uniqueId && (req.spec.type !== 'COMBINEDEMAIL' || !identList)) {
    const row = recordingByField(ctx, field, uniqueId);
    return row ? { found: [row], missing: [] } : { found: [], missing: [`${field}=${uniqueId}`] };
  }
  return recordingsByIdent(ctx, parseIdents(identList ?? ''));
}

export function recordingInfo(req: CoreRequest, ctx: SimContext): CommandOutcome {
  const { found, missing } = requestedRecordings(ctx, req);
  const body = [element('RECORDINGS', [element('COUNT', String(found.length)), ...found.map((r) => recordingElement(ctx, r))])];
  if (missing.length > 0) {
    return { code: ResultCode.API_FILE_NOT_FOUND, message: `No recording found for ${missing.join(', ')}`, body };
  }
  return ok('API_OK', body);
}

const audioTypes: Record<string, { contentType: string; ffmpegArgs?: string[] }> = {
  WAV: { contentType: 'audio/wav' },
  MP3: { contentType: 'audio/mpeg', ffmpegArgs: ['-f', 'mp3', '-codec:a', 'libmp3lame', '-b:a', '32k'] },
  M4A: { contentType: 'audio/mp4', ffmpegArgs: ['-f', 'ipod', '-codec:a', 'aac', '-b:a', '32k', '-movflags', 'frag_keyframe+empty_moov'] },
};

function requireAddress(value: string | undefined, param: string): string {
  if (!value || !isValidEmailAddress(value)) {
    throw new ApiError(ResultCode.API_EMAIL_NOT_VALID, `${param} ${value ?? ''} is not a valid email address`.replace('  ', ' '));
  }
  return value;
}

/** Every recording must exist and have its audio on disk, or the answer names what is missing. */
function requireMedia(ctx: SimContext, found: readonly RecordingRow[], missing: readonly string[]): string[] {
  const files: string[] = [];
  const absent = [...missing];
  for (const r of found) {
    const file = mediaFile(ctx, r);
    if (file) files.push(file);
    else absent.push(String(r.ident));
  }
  if (absent.length > 0) throw new ApiError(ResultCode.API_FILE_NOT_FOUND, `No recording file found for ${absent.join(', ')}`);
  return files;
}

export async function email(req: CoreRequest, ctx: SimContext): Promise<CommandOutcome> {
  const to = requireAddress(req.params.get('TOADDRESS'), 'TOADDRESS');
  const format = (req.params.get('MEDIA_FORMAT') || 'WAV').toUpperCase();
  const kind = audioTypes[format];
  if (!kind || (kind.ffmpegArgs && !ctx.options.ffmpegPath)) {
    throw new ApiError(
      ResultCode.API_CONFIG_ERROR,
      kind ? `${format} attachments need ffmpeg, which this simulator was not given` : `The simulator cannot attach ${format} files; use WAV, MP3 or M4A`,
    );
  }
  const { found, missing } = requestedRecordings(ctx, req);
  if (found.length + missing.length > 1) {
    throw new ApiError(ResultCode.API_INVALID_MESSAGE_FORMAT, 'EMAIL exports one recording; use COMBINEDEMAIL for several');
  }
  const [file] = requireMedia(ctx, found, missing);
  const recording = found[0]!;
  const wav = readableMedia(() => combinedWavStream([file!]), String(recording.ident));
  const content = kind.ffmpegArgs ? transcode(ctx.options.ffmpegPath, wav, kind.ffmpegArgs) : wav;
  await writeEmail(ctx.outboxDir, {
    from: { address: 'recordings@uptivity.invalid', name: 'Uptivity Recordings' },
    to: { address: to },
    subject: `Recording ${recording.ident}`,
    text: `Recording ${recording.ident} of device ${recording.device_id}, ${recording.duration} seconds.`,
    attachment: { filename: `${recording.ident}.${format.toLowerCase()}`, contentType: kind.contentType, content },
    date: new Date(ctx.clock.now()),
  });
  return ok();
}

export async function combinedEmail(req: CoreRequest, ctx: SimContext): Promise<CommandOutcome> {
  const to = requireAddress(req.params.get('TOADDRESS'), 'TOADDRESS');
  const fromAddress = req.params.get('FROMADDRESS');
  const from = fromAddress ? requireAddress(fromAddress, 'FROMADDRESS') : 'recordings@uptivity.invalid';
  const { found, missing } = recordingsByIdent(ctx, parseIdents(req.params.get('IDENT') ?? ''));
  const files = requireMedia(ctx, found, missing);
  const idents = found.map((r) => r.ident).join(',');
  await writeEmail(ctx.outboxDir, {
    from: { address: from, ...(req.params.get('FROMNAME') ? { name: req.params.get('FROMNAME')! } : {}) },
    to: { address: to, ...(req.params.get('TONAME') ? { name: req.params.get('TONAME')! } : {}) },
    subject: `Recordings ${idents}`,
    text: `Recordings ${idents} combined into one file, ${found.reduce((s, r) => s + r.duration, 0)} seconds.`,
    attachment: { filename: `combined-${found[0]!.ident}.wav`, contentType: 'audio/wav', content: readableMedia(() => combinedWavStream(files), idents) },
    date: new Date(ctx.clock.now()),
  });
  return ok();
}

/** Open the audio of recordings; a file that vanished or is not a readable WAV is API_FILE_NOT_FOUND. */
function readableMedia<T>(open: () => T, idents: string): T {
  try {
    return open();
  } catch (error) {
    throw new ApiError(ResultCode.API_FILE_NOT_FOUND, `The audio of ${idents} cannot be read: ${error instanceof Error ? error.message : String(error)}`);
  }
}

/** Pipe a WAV stream through ffmpeg; the output is the attachment, never held whole in memory. */
function transcode(ffmpeg: string, input: NodeJS.ReadableStream, args: readonly string[]): NodeJS.ReadableStream {
  const child = spawn(ffmpeg, ['-hide_banner', '-loglevel', 'error', '-i', 'pipe:0', ...args, 'pipe:1'], { stdio: ['pipe', 'pipe', 'ignore'] });
  input.pipe(child.stdin);
  child.stdin.on('error', () => child.kill('SIGKILL'));
  // A path that cannot be run (ENOENT, EACCES) is reported as an 'error' of the child, and may come
  // before the mail writer reads (and listens to) the output: unheard, either would end the process.
  child.on('error', (error) => child.stdout.destroy(error));
  child.stdout.on('error', () => undefined);
  child.on('close', (code) => {
    if (code !== 0) child.stdout.destroy(new Error(`ffmpeg exited with ${code}`));
  });
  return child.stdout;
}
