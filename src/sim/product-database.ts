/**
 * The product's Recording table in an external database, PostgreSQL or MySQL/MariaDB, as a real
 * installation has it: the manual's columns (`recordingColumns`), lower-case, `ident` the key,
 * `recording_time` a zone-less local date-time, and the indexes an installation's lookups use. The
 * simulator writes it (see recording-mirror.ts) so that the gateway's database source can be tested
 * against a real engine. The driver (`pg` or `mysql2`) is imported when a database is opened, so a
 * simulator without one loads neither. The SQL is written here per engine, by hand: two statements
 * each, and the table's DDL is engine-specific anyway.
 */
import type { Pool as PgPool, PoolClient as PgClient } from 'pg';
import type { Pool as MysqlPool, PoolConnection as MysqlConnection } from 'mysql2/promise';
import { recordingColumns } from '../protocol/catalog.js';
import { readProductDatabaseUrl, recordingTable } from '../protocol/product-database.js';

/** The engines the simulator keeps the table in (SQL Server cannot run where it is tested). */
const engines = ['postgres', 'mysql'] as const;
export type ProductDatabaseEngine = (typeof engines)[number];


export interface ProductDatabaseTarget {
  engine: ProductDatabaseEngine;
  /** `postgresql 127.0.0.1:5432/test`: where, without user or password, for messages and the store. */
  description: string;
  /** The URL and its password, which no message may contain. */
  secrets: readonly string[];
}

/** The engine and place a URL names; a RangeError naming the supported schemes, never the URL. */
export function productDatabaseTarget(url: string): ProductDatabaseTarget {
  const { engine, description, secrets } = readProductDatabaseUrl(url, engines);
  return { engine: engine as ProductDatabaseEngine, description, secrets };
}

/** Columns holding whole numbers; `ident` is the key. */
const bigintColumns: ReadonlySet<string> = new Set(['ident', 'audio_size', 'video_size']);
const integerColumns: ReadonlySet<string> = new Set(['duration', 'wrap_duration']);

/** Characters a text column holds. */
export function textWidth(column: string): number {
  return column === 'filename' ? 512 : 255;
}

/** How a value of the Recording table is kept: a number, the zone-less time, or text. */
export function columnKind(column: string): 'number' | 'time' | 'text' {
  if (bigintColumns.has(column) || integerColumns.has(column)) return 'number';
  return column === 'recording_time' ? 'time' : 'text';
}

function columnDefinition(column: string, engine: ProductDatabaseEngine): string {
  if (column === 'ident') return 'ident BIGINT NOT NULL PRIMARY KEY';
  if (bigintColumns.has(column)) return `${column} BIGINT NOT NULL DEFAULT 0`;
  if (integerColumns.has(column)) return `${column} INTEGER NOT NULL DEFAULT 0`;
  if (column === 'recording_time') return `${column} ${engine === 'postgres' ? 'timestamp(0) without time zone' : 'DATETIME'} NOT NULL`;
  return `${column} VARCHAR(${textWidth(column)}) NOT NULL DEFAULT ''`;
}

/** The lookups of an installation: by time, a device's recordings by time, and USER2 (a CSN). */
const indexes: readonly (readonly string[])[] = [['recording_time'], ['device_id', 'recording_time'], ['user2']];
const indexName = (columns: readonly string[]): string => `${recordingTable}_${columns.join('_')}`;

/** The statements that create the table on an engine, in order (the DDL the README shows). */
export function recordingTableDdl(engine: ProductDatabaseEngine): string[] {
  const columns = recordingColumns.map((c) => `  ${columnDefinition(c, engine)}`);
  if (engine === 'postgres') {
    // Quoted, or PostgreSQL would fold the name to lower case.
    const table = `"${recordingTable}"`;
    return [
      `CREATE TABLE IF NOT EXISTS ${table} (\n${columns.join(',\n')}\n)`,
      ...indexes.map((cols) => `CREATE INDEX IF NOT EXISTS "${indexName(cols)}" ON ${table} (${cols.join(', ')})`),
    ];
  }
  // MySQL has no CREATE INDEX IF NOT EXISTS; indexes declared with the table are created with it.
  const keys = indexes.map((cols) => `  INDEX ${indexName(cols)} (${cols.join(', ')})`);
  return [`CREATE TABLE IF NOT EXISTS ${recordingTable} (\n${[...columns, ...keys].join(',\n')}\n) DEFAULT CHARSET=utf8mb4`];
}

