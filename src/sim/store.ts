/**
 * The simulator's state: one SQLite database in the data dir (or a temporary one), opened with
 * better-sqlite3. SQLite because the product keeps its state in a relational database (the manual
 * speaks of the Recording table and its columns, which UNIQUEFIELD names directly), because the
 * state must survive restarts atomically, and because a synchronous embedded engine lets each
 * command run as one transaction without interleaving with other connections.
 */
import Database from 'better-sqlite3';
import { userFieldNames } from '../protocol/catalog.js';

export type Db = Database.Database;

const userColumns = userFieldNames.map((u) => `${u.toLowerCase()} TEXT NOT NULL DEFAULT ''`).join(',\n  ');

const schema = `
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS sites (site_id INTEGER PRIMARY KEY, name TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS locations (location_id INTEGER PRIMARY KEY, name TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS users (
  user_id INTEGER PRIMARY KEY AUTOINCREMENT,
  username TEXT NOT NULL DEFAULT '',
  employee_id TEXT NOT NULL DEFAULT '',
  first_name TEXT NOT NULL DEFAULT '',
  last_name TEXT NOT NULL DEFAULT '',
  agent INTEGER NOT NULL DEFAULT 0,
  status TEXT NOT NULL DEFAULT 'A',
  add_time INTEGER,
  mod_time INTEGER,
  sys_user TEXT NOT NULL DEFAULT '',
  sys_domain TEXT NOT NULL DEFAULT '',
  email TEXT NOT NULL DEFAULT '',
  crm_user TEXT NOT NULL DEFAULT '',
  site_id INTEGER NOT NULL DEFAULT -1,
  password_hash TEXT NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS phones (phone_id TEXT PRIMARY KEY, user_id INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS stations (
  station_name TEXT PRIMARY KEY COLLATE NOCASE,
  device_id TEXT NOT NULL UNIQUE,
  location_id INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS groups (
  group_id INTEGER PRIMARY KEY AUTOINCREMENT,
  group_name TEXT NOT NULL UNIQUE COLLATE NOCASE,
  active INTEGER NOT NULL DEFAULT 1
);
CREATE TABLE IF NOT EXISTS group_agents (group_id INTEGER NOT NULL, user_id INTEGER NOT NULL, device_id TEXT NOT NULL DEFAULT '', PRIMARY KEY (group_id, user_id));
CREATE TABLE IF NOT EXISTS group_viewers (group_id INTEGER NOT NULL, user_id INTEGER NOT NULL, PRIMARY KEY (group_id, user_id));
CREATE TABLE IF NOT EXISTS roles (
  role_id INTEGER PRIMARY KEY AUTOINCREMENT,
  role_name TEXT NOT NULL UNIQUE COLLATE NOCASE,
  description TEXT NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS role_groups (role_id INTEGER NOT NULL, group_id INTEGER NOT NULL, PRIMARY KEY (role_id, group_id));
CREATE TABLE IF NOT EXISTS role_permissions (role_id INTEGER NOT NULL, permission TEXT NOT NULL, PRIMARY KEY (role_id, permission));
CREATE TABLE IF NOT EXISTS user_roles (user_id INTEGER NOT NULL, role_id INTEGER NOT NULL, PRIMARY KEY (user_id, role_id));
CREATE TABLE IF NOT EXISTS terminology (position INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS channels (
  id INTEGER PRIMARY KEY,
  state TEXT NOT NULL DEFAULT 'Idle',
  playback_extension TEXT NOT NULL DEFAULT '',
  recording_device_alias TEXT NOT NULL DEFAULT '',
  recording_device TEXT NOT NULL DEFAULT '',
  last_state_change INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS devices (
  device_id TEXT PRIMARY KEY,
  device_alias TEXT NOT NULL DEFAULT '',
  is_trunk TEXT NOT NULL DEFAULT '',
  agent_blackout_since INTEGER
);
CREATE TABLE IF NOT EXISTS calls (
  call_id INTEGER PRIMARY KEY AUTOINCREMENT,
  device_id TEXT NOT NULL,
  call_instance TEXT NOT NULL DEFAULT '',
  active INTEGER NOT NULL,
  on_demand INTEGER NOT NULL DEFAULT 0,
  global_call_id TEXT NOT NULL,
  device_alias TEXT NOT NULL DEFAULT '',
  sys_user TEXT NOT NULL DEFAULT '',
  crm_user TEXT NOT NULL DEFAULT '',
  agent_id TEXT NOT NULL DEFAULT '',
  station TEXT NOT NULL DEFAULT '',
  sgroup TEXT NOT NULL DEFAULT '',
  gate TEXT NOT NULL DEFAULT '',
  ani TEXT NOT NULL DEFAULT '',
  dnis TEXT NOT NULL DEFAULT '',
  ${userColumns},
  callid TEXT NOT NULL DEFAULT '',
  calldirection TEXT NOT NULL DEFAULT '',
  priority TEXT NOT NULL DEFAULT '',
  max_record_time INTEGER,
  archive_action TEXT NOT NULL DEFAULT '-1',
  keepdays TEXT NOT NULL DEFAULT '30',
  core_ident INTEGER NOT NULL,
  start_ms INTEGER NOT NULL,
  stop_ms INTEGER
);
CREATE INDEX IF NOT EXISTS calls_by_device ON calls (device_id, active, start_ms);
CREATE TABLE IF NOT EXISTS segments (
  segment_id INTEGER PRIMARY KEY AUTOINCREMENT,
  call_id INTEGER NOT NULL,
  kind TEXT NOT NULL,
  channel INTEGER NOT NULL,
  filename TEXT NOT NULL,
  media_path TEXT NOT NULL,
  start_ms INTEGER NOT NULL,
  stop_ms INTEGER,
  paused_since INTEGER,
  silences TEXT NOT NULL DEFAULT '[]',
  record_id INTEGER
);
CREATE INDEX IF NOT EXISTS segments_by_call ON segments (call_id, stop_ms);
CREATE INDEX IF NOT EXISTS segments_by_filename ON segments (filename);
CREATE TABLE IF NOT EXISTS recordings (
  ident INTEGER PRIMARY KEY AUTOINCREMENT,
  agent_id TEXT NOT NULL DEFAULT '',
  ani TEXT NOT NULL DEFAULT '',
  archive_action_id TEXT NOT NULL DEFAULT '-1',
  audio_hash TEXT NOT NULL DEFAULT '',
  audio_size INTEGER NOT NULL DEFAULT 0,
  calldirection TEXT NOT NULL DEFAULT '',
  callid TEXT NOT NULL DEFAULT '',
  channel TEXT NOT NULL DEFAULT '',
  device_alias TEXT NOT NULL DEFAULT '',
  device_id TEXT NOT NULL DEFAULT '',
  dnis TEXT NOT NULL DEFAULT '',
  duration INTEGER NOT NULL DEFAULT 0,
  filename TEXT NOT NULL DEFAULT '',
  filename_video TEXT NOT NULL DEFAULT '',
  gate TEXT NOT NULL DEFAULT '',
  globalid TEXT NOT NULL DEFAULT '',
  keepdays TEXT NOT NULL DEFAULT '30',
  locked TEXT NOT NULL DEFAULT 'N',
  listenedto TEXT NOT NULL DEFAULT 'N',
  medialabel TEXT NOT NULL DEFAULT '',
  overridden TEXT NOT NULL DEFAULT 'N',
  priority TEXT NOT NULL DEFAULT '',
  qa_forms TEXT NOT NULL DEFAULT '',
  qa_group_id TEXT NOT NULL DEFAULT '',
  qa_poss_score TEXT NOT NULL DEFAULT '',
  qa_score TEXT NOT NULL DEFAULT '',
  recording_time INTEGER NOT NULL,
  recording_type TEXT NOT NULL DEFAULT 'audio',
  screen_capture TEXT NOT NULL DEFAULT 'N',
  sgroup TEXT NOT NULL DEFAULT '',
  ${userColumns},
  video_hash TEXT NOT NULL DEFAULT '',
  video_size INTEGER NOT NULL DEFAULT 0,
  wrap_duration INTEGER NOT NULL DEFAULT 0,
  crm_user TEXT NOT NULL DEFAULT '',
  sys_user TEXT NOT NULL DEFAULT '',
  core_ident TEXT NOT NULL DEFAULT '',
  call_instance TEXT NOT NULL DEFAULT '',
  session_id TEXT NOT NULL DEFAULT '',
  media_path TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS recordings_by_time ON recordings (recording_time DESC, ident DESC);
CREATE INDEX IF NOT EXISTS recordings_by_device ON recordings (device_id, recording_time DESC);
CREATE INDEX IF NOT EXISTS recordings_by_filename ON recordings (filename);
CREATE TABLE IF NOT EXISTS chats (
  session_id TEXT PRIMARY KEY,
  user_id INTEGER NOT NULL,
  active INTEGER NOT NULL,
  core_ident INTEGER NOT NULL,
  start_ms INTEGER NOT NULL,
  stop_ms INTEGER,
  device_alias TEXT NOT NULL DEFAULT '',
  sgroup TEXT NOT NULL DEFAULT '',
  gate TEXT NOT NULL DEFAULT '',
  ani TEXT NOT NULL DEFAULT '',
  dnis TEXT NOT NULL DEFAULT '',
  ${userColumns},
  calldirection TEXT NOT NULL DEFAULT '',
  callid TEXT NOT NULL DEFAULT '',
  keepdays TEXT NOT NULL DEFAULT '30'
);
CREATE TABLE IF NOT EXISTS agent_windows (
  computer_name TEXT PRIMARY KEY COLLATE NOCASE,
  username TEXT NOT NULL COLLATE NOCASE,
  domain TEXT NOT NULL,
  ip_address TEXT NOT NULL,
  status TEXT NOT NULL,
  application_title TEXT NOT NULL,
  last_update INTEGER NOT NULL
);
`;

