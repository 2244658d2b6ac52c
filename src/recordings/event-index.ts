/**
 * The event index: what the event port says of each recording, kept in SQLite under the gateway's
 * data dir so that it survives a restart. RECORDINGSTOPPED brings RECORDID with the device, the
 * agent, GLOBALCALLID, USER1..USER5 and KEEPDAYS; RECORDINGUPDATE ("saved a recording to the
 * database") brings its FILENAME. Neither carries DURATION or RECORDINGTIME: the first lookup that
 * needs them asks CALLLIST, once per device, and keeps what it learns (USER6..USER15 too).
 *
 * It answers by the columns it holds, through an index per column: a MULTIEXPORT of 1000 IDENTs is
 * one indexed query. A recording whose RECORDINGUPDATE has not come is not answered, so that the
 * next source may find its file.
 */
import Database from 'better-sqlite3';
import fs from 'node:fs';
import path from 'node:path';
import type { CoreEvent } from '../protocol/event-json.js';
import { jsonName } from '../protocol/json-names.js';
import { maxRecordingIdents, recordingColumns } from '../protocol/catalog.js';
import { findEventSpec } from '../protocol/events.js';
import type { CallList, CallListEntry } from './call-list.js';
import { fieldNameOfColumn, ownFieldNames, recordIdPattern, type FoundRecording, type LookupContext, type RecordingSource, type RecordingSourceStatus } from './recording.js';

/** The events that name a recording's file and data, as the Event Interface lists their fields. */
const recordingEvents = ['RECORDINGSTOPPED', 'RECORDINGUPDATE'].map((type) => findEventSpec(type)!);

/**
 * The Recording columns those events carry, with the EVENTDATA field each comes from: RECORDID
 * and FILENAME are the index's own; the rest are its data (DEVICEID, AGENTID, USER1..USER5...).
 */
const heldColumns: ReadonlyArray<readonly [column: string, field: string]> = recordingColumns
  .map((column) => [column, fieldNameOfColumn(column)] as const)
  .filter(([, field]) => !ownFieldNames.has(field) && recordingEvents.some((spec) => spec.fields.includes(field)));

/** The wire names of the fields the index takes, with their names in an event's JSON form. */
const jsonNamesOfIndexedFields: ReadonlyArray<readonly [field: string, name: string]> = ['RECORDID', 'FILENAME', ...heldColumns.map(([, field]) => field)].map(
  (field) => [field, jsonName(field)] as const,
);

/** The Recording columns UNIQUEFIELD may name with the index alone. */
export const indexedColumns: readonly string[] = ['ident', 'filename', ...heldColumns.map(([column]) => column)];

const schema = `
CREATE TABLE IF NOT EXISTS recordings (
  ident INTEGER PRIMARY KEY,
  filename TEXT,
  ${heldColumns.map(([column]) => `${column} TEXT`).join(',\n  ')},
  -- When the gateway first heard of it (ms): the newest match until RECORDINGTIME is known.
  heard_at INTEGER NOT NULL,
  duration INTEGER,
  recording_time INTEGER,
  -- The SEARCHRESULT of CALLLIST that enriched it, as JSON [name, value] pairs.
  listed TEXT
);
${['filename', ...heldColumns.map(([column]) => column)].map((c) => `CREATE INDEX IF NOT EXISTS recordings_by_${c} ON recordings (${c}, heard_at);`).join('\n')}
CREATE INDEX IF NOT EXISTS recordings_by_heard_at ON recordings (heard_at);
`;

interface IndexRow {
  ident: number;
  filename: string | null;
  heard_at: number;
  duration: number | null;
  recording_time: number | null;
  listed: string | null;
  [column: string]: string | number | null;
}

export interface EventIndexOptions {
  /** The SQLite file; its folder is created. */
  file: string;
  callList: CallList;
  /** Recordings first heard of longer ago than this are forgotten. */
  keepDays: number;
  now?: () => number;
}

/** Slack for the core's clock being ahead of the gateway's when CALLLIST is asked up to "now". */
const clockSkewSeconds = 300;
const hourMs = 3_600_000;