/** One row of the Recording table: a value for each of `recordingColumns`, in that order. */
export type RecordingTableRow = readonly (string | number)[];

export interface ProductDatabase {
  readonly target: ProductDatabaseTarget;
  /**
   * Create the table (and its indexes) when it is absent; true when it was created. An existing
   * table missing one of the manual's columns is an error naming them.
   */
  ensureTable(): Promise<boolean>;
  /** In one transaction: insert or replace `rows`, delete the rows of `deleted`. */
  write(rows: readonly RecordingTableRow[], deleted: readonly number[]): Promise<void>;
  close(): Promise<void>;
}

export interface ProductDatabaseBounds {
  connectTimeoutMs: number;
  /** Each statement, on the server and in the client. */
  statementTimeoutMs: number;
}

/** A message about a failure that repeats none of the URL's secrets. */
export function describeFailure(error: unknown, target: ProductDatabaseTarget): string {
  let text: string;
  if (error instanceof AggregateError && error.errors.length > 0) {
    // Connecting to a name with several addresses fails with one error per address.
    text = [...new Set(error.errors.map((e: unknown) => (e instanceof Error ? e.message : String(e))))].join('; ');
  } else if (error instanceof Error) {
    text = error.message || (error as NodeJS.ErrnoException).code || error.name;
  } else {
    text = String(error);
  }
  for (const secret of target.secrets) text = text.replaceAll(secret, '***');
  return text.replace(/\s+/g, ' ').trim();
}

export async function openProductDatabase(url: string, bounds: ProductDatabaseBounds): Promise<ProductDatabase> {
  const target = productDatabaseTarget(url);
  return target.engine === 'postgres' ? openPostgres(url, target, bounds) : openMysql(url, target, bounds);
}

const missingColumns = (present: readonly string[]): string[] => {
  const names = new Set(present.map((c) => c.toLowerCase()));
  return recordingColumns.filter((c) => !names.has(c));
};

function lacking(target: ProductDatabaseTarget, missing: readonly string[]): Error {
  return new Error(`the ${recordingTable} table of ${target.description} lacks the columns ${missing.join(', ')}`);
}

/** `col = EXCLUDED.col` / `col = VALUES(col)` for every column but the key. */
const updatedColumns = recordingColumns.filter((c) => c !== 'ident');

