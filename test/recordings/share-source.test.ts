/**
 * The share source against the seeded simulator over real TCP: CALLLIST finds the recording, the
 * product's naming convention finds its file, and only an unambiguous file is taken.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { CorePool } from '../../src/core/pool.js';
import { RecordingFiles } from '../../src/media/recording-files.js';
import { CallList } from '../../src/recordings/call-list.js';
import { RecorderClock } from '../../src/recordings/recorder-clock.js';
import { ShareSource } from '../../src/recordings/share-source.js';
import { productRecordingRoot } from '../../src/sim/product-format.js';
import { startSimulator, type RunningSimulator } from '../../src/sim/simulator.js';
import type { RecordingRow } from '../../src/sim/store.js';

let sim: RunningSimulator;
let pool: CorePool;
let files: RecordingFiles;
const context = { requestId: '77' };

function share(options: { clock?: RecorderClock; scanLimit?: number; pageSize?: number } = {}): ShareSource {
  return new ShareSource({
    files,
    callList: new CallList((request, signal) => pool.request(request, signal)),
    clock: options.clock ?? new RecorderClock(),
    scanLimit: options.scanLimit ?? 50_000,
    pageSize: options.pageSize ?? 500,
  });
}

function row(ident: number): RecordingRow {
  return sim.context.db.prepare('SELECT * FROM recordings WHERE ident = ?').get(ident) as RecordingRow;
}

/** CALLLIST requests the core received since `from`. */
function callLists(from: number): string[] {
  return sim.requests.list().slice(from).map((r) => r.text).filter((t) => t.includes('<TYPE>CALLLIST</TYPE>'));
}

before(async () => {
  sim = await startSimulator({ port: 0, eventPort: 0, seed: true });
  pool = new CorePool({ host: sim.host, port: sim.port, size: 2, queueMax: 100, requestTimeoutMs: 5000, connectTimeoutMs: 2000 });
  pool.start();
  files = new RecordingFiles([{ productRoot: productRecordingRoot, directory: sim.context.recordingsDir }]);
});
after(async () => {
  await pool.close();
  await sim.close();
});

describe('UNIQUEFIELD through CALLLIST', () => {
  test("the manual's EXPORT example: user2 = 10121968 is the simulator's own file, with DURATION and RECORDINGTIME", async () => {
    const found = await share().findByColumn('user2', '10121968', context);
    const expected = row(10121968);
    assert.equal(found?.recordId, '10121968');
    assert.equal(found?.filename, expected.filename);
    assert.equal(found?.durationSeconds, expected.duration);
    assert.equal(found?.recordingTime, expected.recording_time);
    assert.equal(found?.source, 'share');
    assert.deepEqual(new Map(found!.fields).get('USER2'), '10121968');
  });

  test('a non-unique field gives the newest recording (device_id)', async () => {
    const newest = sim.context.db.prepare("SELECT * FROM recordings WHERE device_id = '7001' ORDER BY recording_time DESC, ident DESC LIMIT 1").get() as RecordingRow;
    const found = await share().findByColumn('device_id', '7001', context);
    assert.equal(found?.recordId, String(newest.ident));
    assert.equal(found?.filename, newest.filename);
  });

  test('a free-seating device: its folder is the alias it was signed on with', async () => {
    const aliased = sim.context.db.prepare("SELECT * FROM recordings WHERE device_alias <> '' AND ident > 10000000 LIMIT 1").get() as RecordingRow;
    assert.ok(aliased.filename.includes(`\\${aliased.device_alias}\\`), aliased.filename);
    const found = await share().findByColumn('ident', String(aliased.ident), context);
    assert.equal(found?.filename, aliased.filename);
  });

  test('recording_time: the recording that started in that second', async () => {
    const r = row(10121990);
    assert.equal((await share().findByColumn('recording_time', String(r.recording_time), context))?.recordId, '10121990');
    assert.equal(await share().findByColumn('recording_time', 'yesterday', context), undefined);
  });

  test('values are data, never markup or SQL: nothing matches and nothing breaks', async () => {
    for (const value of ["x' OR '1'='1", '</USER2><X>&amp;', '10121968%']) {
      assert.equal(await share().findByColumn('user2', value, context), undefined, value);
    }
    const sent = sim.requests.list().slice(-3).map((r) => r.text);
    assert.match(sent[0]!, /<USER2>x&apos; OR &apos;1&apos;=&apos;1<\/USER2>|<USER2>x' OR '1'='1<\/USER2>/);
    assert.match(sent[1]!, /<USER2>&lt;\/USER2&gt;&lt;X&gt;&amp;amp;<\/USER2>/);
    assert.match(sent[2]!, /<USER2>10121968%<\/USER2>/);
    // Longer than USER2 may be (20 characters): no recording holds it, and the core is not asked.
    const from = sim.requests.list().length;
    assert.equal(await share().findByColumn('user2', '1'.repeat(21), context), undefined);
    assert.equal(sim.requests.list().length, from);
  });

  test('columns CALLLIST cannot filter on are not claimed', () => {
    const columns = share().lookupColumns;
    for (const c of ['ident', 'recording_time', 'device_id', 'device_alias', 'user1', 'user15', 'ani', 'dnis', 'gate', 'sgroup']) assert.ok(columns.has(c), c);
    for (const c of ['duration', 'filename', 'globalid', 'callid', 'audio_hash']) assert.ok(!columns.has(c), c);
  });
});

