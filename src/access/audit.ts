/**
 * The audit trail: one JSON line for each command that changes something, each export and email,
 * each signed media link made and used, and each refusal for a missing scope, so that an operator can show an auditor who did what. A
 * policy of the access room: it knows no HTTP; the surfaces' hooks build an AuditInput and hand it
 * here, so every surface writes the same line.
 *
 * A line never carries a secret. Identifiers come from an allow-list of parameter names (a parameter
 * added to the catalog stays out until someone decides it identifies something), only the record's
 * own fields are copied, and every string is scrubbed of anything shaped like one of our API keys or
 * a JWT: a last line behind callers, which build `credential` and `reason` from names.
 *
 * Lines go to AUDIT_LOG_FILE, appended, or to the gateway's log. A failing disk never fails a
 * request: `record` does not throw, lines that cannot be written are counted and the first of each
 * run of failures is reported; a stalled disk never grows memory past `maxPendingBytes`.
 */
import { createWriteStream, type WriteStream } from 'node:fs';
import { performance } from 'node:perf_hooks';

export interface AuditRecord {
  /** ISO-8601 UTC, set by the trail. */
  time: string;
  /** The HTTP request id. */
  requestId: string;
  /** Who: a key's name, a token's subject or client id, 'loopback', 'network:<cidr>', 'anonymous'. */
  credential: string;
  /** The client's IP address. */
  client: string;
  surface: 'webapi' | 'rest' | 'events';
  /** The command's TYPE (CALLSTART, EXPORT, IMPORTUSER...). */
  type: string;
  /** `link`: a signed media link was made (its uses are `export` lines with `via`). */
  action: 'command' | 'export' | 'email' | 'refused' | 'link';
  /**
   * The request was let in by a signed media link or an event ticket that `credential` made, not by
   * the credential itself.
   */
  via?: 'signed-link' | 'event-ticket';
  /**
   * The identifiers involved, by XML parameter name: DEVICEID, DEVICEALIAS, RECORDID, IDENT,
   * UNIQUEFIELD, UNIQUEID, USERNAME, AGENTID, GROUPNAME, ROLENAME, SESSIONID, TOADDRESS...
   * (`auditIdentifierNames`).
   */
  identifiers: Record<string, string>;
  /** MEDIA_FORMAT of exports and emails. */
  format?: string;
  outcome: { status: number; resultCode?: number; resultType?: string };
  /** Bytes sent, for exports. */
  bytes?: number;
  /** For refusals: the scope missing. */
  reason?: string;
}

export type AuditInput = Omit<AuditRecord, 'time'>;

/** Where reports about the trail itself go (a pino logger fits); warn and error are used when present. */
export interface AuditLog {
  info(obj: object, msg?: string): void;
  warn?(obj: object, msg?: string): void;
  error?(obj: object, msg?: string): void;
}

export interface AuditTrailOptions {
  /** AUDIT_LOG_FILE: lines are appended to it. Without it, they go to `log` with `audit: true`. */
  file?: string;
  log?: AuditLog;
  /** The clock of `time` (tests). */
  now?: () => Date;
  /** Lines waiting for the disk past this many bytes are dropped and counted (default 4 MiB). */
  maxPendingBytes?: number;
  /** After the file fails, a line tries to open it again at most this often (default 5 s). */
  reopenAfterFailureMs?: number;
}

/** The longest value of a string field or an identifier; longer ones are cut and end with '…'. */
export const maxAuditFieldLength = 256;
/** The longest IDENT list kept whole; a longer one keeps its first IDs and their count. */
export const maxAuditIdentListLength = 2048;

/**
 * The parameters whose values say what a command acted on, by the name the line gives them: devices,
 * calls and recordings, chat sessions, users, agents, groups, roles, permissions, mail recipients.
 * ACTION is here too (ADD, DELETE, MODIFY): without it an IMPORTUSER line does not say what was done.
 */
export const auditIdentifierNames: readonly string[] = [
  'ACTION',
  'DEVICEID',
  'DEVICEALIAS',
  'STATIONNAME',
  'SYS_USER',
  'CRM_USER',
  'CALLINSTANCE',
  'CALLID',
  'RECORDID',
  'IDENT',
  'UNIQUEFIELD',
  'UNIQUEID',
  'SESSIONID',
  'USERID',
  'USERNAME',
  'SYSTEMUSERNAME',
  'EMPLOYEEID',
  'AGENTID',
  'PHONEID',
  'GROUPID',
  'GROUPNAME',
  'ROLEID',
  'ROLENAME',
  'PERMISSIONNAME',
  'TOADDRESS',
];