async function openPostgres(url: string, target: ProductDatabaseTarget, bounds: ProductDatabaseBounds): Promise<ProductDatabase> {
  const pg = await import('pg');
  const pool: PgPool = new pg.Pool({
    connectionString: url,
    max: 2,
    connectionTimeoutMillis: bounds.connectTimeoutMs,
    statement_timeout: bounds.statementTimeoutMs,
    query_timeout: bounds.statementTimeoutMs,
    idleTimeoutMillis: 10_000,
    application_name: 'uptivity-core-sim',
  });
  // An idle connection the server ends is an 'error' on the pool, which drops that client itself;
  // without a listener the event would end the process.
  pool.on('error', () => undefined);
  // A client whose server goes away while it is lent out emits 'error' too, besides failing its
  // query; the pool listens only to idle clients, and an unheard 'error' ends the process.
  pool.on('connect', (client) => client.on('error', () => undefined));
  const table = `"${recordingTable}"`;
  const inTransaction = async (work: (client: PgClient) => Promise<void>): Promise<void> => {
    const client = await pool.connect();
    let failure: Error | undefined;
    try {
      await client.query('BEGIN');
      await work(client);
      await client.query('COMMIT');
    } catch (error) {
      failure = error instanceof Error ? error : new Error(String(error));
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    } finally {
      // A client that failed may be broken: the pool discards it rather than lend it again.
      client.release(failure);
    }
  };
  const upsertTail = ` ON CONFLICT (ident) DO UPDATE SET ${updatedColumns.map((c) => `${c} = EXCLUDED.${c}`).join(', ')}`;
  return {
    target,
    async ensureTable() {
      const present = await pool.query<{ column_name: string }>(
        'SELECT column_name FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = $1',
        [recordingTable],
      );
      if (present.rows.length > 0) {
        const missing = missingColumns(present.rows.map((r) => r.column_name));
        if (missing.length > 0) throw lacking(target, missing);
        return false;
      }
      await inTransaction(async (client) => {
        for (const statement of recordingTableDdl('postgres')) await client.query(statement);
      });
      return true;
    },
    async write(rows, deleted) {
      await inTransaction(async (client) => {
        if (rows.length > 0) {
          const width = recordingColumns.length;
          const tuples = rows.map((_, r) => `(${recordingColumns.map((__, c) => `$${r * width + c + 1}`).join(', ')})`);
          await client.query(`INSERT INTO ${table} (${recordingColumns.join(', ')}) VALUES ${tuples.join(', ')}${upsertTail}`, rows.flat());
        }
        if (deleted.length > 0) await client.query(`DELETE FROM ${table} WHERE ident = ANY($1::bigint[])`, [deleted.map(String)]);
      });
    },
    close: () => pool.end(),
  };
}

async function openMysql(url: string, target: ProductDatabaseTarget, bounds: ProductDatabaseBounds): Promise<ProductDatabase> {
  const mysql = await import('mysql2/promise');
  const pool: MysqlPool = mysql.createPool({
    uri: url,
    connectionLimit: 2,
    connectTimeout: bounds.connectTimeoutMs,
    charset: 'utf8mb4',
    dateStrings: true,
    supportBigNumbers: true,
    bigNumberStrings: true,
  });
  // A pooled connection listens for one 'error' only; a second one, unheard, would end the process.
  pool.on('connection', (connection) => connection.on('error', () => undefined));
  const timeout = bounds.statementTimeoutMs;
  const inTransaction = async (work: (connection: MysqlConnection) => Promise<void>): Promise<void> => {
    const connection = await pool.getConnection();
    try {
      await connection.beginTransaction();
      await work(connection);
      await connection.commit();
      connection.release();
    } catch (error) {
      await connection.rollback().catch(() => undefined);
      // A connection that failed may be broken: it leaves the pool.
      connection.destroy();
      throw error;
    }
  };
  const upsertTail = ` ON DUPLICATE KEY UPDATE ${updatedColumns.map((c) => `${c} = VALUES(${c})`).join(', ')}`;
  return {
    target,
    async ensureTable() {
      const [present] = await pool.query<import('mysql2/promise').RowDataPacket[]>({
        sql: 'SELECT column_name AS name FROM information_schema.columns WHERE table_schema = DATABASE() AND table_name = ?',
        values: [recordingTable],
        timeout,
      });
      if (present.length > 0) {
        const missing = missingColumns(present.map((r) => String(r.name)));
        if (missing.length > 0) throw lacking(target, missing);
        return false;
      }
      for (const statement of recordingTableDdl('mysql')) await pool.query({ sql: statement, timeout });
      return true;
    },
    async write(rows, deleted) {
      await inTransaction(async (connection) => {
        // mysql2 expands a list of lists into (..), (..) and escapes every value.
        if (rows.length > 0) {
          await connection.query({ sql: `INSERT INTO ${recordingTable} (${recordingColumns.join(', ')}) VALUES ?${upsertTail}`, values: [rows], timeout });
        }
        if (deleted.length > 0) await connection.query({ sql: `DELETE FROM ${recordingTable} WHERE ident IN (?)`, values: [deleted], timeout });
      });
    },
    close: () => pool.end(),
  };
}
