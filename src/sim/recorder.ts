/**
 * The recorder: call instances on devices, the recordings made of them (the call's own recording
 * and RECORDSTART's partial ones), channels, blackout pauses, the WAV file written when a recording
 * stops and the row saved in the Recording table, with the events each step publishes.
 */
import path from 'node:path';
import { userFieldNames } from '../protocol/catalog.js';
import { ResultCode } from '../protocol/result-codes.js';
import { writeRecordingWav, type Silence } from './audio.js';
import { ApiError, type CoreRequest, type SimContext } from './context.js';
import { agentOfDevice, ensureDevice, stationOfDevice, type ResolvedDevice } from './directory.js';
import { productFilename, productTime, recordingRelativePath } from './product-format.js';
import { callDataParams, columnsOf, updatePresent, type CallRow, type DeviceRow, type RecordingRow, type SegmentRow } from './store.js';

const userColumns = userFieldNames.map((u) => u.toLowerCase());

/** The data fields a call carries and their columns in the calls table. */
const callDataFields = columnsOf([...callDataParams, 'CALLID', 'PRIORITY', 'ARCHIVEACTION', 'KEEPDAYS'], { ARCHIVEACTION: 'archive_action' });

/**
 * The outcome of forwarding a command to the recording cores, as the API Server words it.
 * Throws API_ERROR_RECORDER_NOT_RUNNING when no core is up.
 */
export function dispatchToCores(ctx: SimContext, type: string): { code: number; message: string; coreIdent: number } {
  const up = ctx.cores.upIdents;
  const down = ctx.cores.downIdents;
  if (up.length === 0) {
    throw new ApiError(ResultCode.API_ERROR_RECORDER_NOT_RUNNING, `${type} could not be sent to the following cores: ${down.join(',')}`);
  }
  if (down.length > 0) {
    return { code: ResultCode.API_PARTIAL_CORE_RESPONSE, message: `${type} could not be sent to the following cores: ${down.join(',')}`, coreIdent: up[0]! };
  }
  return { code: ResultCode.API_OK, message: `${type} sent to all of the following cores: ${up.join(',')}`, coreIdent: up[0]! };
}

export function activeCalls(ctx: SimContext, deviceId: string): CallRow[] {
  return ctx.db.prepare('SELECT * FROM calls WHERE device_id = ? AND active = 1 ORDER BY start_ms DESC, call_id DESC').all(deviceId) as CallRow[];
}

/** The call a command without CALLINSTANCE means: the last call on the device. */
export function findCall(ctx: SimContext, deviceId: string, callInstance: string | undefined, activeOnly: boolean): CallRow | undefined {
  const activeClause = activeOnly ? 'AND active = 1' : '';
  if (callInstance !== undefined) {
    return ctx.db
      .prepare(`SELECT * FROM calls WHERE device_id = ? AND call_instance = ? ${activeClause} ORDER BY active DESC, start_ms DESC, call_id DESC LIMIT 1`)
      .get(deviceId, callInstance) as CallRow | undefined;
  }
  return ctx.db
    .prepare(`SELECT * FROM calls WHERE device_id = ? ${activeClause} ORDER BY active DESC, start_ms DESC, call_id DESC LIMIT 1`)
    .get(deviceId) as CallRow | undefined;
}

export function openSegments(ctx: SimContext, callId: number): SegmentRow[] {
  return ctx.db.prepare('SELECT * FROM segments WHERE call_id = ? AND stop_ms IS NULL ORDER BY segment_id').all(callId) as SegmentRow[];
}

export function latestSegment(ctx: SimContext, callId: number): SegmentRow | undefined {
  return ctx.db
    .prepare('SELECT * FROM segments WHERE call_id = ? ORDER BY (stop_ms IS NULL) DESC, segment_id DESC LIMIT 1')
    .get(callId) as SegmentRow | undefined;
}

