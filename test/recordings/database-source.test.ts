/**
 * The product's database as a recording source, against the real engines that run here (PostgreSQL
 * and MariaDB on 127.0.0.1, a fresh database per run), and SQL Server through the T-SQL it compiles.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { after, before, describe, test } from 'node:test';
import mysql from 'mysql2/promise';
import pg from 'pg';
import { recordingColumns } from '../../src/protocol/catalog.js';
import { ResultCode } from '../../src/protocol/result-codes.js';
import { compileRecordingLookups } from '../../src/recordings/database-dialect.js';
import { openDatabaseSource, type DatabaseSource } from '../../src/recordings/database-source.js';
import { RecorderClock } from '../../src/recordings/recorder-clock.js';
import { fieldNameOfColumn, integerColumns, RecordingLookupError, RecordingSourceFailure } from '../../src/recordings/recording.js';

const context = { requestId: '7' };
const chicago = new RecorderClock('America/Chicago');
const password = 'Sup3r$ecret-pw';

/** Rows written as the recorder in Chicago writes them: its local time, no zone. */
const rows = [
  // CST (UTC-6).
  { ident: '46', filename: 'C:\\Recordings\\20240115\\1111\\1111-14-39-50.au', duration: 120, recording_time: '2024-01-15 14:39:50', device_id: '1111', user2: '10121968', agent_id: '7', calldirection: 'I', medialabel: 'Sales' },
  // The same device later, in CDT (UTC-5): the newest of device 1111.
  { ident: '47', filename: 'C:\\Recordings\\20240704\\1111\\1111-09-00-00.au', duration: 60, recording_time: '2024-07-04 09:00:00', device_id: '1111', user2: '10121969', agent_id: '7', calldirection: 'O', medialabel: '' },
  // Half an hour after the clocks sprang forward; a USER2 that is SQL.
  { ident: '48', filename: 'C:\\Recordings\\20240310\\2222\\2222-03-30-00.au', duration: 30, recording_time: '2024-03-10 03:30:00', device_id: '2222', user2: "x' OR '1'='1", agent_id: '8', calldirection: 'I', medialabel: '' },
  // An ident past 2^53 (a Number would change it), in the hour that happens twice in November.
  { ident: '9007199254740993', filename: 'C:\\Recordings\\20241103\\3333\\3333-01-30-00.au', duration: 5, recording_time: '2024-11-03 01:30:00', device_id: '3333', user2: '10121970', agent_id: '9', calldirection: '?', medialabel: '' },
];
const unixOf46 = Date.UTC(2024, 0, 15, 20, 39, 50) / 1000;
const unixOf47 = Date.UTC(2024, 6, 4, 14, 0, 0) / 1000;
const unixOf48 = Date.UTC(2024, 2, 10, 8, 30, 0) / 1000;
/** 2024-11-03 01:30 in Chicago: first in CDT, an hour later again in CST. */
const unixOfRepeated = [Date.UTC(2024, 10, 3, 6, 30, 0) / 1000, Date.UTC(2024, 10, 3, 7, 30, 0) / 1000];

/** The table lacks this optional column, as an older installation might. */
const missingColumn = 'filename_video';
const ownColumns = new Set(['ident', 'filename', 'duration', 'recording_time']);

interface Fixture {
  url: (user?: string) => string;
  database: string;
  /** The description status() gives, without credentials. */
  description: string;
  /** The table schema-qualified, as a configuration may name it. */
  qualifiedTable: string;
  rowCount(): Promise<number>;
  /** Holds a lock no reader of the table gets past, until the returned function releases it. */
  lockTable(): Promise<() => Promise<void>>;
  /** The gateway's statements the server is still running (or keeping waiting). */
  runningLookups(): Promise<number>;
  drop(): Promise<void>;
}

function columnType(column: string, timeType: string): string {
  if (column === 'ident') return 'BIGINT PRIMARY KEY';
  if (column === 'recording_time') return timeType;
  if (integerColumns.has(column)) return 'INTEGER';
  return 'VARCHAR(255)';
}

const tableColumns = recordingColumns.filter((c) => c !== missingColumn);
const insertedColumns = Object.keys(rows[0]!);

