/**
 * CHATSTART, CHATSTOP, CHATUPDATE (screen-capture sessions by SESSIONID) and the blackouts:
 * BLACKOUTSTART/STOP pause and resume the recordings of one call instance, AGENTBLACKOUTSTART/STOP
 * everything of an agent, including calls that start during the blackout.
 */
import { userFieldNames } from '../../protocol/catalog.js';
import { ResultCode } from '../../protocol/result-codes.js';
import { ApiError, type CommandOutcome, type CoreRequest, type SimContext } from '../context.js';
import {
  agentOfDevice,
  deviceById,
  devicesOfAgent,
  resolveDevice,
  userBy,
  userById,
  userByPhone,
} from '../directory.js';
import { activeCalls, dispatchToCores, findCall, openSegments, pauseSegment, resumeSegment } from '../recorder.js';
import { callDataParams, columnsOf, updatePresent, type ChatRow, type DeviceRow, type UserRow } from '../store.js';

const chatDataFields = columnsOf(['DEVICEALIAS', ...callDataParams, 'CALLID', 'KEEPDAYS']);

function activeChat(ctx: SimContext, sessionId: string): ChatRow | undefined {
  return ctx.db.prepare('SELECT * FROM chats WHERE session_id = ? AND active = 1').get(sessionId) as ChatRow | undefined;
}

function noChat(sessionId: string): ApiError {
  return new ApiError(ResultCode.API_SESSIONID_UNSPECIFIED, `No screen capture session ${sessionId} is in progress`);
}

/** The agent of a CHATSTART: AGENTID, else KEYNAME/KEYVALUE. */
function chatAgent(ctx: SimContext, params: ReadonlyMap<string, string>): UserRow {
  const agentId = params.get('AGENTID');
  if (agentId) {
    const user = userById(ctx, Number(agentId));
    if (!user) throw new ApiError(ResultCode.API_AGENT_NOT_FOUND, `No agent with AGENTID ${agentId} was found`);
    return user;
  }
  const keyName = (params.get('KEYNAME') ?? '').toUpperCase();
  const keyValue = params.get('KEYVALUE') ?? '';
  if (!keyName || !keyValue) {
    throw new ApiError(ResultCode.API_AGENT_NOT_FOUND, 'AGENTID, or KEYNAME and KEYVALUE, must identify the agent');
  }
  const user =
    keyName === 'DEVICEALIAS'
      ? userByPhone(ctx, keyValue)
      : userBy(ctx, ({ USERNAME: 'username', SYS_USER: 'sys_user', EMPLOYEEID: 'employee_id', CRM_USER: 'crm_user' } as const)[
          keyName as 'USERNAME' | 'SYS_USER' | 'EMPLOYEEID' | 'CRM_USER'
        ], keyValue);
  if (!user) throw new ApiError(ResultCode.API_AGENT_NOT_FOUND, `No agent with ${keyName} ${keyValue} was found`);
  return user;
}

export function chatStart(req: CoreRequest, ctx: SimContext): CommandOutcome {
  const sessionId = req.params.get('SESSIONID')!;
  const agent = chatAgent(ctx, req.params);
  const dispatch = dispatchToCores(ctx, req.spec.type);
  // Starting a session that is already capturing changes nothing (recording control is idempotent).
  if (!activeChat(ctx, sessionId)) {
    ctx.db
      .prepare('INSERT OR REPLACE INTO chats (session_id, user_id, active, core_ident, start_ms) VALUES (?, ?, 1, ?, ?)')
      .run(sessionId, agent.user_id, dispatch.coreIdent, ctx.clock.now());
  }
  return dispatch;
}

export function chatUpdate(req: CoreRequest, ctx: SimContext): CommandOutcome {
  const sessionId = req.params.get('SESSIONID')!;
  if (!activeChat(ctx, sessionId)) throw noChat(sessionId);
  const dispatch = dispatchToCores(ctx, req.spec.type);
  updatePresent(ctx.db, 'chats', 'session_id', sessionId, chatDataFields, req.params);
  return dispatch;
}

export function chatStop(req: CoreRequest, ctx: SimContext): CommandOutcome {
  const sessionId = req.params.get('SESSIONID')!;
  const chat = activeChat(ctx, sessionId);
  if (!chat) throw noChat(sessionId);
  const dispatch = dispatchToCores(ctx, req.spec.type);
  const now = ctx.clock.now();
  ctx.db.prepare('UPDATE chats SET active = 0, stop_ms = ? WHERE session_id = ?').run(now, sessionId);
  const agent = userById(ctx, chat.user_id);
  // A screen capture is saved like a call recording, without audio.
  const columns: Record<string, string | number> = {
    agent_id: String(chat.user_id),
    ani: chat.ani,
    calldirection: chat.calldirection,
    callid: chat.callid,
    device_alias: chat.device_alias,
    dnis: chat.dnis,
    duration: Math.max(0, Math.round((now - chat.start_ms) / 1000)),
    gate: chat.gate,
    keepdays: chat.keepdays,
    archive_action_id: '-1',
    recording_time: Math.floor(chat.start_ms / 1000),
    recording_type: 'screen',
    screen_capture: 'Y',
    sgroup: chat.sgroup,
    crm_user: agent?.crm_user ?? '',
    sys_user: agent?.sys_user ?? '',
    core_ident: String(chat.core_ident),
    session_id: sessionId,
  };
  for (const u of userFieldNames) columns[u.toLowerCase()] = chat[u.toLowerCase() as `user${number}`] ?? '';
  const names = Object.keys(columns);
  ctx.db.prepare(`INSERT INTO recordings (${names.join(', ')}) VALUES (${names.map((n) => '@' + n).join(', ')})`).run(columns);
  return dispatch;
}