export interface UserRow {
  user_id: number;
  username: string;
  employee_id: string;
  first_name: string;
  last_name: string;
  agent: number;
  status: string;
  add_time: number | null;
  mod_time: number | null;
  sys_user: string;
  sys_domain: string;
  email: string;
  crm_user: string;
  site_id: number;
  password_hash: string;
}

export interface DeviceRow {
  device_id: string;
  device_alias: string;
  is_trunk: string;
  agent_blackout_since: number | null;
}

/** A call instance on a device; the USERn columns and the rest of the call data. */
export interface CallRow {
  call_id: number;
  device_id: string;
  call_instance: string;
  active: number;
  on_demand: number;
  global_call_id: string;
  device_alias: string;
  sys_user: string;
  crm_user: string;
  agent_id: string;
  station: string;
  sgroup: string;
  gate: string;
  ani: string;
  dnis: string;
  callid: string;
  calldirection: string;
  priority: string;
  max_record_time: number | null;
  archive_action: string;
  keepdays: string;
  core_ident: number;
  start_ms: number;
  stop_ms: number | null;
  [user: `user${number}`]: string;
}

export interface SegmentRow {
  segment_id: number;
  call_id: number;
  kind: 'call' | 'partial';
  channel: number;
  filename: string;
  media_path: string;
  start_ms: number;
  stop_ms: number | null;
  paused_since: number | null;
  silences: string;
  record_id: number | null;
}

