/**
 * The command catalog: every command of the XML API described once, as data. The WebAPI, the REST
 * surface, OpenAPI, the simulator's dispatcher and the tests all derive from it.
 *
 * Sources: the API Manual v5.7 (parameters, "Data Type Values" tables for types and lengths), the
 * newer "API Server Commands" help (IMPORTUSER LIST fields, KEEPDAYS on CHATUPDATE, EXPORT formats)
 * and the CallCopy 4.5 manual for the commands v5 deprecates. Where a type is "TBD" in the manual
 * the choice made here is noted beside it.
 */
import { subscriptionClasses } from './events.js';
import { ResultCode } from './result-codes.js';
import {
  agentWindowRecord, callListRecord, channelRecord, deviceInstancesRecord, deviceRecord, stationRecord, systemStatusRecord, termRecord,
  userFieldNames, userRecord, type ResultRecord,
} from './result-records.js';

export { userFieldNames };

export type ParamType =
  /** Signed 32-bit integer. */
  | 'int32'
  /** Signed 64-bit integer (bigint(8) in the manual), kept as a string. */
  | 'int64'
  /** Character data bounded by maxLength. */
  | 'text'
  /** 'Y' or 'N' (any case). */
  | 'flag'
  /** One of `values`, compared case-insensitively. */
  | 'enum';

export interface ParamSpec {
  name: string;
  type: ParamType;
  maxLength?: number;
  values?: readonly string[];
  /** Other names the manuals use for this parameter (`KEEP_DAYS`, `USER_ID`, `AGENT_ID`...). */
  aliases?: readonly string[];
  description?: string;
  /** A comma-separated list of recording IDs (a JSON array on the REST surface). */
  list?: boolean;
  /** Seconds since 1970 (the REST surface also takes an ISO-8601 date). */
  unixTime?: boolean;
}

/**
 * A route of the REST surface onto a command, under /api/v1. Body fields (POST, PUT, PATCH) or
 * query parameters (GET, DELETE) are the command's parameters under their JSON names.
 */
export interface RestRoute {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /** Path parameters are named by their JSON name: `/devices/{deviceId}`. */
  path: string;
  /** What the route does, when the command's summary does not say it. */
  summary?: string;
  /** Parameters the route sets itself (ACTION=ADD). */
  fixed?: Readonly<Record<string, string>>;
  /** The only parameters the route takes besides its path parameters (default: all the command's). */
  only?: readonly string[];
  /** Parameters the route does not take. */
  omit?: readonly string[];
  /** JSON names other than the derived one (CALLCOUNT is `limit`). */
  rename?: Readonly<Record<string, string>>;
  /** Values sent when the caller gives none. */
  defaults?: Readonly<Record<string, string>>;
  /** Several commands behind one route, told apart by the value of this field (a blackout's `scope`). */
  variant?: { field: string; value: string; isDefault?: boolean; description: string };
  /**
   * The resource a read answers, named after what it holds. Without one, the route answers what a
   * change answers: the core's `result` and the identifiers it gave (`result.identifiers`).
   */
  answer?: RestResource;
  /**
   * Result codes that mean, on this route, that what its path names does not exist, answered 404
   * rather than by the table (CALLUPDATE of a RECORDID no recording has is API_DATABASE_QUERY_ERROR,
   * which elsewhere is a fault of the core's database).
   */
  notFound?: readonly number[];
}

/**
 * The records at `at`, a path below the RESULT ('' for the RESULT's own body), answered under
 * `name`: a list (always an array) or one object. `paged`: the list is walked page by page.
 */
export interface RestResource {
  name: string;
  at: string;
  many: boolean;
  record: ResultRecord;
  paged?: boolean;
}

const listOf = (name: string, at: string, record: ResultRecord): RestResource => ({ name, at, many: true, record });
const oneResource = (name: string, at: string, record: ResultRecord): RestResource => ({ name, at, many: false, record });

export type CommandCategory =
  | 'diagnostic'
  | 'call-handling'
  | 'status'
  | 'recording-control'
  | 'import'
  | 'administration'
  | 'export'
  | 'events';

/**
 * What a caller may be allowed to do, one scope per command. `*` grants every scope; `metrics`
 * guards /metrics when it is not open. Every surface asks the catalog, so no surface is a way
 * around another.
 */
export const commandScopes = ['status', 'calls', 'recordings:read', 'recordings:export', 'events', 'admin'] as const;
export type CommandScope = (typeof commandScopes)[number];
export const allScopes = [...commandScopes, 'metrics', '*'] as const;
export type Scope = (typeof allScopes)[number];

/**
 * What a TYPE may be for a call to reach the core: every command's name has this form. Anything else
 * (a control character, markup, over 64 characters) could not be echoed back as sent: the core
 * writes it escaped or cut in its REQUESTTYPE, so its answer could not be told from another's.
 */
export const commandTypePattern = /^[A-Za-z][A-Za-z0-9_]{0,63}$/;

/** The scope a TYPE the catalog does not know needs: whatever the core does with it is unknown. */
export const unknownTypeScope: CommandScope = 'admin';

/** Each category's scope; a command may name another (CALLLIST reads recordings). */
const scopeOfCategory: Readonly<Record<CommandCategory, CommandScope>> = {
  diagnostic: 'status',
  status: 'status',
  'call-handling': 'calls',
  'recording-control': 'calls',
  import: 'admin',
  administration: 'admin',
  export: 'recordings:export',
  events: 'events',
};

export interface CommandSpec {
  /** The TYPE on the wire. */
  type: string;
  /** What a caller needs to send it, on every surface. */
  scope: CommandScope;
  /** Other spellings accepted for the type (COMBINEEXPORT). */
  aliases?: readonly string[];
  category: CommandCategory;
  summary: string;
  description: string;
  params: readonly ParamSpec[];
  /** Parameters that must be present and not blank. */
  required: readonly string[];
  /** Groups of which at least one parameter must be present and not blank. */
  atLeastOneOf: readonly (readonly string[])[];
  /** Groups of which at most one parameter may be given. */
  atMostOneOf: readonly (readonly string[])[];
  /** Its routes on the REST surface (besides POST /api/v1/commands/{type}, which reaches every command). */
  rest: readonly RestRoute[];
  /** ACTION values, when the command takes an ACTION. */
  actions?: readonly string[];
  result: {
    /** Paths of elements that repeat, from the RESULT root (`DEVICES/DEVICE`). */
    lists: readonly string[];
    /** Elements named by a pattern that repeat at the root (SYSTEMSTATUS's PROCESSOR0..n). */
    patternLists?: readonly string[];
    /** What a change answers besides its RESULT header: the identifiers the core gave (USERID, GROUPID...). */
    identifiers?: readonly string[];
  };
  /** Whether the command changes state (and must never be sent twice). */
  mutates: boolean;
  /**
   * Who answers: the XML core's API port, its event port, or the gateway itself (the WebAPI-only
   * export functions).
   */
  servedBy: 'core' | 'event-port' | 'gateway';
  /** The API Server forwards it to the recording cores ("sent to all of the following cores"). */
  dispatchedToCores: boolean;
  /** The lowest REQUESTID accepted (the manual's EVENTS example subscribes with 0). */
  minRequestId: number;
  deprecated?: { since: string; replacement?: string };
  /** Ours, not the product's. */
  extension?: boolean;
}