async function postgresFixture(): Promise<Fixture> {
  const database = `recordings_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ host: '127.0.0.1', port: 5432, user: 'postgres', database: 'test' });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${database}`);
  const client = new pg.Client({ host: '127.0.0.1', port: 5432, user: 'postgres', database });
  await client.connect();
  await client.query(`CREATE TABLE "Recording" (${tableColumns.map((c) => `${c} ${columnType(c, 'timestamp(0) without time zone')}`).join(', ')})`);
  for (const row of rows) {
    await client.query(`INSERT INTO "Recording" (${insertedColumns.join(', ')}) VALUES (${insertedColumns.map((_, i) => `$${i + 1}`).join(', ')})`, Object.values(row));
  }
  return {
    // The server trusts loopback, so the password is carried and never checked.
    url: (user = 'postgres') => `postgres://${user}:${encodeURIComponent(password)}@127.0.0.1:5432/${database}`,
    database,
    description: `postgresql 127.0.0.1:5432/${database}`,
    qualifiedTable: 'public.Recording',
    rowCount: async () => Number((await client.query('SELECT count(*) AS n FROM "Recording"')).rows[0].n),
    async lockTable() {
      const locker = new pg.Client({ host: '127.0.0.1', port: 5432, user: 'postgres', database });
      await locker.connect();
      await locker.query('BEGIN');
      await locker.query('LOCK TABLE "Recording" IN ACCESS EXCLUSIVE MODE');
      return async () => {
        await locker.query('COMMIT');
        await locker.end();
      };
    },
    runningLookups: async () =>
      Number((await admin.query(`SELECT count(*) AS n FROM pg_stat_activity WHERE datname = $1 AND application_name = 'uptivity-gateway' AND state = 'active'`, [database])).rows[0].n),
    async drop() {
      await client.end();
      await admin.query(`DROP DATABASE ${database} WITH (FORCE)`);
      await admin.end();
    },
  };
}

/** The manual's spelling of some columns: MySQL matches column names in any case. */
const manualSpelling: Record<string, string> = { ident: 'Ident', calldirection: 'Calldirection', medialabel: 'mediaLabel' };

async function mariadbFixture(): Promise<Fixture> {
  const database = `recordings_${randomBytes(6).toString('hex')}`;
  const admin = await mysql.createConnection({ host: '127.0.0.1', port: 3306, user: 'root', database: 'test' });
  await admin.query(`CREATE DATABASE ${database}`);
  const client = await mysql.createConnection({ host: '127.0.0.1', port: 3306, user: 'root', database });
  await client.query(`CREATE TABLE Recording (${tableColumns.map((c) => `${manualSpelling[c] ?? c} ${columnType(c, 'DATETIME')}`).join(', ')})`);
  for (const row of rows) {
    await client.query(`INSERT INTO Recording (${insertedColumns.join(', ')}) VALUES (${insertedColumns.map(() => '?').join(', ')})`, Object.values(row));
  }
  return {
    // root has no password here; a wrong one would be refused, so this URL carries none.
    url: (user = 'root') => `mariadb://${user}@127.0.0.1:3306/${database}`,
    database,
    description: `mariadb 127.0.0.1:3306/${database}`,
    qualifiedTable: `${database}.Recording`,
    rowCount: async () => Number((await client.query<mysql.RowDataPacket[]>('SELECT count(*) AS n FROM Recording'))[0][0]!.n),
    async lockTable() {
      const locker = await mysql.createConnection({ host: '127.0.0.1', port: 3306, user: 'root', database });
      await locker.query('LOCK TABLES Recording WRITE');
      return async () => {
        await locker.query('UNLOCK TABLES');
        await locker.end();
      };
    },
    runningLookups: async () =>
      Number((await admin.query<mysql.RowDataPacket[]>(`SELECT count(*) AS n FROM information_schema.processlist WHERE db = ? AND info LIKE 'select * from%'`, [database]))[0][0]!.n),
    async drop() {
      await client.end();
      await admin.query(`DROP DATABASE ${database}`);
      await admin.end();
    },
  };
}

