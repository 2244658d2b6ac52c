/**
 * `--recordings-db`: the product's Recording table kept in an external database too, filled as
 * calls are recorded, so that the gateway's database source meets a real engine.
 *
 * Every write to the store's `recordings` table, whoever makes it (seeding, a recording saved when
 * it stops, CALLUPDATE, CHATSTOP...), is captured by SQLite triggers into `recording_changes`
 * inside the writing transaction: no code path can forget to mirror, and no change is lost to a
 * crash or an outage. A flush reads the changed rows, writes them to the external table in batches
 * (one transaction each) and forgets only the changes it wrote; a change made meanwhile bumps its
 * `seq` and stays queued. A failed flush is logged, kept queued and retried.
 *
 * The product signals RECORDINGUPDATE once it "has saved a recording to the database": a command
 * that changed recordings is answered, and its events are delivered, only after the flush (or
 * after `holdMs`, so that a slow database never hangs a client).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { recordingColumns } from '../protocol/catalog.js';
import { recordingTable } from '../protocol/product-database.js';
import type { EventBus } from './event-bus.js';
import { databaseLocalTime } from './product-format.js';
import {
  columnKind,
  describeFailure,
  openProductDatabase,
  productDatabaseTarget,
  textWidth,
  type ProductDatabase,
  type RecordingTableRow,
} from './product-database.js';
import { getMeta, setMeta, type Db } from './store.js';

/** Where the store last mirrored to (the target's description): another target is synced whole. */
const targetKey = 'recordings_db';

const triggers = ['recordings_mirror_insert', 'recordings_mirror_update', 'recordings_mirror_delete'] as const;

const queueChange = (ident: string): string =>
  `INSERT INTO recording_changes (ident) VALUES (${ident}) ON CONFLICT (ident) DO UPDATE SET seq = seq + 1;`;

/** Every recording the store holds, as a change to write (`WHERE true`: SQLite's upsert after a SELECT). */
const queueEveryRecording = 'INSERT INTO recording_changes (ident) SELECT ident FROM recordings WHERE true ON CONFLICT (ident) DO UPDATE SET seq = seq + 1';

/** Counts every captured write, so that a command can tell whether it changed recordings. */
const countChange = 'UPDATE recording_change_count SET n = n + 1;';

/**
 * The capture, created anew on each start so that a changed definition takes effect. Updates of
 * the store's own columns (media_path, sys_user...) are not the external table's business.
 */
const captureDdl = `
CREATE TABLE IF NOT EXISTS recording_changes (ident INTEGER PRIMARY KEY, seq INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS recording_change_count (n INTEGER NOT NULL);
INSERT INTO recording_change_count (n) SELECT 0 WHERE NOT EXISTS (SELECT 1 FROM recording_change_count);
DROP TRIGGER IF EXISTS ${triggers[0]};
DROP TRIGGER IF EXISTS ${triggers[1]};
DROP TRIGGER IF EXISTS ${triggers[2]};
CREATE TRIGGER ${triggers[0]} AFTER INSERT ON recordings BEGIN ${queueChange('NEW.ident')} ${countChange} END;
CREATE TRIGGER ${triggers[1]} AFTER UPDATE OF ${recordingColumns.join(', ')} ON recordings BEGIN
  ${queueChange('OLD.ident')} ${queueChange('NEW.ident')} ${countChange}
END;
CREATE TRIGGER ${triggers[2]} AFTER DELETE ON recordings BEGIN ${queueChange('OLD.ident')} ${countChange} END;
`;

/**
 * A store started without an external database drops the capture, so that it writes exactly what
 * it always did; the next start with one syncs the whole table (the target is forgotten).
 */
export function detachRecordingMirror(db: Db): void {
  const present = db.prepare("SELECT 1 FROM sqlite_master WHERE name = 'recording_changes'").get();
  if (!present) return;
  db.transaction(() => {
    for (const trigger of triggers) db.exec(`DROP TRIGGER IF EXISTS ${trigger}`);
    db.exec('DROP TABLE IF EXISTS recording_changes');
    db.exec('DROP TABLE IF EXISTS recording_change_count');
    db.prepare('DELETE FROM meta WHERE key = ?').run(targetKey);
  })();
}

