/**
 * The product's database as a recording source: the Recording table the product's own WebAPI reads
 * EXPORT's UNIQUEFIELD + UNIQUEID and the IDENT lists from, read-only, on SQL Server, PostgreSQL or
 * MySQL/MariaDB. The engine-specific parts (URL, SQL text, drivers) are in `database-dialect.ts`,
 * imported with the first source so a gateway without a database loads neither Kysely nor a driver.
 */
import type { CompiledQuery } from 'kysely';
import { maxRecordingIdents, recordingColumns } from '../protocol/catalog.js';
import { ResultCode } from '../protocol/result-codes.js';
import type { RecordingDatabase } from './database-dialect.js';
import { formatLocalTime, parseLocalTime, type RecorderClock, type WallClock } from './recorder-clock.js';
import {
  fieldNameOfColumn,
  integerColumns,
  ownFieldNames,
  recordIdPattern,
  RecordingLookupError,
  RecordingSourceFailure,
  type FoundRecording,
  type LookupContext,
  type RecordingSource,
  type RecordingSourceStatus,
} from './recording.js';

export interface DatabaseSourceOptions {
  /**
   * `postgres://` (or `postgresql://`), `mysql://` (or `mariadb://`), `mssql://` (or `sqlserver://`),
   * as `scheme://user:password@host:port/database`: the only place credentials come from.
   */
  url: string;
  /** The Recording table, schema-qualified if need be (`dbo.Recording`); `Recording` by default. */
  table?: string;
  /** Connections at most. */
  poolSize: number;
  /** Connecting, and each lookup from start to answer. */
  timeoutMs: number;
  /** The recorder's zone, in which the table keeps its zone-less times. */
  clock: RecorderClock;
  /** The most distinct idents one lookup may name; `maxRecordingIdents` (1000) by default. */
  maxIdents?: number;
}

/** SQL Server takes at most 2100 parameters in a request; an IDENT list binds one each. */
const mostIdentsPerQuery = 2000;


/** A value an integer column can hold: anything else matches nothing (PostgreSQL would raise on it). */
const integerPattern = /^-?[0-9]{1,18}$/;

/** RECORDINGTIME as CALLLIST gives it: UNIX seconds. */
const unixSecondsPattern = /^[0-9]{1,12}$/;

function validated(options: DatabaseSourceOptions): Required<Omit<DatabaseSourceOptions, 'clock'>> {
  const { poolSize, timeoutMs, table = 'Recording', maxIdents = maxRecordingIdents } = options;
  if (!Number.isInteger(poolSize) || poolSize < 1) throw new RangeError(`poolSize must be a whole number of connections, at least 1 (was ${poolSize})`);
  // setTimeout's own limit; beyond it the deadline would fire at once.
  if (!Number.isInteger(timeoutMs) || timeoutMs < 1 || timeoutMs > 2 ** 31 - 1) throw new RangeError(`timeoutMs must be a whole number of milliseconds from 1 to 2147483647 (was ${timeoutMs})`);
  if (!Number.isInteger(maxIdents) || maxIdents < 1 || maxIdents > mostIdentsPerQuery) throw new RangeError(`maxIdents must be from 1 to ${mostIdentsPerQuery} (was ${maxIdents})`);
  return { url: options.url, table, poolSize, timeoutMs, maxIdents };
}

/** A UNIQUEFIELD that is not a Recording column never reaches SQL text, quoted or not. */
export function unknownColumn(column: string): RecordingLookupError {
  return new RecordingLookupError(ResultCode.API_INVALID_MESSAGE_FORMAT, `UNIQUEFIELD ${JSON.stringify(column)} is not a column of the Recording table`);
}

/** Opens a pool on the configured database (the first query connects) and the source that reads it. */
export async function openDatabaseSource(options: DatabaseSourceOptions): Promise<DatabaseSource> {
  const { url, table, poolSize, timeoutMs } = validated(options);
  const { openRecordingDatabase } = await import('./database-dialect.js');
  return new DatabaseSource(options, await openRecordingDatabase(url, table, { poolSize, timeoutMs }));
}

/** The answer the deadline gives when the database has not answered. */
class DeadlineExceeded extends Error {}

/** Codes of a timeout: PostgreSQL's statement timeout, MySQL's, sockets', tedious'. */
const timeoutCodes = new Set(['57014', 'ER_QUERY_TIMEOUT', 'ETIMEDOUT', 'ETIMEOUT']);
/** MariaDB's ER_STATEMENT_TIMEOUT (max_statement_time), a number mysql2 has no name for, and MySQL's. */
const timeoutErrnos = new Set([1969, 3024]);

