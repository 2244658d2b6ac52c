/**
 * The recorder behind the call handling and recording control commands: device lookup rules,
 * call instances, recordings written as real WAV files of the call's real duration, blackouts as
 * silence, channels, cores, CALLLIST filters. The simulator's clock is advanced instead of waiting.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import Database from 'better-sqlite3';
import type { XmlElement } from '../../src/protocol/xml.js';
import type { RunningSimulator } from '../../src/sim/simulator.js';
import { all, CoreClient, field, startTestSimulator, type Answer } from './harness.js';

let sim: RunningSimulator;
let client: CoreClient;
let nextId = 1000;
const send = (type: string, params: Record<string, string | number> = {}) => client.request(type, params, nextId++);
const advance = (seconds: number): void => sim.context.clock.advance(seconds * 1000);

/** The file a product FILENAME names under the simulator's data dir. */
const fileOf = (filename: string): string => path.join(sim.context.recordingsDir, ...filename.replace(/^C:\\Recordings\\/, '').split('\\'));

async function lastRecording(deviceId: string) {
  const list = await send('CALLLIST', { DEVICEID: deviceId, CALLCOUNT: 1 });
  const ident = field(all(list.root, 'SEARCHRESULT')[0], 'RECORDID');
  assert.ok(ident, `device ${deviceId} has a recording`);
  const info = await send('RECORDINGINFO', { IDENT: ident });
  return all(info.root, 'RECORDINGS/RECORDING')[0]!;
}

/** 16-bit samples of a PCM WAV written by the simulator (44-byte header). */
function samples(file: string): Int16Array {
  const bytes = fs.readFileSync(file);
  assert.equal(bytes.toString('latin1', 0, 4), 'RIFF');
  assert.equal(bytes.readUInt16LE(20), 1, 'PCM');
  const data = bytes.subarray(44);
  return new Int16Array(data.buffer, data.byteOffset, data.length / 2);
}

const rms = (s: Int16Array, fromSecond: number, toSecond: number): number => {
  let sum = 0;
  const a = Math.round(fromSecond * 8000);
  const b = Math.round(toSecond * 8000);
  for (let i = a; i < b; i++) sum += s[i]! * s[i]!;
  return Math.sqrt(sum / Math.max(1, b - a));
};

before(async () => {
  sim = await startTestSimulator({ seed: true, cores: [1, 2] });
  client = await CoreClient.connect(sim.port);
});
after(async () => {
  client.close();
  await sim.close();
});

