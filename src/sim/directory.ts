/**
 * Who is who: agents (users), their phones, devices and stations, and the lookups the call
 * handling commands use to turn DEVICEALIAS, SYS_USER, CRM_USER or STATIONNAME into a device.
 */
import { ApiError, type SimContext } from './context.js';
import { ResultCode } from '../protocol/result-codes.js';
import type { DeviceRow, UserRow } from './store.js';

/** The documented answer when DEVICEALIAS, SYS_USER or CRM_USER match no device. */
export const noMatchingDevice = (): ApiError =>
  new ApiError(ResultCode.API_DEVICE_INVALID, 'Could not find a device matching given parameters');

/** Users that are not deleted (DELETE only flags a user). */
const liveUser = "status <> 'D'";

export function userById(ctx: SimContext, userId: number): UserRow | undefined {
  return ctx.db.prepare(`SELECT * FROM users WHERE user_id = ? AND ${liveUser}`).get(userId) as UserRow | undefined;
}

export function userByPhone(ctx: SimContext, phoneId: string): UserRow | undefined {
  return ctx.db
    .prepare(`SELECT u.* FROM users u JOIN phones p ON p.user_id = u.user_id WHERE p.phone_id = ? AND u.${liveUser}`)
    .get(phoneId) as UserRow | undefined;
}

/** A user by one of its identifying columns, compared without regard to case. */
export function userBy(ctx: SimContext, column: 'sys_user' | 'crm_user' | 'username' | 'employee_id', value: string): UserRow | undefined {
  return ctx.db
    .prepare(`SELECT * FROM users WHERE ${column} = ? COLLATE NOCASE AND ${liveUser} ORDER BY user_id LIMIT 1`)
    .get(value) as UserRow | undefined;
}

export function userByName(ctx: SimContext, firstName: string, lastName: string): UserRow | undefined {
  return ctx.db
    .prepare(`SELECT * FROM users WHERE first_name = ? COLLATE NOCASE AND last_name = ? COLLATE NOCASE AND ${liveUser} ORDER BY user_id LIMIT 1`)
    .get(firstName, lastName) as UserRow | undefined;
}

export function phonesOf(ctx: SimContext, userId: number): string[] {
  return (ctx.db.prepare('SELECT phone_id FROM phones WHERE user_id = ? ORDER BY rowid').all(userId) as { phone_id: string }[]).map(
    (r) => r.phone_id,
  );
}

export function deviceById(ctx: SimContext, deviceId: string): DeviceRow | undefined {
  return ctx.db.prepare('SELECT * FROM devices WHERE device_id = ?').get(deviceId) as DeviceRow | undefined;
}

export function ensureDevice(ctx: SimContext, deviceId: string): DeviceRow {
  ctx.db.prepare('INSERT INTO devices (device_id) VALUES (?) ON CONFLICT(device_id) DO NOTHING').run(deviceId);
  return deviceById(ctx, deviceId)!;
}

/** The agent working a device: the one whose phone is the alias signed on at it, else its ID. */
export function agentOfDevice(ctx: SimContext, device: DeviceRow): UserRow | undefined {
  return (device.device_alias ? userByPhone(ctx, device.device_alias) : undefined) ?? userByPhone(ctx, device.device_id);
}

/**
 * The devices an agent works: devices signed on with one of the agent's phones, or whose ID is one
 * of them. The one with an active call comes first, then the most recently used.
 */
export function devicesOfAgent(ctx: SimContext, user: UserRow): DeviceRow[] {
  return ctx.db
    .prepare(
      `SELECT d.* FROM devices d
       WHERE d.device_alias IN (SELECT phone_id FROM phones WHERE user_id = ?)
          OR d.device_id IN (SELECT phone_id FROM phones WHERE user_id = ?)
       ORDER BY (SELECT MAX(active) FROM calls c WHERE c.device_id = d.device_id) DESC,
                (SELECT MAX(start_ms) FROM calls c WHERE c.device_id = d.device_id) DESC, d.device_id`,
    )
    .all(user.user_id, user.user_id) as DeviceRow[];
}

export function stationOfDevice(ctx: SimContext, deviceId: string): string {
  const row = ctx.db.prepare('SELECT station_name FROM stations WHERE device_id = ?').get(deviceId) as { station_name: string } | undefined;
  return row?.station_name ?? '';
}

export interface ResolvedDevice {
  deviceId: string;
  /** The alias the request names ('' when none). */
  alias: string;
  agent: UserRow | undefined;
}

/**
 * Find the device a call handling or blackout command is about.
 *
 * DEVICEID, when given and not blank, is the device. DEVICEALIAS, SYS_USER and CRM_USER "can be
 * used only if a device ID has already been associated with an agent": each must name an agent
 * (by phone, network user or CRM user), and when DEVICEID is blank they lead to that agent's
 * device. STATIONNAME leads to its mapped device. Anything unmatched gives the documented
 * API_DEVICE_INVALID. With `known`, the device must already exist (stop, update, blackout);
 * otherwise a new DEVICEID is learnt, as a CTI link would report it.
 */
export function resolveDevice(ctx: SimContext, params: ReadonlyMap<string, string>, known: boolean): ResolvedDevice {
  let deviceId = params.get('DEVICEID') ?? '';
  const alias = params.get('DEVICEALIAS') ?? '';
  const sysUser = params.get('SYS_USER') ?? '';
  const crmUser = params.get('CRM_USER') ?? '';
  const stationName = params.get('STATIONNAME') ?? '';

  let agent: UserRow | undefined;
  const requireSameAgent = (found: UserRow | undefined): void => {
    if (!found || (agent && agent.user_id !== found.user_id)) throw noMatchingDevice();
    agent = found;
  };
  if (alias) requireSameAgent(userByPhone(ctx, alias));
  if (sysUser) requireSameAgent(userBy(ctx, 'sys_user', sysUser));
  if (crmUser) requireSameAgent(userBy(ctx, 'crm_user', crmUser));

  if (!deviceId && alias) {
    const signedOn = ctx.db.prepare('SELECT device_id FROM devices WHERE device_alias = ? ORDER BY device_id LIMIT 1').get(alias) as
      | { device_id: string }
      | undefined;
    // In fixed seating the phone ID is the device itself.
    deviceId = signedOn?.device_id ?? alias;
  }
  if (!deviceId && agent) {
    deviceId = devicesOfAgent(ctx, agent)[0]?.device_id ?? phonesOf(ctx, agent.user_id)[0] ?? '';
  }
  if (!deviceId && stationName) {
    const row = ctx.db.prepare('SELECT device_id FROM stations WHERE station_name = ?').get(stationName) as { device_id: string } | undefined;
    deviceId = row?.device_id ?? '';
  }
  if (!deviceId) throw noMatchingDevice();
  if (known && !deviceById(ctx, deviceId)) throw noMatchingDevice();
  return { deviceId, alias, agent };
}
