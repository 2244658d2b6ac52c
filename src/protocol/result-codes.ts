/**
 * The RESULTCODE table of the API manual (v5.7, "Result Codes/Result Types") and the one place
 * where a result code becomes an HTTP status. Code 19 is absent from the manual; 16 and 17 carry
 * the same label there and both are kept.
 */

export const ResultCode = {
  API_RECORDING_STARTED: 0,
  API_ERROR_ALREADY_RECORDING: 1,
  API_ERROR_OUT_OF_DISK_SPACE: 2,
  API_ERROR_NO_FREE_CHANNELS: 3,
  API_ERROR_UNKNOWN: 4,
  API_DEVICE_ALIAS_UNSPECIFIED: 5,
  API_ERROR_SCHEDULER_NOT_RUNNING: 6,
  API_DEVICE_NOT_IN_CALL: 7,
  API_DEVICE_INVALID: 8,
  API_DID_NOT_MATCH_A_SCHEDULE: 9,
  API_UNKNOWN_MESSAGE_TYPE: 10,
  API_ERROR_PROCESSING_MESSAGE: 11,
  API_DEVICE_NOT_RECORDING: 12,
  API_RECORDING_STOPPED: 13,
  API_REQUESTID_INVALID: 14,
  API_INVALID_REQUEST_TYPE: 15,
  API_INVALID_MESSAGE_FORMAT: 16,
  /** Second code the manual labels API_INVALID_MESSAGE_FORMAT. */
  API_INVALID_MESSAGE_FORMAT_17: 17,
  API_ERROR_NO_DEFAULT_RECORDING_PATH: 18,
  API_OK: 20,
  API_ERROR_INVALID_ACTION: 21,
  API_ERROR_KEYS_NOT_UNIQUE: 22,
  API_DATABASE_QUERY_ERROR: 23,
  API_AGENT_NOT_FOUND: 24,
  API_AGENT_NOT_ACTIVE: 25,
  API_BLANK_REQUIRED_VALUE: 26,
  API_NO_GROUP: 27,
  API_USER_NOT_FOUND: 28,
  API_MODE_INVALID: 29,
  API_EVENT_TYPE_INVALID: 30,
  API_ERROR_CLIENT_NOT_FOUND: 31,
  API_ERROR_ALREADY_MONITORING: 32,
  API_SESSIONID_UNSPECIFIED: 33,
  API_ERROR_RECORDER_NOT_RUNNING: 34,
  API_ERROR_BLOCKED_RECORDING_FILTER: 35,
  API_ERROR_LOGGER_NOT_RUNNING: 36,
  API_RECORDING_UPDATED: 37,
  API_BLACKOUT_INVALID_STATE: 38,
  API_UNLICENSED: 39,
  API_RECORDID_INVALID: 40,
  API_FILE_NOT_FOUND: 41,
  API_AGENT_ALREADY_EXIST: 42,
  API_STREAMING_STARTED: 43,
  API_COMMAND_NOT_ALLOWED: 44,
  API_EMAIL_NOT_VALID: 45,
  API_PARTIAL_CORE_RESPONSE: 46,
  API_COMMAND_QUEUE_FULL: 47,
  API_TOO_MANY_CLIENTS: 48,
  API_COMMAND_NOT_SUPPORTED: 49,
  API_ROLE_ALREADY_EXISTS: 50,
  API_PERMISSIONIDENT_NOT_FOUND: 51,
  API_ROLE_NOT_FOUND: 52,
  API_SITEID_NOT_VALID: 53,
  API_USER_ALREADY_EXIST: 54,
  API_CONFIG_ERROR: 55,
} as const;

export type ResultCodeName = keyof typeof ResultCode;
export type ResultCodeValue = (typeof ResultCode)[ResultCodeName];

const labels = new Map<number, string>();
for (const [name, code] of Object.entries(ResultCode)) {
  // The alias for 17 exists only to give the code a unique key; the manual's label is the same as 16.
  labels.set(code, name === 'API_INVALID_MESSAGE_FORMAT_17' ? 'API_INVALID_MESSAGE_FORMAT' : name);
}

/** The RESULTTYPE label the manual gives a RESULTCODE, or undefined for a code not in the table. */
export function resultTypeOf(code: number): string | undefined {
  return labels.get(code);
}

/** Every code of the table, ascending. */
export function allResultCodes(): number[] {
  return [...labels.keys()].sort((a, b) => a - b);
}

/**
 * Codes that report success. 0, 13, 37 and 43 are outcomes of the recorder that the manual lists
 * beside API_OK; none of them is an error.
 */
export const successCodes: ReadonlySet<number> = new Set([
  ResultCode.API_OK,
  ResultCode.API_RECORDING_STARTED,
  ResultCode.API_RECORDING_STOPPED,
  ResultCode.API_RECORDING_UPDATED,
  ResultCode.API_STREAMING_STARTED,
]);

export function isSuccessCode(code: number): boolean {
  return successCodes.has(code);
}