/** The other spellings the manuals use for the same parameter, each recorded under the name above. */
const identifierSpellings: ReadonlyMap<string, string> = new Map([
  ...auditIdentifierNames.map((name) => [name, name] as const),
  ['USER_ID', 'USERID'],
  ['AGENT_ID', 'AGENTID'],
  ['EMPLOYEE_ID', 'EMPLOYEEID'],
  ['UNIQUE_ID', 'UNIQUEID'],
  ['UNIQUE_FIELD', 'UNIQUEFIELD'],
  ['GROUPLD', 'GROUPID'],
]);

/** Our API keys: `upk_<id>_<secret>` (src/access/api-keys.ts), matched loosely on purpose. */
const apiKeyShape = /upk_[A-Za-z0-9_-]+/gi;
/**
 * A JWT: three base64url parts separated by dots, the first a JSON object (`{"` is `ey`). The
 * lengths and the `ey` keep host names and IP addresses out of it; the third part may be empty
 * (an unsigned token).
 */
const jwtShape = /ey[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*/g;
const redacted = '[redacted]';

function scrub(value: string): string {
  return value.replace(apiKeyShape, redacted).replace(jwtShape, redacted);
}

/** Cut to `max` UTF-16 units, the last being '…', without splitting a surrogate pair. */
function bound(value: string, max = maxAuditFieldLength): string {
  if (value.length <= max) return value;
  let end = max - 1;
  const last = value.charCodeAt(end - 1);
  if (last >= 0xd800 && last <= 0xdbff) end--;
  return `${value.slice(0, end)}…`;
}

/** A string field as it goes into a line: scrubbed first, so that a cut never leaves part of a secret. */
function field(value: unknown): string {
  return bound(scrub(String(value)));
}

/** An IDENT list whole when short enough, else its first IDs and how many it names. */
function identList(value: string): string {
  if (value.length <= maxAuditIdentListLength) return value;
  const ids = value.split(',').map((id) => id.trim()).filter((id) => id !== '');
  const count = ` (${ids.length} recordings)`;
  const room = maxAuditFieldLength - count.length - 2; // ',…'
  let head = '';
  for (const id of ids) {
    const next = head === '' ? id : `${head},${id}`;
    if (next.length > room) break;
    head = next;
  }
  return head === '' ? `…${count}` : `${head},…${count}`;
}

/**
 * The identifiers of a command, picked from its parameters by `auditIdentifierNames` (names in any
 * case, other spellings under the usual name, the first of two spellings kept), values trimmed,
 * scrubbed and bounded. Blank values are left out.
 */
export function auditIdentifiers(params: ReadonlyMap<string, string>): Record<string, string> {
  const identifiers: Record<string, string> = {};
  for (const [name, raw] of params) {
    const key = identifierSpellings.get(name.trim().toUpperCase());
    if (key === undefined || key in identifiers) continue;
    const value = scrub(String(raw).trim());
    if (value === '') continue;
    identifiers[key] = key === 'IDENT' ? identList(value) : bound(value);
  }
  return identifiers;
}

const boundedString = { type: 'string', maxLength: maxAuditFieldLength } as const;

/** The JSON Schema (draft 2020-12) of an audit line. */
export const auditRecordSchema = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  $id: 'urn:uptivity-gateway:audit-record',
  title: 'Audit line',
  description: 'One line of the gateway audit trail: a command that changes something, an export, an email or a refusal for a missing scope.',
  type: 'object',
  additionalProperties: false,
  required: ['time', 'requestId', 'credential', 'client', 'surface', 'type', 'action', 'identifiers', 'outcome'],
  properties: {
    time: {
      description: 'When the line was written, ISO-8601 UTC with milliseconds.',
      type: 'string',
      format: 'date-time',
      pattern: '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{3}Z$',
    },
    requestId: { ...boundedString, minLength: 1, description: 'The HTTP request id (X-Request-Id).' },
    credential: {
      ...boundedString,
      minLength: 1,
      description: "Who: an API key's name, a token's subject or client id, loopback, network:<cidr>, anonymous.",
    },
    client: { ...boundedString, description: "The client's IP address." },
    surface: { enum: ['webapi', 'rest', 'events'] },
    type: { ...boundedString, minLength: 1, description: 'The command TYPE.' },
    action: { enum: ['command', 'export', 'email', 'refused', 'link'], description: 'link: a signed media link was made (each use is an export line with via signed-link).' },
    via: { enum: ['signed-link', 'event-ticket'], description: 'The request came in with a signed link or an event ticket that the credential made.' },
    identifiers: {
      description: 'What the command acted on, by XML parameter name.',
      type: 'object',
      propertyNames: { enum: auditIdentifierNames },
      properties: { IDENT: { type: 'string', minLength: 1, maxLength: maxAuditIdentListLength } },
      additionalProperties: { ...boundedString, minLength: 1 },
    },
    format: { ...boundedString, description: 'MEDIA_FORMAT of an export or email.' },
    outcome: {
      type: 'object',
      additionalProperties: false,
      required: ['status'],
      properties: {
        status: { type: 'integer', minimum: 100, maximum: 599, description: 'The HTTP status answered.' },
        resultCode: { type: 'integer', description: "The XML API's RESULTCODE, when there was one." },
        resultType: { ...boundedString, description: "The XML API's RESULTTYPE, when there was one." },
      },
    },
    bytes: { type: 'integer', minimum: 0, description: 'Bytes sent, for an export.' },
    reason: { ...boundedString, description: 'For a refusal: the scope missing.' },
  },
  if: { properties: { action: { const: 'refused' } } },
  then: { properties: { reason: true }, required: ['reason'] },
} as const;