export interface RecordingRow {
  ident: number;
  agent_id: string;
  ani: string;
  archive_action_id: string;
  calldirection: string;
  callid: string;
  channel: string;
  device_alias: string;
  device_id: string;
  dnis: string;
  duration: number;
  filename: string;
  gate: string;
  globalid: string;
  keepdays: string;
  recording_time: number;
  recording_type: string;
  sgroup: string;
  crm_user: string;
  sys_user: string;
  core_ident: string;
  call_instance: string;
  session_id: string;
  media_path: string;
  audio_size: number;
  [column: string]: string | number | null;
}

export interface ChatRow {
  session_id: string;
  user_id: number;
  active: number;
  core_ident: number;
  start_ms: number;
  stop_ms: number | null;
  device_alias: string;
  sgroup: string;
  gate: string;
  ani: string;
  dnis: string;
  calldirection: string;
  callid: string;
  keepdays: string;
  [user: `user${number}`]: string;
}

/** A request parameter and the column it is stored in. */
export type ParamColumn = readonly [param: string, column: string];

/** Columns whose names are not simply the parameter's in lower case. */
const columnNames: Readonly<Record<string, string>> = {
  GROUP: 'sgroup',
  DEVICEID: 'device_id',
  DEVICEALIAS: 'device_alias',
};