function isTimeout(error: unknown): boolean {
  if (error instanceof DeadlineExceeded) return true;
  if (!(error instanceof Error)) return false;
  const { code, errno } = error as { code?: unknown; errno?: unknown };
  // pg's own timeouts (connecting, query_timeout) and tarn's carry no code, only these words.
  return (typeof code === 'string' && timeoutCodes.has(code)) || (typeof errno === 'number' && timeoutErrnos.has(errno)) || /timeout|timed out/i.test(error.message);
}

/** A Date's UTC fields: how tedious (useUTC) hands over a datetime's wall clock. */
function wallClockOfUtcFields(date: Date): WallClock {
  return {
    year: date.getUTCFullYear(),
    month: date.getUTCMonth() + 1,
    day: date.getUTCDate(),
    hour: date.getUTCHours(),
    minute: date.getUTCMinutes(),
    second: date.getUTCSeconds(),
  };
}

/**
 * One second later on the wall clock, not on the time line: when daylight saving ends, the instant
 * after 01:59:59 reads 01:00:00, and a range to it would be empty.
 */
function secondAfter(wall: WallClock): WallClock {
  return wallClockOfUtcFields(new Date(Date.UTC(wall.year, wall.month - 1, wall.day, wall.hour, wall.minute, wall.second + 1)));
}

export class DatabaseSource implements RecordingSource {
  readonly name = 'database' as const;
  /** The product's own Recording table: what it does not hold does not exist. */
  readonly authoritative = true;
  readonly lookupColumns: ReadonlySet<string> = new Set(recordingColumns);
  /** Lookup queries sent to the database (the drivers' own session set-up aside). */
  queries = 0;
  private readonly table: string;
  private readonly timeoutMs: number;
  private readonly maxIdents: number;
  private readonly clock: RecorderClock;
  /** The driver's answers still to come, whether or not their caller still waits. */
  private readonly inFlight = new Set<Promise<void>>();

  constructor(
    options: DatabaseSourceOptions,
    private readonly database: RecordingDatabase,
  ) {
    ({ table: this.table, timeoutMs: this.timeoutMs, maxIdents: this.maxIdents } = validated(options));
    this.clock = options.clock;
  }

  status(): RecordingSourceStatus {
    return { name: this.name, active: true, detail: `${this.database.endpoint.description}, table ${this.table}` };
  }

  /** Configured is usable: a database that is down fails its lookups, each with its own answer. */
  async usable(): Promise<boolean> {
    return true;
  }

  async findByColumn(column: string, value: string, context: LookupContext): Promise<FoundRecording | undefined> {
    if (!this.lookupColumns.has(column)) throw unknownColumn(column);
    const { lookups } = this.database;
    let query: CompiledQuery;
    if (column === 'recording_time') {
      // The column holds the recorder's local time, UNIQUEID the UNIX time CALLLIST gave: the whole
      // second, as a local time (a fraction SQL Server's datetime keeps still matches).
      if (!unixSecondsPattern.test(value)) return undefined;
      const from = this.clock.wallClockAt(Number(value));
      query = lookups.byRecordingTime(from, secondAfter(from));
    } else {
      if (integerColumns.has(column) && !integerPattern.test(value)) return undefined;
      query = lookups.byColumn(column, value);
    }
    const [row] = await this.rows(query, context);
    return row && this.recordingOf(row);
  }

  async findByIdents(idents: readonly string[], context: LookupContext): Promise<Map<string, FoundRecording>> {
    // By the ident as the database prints it (`0046` is 46), to each spelling asked for.
    const asked = new Map<string, string[]>();
    for (const ident of idents) {
      if (!recordIdPattern.test(ident)) continue;
      const canonical = ident.replace(/^0+(?=[0-9])/, '');
      const spellings = asked.get(canonical);
      if (spellings) spellings.push(ident);
      else asked.set(canonical, [ident]);
    }
    const found = new Map<string, FoundRecording>();
    if (asked.size === 0) return found;
    if (asked.size > this.maxIdents) throw new RecordingLookupError(ResultCode.API_INVALID_MESSAGE_FORMAT, `an IDENT list may name at most ${this.maxIdents} recordings (it names ${asked.size})`);
    for (const row of await this.rows(this.database.lookups.byIdents([...asked.keys()]), context)) {
      const recording = this.recordingOf(row);
      for (const ident of asked.get(recording.recordId) ?? []) found.set(ident, recording);
    }
    return found;
  }

