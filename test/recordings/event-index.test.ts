/**
 * The event index: calls recorded while the gateway listened to the event port are exported
 * through RECORDINGSTOPPED / RECORDINGUPDATE alone (no RECORDINGINFO, no share), with DURATION
 * learned from CALLLIST, and they still are after the gateway restarts on the same data dir.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { EventIndex } from '../../src/recordings/event-index.js';
import { CallList } from '../../src/recordings/call-list.js';
import type { CoreEvent } from '../../src/protocol/event-json.js';
import { childText, parseXml } from '../../src/protocol/xml.js';
import { startSimulator, type RunningSimulator } from '../../src/sim/simulator.js';
import type { RecordingRow } from '../../src/sim/store.js';
import { startTestGateway, type TestGateway } from '../http/gateway-harness.js';

const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'event-index-'));
let sim: RunningSimulator;
let gw: TestGateway;

const webApi = (query: string): Promise<Response> => fetch(`${gw.url}/webAPI.aspx?${query}`);

async function resultOf(query: string): Promise<{ status: number; code: number; message: string }> {
  const response = await webApi(query);
  const root = parseXml(await response.text());
  return { status: response.status, code: Number(childText(root, 'RESULTCODE')), message: childText(root, 'RESULTMSG') ?? '' };
}

/** Record a call of `seconds` on a device through the WebAPI; its row in the simulator's store. */
async function recordCall(deviceId: string, seconds: number, user1: string): Promise<RecordingRow> {
  assert.equal((await resultOf(`type=callstart&requestid=1&deviceid=${deviceId}&user1=${encodeURIComponent(user1)}&user4=indexed`)).code, 20);
  sim.context.clock.advance(seconds * 1000);
  assert.equal((await resultOf(`type=callstop&requestid=2&deviceid=${deviceId}`)).code, 20);
  return sim.context.db.prepare('SELECT * FROM recordings WHERE device_id = ? ORDER BY ident DESC LIMIT 1').get(deviceId) as RecordingRow;
}