function eventValues(call: CallRow, extra: Record<string, string | number | null> = {}): Record<string, string | number | null> {
  const values: Record<string, string | number | null> = {
    GLOBALCALLID: call.global_call_id,
    DEVICEID: call.device_id,
    DEVICEALIAS: call.device_alias,
    SYS_USER: call.sys_user,
    CRM_USER: call.crm_user,
    GATE: call.gate,
    ANI: call.ani,
    DNIS: call.dnis,
    AGENTID: call.agent_id,
    GROUP: call.sgroup,
    CALLINSTANCE: call.call_instance,
    CALLDIRECTION: call.calldirection,
    STATION: call.station,
    ISTRUNK: '',
    KEEPDAYS: call.keepdays,
    ARCHIVEACTION: call.archive_action,
    STARTTIME: productTime(call.start_ms),
    COREIDENT: call.core_ident,
    ERRORREASON: 'NONE',
    ...extra,
  };
  for (const u of userFieldNames) values[u] = call[u.toLowerCase() as `user${number}`] ?? '';
  return values;
}

function segmentEventValues(call: CallRow, segment: SegmentRow): Record<string, string | number | null> {
  return eventValues(call, { FILENAME: segment.filename, CHANNEL: segment.channel });
}

function nextGlobalCallId(ctx: SimContext, coreIdent: number): string {
  const row = ctx.db.prepare("SELECT COALESCE(MAX(call_id), 0) + 1 AS n FROM calls").get() as { n: number };
  return `${String(coreIdent).padStart(4, '0')}${String(row.n).padStart(11, '0')}`;
}

/** Start a call on a device (CALLSTART, or the on-demand call of a RECORDSTART on an idle device). */
export function startCall(ctx: SimContext, req: CoreRequest, resolved: ResolvedDevice, coreIdent: number, onDemand: boolean): CallRow {
  const now = ctx.clock.now();
  const callInstance = req.params.get('CALLINSTANCE') ?? '';
  const device = ensureDevice(ctx, resolved.deviceId);
  if (resolved.alias && device.device_alias !== resolved.alias) {
    // The agent signs on at this device with that alias (free seating).
    ctx.db.prepare('UPDATE devices SET device_alias = ? WHERE device_id = ?').run(resolved.alias, device.device_id);
    device.device_alias = resolved.alias;
  }
  // A CALLSTART for an instance that is still in a call means the stop was missed: end that call first.
  const previous = findCall(ctx, device.device_id, callInstance, true);
  if (previous && previous.call_instance === callInstance) stopCall(ctx, previous, req.requestId);

  const agent = resolved.agent ?? agentOfDevice(ctx, device);
  const station = req.params.get('STATIONNAME') || stationOfDevice(ctx, device.device_id);
  const maxRecordTime = req.params.get('MAXRECORDTIME');
  const columns: Record<string, string | number | null> = {
    device_id: device.device_id,
    call_instance: callInstance,
    active: 1,
    on_demand: onDemand ? 1 : 0,
    global_call_id: nextGlobalCallId(ctx, coreIdent),
    device_alias: device.device_alias,
    sys_user: agent?.sys_user ?? '',
    crm_user: agent?.crm_user ?? '',
    agent_id: agent ? String(agent.user_id) : '',
    station,
    // The legacy manual gives inbound as the default direction ("[I]/O").
    calldirection: 'I',
    max_record_time: maxRecordTime ? Number(maxRecordTime) : null,
    core_ident: coreIdent,
    start_ms: now,
  };
  for (const [param, column] of callDataFields) {
    const value = req.params.get(param);
    if (value !== undefined && value !== '') columns[column] = value;
  }
  const names = Object.keys(columns);
  const info = ctx.db
    .prepare(`INSERT INTO calls (${names.join(', ')}) VALUES (${names.map((n) => '@' + n).join(', ')})`)
    .run(columns);
  const call = ctx.db.prepare('SELECT * FROM calls WHERE call_id = ?').get(info.lastInsertRowid) as CallRow;
  ctx.events.publish('CALLSTART', eventValues(call), req.requestId);
  return call;
}

