/**
 * Users, phones, stations, groups, roles and permissions: IMPORTUSER, IMPORTAGENTPHONE,
 * IMPORTWORKSTATION, ADDGROUP, MODIFYGROUPPERMISSION, MODIFYUSERGROUPPERMISSION, MODIFYROLE,
 * MODIFYROLEGROUPPERMISSION, MODIFYUSERROLE and MODIFYROLEPERMISSION.
 */
import { randomBytes, scryptSync } from 'node:crypto';
import { ResultCode } from '../../protocol/result-codes.js';
import { element, type XmlElement } from '../../protocol/xml.js';
import { ApiError, ok, type CommandOutcome, type CoreRequest, type SimContext } from '../context.js';
import { phonesOf, userBy, userById, userByName } from '../directory.js';
import { productTimeWithOffset } from '../product-format.js';
import type { UserRow } from '../store.js';

const action = (req: CoreRequest): string => (req.params.get('ACTION') ?? '').toUpperCase();

/** "Parameters Sent": the request's parameters echoed in the result, in catalog order. */
function paramsSent(req: CoreRequest, resolved: Record<string, string | number> = {}): XmlElement[] {
  const out: XmlElement[] = [];
  const written = new Set<string>();
  for (const param of req.spec.params) {
    const value = resolved[param.name] ?? req.params.get(param.name);
    if (value === undefined) continue;
    out.push(element(param.name, String(value)));
    written.add(param.name);
  }
  for (const [name, value] of Object.entries(resolved)) if (!written.has(name)) out.push(element(name, String(value)));
  return out;
}

function hashPassword(password: string): string {
  const salt = randomBytes(16);
  return `scrypt:${salt.toString('hex')}:${scryptSync(password, salt, 32).toString('hex')}`;
}

function requireSite(ctx: SimContext, siteId: string | undefined): void {
  if (siteId === undefined || siteId === '') return;
  if (!ctx.db.prepare('SELECT 1 FROM sites WHERE site_id = ?').get(Number(siteId))) {
    throw new ApiError(ResultCode.API_SITEID_NOT_VALID, `Site ${siteId} does not exist`);
  }
}

function assignPhones(ctx: SimContext, userId: number, phones: string | undefined): void {
  if (!phones) return;
  for (const phone of phones.split(',').map((p) => p.trim()).filter(Boolean)) {
    const owner = ctx.db.prepare("SELECT p.user_id FROM phones p JOIN users u ON u.user_id = p.user_id WHERE p.phone_id = ? AND u.status <> 'D'").get(phone) as
      | { user_id: number }
      | undefined;
    if (owner && owner.user_id !== userId) {
      throw new ApiError(ResultCode.API_ERROR_KEYS_NOT_UNIQUE, `Phone ${phone} is already assigned to agent ${owner.user_id}`);
    }
    ctx.db.prepare('INSERT OR REPLACE INTO phones (phone_id, user_id) VALUES (?, ?)').run(phone, userId);
  }
}

/** IMPORTUSER columns by parameter (aliases are resolved to these names before a handler runs). */
const userColumns: readonly (readonly [string, string])[] = [
  ['USERNAME', 'username'],
  ['EMPLOYEEID', 'employee_id'],
  ['FIRSTNAME', 'first_name'],
  ['LASTNAME', 'last_name'],
  ['SYS_USER', 'sys_user'],
  ['DOMAIN', 'sys_domain'],
  ['EMAIL', 'email'],
  ['CRM_USER', 'crm_user'],
  ['SITEID', 'site_id'],
];

function usernameTaken(ctx: SimContext, username: string, exceptUserId: number): boolean {
  return !!ctx.db.prepare("SELECT 1 FROM users WHERE username = ? COLLATE NOCASE AND status <> 'D' AND user_id <> ?").get(username, exceptUserId);
}

function userElement(ctx: SimContext, u: UserRow): XmlElement {
  return element('USER', [
    element('USER_ID', String(u.user_id)),
    element('USERNAME', u.username),
    element('EMPLOYEE_ID', u.employee_id),
    element('FIRST_NAME', u.first_name),
    element('LAST_NAME', u.last_name),
    element('AGENT', u.agent ? 'TRUE' : 'FALSE'),
    element('STATUS', u.status),
    element('ADD_TIME', productTimeWithOffset(u.add_time)),
    element('MOD_TIME', productTimeWithOffset(u.mod_time)),
    element('SYS_USER', u.sys_user),
    element('SYS_DOMAIN', u.sys_domain),
    element('EMAIL', u.email),
    element('CRM_USER', u.crm_user),
    element('SITE_ID', String(u.site_id)),
    element('PHONES', phonesOf(ctx, u.user_id).join(',')),
  ]);
}