// ---------------------------------------------------------------------------------------------
// Parameter vocabulary

const text = (name: string, maxLength: number, extra: Partial<ParamSpec> = {}): ParamSpec => ({
  name,
  type: 'text',
  maxLength,
  ...extra,
});
const int32 = (name: string, extra: Partial<ParamSpec> = {}): ParamSpec => ({ name, type: 'int32', ...extra });
const int64 = (name: string, extra: Partial<ParamSpec> = {}): ParamSpec => ({ name, type: 'int64', ...extra });
const flag = (name: string, extra: Partial<ParamSpec> = {}): ParamSpec => ({ name, type: 'flag', ...extra });
const oneOf = (name: string, values: readonly string[], extra: Partial<ParamSpec> = {}): ParamSpec => ({
  name,
  type: 'enum',
  values,
  ...extra,
});

/** USER1-USER3 varchar(20), USER4-USER8 varchar(255), USER9-USER15 varchar(50). */
const userFields: readonly ParamSpec[] = userFieldNames.map((name, i) =>
  text(name, i < 3 ? 20 : i < 8 ? 255 : 50, { description: 'Custom field stored with the call record.' }),
);

export const callDirections = ['I', 'O', '?'] as const;

/** The most recordings one IDENT list may name (exports, RECORDINGINFO). */
export const maxRecordingIdents = 1000;

const p = {
  deviceId: text('DEVICEID', 64, { description: 'The physical number identifying a phone (usually the extension).' }),
  deviceAlias: text('DEVICEALIAS', 15, { description: 'The logical number identifying a phone (the agent sign-on number).' }),
  callInstance: text('CALLINSTANCE', 64, { description: 'Distinguishes calls on the same device at the same time.' }), // TBD in the manual
  group: text('GROUP', 20, { description: 'The ACD group of the device.' }),
  gate: text('GATE', 20, { description: 'The call type in the PBX (skill set, vector, application).' }),
  ani: text('ANI', 20, { description: 'Number of the caller (Caller ID).' }),
  dnis: text('DNIS', 20, { description: 'Number the caller dialled.' }),
  callId: text('CALLID', 16, { description: 'Call identifier from the PBX.' }),
  priority: int32('PRIORITY', { description: 'Recording priority, 0-100.' }),
  callDirection: oneOf('CALLDIRECTION', callDirections, { description: 'I (inbound), O (outbound) or ?.' }),
  maxRecordSilence: int32('MAXRECORDSILENCE', { description: 'Seconds of silence before recording ends.' }),
  maxRecordTime: int32('MAXRECORDTIME', { description: 'Seconds after which recording ends automatically.' }),
  agentInitiated: flag('AGENTINITIATED', { description: 'Recording initiated by the agent.' }),
  ctiInitiated: flag('CTIINITIATED', { description: 'Recording initiated by a CTI event.' }),
  archiveAction: int64('ARCHIVEACTION', { description: 'ID of an archive action configured in the system.' }),
  stationName: text('STATIONNAME', 50, { description: 'Windows workstation; stands in for DEVICEID through the station mapping.' }),
  sysUser: text('SYS_USER', 30, { description: "The agent's network username." }),
  crmUser: text('CRM_USER', 30, { description: "The agent's username in a CRM system." }),
  keepDays: int32('KEEPDAYS', { aliases: ['KEEP_DAYS'], description: 'Days to keep the record before purging.' }), // TBD in the manual
  updateIfNotRecording: flag('UPDATE_IF_NOT_RECORDING', {
    description: 'Y: when the device is not in a call, update the last call recorded on it.',
  }),
  recordId: int64('RECORDID', { description: 'Recording ID of a finished recording (post-recording update).' }),
  sessionId: text('SESSIONID', 255, { description: 'Client-chosen identifier of a screen-capture session.' }),
  agentId: int32('AGENTID', { description: 'The USERID of the agent.' }),
  timeOffset: int32('TIMEOFFSET', { description: 'Seconds added to (or, negative, taken from) the time of the blackout edge.' }),
  requestAction: (values: readonly string[]) => oneOf('ACTION', values, { description: 'What to do.' }),
  firstName: text('FIRSTNAME', 20, { aliases: ['FIRST_NAME'] }),
  lastName: text('LASTNAME', 30, { aliases: ['LAST_NAME'] }),
  groupName: text('GROUPNAME', 255, { description: 'Name of an Uptivity Group.' }),
  // The manual's tables print GROUPID as "GROUPLD" in places; both spellings are accepted.
  groupId: int32('GROUPID', { aliases: ['GROUPLD'], description: 'ID of an Uptivity Group.' }),
  phoneId: text('PHONEID', 10, { description: "An agent's phone number, extension or device ID." }),
  username: text('USERNAME', 16, { description: 'Username in the system.' }),
  roleId: int32('ROLEID'),
  roleName: text('ROLENAME', 255), // not in the data type tables
  uniqueField: text('UNIQUEFIELD', 255, { description: 'A column of the Recording table that identifies the record.' }),
  uniqueId: text('UNIQUEID', 255, { description: 'The value of UNIQUEFIELD for the wanted record.' }),
  ident: text('IDENT', 255, { description: 'Recording IDs, comma-separated.', list: true }),
  /** The export functions and RECORDINGINFO are not bound by the EMAIL tables' varchar(255). */
  identList: text('IDENT', 20_000, { description: `Recording IDs, comma-separated (up to ${maxRecordingIdents}).`, list: true }),
  encrypt: flag('ENCRYPT', { description: 'Y: encrypt the exported CAV file (needs PASSWORD).' }),
  password: text('PASSWORD', 255, { description: 'Password of an encrypted CAV export.' }),
};

/** Formats the EMAIL command documents. */
export const emailMediaFormats = ['WAV', 'MP3', 'VOX', 'M4A', 'CAV'] as const;
/** Formats the WebAPI export functions accept (v5.7 plus WebM and PCM from the newer help, and Opus). */
export const exportMediaFormats = ['WAV', 'MP3', 'VOX', 'M4A', 'WEBM', 'OPUS', 'PCM', 'CAV'] as const;

/**
 * Columns of the Recording table that UNIQUEFIELD may name (parameter definitions, UNIQUEFIELD),
 * lower-cased.
 */
export const recordingColumns: readonly string[] = [
  'agent_id', 'ani', 'archive_action_id', 'audio_hash', 'audio_size', 'calldirection', 'callid', 'channel',
  'device_alias', 'device_id', 'dnis', 'duration', 'filename', 'filename_video', 'gate', 'globalid', 'ident',
  'keepdays', 'locked', 'listenedto', 'medialabel', 'overridden', 'priority', 'qa_forms', 'qa_group_id',
  'qa_poss_score', 'qa_score', 'recording_time', 'recording_type', 'screen_capture', 'sgroup',
  ...userFieldNames.map((u) => u.toLowerCase()),
  'video_hash', 'video_size', 'wrap_duration',
];

/**
 * The names RECORDINGINFO and CALLLIST give the Recording columns; the others are the column's name
 * upper-cased.
 */