/** Ends a stream after what it holds is written; resolves once it is closed, whether or not it failed. */
function closed(stream: WriteStream): Promise<void> {
  return new Promise((resolve) => {
    if (stream.closed) return resolve();
    stream.once('close', () => resolve());
    if (!stream.destroyed) stream.end();
  });
}

/** Resolves once the stream has opened its file or failed to. */
function opened(stream: WriteStream): Promise<void> {
  return new Promise((resolve) => {
    if (!stream.pending || stream.destroyed) return resolve();
    stream.once('ready', () => resolve());
    stream.once('close', () => resolve());
  });
}

export class AuditTrail {
  private readonly counts = { written: 0, failed: 0, dropped: 0 };
  /** Lines written; lines lost (`failed`, which includes those `dropped` for the bound). */
  get stats(): { readonly written: number; readonly failed: number; readonly dropped: number } {
    return { ...this.counts };
  }
  private readonly file: string | undefined;
  private readonly log: AuditLog | undefined;
  private readonly now: () => Date;
  private readonly maxPendingBytes: number;
  private readonly reopenAfterFailureMs: number;
  private stream: WriteStream | undefined;
  /** The streams reopens are ending: their bytes still count against the bound. */
  private readonly retiring = new Set<WriteStream>();
  private reopening: Promise<void> = Promise.resolve();
  private isClosed = false;
  /** When the current stream failed (performance.now()). */
  private failedAt: number | undefined;
  /** A failure is reported and no line has been written since. */
  private failureReported = false;
  /** Lines lost since the last one written. */
  private lostSinceWritten = 0;
  /** Lines dropped since the bound was reported; undefined when none is. */
  private droppedSinceReport: number | undefined;

  constructor(options: AuditTrailOptions) {
    if (options.file === undefined && options.log === undefined) throw new TypeError('An audit trail needs a file or a log.');
    if (options.file !== undefined && options.file.trim() === '') throw new TypeError('The audit file name is empty.');
    const maxPendingBytes = options.maxPendingBytes ?? 4 * 1024 * 1024;
    if (!Number.isSafeInteger(maxPendingBytes) || maxPendingBytes <= 0) throw new RangeError('maxPendingBytes must be a positive integer.');
    const reopenAfterFailureMs = options.reopenAfterFailureMs ?? 5000;
    if (!Number.isFinite(reopenAfterFailureMs) || reopenAfterFailureMs < 0) throw new RangeError('reopenAfterFailureMs must be 0 or more.');
    this.file = options.file;
    this.log = options.log;
    this.now = options.now ?? (() => new Date());
    this.maxPendingBytes = maxPendingBytes;
    this.reopenAfterFailureMs = reopenAfterFailureMs;
    if (this.file !== undefined) this.stream = this.open(this.file);
  }

  /** Write one line. Never throws: a line that cannot be written is counted in `stats.failed`. */
  record(input: AuditInput): void {
    try {
      if (this.isClosed) {
        this.counts.failed++;
        return;
      }
      const record = this.build(input);
      if (this.file === undefined) {
        // pino stamps every line with its own `time`: a second one would make a line with two keys
        // of the same name, which some log stores refuse whole. The logger's time is the line's.
        const { time: _time, ...fields } = record;
        this.log!.info({ audit: true, ...fields }, 'audit');
        this.counts.written++;
        this.failureReported = false;
        return;
      }
      this.append(this.file, `${JSON.stringify(record)}\n`);
    } catch (err) {
      this.counts.failed++;
      this.reportFailure(err);
    }
  }

