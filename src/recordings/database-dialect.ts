/**
 * What differs between the engines the product's database may run on: SQL Server (the product's
 * own), PostgreSQL and MySQL/MariaDB. The URL names the engine and carries the only credentials;
 * Kysely writes the SQL of the two lookups for each engine; the drivers are loaded here, on demand,
 * and told to hand over zone-less times untouched. `database-source.ts` loads this module with the
 * first database source only: Kysely alone costs some 18 MB of memory at import.
 */
import {
  CompiledQuery,
  DummyDriver,
  Kysely,
  MssqlAdapter,
  MssqlDialect,
  MssqlIntrospector,
  MssqlQueryCompiler,
  MysqlAdapter,
  MysqlDialect,
  MysqlIntrospector,
  MysqlQueryCompiler,
  PostgresAdapter,
  PostgresDialect,
  PostgresIntrospector,
  PostgresQueryCompiler,
  sql,
  type Dialect,
  type SelectQueryBuilder,
} from 'kysely';
import { recordingColumns } from '../protocol/catalog.js';
import { readProductDatabaseUrl, type ProductDatabaseEngine, type ProductDatabaseUrl } from '../protocol/product-database.js';
import { unknownColumn } from './database-source.js';
import { formatLocalTime, type WallClock } from './recorder-clock.js';

export type DatabaseEngine = ProductDatabaseEngine;

/** The engines the gateway reads the product database on. */
const engines: readonly DatabaseEngine[] = ['mssql', 'postgres', 'mysql'];

/** The query parameters a SQL Server URL may carry (tedious reads no URL, so we do). */
const mssqlUrlOptions = new Set(['encrypt', 'trustServerCertificate', 'instanceName']);

export type DatabaseEndpoint = Omit<ProductDatabaseUrl, 'parsed'>;

/** The engine and the place a database URL names, or a RangeError that repeats none of it. */
export function databaseEndpointOf(url: string): DatabaseEndpoint {
  const { parsed, ...endpoint } = readProductDatabaseUrl(url, engines);
  if (endpoint.engine === 'mssql') {
    for (const key of parsed.searchParams.keys()) {
      if (!mssqlUrlOptions.has(key)) throw new RangeError(`a SQL Server URL takes the options ${[...mssqlUrlOptions].join(', ')}, not ${JSON.stringify(key)}`);
    }
  }
  return endpoint;
}

/** A table name, schema-qualified or not; Kysely quotes each part. */
const tablePattern = /^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?$/;

const allowedColumns: ReadonlySet<string> = new Set(recordingColumns);

/** The queries of the database source, as SQL text and bound parameters. */
export interface RecordingLookups {
  /** The newest recording whose `column` holds `value`. */
  byColumn(column: string, value: string): CompiledQuery;
  /** The newest recording that started in [from, before), local times of the recorder. */
  byRecordingTime(from: WallClock, before: WallClock): CompiledQuery;
  /** The recordings of these idents (canonical, distinct), no more rows than idents. */
  byIdents(idents: readonly string[]): CompiledQuery;
}

/**
 * T-SQL's own quoting: brackets read as an identifier whatever the session's QUOTED_IDENTIFIER says,
 * where Kysely's double quotes depend on it being ON.
 */
class BracketQuotingCompiler extends MssqlQueryCompiler {
  protected override getLeftIdentifierWrapper(): string {
    return '[';
  }
  protected override getRightIdentifierWrapper(): string {
    return ']';
  }
  protected override sanitizeIdentifier(identifier: string): string {
    return identifier.replaceAll(']', ']]');
  }
}

/** Each engine's SQL: the adapter, compiler and introspector of its dialect. */
function sqlOf(engine: DatabaseEngine): Omit<Dialect, 'createDriver'> {
  switch (engine) {
    case 'mssql':
      return { createAdapter: () => new MssqlAdapter(), createIntrospector: (db) => new MssqlIntrospector(db), createQueryCompiler: () => new BracketQuotingCompiler() };
    case 'postgres':
      return { createAdapter: () => new PostgresAdapter(), createIntrospector: (db) => new PostgresIntrospector(db), createQueryCompiler: () => new PostgresQueryCompiler() };
    case 'mysql':
      return { createAdapter: () => new MysqlAdapter(), createIntrospector: (db) => new MysqlIntrospector(db), createQueryCompiler: () => new MysqlQueryCompiler() };
  }
}

/**
 * The lookups' SQL for an engine, without connecting. The source runs exactly these compiled
 * queries, so a test of this text is a test of what reaches the database.
 */
export function compileRecordingLookups(engine: DatabaseEngine, table: string): RecordingLookups {
  if (!tablePattern.test(table)) throw new RangeError(`the Recording table must be a name such as Recording or dbo.Recording, not ${JSON.stringify(table)}`);
  // The Kysely of a dialect whose driver never connects: it only compiles.
  const db = new Kysely<any>({ dialect: { ...sqlOf(engine), createDriver: () => new DummyDriver() } });
  type Select = SelectQueryBuilder<any, any, any>;
  // A literal bound rather than a parameter, so the text says how many rows a lookup may read.
  const atMost = (query: Select, rows: number): Select => (engine === 'mssql' ? query.top(rows) : query.limit(sql.lit(rows)));
  // The manual: a column that is not unique gives the most recent recording.
  const newest = (query: Select): Select => atMost(query.orderBy('recording_time', 'desc').orderBy('ident', 'desc'), 1);
  // SQL Server reads `2011-01-31 14:39:50` by the session's DATEFORMAT; the `T` form reads the same everywhere.
  const timeText = (wall: WallClock): string => formatLocalTime(wall).replace(' ', 'T');
  return {
    byColumn(column, value) {
      if (!allowedColumns.has(column)) throw unknownColumn(column);
      return newest(db.selectFrom(table).selectAll().where(column, '=', value)).compile();
    },
    byRecordingTime(from, before) {
      const query = db.selectFrom(table).selectAll().where('recording_time', '>=', timeText(from)).where('recording_time', '<', timeText(before));
      return newest(query).compile();
    },
    byIdents(idents) {
      if (idents.length === 0) throw new RangeError('an IDENT lookup needs at least one ident');
      return atMost(db.selectFrom(table).selectAll().where('ident', 'in', [...idents]), idents.length).compile();
    },
  };
}