/** The data a call carries, shared by calls, chats and recordings. */
export const callDataParams: readonly string[] = ['GROUP', 'GATE', 'ANI', 'DNIS', ...userFieldNames, 'CALLDIRECTION'];

/** Pair parameters with their columns; `overrides` names a table's own columns (ARCHIVEACTION...). */
export function columnsOf(params: readonly string[], overrides: Readonly<Record<string, string>> = {}): ParamColumn[] {
  return params.map((param) => [param, overrides[param] ?? columnNames[param] ?? param.toLowerCase()] as const);
}

/**
 * Set the columns whose parameters the request carries (a blank value clears its column) on the
 * rows where `key` equals `keyValue`. Table and column names come from this module's lists, never
 * from a request.
 */
export function updatePresent(
  db: Db,
  table: string,
  key: string,
  keyValue: string | number,
  columns: readonly ParamColumn[],
  params: ReadonlyMap<string, string>,
): void {
  const sets: string[] = [];
  const values: Record<string, string | number> = { key: keyValue };
  for (const [param, column] of columns) {
    const value = params.get(param);
    if (value === undefined) continue;
    sets.push(`${column} = @${column}`);
    values[column] = value;
  }
  if (sets.length > 0) db.prepare(`UPDATE ${table} SET ${sets.join(', ')} WHERE ${key} = @key`).run(values);
}

/** The most statements one database keeps prepared; past it, the one prepared longest ago goes. */
const maxPreparedStatements = 256;
const preparedStatements = new WeakMap<Db, Map<string, Database.Statement>>();

/**
 * `sql` prepared once per database and kept: preparing CALLLIST's join cost some 70 µs, as much as
 * running it, on every request. `raw`: rows come back as arrays in the order of the columns
 * selected, which spares better-sqlite3 an object (and a named property per column) for each row;
 * a statement is prepared apart for each mode, so that no caller changes another's. SQL is built
 * from this module's lists and fixed text, never from a request, but filters may combine in many
 * ways: the number kept is bounded.
 */
export function preparedStatement(db: Db, sql: string, mode: 'objects' | 'raw' = 'objects'): Database.Statement {
  let statements = preparedStatements.get(db);
  if (!statements) preparedStatements.set(db, (statements = new Map()));
  const key = `${mode}:${sql}`;
  let statement = statements.get(key);
  if (!statement) {
    if (statements.size >= maxPreparedStatements) statements.delete(statements.keys().next().value!);
    statement = db.prepare(sql);
    if (mode === 'raw') statement.raw(true);
    statements.set(key, statement);
  }
  return statement;
}

/**
 * A value that changes whenever the database may have: the rows this connection has written
 * (total_changes() counts every INSERT, UPDATE and DELETE, those of triggers and of transactions
 * rolled back included) and the commits of other connections (data_version). While it is the same,
 * nothing was written, so a read answers as it did.
 */
export function storeVersion(db: Db): string {
  // Two statements: read through the pragma_data_version table, the pragma costs half as much again.
  const changes = preparedStatement(db, 'SELECT total_changes()', 'raw').get() as [number];
  const commits = preparedStatement(db, 'PRAGMA data_version', 'raw').get() as [number];
  return `${changes[0]}:${commits[0]}`;
}

export function openDatabase(file: string): Db {
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.pragma('foreign_keys = ON');
  db.exec(schema);
  return db;
}

export function getMeta(db: Db, key: string): string | undefined {
  const row = db.prepare('SELECT value FROM meta WHERE key = ?').get(key) as { value: string } | undefined;
  return row?.value;
}

export function setMeta(db: Db, key: string, value: string): void {
  db.prepare('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value').run(key, value);
}