const fieldNameByColumn: Readonly<Record<string, string>> = {
  ident: 'RECORDID',
  filename: 'FILENAME',
  duration: 'DURATION',
  recording_time: 'RECORDINGTIME',
  recording_type: 'RECORDINGTYPE',
  audio_size: 'AUDIOSIZE',
  device_id: 'DEVICEID',
  device_alias: 'DEVICEALIAS',
  agent_id: 'AGENTID',
  sgroup: 'GROUP',
  globalid: 'GLOBALCALLID',
};

export function fieldNameOfColumn(column: string): string {
  return fieldNameByColumn[column] ?? column.toUpperCase();
}

/**
 * A RECORDING of RECORDINGINFO: RECORDID, FILENAME, DURATION and RECORDINGTIME, then what its
 * source holds: the Recording columns under the names CALLLIST gives them, the call's data and the
 * product's identifiers of the call.
 */
export const recordingRecord: ResultRecord = {
  fields: [
    ...new Set([
      'RECORDID', 'FILENAME', 'DURATION', 'RECORDINGTIME',
      ...recordingColumns.map(fieldNameOfColumn),
      ...callListRecord.fields.filter((name) => name !== 'PLAYBACKLINK'),
      'CALLID', 'GLOBALCALLID', 'CALLINSTANCE', 'SESSIONID', 'KEEPDAYS', 'COREIDENT',
    ]),
  ],
};

/** PERMISSIONNAME values of MODIFYROLEPERMISSION. */
export const permissionNames: readonly string[] = [
  'ALLOWCHANGEPASSWORD', 'ALLOWQAVIEW', 'CALLREPORTING', 'QAREPORTING', 'VIEWOWNRECORDS', 'ALLOWAGENTADMIN',
  'ALLOWAPIAUTH', 'ALLOWARCHIVEADMIN', 'ALLOWCOMMENT', 'ALLOWEDITCOMPLETEDQA', 'ALLOWEXPORTDOWNLOAD',
  'ALLOWEXPORTEMAIL', 'ALLOWFILEDELETE', 'ALLOWGROUPADMIN', 'ALLOWLIVEMONITOR', 'ALLOWQAEDIT', 'ALLOWQADELETE',
  'ALLOWSYSTEMCONFIG', 'ALLOWSYSTEMREPORTS', 'ALLOWVIEWALLRECORDS', 'AUDITREPORTING', 'CONTENTUPLOAD',
  'REPORTSUBSCRIPTION', 'ALLOWWIDGETADMINISTRATION', 'ALLOWVIEWVIDEO', 'ALLOWBLACKOUT', 'ALLOWRECORDINGALIAS',
  'ALLOWRECORDDESKTOP', 'ALLOWRECORDID', 'ALLOWRECORDSTOP', 'ALLOWUPDATEAUDIO', 'PROMPTID', 'SECUREALL',
  'SECUREID', 'ALLOWWEBONDEMAND', 'ANALYTICSREPORTING', 'ALLOWVIEWANALYTICS', 'ALLOWANALYTICSADMIN',
  'SURVEYREPORTING', 'ALLOWSURVEYEDIT', 'ALLOWSURVEYADMIN', 'ALLOWSURVEYDELETE', 'ALLOWSURVEYVIEW',
  'ALLOWFUSIONADMIN', 'CONFIGURATIONSECTION', 'EDITNEWSWIDGET', 'EMPLOYEECREATE', 'EMPLOYEEPROFILEALLVIEW',
  'EMPLOYEEPROFILETEAMVIEW', 'EMPLOYEEESCHEDULEALLEDIT', 'EMPLOYEEESCHEDULEALLVIEW', 'EMPLOYEEESCHEDULETEAMEDIT',
  'EMPLOYEEESCHEDULETEAMVIEW', 'EMPLOYEESEARCH', 'EMPLOYEESECTION', 'EMPLOYEESELFEDIT', 'FORECASTACQUIRE',
  'FORECASTPREDICT', 'FORECASTSECTION', 'FORECASTTREND', 'HISTORICALWIDGETS', 'HOMEPAGEWIDGETS',
  'LEAVEREQUESTAPPROVALALL', 'LEAVEREQUESTAPPROVALTEAM', 'REALTIMEWIDGETS', 'REPORTSHISTORICAL',
  'REPORTSPROCESSES', 'REPORTSREALTIME', 'REPORTSSECTION', 'ROSTERALL', 'ROSTERTEAM', 'SCHEDULECREATE',
  'SCHEDULELOAD', 'SCHEDULEPUBLISH', 'SCHEDULESECTION', 'SWAPREQUESTAPPROVALALL', 'SWAPREQUESTAPPROVALTEAM',
];

/** The device selectors of call handling: at least one is required. */
const deviceSelectors = ['DEVICEID', 'DEVICEALIAS', 'STATIONNAME', 'SYS_USER', 'CRM_USER'] as const;
/** The device selectors of blackouts and status queries: DEVICEID, DEVICEALIAS, CRM_USER, SYS_USER. */
const agentSelectors = ['DEVICEID', 'DEVICEALIAS', 'CRM_USER', 'SYS_USER'] as const;

// ---------------------------------------------------------------------------------------------
// The REST surface: resources and verbs for the commands. Every command is also reachable as
// POST /api/v1/commands/{type}; a command without routes here is reached that way only.

/** What picks the call to update: a finished recording is picked by its RECORDID instead. */
const liveCallFields = [...deviceSelectors, 'CALLINSTANCE', 'UPDATE_IF_NOT_RECORDING'];
const blackoutScope = (value: 'call' | 'agent'): RestRoute['variant'] => ({
  field: 'scope',
  value,
  isDefault: value === 'call',
  description: 'call: the call instance (the last call of the device without callInstance); agent: everything of the agent.',
});
const addAndDelete = (path: string, summaries: [string, string], only: readonly string[] = []): RestRoute[] => [
  { method: 'PUT', path, summary: summaries[0], fixed: { ACTION: 'ADD' }, only },
  { method: 'DELETE', path, summary: summaries[1], fixed: { ACTION: 'DELETE' }, only: [] },
];

