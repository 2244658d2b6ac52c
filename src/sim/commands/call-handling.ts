/**
 * CALLSTART, CALLSTOP, CALLUPDATE (live, UPDATE_IF_NOT_RECORDING and post-recording forms),
 * RECORDSTART and RECORDSTOP.
 */
import { ResultCode } from '../../protocol/result-codes.js';
import { ApiError, ok, type CommandOutcome, type CoreRequest, type SimContext } from '../context.js';
import { resolveDevice } from '../directory.js';
import {
  dispatchToCores,
  findCall,
  openSegments,
  startCall,
  startSegment,
  stopCall,
  stopSegment,
  updateCallData,
} from '../recorder.js';
import { callDataParams, columnsOf, updatePresent, type ParamColumn, type RecordingRow } from '../store.js';

/** CALLINSTANCE as stop and update read it: blank means "the last call on the device". */
const instanceOf = (req: CoreRequest): string | undefined => req.params.get('CALLINSTANCE') || undefined;

export function callStart(req: CoreRequest, ctx: SimContext): CommandOutcome {
  const resolved = resolveDevice(ctx, req.params, false);
  const dispatch = dispatchToCores(ctx, req.spec.type);
  const call = startCall(ctx, req, resolved, dispatch.coreIdent, false);
  startSegment(ctx, call, 'call', req.requestId);
  return dispatch;
}

export function callStop(req: CoreRequest, ctx: SimContext): CommandOutcome {
  const { deviceId } = resolveDevice(ctx, req.params, true);
  const dispatch = dispatchToCores(ctx, req.spec.type);
  const call = findCall(ctx, deviceId, instanceOf(req), true);
  if (call) stopCall(ctx, call, req.requestId);
  return dispatch;
}

/** Recording columns a CALLUPDATE of a finished recording may change, by parameter. */
const recordingDataFields = columnsOf([...callDataParams, 'KEEPDAYS', 'ARCHIVEACTION'], { ARCHIVEACTION: 'archive_action_id' });
/** The post-recording form may also correct the device. */
const postRecordingFields = columnsOf(['DEVICEID', 'DEVICEALIAS', ...callDataParams]);

function updateRecording(ctx: SimContext, req: CoreRequest, recording: RecordingRow, columns: readonly ParamColumn[]): void {
  updatePresent(ctx.db, 'recordings', 'ident', recording.ident, columns, req.params);
  const saved = ctx.db.prepare('SELECT * FROM recordings WHERE ident = ?').get(recording.ident) as RecordingRow;
  ctx.events.publish(
    'RECORDINGUPDATE',
    {
      GLOBALCALLID: saved.globalid,
      DEVICEID: saved.device_id,
      KEEPDAYS: saved.keepdays,
      FILENAME: saved.filename,
      RECORDID: saved.ident,
      COREIDENT: saved.core_ident,
    },
    req.requestId,
  );
}

export function callUpdate(req: CoreRequest, ctx: SimContext): CommandOutcome {
  const recordId = req.params.get('RECORDID');
  if (recordId) {
    // Post-recording form: the API updates the Recording table directly.
    if (!/^[0-9]+$/.test(recordId) || Number(recordId) < 1) {
      throw new ApiError(ResultCode.API_RECORDID_INVALID, `RECORDID ${recordId} is not a recording ID`);
    }
    const recording = ctx.db.prepare('SELECT * FROM recordings WHERE ident = ?').get(recordId) as RecordingRow | undefined;
    if (!recording) {
      throw new ApiError(ResultCode.API_DATABASE_QUERY_ERROR, `No recording with RECORDID ${recordId} was found to update`);
    }
    updateRecording(ctx, req, recording, postRecordingFields);
    return ok('Updated recording in database');
  }
  const { deviceId } = resolveDevice(ctx, req.params, true);
  const call = findCall(ctx, deviceId, instanceOf(req), true);
  if (!call && (req.params.get('UPDATE_IF_NOT_RECORDING') ?? '').toUpperCase() === 'Y') {
    const last = ctx.db
      .prepare("SELECT * FROM recordings WHERE device_id = ? AND recording_type <> 'screen' ORDER BY recording_time DESC, ident DESC LIMIT 1")
      .get(deviceId) as RecordingRow | undefined;
    if (!last) throw new ApiError(ResultCode.API_RECORDID_INVALID, `There is no previous call on device ${deviceId} to update`);
    updateRecording(ctx, req, last, recordingDataFields);
    return ok('Updated recording in database');
  }
  const dispatch = dispatchToCores(ctx, req.spec.type);
  // Without a call in progress the cores have nothing to update; the API still reports the send.
  if (call) updateCallData(ctx, call, req.params);
  return dispatch;
}

export function recordStart(req: CoreRequest, ctx: SimContext): CommandOutcome {
  const resolved = resolveDevice(ctx, req.params, false);
  const dispatch = dispatchToCores(ctx, req.spec.type);
  let call = findCall(ctx, resolved.deviceId, instanceOf(req), true);
  if (call) updateCallData(ctx, call, req.params);
  // On an idle device, RECORDSTART records on demand: a call that its RECORDSTOP ends.
  else call = startCall(ctx, req, resolved, dispatch.coreIdent, true);
  startSegment(ctx, call, 'partial', req.requestId);
  return dispatch;
}

export function recordStop(req: CoreRequest, ctx: SimContext): CommandOutcome {
  const { deviceId } = resolveDevice(ctx, req.params, true);
  const dispatch = dispatchToCores(ctx, req.spec.type);
  const call = findCall(ctx, deviceId, instanceOf(req), true);
  if (call) {
    updateCallData(ctx, call, req.params);
    const now = ctx.clock.now();
    for (const segment of openSegments(ctx, call.call_id)) {
      if (segment.kind === 'partial') stopSegment(ctx, call, segment, now, req.requestId);
    }
    if (call.on_demand) stopCall(ctx, call, req.requestId);
  }
  return dispatch;
}