  /**
   * Open the file again (log rotation on SIGHUP): later lines go to a new file at the same path. The
   * old file gets every line already handed to it first, and the new one takes none before then, so
   * lines stay in order even when the file was not renamed. Resolves once the new file is open or
   * has failed to open (a failure is counted and reported like any other).
   */
  reopen(): Promise<void> {
    const file = this.file;
    if (file === undefined || this.isClosed) return this.reopening;
    // The switch is made now, so that every line recorded after the call goes to the new file; the
    // new stream holds its lines until the old one (and any before it) has written all of its own.
    const old = this.stream!;
    const next = this.open(file);
    this.stream = next;
    this.failedAt = undefined;
    next.cork();
    this.retiring.add(old);
    const previous = this.reopening;
    this.reopening = (async () => {
      await previous;
      await closed(old);
      this.retiring.delete(old);
      next.uncork();
      await opened(next);
    })().catch((err: unknown) => this.reportFailure(err));
    return this.reopening;
  }

  /** Write what is pending and close the file; lines recorded afterwards are counted as failed. */
  async close(): Promise<void> {
    this.isClosed = true;
    await this.reopening;
    if (this.stream) await closed(this.stream);
  }

  private build(input: AuditInput): AuditRecord {
    const outcome: AuditRecord['outcome'] = { status: input.outcome.status };
    if (input.outcome.resultCode !== undefined) outcome.resultCode = input.outcome.resultCode;
    if (input.outcome.resultType !== undefined) outcome.resultType = field(input.outcome.resultType);
    // Only the record's own fields, in one order: whatever else an input carries stays out.
    const record: AuditRecord = {
      time: this.now().toISOString(),
      requestId: field(input.requestId),
      credential: field(input.credential),
      client: field(input.client),
      surface: input.surface,
      type: field(input.type),
      action: input.action,
      identifiers: auditIdentifiers(new Map(Object.entries(input.identifiers ?? {}))),
      ...(input.format !== undefined && { format: field(input.format) }),
      outcome,
    };
    if (input.via !== undefined) record.via = input.via;
    if (input.bytes !== undefined) record.bytes = input.bytes;
    if (input.reason !== undefined) record.reason = field(input.reason);
    return record;
  }

  private open(file: string): WriteStream {
    const stream = createWriteStream(file, { flags: 'a', mode: 0o600 });
    stream.on('error', (err) => {
      if (stream === this.stream) this.failedAt = performance.now();
      this.reportFailure(err);
    });
    return stream;
  }

  private append(file: string, line: string): void {
    let stream = this.stream!;
    if (stream.destroyed && this.failedAt !== undefined && performance.now() - this.failedAt >= this.reopenAfterFailureMs && this.retiring.size === 0) {
      stream = this.stream = this.open(file);
      this.failedAt = undefined;
    }
    let pending = stream.writableLength;
    for (const old of this.retiring) pending += old.writableLength;
    if (pending + Buffer.byteLength(line) > this.maxPendingBytes) {
      this.counts.failed++;
      this.counts.dropped++;
      if (this.droppedSinceReport === undefined) {
        this.droppedSinceReport = 0;
        this.report('warn', { file, pendingBytes: pending }, 'audit trail: the audit file is not keeping up; audit lines are being dropped');
      }
      this.droppedSinceReport++;
      return;
    }
    if (this.droppedSinceReport !== undefined) {
      this.report('warn', { file, dropped: this.droppedSinceReport }, `audit trail: ${this.droppedSinceReport} audit lines were dropped while the audit file was not keeping up`);
      this.droppedSinceReport = undefined;
    }
    // Each line is counted when the file has it, or when it is lost: both through its callback. The
    // stream's 'error' event, not a callback, reports the failure: lines still waiting are called back
    // first, with a "stream destroyed" error that does not say what went wrong.
    stream.write(line, (err) => {
      if (err) {
        this.counts.failed++;
        this.lostSinceWritten++;
        return;
      }
      this.counts.written++;
      if (this.failureReported) {
        this.failureReported = false;
        this.report('info', { file, lost: this.lostSinceWritten }, `audit trail: writing again; ${this.lostSinceWritten} audit lines were lost`);
      }
      this.lostSinceWritten = 0;
    });
  }

  /** Once for each run of failures: the next line written ends the run. */
  private reportFailure(err: unknown): void {
    if (this.failureReported) return;
    this.failureReported = true;
    this.report('error', { err, file: this.file }, 'audit trail: an audit line could not be written; lines are counted as lost until writing works again');
  }

  /** A report about the trail itself; a log that fails as well is not the caller's problem. */
  private report(level: 'info' | 'warn' | 'error', fields: object, msg: string): void {
    const log = this.log;
    if (!log) return;
    try {
      (log[level] ?? log.info).call(log, fields, msg);
    } catch {
      // Nowhere left to say it; stats still count every line.
    }
  }
}
