/**
 * The real program, `dist/src/sim/main.js`, as a child process: its startup line, the manual's TEST
 * exchange, persistence of calls, recordings and users across a SIGTERM and a restart on the same
 * data dir (with and without --seed), the seeded dataset, --help and a bad flag.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { killCores, mainJs, startCore, stopCore, type CoreProcess } from './core-process.js';
import { CoreClient, all, field, toAnswer, type Answer } from './harness.js';

/** `C:\Recordings\A\B\C.wav` -> `<data>/recordings/A/B/C.wav`. */
function fileOf(dataDir: string, filename: string): string {
  const prefix = 'C:\\Recordings\\';
  assert.ok(filename.startsWith(prefix), `FILENAME ${filename}`);
  return path.join(dataDir, 'recordings', ...filename.slice(prefix.length).split('\\'));
}

function assertWav(file: string): void {
  assert.ok(fs.existsSync(file), `${file} exists`);
  const header = Buffer.alloc(12);
  const fd = fs.openSync(file, 'r');
  try {
    fs.readSync(fd, header, 0, 12, 0);
  } finally {
    fs.closeSync(fd);
  }
  assert.equal(header.toString('latin1', 0, 4), 'RIFF', file);
  assert.equal(header.toString('latin1', 8, 12), 'WAVE', file);
}

function ok(answer: Answer, type: string): Answer {
  assert.equal(answer.code, 20, answer.xml);
  assert.equal(answer.type, 'API_OK');
  assert.equal(answer.requestType, type);
  return answer;
}

interface UserListing {
  count: number;
  users: Map<string, string>;
}

async function listUsers(client: CoreClient, requestId: number): Promise<UserListing> {
  const answer = ok(await client.request('IMPORTUSER', { ACTION: 'LIST' }, requestId), 'IMPORTUSER');
  const users = all(answer.root, 'USERS/USER');
  assert.equal(Number(field(all(answer.root, 'USERS')[0], 'COUNT')), users.length);
  return { count: users.length, users: new Map(users.map((u) => [field(u, 'USERNAME') ?? '', field(u, 'USER_ID') ?? ''])) };
}

async function recordingInfo(client: CoreClient, idents: readonly string[], requestId: number): Promise<Map<string, string>> {
  const answer = ok(await client.request('RECORDINGINFO', { IDENT: idents.join(',') }, requestId), 'RECORDINGINFO');
  const recordings = all(answer.root, 'RECORDINGS/RECORDING');
  assert.deepEqual(recordings.map((r) => field(r, 'RECORDID')), [...idents]);
  return new Map(recordings.map((r) => [field(r, 'RECORDID')!, field(r, 'FILENAME')!]));
}