export function importUser(req: CoreRequest, ctx: SimContext): CommandOutcome {
  const now = ctx.clock.now();
  const p = req.params;
  switch (action(req)) {
    case 'LIST': {
      const users = ctx.db.prepare("SELECT * FROM users WHERE status <> 'D' ORDER BY user_id").all() as UserRow[];
      return {
        ...ok('API_OK', [element('USERS', [element('COUNT', String(users.length)), ...users.map((u) => userElement(ctx, u))])]),
        unclosedInField: ['USERS'],
      };
    }
    case 'ADD': {
      const first = p.get('FIRSTNAME') ?? '';
      const last = p.get('LASTNAME') ?? '';
      if (!first || !last) throw new ApiError(ResultCode.API_INVALID_MESSAGE_FORMAT, 'FIRSTNAME and LASTNAME are required to add a user');
      const username = p.get('USERNAME') ?? '';
      if (username && usernameTaken(ctx, username, -1)) {
        throw new ApiError(ResultCode.API_USER_ALREADY_EXIST, `A user with USERNAME ${username} already exists`);
      }
      const sameName = userByName(ctx, first, last);
      if (sameName) {
        throw new ApiError(ResultCode.API_AGENT_ALREADY_EXIST, `A user named ${first} ${last} already exists (USERID ${sameName.user_id})`);
      }
      requireSite(ctx, p.get('SITEID'));
      const status = (p.get('STATUS') || 'A').toUpperCase();
      const columns: Record<string, string | number> = { agent: status === 'A' ? 1 : 0, status, add_time: now, mod_time: now };
      for (const [param, column] of userColumns) {
        const value = p.get(param);
        if (value !== undefined && value !== '') columns[column] = column === 'site_id' ? Number(value) : value;
      }
      const password = p.get('PASSWORD');
      if (password) columns.password_hash = hashPassword(password);
      const names = Object.keys(columns);
      const info = ctx.db.prepare(`INSERT INTO users (${names.join(', ')}) VALUES (${names.map((n) => '@' + n).join(', ')})`).run(columns);
      const userId = Number(info.lastInsertRowid);
      assignPhones(ctx, userId, p.get('PHONES'));
      return ok('API_OK', [element('USERID', String(userId))]);
    }
    case 'MODIFY':
    case 'DELETE': {
      const userId = p.get('USERID');
      if (!userId) throw new ApiError(ResultCode.API_INVALID_MESSAGE_FORMAT, `USERID is required to ${action(req).toLowerCase()} a user`);
      const user = userById(ctx, Number(userId));
      if (!user) throw new ApiError(ResultCode.API_USER_NOT_FOUND, `No user with USERID ${userId} was found`);
      if (action(req) === 'DELETE') {
        // The record stays so that past calls still name the right user; its phones are freed.
        ctx.db.prepare("UPDATE users SET status = 'D', agent = 0, mod_time = ? WHERE user_id = ?").run(now, user.user_id);
        ctx.db.prepare('DELETE FROM phones WHERE user_id = ?').run(user.user_id);
        return ok('API_OK', [element('USERID', String(user.user_id))]);
      }
      const username = p.get('USERNAME');
      if (username && usernameTaken(ctx, username, user.user_id)) {
        throw new ApiError(ResultCode.API_USER_ALREADY_EXIST, `A user with USERNAME ${username} already exists`);
      }
      requireSite(ctx, p.get('SITEID'));
      const sets: string[] = ['mod_time = @mod_time'];
      const values: Record<string, string | number> = { user_id: user.user_id, mod_time: now };
      for (const [param, column] of userColumns) {
        const value = p.get(param);
        if (value === undefined) continue;
        sets.push(`${column} = @${column}`);
        values[column] = column === 'site_id' ? Number(value || -1) : value;
      }
      const status = p.get('STATUS');
      if (status) {
        sets.push('status = @status', 'agent = @agent');
        values.status = status.toUpperCase();
        values.agent = status.toUpperCase() === 'A' ? 1 : 0;
      }
      const password = p.get('PASSWORD');
      if (password) {
        sets.push('password_hash = @password_hash');
        values.password_hash = hashPassword(password);
      }
      ctx.db.prepare(`UPDATE users SET ${sets.join(', ')} WHERE user_id = @user_id`).run(values);
      assignPhones(ctx, user.user_id, p.get('PHONES'));
      return ok('API_OK', [element('USERID', String(user.user_id))]);
    }
    default:
      throw new ApiError(ResultCode.API_ERROR_INVALID_ACTION, `Invalid ACTION ${req.params.get('ACTION') ?? ''}`);
  }
}