/** Apply the data fields present in a request to a call in progress (and its open recordings). */
export function updateCallData(ctx: SimContext, call: CallRow, params: ReadonlyMap<string, string>): void {
  updatePresent(ctx.db, 'calls', 'call_id', call.call_id, callDataFields, params);
}

/** End a call: its open recordings stop and are saved. */
export function stopCall(ctx: SimContext, call: CallRow, requestId: string): void {
  const now = ctx.clock.now();
  for (const segment of openSegments(ctx, call.call_id)) stopSegment(ctx, call, segment, now, requestId);
  ctx.db.prepare('UPDATE calls SET active = 0, stop_ms = ? WHERE call_id = ?').run(now, call.call_id);
  const stopped = ctx.db.prepare('SELECT * FROM calls WHERE call_id = ?').get(call.call_id) as CallRow;
  ctx.events.publish('CALLSTOP', eventValues(stopped), requestId);
}

/** Allocate a free channel and start recording a call; undefined when every channel is busy. */
export function startSegment(ctx: SimContext, call: CallRow, kind: 'call' | 'partial', requestId: string): SegmentRow | undefined {
  const now = ctx.clock.now();
  const channel = ctx.db.prepare("SELECT id FROM channels WHERE state = 'Idle' ORDER BY id LIMIT 1").get() as { id: number } | undefined;
  if (!channel) return undefined;
  const device = ctx.db.prepare('SELECT * FROM devices WHERE device_id = ?').get(call.device_id) as DeviceRow;
  const label = device.device_alias || device.device_id;
  const parts = uniqueRecordingPath(ctx, label, now);
  const pausedSince = device.agent_blackout_since !== null ? now : null;
  const info = ctx.db
    .prepare(
      'INSERT INTO segments (call_id, kind, channel, filename, media_path, start_ms, paused_since) VALUES (?, ?, ?, ?, ?, ?, ?)',
    )
    .run(call.call_id, kind, channel.id, productFilename(parts), parts.join('/'), now, pausedSince);
  ctx.db
    .prepare("UPDATE channels SET state = 'Recording', recording_device = ?, recording_device_alias = ?, last_state_change = ? WHERE id = ?")
    .run(device.device_id, device.device_alias, now, channel.id);
  const segment = ctx.db.prepare('SELECT * FROM segments WHERE segment_id = ?').get(info.lastInsertRowid) as SegmentRow;
  ctx.events.publish('RECORDINGSTARTED', segmentEventValues(call, segment), requestId);
  if (pausedSince !== null) ctx.events.publish('RECORDINGPAUSED', segmentEventValues(call, segment), requestId);
  return segment;
}

function uniqueRecordingPath(ctx: SimContext, label: string, startMs: number): string[] {
  const taken = ctx.db.prepare('SELECT 1 FROM segments WHERE filename = ? UNION SELECT 1 FROM recordings WHERE filename = ?');
  for (let suffix = 0; ; suffix++) {
    const parts = recordingRelativePath(label, startMs, suffix);
    const filename = productFilename(parts);
    if (!taken.get(filename, filename)) return parts;
  }
}

/** Pause a recording (blackout) from `at`, never before it started. */
export function pauseSegment(ctx: SimContext, call: CallRow, segment: SegmentRow, at: number, requestId: string): void {
  if (segment.paused_since !== null) return;
  const since = Math.min(Math.max(at, segment.start_ms), ctx.clock.now());
  ctx.db.prepare('UPDATE segments SET paused_since = ? WHERE segment_id = ?').run(since, segment.segment_id);
  ctx.events.publish('RECORDINGPAUSED', segmentEventValues(call, segment), requestId);
}