const restRoutes: Readonly<Record<string, readonly RestRoute[]>> = {
  TEST: [{ method: 'GET', path: '/system/test' }],
  CALLSTART: [{ method: 'POST', path: '/calls/start' }],
  CALLSTOP: [{ method: 'POST', path: '/calls/stop' }],
  CALLUPDATE: [
    { method: 'POST', path: '/calls/update' },
    {
      method: 'PATCH',
      path: '/recordings/{recordId}',
      summary: 'Update the data of a finished recording.',
      omit: liveCallFields,
      notFound: [ResultCode.API_DATABASE_QUERY_ERROR],
    },
  ],
  RECORDSTART: [{ method: 'POST', path: '/recordings/start' }],
  RECORDSTOP: [{ method: 'POST', path: '/recordings/stop' }],
  DEVICELIST: [{ method: 'GET', path: '/devices', answer: listOf('devices', 'DEVICES/DEVICE', deviceRecord) }],
  DEVICESTATUS: [{ method: 'GET', path: '/devices/{deviceId}', only: [], answer: oneResource('device', 'DEVICES/DEVICE', deviceRecord) }],
  DEVICERECORDINGSTATUS: [{ method: 'GET', path: '/devices/{deviceId}/instances', only: [], answer: oneResource('device', 'DEVICE', deviceInstancesRecord) }],
  SYSTEMSTATUS: [{ method: 'GET', path: '/system/status', answer: oneResource('status', '', systemStatusRecord) }],
  CHANNELS: [{ method: 'GET', path: '/system/channels', answer: listOf('channels', 'CHANNELS/CHANNEL', channelRecord) }],
  STATIONS: [{ method: 'GET', path: '/system/stations', answer: listOf('stations', 'STATIONS/STATION', stationRecord) }],
  FETCHTERMINOLOGY: [{ method: 'GET', path: '/system/terminology', answer: listOf('terms', 'SETTINGS/TERMINOLOGY', termRecord) }],
  // CALLCOUNT and the date filters page the walk; `limit` and `cursor` are the page's (recording-pages.ts).
  CALLLIST: [{ method: 'GET', path: '/recordings', omit: ['CALLCOUNT'], answer: { ...listOf('recordings', 'SEARCHRESULT', callListRecord), paged: true } }],
  CHATSTART: [{ method: 'POST', path: '/chats/start' }],
  CHATSTOP: [{ method: 'POST', path: '/chats/stop' }],
  CHATUPDATE: [{ method: 'POST', path: '/chats/update' }],
  BLACKOUTSTART: [{ method: 'POST', path: '/blackouts/start', variant: blackoutScope('call') }],
  BLACKOUTSTOP: [{ method: 'POST', path: '/blackouts/stop', variant: blackoutScope('call') }],
  AGENTBLACKOUTSTART: [{ method: 'POST', path: '/blackouts/start', variant: blackoutScope('agent') }],
  AGENTBLACKOUTSTOP: [{ method: 'POST', path: '/blackouts/stop', variant: blackoutScope('agent') }],
  IMPORTUSER: [
    { method: 'GET', path: '/users', summary: 'Every user.', fixed: { ACTION: 'LIST' }, only: [], answer: listOf('users', 'USERS/USER', userRecord) },
    { method: 'POST', path: '/users', summary: 'Add a user.', fixed: { ACTION: 'ADD' }, omit: ['USERID', 'ADD_TIME', 'MOD_TIME'] },
    { method: 'PATCH', path: '/users/{userId}', summary: 'Modify a user.', fixed: { ACTION: 'MODIFY' }, omit: ['ADD_TIME', 'MOD_TIME'] },
    { method: 'DELETE', path: '/users/{userId}', summary: 'Delete a user (marked deleted; its phones are freed).', fixed: { ACTION: 'DELETE' }, only: [] },
  ],
  IMPORTAGENTPHONE: addAndDelete('/users/{agentId}/phones/{phoneId}', ["Associate a phone with an agent.", "Remove a phone from an agent."]),
  IMPORTWORKSTATION: [{ method: 'PUT', path: '/system/stations/{stationName}' }],
  ADDGROUP: [{ method: 'POST', path: '/groups' }],
  MODIFYGROUPPERMISSION: addAndDelete('/groups/{groupId}/agents/{agentId}', ['Add an agent (and device) to a group.', 'Remove an agent from a group.'], ['DEVICEID', 'PHONEID']),
  MODIFYUSERGROUPPERMISSION: addAndDelete('/groups/{groupId}/viewers/{username}', ['Let a user view a group.', 'Stop a user viewing a group.'], ['DEVICEID']),
  MODIFYROLE: [
    { method: 'POST', path: '/roles', summary: 'Add a role.', fixed: { ACTION: 'ADD' } },
    { method: 'PATCH', path: '/roles/{roleName}', summary: "Change a role's description.", fixed: { ACTION: 'MODIFY' } },
    { method: 'DELETE', path: '/roles/{roleName}', summary: 'Delete a role.', fixed: { ACTION: 'DELETE' }, only: [] },
  ],
  MODIFYROLEGROUPPERMISSION: addAndDelete('/roles/{roleName}/groups/{groupName}', ['Assign a group to a role.', 'Remove a group from a role.']),
  MODIFYROLEPERMISSION: addAndDelete('/roles/{roleName}/permissions/{permissionName}', ['Grant a permission to a role.', 'Revoke a permission of a role.']),
  MODIFYUSERROLE: addAndDelete('/roles/{roleName}/users/{userId}', ['Assign a role to a user.', 'Remove a role from a user.']),
  EMAIL: [{ method: 'POST', path: '/recordings/{recordId}/email', only: ['TOADDRESS', 'MEDIA_FORMAT', 'ENCRYPT', 'PASSWORD'], rename: { IDENT: 'recordId' } }],
  COMBINEDEMAIL: [{ method: 'POST', path: '/recordings/email', omit: ['UNIQUEID'], rename: { IDENT: 'recordIds' } }],
  AGENTWINDOW: [{ method: 'GET', path: '/agents/window', answer: oneResource('window', '', agentWindowRecord) }],
  EXPORT: [
    {
      method: 'GET',
      path: '/recordings/{recordId}/media',
      fixed: { UNIQUEFIELD: 'ident' },
      rename: { UNIQUEID: 'recordId', MEDIA_FORMAT: 'format' },
      defaults: { MEDIA_FORMAT: 'WAV' },
    },
  ],
  COMBINEDEXPORT: [
    {
      method: 'GET',
      path: '/recordings/media',
      rename: { IDENT: 'recordIds', MEDIA_FORMAT: 'format' },
      defaults: { MEDIA_FORMAT: 'WAV' },
      variant: { field: 'as', value: 'combined', description: 'zip: a ZIP with one file per recording; combined: one file of them all, in order.' },
    },
  ],
  MULTIEXPORT: [
    {
      method: 'GET',
      path: '/recordings/media',
      rename: { IDENT: 'recordIds', MEDIA_FORMAT: 'format' },
      defaults: { MEDIA_FORMAT: 'WAV' },
      variant: { field: 'as', value: 'zip', isDefault: true, description: 'zip: a ZIP with one file per recording; combined: one file of them all, in order.' },
    },
  ],
  RECORDINGINFO: [{ method: 'GET', path: '/recordings/{recordId}', rename: { IDENT: 'recordId' }, only: [], answer: oneResource('recording', 'RECORDINGS/RECORDING', recordingRecord) }],
};

// ---------------------------------------------------------------------------------------------
// Commands

type Draft = Omit<CommandSpec, 'required' | 'atLeastOneOf' | 'atMostOneOf' | 'result' | 'mutates' | 'servedBy' | 'dispatchedToCores' | 'minRequestId' | 'rest' | 'scope'> &
  Partial<CommandSpec>;

function command(draft: Draft): CommandSpec {
  return {
    rest: restRoutes[draft.type] ?? [],
    // Deprecated commands are answered API_COMMAND_NOT_SUPPORTED, yet reach the core: what an old
    // core would do with them is unknown, as with an unknown type.
    scope: draft.deprecated ? unknownTypeScope : scopeOfCategory[draft.category],
    required: [],
    atLeastOneOf: [],
    atMostOneOf: [],
    result: { lists: [] },
    mutates: false,
    servedBy: 'core',
    dispatchedToCores: false,
    minRequestId: 1,
    ...draft,
  };
}

const callStartFields: readonly ParamSpec[] = [
  p.deviceId, p.callInstance, p.deviceAlias, p.group, p.gate, p.ani, p.dnis, ...userFields, p.callId, p.priority,
  p.callDirection, p.maxRecordSilence, p.maxRecordTime, p.agentInitiated, p.ctiInitiated, p.archiveAction,
  p.stationName, p.sysUser, p.crmUser,
];

