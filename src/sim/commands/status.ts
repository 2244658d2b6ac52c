/**
 * The informational commands: DEVICELIST, DEVICESTATUS, DEVICERECORDINGSTATUS, SYSTEMSTATUS,
 * CHANNELS, STATIONS, FETCHTERMINOLOGY, CALLLIST and AGENTWINDOW. None changes state.
 */
import fs from 'node:fs';
import os from 'node:os';
import { userFieldNames } from '../../protocol/catalog.js';
import { ResultCode } from '../../protocol/result-codes.js';
import { element, type XmlElement } from '../../protocol/xml.js';
import { ApiError, ok, renderBody, type CommandOutcome, type CoreRequest, type SimContext } from '../context.js';
import { agentOfDevice, deviceById, devicesOfAgent, noMatchingDevice, userBy } from '../directory.js';
import { productRecordingRoot, productTime, sqlServerTime, uptimeSentence } from '../product-format.js';
import { activeCalls, latestSegment, openSegments } from '../recorder.js';
import { columnsOf, preparedStatement, storeVersion, type CallRow, type Db, type DeviceRow, type SegmentRow, type UserRow } from '../store.js';

const userElements = (row: object | undefined): XmlElement[] =>
  userFieldNames.map((u) => element(u, String((row as Record<string, unknown> | undefined)?.[u.toLowerCase()] ?? '')));

/** The call a device reports: the one in progress, else the last one. */
function currentCall(ctx: SimContext, deviceId: string): CallRow | undefined {
  return ctx.db
    .prepare('SELECT * FROM calls WHERE device_id = ? ORDER BY active DESC, start_ms DESC, call_id DESC LIMIT 1')
    .get(deviceId) as CallRow | undefined;
}

const isRecording = (segment: SegmentRow | undefined): boolean => !!segment && segment.stop_ms === null && segment.paused_since === null;

/** The DEVICE element of DEVICELIST and DEVICESTATUS. */
function deviceElement(ctx: SimContext, device: DeviceRow): XmlElement {
  const call = currentCall(ctx, device.device_id);
  const agent = agentOfDevice(ctx, device);
  const segment = call ? latestSegment(ctx, call.call_id) : undefined;
  return element('DEVICE', [
    element('DEVICEID', device.device_id),
    element('DEVICEALIAS', device.device_alias),
    element('SYS_USER', call?.sys_user || agent?.sys_user || ''),
    element('CRM_USER', call?.crm_user || agent?.crm_user || ''),
    element('GROUP', call?.sgroup ?? ''),
    element('GATE', call?.gate ?? ''),
    element('ANI', call?.ani ?? ''),
    element('DNIS', call?.dnis ?? ''),
    ...userElements(call),
    element('CALLDIRECTION', call?.calldirection ?? ''),
    element('ISTRUNK', device.is_trunk),
    element('STATION', call?.station ?? ''),
    element('STARTTIME', productTime(call?.start_ms)),
    element('STOPTIME', productTime(call?.stop_ms)),
    element('COREIDENT', call ? String(call.core_ident) : ''),
    element('RECORDING', [
      element('ISRECORDING', isRecording(segment) ? 'Y' : 'N'),
      element('ISRECORDINGVIDEO', 'N'),
      element('FILENAME', segment?.filename ?? ''),
      element('CALLID', call?.callid ?? ''),
      element('SESSIONID', ''),
      element('CALLINSTANCE', call?.call_instance ?? ''),
    ]),
  ]);
}

const devicesElement = (ctx: SimContext, devices: readonly DeviceRow[]): XmlElement =>
  element('DEVICES', [element('COUNT', String(devices.length)), ...devices.map((d) => deviceElement(ctx, d))]);

export function deviceList(_req: CoreRequest, ctx: SimContext): CommandOutcome {
  const devices = ctx.db.prepare('SELECT * FROM devices ORDER BY device_id').all() as DeviceRow[];
  return ok('API_OK', [devicesElement(ctx, devices)]);
}

function agentNamed(ctx: SimContext, params: ReadonlyMap<string, string>): UserRow | undefined {
  const sysUser = params.get('SYS_USER');
  if (sysUser) return userBy(ctx, 'sys_user', sysUser);
  const crmUser = params.get('CRM_USER');
  if (crmUser) return userBy(ctx, 'crm_user', crmUser);
  return undefined;
}