describe('recordings', () => {
  test('a call is recorded to a WAV file exactly as long as the call', async () => {
    const start = await send('CALLSTART', { DEVICEID: '8001', ANI: '6145551212', USER1: 'Gold Level' });
    assert.equal(start.message, 'CALLSTART sent to all of the following cores: 1,2');
    const status = await send('DEVICESTATUS', { DEVICEID: '8001' });
    const device = all(status.root, 'DEVICES/DEVICE')[0];
    const filename = field(all(device!, 'RECORDING')[0], 'FILENAME')!;
    assert.match(filename, /^C:\\Recordings\\\d{8}\\8001\\8001-\d\d-\d\d-\d\d\.wav$/);
    assert.equal(field(all(device!, 'RECORDING')[0], 'ISRECORDING'), 'Y');
    advance(12.4);
    await send('CALLSTOP', { DEVICEID: '8001' });
    const recording = await lastRecording('8001');
    assert.equal(field(recording, 'DURATION'), '12');
    assert.equal(field(recording, 'FILENAME'), filename);
    assert.equal(field(recording, 'USER1'), 'Gold Level');
    const file = fileOf(filename);
    assert.equal(fs.statSync(file).size, 44 + 12 * 8000 * 2);
    assert.ok(rms(samples(file), 0, 12) > 500, 'the recording is not silence');
    const after = await send('DEVICESTATUS', { DEVICEID: '8001' });
    const last = all(after.root, 'DEVICES/DEVICE')[0];
    assert.equal(field(all(last!, 'RECORDING')[0], 'ISRECORDING'), 'N');
    assert.notEqual(field(last, 'STOPTIME'), '');
  });

  test('a blackout is silence in the recording; TIMEOFFSET moves its edges', async () => {
    await send('CALLSTART', { DEVICEID: '8002' });
    advance(5);
    await send('BLACKOUTSTART', { DEVICEID: '8002', TIMEOFFSET: -1 });
    advance(3);
    const paused = await send('DEVICERECORDINGSTATUS', { DEVICEID: '8002' });
    assert.equal(field(all(paused.root, 'DEVICE/RECORDING')[0], 'STATUS'), 'recordpaused');
    await send('BLACKOUTSTOP', { DEVICEID: '8002' });
    advance(2);
    await send('CALLSTOP', { DEVICEID: '8002' });
    const recording = await lastRecording('8002');
    assert.equal(field(recording, 'DURATION'), '10');
    const s = samples(fileOf(field(recording, 'FILENAME')!));
    assert.equal(s.length, 10 * 8000);
    assert.equal(rms(s, 4, 8), 0, 'silent from 4 s (5 s - 1 s offset) to 8 s');
    assert.ok(rms(s, 0, 3.9) > 500);
    assert.ok(rms(s, 8.1, 10) > 500);
  });

  test('blackout states: nothing to pause, nothing to resume, twice', async () => {
    const idle = await send('BLACKOUTSTART', { DEVICEID: '8001' });
    assert.equal(idle.code, 7);
    assert.equal(idle.type, 'API_DEVICE_NOT_IN_CALL');
    await send('CALLSTART', { DEVICEID: '8003' });
    const stop = await send('BLACKOUTSTOP', { DEVICEID: '8003' });
    assert.equal(stop.code, 38);
    assert.equal(stop.type, 'API_BLACKOUT_INVALID_STATE');
    assert.equal((await send('BLACKOUTSTART', { DEVICEID: '8003' })).code, 20);
    assert.equal((await send('BLACKOUTSTART', { DEVICEID: '8003' })).code, 38);
    // A stop whose offset puts it before the start ends the blackout where it began.
    advance(2);
    assert.equal((await send('BLACKOUTSTOP', { DEVICEID: '8003', TIMEOFFSET: -60 })).code, 20);
    advance(1);
    await send('CALLSTOP', { DEVICEID: '8003' });
    const s = samples(fileOf(field(await lastRecording('8003'), 'FILENAME')!));
    assert.ok(rms(s, 0.1, 2.9) > 500, 'no silence was recorded');
    const several = await send('BLACKOUTSTART', { DEVICEID: '8003', SYS_USER: 'JSMITH' });
    assert.equal(several.code, 16, 'only one selector may be given');
    const nobody = await send('BLACKOUTSTART', { SYS_USER: 'nobody' });
    assert.equal(nobody.code, 24);
    assert.equal(nobody.type, 'API_AGENT_NOT_FOUND');
  });

  test('an agent blackout pauses the calls of the agent, including calls started during it', async () => {
    await send('CALLSTART', { DEVICEID: '7002' });
    assert.equal((await send('AGENTBLACKOUTSTART', { SYS_USER: 'maria.garcia' })).code, 20);
    const status = async () => field(all((await send('DEVICERECORDINGSTATUS', { DEVICEID: '7002' })).root, 'DEVICE/RECORDING')[0], 'STATUS');
    assert.equal(await status(), 'recordpaused');
    await send('CALLSTOP', { DEVICEID: '7002' });
    await send('CALLSTART', { DEVICEID: '7002' });
    assert.equal(await status(), 'recordpaused', 'a new call of the agent starts paused');
    assert.equal((await send('AGENTBLACKOUTSTART', { DEVICEID: '7002' })).code, 38);
    assert.equal((await send('AGENTBLACKOUTSTOP', { DEVICEID: '7002' })).code, 20);
    assert.equal(await status(), 'recording');
    await send('CALLSTOP', { DEVICEID: '7002' });
  });

  test('MAXRECORDTIME bounds the recording', async () => {
    await send('CALLSTART', { DEVICEID: '8004', MAXRECORDTIME: 3 });
    advance(9);
    await send('CALLSTOP', { DEVICEID: '8004' });
    assert.equal(field(await lastRecording('8004'), 'DURATION'), '3');
  });

  test('RECORDSTART on an idle device records on demand until RECORDSTOP', async () => {
    await send('RECORDSTART', { DEVICEID: '8005', USER2: 'on demand' });
    advance(4);
    await send('RECORDSTOP', { DEVICEID: '8005' });
    const recording = await lastRecording('8005');
    assert.equal(field(recording, 'DURATION'), '4');
    assert.equal(field(recording, 'RECORDINGTYPE'), 'partial');
    assert.equal(field(recording, 'USER2'), 'on demand');
    const status = await send('DEVICERECORDINGSTATUS', { DEVICEID: '8005' });
    assert.equal(all(status.root, 'DEVICE/RECORDING').length, 0, 'the on-demand call ended');
  });
});

