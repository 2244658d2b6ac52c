/**
 * One request message in, one RESULT out: decode leniently (TYPE or REQUESTTYPE, a root of REQUEST
 * or of the type name), check REQUESTID and the command's parameters against the catalog, answer
 * unknown and deprecated types as documented, and run the command's handler in one transaction.
 */
import { checkParams, findCommand, findParam, isValidRequestId, type CommandSpec, type ParamProblem } from '../protocol/catalog.js';
import { ResultCode, resultTypeOf } from '../protocol/result-codes.js';
import { XmlSyntaxError, parseXml, resultElement, serialize, type XmlElement } from '../protocol/xml.js';
import { ApiError, type CommandOutcome, type CoreRequest, type SimContext } from './context.js';
import { callStart, callStop, callUpdate, recordStart, recordStop } from './commands/call-handling.js';
import { agentBlackout, blackout, chatStart, chatStop, chatUpdate } from './commands/recording-control.js';
import {
  agentWindow,
  callList,
  channels,
  deviceList,
  deviceRecordingStatus,
  deviceStatus,
  fetchTerminology,
  stations,
  systemStatus,
} from './commands/status.js';
import {
  addGroup,
  importAgentPhone,
  importUser,
  importWorkstation,
  modifyGroupPermission,
  modifyRole,
  modifyRoleGroupPermission,
  modifyRolePermission,
  modifyUserGroupPermission,
  modifyUserRole,
} from './commands/administration.js';
import { combinedEmail, email, recordingInfo } from './commands/export.js';

type Handler = (req: CoreRequest, ctx: SimContext) => CommandOutcome;
type AsyncHandler = (req: CoreRequest, ctx: SimContext) => Promise<CommandOutcome>;

/** Handlers that read and change state synchronously. */
const handlers: Record<string, Handler> = {
  TEST: () => ({ code: ResultCode.API_OK, message: 'API_OK' }),
  CALLSTART: callStart,
  CALLSTOP: callStop,
  CALLUPDATE: callUpdate,
  RECORDSTART: recordStart,
  RECORDSTOP: recordStop,
  DEVICELIST: deviceList,
  DEVICESTATUS: deviceStatus,
  DEVICERECORDINGSTATUS: deviceRecordingStatus,
  SYSTEMSTATUS: systemStatus,
  CHANNELS: channels,
  STATIONS: stations,
  FETCHTERMINOLOGY: fetchTerminology,
  CALLLIST: callList,
  CHATSTART: chatStart,
  CHATSTOP: chatStop,
  CHATUPDATE: chatUpdate,
  BLACKOUTSTART: blackout,
  BLACKOUTSTOP: blackout,
  AGENTBLACKOUTSTART: agentBlackout,
  AGENTBLACKOUTSTOP: agentBlackout,
  IMPORTUSER: importUser,
  IMPORTAGENTPHONE: importAgentPhone,
  IMPORTWORKSTATION: importWorkstation,
  ADDGROUP: addGroup,
  MODIFYGROUPPERMISSION: modifyGroupPermission,
  MODIFYUSERGROUPPERMISSION: modifyUserGroupPermission,
  MODIFYROLE: modifyRole,
  MODIFYROLEGROUPPERMISSION: modifyRoleGroupPermission,
  MODIFYUSERROLE: modifyUserRole,
  MODIFYROLEPERMISSION: modifyRolePermission,
  AGENTWINDOW: agentWindow,
  RECORDINGINFO: recordingInfo,
};

/** Handlers that wait on files or ffmpeg; they only read state. */
const asyncHandlers: Record<string, AsyncHandler> = {
  EMAIL: email,
  COMBINEDEMAIL: combinedEmail,
};

/** Every command the core serves has a handler (checked by the tests against the catalog). */
export function handledTypes(): string[] {
  return [...Object.keys(handlers), ...Object.keys(asyncHandlers)];
}

/** What a message said about itself, for the RESULT header, even when it is invalid. */
export interface RequestHeader {
  type: string;
  requestId: string;
}

export type Decoded =
  | { ok: true; header: RequestHeader; request: CoreRequest }
  | { ok: false; header: RequestHeader; outcome: CommandOutcome };

const fail = (header: RequestHeader, code: number, message: string): Decoded => ({ ok: false, header, outcome: { code, message } });

/** The longest REQUESTID or TYPE echoed back from an invalid message. */
const maxEcho = 64;
const echo = (s: string | undefined): string => (s ?? '').trim().slice(0, maxEcho);

/** The result code the product gives a parameter problem (most are API_INVALID_MESSAGE_FORMAT). */
function problemCode(spec: CommandSpec, problem: ParamProblem): number {
  if (problem.param === 'ACTION') {
    return problem.problem.endsWith('is required') ? ResultCode.API_INVALID_MESSAGE_FORMAT : ResultCode.API_ERROR_INVALID_ACTION;
  }
  if (problem.param === 'SESSIONID') return ResultCode.API_SESSIONID_UNSPECIFIED;
  if (problem.param === 'PERMISSIONNAME' && !problem.problem.endsWith('is required')) return ResultCode.API_PERMISSIONIDENT_NOT_FOUND;
  // "If none are present, update will fail and return a RESULTTYPE of API_DEVICE_INVALID."
  if (problem.problem.startsWith('one of DEVICEID') && (spec.category === 'call-handling' || spec.category === 'recording-control')) {
    return ResultCode.API_DEVICE_INVALID;
  }
  return ResultCode.API_INVALID_MESSAGE_FORMAT;
}

/** Which commands a core serves beyond the product's own. */
export interface CommandSet {
  /** Our extensions (RECORDINGINFO): off, they are unknown types, as in the product. */
  extensions: boolean;
}