export interface DatabaseBounds {
  poolSize: number;
  /** Connecting, and each query, on the server where the engine has a setting for it. */
  timeoutMs: number;
}

/** A connected database: the pool (through Kysely) and the queries it runs. */
export interface RecordingDatabase {
  endpoint: DatabaseEndpoint;
  kysely: Kysely<any>;
  lookups: RecordingLookups;
}

/**
 * A pool for the URL's engine; its driver is imported now, so a gateway without a database never
 * loads one. No connection is made until the first query.
 */
export async function openRecordingDatabase(url: string, table: string, bounds: DatabaseBounds): Promise<RecordingDatabase> {
  const endpoint = databaseEndpointOf(url);
  const lookups = compileRecordingLookups(endpoint.engine, table);
  const dialect = endpoint.engine === 'postgres' ? await postgresDialect(url, bounds) : endpoint.engine === 'mysql' ? await mysqlDialect(url, bounds) : await mssqlDialect(url, bounds);
  // No log option: a query log would write the values callers look recordings up by.
  const kysely = new Kysely<any>({ dialect: { ...sqlOf(endpoint.engine), createDriver: () => dialect.createDriver() } });
  return { endpoint, kysely, lookups };
}

/** OIDs of PostgreSQL's zone-less `timestamp` and `date`. */
const pgTimestamp = 1114;
const pgDate = 1082;

async function postgresDialect(url: string, bounds: DatabaseBounds): Promise<Dialect> {
  const pg = await import('pg');
  const pool = new pg.Pool({
    connectionString: url,
    max: bounds.poolSize,
    connectionTimeoutMillis: bounds.timeoutMs,
    statement_timeout: bounds.timeoutMs,
    query_timeout: bounds.timeoutMs,
    application_name: 'uptivity-gateway',
    // pg would read a zone-less time in this process's zone; the recorder's clock reads it instead.
    // Per pool, so no other user of pg in the process is affected.
    types: { getTypeParser: ((oid: number, format?: 'text' | 'binary') => (oid === pgTimestamp || oid === pgDate ? (text: string) => text : pg.types.getTypeParser(oid, format))) as typeof pg.types.getTypeParser },
  });
  // An idle connection the server ends is an 'error' on the pool, which drops that client itself;
  // without a listener the event would end the process.
  pool.on('error', () => undefined);
  return new PostgresDialect({ pool });
}

async function mysqlDialect(url: string, bounds: DatabaseBounds): Promise<Dialect> {
  const mysql = await import('mysql2');
  const pool = mysql.createPool({
    uri: url,
    connectionLimit: bounds.poolSize,
    connectTimeout: bounds.timeoutMs,
    // DATETIME as written (the recorder's local time), not a Date in this process's zone.
    dateStrings: true,
    // BIGINT idents as exact strings: a Number loses digits past 2^53.
    supportBigNumbers: true,
    bigNumberStrings: true,
  });
  // The server's own statement limit: MariaDB's max_statement_time (seconds) or MySQL's
  // max_execution_time (ms); each server refuses the other's name, which is fine.
  const limits = [`SET SESSION max_statement_time = ${bounds.timeoutMs / 1000}`, `SET SESSION max_execution_time = ${bounds.timeoutMs}`];
  return new MysqlDialect({
    pool,
    onCreateConnection: async (connection) => {
      for (const statement of limits) await connection.executeQuery(CompiledQuery.raw(statement)).catch(() => undefined);
    },
  });
}

async function mssqlDialect(url: string, bounds: DatabaseBounds): Promise<Dialect> {
  const [tedious, tarn] = await Promise.all([import('tedious'), import('tarn')]);
  const parsed = new URL(url);
  const flag = (name: string): boolean | undefined => (parsed.searchParams.has(name) ? parsed.searchParams.get(name) === 'true' : undefined);
  const instanceName = parsed.searchParams.get('instanceName') ?? undefined;
  return new MssqlDialect({
    // Kysely would send SELECT 1 before every lookup to check the connection: a lookup is one round
    // trip, as on the other engines, and a connection the server dropped fails its lookup instead.
    validateConnections: false,
    tarn: {
      ...tarn,
      options: { min: 0, max: bounds.poolSize, acquireTimeoutMillis: bounds.timeoutMs, createTimeoutMillis: bounds.timeoutMs, propagateCreateError: true },
    },
    tedious: {
      ...tedious,
      connectionFactory: () =>
        new tedious.Connection({
          server: parsed.hostname,
          authentication: { type: 'default', options: { userName: decodeURIComponent(parsed.username), password: decodeURIComponent(parsed.password) } },
          options: {
            // A named instance is found through the browser service, not a port.
            ...(instanceName ? { instanceName } : { port: Number(parsed.port || 1433) }),
            database: decodeURIComponent(parsed.pathname.slice(1)) || undefined,
            encrypt: flag('encrypt') ?? true,
            trustServerCertificate: flag('trustServerCertificate') ?? false,
            connectTimeout: bounds.timeoutMs,
            requestTimeout: bounds.timeoutMs,
            // A datetime's wall clock arrives in the Date's UTC fields, whatever this process's zone.
            useUTC: true,
          },
        }),
    },
  });
}