  async close(): Promise<void> {
    // mysql2's pool, ended while one of its connections is still being made, never calls back, and
    // that connection's timeout is then thrown with no listener: let the queries sent end first, as
    // the drivers' own timeouts make them.
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([Promise.all(this.inFlight), new Promise((resolve) => (timer = setTimeout(resolve, this.timeoutMs)))]);
    clearTimeout(timer);
    await this.database.kysely.destroy();
  }

  /** One round trip, within the deadline whatever the driver does; its failures said without secrets. */
  private async rows(query: CompiledQuery, context: LookupContext): Promise<Record<string, unknown>[]> {
    context.signal?.throwIfAborted();
    this.queries++;
    const answer = this.database.kysely.executeQuery<Record<string, unknown>>(query);
    // When the deadline or the caller wins, the driver's later failure has nobody to tell.
    const ended = answer.then(
      () => undefined,
      () => undefined,
    );
    this.inFlight.add(ended);
    void ended.then(() => this.inFlight.delete(ended));
    let timer: NodeJS.Timeout | undefined;
    let onAbort: (() => void) | undefined;
    try {
      const deadline = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new DeadlineExceeded()), this.timeoutMs);
        onAbort = () => reject(context.signal!.reason);
        context.signal?.addEventListener('abort', onAbort, { once: true });
      });
      return (await Promise.race([answer, deadline])).rows;
    } catch (error) {
      if (context.signal?.aborted && error === context.signal.reason) throw error;
      throw this.failure(error);
    } finally {
      clearTimeout(timer);
      if (onAbort) context.signal?.removeEventListener('abort', onAbort);
    }
  }

  private failure(error: unknown): RecordingSourceFailure {
    if (isTimeout(error)) return new RecordingSourceFailure(this.name, `the recordings database did not answer within ${this.timeoutMs} ms`);
    let message = error instanceof Error ? error.message : String(error);
    // A driver may repeat what it was given; none of it is the caller's business.
    for (const secret of this.database.endpoint.secrets) message = message.replaceAll(secret, '***');
    return new RecordingSourceFailure(this.name, `the recordings database (${this.database.endpoint.description}) failed: ${message}`);
  }

  /** A row of `SELECT *`, by its columns in any case (`Ident`, `mediaLabel`), as a recording. */
  private recordingOf(row: Record<string, unknown>): FoundRecording {
    const columns = new Map(Object.entries(row).map(([name, value]) => [name.toLowerCase(), value]));
    if (!columns.has('ident') || !columns.has('filename')) {
      throw new RecordingSourceFailure(this.name, `the table ${this.table} of the recordings database has no ident or no filename column`);
    }
    const fields: [string, string][] = [];
    for (const column of recordingColumns) {
      const name = fieldNameOfColumn(column);
      if (!ownFieldNames.has(name) && columns.has(column)) fields.push([name, this.textOf(columns.get(column))]);
    }
    const duration = columns.get('duration');
    const filename = this.textOf(columns.get('filename'));
    return {
      recordId: this.textOf(columns.get('ident')),
      filename,
      durationSeconds: duration === null || duration === undefined || !Number.isFinite(Number(duration)) ? undefined : Math.round(Number(duration)),
      recordingTime: this.unixTimeOf(columns.get('recording_time')),
      fields,
      source: this.name,
      ...(filename === '' && { unlocated: 'its row in the Recording table has no filename' }),
    };
  }

  /** recording_time as UNIX seconds: a local time of the recorder, or already UNIX seconds. */
  private unixTimeOf(value: unknown): number | undefined {
    if (typeof value === 'number' || typeof value === 'bigint') return Number(value);
    if (typeof value === 'string') {
      if (unixSecondsPattern.test(value)) return Number(value);
      const wall = parseLocalTime(value);
      return wall && this.clock.unixTimeOf(wall);
    }
    if (value instanceof Date) {
      // tedious: the stored wall clock in the UTC fields; pg: only `timestamptz` arrives as a Date,
      // and it is an instant.
      return this.database.endpoint.engine === 'mssql' ? this.clock.unixTimeOf(wallClockOfUtcFields(value)) : Math.floor(value.getTime() / 1000);
    }
    return undefined;
  }

  /** A column's value as RECORDINGINFO would write it. */
  private textOf(value: unknown): string {
    if (value === null || value === undefined) return '';
    if (typeof value === 'string') return value;
    // SQL Server's bit: the product's flags read Y or N.
    if (typeof value === 'boolean') return value ? 'Y' : 'N';
    if (value instanceof Date) return this.database.endpoint.engine === 'mssql' ? formatLocalTime(wallClockOfUtcFields(value)) : value.toISOString();
    if (value instanceof Uint8Array) return Buffer.from(value).toString('hex');
    return String(value);
  }
}