const withExtensions: CommandSet = { extensions: true };

/**
 * A type's catalog entry as this core knows it: without extensions the product's command set is
 * all there is, and ours are as unknown as any other name (derived from the catalog's flag).
 */
export function knownCommand(type: string, commandSet: CommandSet): CommandSpec | undefined {
  const spec = findCommand(type);
  return spec?.extension && !commandSet.extensions ? undefined : spec;
}

export function decodeRequest(text: string, commandSet: CommandSet = withExtensions): Decoded {
  let root: XmlElement;
  try {
    root = parseXml(text);
  } catch (error) {
    const reason = error instanceof XmlSyntaxError ? error.message : 'unreadable';
    return fail({ type: '', requestId: '' }, ResultCode.API_INVALID_MESSAGE_FORMAT, `The request is not valid XML: ${reason}`);
  }
  const named = (name: string): string | undefined => root.children.find((c) => c.name.toUpperCase() === name)?.text;
  const rootName = root.name.toUpperCase();
  const rawType = named('TYPE') ?? named('REQUESTTYPE') ?? (rootName !== 'REQUEST' ? rootName : undefined);
  const header: RequestHeader = { type: echo(rawType).toUpperCase(), requestId: echo(named('REQUESTID')) };
  if (!header.type) return fail(header, ResultCode.API_INVALID_MESSAGE_FORMAT, 'The request has no TYPE');

  const spec = knownCommand(header.type, commandSet);
  if (!isValidRequestId(named('REQUESTID'), spec?.minRequestId ?? 1)) {
    return fail(header, ResultCode.API_REQUESTID_INVALID, 'REQUESTID must be a positive integer no larger than 2147483647');
  }
  if (!spec || spec.servedBy === 'gateway') {
    return fail(header, ResultCode.API_UNKNOWN_MESSAGE_TYPE, `Unknown message type ${header.type}`);
  }
  header.type = spec.type;
  if (spec.deprecated) {
    const { since, replacement } = spec.deprecated;
    return fail(
      header,
      ResultCode.API_COMMAND_NOT_SUPPORTED,
      `${spec.type} is not supported since version ${since}${replacement ? `; use ${replacement}` : ''}`,
    );
  }
  if (spec.servedBy === 'event-port') {
    return fail(header, ResultCode.API_INVALID_REQUEST_TYPE, `${spec.type} subscriptions are served on the event port`);
  }

  const params = new Map<string, string>();
  for (const child of root.children) {
    const upper = child.name.toUpperCase();
    if (upper === 'TYPE' || upper === 'REQUESTTYPE' || upper === 'REQUESTID') continue;
    const name = findParam(spec, upper)?.name ?? upper;
    // The server strips white space; the first occurrence of a parameter wins.
    if (!params.has(name)) params.set(name, child.text.trim());
  }
  const problems = checkParams(spec, params);
  if (problems.length > 0) {
    return fail(header, problemCode(spec, problems[0]!), problems.map((p) => p.problem).join('; '));
  }
  return { ok: true, header, request: { spec, requestId: header.requestId, params } };
}

/** Run a decoded request. */
export async function execute(request: CoreRequest, ctx: SimContext): Promise<CommandOutcome> {
  const handler = handlers[request.spec.type];
  const asyncHandler = asyncHandlers[request.spec.type];
  try {
    // Commands that change state run as one transaction; reads need none. With an external
    // Recording table, the answer waits until the table has what the transaction saved.
    if (handler) {
      if (!request.spec.mutates) return handler(request, ctx);
      const transaction = (): CommandOutcome => ctx.db.transaction(() => handler(request, ctx))();
      return ctx.recordingMirror ? await ctx.recordingMirror.settle(transaction) : transaction();
    }
    if (asyncHandler) return await asyncHandler(request, ctx);
    return { code: ResultCode.API_UNKNOWN_MESSAGE_TYPE, message: `Unknown message type ${request.spec.type}` };
  } catch (error) {
    if (error instanceof ApiError) return { code: error.code, message: error.message };
    throw error;
  }
}

/** The RESULT for an outcome, as bytes to write. */
export function renderResult(header: RequestHeader, outcome: CommandOutcome, ctx: SimContext): string {
  let xml = serialize(
    resultElement(
      {
        requestType: header.type,
        requestId: header.requestId,
        resultType: resultTypeOf(outcome.code) ?? 'API_ERROR_UNKNOWN',
        resultCode: outcome.code,
        resultMessage: outcome.message,
      },
      outcome.body ?? [],
    ),
  );
  // The RESULT's own close is its last line: a rendered body goes just before it.
  if (outcome.renderedBody) {
    const close = xml.lastIndexOf('</RESULT>');
    xml = xml.slice(0, close) + outcome.renderedBody + xml.slice(close);
  }
  if (ctx.options.fieldQuirks) {
    for (const name of outcome.unclosedInField ?? []) xml = xml.replace(new RegExp(`\\t*</${name}>\\r\\n`), '');
  }
  return xml;
}

/** Decode, run and render one message; unexpected faults become API_ERROR_PROCESSING_MESSAGE. */
export async function answer(text: string, ctx: SimContext): Promise<{ header: RequestHeader; xml: string }> {
  const decoded = decodeRequest(text, ctx.options);
  let outcome: CommandOutcome;
  if (decoded.ok) {
    try {
      outcome = await execute(decoded.request, ctx);
    } catch (error) {
      outcome = {
        code: ResultCode.API_ERROR_PROCESSING_MESSAGE,
        message: `${decoded.header.type} failed: ${error instanceof Error ? error.message : String(error)}`,
      };
    }
  } else {
    outcome = decoded.outcome;
  }
  return { header: decoded.header, xml: renderResult(decoded.header, outcome, ctx) };
}