async function rejectsWithin(ms: number, work: Promise<unknown>): Promise<RecordingSourceFailure> {
  const started = performance.now();
  const error = await work.then(
    () => assert.fail('the lookup should have failed'),
    (e: unknown) => e,
  );
  const took = performance.now() - started;
  assert.ok(took < ms, `failed after ${Math.round(took)} ms, allowed ${ms}`);
  assert.ok(error instanceof RecordingSourceFailure, String(error));
  assert.equal(error.resultCode, ResultCode.API_DATABASE_QUERY_ERROR);
  assert.equal(error.source, 'database');
  return error;
}

for (const [engine, setUp] of [
  ['postgresql', postgresFixture],
  ['mariadb', mariadbFixture],
] as const) {
  describe(`the database source on ${engine}`, () => {
    let fixture: Fixture;
    let source: DatabaseSource;

    before(async () => {
      fixture = await setUp();
      source = await openDatabaseSource({ url: fixture.url(), table: 'Recording', poolSize: 2, timeoutMs: 5000, clock: chicago });
    });
    after(async () => {
      await source?.close();
      await fixture?.drop();
    });

    test('status names engine, place and table, without credentials', async () => {
      assert.deepEqual(source.status(), { name: 'database', active: true, detail: `${fixture.description}, table Recording` });
      assert.equal(await source.usable(), true);
      assert.equal(source.authoritative, true);
      assert.deepEqual([...source.lookupColumns], recordingColumns);
    });

    test('a unique column finds its recording, with every column the table has', async () => {
      const found = await source.findByColumn('user2', '10121968', context);
      assert.ok(found);
      assert.equal(found.recordId, '46');
      assert.equal(found.filename, 'C:\\Recordings\\20240115\\1111\\1111-14-39-50.au');
      assert.equal(found.durationSeconds, 120);
      assert.equal(found.recordingTime, unixOf46);
      assert.equal(found.source, 'database');
      const names = tableColumns.filter((c) => !ownColumns.has(c)).map(fieldNameOfColumn);
      assert.deepEqual(found.fields.map(([name]) => name), names);
      const fields = new Map(found.fields);
      assert.equal(fields.get('DEVICEID'), '1111');
      assert.equal(fields.get('USER2'), '10121968');
      assert.equal(fields.get('AGENTID'), '7');
      assert.equal(fields.get('CALLDIRECTION'), 'I');
      assert.equal(fields.get('MEDIALABEL'), 'Sales');
      assert.equal(fields.get('AUDIOSIZE'), '', 'NULL reads empty');
      assert.equal(fields.has('FILENAME_VIDEO'), false, 'the column the table lacks');
      assert.equal((await source.findByColumn('ident', '46', context))?.recordId, '46');
      assert.equal((await source.findByColumn('duration', '60', context))?.recordId, '47');
      assert.equal(await source.findByColumn('user2', '99999999', context), undefined);
    });

    test('a column that is not unique gives the newest recording', async () => {
      assert.equal((await source.findByColumn('device_id', '1111', context))?.recordId, '47');
      assert.equal((await source.findByColumn('agent_id', '7', context))?.recordId, '47');
      assert.equal((await source.findByColumn('calldirection', 'I', context))?.recordId, '48');
    });

    test('a schema-qualified table', async () => {
      const qualified = await openDatabaseSource({ url: fixture.url(), table: fixture.qualifiedTable, poolSize: 1, timeoutMs: 5000, clock: chicago });
      try {
        assert.equal((await qualified.findByColumn('user2', '10121969', context))?.recordId, '47');
      } finally {
        await qualified.close();
      }
    });

    test('an IDENT list of 1000 is one query, answered by each spelling asked', async () => {
      const idents = Array.from({ length: 990 }, (_, i) => String(100_000 + i));
      idents.push('46', '46', '48', '9007199254740993', '46', '0048', 'abc', '47', '1e3', '');
      assert.equal(idents.length, 1000);
      const before = source.queries;
      const found = await source.findByIdents(idents, context);
      assert.equal(source.queries - before, 1);
      assert.deepEqual([...found.keys()].sort(), ['0048', '46', '47', '48', '9007199254740993']);
      assert.equal(found.get('0048')?.recordId, '48');
      assert.equal(found.get('9007199254740993')?.recordId, '9007199254740993');
      assert.equal(found.get('9007199254740993')?.filename, 'C:\\Recordings\\20241103\\3333\\3333-01-30-00.au');
      assert.equal(found.get('47')?.recordingTime, unixOf47);
    });

    test('an IDENT list of nothing valid sends no query; one too long is refused before any', async () => {
      const before = source.queries;
      assert.equal((await source.findByIdents(['abc', '-1', '1234567890123456789'], context)).size, 0);
      const tooMany = Array.from({ length: 1001 }, (_, i) => String(i + 1));
      await assert.rejects(source.findByIdents(tooMany, context), (e: unknown) => e instanceof RecordingLookupError && e.resultCode === ResultCode.API_INVALID_MESSAGE_FORMAT);
      assert.equal(source.queries, before);
    });

    test('UNIQUEID is a value, never SQL', async () => {
      assert.equal((await source.findByColumn('user2', "x' OR '1'='1", context))?.recordId, '48', 'the literal row');
      for (const hostile of ["1111' OR '1'='1", `'; DROP TABLE "Recording"; --`, "'; DROP TABLE Recording; --", "\\' OR 1=1 -- ", '1111" OR "1"="1']) {
        assert.equal(await source.findByColumn('device_id', hostile, context), undefined, hostile);
        assert.equal(await source.findByColumn('user2', hostile, context), undefined, hostile);
      }
      assert.equal(await fixture.rowCount(), rows.length);
    });

    test('a UNIQUEFIELD that is not a column is refused before any query', async () => {
      const before = source.queries;
      for (const column of ['user2; DROP TABLE "Recording"', 'ident) OR (1=1', 'ident` OR 1=1 -- ', 'USER2', 'ident ', 'password', '']) {
        await assert.rejects(
          source.findByColumn(column, '46', context),
          (e: unknown) => e instanceof RecordingLookupError && !(e instanceof RecordingSourceFailure) && e.resultCode === ResultCode.API_INVALID_MESSAGE_FORMAT,
          column,
        );
      }
      assert.equal(source.queries, before);
      assert.equal(await fixture.rowCount(), rows.length);
    });

    test('a value an integer column cannot hold matches nothing, without a query', async () => {
      const before = source.queries;
      for (const [column, value] of [['ident', '46 OR 1=1'], ['ident', '4.6e1'], ['duration', '1.5'], ['audio_size', 'abc'], ['ident', ''], ['recording_time', 'yesterday'], ['recording_time', '2024-01-15 14:39:50']] as const) {
        assert.equal(await source.findByColumn(column, value, context), undefined, `${column}=${value}`);
      }
      assert.equal(source.queries, before);
    });

    test("recording_time is the recorder's local time: UNIX seconds in and out, across daylight saving", async () => {
      for (const [ident, unix] of [['46', unixOf46], ['47', unixOf47], ['48', unixOf48]] as const) {
        const found = await source.findByColumn('recording_time', String(unix), context);
        assert.equal(found?.recordId, ident);
        assert.equal(found.recordingTime, unix);
      }
      // Either instant of the repeated hour reads 01:30 on the recorder's wall.
      for (const unix of unixOfRepeated) {
        const found = await source.findByColumn('recording_time', String(unix), context);
        assert.equal(found?.recordId, '9007199254740993');
        assert.ok(unixOfRepeated.includes(found.recordingTime!));
      }
      assert.equal(await source.findByColumn('recording_time', String(unixOf46 + 1), context), undefined);
      assert.equal(await source.findByColumn('recording_time', String(unixOf46 - 1), context), undefined);
    });

    test('a query held up past timeoutMs fails with API_DATABASE_QUERY_ERROR, and the pool recovers', async () => {
      const quick = await openDatabaseSource({ url: fixture.url(), table: 'Recording', poolSize: 1, timeoutMs: 300, clock: chicago });
      try {
        assert.equal((await quick.findByColumn('ident', '46', context))?.recordId, '46');
        const release = await fixture.lockTable();
        try {
          const error = await rejectsWithin(300 + 1000, quick.findByColumn('ident', '46', context));
          assert.match(error.message, /did not answer within 300 ms/);
          // The server ended the statement itself (statement_timeout, max_statement_time) while the
          // lock is still held: the connection is free, not stuck behind the lock.
          let running = await fixture.runningLookups();
          for (let tries = 0; running > 0 && tries < 20; tries++) {
            await new Promise((resolve) => setTimeout(resolve, 50));
            running = await fixture.runningLookups();
          }
          assert.equal(running, 0);
        } finally {
          await release();
        }
        assert.equal((await quick.findByColumn('ident', '47', context))?.recordId, '47');
      } finally {
        await quick.close();
      }
    });
  });
}