/** Resume a paused recording at `at`; an end before the start of the pause collapses to it. */
export function resumeSegment(ctx: SimContext, call: CallRow, segment: SegmentRow, at: number, requestId: string): void {
  if (segment.paused_since === null) return;
  const silences = JSON.parse(segment.silences) as { from: number; to: number }[];
  silences.push({ from: segment.paused_since, to: Math.max(segment.paused_since, at) });
  ctx.db
    .prepare('UPDATE segments SET paused_since = NULL, silences = ? WHERE segment_id = ?')
    .run(JSON.stringify(silences), segment.segment_id);
  ctx.events.publish('RECORDINGRESUMED', segmentEventValues(call, segment), requestId);
}

/** Stop a recording: write its audio, save it to the Recording table, free its channel. */
export function stopSegment(ctx: SimContext, call: CallRow, segment: SegmentRow, now: number, requestId: string): RecordingRow {
  const current = ctx.db.prepare('SELECT * FROM calls WHERE call_id = ?').get(call.call_id) as CallRow;
  const silences = JSON.parse(segment.silences) as { from: number; to: number }[];
  if (segment.paused_since !== null) silences.push({ from: segment.paused_since, to: now });
  let limitSeconds = ctx.options.maxRecordSeconds;
  if (current.max_record_time !== null && current.max_record_time > 0) limitSeconds = Math.min(limitSeconds, current.max_record_time);
  const durationSeconds = Math.max(0, Math.min(limitSeconds, Math.round((now - segment.start_ms) / 1000)));
  const relative: Silence[] = silences.map((s) => ({ fromMs: s.from - segment.start_ms, toMs: s.to - segment.start_ms }));

  const columns: Record<string, string | number> = {
    agent_id: current.agent_id,
    ani: current.ani,
    archive_action_id: current.archive_action,
    calldirection: current.calldirection,
    callid: current.callid,
    channel: String(segment.channel),
    device_alias: current.device_alias,
    device_id: current.device_id,
    dnis: current.dnis,
    duration: durationSeconds,
    filename: segment.filename,
    gate: current.gate,
    globalid: current.global_call_id,
    keepdays: current.keepdays,
    priority: current.priority,
    recording_time: Math.floor(segment.start_ms / 1000),
    recording_type: segment.kind === 'call' ? 'audio' : 'partial',
    sgroup: current.sgroup,
    crm_user: current.crm_user,
    sys_user: current.sys_user,
    core_ident: String(current.core_ident),
    call_instance: current.call_instance,
    media_path: segment.media_path,
    wrap_duration: 0,
  };
  for (const u of userColumns) columns[u] = current[u as `user${number}`] ?? '';
  const names = Object.keys(columns);
  const info = ctx.db
    .prepare(`INSERT INTO recordings (${names.join(', ')}) VALUES (${names.map((n) => '@' + n).join(', ')})`)
    .run(columns);
  const ident = Number(info.lastInsertRowid);
  const { bytes } = writeRecordingWav(path.join(ctx.recordingsDir, ...segment.media_path.split('/')), {
    durationSeconds,
    encoding: 'pcm16',
    seed: ident,
    silences: relative,
  });
  ctx.db.prepare('UPDATE recordings SET audio_size = ? WHERE ident = ?').run(bytes, ident);
  ctx.db.prepare('UPDATE segments SET stop_ms = ?, paused_since = NULL, silences = ?, record_id = ? WHERE segment_id = ?').run(
    now,
    JSON.stringify(silences),
    ident,
    segment.segment_id,
  );
  ctx.db.prepare("UPDATE channels SET state = 'Idle', recording_device = '', recording_device_alias = '', last_state_change = ? WHERE id = ?").run(
    now,
    segment.channel,
  );
  const recording = ctx.db.prepare('SELECT * FROM recordings WHERE ident = ?').get(ident) as RecordingRow;
  ctx.events.publish('RECORDINGSTOPPED', eventValues(current, { RECORDID: ident }), requestId);
  ctx.events.publish('RECORDINGUPDATE', eventValues(current, { RECORDID: ident, FILENAME: segment.filename }), requestId);
  return recording;
}