/**
 * The single RESULTCODE -> HTTP status table, used by the REST surface (the WebAPI answers 200
 * whenever the core answered). Grouped by what the caller can do about it.
 */
const httpStatusByCode: ReadonlyMap<number, number> = new Map<number, number>([
  // Success
  [ResultCode.API_RECORDING_STARTED, 200],
  [ResultCode.API_RECORDING_STOPPED, 200],
  [ResultCode.API_OK, 200],
  [ResultCode.API_RECORDING_UPDATED, 200],
  [ResultCode.API_STREAMING_STARTED, 200],
  // The caller sent something the core cannot accept.
  [ResultCode.API_DEVICE_ALIAS_UNSPECIFIED, 400],
  [ResultCode.API_UNKNOWN_MESSAGE_TYPE, 400],
  [ResultCode.API_REQUESTID_INVALID, 400],
  [ResultCode.API_INVALID_REQUEST_TYPE, 400],
  [ResultCode.API_INVALID_MESSAGE_FORMAT, 400],
  [ResultCode.API_INVALID_MESSAGE_FORMAT_17, 400],
  [ResultCode.API_ERROR_INVALID_ACTION, 400],
  [ResultCode.API_ERROR_KEYS_NOT_UNIQUE, 409],
  [ResultCode.API_BLANK_REQUIRED_VALUE, 400],
  [ResultCode.API_MODE_INVALID, 400],
  [ResultCode.API_EVENT_TYPE_INVALID, 400],
  [ResultCode.API_SESSIONID_UNSPECIFIED, 400],
  [ResultCode.API_RECORDID_INVALID, 400],
  [ResultCode.API_EMAIL_NOT_VALID, 400],
  [ResultCode.API_SITEID_NOT_VALID, 400],
  // Something named does not exist.
  [ResultCode.API_DEVICE_INVALID, 404],
  [ResultCode.API_AGENT_NOT_FOUND, 404],
  [ResultCode.API_NO_GROUP, 404],
  [ResultCode.API_USER_NOT_FOUND, 404],
  [ResultCode.API_FILE_NOT_FOUND, 404],
  [ResultCode.API_PERMISSIONIDENT_NOT_FOUND, 404],
  [ResultCode.API_ROLE_NOT_FOUND, 404],
  // The request conflicts with the current state.
  [ResultCode.API_ERROR_ALREADY_RECORDING, 409],
  [ResultCode.API_DEVICE_NOT_IN_CALL, 409],
  [ResultCode.API_DID_NOT_MATCH_A_SCHEDULE, 409],
  [ResultCode.API_DEVICE_NOT_RECORDING, 409],
  [ResultCode.API_AGENT_NOT_ACTIVE, 409],
  [ResultCode.API_ERROR_ALREADY_MONITORING, 409],
  [ResultCode.API_ERROR_BLOCKED_RECORDING_FILTER, 409],
  [ResultCode.API_BLACKOUT_INVALID_STATE, 409],
  [ResultCode.API_AGENT_ALREADY_EXIST, 409],
  [ResultCode.API_ROLE_ALREADY_EXISTS, 409],
  [ResultCode.API_USER_ALREADY_EXIST, 409],
  // Not allowed or not available for this caller or installation.
  [ResultCode.API_UNLICENSED, 403],
  [ResultCode.API_COMMAND_NOT_ALLOWED, 403],
  [ResultCode.API_COMMAND_NOT_SUPPORTED, 501],
  // The recording system cannot serve the request right now.
  [ResultCode.API_ERROR_OUT_OF_DISK_SPACE, 507],
  [ResultCode.API_ERROR_NO_FREE_CHANNELS, 503],
  [ResultCode.API_ERROR_SCHEDULER_NOT_RUNNING, 503],
  [ResultCode.API_ERROR_CLIENT_NOT_FOUND, 503],
  [ResultCode.API_ERROR_RECORDER_NOT_RUNNING, 503],
  [ResultCode.API_ERROR_LOGGER_NOT_RUNNING, 503],
  [ResultCode.API_COMMAND_QUEUE_FULL, 503],
  [ResultCode.API_TOO_MANY_CLIENTS, 503],
  // Some cores took the command and some did not: the outcome is mixed, not a caller error.
  [ResultCode.API_PARTIAL_CORE_RESPONSE, 502],
  // Faults inside the recording system.
  [ResultCode.API_ERROR_UNKNOWN, 500],
  [ResultCode.API_ERROR_PROCESSING_MESSAGE, 500],
  [ResultCode.API_ERROR_NO_DEFAULT_RECORDING_PATH, 500],
  [ResultCode.API_DATABASE_QUERY_ERROR, 500],
  [ResultCode.API_CONFIG_ERROR, 500],
]);

/** The HTTP status for a RESULTCODE; a code outside the table is a fault of the core (502). */
export function httpStatusForResultCode(code: number): number {
  return httpStatusByCode.get(code) ?? 502;
}