/** The agent named by AGENTID, tried first, else by FIRSTNAME and LASTNAME. */
function namedAgent(ctx: SimContext, p: ReadonlyMap<string, string>): UserRow {
  const agentId = p.get('AGENTID');
  const byId = agentId ? userById(ctx, Number(agentId)) : undefined;
  if (byId) return byId;
  const first = p.get('FIRSTNAME');
  const last = p.get('LASTNAME');
  const byName = first && last ? userByName(ctx, first, last) : undefined;
  if (byName) return byName;
  const named = [agentId ? `AGENTID ${agentId}` : '', first || last ? `name ${first ?? ''} ${last ?? ''}`.trim() : ''].filter(Boolean).join(' or ');
  throw new ApiError(ResultCode.API_AGENT_NOT_FOUND, `No agent was found with ${named}`);
}

export function importAgentPhone(req: CoreRequest, ctx: SimContext): CommandOutcome {
  const phone = req.params.get('PHONEID')!;
  const agent = namedAgent(ctx, req.params);
  const owner = ctx.db
    .prepare("SELECT p.user_id FROM phones p JOIN users u ON u.user_id = p.user_id WHERE p.phone_id = ? AND u.status <> 'D'")
    .get(phone) as { user_id: number } | undefined;
  if (action(req) === 'ADD') {
    if (owner && owner.user_id !== agent.user_id) {
      throw new ApiError(ResultCode.API_ERROR_KEYS_NOT_UNIQUE, `Phone ${phone} is already assigned to agent ${owner.user_id}`);
    }
    ctx.db.prepare('INSERT OR REPLACE INTO phones (phone_id, user_id) VALUES (?, ?)').run(phone, agent.user_id);
  } else {
    if (owner?.user_id !== agent.user_id) {
      throw new ApiError(ResultCode.API_DEVICE_INVALID, `Phone ${phone} is not assigned to agent ${agent.user_id}`);
    }
    ctx.db.prepare('DELETE FROM phones WHERE phone_id = ?').run(phone);
  }
  return ok('API_OK', [element('AGENTID', String(agent.user_id))]);
}

export function importWorkstation(req: CoreRequest, ctx: SimContext): CommandOutcome {
  const deviceId = req.params.get('DEVICEID')!;
  const stationName = req.params.get('STATIONNAME')!;
  const locationId = Number(req.params.get('LOCATIONID'));
  if (!ctx.db.prepare('SELECT 1 FROM locations WHERE location_id = ?').get(locationId)) {
    const stored = ctx.db.prepare('SELECT device_id FROM stations WHERE station_name = ?').get(stationName) as { device_id: string } | undefined;
    return {
      code: ResultCode.API_DATABASE_QUERY_ERROR,
      message: `Location ${locationId} does not exist`,
      body: [element('DEVICEID', stored?.device_id ?? ''), element('STATIONNAME', stationName)],
    };
  }
  // A delete of either key first guarantees that the new mapping is unique.
  ctx.db.prepare('DELETE FROM stations WHERE device_id = ? OR station_name = ?').run(deviceId, stationName);
  ctx.db.prepare('INSERT INTO stations (station_name, device_id, location_id) VALUES (?, ?, ?)').run(stationName, deviceId, locationId);
  const stored = ctx.db.prepare('SELECT device_id FROM stations WHERE station_name = ?').get(stationName) as { device_id: string };
  return ok('API_OK', [element('DEVICEID', stored.device_id), element('STATIONNAME', stationName)]);
}

interface GroupRow {
  group_id: number;
  group_name: string;
  active: number;
}