/** The devices a status query selects by its one selector. */
function selectDevices(ctx: SimContext, params: ReadonlyMap<string, string>): DeviceRow[] {
  const deviceId = params.get('DEVICEID');
  if (deviceId) {
    const device = deviceById(ctx, deviceId);
    return device ? [device] : [];
  }
  const callId = params.get('CALLID');
  if (callId) {
    return ctx.db
      .prepare('SELECT DISTINCT d.* FROM devices d JOIN calls c ON c.device_id = d.device_id WHERE c.callid = ? ORDER BY d.device_id')
      .all(callId) as DeviceRow[];
  }
  const alias = params.get('DEVICEALIAS');
  if (alias) {
    return ctx.db.prepare('SELECT * FROM devices WHERE device_alias = ? OR (device_id = ? AND device_alias = \'\') ORDER BY device_id').all(alias, alias) as DeviceRow[];
  }
  const agent = agentNamed(ctx, params);
  return agent ? devicesOfAgent(ctx, agent) : [];
}

export function deviceStatus(req: CoreRequest, ctx: SimContext): CommandOutcome {
  const devices = selectDevices(ctx, req.params);
  if (devices.length === 0) throw noMatchingDevice();
  return ok('Found the following matching devices', [devicesElement(ctx, devices)]);
}

function instanceStatus(segments: readonly SegmentRow[]): string {
  if (segments.some((s) => s.paused_since !== null)) return 'recordpaused';
  return segments.length > 0 ? 'recording' : 'notrecording';
}

export function deviceRecordingStatus(req: CoreRequest, ctx: SimContext): CommandOutcome {
  const devices = selectDevices(ctx, req.params);
  if (devices.length === 0) throw noMatchingDevice();
  const body = devices.map((device) => {
    const agent = agentOfDevice(ctx, device);
    const calls = activeCalls(ctx, device.device_id);
    return element('DEVICE', [
      element('DEVICEID', device.device_id),
      element('DEVICEALIAS', device.device_alias),
      element('SYS_USER', agent?.sys_user ?? ''),
      element('CRM_USER', agent?.crm_user ?? ''),
      element('COREIDENT', calls[0] ? String(calls[0].core_ident) : ''),
      ...calls.map((call) => {
        const open = openSegments(ctx, call.call_id);
        const segment = latestSegment(ctx, call.call_id);
        return element('RECORDING', [
          element('GROUP', call.sgroup),
          element('GATE', call.gate),
          element('ANI', call.ani),
          element('DNIS', call.dnis),
          ...userElements(call),
          element('CALLDIRECTION', call.calldirection),
          element('ISTRUNK', device.is_trunk),
          element('STATION', call.station),
          element('STARTTIME', productTime(call.start_ms)),
          element('STOPTIME', ''),
          element('ISRECORDING', open.length > 0 ? 'Y' : 'N'),
          element('ISRECORDINGVIDEO', 'N'),
          element('FILENAME', segment?.filename ?? ''),
          element('CALLID', call.callid),
          element('SESSIONID', ''),
          element('CALLINSTANCE', call.call_instance),
          element('STATUS', instanceStatus(open)),
        ]);
      }),
    ]);
  });
  return ok('Following active call instances found for specified deviceID, devicealias, crm_user or sys_user', body);
}

const mb = (bytes: number): number => Math.round(bytes / (1024 * 1024));

/** SYSTEMSTATUS from the machine the simulator runs on: its disk, RAM, processors and uptime. */
export function systemStatus(_req: CoreRequest, ctx: SimContext): CommandOutcome {
  const disk = fs.statfsSync(ctx.recordingsDir);
  const capacityMb = mb(disk.blocks * disk.bsize);
  const freeMb = mb(disk.bavail * disk.bsize);
  const freePct = capacityMb > 0 ? ((freeMb / capacityMb) * 100).toFixed(2) : '0.00';
  const gb = (m: number): string => (m / 1024).toFixed(2);
  const totalRam = mb(os.totalmem());
  const freeRam = mb(os.freemem());
  const processors = os.cpus().map((cpu, i) =>
    element(`PROCESSOR${i}`, [element('SYSTEMPROCESSORSPEED', `${cpu.speed}MHz`), element('SYSTEMPROCESSORTYPE', cpu.model.trim())]),
  );
  return ok('API_OK', [
    element('RECORDINGPATH', productRecordingRoot),
    element('RECORDINGSPACEINFO', `${gb(freeMb)}GB of ${gb(capacityMb)}GB`),
    element('RECORDINGTOTALDISKCAPACITY', String(capacityMb)),
    element('RECORDINGTOTALDISKFREE', String(freeMb)),
    element('RECORDINGTOTALDISKFREEPCT', freePct),
    element('SYSTEMUPTIME', uptimeSentence(os.uptime())),
    ...processors,
    element('SYSTEMRAMTOTAL', String(totalRam)),
    element('SYSTEMRAMFREE', String(freeRam)),
    element('SYSTEMRAMUSED', String(totalRam - freeRam)),
    element('SYSTEMRAMUSEDPCT', String(totalRam > 0 ? Math.round(((totalRam - freeRam) / totalRam) * 100) : 0)),
  ]);
}