const deprecated = (type: string, since: string, replacement: string | undefined, params: readonly ParamSpec[], summary: string): CommandSpec =>
  command({
    type,
    category: 'diagnostic',
    summary,
    description: `Deprecated in version ${since}${replacement ? `; use ${replacement}` : ''}. The API answers API_COMMAND_NOT_SUPPORTED.`,
    params,
    deprecated: replacement ? { since, replacement } : { since },
  });

export const commands: readonly CommandSpec[] = [
  command({
    type: 'TEST',
    category: 'diagnostic',
    summary: 'Echo test of the API Server.',
    description: 'Answers API_OK with the REQUESTID sent; used to check that the server is available.',
    params: [],
  }),

  // Call handling
  command({
    type: 'CALLSTART',
    category: 'call-handling',
    summary: 'A device has started a new phone call.',
    description:
      'Tells the system that a device started a call; the scheduler decides whether it is recorded. DEVICEALIAS, SYS_USER and CRM_USER find a device only when it is associated with an agent. A missing CALLINSTANCE means the blank instance.',
    params: callStartFields,
    atLeastOneOf: [deviceSelectors],
    mutates: true,
    dispatchedToCores: true,
  }),
  command({
    type: 'CALLSTOP',
    category: 'call-handling',
    summary: 'A device has ended a phone call.',
    description:
      'Ends the call and stops its recording. Without CALLINSTANCE the last call on the device is stopped.',
    params: [p.deviceId, p.callInstance, p.sysUser, p.crmUser, p.deviceAlias, p.stationName],
    atLeastOneOf: [deviceSelectors],
    mutates: true,
    dispatchedToCores: true,
  }),
  command({
    type: 'CALLUPDATE',
    category: 'call-handling',
    summary: 'Update a call in progress, or a finished recording (with RECORDID).',
    description:
      'Updates the data of a call in progress for live displays and reporting. With UPDATE_IF_NOT_RECORDING=Y and the device not in a call, updates the last recording of the device. With RECORDID, updates that finished recording in the database (post-recording form).',
    params: [
      p.deviceId, p.callInstance, p.crmUser, p.sysUser, p.deviceAlias, p.stationName, p.group, p.gate, p.ani, p.dnis,
      ...userFields, p.callDirection, p.archiveAction, p.keepDays, p.updateIfNotRecording, p.recordId,
    ],
    atLeastOneOf: [[...deviceSelectors, 'RECORDID']],
    mutates: true,
    dispatchedToCores: true,
  }),
  command({
    type: 'RECORDSTART',
    category: 'call-handling',
    summary: 'Start an additional, partial recording of a call.',
    description: 'Starts an additional recording on the call of the device; RECORDSTOP ends it.',
    params: callStartFields,
    atLeastOneOf: [deviceSelectors],
    mutates: true,
    dispatchedToCores: true,
  }),
  command({
    type: 'RECORDSTOP',
    category: 'call-handling',
    summary: 'Stop a partial recording started with RECORDSTART.',
    description: 'Stops the partial recording on the device; the call itself goes on.',
    params: [p.deviceId, p.callInstance, p.sysUser, p.crmUser, p.deviceAlias, p.stationName, ...userFields],
    atLeastOneOf: [deviceSelectors],
    mutates: true,
    dispatchedToCores: true,
  }),

  // Status
  command({
    type: 'DEVICELIST',
    category: 'status',
    summary: 'Every known device with its current (or last) call.',
    description: 'Lists the devices the system knows, one call instance each (the most recently active).',
    params: [],
    result: { lists: ['DEVICES/DEVICE'] },
  }),
  command({
    type: 'DEVICESTATUS',
    category: 'status',
    summary: 'The current (or last) call of a device.',
    description:
      'Returns only the highest-priority (most recently active) call instance of the matching device or devices.',
    params: [p.deviceId, text('CALLID', 30), p.deviceAlias, p.crmUser, p.sysUser],
    atLeastOneOf: [['DEVICEID', 'CALLID', 'DEVICEALIAS', 'CRM_USER', 'SYS_USER']],
    atMostOneOf: [['DEVICEID', 'CALLID', 'DEVICEALIAS', 'CRM_USER', 'SYS_USER']],
    result: { lists: ['DEVICES/DEVICE'] },
  }),
  command({
    type: 'DEVICERECORDINGSTATUS',
    category: 'status',
    summary: 'Every active call instance of a device with its recording status.',
    description: 'Lists all instances of the device with STATUS recording or recordpaused.',
    params: [p.deviceId, p.deviceAlias, p.crmUser, p.sysUser],
    atLeastOneOf: [agentSelectors],
    atMostOneOf: [agentSelectors],
    result: { lists: ['DEVICE', 'DEVICE/RECORDING'] },
  }),
  command({
    type: 'SYSTEMSTATUS',
    category: 'status',
    summary: 'Health of the recording server: disk, RAM, processors, uptime.',
    description: 'Returns recording path, disk space, uptime, each processor, and RAM figures in MB.',
    params: [],
    result: { lists: [], patternLists: ['PROCESSOR\\d+'] },
  }),
  command({
    type: 'CHANNELS',
    category: 'status',
    summary: 'Status of the recording channels.',
    description: 'Returns COUNT and a CHANNEL per recording channel with its state and last state change.',
    params: [],
    result: { lists: ['CHANNELS/CHANNEL'] },
  }),
  command({
    type: 'STATIONS',
    category: 'status',
    summary: 'The programmed station-to-device mappings.',
    description: 'Returns COUNT and a STATION (STATIONNAME, DEVICEID) per mapping.',
    params: [],
    result: { lists: ['STATIONS/STATION'] },
  }),
  command({
    type: 'FETCHTERMINOLOGY',
    category: 'status',
    summary: 'The terminology settings of the installation.',
    description: 'Returns COUNT and a TERMINOLOGY (NAME, VALUE) per customised term.',
    params: [],
    result: { lists: ['SETTINGS/TERMINOLOGY'] },
  }),
  command({
    type: 'CALLLIST',
    category: 'status',
    scope: 'recordings:read',
    summary: 'Recordings matching criteria, newest first.',
    description:
      'Filters combine with AND. CALLCOUNT limits the answer to the newest N; CALLDATESTART and CALLDATEEND bound the recording time in UNIX time.',
    params: [
      p.deviceId, p.crmUser, p.sysUser, p.deviceAlias, p.group, p.gate, p.ani, p.dnis, ...userFields,
      int32('CALLCOUNT', { description: 'Number of calls to return.' }),
      int64('CALLDATESTART', { description: 'Earliest recording time, UNIX time.', unixTime: true }),
      int64('CALLDATEEND', { description: 'Latest recording time, UNIX time.', unixTime: true }),
    ],
    result: { lists: ['SEARCHRESULT'] },
  }),

  // Recording control
  command({
    type: 'CHATSTART',
    category: 'recording-control',
    summary: 'Start a screen-capture-only recording session.',
    description:
      'Starts a desktop screen capture without audio, identified by SESSIONID. The agent is AGENTID, or found by KEYNAME and KEYVALUE.',
    params: [
      p.sessionId, p.agentId,
      oneOf('KEYNAME', ['USERNAME', 'SYS_USER', 'EMPLOYEEID', 'CRM_USER', 'DEVICEALIAS'], {
        description: 'Field that KEYVALUE names the agent by.',
      }),
      text('KEYVALUE', 255),
    ],
    required: ['SESSIONID'],
    mutates: true,
    dispatchedToCores: true,
  }),
  command({
    type: 'CHATSTOP',
    category: 'recording-control',
    summary: 'Stop a screen-capture session.',
    description: 'Stops the session started with the same SESSIONID.',
    params: [p.sessionId],
    required: ['SESSIONID'],
    mutates: true,
    dispatchedToCores: true,
  }),
  command({
    type: 'CHATUPDATE',
    category: 'recording-control',
    summary: 'Update the data of a screen-capture session.',
    description: 'Updates a session started with CHATSTART; KEEPDAYS sets how long it is stored.',
    params: [p.sessionId, p.deviceAlias, p.group, p.gate, p.ani, p.dnis, ...userFields, p.callDirection, p.callId, p.keepDays],
    required: ['SESSIONID'],
    mutates: true,
    dispatchedToCores: true,
  }),
  ...(['BLACKOUTSTART', 'BLACKOUTSTOP', 'AGENTBLACKOUTSTART', 'AGENTBLACKOUTSTOP'] as const).map((type) => {
    const starts = type.endsWith('START');
    const agentWide = type.startsWith('AGENT');
    return command({
      type,
      category: 'recording-control',
      summary: `${starts ? 'Start' : 'Stop'} a blackout ${agentWide ? 'of all call and screen data of an agent' : 'of a call instance'}.`,
      description: `${starts ? 'Pauses' : 'Resumes'} recording ${agentWide ? 'for everything of the agent' : 'of the call instance (the last call of the device without CALLINSTANCE)'}, at the time received plus TIMEOFFSET. Specify only one of DEVICEID, DEVICEALIAS, CRM_USER and SYS_USER.`,
      params: [
        text('DEVICEID', 64),
        text('DEVICEALIAS', 100),
        text('CRM_USER', 50),
        text('SYS_USER', 255),
        p.timeOffset,
        ...(agentWide ? [] : [p.callInstance]),
      ],
      atLeastOneOf: [agentSelectors],
      atMostOneOf: [agentSelectors],
      mutates: true,
      dispatchedToCores: true,
    });
  }),

  // Import
  command({
    type: 'IMPORTUSER',
    category: 'import',
    summary: 'Add, modify, delete or list users.',
    description:
      'ADD creates a user (USERID is ignored); MODIFY and DELETE need USERID; DELETE marks the user deleted and frees its phones; LIST returns every user.',
    actions: ['ADD', 'MODIFY', 'DELETE', 'LIST'],
    params: [
      p.requestAction(['ADD', 'MODIFY', 'DELETE', 'LIST']),
      int32('USERID', { aliases: ['USER_ID', 'AGENT_ID', 'AGENTID'] }),
      text('EMPLOYEEID', 20, { aliases: ['EMPLOYEE_ID'] }),
      p.firstName,
      p.lastName,
      oneOf('STATUS', ['A', 'I'], { description: 'A (active, an agent) or I (inactive).' }),
      text('ADD_TIME', 64),
      text('MOD_TIME', 64),
      text('SYS_USER', 255),
      text('DOMAIN', 30, { aliases: ['SYS_DOMAIN'] }),
      text('EMAIL', 255),
      text('CRM_USER', 30),
      text('PASSWORD', 255),
      int32('SITEID', { aliases: ['SITE_ID'] }),
      p.username,
      text('PHONES', 255, { description: 'Phone IDs, comma-separated.' }),
    ],
    required: ['ACTION'],
    result: { lists: ['USERS/USER'], identifiers: ['USERID'] },
    mutates: true,
  }),
  command({
    type: 'IMPORTAGENTPHONE',
    category: 'import',
    summary: 'Associate a phone with an agent, or remove the association.',
    description: 'The agent is AGENTID, or FIRSTNAME and LASTNAME when AGENTID is not given.',
    actions: ['ADD', 'DELETE'],
    params: [p.requestAction(['ADD', 'DELETE']), p.phoneId, p.agentId, p.firstName, p.lastName],
    required: ['ACTION', 'PHONEID'],
    atLeastOneOf: [['AGENTID', 'FIRSTNAME']],
    result: { lists: [], identifiers: ['AGENTID'] },
    mutates: true,
  }),
  command({
    type: 'IMPORTWORKSTATION',
    category: 'import',
    summary: 'Map a station to a device.',
    description: 'Replaces any mapping of the DEVICEID or the STATIONNAME with the new one.',
    params: [text('DEVICEID', 15), p.stationName, int32('LOCATIONID')],
    required: ['DEVICEID', 'STATIONNAME', 'LOCATIONID'],
    result: { lists: [], identifiers: ['DEVICEID', 'STATIONNAME'] },
    mutates: true,
  }),

  // Users, groups, roles
  command({
    type: 'ADDGROUP',
    category: 'administration',
    summary: 'Add an Uptivity Group.',
    description: 'Returns GROUPID and GROUPNAME; an existing group of that name is returned unchanged.',
    params: [p.groupName],
    required: ['GROUPNAME'],
    result: { lists: [], identifiers: ['GROUPID', 'GROUPNAME'] },
    mutates: true,
  }),
  command({
    type: 'MODIFYGROUPPERMISSION',
    category: 'administration',
    summary: 'Add or remove an agent (and device) to or from a group.',
    description: 'The group is GROUPNAME or GROUPID; the agent AGENTID or FIRSTNAME and LASTNAME.',
    actions: ['ADD', 'DELETE'],
    params: [
      p.requestAction(['ADD', 'DELETE']), p.groupName, p.groupId, text('DEVICEID', 64), p.phoneId, p.firstName, p.lastName, p.agentId,
    ],
    required: ['ACTION'],
    atLeastOneOf: [['GROUPNAME', 'GROUPID'], ['AGENTID', 'FIRSTNAME']],
    result: { lists: [], identifiers: ['GROUPID', 'AGENTID'] },
    mutates: true,
  }),
  command({
    type: 'MODIFYUSERGROUPPERMISSION',
    category: 'administration',
    summary: 'Let a user view (or stop viewing) a group.',
    description: 'Grants or revokes the right of USERNAME to view the group and manage its data.',
    actions: ['ADD', 'DELETE'],
    params: [p.requestAction(['ADD', 'DELETE']), p.groupName, p.groupId, text('DEVICEID', 64), p.username],
    required: ['ACTION', 'USERNAME'],
    atLeastOneOf: [['GROUPNAME', 'GROUPID']],
    result: { lists: [], identifiers: ['GROUPID'] },
    mutates: true,
  }),
  command({
    type: 'MODIFYROLE',
    category: 'administration',
    summary: 'Add, modify or delete a role.',
    description: 'ADD fails with API_ROLE_ALREADY_EXISTS for an existing name; MODIFY changes the description.',
    actions: ['ADD', 'MODIFY', 'DELETE'],
    params: [p.requestAction(['ADD', 'MODIFY', 'DELETE']), p.roleName, text('DESCRIPTION', 255)],
    required: ['ACTION', 'ROLENAME'],
    mutates: true,
  }),
  command({
    type: 'MODIFYROLEGROUPPERMISSION',
    category: 'administration',
    summary: 'Assign a group to a role, or remove it.',
    description: 'The role is ROLEID or ROLENAME.',
    actions: ['ADD', 'DELETE'],
    params: [p.requestAction(['ADD', 'DELETE']), p.roleId, p.roleName, p.groupName],
    required: ['ACTION', 'GROUPNAME'],
    atLeastOneOf: [['ROLEID', 'ROLENAME']],
    result: { lists: [], identifiers: ['ROLEID'] },
    mutates: true,
  }),
  command({
    type: 'MODIFYUSERROLE',
    category: 'administration',
    summary: 'Assign a role to a user, or remove it.',
    description: 'The user is USERID, USERNAME, SYSTEMUSERNAME, or FIRSTNAME and LASTNAME; the role ROLEID or ROLENAME.',
    actions: ['ADD', 'DELETE'],
    params: [
      p.requestAction(['ADD', 'DELETE']), p.roleId, p.roleName, int32('USERID'), p.lastName, p.firstName,
      text('SYSTEMUSERNAME', 255), p.username,
    ],
    required: ['ACTION'],
    atLeastOneOf: [['ROLEID', 'ROLENAME'], ['USERID', 'USERNAME', 'SYSTEMUSERNAME', 'LASTNAME', 'FIRSTNAME']],
    result: { lists: [], identifiers: ['USERID', 'ROLEID'] },
    mutates: true,
  }),
  command({
    type: 'MODIFYROLEPERMISSION',
    category: 'administration',
    summary: 'Grant or revoke a permission of a role.',
    description: 'PERMISSIONNAME is one of the API names of the permission table; the role ROLEID or ROLENAME.',
    actions: ['ADD', 'DELETE'],
    params: [p.requestAction(['ADD', 'DELETE']), p.roleId, p.roleName, oneOf('PERMISSIONNAME', permissionNames)],
    required: ['ACTION', 'PERMISSIONNAME'],
    atLeastOneOf: [['ROLEID', 'ROLENAME']],
    result: { lists: [], identifiers: ['ROLEID'] },
    mutates: true,
  }),
  command({
    type: 'EMAIL',
    category: 'export',
    summary: 'Email the audio of a recording.',
    description: 'Exports the recording found by UNIQUEFIELD and UNIQUEID in MEDIA_FORMAT and mails it to TOADDRESS.',
    params: [
      p.uniqueField, p.uniqueId, p.ident, text('TOADDRESS', 255),
      oneOf('MEDIA_FORMAT', emailMediaFormats), p.encrypt, p.password,
    ],
    required: ['TOADDRESS'],
    atLeastOneOf: [['UNIQUEID', 'IDENT']],
    mutates: true,
  }),
  command({
    type: 'COMBINEDEMAIL',
    category: 'export',
    summary: 'Email several recordings combined into one file.',
    description: 'Combines the recordings listed in IDENT, in order, into one file mailed to TOADDRESS.',
    params: [
      text('TOADDRESS', 255), text('TONAME', 255), text('FROMADDRESS', 255), text('FROMNAME', 255), p.ident, p.uniqueId,
    ],
    required: ['TOADDRESS', 'IDENT'],
    mutates: true,
  }),
  command({
    type: 'AGENTWINDOW',
    category: 'status',
    summary: "The agent's window as last captured by screen recording.",
    description: 'Finds the agent by COMPUTERNAME or USERNAME and returns DOMAIN, IPADDRESS, STATUS, APPLICATIONTITLE, LASTUPDATE.',
    params: [text('COMPUTERNAME', 255), text('USERNAME', 255)],
    atLeastOneOf: [['COMPUTERNAME', 'USERNAME']],
  }),

  // Event interface
  command({
    type: 'EVENTS',
    category: 'events',
    summary: 'Subscribe to the event stream (event port).',
    description:
      'Sent to the event port; after the RESULT the connection receives CALLCOPYEVENT messages of EVENTCLASS (ALL, CALL or RECORD), for the device in EVENTVALUE when given.',
    params: [oneOf('EVENTCLASS', subscriptionClasses), text('EVENTVALUE', 64)],
    servedBy: 'event-port',
    minRequestId: 0,
  }),

  // WebAPI-only export functions, served by the gateway itself.
  command({
    type: 'EXPORT',
    category: 'export',
    summary: 'Download the media of one recording.',
    description:
      'Finds the recording by UNIQUEFIELD and UNIQUEID (a non-unique field gives the newest match) and streams it in MEDIA_FORMAT.',
    params: [p.uniqueField, p.uniqueId, oneOf('MEDIA_FORMAT', exportMediaFormats), p.encrypt, p.password],
    required: ['UNIQUEFIELD', 'UNIQUEID', 'MEDIA_FORMAT'],
    servedBy: 'gateway',
  }),
  command({
    type: 'COMBINEDEXPORT',
    aliases: ['COMBINEEXPORT'],
    category: 'export',
    summary: 'Download several recordings combined into one file.',
    description: 'Decodes the recordings listed in IDENT in order and encodes them once as one file.',
    params: [p.identList, oneOf('MEDIA_FORMAT', exportMediaFormats)],
    required: ['IDENT', 'MEDIA_FORMAT'],
    servedBy: 'gateway',
  }),
  command({
    type: 'MULTIEXPORT',
    category: 'export',
    summary: 'Download several recordings as a ZIP file.',
    description: 'Streams a ZIP with one entry per recording listed in IDENT, in MEDIA_FORMAT.',
    params: [p.identList, oneOf('MEDIA_FORMAT', exportMediaFormats)],
    required: ['IDENT', 'MEDIA_FORMAT'],
    servedBy: 'gateway',
  }),

  // Extension of ours.
  command({
    type: 'RECORDINGINFO',
    category: 'export',
    scope: 'recordings:read',
    summary: 'Where a recording is and what it holds (extension of this project, not the product).',
    description:
      'Finds recordings by UNIQUEFIELD and UNIQUEID (any Recording column; a non-unique field gives the newest match) or by IDENT (comma list, answered in that order) and returns RECORDID, FILENAME, DURATION, RECORDINGTIME and the metadata of each. The gateway answers it from the sources it finds recordings in for exports (the product database, the event index, the share, or the core where the core answers it, as the simulator does), so it works in front of a real API Server; the UNIQUEFIELDs available are those of the configured sources.',
    params: [p.uniqueField, p.uniqueId, p.identList],
    atLeastOneOf: [['UNIQUEID', 'IDENT']],
    result: { lists: ['RECORDINGS/RECORDING'] },
    extension: true,
  }),

  // Deprecated (answered with API_COMMAND_NOT_SUPPORTED).
  deprecated('IMPORTSTATION', '5.3', 'IMPORTWORKSTATION', [text('DEVICEID', 64), p.stationName], 'Add or modify a station-to-device mapping.'),
  deprecated('MODECHANGE', '5.0', undefined, [
    text('DEVICEID', 64), p.deviceAlias,
    oneOf('MODE', ['MODE_SIGNEDON', 'MODE_SIGNEDOFF', 'MODE_READY', 'MODE_NOTREADY', 'MODE_INCALL', 'MODE_CALLEND', 'MODE_LUNCH', 'MODE_BREAK', 'MODE_WRAP', 'MODE_OTHER']),
  ], 'Change the agent mode of a device.'),
  ...(['EXTENSIONPLAYBACKSTART', 'EXTENSIONPLAYBACKSTOP'] as const).map((type) =>
    deprecated(type, '5.0', undefined, [
      text('DEVICE', 64), text('BARGECODE', 20), p.crmUser, p.sysUser, text('UNIQUE_FIELD', 255), text('UNIQUE_ID', 255),
      text('FILENAME', 255), oneOf('PLAYBACKTYPE', ['BARGE', 'SSC', 'DIAL']),
    ], type.endsWith('START') ? 'Play a recording to a phone extension.' : 'Stop playback to a phone extension.'),
  ),
  deprecated('RECORDINGDEVICE', '5.0', undefined, [text('DEVICEID', 64)], 'Record a device.'),
  deprecated('RECORDINGDEVICEALIAS', '5.0', undefined, [p.deviceAlias], 'Record a device by its alias.'),
  deprecated('IMPORTAGENT', '5.0', 'IMPORTUSER', [
    p.requestAction(['ADD', 'MODIFY', 'DELETE', 'LIST']), p.agentId, p.firstName, p.lastName, text('SYSUSERNAME', 30),
    text('DOMAIN', 30), text('EMAIL', 255), text('EMPLOYEEID', 20), text('CRMUSERNAME', 30), flag('ALLOWDUPLICATE'),
    oneOf('STATUS', ['A', 'I']), text('SYS_DOMAIN', 30), int32('SITE_ID'), text('MOBILE_ID', 64),
  ], 'Add, modify, delete or list agents.'),
];

