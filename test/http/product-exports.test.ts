/**
 * Exports against the simulator in product mode (`--no-extensions`: RECORDINGINFO answers
 * API_UNKNOWN_MESSAGE_TYPE, as a real API Server does), a process of its own whose recorder runs in
 * another time zone than this one, through each source the gateway has for a real deployment:
 * the product database (PostgreSQL and MariaDB, filled by the simulator as the product fills its
 * own), the share by the product's file naming, and the event index. The manual's three export
 * URLs must download audio as long as CALLLIST's DURATION says, whatever the source.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { childText, elementsAt, parseXml } from '../../src/protocol/xml.js';
import type { DatabaseSource } from '../../src/recordings/database-source.js';
import type { RecordingSourceName } from '../../src/recordings/recording.js';
import { createMariadbDatabase, createPostgresDatabase, type ExternalDatabase } from '../sim/product-databases.js';
import { startCoreProcess, type CoreProcess } from './core-process.js';
import { attachTestGateway, type GatewayUnderTest } from './gateway-harness.js';
import { probe } from './media-probe.js';

const run = promisify(execFile);
/** The recorder's zone: 5:30 from UTC, so a gateway that ignored it would look in the wrong file. */
const recorderZone = 'Asia/Kolkata';
const suffix = randomBytes(4).toString('hex');
const downloads = fs.mkdtempSync(path.join(os.tmpdir(), 'product-exports-'));

let postgres: ExternalDatabase;
let mariadb: ExternalDatabase;
let pgUrl: string;
let mariaUrl: string;
let pgCore: CoreProcess;
let mariaCore: CoreProcess;

before(async () => {
  [postgres, mariadb] = await Promise.all([createPostgresDatabase(), createMariadbDatabase()]);
  [pgUrl, mariaUrl] = [postgres.url(), mariadb.url()];
  [pgCore, mariaCore] = await Promise.all([
    startCoreProcess(['--no-extensions', '--seed', '--recordings-db', pgUrl], { TZ: recorderZone }),
    startCoreProcess(['--no-extensions', '--seed', '--recordings-db', mariaUrl], { TZ: recorderZone }),
  ]);
});
after(async () => {
  await Promise.all([pgCore?.stop(), mariaCore?.stop()]);
  await Promise.all([postgres?.drop(), mariadb?.drop()]);
  fs.rmSync(downloads, { recursive: true, force: true });
});

function gatewayFor(core: CoreProcess, sources: RecordingSourceName[], databaseUrl?: string): Promise<GatewayUnderTest> {
  return attachTestGateway(core, {}, {
    recordings: {
      sources,
      timeZone: recorderZone,
      ...(databaseUrl ? { database: { url: databaseUrl, table: 'Recording', poolSize: 2, timeoutMs: 5000 } } : {}),
    },
  });
}

async function download(gw: GatewayUnderTest, query: string, name: string): Promise<{ status: number; headers: Headers; file: string }> {
  const response = await fetch(`${gw.url}/webAPI.aspx?${query}`);
  const file = path.join(downloads, name);
  await pipeline(Readable.fromWeb(response.body! as never), fs.createWriteStream(file));
  return { status: response.status, headers: response.headers, file };
}

async function resultOf(gw: GatewayUnderTest, query: string): Promise<{ status: number; code: number; message: string }> {
  const response = await fetch(`${gw.url}/webAPI.aspx?${query}`);
  const root = parseXml(await response.text());
  return { status: response.status, code: Number(childText(root, 'RESULTCODE')), message: childText(root, 'RESULTMSG') ?? '' };
}

/** DURATION of a recording as the product's own API gives it: CALLLIST by USER2, through the gateway. */
async function callListDuration(gw: GatewayUnderTest, user2: string): Promise<{ recordId: string; duration: number }> {
  const body = await (await fetch(`${gw.url}/webAPI.aspx?type=calllist&requestid=3&user2=${encodeURIComponent(user2)}&callcount=1`)).text();
  const result = elementsAt(parseXml(body), 'SEARCHRESULT')[0];
  assert.ok(result, `CALLLIST knows USER2 ${user2}`);
  return { recordId: childText(result, 'RECORDID')!, duration: Number(childText(result, 'DURATION')) };
}

/**
 * The manual's three URLs (EXPORT by USER2, COMBINEDEXPORT and MULTIEXPORT of three IDENTs) with
 * the recordings given by their USER2, each checked with ffprobe against CALLLIST's DURATION.
 */
