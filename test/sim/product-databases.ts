/**
 * The real database engines the simulator's external Recording table is tested against, on this
 * machine and in CI: PostgreSQL (127.0.0.1:5432, user postgres, trust) and MariaDB (127.0.0.1:3306,
 * root, no password). Each fixture creates a database of its own with a random name and drops it,
 * so that runs in parallel never meet. Also a TCP relay in front of an engine, to cut it off.
 */
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { once } from 'node:events';
import mysql from 'mysql2/promise';
import pg from 'pg';

export type Engine = 'postgres' | 'mariadb';

/** A row of the Recording table with every value as text (times `YYYY-MM-DD HH:MM:SS`). */
export type TextRow = Record<string, string>;

export interface ExternalDatabase {
  engine: Engine;
  name: string;
  port: number;
  /** The URL of the database, through another host:port when given (a relay). */
  url(port?: number): string;
  /** The password the URL carries, which no message may repeat ('' when it carries none). */
  password: string;
  recording(ident: number | string): Promise<TextRow | undefined>;
  recordings(): Promise<TextRow[]>;
  count(): Promise<number>;
  tableExists(): Promise<boolean>;
  exec(statement: string): Promise<void>;
  /** Hold a lock that blocks writes to the table (reads go on) until the returned release. */
  lockWrites(): Promise<() => Promise<void>>;
  drop(): Promise<void>;
}

const text = (row: Record<string, unknown>): TextRow =>
  Object.fromEntries(Object.entries(row).map(([k, v]) => [k.toLowerCase(), v === null ? '' : String(v)]));

/** OID of PostgreSQL's zone-less timestamp: read as written, not as a Date in this process's zone. */
const pgTimestamp = 1114;
const pgTypes = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === pgTimestamp ? (value: string) => value : pg.types.getTypeParser(oid, format)) as typeof pg.types.getTypeParser,
};

export async function createPostgresDatabase(): Promise<ExternalDatabase> {
  const name = `uptivity_sim_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ host: '127.0.0.1', port: 5432, user: 'postgres', database: 'test' });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  const client = new pg.Client({ host: '127.0.0.1', port: 5432, user: 'postgres', database: name, types: pgTypes });
  await client.connect();
  // The server trusts loopback: the password is carried, never checked, and must never be shown.
  const password = 'S3cret-pw%sim';
  return {
    engine: 'postgres',
    name,
    port: 5432,
    password,
    url: (port = 5432) => `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}/${name}`,
    recording: async (ident) => {
      const { rows } = await client.query('SELECT * FROM "Recording" WHERE ident = $1', [String(ident)]);
      return rows[0] ? text(rows[0]) : undefined;
    },
    recordings: async () => (await client.query('SELECT * FROM "Recording" ORDER BY ident')).rows.map(text),
    count: async () => Number((await client.query('SELECT count(*) AS n FROM "Recording"')).rows[0].n),
    tableExists: async () => (await client.query("SELECT to_regclass('\"Recording\"') AS t")).rows[0].t !== null,
    exec: async (statement) => void (await client.query(statement)),
    async lockWrites() {
      const locker = new pg.Client({ host: '127.0.0.1', port: 5432, user: 'postgres', database: name });
      await locker.connect();
      await locker.query('BEGIN');
      // EXCLUSIVE: only ACCESS SHARE (plain SELECT) gets past it.
      await locker.query('LOCK TABLE "Recording" IN EXCLUSIVE MODE');
      return async () => {
        await locker.query('COMMIT');
        await locker.end();
      };
    },
    async drop() {
      await client.end();
      await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await admin.end();
    },
  };
}

export async function createMariadbDatabase(): Promise<ExternalDatabase> {
  const name = `uptivity_sim_${randomBytes(6).toString('hex')}`;
  const options = { host: '127.0.0.1', port: 3306, user: 'root', dateStrings: true, supportBigNumbers: true, bigNumberStrings: true } as const;
  const admin = await mysql.createConnection({ ...options, database: 'test' });
  await admin.query(`CREATE DATABASE ${name}`);
  const client = await mysql.createConnection({ ...options, database: name });
  const rows = async (statement: string, values: unknown[] = []): Promise<Record<string, unknown>[]> =>
    (await client.query<mysql.RowDataPacket[]>(statement, values))[0];
  return {
    engine: 'mariadb',
    name,
    port: 3306,
    // root has no password here, and a wrong one is refused.
    password: '',
    url: (port = 3306) => `mariadb://root@127.0.0.1:${port}/${name}`,
    recording: async (ident) => {
      const [row] = await rows('SELECT * FROM Recording WHERE ident = ?', [String(ident)]);
      return row ? text(row) : undefined;
    },
    recordings: async () => (await rows('SELECT * FROM Recording ORDER BY ident')).map(text),
    count: async () => Number((await rows('SELECT count(*) AS n FROM Recording'))[0]!.n),
    tableExists: async () => (await rows("SELECT 1 FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name = 'Recording'")).length > 0,
    exec: async (statement) => void (await client.query(statement)),
    async lockWrites() {
      const locker = await mysql.createConnection({ ...options, database: name });
      // READ: every session may read; no other may write until UNLOCK.
      await locker.query('LOCK TABLES Recording READ');
      return async () => {
        await locker.query('UNLOCK TABLES');
        await locker.end();
      };
    },
    async drop() {
      await client.end();
      await admin.query(`DROP DATABASE IF EXISTS ${name}`);
      await admin.end();
    },
  };
}

export const createDatabase = (engine: Engine): Promise<ExternalDatabase> =>
  engine === 'postgres' ? createPostgresDatabase() : createMariadbDatabase();

/**
 * A TCP relay to a database server that can be cut off: down, connections end and new ones are
 * refused (the port closed); up, it listens again on the same port.
 */
export class Relay {
  private server: net.Server | undefined;
  private readonly sockets = new Set<net.Socket>();
  port = 0;

  constructor(private readonly targetPort: number) {}

  async up(): Promise<void> {
    const server = net.createServer((socket) => {
      const upstream = net.connect(this.targetPort, '127.0.0.1');
      for (const s of [socket, upstream]) {
        this.sockets.add(s);
        s.on('close', () => this.sockets.delete(s));
        s.on('error', () => undefined);
      }
      socket.pipe(upstream).pipe(socket);
      socket.on('close', () => upstream.destroy());
      upstream.on('close', () => socket.destroy());
    });
    server.listen(this.port, '127.0.0.1');
    await once(server, 'listening');
    this.port = (server.address() as net.AddressInfo).port;
    this.server = server;
  }

  async down(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    const closed = once(server, 'close');
    server.close();
    for (const s of this.sockets) s.destroy();
    await closed;
  }
}