// ---------------------------------------------------------------------------------------------
// What the fields of answers hold, for the REST surface's JSON (a field not named here is text).

export type ResultFieldType =
  /** A whole number. */
  | 'integer'
  /** A decimal figure (percentages). */
  | 'number'
  /** 'Y' or 'N'. */
  | 'flag'
  /** 'TRUE' or 'FALSE'. */
  | 'truth'
  /** A time as the product writes it ("2/1/2011 11:49:32 AM"). */
  | 'time'
  /** Seconds since 1970. */
  | 'unix-time';

export const resultFieldTypes: ReadonlyMap<string, ResultFieldType> = new Map<string, ResultFieldType>([
  ...(['COUNT', 'DURATION', 'RECORDID', 'CALLNUMBER', 'ID', 'GROUPID', 'USER_ID', 'USERID', 'SITE_ID', 'ROLEID', 'AGENTID', 'KEEPDAYS', 'PRIORITY'] as const).map(
    (name) => [name, 'integer'] as const,
  ),
  ...(['RECORDINGTOTALDISKCAPACITY', 'RECORDINGTOTALDISKFREE', 'SYSTEMRAMTOTAL', 'SYSTEMRAMFREE', 'SYSTEMRAMUSED'] as const).map((name) => [name, 'integer'] as const),
  ...(['RECORDINGTOTALDISKFREEPCT', 'SYSTEMRAMUSEDPCT'] as const).map((name) => [name, 'number'] as const),
  ...(['ISRECORDING', 'ISRECORDINGVIDEO', 'ISTRUNK'] as const).map((name) => [name, 'flag'] as const),
  ['AGENT', 'truth'],
  ...(['STARTTIME', 'STOPTIME', 'LASTSTATECHANGE', 'ADD_TIME', 'MOD_TIME', 'LASTUPDATE'] as const).map((name) => [name, 'time'] as const),
  ...(['RECORDINGTIME', 'LASTSTATECHANGEUNIXTIME'] as const).map((name) => [name, 'unix-time'] as const),
]);