async function manualExports(gw: GatewayUnderTest, label: string, user2s: readonly [string, string, string]): Promise<void> {
  const parts = await Promise.all(user2s.map((u) => callListDuration(gw, u)));
  const idents = parts.map((p) => p.recordId).join(',');

  const single = await download(gw, `type=export&requestid=10482345&uniquefield=user2&uniqueid=${user2s[1]}&media_format=mp3&encrypt=Y&password=test`, `${label}-export.mp3`);
  assert.equal(single.status, 200, fs.readFileSync(single.file, 'utf8').slice(0, 300));
  assert.match(single.headers.get('content-disposition') ?? '', new RegExp(`filename="?${parts[1]!.recordId}\\.mp3"?$`));
  assert.ok(Math.abs((await probe(single.file)).duration - parts[1]!.duration) <= 0.1, 'EXPORT lasts DURATION');

  const combined = await download(gw, `type=combinedexport&requestid=10482345&ident=${idents}&media_format=mp3`, `${label}-combined.mp3`);
  assert.equal(combined.status, 200, fs.readFileSync(combined.file, 'utf8').slice(0, 300));
  const total = parts.reduce((sum, p) => sum + p.duration, 0);
  assert.ok(Math.abs((await probe(combined.file)).duration - total) <= 0.15, 'COMBINEDEXPORT lasts the sum of the DURATIONs');

  const zip = await download(gw, `type=multiexport&requestid=10482345&ident=${idents}&media_format=mp3`, `${label}.zip`);
  assert.equal(zip.status, 200, fs.readFileSync(zip.file, 'utf8').slice(0, 300));
  const unpacked = path.join(downloads, label);
  await run('unzip', ['-q', '-o', zip.file, '-d', unpacked]);
  for (const [i, part] of parts.entries()) {
    const entry = path.join(unpacked, `${i + 1}-${part.recordId}.mp3`);
    assert.ok(Math.abs((await probe(entry)).duration - part.duration) <= 0.1, `entry ${i + 1} lasts DURATION`);
  }
}

/** The manual's idents: USER2 of each seeded recording is its RECORDID. */
const manualRecordings = ['10121967', '10121968', '10121969'] as const;