export class EventIndex implements RecordingSource {
  readonly name = 'index' as const;
  readonly authoritative = false;
  readonly lookupColumns: ReadonlySet<string> = new Set(indexedColumns);
  private readonly db: Database.Database;
  private readonly now: () => number;
  private readonly statements;
  private readonly pruneTimer: NodeJS.Timeout;
  private readonly byColumn = new Map<string, Database.Statement>();
  /** Events that could not be written, and why the last one could not. */
  failures = 0;
  lastFailure: string | undefined;

  constructor(private readonly options: EventIndexOptions) {
    if (!(options.keepDays > 0)) throw new RangeError('keepDays must be positive');
    fs.mkdirSync(path.dirname(options.file), { recursive: true });
    this.db = new Database(options.file);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = NORMAL');
    this.db.exec(schema);
    this.now = options.now ?? Date.now;
    const assignments = (columns: readonly string[]) => columns.map((c) => `${c} = COALESCE(@${c}, ${c})`).join(', ');
    const allColumns = ['filename', ...heldColumns.map(([c]) => c)];
    this.statements = {
      // Each event sets the fields it carries and leaves the others as they were.
      upsert: this.db.prepare(
        `INSERT INTO recordings (ident, ${allColumns.join(', ')}, heard_at) VALUES (@ident, ${allColumns.map((c) => '@' + c).join(', ')}, @heard_at)
         ON CONFLICT (ident) DO UPDATE SET ${assignments(allColumns)}`,
      ),
      enrich: this.db.prepare('UPDATE recordings SET duration = ?, recording_time = ?, listed = ? WHERE ident = ?'),
      byIdents: this.db.prepare(`SELECT * FROM recordings WHERE filename IS NOT NULL AND ident IN (SELECT value FROM json_each(?))`),
      prune: this.db.prepare('DELETE FROM recordings WHERE heard_at < ?'),
      count: this.db.prepare('SELECT COUNT(*) AS n FROM recordings'),
    };
    this.prune();
    this.pruneTimer = setInterval(() => this.prune(), hourMs).unref();
  }

  private counted = { n: 0, at: -Infinity };

  /**
   * Recordings held, counted at most every 10 s: SQLite counts by reading an index through, and
   * /readyz and /metrics ask at every probe and scrape.
   */
  get size(): number {
    const now = performance.now();
    if (now - this.counted.at >= 10_000) this.counted = { n: (this.statements.count.get() as { n: number }).n, at: now };
    return this.counted.n;
  }

  status(): RecordingSourceStatus {
    const failing = this.lastFailure ? `; ${this.failures} events could not be written, the last: ${this.lastFailure}` : '';
    return {
      name: this.name,
      active: true,
      detail: `RECORDINGSTOPPED and RECORDINGUPDATE of the event port, kept in ${this.options.file} for ${this.options.keepDays} days (${this.size} recordings)${failing}`,
    };
  }

  async usable(): Promise<boolean> {
    return true;
  }

  /** Whether events of this type name a recording (the others are ignored). */
  static wants(type: string): boolean {
    return type === 'RECORDINGSTOPPED' || type === 'RECORDINGUPDATE';
  }

  /** Take in an event of the core's event port; events other than the two that name a recording are ignored. */
  record(event: CoreEvent): void {
    if (!EventIndex.wants(event.type)) return;
    this.take(event.type, new Map(event.fields.map(([name, value]) => [name, value.trim()])));
  }

  /**
   * The same, from the event's JSON form (the shared event log's, which other replicas read): its
   * data is by JSON names, which every wire name the index holds maps to one to one.
   */
  recordJson(event: { type: string; data: Record<string, string> }): void {
    if (!EventIndex.wants(event.type)) return;
    const fields = new Map<string, string>();
    for (const [field, name] of jsonNamesOfIndexedFields) {
      const value = Object.hasOwn(event.data, name) ? event.data[name] : undefined;
      if (typeof value === 'string') fields.set(field, value.trim());
    }
    this.take(event.type, fields);
  }

  private take(type: string, fields: Map<string, string>): void {
    const ident = fields.get('RECORDID') ?? '';
    if (!recordIdPattern.test(ident)) return;
    const values: Record<string, string | number | null> = { ident: Number(ident), heard_at: this.now() };
    values.filename = type === 'RECORDINGUPDATE' ? fields.get('FILENAME') || null : null;
    for (const [column, field] of heldColumns) values[column] = fields.get(field) ?? null;
    try {
      this.statements.upsert.run(values);
    } catch (error) {
      // A full disk or a broken file costs this event, never the subscription that delivers it.
      this.failures++;
      this.lastFailure = error instanceof Error ? error.message : String(error);
    }
  }

