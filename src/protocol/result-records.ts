/**
 * The records a RESULT carries, as the manuals list their fields: a device of DEVICELIST, a
 * SEARCHRESULT of CALLLIST, a USER of IMPORTUSER LIST... The REST surface answers these as its
 * resources, with exactly these fields (typed by `resultFieldTypes`), so its response schemas can
 * say what every answer holds; `POST /api/v1/commands/{type}` keeps the whole RESULT, whatever the
 * core adds.
 */
/** USER1..USER15, the custom fields of a call record. */
export const userFieldNames: readonly string[] = Array.from({ length: 15 }, (_, i) => `USER${i + 1}`);

export interface ResultRecord {
  /** Leaf elements, in the order the product writes them. */
  fields: readonly string[];
  /** Leaf elements whose text is a comma-separated list (IMPORTUSER's PHONES): an array of strings. */
  commaLists?: readonly string[];
  /** Other spellings the manuals use for a field (the SYSTEMSTATUS example's RECORDINGSPEACEINFO). */
  aliases?: Readonly<Record<string, string>>;
  /** Child elements that are records themselves, by element name or a pattern (`PROCESSOR\d+`). */
  nested?: readonly NestedRecord[];
}

export interface NestedRecord {
  /** The element's name, or a pattern matching several names (SYSTEMSTATUS's PROCESSOR0..n). */
  element: string | RegExp;
  /** Its JSON name in the record. */
  name: string;
  /** A list (always an array, empty when the core gave none) or one object (absent when not given). */
  many: boolean;
  record: ResultRecord;
}

const callData = ['GROUP', 'GATE', 'ANI', 'DNIS', ...userFieldNames, 'CALLDIRECTION', 'ISTRUNK', 'STATION', 'STARTTIME', 'STOPTIME'];
const recordingState = ['ISRECORDING', 'ISRECORDINGVIDEO', 'FILENAME', 'CALLID', 'SESSIONID', 'CALLINSTANCE'];
const agentOfDevice = ['DEVICEID', 'DEVICEALIAS', 'SYS_USER', 'CRM_USER'];

/** A DEVICE of DEVICELIST and DEVICESTATUS: the device, its agent, its current or last call, its recording. */
export const deviceRecord: ResultRecord = {
  fields: [...agentOfDevice, ...callData, 'COREIDENT'],
  nested: [{ element: 'RECORDING', name: 'recording', many: false, record: { fields: recordingState } }],
};

/** The DEVICE of DEVICERECORDINGSTATUS: the device and one RECORDING per active call instance. */
export const deviceInstancesRecord: ResultRecord = {
  fields: [...agentOfDevice, 'COREIDENT'],
  nested: [{ element: 'RECORDING', name: 'instances', many: true, record: { fields: [...callData, ...recordingState, 'STATUS'] } }],
};

/** SYSTEMSTATUS: the recorder's disk, uptime, processors and memory. */
export const systemStatusRecord: ResultRecord = {
  fields: ['RECORDINGPATH', 'RECORDINGSPACEINFO', 'RECORDINGTOTALDISKCAPACITY', 'RECORDINGTOTALDISKFREE', 'RECORDINGTOTALDISKFREEPCT', 'SYSTEMUPTIME', 'SYSTEMRAMTOTAL', 'SYSTEMRAMFREE', 'SYSTEMRAMUSED', 'SYSTEMRAMUSEDPCT'],
  aliases: { RECORDINGSPEACEINFO: 'RECORDINGSPACEINFO' },
  nested: [{ element: /^PROCESSOR\d+$/, name: 'processors', many: true, record: { fields: ['SYSTEMPROCESSORSPEED', 'SYSTEMPROCESSORTYPE'] } }],
};

export const channelRecord: ResultRecord = {
  fields: ['ID', 'STATE', 'PLAYBACKEXTENSION', 'RECORDINGDEVICEALIAS', 'RECORDINGDEVICE', 'LASTSTATECHANGE', 'LASTSTATECHANGEUNIXTIME'],
};

export const stationRecord: ResultRecord = { fields: ['STATIONNAME', 'DEVICEID'] };

/** A TERMINOLOGY of FETCHTERMINOLOGY: the site's name for one of the product's terms. */
export const termRecord: ResultRecord = { fields: ['NAME', 'VALUE'] };

/**
 * A SEARCHRESULT of CALLLIST, without its CALLNUMBER: a position in one answer, which the array
 * already says (and which means nothing across pages).
 */
export const callListRecord: ResultRecord = {
  fields: [
    'RECORDID', 'RECORDINGTIME', 'DURATION', 'DEVICEID', 'DEVICEALIAS', 'ANI', 'DNIS', 'CALLDIRECTION', 'GROUP', 'GATE', ...userFieldNames,
    'AGENTFIRSTNAME', 'AGENTLASTNAME', 'CRM_USER', 'SYS_USER', 'PLAYBACKLINK',
  ],
};

/**
 * A user of IMPORTUSER LIST, under the names of the field observation (USER_ID, EMPLOYEE_ID,
 * FIRST_NAME); the help's example spells some without the underscore, which name the same fields.
 */
export const userRecord: ResultRecord = {
  fields: ['USER_ID', 'USERNAME', 'EMPLOYEE_ID', 'FIRST_NAME', 'LAST_NAME', 'AGENT', 'STATUS', 'ADD_TIME', 'MOD_TIME', 'SYS_USER', 'SYS_DOMAIN', 'EMAIL', 'CRM_USER', 'SITE_ID', 'PHONES'],
  commaLists: ['PHONES'],
};

export const agentWindowRecord: ResultRecord = { fields: ['DOMAIN', 'IPADDRESS', 'STATUS', 'APPLICATIONTITLE', 'LASTUPDATE'] };