describe('the uptivity-core-sim program', () => {
  let dataDir: string;
  const clients: CoreClient[] = [];
  const connect = async (core: CoreProcess): Promise<CoreClient> => {
    const c = await CoreClient.connect(core.apiPort);
    clients.push(c);
    return c;
  };

  before(() => {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'uptivity-core-process-'));
  });
  after(() => {
    for (const c of clients) c.close();
    killCores();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('--help prints the usage and exits 0', () => {
    const result = spawnSync(process.execPath, [mainJs, '--help'], { encoding: 'utf8', timeout: 10_000 });
    assert.equal(result.status, 0, result.stderr);
    assert.match(result.stdout, /^Usage: uptivity-core-sim/);
    for (const flag of ['--port', '--event-port', '--data', '--seed']) assert.ok(result.stdout.includes(flag), `usage mentions ${flag}`);
    const short = spawnSync(process.execPath, [mainJs, '-h'], { encoding: 'utf8', timeout: 10_000 });
    assert.equal(short.status, 0);
    assert.equal(short.stdout, result.stdout);
  });

  it('an unknown flag exits non-zero with a message', () => {
    const result = spawnSync(process.execPath, [mainJs, '--bogus-flag'], { encoding: 'utf8', timeout: 10_000 });
    assert.notEqual(result.status, 0);
    assert.match(result.stderr, /bogus-flag/);
    assert.equal(result.stdout, '', 'it does not start');
    const badPort = spawnSync(process.execPath, [mainJs, '--port', 'eighty'], { encoding: 'utf8', timeout: 10_000 });
    assert.notEqual(badPort.status, 0);
    assert.match(badPort.stderr, /--port must be a non-negative integer/);
  });

  it('serves the seeded dataset, keeps calls and users across restarts, and never seeds twice', { timeout: 60_000 }, async () => {
    // --- First run: a fresh, seeded store. ---
    const first = await startCore(['--data', dataDir, '--seed']);
    assert.equal(first.dataDir, path.resolve(dataDir));
    assert.equal(first.seeded, true, first.firstLine);
    assert.notEqual(first.apiPort, 0);
    assert.notEqual(first.eventPort, 0);
    assert.notEqual(first.apiPort, first.eventPort);
    const a = await connect(first);

    // The manual's TEST request, byte for byte, and its full answer.
    a.write('<REQUEST><TYPE>TEST</TYPE><REQUESTID>1</REQUESTID></REQUEST>\r\n');
    const test = toAnswer(await a.next());
    assert.equal(test.root.name, 'RESULT');
    assert.deepEqual(
      Object.fromEntries(test.root.children.map((c) => [c.name, c.text])),
      { REQUESTTYPE: 'TEST', REQUESTID: '1', RESULTTYPE: 'API_OK', RESULTCODE: '20', RESULTMSG: 'API_OK' },
    );
    assert.equal(test.root.children.length, 5);

    // The event port answers too.
    const events = await CoreClient.connect(first.eventPort);
    clients.push(events);
    ok(await events.raw('<REQUEST><REQUESTID>0</REQUESTID><TYPE>EVENTS</TYPE><EVENTCLASS>ALL</EVENTCLASS><EVENTVALUE></EVENTVALUE></REQUEST>\r\n'), 'EVENTS');

    // Seed sanity: at least 200 recordings, newest first, each with its WAV file on disk.
    const seededList = ok(await a.request('CALLLIST', { CALLCOUNT: 1000 }, 2), 'CALLLIST');
    const seededResults = all(seededList.root, 'SEARCHRESULT');
    assert.ok(seededResults.length >= 200, `${seededResults.length} seeded recordings`);
    const times = seededResults.map((r) => Number(field(r, 'RECORDINGTIME')));
    for (let i = 1; i < times.length; i++) assert.ok(times[i - 1]! >= times[i]!, `RECORDINGTIME descending at ${i}`);
    seededResults.forEach((r, i) => assert.equal(field(r, 'CALLNUMBER'), String(i + 1)));
    const seededIds = seededResults.map((r) => field(r, 'RECORDID')!);
    assert.equal(new Set(seededIds).size, seededIds.length, 'RECORDIDs are unique');
    let requestId = 100;
    for (let i = 0; i < seededIds.length; i += 20) {
      const files = await recordingInfo(a, seededIds.slice(i, i + 20), ++requestId);
      for (const filename of files.values()) {
        assert.match(filename, /^C:\\Recordings\\\d{8}\\[^\\]+\\[^\\]+\.wav$/);
        assertWav(fileOf(dataDir, filename));
      }
    }

    // A call on device 9001 and a new user.
    ok(await a.request('CALLSTART', { DEVICEID: '9001', USER1: 'persisted' }, 3), 'CALLSTART');
    await sleep(1200);
    ok(await a.request('CALLSTOP', { DEVICEID: '9001' }, 4), 'CALLSTOP');
    const callList = ok(await a.request('CALLLIST', { DEVICEID: '9001' }, 5), 'CALLLIST');
    const calls = all(callList.root, 'SEARCHRESULT');
    assert.equal(calls.length, 1);
    const recordId = field(calls[0], 'RECORDID')!;
    assert.match(recordId, /^[0-9]+$/);
    assert.ok(Number(field(calls[0], 'DURATION')) >= 1, 'the call lasted at least a second');
    assert.equal(field(calls[0], 'USER1'), 'persisted');
    const filename = (await recordingInfo(a, [recordId], 6)).get(recordId)!;
    assert.match(filename, /^C:\\Recordings\\\d{8}\\9001\\9001-\d{2}-\d{2}-\d{2}\.wav$/);
    assertWav(fileOf(dataDir, filename));

    const added = ok(
      await a.request('IMPORTUSER', { ACTION: 'ADD', FIRSTNAME: 'Persist', LASTNAME: 'Tester', USERNAME: 'ptester', EMAIL: 'p@example.com' }, 7),
      'IMPORTUSER',
    );
    const userId = field(added.root, 'USERID')!;
    assert.match(userId, /^[0-9]+$/);
    const usersBefore = await listUsers(a, 8);
    assert.equal(usersBefore.users.get('ptester'), userId);
    const totalRecordings = all(ok(await a.request('CALLLIST', { CALLCOUNT: 1000 }, 9), 'CALLLIST').root, 'SEARCHRESULT').length;
    assert.equal(totalRecordings, seededResults.length + 1);

    // SIGTERM with clients still connected: a clean exit.
    await stopCore(first);

    // --- Second run, same data dir, no --seed. ---
    const second = await startCore(['--data', dataDir]);
    assert.equal(second.seeded, false, second.firstLine);
    assert.equal(second.dataDir, path.resolve(dataDir));
    const b = await connect(second);
    const again = all(ok(await b.request('CALLLIST', { DEVICEID: '9001' }, 10), 'CALLLIST').root, 'SEARCHRESULT');
    assert.equal(again.length, 1);
    assert.equal(field(again[0], 'RECORDID'), recordId);
    assert.equal(field(again[0], 'USER1'), 'persisted');
    assert.equal((await recordingInfo(b, [recordId], 11)).get(recordId), filename);
    assertWav(fileOf(dataDir, filename));
    const usersAfter = await listUsers(b, 12);
    assert.equal(usersAfter.count, usersBefore.count);
    assert.equal(usersAfter.users.get('ptester'), userId);
    // The device is not left in a call, and a new call gets a new RECORDID.
    ok(await b.request('CALLSTART', { DEVICEID: '9002' }, 13), 'CALLSTART');
    ok(await b.request('CALLSTOP', { DEVICEID: '9002' }, 14), 'CALLSTOP');
    const newer = all(ok(await b.request('CALLLIST', { DEVICEID: '9002' }, 15), 'CALLLIST').root, 'SEARCHRESULT');
    assert.equal(newer.length, 1);
    assert.ok(!seededIds.includes(field(newer[0], 'RECORDID')!) && field(newer[0], 'RECORDID') !== recordId, 'a fresh RECORDID');
    await stopCore(second);

    // --- Third run, with --seed again: the dataset is not duplicated. ---
    const third = await startCore(['--data', dataDir, '--seed']);
    assert.equal(third.seeded, false, `already seeded: ${third.firstLine}`);
    const c = await connect(third);
    const usersThird = await listUsers(c, 16);
    assert.equal(usersThird.count, usersBefore.count, 'IMPORTUSER LIST count unchanged');
    assert.equal(usersThird.users.get('ptester'), userId);
    const recordingsThird = all(ok(await c.request('CALLLIST', { CALLCOUNT: 1000 }, 17), 'CALLLIST').root, 'SEARCHRESULT');
    assert.equal(recordingsThird.length, totalRecordings + 1, 'the seeded recordings are not added again');
    assert.equal(all(ok(await c.request('CALLLIST', { DEVICEID: '9001' }, 18), 'CALLLIST').root, 'SEARCHRESULT').length, 1);
    await stopCore(third);
  });
});