  async findByColumn(column: string, value: string, context: LookupContext): Promise<FoundRecording | undefined> {
    if (column === 'ident') return (await this.findByIdents([value], context)).get(value);
    if (!indexedColumns.includes(column)) return undefined;
    let statement = this.byColumn.get(column);
    if (!statement) {
      // The column name comes from the fixed list above, never from the request. The newest is the
      // last heard of, which the column's index gives in order.
      statement = this.db.prepare(`SELECT * FROM recordings WHERE ${column} = ? AND filename IS NOT NULL ORDER BY heard_at DESC, ident DESC LIMIT 1`);
      this.byColumn.set(column, statement);
    }
    const row = statement.get(value) as IndexRow | undefined;
    if (!row) return undefined;
    await this.enrich([row], context);
    return this.found(row);
  }

  async findByIdents(idents: readonly string[], context: LookupContext): Promise<Map<string, FoundRecording>> {
    const wanted = [...new Set(idents.filter((i) => recordIdPattern.test(i)))].slice(0, maxRecordingIdents).map(Number);
    const rows = wanted.length === 0 ? [] : (this.statements.byIdents.all(JSON.stringify(wanted)) as IndexRow[]);
    await this.enrich(rows, context);
    return new Map(rows.map((row) => [String(row.ident), this.found(row)]));
  }

  /**
   * DURATION and RECORDINGTIME from CALLLIST, one request per device, for the rows without them.
   * The recording stopped before the gateway heard of it, so it is among the device's newest up to
   * then. A core that cannot answer leaves them unknown: they describe the export, they do not stop it.
   */
  private async enrich(rows: IndexRow[], context: LookupContext): Promise<void> {
    const byDevice = new Map<string, IndexRow[]>();
    for (const row of rows) {
      if (row.duration !== null || !row.device_id) continue;
      const list = byDevice.get(row.device_id as string) ?? [];
      list.push(row);
      byDevice.set(row.device_id as string, list);
    }
    await Promise.all(
      [...byDevice].map(async ([deviceId, missing]) => {
        let entries: CallListEntry[];
        try {
          const end = Math.floor(Math.max(...missing.map((r) => r.heard_at)) / 1000) + clockSkewSeconds;
          entries = await this.options.callList.query({ filters: [['DEVICEID', deviceId]], end, count: Math.min(1000, 50 + missing.length) }, context);
        } catch {
          return;
        }
        const byId = new Map(entries.map((e) => [e.recordId, e]));
        for (const row of missing) {
          const entry = byId.get(String(row.ident));
          if (!entry) continue;
          row.duration = entry.durationSeconds ?? null;
          row.recording_time = entry.recordingTime ?? null;
          row.listed = JSON.stringify(entry.fields);
          this.statements.enrich.run(row.duration, row.recording_time, row.listed, row.ident);
        }
      }),
    );
  }

  private found(row: IndexRow): FoundRecording {
    const fields = new Map<string, string>();
    // CALLLIST's fields are the fresher (a CALLUPDATE after the recording changes them); the
    // event's fill in what CALLLIST does not give (GLOBALCALLID, AGENTID, KEEPDAYS).
    for (const [name, value] of row.listed ? (JSON.parse(row.listed) as [string, string][]) : []) fields.set(name, value);
    for (const [column] of heldColumns) {
      const name = fieldNameOfColumn(column);
      if (!fields.has(name) && row[column] !== null) fields.set(name, String(row[column]));
    }
    return {
      recordId: String(row.ident),
      filename: row.filename ?? '',
      durationSeconds: row.duration ?? undefined,
      recordingTime: row.recording_time ?? undefined,
      fields: [...fields],
      source: this.name,
    };
  }

  private prune(): void {
    this.statements.prune.run(this.now() - this.options.keepDays * 24 * hourMs);
  }

  async close(): Promise<void> {
    clearInterval(this.pruneTimer);
    if (this.db.open) this.db.close();
  }
}