interface ChannelRow {
  id: number;
  state: string;
  playback_extension: string;
  recording_device_alias: string;
  recording_device: string;
  last_state_change: number;
}

export function channels(_req: CoreRequest, ctx: SimContext): CommandOutcome {
  const rows = ctx.db.prepare('SELECT * FROM channels ORDER BY id').all() as ChannelRow[];
  return ok('API_OK', [
    element('COUNT', String(rows.length)),
    element(
      'CHANNELS',
      rows.map((c) =>
        element('CHANNEL', [
          element('ID', String(c.id)),
          element('STATE', c.state),
          element('PLAYBACKEXTENSION', c.playback_extension),
          element('RECORDINGDEVICEALIAS', c.recording_device_alias),
          element('RECORDINGDEVICE', c.recording_device),
          element('LASTSTATECHANGE', productTime(c.last_state_change)),
          element('LASTSTATECHANGEUNIXTIME', String(Math.floor(c.last_state_change / 1000))),
        ]),
      ),
    ),
  ]);
}

export function stations(_req: CoreRequest, ctx: SimContext): CommandOutcome {
  const rows = ctx.db.prepare('SELECT station_name, device_id FROM stations ORDER BY station_name').all() as {
    station_name: string;
    device_id: string;
  }[];
  return ok('API_OK', [
    element('COUNT', String(rows.length)),
    element(
      'STATIONS',
      rows.map((r) => element('STATION', [element('STATIONNAME', r.station_name), element('DEVICEID', r.device_id)])),
    ),
  ]);
}

export function fetchTerminology(_req: CoreRequest, ctx: SimContext): CommandOutcome {
  const rows = ctx.db.prepare('SELECT name, value FROM terminology ORDER BY position').all() as { name: string; value: string }[];
  return ok('API_OK', [
    element('COUNT', String(rows.length)),
    element('SETTINGS', rows.map((r) => element('TERMINOLOGY', [element('NAME', r.name), element('VALUE', r.value)]))),
  ]);
}

/** The most CALLLIST answers with when CALLCOUNT does not ask for fewer, to bound an answer's size. */
export const callListLimit = 1000;

const callListFilters = columnsOf(['DEVICEID', 'CRM_USER', 'SYS_USER', 'DEVICEALIAS', 'GROUP', 'GATE', 'ANI', 'DNIS', ...userFieldNames]);

/**
 * The columns a SEARCHRESULT shows, and only those: a Recording row has some sixty, and reading
 * each into JavaScript is what a CALLLIST spent most of its time on. Selected as raw rows (arrays),
 * which better-sqlite3 builds for less than objects; the USERn columns come last so that a row
 * destructures by position into `SearchResultRow`.
 */
const searchResultColumns = [
  'r.device_id', 'r.device_alias', 'r.ani', 'r.dnis', 'r.calldirection', 'r.sgroup', 'r.gate',
  'r.ident', 'r.recording_time', 'r.duration', 'u.first_name', 'u.last_name', 'r.crm_user', 'r.sys_user',
  ...userFieldNames.map((u) => `r.${u.toLowerCase()}`),
].join(', ');

type SearchResultRow = [
  deviceId: string, deviceAlias: string, ani: string, dnis: string, callDirection: string, group: string, gate: string,
  ident: number, recordingTime: number, duration: number, agentFirstName: string | null, agentLastName: string | null,
  crmUser: string, sysUser: string, ...users: (string | null)[],
];

/**
 * The agent of a recording is the user whose id, as text, is its agent_id. Looked up by the users'
 * primary key (the integer agent_id reads as), then compared as text as before, so that ' 3' or
 * '3.0' still names nobody: without the first condition each recording listed scanned every user.
 */
const agentOfRecording = 'u.user_id = CAST(r.agent_id AS INTEGER) AND CAST(u.user_id AS TEXT) = r.agent_id';

/**
 * CALLLIST answers by question (the SQL, its values, the playback link's base), kept while the
 * store is unchanged (storeVersion): a client polling for new recordings asks the same question
 * again and again, and the rows, the elements and their serialization cost several times what
 * the rest of a request does. Any write empties it; it holds at most `maxKeptCallListChars`.
 */
interface KeptCallLists {
  version: string;
  bodies: Map<string, string>;
  chars: number;
}
const keptCallLists = new WeakMap<Db, KeptCallLists>();
const maxKeptCallListChars = 4 * 1024 * 1024;

function keptCallList(db: Db): KeptCallLists {
  const version = storeVersion(db);
  let kept = keptCallLists.get(db);
  if (kept?.version !== version) {
    kept = { version, bodies: new Map(), chars: 0 };
    keptCallLists.set(db, kept);
  }
  return kept;
}