describe('devices and call instances', () => {
  test('DEVICEALIAS, SYS_USER, CRM_USER and STATIONNAME find the agent\'s device', async () => {
    assert.equal((await send('CALLSTART', { DEVICEALIAS: '3541' })).code, 20);
    assert.equal((await send('CALLSTOP', { DEVICEID: '7101' })).code, 20);
    assert.equal(field(await lastRecording('7101'), 'DEVICEALIAS'), '3541');
    assert.equal((await send('CALLSTART', { SYS_USER: 'david.chen' })).code, 20);
    assert.equal((await send('CALLSTOP', { CRM_USER: 'dchen' })).code, 20);
    const chen = await lastRecording('7003');
    assert.equal(field(chen, 'SYS_USER'), 'david.chen');
    assert.equal(field(chen, 'AGENTFIRSTNAME'), 'David');
    assert.equal((await send('CALLSTART', { STATIONNAME: 'JamesBond' })).code, 20);
    assert.equal((await send('CALLSTOP', { DEVICEID: '7007' })).code, 20);
    assert.equal(field(await lastRecording('7007'), 'AGENTLASTNAME'), 'Bond');
  });

  test('unknown or inconsistent selectors answer API_DEVICE_INVALID', async () => {
    const cases: Record<string, string>[] = [
      { SYS_USER: 'nobody' },
      { CRM_USER: 'nobody' },
      { STATIONNAME: 'NOSUCHSTATION' },
      { DEVICEID: '8010', DEVICEALIAS: '9999' },
      { DEVICEALIAS: '3541', SYS_USER: 'david.chen' },
      {},
      { DEVICEID: '' },
    ];
    for (const params of cases) {
      const answer = await send('CALLSTART', params);
      assert.equal(answer.code, 8, JSON.stringify(params));
      assert.equal(answer.type, 'API_DEVICE_INVALID');
    }
    const unknown = await send('CALLSTOP', { DEVICEID: 'never-seen' });
    assert.equal(unknown.code, 8);
  });

  test('CALLINSTANCE: blank by default; stop and update without it address the last call', async () => {
    await send('CALLSTART', { DEVICEID: '8020', CALLINSTANCE: 'a', USER1: 'first' });
    advance(1);
    await send('CALLSTART', { DEVICEID: '8020', CALLINSTANCE: 'b', USER1: 'second' });
    await send('CALLUPDATE', { DEVICEID: '8020', USER2: 'updated' });
    const instances = async () =>
      all((await send('DEVICERECORDINGSTATUS', { DEVICEID: '8020' })).root, 'DEVICE/RECORDING').map((r) => [field(r, 'CALLINSTANCE'), field(r, 'USER2')]);
    assert.deepEqual((await instances()).sort(), [['a', ''], ['b', 'updated']]);
    await send('CALLSTOP', { DEVICEID: '8020' });
    assert.deepEqual(await instances(), [['a', '']]);
    await send('CALLSTOP', { DEVICEID: '8020', CALLINSTANCE: 'a' });
    assert.deepEqual(await instances(), []);
    // A CALLSTART on an instance still in a call means the stop was missed: the first call ends.
    await send('CALLSTART', { DEVICEID: '8021' });
    advance(2);
    await send('CALLSTART', { DEVICEID: '8021' });
    
    const list = await send('CALLLIST', { DEVICEID: '8021' });
    assert.equal(all(list.root, 'SEARCHRESULT').length, 1);
    await send('CALLSTOP', { DEVICEID: '8021' });
  });

  test('CALLUPDATE: UPDATE_IF_NOT_RECORDING without a previous call, unknown and invalid RECORDID', async () => {
    await send('CALLSTART', { DEVICEID: '8030' });
    await send('CALLSTOP', { DEVICEID: '8030' });
    const fresh = await send('CALLSTART', { DEVICEID: '8031' });
    assert.equal(fresh.code, 20);
    // 8031 is in a call; an update reaches the call, not the database.
    assert.equal((await send('CALLUPDATE', { DEVICEID: '8031', USER1: 'x', UPDATE_IF_NOT_RECORDING: 'Y' })).message, 'CALLUPDATE sent to all of the following cores: 1,2');
    await send('CALLSTOP', { DEVICEID: '8031' });
    sim.context.db.prepare("DELETE FROM recordings WHERE device_id = '8031'").run();
    const none = await send('CALLUPDATE', { DEVICEID: '8031', USER1: 'x', UPDATE_IF_NOT_RECORDING: 'Y' });
    assert.equal(none.code, 40);
    assert.equal(none.type, 'API_RECORDID_INVALID');
    const unknown = await send('CALLUPDATE', { RECORDID: '99999999', USER1: 'x' });
    assert.equal(unknown.code, 23);
    assert.equal(unknown.type, 'API_DATABASE_QUERY_ERROR');
    const negative = await send('CALLUPDATE', { RECORDID: '-5', USER1: 'x' });
    assert.equal(negative.code, 40);
    assert.equal(negative.message, 'RECORDID -5 is not a recording ID');
  });

  test('parameters are checked against the data type tables', async () => {
    const long = await send('CALLSTART', { DEVICEID: '8040', USER1: 'x'.repeat(21) });
    assert.equal(long.code, 16);
    assert.equal(long.message, 'USER1 is longer than 20 characters');
    assert.equal((await send('CALLSTART', { DEVICEID: '8040', USER4: 'x'.repeat(255) })).code, 20);
    assert.equal((await send('CALLSTART', { DEVICEID: '8040', CALLDIRECTION: 'X' })).message, 'CALLDIRECTION must be one of I, O, ?');
    assert.equal((await send('CALLSTART', { DEVICEID: '8040', PRIORITY: 'high' })).message, 'PRIORITY must be an integer');
    assert.equal((await send('CALLSTART', { DEVICEID: 'd'.repeat(65) })).code, 16);
    await send('CALLSTOP', { DEVICEID: '8040' });
  });

  test('a device ID cannot name a folder outside the recordings root', async () => {
    await send('CALLSTART', { DEVICEID: '..\\..\\evil/../x' });
    advance(1);
    await send('CALLSTOP', { DEVICEID: '..\\..\\evil/../x' });
    const recording = await lastRecording('..\\..\\evil/../x');
    const filename = field(recording, 'FILENAME')!;
    assert.match(filename, /^C:\\Recordings\\\d{8}\\[A-Za-z0-9_.-]+\\[A-Za-z0-9_.-]+\.wav$/);
    const file = fileOf(filename);
    assert.ok(file.startsWith(sim.context.recordingsDir + path.sep));
    assert.ok(fs.existsSync(file));
  });
});