/** A port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = net.createServer().listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** A server that accepts connections and never says a word. */
async function silentServer(): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => undefined);
  });
  server.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

describe('a database that is not there', () => {
  for (const [scheme, label] of [
    ['postgres', 'postgresql'],
    ['mariadb', 'mariadb'],
    ['sqlserver', 'sqlserver'],
  ] as const) {
    test(`${scheme}: a closed port fails at once, without the password`, async () => {
      const port = await closedPort();
      const url = `${scheme}://gateway:${encodeURIComponent(password)}@127.0.0.1:${port}/test`;
      const source = await openDatabaseSource({ url, table: 'Recording', poolSize: 1, timeoutMs: 2000, clock: chicago });
      try {
        const error = await rejectsWithin(2000 + 500, source.findByIdents(['46'], context));
        assert.ok(!error.message.includes(password) && !error.message.includes(encodeURIComponent(password)), error.message);
        assert.ok(!error.message.includes(url), error.message);
        assert.equal(source.status().detail, `${label} 127.0.0.1:${port}/test, table Recording`);
      } finally {
        await source.close();
      }
    });

    test(`${scheme}: a server that never answers fails within timeoutMs`, async () => {
      const server = await silentServer();
      const source = await openDatabaseSource({ url: `${scheme}://gateway:${encodeURIComponent(password)}@127.0.0.1:${server.port}/test`, poolSize: 1, timeoutMs: 400, clock: chicago });
      try {
        const error = await rejectsWithin(400 + 1000, source.findByColumn('user2', '10121968', context));
        assert.match(error.message, /did not answer within 400 ms/);
      } finally {
        await source.close();
        await server.close();
      }
    });
  }

  test('an unknown scheme names the supported ones and repeats nothing of the URL', async () => {
    await assert.rejects(openDatabaseSource({ url: `oracle://scott:${password}@db/orcl`, poolSize: 1, timeoutMs: 1000, clock: chicago }), (e: unknown) => {
      assert.ok(e instanceof RangeError);
      assert.match(e.message, /mssql:\/\/, sqlserver:\/\/, postgres:\/\/, postgresql:\/\/, mysql:\/\/ or mariadb:\/\//);
      assert.ok(!e.message.includes(password) && !e.message.includes('scott'), e.message);
      return true;
    });
    await assert.rejects(openDatabaseSource({ url: `not a url ${password}`, poolSize: 1, timeoutMs: 1000, clock: chicago }), (e: unknown) => e instanceof RangeError && !e.message.includes(password));
  });

  test('bounds are checked when the source is opened', async () => {
    const url = 'postgres://127.0.0.1/test';
    await assert.rejects(openDatabaseSource({ url, poolSize: 0, timeoutMs: 1000, clock: chicago }), /poolSize/);
    await assert.rejects(openDatabaseSource({ url, poolSize: 1, timeoutMs: 0, clock: chicago }), /timeoutMs/);
    await assert.rejects(openDatabaseSource({ url, poolSize: 1, timeoutMs: 1000, clock: chicago, maxIdents: 5000 }), /maxIdents/);
    await assert.rejects(openDatabaseSource({ url, table: 'Recording; DROP TABLE Recording', poolSize: 1, timeoutMs: 1000, clock: chicago }), /Recording table must be a name/);
  });
});

test('importing the source loads neither Kysely nor a driver; opening one does', () => {
  // A resolve hook (it runs on its own thread) prints each of those packages the program reaches.
  const hook = `export async function resolve(s, c, next) { const r = await next(s, c); if (/node_modules\\/(kysely|pg|mysql2|tedious|tarn)\\//.test(r.url)) console.log('loaded', r.url); return r; }`;
  const register = `import { register } from 'node:module'; register(${JSON.stringify(`data:text/javascript,${encodeURIComponent(hook)}`)});`;
  const loaded = (program: string): string => {
    const child = spawnSync(process.execPath, ['--import', `data:text/javascript,${encodeURIComponent(register)}`, '--input-type=module', '-e', program], { encoding: 'utf8' });
    assert.equal(child.status, 0, child.stderr);
    return child.stdout;
  };
  const sourceModule = new URL('../../src/recordings/database-source.js', import.meta.url).href;
  assert.equal(loaded(`await import(${JSON.stringify(sourceModule)});`), '');
  const opened = loaded(
    `const { openDatabaseSource } = await import(${JSON.stringify(sourceModule)}); const { RecorderClock } = await import(${JSON.stringify(new URL('../../src/recordings/recorder-clock.js', import.meta.url).href)});` +
      `const s = await openDatabaseSource({ url: 'postgres://127.0.0.1:1/x', poolSize: 1, timeoutMs: 100, clock: new RecorderClock('UTC') }); await s.close();`,
  );
  assert.match(opened, /kysely/);
  assert.match(opened, /node_modules\/pg\//);
  assert.doesNotMatch(opened, /mysql2|tedious|tarn/);
});

describe('the SQL of the lookups', () => {
  const plain = (q: { sql: string; parameters: readonly unknown[] }) => ({ sql: q.sql, parameters: [...q.parameters] });
  const from = { year: 2024, month: 1, day: 15, hour: 14, minute: 39, second: 50 };
  const before = { ...from, second: 51 };

  test('SQL Server: TOP, bracketed names, @ parameters, a schema-qualified table', () => {
    const lookups = compileRecordingLookups('mssql', 'dbo.Recording');
    assert.deepEqual(plain(lookups.byColumn('user2', '10121968')), {
      sql: 'select top(1) * from [dbo].[Recording] where [user2] = @1 order by [recording_time] desc, [ident] desc',
      parameters: ['10121968'],
    });
    assert.deepEqual(plain(lookups.byIdents(['46', '47', '48'])), {
      sql: 'select top(3) * from [dbo].[Recording] where [ident] in (@1, @2, @3)',
      parameters: ['46', '47', '48'],
    });
    assert.deepEqual(plain(lookups.byRecordingTime(from, before)), {
      sql: 'select top(1) * from [dbo].[Recording] where [recording_time] >= @1 and [recording_time] < @2 order by [recording_time] desc, [ident] desc',
      parameters: ['2024-01-15T14:39:50', '2024-01-15T14:39:51'],
    });
    assert.deepEqual(plain(lookups.byColumn('user2', "x' OR '1'='1")).parameters, ["x' OR '1'='1"]);
  });

  test('PostgreSQL and MySQL: LIMIT, their own quoting and parameters', () => {
    assert.deepEqual(plain(compileRecordingLookups('postgres', 'Recording').byColumn('device_id', '1111')), {
      sql: 'select * from "Recording" where "device_id" = $1 order by "recording_time" desc, "ident" desc limit 1',
      parameters: ['1111'],
    });
    assert.deepEqual(plain(compileRecordingLookups('mysql', 'Recording').byIdents(['46', '47'])), {
      sql: 'select * from `Recording` where `ident` in (?, ?) limit 2',
      parameters: ['46', '47'],
    });
  });

  test('a column that is not a Recording column, or a table that is not a name, is refused before compiling', () => {
    for (const engine of ['mssql', 'postgres', 'mysql'] as const) {
      const lookups = compileRecordingLookups(engine, 'dbo.Recording');
      for (const column of ['user2]; DROP TABLE [Recording]; --', 'ident) OR (1=1', 'user2; DROP TABLE "Recording"', 'Ident']) {
        assert.throws(() => lookups.byColumn(column, '1'), (e: unknown) => e instanceof RecordingLookupError && e.resultCode === ResultCode.API_INVALID_MESSAGE_FORMAT, column);
      }
      for (const table of ['Recording]; DROP TABLE [x', 'a.b.c', '"Recording"', '']) {
        assert.throws(() => compileRecordingLookups(engine, table), RangeError, table);
      }
    }
  });
});