export interface RecordingMirrorOptions {
  /** The longest a command's answer and events wait for the flush. */
  holdMs: number;
  /** After a failed flush, the next attempt. */
  retryMs: number;
  /** Rows per statement and transaction. */
  batchRows: number;
  connectTimeoutMs: number;
  statementTimeoutMs: number;
  /** One line about the external database (failures, recovery). */
  log: (line: string) => void;
}

export const defaultMirrorOptions: RecordingMirrorOptions = {
  holdMs: 5000,
  retryMs: 1000,
  // 500 rows of 51 columns stay well below PostgreSQL's 65535 parameters per statement.
  batchRows: 500,
  connectTimeoutMs: 5000,
  statementTimeoutMs: 10_000,
  log: (line) => process.stderr.write(`uptivity-core-sim: ${line}\n`),
};

interface ChangeRow {
  change_ident: number;
  change_seq: number;
  [column: string]: string | number | null;
}

/** The store's row as the external table holds it, in `recordingColumns` order. */
function tableRow(row: ChangeRow): RecordingTableRow {
  return recordingColumns.map((column) => {
    const value = row[column];
    switch (columnKind(column)) {
      case 'number':
        return Math.trunc(Number(value)) || 0;
      case 'time':
        return databaseLocalTime(Number(value) * 1000);
      case 'text': {
        // No engine stores NUL in text; a longer value than the column would fail the whole batch.
        const text = String(value ?? '').replaceAll('\u0000', '');
        const width = textWidth(column);
        return text.length <= width ? text : [...text].slice(0, width).join('');
      }
    }
  });
}

const queued = (n: number): string => `the changes of ${n} recording${n === 1 ? '' : 's'}`;

export class RecordingMirror {
  private current: Promise<void> | undefined;
  private queued: Promise<void> | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  /** A problem was logged and no flush has succeeded since. */
  private troubled = false;
  /** After a failure the table may have gone (dropped, another server): look again first. */
  private checkTable = false;
  private closed = false;
  private readonly readChanges;
  private readonly forget;
  private readonly changeCount;

  private constructor(
    private readonly db: Db,
    private readonly database: ProductDatabase,
    private readonly events: EventBus,
    private readonly options: RecordingMirrorOptions,
  ) {
    const columns = recordingColumns.map((c) => `r.${c}`).join(', ');
    this.readChanges = db.prepare(
      `SELECT c.ident AS change_ident, c.seq AS change_seq, ${columns} FROM recording_changes c LEFT JOIN recordings r ON r.ident = c.ident ORDER BY c.ident LIMIT ?`,
    );
    const forgetOne = db.prepare('DELETE FROM recording_changes WHERE ident = ? AND seq = ?');
    this.forget = db.transaction((rows: readonly ChangeRow[]) => {
      for (const row of rows) forgetOne.run(row.change_ident, row.change_seq);
    });
    this.changeCount = db.prepare('SELECT n FROM recording_change_count').pluck();
  }

  /**
   * Connect, create the external table when absent, and capture the store's writes. Rejects, with
   * a message naming the database but none of its secrets, when it cannot be used.
   */
  static async open(db: Db, url: string, events: EventBus, options: Partial<RecordingMirrorOptions> = {}): Promise<RecordingMirror> {
    const settings = { ...defaultMirrorOptions, ...options };
    const target = productDatabaseTarget(url);
    let database: ProductDatabase | undefined;
    let created: boolean;
    try {
      database = await openProductDatabase(url, settings);
      created = await database.ensureTable();
    } catch (error) {
      await database?.close().catch(() => undefined);
      throw new Error(`the recordings database ${target.description} cannot be used: ${describeFailure(error, target)}`);
    }
    db.transaction(() => {
      db.exec(captureDdl);
      // A new table, or a database the store has not mirrored to before: everything is a change.
      if (created || getMeta(db, targetKey) !== target.description) {
        db.exec(queueEveryRecording);
        setMeta(db, targetKey, target.description);
      }
    })();
    return new RecordingMirror(db, database, events, settings);
  }

  get description(): string {
    return this.database.target.description;
  }