describe('channels and cores', () => {
  test('a recording occupies a channel', async () => {
    await send('CALLSTART', { DEVICEID: '8050' });
    const channels = all((await send('CHANNELS')).root, 'CHANNELS/CHANNEL');
    const busy = channels.find((c) => field(c, 'RECORDINGDEVICE') === '8050');
    assert.equal(field(busy, 'STATE'), 'Recording');
    await send('CALLSTOP', { DEVICEID: '8050' });
    const after = all((await send('CHANNELS')).root, 'CHANNELS/CHANNEL').find((c) => field(c, 'ID') === field(busy, 'ID'));
    assert.equal(field(after, 'STATE'), 'Idle');
  });

  test('cores down: partial response, then recorder not running', async () => {
    sim.context.cores.setUp(2, false);
    const partial = await send('CALLSTART', { DEVICEID: '8060' });
    assert.equal(partial.code, 46);
    assert.equal(partial.type, 'API_PARTIAL_CORE_RESPONSE');
    assert.equal(partial.message, 'CALLSTART could not be sent to the following cores: 2');
    sim.context.cores.setUp(1, false);
    const none = await send('CALLSTOP', { DEVICEID: '8060' });
    assert.equal(none.code, 34);
    assert.equal(none.type, 'API_ERROR_RECORDER_NOT_RUNNING');
    const still = await send('DEVICERECORDINGSTATUS', { DEVICEID: '8060' });
    assert.equal(all(still.root, 'DEVICE/RECORDING').length, 1, 'the call did not stop');
    sim.context.cores.setUp(1, true);
    sim.context.cores.setUp(2, true);
    assert.equal((await send('CALLSTOP', { DEVICEID: '8060' })).code, 20);
    assert.equal((await send('TEST')).code, 20, 'TEST does not depend on the cores');
  });
});