describe('IDENT lists: CALLLIST read newest first', () => {
  test('recent and 2011 recordings in one page; unknown idents are left out', async () => {
    const from = sim.requests.list().length;
    const found = await share().findByIdents(['10121967', '10121968', '10121969', '13101', '46', '554853', '999999'], context);
    assert.deepEqual([...found.keys()].sort(), ['10121967', '10121968', '10121969', '13101', '46', '554853'].sort());
    for (const [ident, recording] of found) assert.equal(recording.filename, row(Number(ident)).filename, ident);
    // 209 seeded recordings fit in one page of 500.
    assert.equal(callLists(from).length, 1);
  });

  test('pages move back in time, and the scan stops at its bound', async () => {
    let from = sim.requests.list().length;
    const paged = await share({ pageSize: 50 }).findByIdents(['13101'], context);
    assert.equal(paged.get('13101')?.filename, row(13101).filename);
    const pages = callLists(from);
    assert.ok(pages.length >= 5, `${pages.length} pages`);
    assert.match(pages[1]!, /<CALLDATEEND>\d+<\/CALLDATEEND>/);

    from = sim.requests.list().length;
    const bounded = await share({ pageSize: 50, scanLimit: 100 }).findByIdents(['13101', '10122100'], context);
    assert.deepEqual([...bounded.keys()], ['10122100']);
    // About 100 recordings read: the second page repeats the second the first ended in.
    assert.ok(callLists(from).length <= 3, `${callLists(from).length} pages`);
  });
});

describe('the file, by the naming convention', () => {
  test('two files of one device in one second: neither is taken', async () => {
    const r = row(10122000);
    const local = path.join(sim.context.recordingsDir, ...r.media_path.split('/'));
    const twin = local.replace(/\.wav$/, '-1.wav');
    fs.copyFileSync(local, twin);
    try {
      const found = await share().findByColumn('ident', '10122000', context);
      assert.equal(found?.filename, '');
      assert.match(found?.unlocated ?? '', /^2 files could be it/);
    } finally {
      fs.rmSync(twin);
    }
    assert.equal((await share().findByColumn('ident', '10122000', context))?.filename, r.filename);
  });

  test('another extension of the product (.au) is found as well', async () => {
    const r = row(10122001);
    const local = path.join(sim.context.recordingsDir, ...r.media_path.split('/'));
    const au = local.replace(/\.wav$/, '.au');
    fs.renameSync(local, au);
    try {
      assert.equal((await share().findByColumn('ident', '10122001', context))?.filename, r.filename.replace(/\.wav$/, '.au'));
    } finally {
      fs.renameSync(au, local);
    }
  });

  test('in the wrong time zone the file is not there, and the answer says which file was looked for', async () => {
    const zone = new RecorderClock().zone === 'Pacific/Kiritimati' ? 'Pacific/Pago_Pago' : 'Pacific/Kiritimati';
    const found = await share({ clock: new RecorderClock(zone) }).findByColumn('ident', '10121968', context);
    assert.equal(found?.recordId, '10121968');
    assert.equal(found?.filename, '');
    assert.match(found?.unlocated ?? '', /^no file \d{8}\\.+-\d\d-\d\d-\d\d\.\* in the recordings share$/);
  });

  test('without a mapped root the source is not usable', async () => {
    const none = new ShareSource({ files: new RecordingFiles([]), callList: new CallList((r) => pool.request(r)), clock: new RecorderClock(), scanLimit: 10, pageSize: 10 });
    assert.equal(await none.usable(), false);
    assert.equal(none.status().active, false);
  });
});