describe('the product database', () => {
  for (const engine of ['PostgreSQL', 'MariaDB'] as const) {
    describe(engine, () => {
      let gw: GatewayUnderTest;
      const core = (): CoreProcess => (engine === 'PostgreSQL' ? pgCore : mariaCore);
      before(async () => {
        gw = await gatewayFor(core(), ['database'], engine === 'PostgreSQL' ? pgUrl : mariaUrl);
      });
      after(() => gw.close());

      test("the manual's export URLs", () => manualExports(gw, engine, manualRecordings));

      test("RECORDINGTIME is read in the recorder's zone: the UNIX time CALLLIST gives", async () => {
        const body = await (await fetch(`${gw.url}/webAPI.aspx?type=calllist&requestid=4&user2=10121968`)).text();
        const listed = Number(childText(elementsAt(parseXml(body), 'SEARCHRESULT')[0]!, 'RECORDINGTIME'));
        const [found] = await gw.catalog.find({ uniqueField: 'user2', uniqueId: '10121968' }, { requestId: '4' });
        assert.equal(found?.source, 'database');
        assert.equal(found?.recordingTime, listed);
      });

      test('a non-unique column gives the newest recording; the 2011 example by ident', async () => {
        const newest = await (await fetch(`${gw.url}/webAPI.aspx?type=calllist&requestid=4&deviceid=7001&callcount=1`)).text();
        const newestId = childText(elementsAt(parseXml(newest), 'SEARCHRESULT')[0]!, 'RECORDID');
        const response = await fetch(`${gw.url}/webAPI.aspx?type=export&requestid=5&uniquefield=device_id&uniqueid=7001&media_format=wav`);
        assert.equal(response.status, 200);
        assert.match(response.headers.get('content-disposition') ?? '', new RegExp(`${newestId}\\.wav`));
        await response.arrayBuffer();
        const old = await fetch(`${gw.url}/webAPI.aspx?type=export&requestid=6&uniquefield=Ident&uniqueid=13101&media_format=wav`);
        assert.equal(old.status, 200);
        // The manual's CALLLIST example: 60 s of 8 kHz 16-bit audio.
        assert.equal((await old.arrayBuffer()).byteLength, 44 + 60 * 8000 * 2);
      });

      test('UNIQUEFIELD and UNIQUEID that try SQL: refused, or a value that matches nothing, and the table is whole', async () => {
        for (const field of ["user2' OR '1'='1", 'user2; DROP TABLE Recording', 'ident) OR (1=1', 'password']) {
          const answer = await resultOf(gw, `type=export&requestid=7&uniquefield=${encodeURIComponent(field)}&uniqueid=1&media_format=wav`);
          assert.equal(answer.status, 400, field);
          assert.equal(answer.code, 16, field);
          assert.match(answer.message, /is not a column of the Recording table/);
        }
        for (const value of ["10121968' OR '1'='1", "1; DROP TABLE Recording; --", '%']) {
          const answer = await resultOf(gw, `type=export&requestid=8&uniquefield=user2&uniqueid=${encodeURIComponent(value)}&media_format=wav`);
          assert.equal(answer.status, 404, value);
          assert.equal(answer.code, 41, value);
        }
        const notNumber = await resultOf(gw, 'type=export&requestid=9&uniquefield=ident&uniqueid=12abc&media_format=wav');
        assert.equal(notNumber.code, 41);
        assert.equal((await callListDuration(gw, '10121968')).recordId, '10121968');
        assert.equal((await fetch(`${gw.url}/webAPI.aspx?type=export&requestid=9&uniquefield=user2&uniqueid=10121968&media_format=pcm`)).status, 200);
      });

      test('1000 IDENTs are found in one database query', async () => {
        const seeded = Array.from({ length: 200 }, (_, i) => String(10121901 + i));
        const idents = Array.from({ length: 1000 }, (_, i) => seeded[(i * 7) % seeded.length]!);
        const source = gw.catalog.sources[0] as DatabaseSource;
        const before = source.queries;
        // HEAD resolves every recording and answers the headers, without exporting a byte.
        const response = await fetch(`${gw.url}/api/v1/recordings/media?recordIds=${idents.join(',')}&format=wav&as=zip`, { method: 'HEAD' });
        assert.equal(response.status, 200);
        assert.equal(source.queries - before, 1);
      });

      test('a recording made now is there as soon as the call stopped', async () => {
        assert.equal((await resultOf(gw, `type=callstart&requestid=11&deviceid=7002&user2=NOW${engine.length}`)).code, 20);
        await core().advanceClock(9000);
        assert.equal((await resultOf(gw, 'type=callstop&requestid=12&deviceid=7002')).code, 20);
        const response = await fetch(`${gw.url}/webAPI.aspx?type=export&requestid=13&uniquefield=user2&uniqueid=NOW${engine.length}&media_format=wav`);
        assert.equal(response.status, 200);
        assert.equal((await response.arrayBuffer()).byteLength, 44 + 9 * 8000 * 2);
      });
    });
  }
});

describe("the share, by the product's naming", () => {
  let gw: GatewayUnderTest;
  before(async () => {
    gw = await gatewayFor(pgCore, ['share']);
  });
  after(() => gw.close());

  test("the manual's export URLs, for recordings made before the gateway ever ran", () => manualExports(gw, 'share', manualRecordings));

  test('a gateway that takes the recorder for another zone looks for a file that is not there, and says which', async () => {
    const utc = await attachTestGateway(pgCore, {}, { recordings: { sources: ['share'], timeZone: 'UTC' } });
    try {
      const answer = await resultOf(utc, 'type=export&requestid=14&uniquefield=user2&uniqueid=10121968&media_format=wav');
      assert.equal(answer.status, 404);
      assert.equal(answer.code, 41);
      assert.match(answer.message, /^No recording file found for 10121968 \(no file \d{8}\\.*-\d\d-\d\d-\d\d\.\* in the recordings share\)\.$/);
    } finally {
      await utc.close();
    }
  });
  test('RECORDINGINFO, which the core does not answer, is answered by the gateway from the share: REST and WebAPI', async () => {
    const rest = await fetch(`${gw.url}/api/v1/recordings/10121968`);
    assert.equal(rest.status, 200);
    const json = (await rest.json()) as { recording: { recordId: number; fileName: string; duration: number; user2: string } };
    const { duration } = await callListDuration(gw, '10121968');
    assert.deepEqual({ recordId: json.recording.recordId, duration: json.recording.duration, user2: json.recording.user2 }, { recordId: 10121968, duration, user2: '10121968' });
    assert.match(json.recording.fileName, /^C:\\Recordings\\\d{8}\\7005\\7005-\d\d-\d\d-\d\d\.wav$/);
    assert.equal((await fetch(`${gw.url}/api/v1/recordings/99`)).status, 404);
    const xml = await (await fetch(`${gw.url}/webAPI.aspx?type=recordinginfo&requestid=15&uniquefield=user2&uniqueid=10121968`)).text();
    const root = parseXml(xml);
    assert.equal(childText(root, 'RESULTCODE'), '20');
    assert.equal(childText(root, 'REQUESTID'), '15');
    assert.equal(childText(elementsAt(root, 'RECORDINGS/RECORDING')[0]!, 'RECORDID'), '10121968');
  });
});