describe('CALLLIST', () => {
  test('filters are AND-ed, newest first, CALLCOUNT and dates bound the list', async () => {
    const all200 = all((await send('CALLLIST', { CALLCOUNT: 1000 })).root, 'SEARCHRESULT');
    assert.ok(all200.length >= 200);
    const times = all200.map((r) => Number(field(r, 'RECORDINGTIME')));
    assert.deepEqual(times, [...times].sort((a, b) => b - a));
    const top3 = all((await send('CALLLIST', { CALLCOUNT: 3 })).root, 'SEARCHRESULT');
    assert.deepEqual(top3.map((r) => field(r, 'RECORDID')), all200.slice(0, 3).map((r) => field(r, 'RECORDID')));
    const agent = all((await send('CALLLIST', { SYS_USER: 'maria.garcia', CALLCOUNT: 1000 })).root, 'SEARCHRESULT');
    assert.ok(agent.length > 0);
    assert.ok(agent.every((r) => field(r, 'SYS_USER') === 'maria.garcia'));
    const both = all((await send('CALLLIST', { SYS_USER: 'maria.garcia', USER2: '10121905' })).root, 'SEARCHRESULT');
    assert.deepEqual(both.map((r) => field(r, 'RECORDID')), ['10121905']);
    const none = all((await send('CALLLIST', { SYS_USER: 'david.chen', USER2: '10121905' })).root, 'SEARCHRESULT');
    assert.equal(none.length, 0);
    const middle = times[100]!;
    const ranged = all((await send('CALLLIST', { CALLDATESTART: middle, CALLDATEEND: times[50]! })).root, 'SEARCHRESULT');
    assert.ok(ranged.length >= 51);
    assert.ok(ranged.every((r) => Number(field(r, 'RECORDINGTIME')) >= middle && Number(field(r, 'RECORDINGTIME')) <= times[50]!));
    assert.equal((await send('CALLLIST', { CALLCOUNT: 0 })).code, 16);
  });

  test('a question asked again is answered the same until the store changes, through the simulator or beside it', async () => {
    const ask = () => send('CALLLIST', { DEVICEID: '7015', CALLCOUNT: 2 });
    // Everything after the header: the REQUESTIDs differ.
    const body = (answer: Answer): string => answer.xml.slice(answer.xml.indexOf('</RESULTMSG>'));
    const newest = (answer: Answer): XmlElement | undefined => all(answer.root, 'SEARCHRESULT')[0];
    const first = await ask();
    assert.equal(all(first.root, 'SEARCHRESULT').length, 2);
    assert.equal(body(await ask()), body(first));
    // A recording the simulator makes comes first at once.
    await send('CALLSTART', { DEVICEID: '7015' });
    advance(5);
    await send('CALLSTOP', { DEVICEID: '7015' });
    const after = await ask();
    assert.notEqual(field(newest(after), 'RECORDID'), field(newest(first), 'RECORDID'));
    assert.equal(field(all(after.root, 'SEARCHRESULT')[1], 'RECORDID'), field(newest(first), 'RECORDID'));
    // So does a change another program commits to the store.
    const store = new Database(path.join(sim.dataDir, 'core.sqlite'));
    store.prepare('UPDATE recordings SET user9 = ? WHERE ident = ?').run('changed beside', Number(field(newest(after), 'RECORDID')));
    store.close();
    assert.equal(field(newest(await ask()), 'USER9'), 'changed beside');
  });

  test('the seeded recordings have their documented durations and real files', async () => {
    const info = await send('RECORDINGINFO', { IDENT: '10121901,10121902,10121968' });
    const recordings = all(info.root, 'RECORDINGS/RECORDING');
    assert.deepEqual(recordings.map((r) => field(r, 'DURATION')), ['600', String(5 + (37 % 91)), String(5 + ((37 * 67) % 91))]);
    for (const r of recordings) assert.ok(fs.existsSync(fileOf(field(r, 'FILENAME')!)));
    const byUser2 = await send('RECORDINGINFO', { UNIQUEFIELD: 'user2', UNIQUEID: '10121968' });
    assert.equal(field(all(byUser2.root, 'RECORDINGS/RECORDING')[0], 'RECORDID'), '10121968');
  });
});