function groupNamed(ctx: SimContext, p: ReadonlyMap<string, string>): GroupRow | undefined {
  const name = p.get('GROUPNAME');
  if (name) return ctx.db.prepare('SELECT * FROM groups WHERE group_name = ?').get(name) as GroupRow | undefined;
  return ctx.db.prepare('SELECT * FROM groups WHERE group_id = ?').get(Number(p.get('GROUPID'))) as GroupRow | undefined;
}

function requireGroup(ctx: SimContext, p: ReadonlyMap<string, string>): GroupRow {
  const group = groupNamed(ctx, p);
  if (!group || !group.active) throw new ApiError(ResultCode.API_NO_GROUP, `Group ${p.get('GROUPNAME') ?? p.get('GROUPID')} does not exist`);
  return group;
}

export function addGroup(req: CoreRequest, ctx: SimContext): CommandOutcome {
  const name = req.params.get('GROUPNAME')!;
  const existing = groupNamed(ctx, req.params);
  if (existing) {
    return ok(`group: ${existing.group_name} already exists`, [element('GROUPID', String(existing.group_id)), element('GROUPNAME', existing.group_name)]);
  }
  const info = ctx.db.prepare('INSERT INTO groups (group_name) VALUES (?)').run(name);
  return ok(`group: ${name} has been added`, [element('GROUPID', String(info.lastInsertRowid)), element('GROUPNAME', name)]);
}

export function modifyGroupPermission(req: CoreRequest, ctx: SimContext): CommandOutcome {
  const group = requireGroup(ctx, req.params);
  const agent = namedAgent(ctx, req.params);
  const device = req.params.get('DEVICEID') || req.params.get('PHONEID') || '';
  if (action(req) === 'ADD') {
    ctx.db.prepare('INSERT OR REPLACE INTO group_agents (group_id, user_id, device_id) VALUES (?, ?, ?)').run(group.group_id, agent.user_id, device);
  } else {
    ctx.db.prepare('DELETE FROM group_agents WHERE group_id = ? AND user_id = ?').run(group.group_id, agent.user_id);
  }
  return ok('API_OK', paramsSent(req, { GROUPID: group.group_id, AGENTID: agent.user_id }));
}

export function modifyUserGroupPermission(req: CoreRequest, ctx: SimContext): CommandOutcome {
  const username = req.params.get('USERNAME')!;
  const user = userBy(ctx, 'username', username);
  if (!user) throw new ApiError(ResultCode.API_USER_NOT_FOUND, `No user with USERNAME ${username} was found`);
  const group = requireGroup(ctx, req.params);
  if (action(req) === 'ADD') {
    ctx.db.prepare('INSERT OR IGNORE INTO group_viewers (group_id, user_id) VALUES (?, ?)').run(group.group_id, user.user_id);
  } else {
    ctx.db.prepare('DELETE FROM group_viewers WHERE group_id = ? AND user_id = ?').run(group.group_id, user.user_id);
  }
  return ok('API_OK', paramsSent(req, { GROUPID: group.group_id }));
}

interface RoleRow {
  role_id: number;
  role_name: string;
  description: string;
}

function roleNamed(ctx: SimContext, p: ReadonlyMap<string, string>): RoleRow {
  const name = p.get('ROLENAME');
  const role = (name
    ? ctx.db.prepare('SELECT * FROM roles WHERE role_name = ?').get(name)
    : ctx.db.prepare('SELECT * FROM roles WHERE role_id = ?').get(Number(p.get('ROLEID')))) as RoleRow | undefined;
  if (!role) throw new ApiError(ResultCode.API_ROLE_NOT_FOUND, `Role ${name ?? p.get('ROLEID')} does not exist`);
  return role;
}

export function modifyRole(req: CoreRequest, ctx: SimContext): CommandOutcome {
  const name = req.params.get('ROLENAME')!;
  const description = req.params.get('DESCRIPTION');
  switch (action(req)) {
    case 'ADD': {
      if (ctx.db.prepare('SELECT 1 FROM roles WHERE role_name = ?').get(name)) {
        throw new ApiError(ResultCode.API_ROLE_ALREADY_EXISTS, `Role ${name} already exists`);
      }
      ctx.db.prepare('INSERT INTO roles (role_name, description) VALUES (?, ?)').run(name, description ?? '');
      return ok('Role Added', paramsSent(req));
    }
    case 'MODIFY': {
      const role = roleNamed(ctx, req.params);
      if (description !== undefined) ctx.db.prepare('UPDATE roles SET description = ? WHERE role_id = ?').run(description, role.role_id);
      return ok('Role Modified', paramsSent(req));
    }
    default: {
      const role = roleNamed(ctx, req.params);
      for (const table of ['role_groups', 'role_permissions', 'user_roles', 'roles']) {
        ctx.db.prepare(`DELETE FROM ${table} WHERE role_id = ?`).run(role.role_id);
      }
      return ok('Role Deleted', paramsSent(req));
    }
  }
}