function keepCallList(kept: KeptCallLists, key: string, body: string): void {
  const chars = key.length + body.length;
  if (chars > maxKeptCallListChars) return;
  // The oldest go first (a Map iterates in insertion order).
  for (const [oldKey, oldBody] of kept.bodies) {
    if (kept.chars + chars <= maxKeptCallListChars) break;
    kept.bodies.delete(oldKey);
    kept.chars -= oldKey.length + oldBody.length;
  }
  kept.bodies.set(key, body);
  kept.chars += chars;
}

export function callList(req: CoreRequest, ctx: SimContext): CommandOutcome {
  const where: string[] = [];
  const values: (string | number)[] = [];
  for (const [param, column] of callListFilters) {
    const value = req.params.get(param);
    if (!value) continue;
    where.push(`r.${column} = ?`);
    values.push(value);
  }
  const start = req.params.get('CALLDATESTART');
  if (start) {
    where.push('r.recording_time >= ?');
    values.push(Number(start));
  }
  const end = req.params.get('CALLDATEEND');
  if (end) {
    where.push('r.recording_time <= ?');
    values.push(Number(end));
  }
  const countParam = req.params.get('CALLCOUNT');
  if (countParam && Number(countParam) < 1) {
    throw new ApiError(ResultCode.API_INVALID_MESSAGE_FORMAT, 'CALLCOUNT must be a positive number');
  }
  const limit = Math.min(countParam ? Number(countParam) : callListLimit, callListLimit);
  values.push(limit);
  const sql = `SELECT ${searchResultColumns}
     FROM recordings r LEFT JOIN users u ON ${agentOfRecording}
     ${where.length ? 'WHERE ' + where.join(' AND ') : ''}
     ORDER BY r.recording_time DESC, r.ident DESC LIMIT ?`;
  const base = ctx.options.playbackBaseUrl.replace(/\/+$/, '');
  const kept = keptCallList(ctx.db);
  const key = JSON.stringify([sql, values, base]);
  let body = kept.bodies.get(key);
  if (body === undefined) {
    // Prepared once for each set of filters (the SQL names the filters present, never their values).
    const rows = preparedStatement(ctx.db, sql, 'raw').all(...values) as SearchResultRow[];
    body = renderBody(rows.map((row, i) => searchResult(row, i + 1, base)));
    keepCallList(kept, key, body);
  }
  return { ...ok('API_OK'), renderedBody: body };
}

function searchResult(row: SearchResultRow, callNumber: number, base: string): XmlElement {
  const [deviceId, deviceAlias, ani, dnis, callDirection, group, gate, ident, recordingTime, duration, agentFirstName, agentLastName, crmUser, sysUser, ...users] = row;
  return element('SEARCHRESULT', [
    element('CALLNUMBER', String(callNumber)),
    element('DEVICEID', deviceId),
    element('DEVICEALIAS', deviceAlias),
    element('ANI', ani),
    element('DNIS', dnis),
    element('CALLDIRECTION', callDirection),
    element('GROUP', group),
    element('GATE', gate),
    ...userFieldNames.map((u, k) => element(u, String(users[k] ?? ''))),
    element('RECORDID', String(ident)),
    element('RECORDINGTIME', String(recordingTime)),
    element('DURATION', String(duration)),
    element('AGENTFIRSTNAME', agentFirstName ?? ''),
    element('AGENTLASTNAME', agentLastName ?? ''),
    element('CRM_USER', crmUser),
    element('SYS_USER', sysUser),
    element('PLAYBACKLINK', `${base}/${ident}/false`),
  ]);
}

export function agentWindow(req: CoreRequest, ctx: SimContext): CommandOutcome {
  const computer = req.params.get('COMPUTERNAME');
  const username = req.params.get('USERNAME');
  const row = (computer
    ? ctx.db.prepare('SELECT * FROM agent_windows WHERE computer_name = ?').get(computer)
    : ctx.db.prepare('SELECT * FROM agent_windows WHERE username = ? ORDER BY last_update DESC LIMIT 1').get(username)) as
    | { domain: string; ip_address: string; status: string; application_title: string; last_update: number }
    | undefined;
  if (!row) {
    throw new ApiError(
      ResultCode.API_AGENT_NOT_FOUND,
      computer ? `No agent window was captured on computer ${computer}` : `No agent window was captured for user ${username}`,
    );
  }
  return ok('API_OK', [
    element('DOMAIN', row.domain),
    element('IPADDRESS', row.ip_address),
    element('STATUS', row.status),
    element('APPLICATIONTITLE', row.application_title),
    element('LASTUPDATE', sqlServerTime(row.last_update)),
  ]);
}