  /** Changes not yet written to the external table. */
  get pendingChanges(): number {
    return (this.db.prepare('SELECT count(*) FROM recording_changes').pluck().get() as number) ?? 0;
  }

  /**
   * Run a command's transaction. When it changed recordings, its answer waits for the changes to
   * reach the external database, and the events it published are delivered after them (and after
   * any held before them); either waits `holdMs` at most. A command that changed none is answered
   * at once, even while the database is away.
   */
  async settle<T>(transaction: () => T): Promise<T> {
    const release = this.events.hold();
    try {
      const before = this.changeCount.get();
      const result = transaction();
      if (this.changeCount.get() !== before) await this.flushWithin(this.options.holdMs);
      return result;
    } finally {
      release();
    }
  }

  /**
   * Write every change committed so far. Never rejects: a failure is logged and retried. Calls
   * during a flush share one more, which starts after it and so sees their changes.
   */
  flush(): Promise<void> {
    if (this.closed) return Promise.resolve();
    if (!this.current) return this.start();
    return (this.queued ??= this.current.then(() => {
      this.queued = undefined;
      return this.start();
    }));
  }

  /**
   * Close the pool, after a last flush of at most `holdMs` (none while the database is known to
   * be away: what is queued stays in the store for the next start).
   */
  async close(): Promise<void> {
    if (this.closed) return;
    if (!this.troubled) await this.flushWithin(this.options.holdMs);
    this.closed = true;
    clearTimeout(this.retryTimer);
    // A connection still being made ends by its timeout: a pool ended under it may never call back
    // (mysql2), and its failure then has nobody to tell. A statement still running (a locked table)
    // ends by its own timeout too; close does not wait that long.
    if (this.current) await Promise.race([this.current, sleep(this.options.connectTimeoutMs, undefined, { ref: false })]);
    await Promise.race([this.database.close().catch(() => undefined), sleep(1000, undefined, { ref: false })]);
  }

  private async flushWithin(ms: number): Promise<void> {
    const timeout = new AbortController();
    const late = sleep(ms, 'late' as const, { signal: timeout.signal, ref: false }).catch(() => undefined);
    const outcome = await Promise.race([this.flush().then(() => 'done' as const), late]);
    timeout.abort();
    if (outcome === 'late') this.report(`writes to the ${recordingTable} table take longer than ${ms} ms; answering without waiting for them`);
  }

  private start(): Promise<void> {
    const run = this.writePending().finally(() => {
      if (this.current === run) this.current = undefined;
    });
    this.current = run;
    return run;
  }

  private async writePending(): Promise<void> {
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    try {
      if (this.checkTable) {
        // Created again (it was dropped): everything the store holds belongs in it.
        if (await this.database.ensureTable()) {
          this.db.exec(queueEveryRecording);
        }
        this.checkTable = false;
      }
      for (;;) {
        if (this.closed) return;
        const changes = this.readChanges.all(this.options.batchRows) as ChangeRow[];
        if (changes.length === 0) break;
        const rows = changes.filter((c) => c.ident !== null).map(tableRow);
        const deleted = changes.filter((c) => c.ident === null).map((c) => c.change_ident);
        await this.database.write(rows, deleted);
        if (this.closed) return;
        this.forget(changes);
        if (changes.length < this.options.batchRows) break;
      }
      if (this.troubled) {
        this.troubled = false;
        this.options.log(`recordings database ${this.description}: writing again; the ${recordingTable} table is up to date`);
      }
    } catch (error) {
      if (this.closed) return;
      this.checkTable = true;
      this.report(`writing to the ${recordingTable} table failed (${describeFailure(error, this.database.target)}); ${queued(this.pendingChanges)} kept, retrying`);
      this.retryTimer = setTimeout(() => void this.flush(), this.options.retryMs);
      this.retryTimer.unref();
    }
  }

  /**
   * One line per outage, not one per attempt (an outage of an hour is not 3600 lines); the line
   * saying it writes again closes it.
   */
  private report(problem: string): void {
    if (this.troubled) return;
    this.troubled = true;
    this.options.log(`recordings database ${this.description}: ${problem}`);
  }
}