async function until(what: string, check: () => boolean | Promise<boolean>, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Seconds of 16-bit audio in a WAV export, from its own header. */
function wavSeconds(bytes: Buffer): number {
  const rate = bytes.readUInt32LE(24);
  const channels = bytes.readUInt16LE(22);
  return (bytes.length - 44) / (rate * channels * 2);
}

const startGateway = () => startTestGateway({}, {}, { sim, recordings: { sources: ['index'], dataDir } });

before(async () => {
  sim = await startSimulator({ port: 0, eventPort: 0 });
  gw = await startGateway();
  await until('the subscription', () => gw.events.stats.upstream === 'up');
});
after(async () => {
  await gw.close();
  await sim.close();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

describe('calls recorded while the gateway listened', () => {
  const recorded: RecordingRow[] = [];

  before(async () => {
    recorded.push(await recordCall('4242', 30, 'Gold Level'), await recordCall('4243', 12, 'Silver Level'), await recordCall('4242', 7, 'Gold Level'));
    await until('RECORDINGUPDATE of the last call', async () => (await gw.index!.findByIdents([String(recorded[2]!.ident)], { requestId: '1' })).size === 1);
  });

  test('EXPORT by USER1 is the newest of its calls, as long as its DURATION', async () => {
    const response = await webApi('type=export&requestid=5&uniquefield=user1&uniqueid=Gold%20Level&media_format=wav');
    assert.equal(response.status, 200);
    assert.match(response.headers.get('content-disposition') ?? '', new RegExp(`${recorded[2]!.ident}\\.wav`));
    assert.equal(wavSeconds(Buffer.from(await response.arrayBuffer())), 7);
  });

  test('MULTIEXPORT of the three, in order, from the index alone', async () => {
    const idents = recorded.map((r) => r.ident).join(',');
    const response = await webApi(`type=multiexport&requestid=6&ident=${idents}&media_format=pcm`);
    assert.equal(response.status, 200);
    assert.equal(response.headers.get('content-type'), 'application/zip');
    const zip = Buffer.from(await response.arrayBuffer());
    for (const r of recorded) assert.ok(zip.includes(Buffer.from(`-${r.ident}.pcm`)), `entry of ${r.ident}`);
    // The core was never asked RECORDINGINFO: only CALLLIST, once per device, for DURATION.
    assert.ok(!gw.received().some((t) => t.includes('RECORDINGINFO')));
  });

  test('DURATION, RECORDINGTIME and USER6..15 come from CALLLIST, once, and are kept', async () => {
    const found = await gw.index!.findByIdents(recorded.map((r) => String(r.ident)), { requestId: '1' });
    for (const r of recorded) {
      const recording = found.get(String(r.ident))!;
      assert.equal(recording.filename, r.filename);
      assert.equal(recording.durationSeconds, r.duration);
      assert.equal(recording.recordingTime, r.recording_time);
      assert.equal(new Map(recording.fields).get('USER4'), 'indexed');
      assert.equal(recording.source, 'index');
    }
    const before = gw.received().filter((t) => t.includes('<TYPE>CALLLIST</TYPE>')).length;
    await gw.index!.findByIdents(recorded.map((r) => String(r.ident)), { requestId: '1' });
    assert.equal(gw.received().filter((t) => t.includes('<TYPE>CALLLIST</TYPE>')).length, before);
  });

  test('a column the index does not hold is refused, naming those it can use', async () => {
    const answer = await resultOf('type=export&requestid=7&uniquefield=user9&uniqueid=x&media_format=wav');
    assert.equal(answer.status, 400);
    assert.equal(answer.code, 16);
    assert.match(answer.message, /^UNIQUEFIELD user9 cannot be looked up without the product database \(RECORDINGS_DB_URL\); here it may be one of .*device_id.*ident.*user1, user2, user3, user4, user5\.$/);
  });

  test('UNIQUEFIELD that is no column, and values that try SQL, find nothing and change nothing', async () => {
    const unknown = await resultOf(`type=export&requestid=8&uniquefield=${encodeURIComponent('user1 OR 1=1; --')}&uniqueid=x&media_format=wav`);
    assert.equal(unknown.code, 16);
    assert.match(unknown.message, /is not a column of the Recording table/);
    const injected = await resultOf(`type=export&requestid=9&uniquefield=user1&uniqueid=${encodeURIComponent("x' OR '1'='1")}&media_format=wav`);
    assert.equal(injected.status, 404);
    assert.equal(injected.code, 41);
    assert.equal(gw.index!.size, 3);
  });

  test('a restarted gateway still finds them, before any new event', async () => {
    await gw.close();
    gw = await startGateway();
    const response = await webApi(`type=combinedexport&requestid=10&ident=${recorded[0]!.ident},${recorded[1]!.ident}&media_format=wav`);
    assert.equal(response.status, 200);
    const bytes = Buffer.from(await response.arrayBuffer());
    assert.equal(bytes.subarray(0, 4).toString('latin1'), 'RIFF');
    assert.equal(bytes.readUInt32LE(40), (30 + 12) * 8000 * 2);
    assert.equal(wavSeconds(bytes), 42);
  });
});

describe('the index on its own', () => {
  const event = (type: string, fields: [string, string][]): CoreEvent => ({ type, eventClass: 'RECORD', module: '', eventXref: '0', deviceId: '1111', fields });
  const noCore = new CallList(async () => {
    throw new Error('no core here');
  });

  test('a recording whose RECORDINGUPDATE has not come is left to the next source; other events are ignored', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'event-index-unit-'));
    const index = new EventIndex({ file: path.join(dir, 'index.sqlite'), callList: noCore, keepDays: 30 });
    try {
      index.record(event('RECORDINGSTOPPED', [['GLOBALCALLID', '000100000000092'], ['DEVICEID', '1111'], ['AGENTID', '16'], ['USER1', 'a'], ['RECORDID', '13101']]));
      index.record(event('RECORDINGSTARTED', [['DEVICEID', '1111'], ['FILENAME', 'C:\\Recordings\\x.wav'], ['RECORDID', '13102']]));
      index.record(event('RECORDINGUPDATE', [['RECORDID', 'not a number'], ['FILENAME', 'C:\\Recordings\\y.wav']]));
      assert.equal((await index.findByIdents(['13101', '13102'], { requestId: '1' })).size, 0);
      index.record(event('RECORDINGUPDATE', [['GLOBALCALLID', '000100000000092'], ['DEVICEID', '1111'], ['KEEPDAYS', '30'], ['FILENAME', 'C:\\Recordings\\20110131\\1111\\1111-14-39-50.au'], ['RECORDID', '13101']]));
      // The manual's example pair, merged; a core that cannot answer CALLLIST leaves DURATION unknown.
      const found = await index.findByColumn('globalid', '000100000000092', { requestId: '1' });
      assert.equal(found?.filename, 'C:\\Recordings\\20110131\\1111\\1111-14-39-50.au');
      assert.equal(found?.durationSeconds, undefined);
      assert.deepEqual(Object.fromEntries(found!.fields), { DEVICEID: '1111', AGENTID: '16', GLOBALCALLID: '000100000000092', KEEPDAYS: '30', USER1: 'a' });
      assert.equal(index.size, 1);
    } finally {
      await index.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('recordings older than its keep days are forgotten', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'event-index-unit-'));
    let now = Date.UTC(2026, 0, 1);
    const file = path.join(dir, 'index.sqlite');
    const first = new EventIndex({ file, callList: noCore, keepDays: 30, now: () => now });
    first.record(event('RECORDINGUPDATE', [['FILENAME', 'C:\\Recordings\\a.wav'], ['RECORDID', '1']]));
    await first.close();
    now += 31 * 86_400_000;
    const reopened = new EventIndex({ file, callList: noCore, keepDays: 30, now: () => now });
    try {
      assert.equal(reopened.size, 0);
    } finally {
      await reopened.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