describe('the event index', () => {
  let gw: GatewayUnderTest;
  before(async () => {
    gw = await gatewayFor(pgCore, ['index']);
    const deadline = Date.now() + 5000;
    while (gw.events.stats.upstream !== 'up' && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  });
  after(() => gw.close());

  test("the manual's export URLs, for calls recorded while the gateway listened", async () => {
    const tags = [`IX${suffix}A`, `IX${suffix}B`, `IX${suffix}C`] as const;
    for (const [i, tag] of tags.entries()) {
      assert.equal((await resultOf(gw, `type=callstart&requestid=20&deviceid=7003&user2=${tag}`)).code, 20);
      await pgCore.advanceClock((11 + 4 * i) * 1000);
      assert.equal((await resultOf(gw, 'type=callstop&requestid=21&deviceid=7003')).code, 20);
    }
    const last = await callListDuration(gw, tags[2]);
    const deadline = Date.now() + 5000;
    while ((await gw.index!.findByIdents([last.recordId], { requestId: '1' })).size === 0) {
      assert.ok(Date.now() < deadline, 'RECORDINGUPDATE reached the index');
      await new Promise((r) => setTimeout(r, 20));
    }
    await manualExports(gw, 'index', tags);
  });

  test('the seeded recordings, made before it listened, are not in it', async () => {
    const answer = await resultOf(gw, 'type=multiexport&requestid=22&ident=10121967,10121968&media_format=wav');
    assert.equal(answer.code, 41);
    assert.equal(answer.message, 'No recording found for 10121967, 10121968.');
  });
});

describe('every source, in the documented order', () => {
  let gw: GatewayUnderTest;
  before(async () => {
    gw = await gatewayFor(mariaCore, ['database', 'recordinginfo', 'index', 'share'], mariaUrl);
  });
  after(() => gw.close());

  test('/readyz says which sources are used; RECORDINGINFO is off, as a real API Server does not answer it', async () => {
    const ready = (await (await fetch(`${gw.url}/readyz`)).json()) as { recordings: { name: string; active: boolean; detail: string }[] };
    assert.deepEqual(
      ready.recordings.map((s) => [s.name, s.active]),
      [['database', true], ['recordinginfo', false], ['index', true], ['share', true]],
    );
    assert.doesNotMatch(JSON.stringify(ready), /root@|password/);
    if (mariadb.password) assert.ok(!JSON.stringify(ready).includes(mariadb.password));
    assert.match(ready.recordings[1]!.detail, /API_UNKNOWN_MESSAGE_TYPE/);
  });

  test('the database answers first; /metrics counts each source', async () => {
    await manualExports(gw, 'ordered', manualRecordings);
    const metrics = await (await fetch(`${gw.url}/metrics`)).text();
    assert.match(metrics, /uptivity_recording_lookups_total\{source="database",outcome="found"\} [1-9]/);
    assert.doesNotMatch(metrics, /uptivity_recording_lookups_total\{source="share"/);
    assert.match(metrics, /uptivity_recording_source_active\{source="recordinginfo",position="2"\} 0/);
    assert.match(metrics, /uptivity_recording_source_active\{source="share",position="4"\} 1/);
  });

  test('a column only the database holds still works, and one no source holds when the database is not configured is refused with the columns that work', async () => {
    const ok = await fetch(`${gw.url}/webAPI.aspx?type=export&requestid=30&uniquefield=callid&uniqueid=${encodeURIComponent('nothing-like-this')}&media_format=wav`);
    assert.equal(ok.status, 404);
    const noDatabase = await gatewayFor(mariaCore, ['recordinginfo', 'index', 'share']);
    try {
      const answer = await resultOf(noDatabase, 'type=export&requestid=31&uniquefield=callid&uniqueid=1&media_format=wav');
      assert.equal(answer.code, 16);
      assert.match(answer.message, /^UNIQUEFIELD callid cannot be looked up without the product database \(RECORDINGS_DB_URL\); here it may be one of .*user15.*\.$/);
    } finally {
      await noDatabase.close();
    }
  });
});
