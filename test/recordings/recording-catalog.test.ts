/**
 * The catalog's rules over its sources, with sources that answer from a table written here: the
 * order they are tried in, what ends a lookup, what a failure becomes, and the refusals.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { RecordingCatalog, type LookupOutcome } from '../../src/recordings/recording-catalog.js';
import {
  RecordingLookupError,
  RecordingSourceFailure,
  type FoundRecording,
  type RecordingSource,
  type RecordingSourceName,
} from '../../src/recordings/recording.js';

interface Table {
  name: RecordingSourceName;
  authoritative?: boolean;
  columns: string[];
  /** By ident: the file it knows ('' for a recording it knows without a file). */
  files?: Record<string, string>;
  /** Every question fails. */
  failing?: boolean;
}

function source(table: Table, asked: string[]): RecordingSource {
  const found = (ident: string): FoundRecording | undefined =>
    table.files && ident in table.files
      ? { recordId: ident, filename: table.files[ident]!, durationSeconds: 1, recordingTime: 0, fields: [['USER2', ident]], source: table.name, ...(table.files[ident] === '' ? { unlocated: 'two files' } : {}) }
      : undefined;
  const check = (): void => {
    asked.push(table.name);
    if (table.failing) throw new RecordingSourceFailure(table.name, `${table.name} is down`);
  };
  return {
    name: table.name,
    authoritative: table.authoritative ?? false,
    lookupColumns: new Set(table.columns),
    status: () => ({ name: table.name, active: true, detail: table.name }),
    usable: async () => true,
    findByColumn: async (_column, value) => {
      check();
      return found(value);
    },
    findByIdents: async (idents) => {
      check();
      return new Map(idents.flatMap((i) => (found(i) ? [[i, found(i)!] as const] : [])));
    },
    close: async () => undefined,
  };
}

function catalog(tables: Table[]): { catalog: RecordingCatalog; asked: string[]; outcomes: string[] } {
  const asked: string[] = [];
  const outcomes: string[] = [];
  const observe = (name: RecordingSourceName, outcome: LookupOutcome): void => void outcomes.push(`${name}:${outcome}`);
  return { catalog: new RecordingCatalog(tables.map((t) => source(t, asked)), observe), asked, outcomes };
}

const context = { requestId: '1' };

describe('IDENT lists', () => {
  test('each source is asked once, for what is still missing; the order asked is kept, repeats included', async () => {
    const { catalog: c, asked, outcomes } = catalog([
      { name: 'index', columns: ['ident'], files: { '2': 'C:\\b.wav' } },
      { name: 'share', columns: ['ident'], files: { '1': 'C:\\a.wav', '2': 'C:\\other.wav' } },
    ]);
    const found = await c.find({ idents: ['2', '1', '2'] }, context);
    assert.deepEqual(found.map((r) => [r.recordId, r.filename, r.source]), [['2', 'C:\\b.wav', 'index'], ['1', 'C:\\a.wav', 'share'], ['2', 'C:\\b.wav', 'index']]);
    assert.deepEqual(asked, ['index', 'share']);
    assert.deepEqual(outcomes, ['index:found', 'share:found']);
  });

  test('an authoritative source that answers ends the lookup: what it does not know does not exist', async () => {
    const { catalog: c, asked } = catalog([
      { name: 'database', authoritative: true, columns: ['ident'], files: { '1': 'C:\\a.wav' } },
      { name: 'share', columns: ['ident'], files: { '2': 'C:\\b.wav' } },
    ]);
    await assert.rejects(c.find({ idents: ['1', '2'] }, context), (e: RecordingLookupError) => e.resultCode === 41 && e.message === 'No recording found for 2.');
    assert.deepEqual(asked, ['database']);
  });

  test('a source that fails is passed over; if the rest cannot find it, its failure is the answer, not "not found"', async () => {
    const found = catalog([
      { name: 'database', authoritative: true, columns: ['ident'], failing: true },
      { name: 'share', columns: ['ident'], files: { '1': 'C:\\a.wav' } },
    ]);
    assert.equal((await found.catalog.find({ idents: ['1'] }, context))[0]!.source, 'share');
    assert.deepEqual(found.outcomes, ['database:failed', 'share:found']);
    const lost = catalog([
      { name: 'database', authoritative: true, columns: ['ident'], failing: true },
      { name: 'share', columns: ['ident'] },
    ]);
    await assert.rejects(lost.catalog.find({ idents: ['1'] }, context), (e: RecordingLookupError) => e instanceof RecordingSourceFailure && e.resultCode === 23);
  });

  test('a recording known without its file is kept for last: a later source may know the file', async () => {
    const { catalog: c } = catalog([
      { name: 'share', columns: ['ident'], files: { '1': '', '2': '' } },
      { name: 'index', columns: ['ident'], files: { '1': 'C:\\a.wav' } },
    ]);
    const found = await c.find({ idents: ['1', '2'] }, context);
    assert.deepEqual(found.map((r) => [r.recordId, r.filename, r.source]), [['1', 'C:\\a.wav', 'index'], ['2', '', 'share']]);
    assert.equal(found[1]!.unlocated, 'two files');
  });
});

describe('UNIQUEFIELD', () => {
  test('only the sources holding the column are asked, in order', async () => {
    const { catalog: c, asked } = catalog([
      { name: 'index', columns: ['ident', 'user2'] },
      { name: 'share', columns: ['ident', 'user2', 'user9'], files: { x: 'C:\\x.wav' } },
    ]);
    assert.equal((await c.find({ uniqueField: 'USER9', uniqueId: 'x' }, context))[0]!.filename, 'C:\\x.wav');
    assert.deepEqual(asked, ['share']);
  });

  test('a name that is no column of the Recording table, and a column no source holds, are refused (16) before any source is asked', async () => {
    const { catalog: c, asked } = catalog([{ name: 'index', columns: ['ident', 'user2', 'device_id'] }]);
    await assert.rejects(c.find({ uniqueField: "user2' OR '1'='1", uniqueId: 'x' }, context), (e: RecordingLookupError) => e.resultCode === 16 && /is not a column of the Recording table/.test(e.message));
    await assert.rejects(
      c.find({ uniqueField: 'callid', uniqueId: 'x' }, context),
      (e: RecordingLookupError) => e.resultCode === 16 && e.message === 'UNIQUEFIELD callid cannot be looked up without the product database (RECORDINGS_DB_URL); here it may be one of device_id, ident, user2.',
    );
    assert.deepEqual(asked, []);
  });

  test('not found by any: 41 naming the column and the value', async () => {
    const { catalog: c } = catalog([{ name: 'share', columns: ['user2'] }]);
    await assert.rejects(c.find({ uniqueField: 'user2', uniqueId: '10121968' }, context), (e: RecordingLookupError) => e.resultCode === 41 && e.message === 'No recording has user2 = "10121968".');
  });

  test('an authoritative answer of "none" is final, even after another source failed', async () => {
    const { catalog: c, asked } = catalog([
      { name: 'database', authoritative: true, columns: ['user2'], failing: true },
      { name: 'recordinginfo', authoritative: true, columns: ['user2'] },
      { name: 'share', columns: ['user2'], files: { x: 'C:\\x.wav' } },
    ]);
    await assert.rejects(c.find({ uniqueField: 'user2', uniqueId: 'x' }, context), (e: RecordingLookupError) => e.resultCode === 41);
    assert.deepEqual(asked, ['database', 'recordinginfo']);
  });
});