/** SYS_USER and CRM_USER must name an agent before a device is looked for (API_AGENT_NOT_FOUND). */
function requireNamedAgent(ctx: SimContext, params: ReadonlyMap<string, string>): void {
  for (const [param, column] of [['SYS_USER', 'sys_user'], ['CRM_USER', 'crm_user']] as const) {
    const value = params.get(param);
    if (value && !userBy(ctx, column, value)) throw new ApiError(ResultCode.API_AGENT_NOT_FOUND, `No agent with ${param} ${value} was found`);
  }
}

const edgeTime = (req: CoreRequest, ctx: SimContext): number => ctx.clock.now() + Number(req.params.get('TIMEOFFSET') || 0) * 1000;

export function blackout(req: CoreRequest, ctx: SimContext): CommandOutcome {
  const starts = req.spec.type.endsWith('START');
  requireNamedAgent(ctx, req.params);
  const { deviceId } = resolveDevice(ctx, req.params, true);
  const dispatch = dispatchToCores(ctx, req.spec.type);
  const call = findCall(ctx, deviceId, req.params.get('CALLINSTANCE') || undefined, true);
  if (!call) throw new ApiError(ResultCode.API_DEVICE_NOT_IN_CALL, `Device ${deviceId} has no call in progress`);
  const segments = openSegments(ctx, call.call_id);
  const at = edgeTime(req, ctx);
  if (starts) {
    if (segments.length > 0 && segments.every((s) => s.paused_since !== null)) {
      throw new ApiError(ResultCode.API_BLACKOUT_INVALID_STATE, `A blackout is already in progress on device ${deviceId}`);
    }
    for (const segment of segments) pauseSegment(ctx, call, segment, at, req.requestId);
  } else {
    const paused = segments.filter((s) => s.paused_since !== null);
    if (paused.length === 0) throw new ApiError(ResultCode.API_BLACKOUT_INVALID_STATE, `No blackout is in progress on device ${deviceId}`);
    for (const segment of paused) resumeSegment(ctx, call, segment, at, req.requestId);
  }
  return dispatch;
}

/** The devices an agent blackout covers: every device of the agent named or working the device named. */
function agentBlackoutDevices(ctx: SimContext, params: ReadonlyMap<string, string>): DeviceRow[] {
  requireNamedAgent(ctx, params);
  const { deviceId, agent } = resolveDevice(ctx, params, true);
  const device = deviceById(ctx, deviceId)!;
  const owner = agent ?? agentOfDevice(ctx, device);
  const devices = owner ? devicesOfAgent(ctx, owner) : [];
  if (!devices.some((d) => d.device_id === device.device_id)) devices.push(device);
  return devices;
}

export function agentBlackout(req: CoreRequest, ctx: SimContext): CommandOutcome {
  const starts = req.spec.type.endsWith('START');
  const devices = agentBlackoutDevices(ctx, req.params);
  const dispatch = dispatchToCores(ctx, req.spec.type);
  const at = edgeTime(req, ctx);
  const label = devices.map((d) => d.device_id).join(',');
  if (starts) {
    if (devices.every((d) => d.agent_blackout_since !== null)) {
      throw new ApiError(ResultCode.API_BLACKOUT_INVALID_STATE, `An agent blackout is already in progress on ${label}`);
    }
    for (const device of devices) {
      ctx.db.prepare('UPDATE devices SET agent_blackout_since = ? WHERE device_id = ?').run(Math.min(at, ctx.clock.now()), device.device_id);
      for (const call of activeCalls(ctx, device.device_id)) {
        for (const segment of openSegments(ctx, call.call_id)) pauseSegment(ctx, call, segment, at, req.requestId);
      }
    }
  } else {
    if (devices.every((d) => d.agent_blackout_since === null)) {
      throw new ApiError(ResultCode.API_BLACKOUT_INVALID_STATE, `No agent blackout is in progress on ${label}`);
    }
    for (const device of devices) {
      ctx.db.prepare('UPDATE devices SET agent_blackout_since = NULL WHERE device_id = ?').run(device.device_id);
      for (const call of activeCalls(ctx, device.device_id)) {
        for (const segment of openSegments(ctx, call.call_id)) resumeSegment(ctx, call, segment, at, req.requestId);
      }
    }
  }
  return dispatch;
}