const byType = new Map<string, CommandSpec>();
for (const spec of commands) {
  byType.set(spec.type, spec);
  for (const alias of spec.aliases ?? []) byType.set(alias, spec);
}

/** Look a command up by its TYPE (any case, surrounding whitespace ignored, aliases included). */
export function findCommand(type: string): CommandSpec | undefined {
  return byType.get(type.trim().toUpperCase());
}

/** The spec of a parameter of a command, by its name or one of its aliases (any case). */
export function findParam(spec: CommandSpec, name: string): ParamSpec | undefined {
  const upper = name.toUpperCase();
  return spec.params.find((param) => param.name === upper || param.aliases?.includes(upper));
}

export type ParamProblem = { param: string; problem: string };

/** The REQUESTID rule: a decimal integer from the command's minimum up to 2147483647. */
export function isValidRequestId(value: string | undefined, min = 1): boolean {
  if (value === undefined) return false;
  const trimmed = value.trim();
  if (!/^[0-9]{1,10}$/.test(trimmed)) return false;
  const n = Number(trimmed);
  return n >= min && n <= 2147483647;
}

const int32Pattern = /^[+-]?[0-9]{1,10}$/;
const int64Pattern = /^[+-]?[0-9]{1,19}$/;

/** Check one value against its parameter spec; returns a sentence describing the problem, if any. */
export function checkParamValue(param: ParamSpec, value: string): string | undefined {
  if (value === '') return undefined; // blank values carry meaning in the manual (a blank DEVICEID means "look it up")
  switch (param.type) {
    case 'int32': {
      if (!int32Pattern.test(value)) return `${param.name} must be an integer`;
      const n = Number(value);
      if (n < -2147483648 || n > 2147483647) return `${param.name} must fit a signed 32-bit integer`;
      return undefined;
    }
    case 'int64': {
      if (!int64Pattern.test(value)) return `${param.name} must be an integer`;
      const n = BigInt(value);
      if (n < -(2n ** 63n) || n >= 2n ** 63n) return `${param.name} must fit a signed 64-bit integer`;
      return undefined;
    }
    case 'flag':
      return /^[YN]$/i.test(value) ? undefined : `${param.name} must be Y or N`;
    case 'enum':
      return param.values?.some((v) => v.toUpperCase() === value.toUpperCase())
        ? undefined
        : `${param.name} must be one of ${param.values?.join(', ')}`;
    case 'text':
      return param.maxLength !== undefined && [...value].length > param.maxLength
        ? `${param.name} is longer than ${param.maxLength} characters`
        : undefined;
  }
}

/**
 * Check a bag of canonical parameters (upper-case names, aliases resolved, values trimmed) against
 * a command: required, at-least-one-of and at-most-one-of groups, types and lengths.
 */
export function checkParams(spec: CommandSpec, params: ReadonlyMap<string, string>): ParamProblem[] {
  const problems: ParamProblem[] = [];
  const present = (name: string): boolean => (params.get(name) ?? '') !== '';
  for (const name of spec.required) {
    if (!present(name)) problems.push({ param: name, problem: `${name} is required` });
  }
  for (const group of spec.atLeastOneOf) {
    if (!group.some(present)) {
      problems.push({ param: group[0]!, problem: `one of ${group.join(', ')} is required` });
    }
  }
  for (const group of spec.atMostOneOf) {
    const given = group.filter(present);
    if (given.length > 1) problems.push({ param: given[1]!, problem: `only one of ${group.join(', ')} may be given` });
  }
  for (const [name, value] of params) {
    const param = findParam(spec, name);
    if (!param) continue; // the API ignores child nodes it does not know
    const problem = checkParamValue(param, value);
    if (problem) problems.push({ param: param.name, problem });
  }
  return problems;
}