export function modifyRoleGroupPermission(req: CoreRequest, ctx: SimContext): CommandOutcome {
  const role = roleNamed(ctx, req.params);
  const groupName = req.params.get('GROUPNAME')!;
  const group = ctx.db.prepare('SELECT * FROM groups WHERE group_name = ?').get(groupName) as GroupRow | undefined;
  // The manual's own example answers API_OK with this message for a missing group.
  if (!group || !group.active) return ok(`Group ${groupName} does not exist or it is not active`, paramsSent(req, { ROLEID: role.role_id }));
  if (action(req) === 'ADD') {
    ctx.db.prepare('INSERT OR IGNORE INTO role_groups (role_id, group_id) VALUES (?, ?)').run(role.role_id, group.group_id);
    return ok(`Group ${group.group_name} added to role ${role.role_name}`, paramsSent(req, { ROLEID: role.role_id }));
  }
  ctx.db.prepare('DELETE FROM role_groups WHERE role_id = ? AND group_id = ?').run(role.role_id, group.group_id);
  return ok(`Group ${group.group_name} removed from role ${role.role_name}`, paramsSent(req, { ROLEID: role.role_id }));
}

export function modifyUserRole(req: CoreRequest, ctx: SimContext): CommandOutcome {
  const role = roleNamed(ctx, req.params);
  const p = req.params;
  let user: UserRow | undefined;
  if (p.get('USERID')) user = userById(ctx, Number(p.get('USERID')));
  else if (p.get('USERNAME')) user = userBy(ctx, 'username', p.get('USERNAME')!);
  else if (p.get('SYSTEMUSERNAME')) user = userBy(ctx, 'sys_user', p.get('SYSTEMUSERNAME')!);
  else if (p.get('FIRSTNAME') && p.get('LASTNAME')) user = userByName(ctx, p.get('FIRSTNAME')!, p.get('LASTNAME')!);
  else {
    const name = p.get('LASTNAME') ?? p.get('FIRSTNAME')!;
    user = ctx.db
      .prepare("SELECT * FROM users WHERE (last_name = ? COLLATE NOCASE OR first_name = ? COLLATE NOCASE) AND status <> 'D' ORDER BY user_id LIMIT 1")
      .get(name, name) as UserRow | undefined;
  }
  if (!user) throw new ApiError(ResultCode.API_USER_NOT_FOUND, 'No user matches the given USERID, USERNAME, SYSTEMUSERNAME, FIRSTNAME or LASTNAME');
  if (action(req) === 'ADD') {
    ctx.db.prepare('INSERT OR IGNORE INTO user_roles (user_id, role_id) VALUES (?, ?)').run(user.user_id, role.role_id);
    return ok(`User ${user.user_id} is assigned role ${role.role_name}`, paramsSent(req, { USERID: user.user_id, ROLEID: role.role_id }));
  }
  ctx.db.prepare('DELETE FROM user_roles WHERE user_id = ? AND role_id = ?').run(user.user_id, role.role_id);
  return ok(`User ${user.user_id} is no longer assigned role ${role.role_name}`, paramsSent(req, { USERID: user.user_id, ROLEID: role.role_id }));
}

export function modifyRolePermission(req: CoreRequest, ctx: SimContext): CommandOutcome {
  const role = roleNamed(ctx, req.params);
  const permission = req.params.get('PERMISSIONNAME')!.toUpperCase();
  if (action(req) === 'ADD') {
    ctx.db.prepare('INSERT OR IGNORE INTO role_permissions (role_id, permission) VALUES (?, ?)').run(role.role_id, permission);
    return ok('Permission Added', paramsSent(req, { ROLEID: role.role_id }));
  }
  ctx.db.prepare('DELETE FROM role_permissions WHERE role_id = ? AND permission = ?').run(role.role_id, permission);
  return ok('Permission Removed', paramsSent(req, { ROLEID: role.role_id }));
}
