/**
 * The REST/JSON surface over real HTTP against the simulator: a whole call flow in JSON, the
 * escape hatch giving what the WebAPI gives for every command of the catalog, problem+json for the
 * error codes, and schema validation that refuses bad input before the core hears anything.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, test } from 'node:test';
import { commands } from '../../../src/protocol/catalog.js';
import { childText, parseXml } from '../../../src/protocol/xml.js';
import { sampleParams } from './samples.js';
import { startTestGateway, type TestGateway } from '../gateway-harness.js';
import { SseClient } from '../sse-client.js';

const run = promisify(execFile);
let gw: TestGateway;

before(async () => {
  gw = await startTestGateway({ seed: true });
});
after(async () => {
  await gw.close();
});

interface JsonReply {
  status: number;
  type: string;
  headers: Headers;
  body: any;
}

async function rest(method: string, url: string, body?: unknown, base = gw.url): Promise<JsonReply> {
  const response = await fetch(base + url, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, type: response.headers.get('content-type') ?? '', headers: response.headers, body: text ? JSON.parse(text) : undefined };
}

/** What the core received while `action` ran. */
async function receivedDuring(action: () => Promise<unknown>, gateway = gw): Promise<string[]> {
  const before = gateway.received().length;
  await action();
  return gateway.received().slice(before);
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describe('a call flow over JSON', () => {
  test('start, update, the device shows the recording, stop, the recording is listed, its media downloads; the event stream tells it in order', async () => {
    const events = await SseClient.open(`${gw.url}/api/v1/events?deviceId=2002`);
    try {
      while ((await events.nextStatus()) !== 'up');
      await callFlow();
      const flow = await events.nextEvents(5);
      assert.deepEqual(
        flow.map((e) => e.event),
        ['CALLSTART', 'RECORDINGSTARTED', 'RECORDINGSTOPPED', 'RECORDINGUPDATE', 'CALLSTOP'],
      );
      assert.ok(flow.every((e, i) => i === 0 || e.json.id > flow[i - 1]!.json.id), 'ids increase');
      assert.ok(flow.every((e) => e.json.data['deviceId'] === '2002'));
    } finally {
      events.close();
    }
  });

  async function callFlow(): Promise<void> {
    const start = await rest('POST', '/api/v1/calls/start', { deviceId: '2002', ani: '6145550000', callDirection: 'I' });
    assert.equal(start.status, 200, JSON.stringify(start.body));
    assert.equal(start.body.result.type, 'API_OK');
    assert.equal(start.body.result.code, 20);
    assert.match(start.body.result.message, /sent to all of the following cores: 1/, 'a change answers the core\'s own account');
    assert.deepEqual(Object.keys(start.body), ['result']);

    const received = await receivedDuring(async () => {
      const update = await rest('POST', '/api/v1/calls/update', { deviceId: '2002', user9: 'case-42', requestId: 4242 });
      assert.equal(update.status, 200);
    });
    assert.match(received[0]!, /<REQUESTID>4242<\/REQUESTID>/, 'the caller\'s requestId goes to the core');

    const device = await rest('GET', '/api/v1/devices/2002');
    assert.equal(device.status, 200);
    const status = device.body.device;
    assert.deepEqual(Object.keys(device.body), ['device'], 'one device, as an object');
    assert.equal(status.deviceId, '2002');
    assert.equal(status.user9, 'case-42');
    assert.equal(status.recording.isRecording, true, 'Y/N is a boolean');
    assert.match(status.startTimeIso, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}$/, 'the time in ISO-8601 beside the core\'s text');
    assert.ok(status.startTime.length > 0);

    const instances = await rest('GET', '/api/v1/devices/2002/instances');
    assert.equal(instances.status, 200);
    assert.equal(instances.body.device.deviceId, '2002');
    assert.ok(Array.isArray(instances.body.device.instances) && instances.body.device.instances.length >= 1, 'the call instances are an array');
    assert.equal(instances.body.device.instances[0].status, 'recording');

    await sleep(1100); // a recording of at least a second
    const stop = await rest('POST', '/api/v1/calls/stop', { deviceId: '2002' });
    assert.equal(stop.status, 200);

    const listed = await rest('GET', '/api/v1/recordings?deviceId=2002&limit=5');
    assert.equal(listed.status, 200);
    assert.equal(listed.body.recordings.length, 1);
    assert.equal(listed.body.next, null, 'one page holds them all');
    const [recording] = listed.body.recordings;
    assert.equal(recording.callNumber, undefined, 'a position in one answer is not a field of the recording');
    assert.equal(recording.user9, 'case-42');
    assert.equal(typeof recording.recordId, 'number');
    assert.equal(typeof recording.recordingTime, 'number');
    assert.equal(new Date(recording.recordingTimeIso).getTime(), recording.recordingTime * 1000);

    const sinceIso = await rest('GET', `/api/v1/recordings?deviceId=2002&callDateStart=${encodeURIComponent(new Date((recording.recordingTime - 60) * 1000).toISOString())}`);
    assert.equal(sinceIso.body.recordings.length, 1, 'an ISO-8601 date filters like UNIX time');
    const afterIt = await rest('GET', `/api/v1/recordings?deviceId=2002&callDateStart=${recording.recordingTime + 3600}`);
    assert.equal(afterIt.body.recordings.length, 0);

    const info = await rest('GET', `/api/v1/recordings/${recording.recordId}`);
    assert.equal(info.status, 200);
    assert.equal(info.body.recording.recordId, recording.recordId);

    const wav = await fetch(`${gw.url}/api/v1/recordings/${recording.recordId}/media?format=wav`);
    assert.equal(wav.status, 200);
    assert.equal(wav.headers.get('content-type'), 'audio/wav');
    assert.match(wav.headers.get('content-disposition') ?? '', /^attachment; filename="?[^"]+\.wav"?$/);
    const bytes = Buffer.from(await wav.arrayBuffer());
    assert.equal(bytes.length, Number(wav.headers.get('content-length')));
    assert.equal(bytes.subarray(0, 4).toString('latin1'), 'RIFF');

    const dir = await mkdtemp(path.join(tmpdir(), 'rest-media-'));
    try {
      const mp3 = await fetch(`${gw.url}/api/v1/recordings/${recording.recordId}/media?format=mp3`);
      assert.equal(mp3.status, 200);
      const file = path.join(dir, 'call.mp3');
      await writeFile(file, Buffer.from(await mp3.arrayBuffer()));
      const { stdout } = await run('ffprobe', ['-v', 'error', '-show_streams', '-show_format', '-of', 'json', file]);
      const probe = JSON.parse(stdout);
      assert.equal(probe.streams[0].codec_name, 'mp3');
      assert.ok(Math.abs(Number(probe.format.duration) - recording.duration) <= 0.15, `${probe.format.duration} vs ${recording.duration}`);

      const zip = await fetch(`${gw.url}/api/v1/recordings/media?recordIds=${recording.recordId},10121968&format=wav`);
      assert.equal(zip.status, 200);
      assert.equal(zip.headers.get('content-type'), 'application/zip');
      const zipFile = path.join(dir, 'calls.zip');
      await writeFile(zipFile, Buffer.from(await zip.arrayBuffer()));
      const { stdout: listing } = await run('unzip', ['-Z1', zipFile]);
      assert.equal(listing.trim().split('\n').length, 2);

      const combined = await fetch(`${gw.url}/api/v1/recordings/media?recordIds=${recording.recordId},10121968&format=wav&as=combined`);
      assert.equal(combined.status, 200);
      assert.equal(combined.headers.get('content-type'), 'audio/wav');
      await combined.arrayBuffer();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }

    const missing = await rest('GET', '/api/v1/recordings/999999999/media?format=wav');
    assert.equal(missing.status, 404);
    assert.match(missing.type, /^application\/problem\+json/);
    assert.equal(missing.body.resultCode, 41);
    assert.equal(missing.body.resultType, 'API_FILE_NOT_FOUND');
  }

  test('PATCH a finished recording updates it in the database (post-recording CALLUPDATE)', async () => {
    const [latest] = (await rest('GET', '/api/v1/recordings?limit=1')).body.recordings;
    const received = await receivedDuring(async () => {
      const patched = await rest('PATCH', `/api/v1/recordings/${latest.recordId}`, { user4: 'Reviewed', keepDays: 90 });
      assert.equal(patched.status, 200, JSON.stringify(patched.body));
    });
    assert.equal(received.length, 1);
    assert.match(received[0]!, /<TYPE>CALLUPDATE<\/TYPE>/);
    assert.match(received[0]!, new RegExp(`<RECORDID>${latest.recordId}</RECORDID>`));
    assert.match(received[0]!, /<USER4>Reviewed<\/USER4>/);
    assert.match(received[0]!, /<KEEPDAYS>90<\/KEEPDAYS>/);
    const [after] = (await rest('GET', `/api/v1/recordings?limit=1`)).body.recordings;
    assert.equal(after.user4, 'Reviewed');
  });

  test('PATCH of a recording that does not exist is 404 (the core answers API_DATABASE_QUERY_ERROR); the same code elsewhere stays 500', async () => {
    const missing = await rest('PATCH', '/api/v1/recordings/999999999', { user4: 'Reviewed' });
    assert.equal(missing.status, 404, JSON.stringify(missing.body));
    assert.equal(missing.body.resultCode, 23);
    assert.equal(missing.body.resultType, 'API_DATABASE_QUERY_ERROR');
    const viaCommand = await rest('POST', '/api/v1/commands/callupdate', { recordId: '999999999', user4: 'Reviewed' });
    assert.equal(viaCommand.status, 500, 'the wire-model route keeps the table: it names no resource');
    assert.equal(viaCommand.body.resultCode, 23);
  });
});

describe('administration as resources', () => {
  test('users, roles with their groups and permissions, groups with their agents', async () => {
    const created = await rest('POST', '/api/v1/users', { firstName: 'Ada', lastName: 'Byron', username: 'abyron', status: 'A' });
    assert.equal(created.status, 200, JSON.stringify(created.body));
    const users = await rest('GET', '/api/v1/users');
    assert.ok(users.body.users.every((u: { phones: unknown }) => Array.isArray(u.phones)), 'phones are an array, empty when there are none');
    const ada = users.body.users.find((u: { username: string }) => u.username === 'abyron');
    assert.ok(ada, 'the new user is listed');
    assert.equal(typeof ada.userId, 'number');
    assert.equal(ada.agent, true, 'TRUE/FALSE is a boolean');

    assert.equal((await rest('PATCH', `/api/v1/users/${ada.userId}`, { email: 'ada@example.com' })).status, 200);
    assert.equal((await rest('POST', '/api/v1/roles', { roleName: 'Auditors', description: 'Read only' })).status, 200);
    const again = await rest('POST', '/api/v1/roles', { roleName: 'Auditors' });
    assert.equal(again.status, 409, 'an existing role is a conflict');
    assert.equal(again.body.resultType, 'API_ROLE_ALREADY_EXISTS');
    const group = await rest('POST', '/api/v1/groups', { groupName: 'Auditing' });
    assert.equal(group.status, 200);
    assert.equal(typeof group.body.groupId, 'number');
    assert.equal(group.body.groupName, 'Auditing');
    assert.equal(group.body.result.message, 'group: Auditing has been added');
    assert.equal((await rest('PUT', '/api/v1/roles/Auditors/groups/Auditing')).status, 200);
    assert.equal((await rest('PUT', '/api/v1/roles/Auditors/permissions/ALLOWQAVIEW')).status, 200);
    assert.equal((await rest('PUT', `/api/v1/roles/Auditors/users/${ada.userId}`)).status, 200);
    assert.equal((await rest('PUT', `/api/v1/groups/${group.body.groupId}/agents/${ada.userId}`)).status, 200);
    assert.equal((await rest('PUT', `/api/v1/users/${ada.userId}/phones/7777`)).status, 200);
    assert.equal((await rest('DELETE', `/api/v1/users/${ada.userId}/phones/7777`)).status, 200);
    assert.equal((await rest('DELETE', '/api/v1/roles/Auditors/permissions/ALLOWQAVIEW')).status, 200);
    assert.equal((await rest('DELETE', `/api/v1/users/${ada.userId}`)).status, 200);
    const missingRole = await rest('DELETE', '/api/v1/roles/NoSuchRole');
    assert.equal(missingRole.status, 404);
    assert.equal(missingRole.body.resultType, 'API_ROLE_NOT_FOUND');
  });

  test('blackouts of a call instance or of the whole agent', async () => {
    const received = await receivedDuring(async () => {
      await rest('POST', '/api/v1/blackouts/start', { deviceId: '1111' });
      await rest('POST', '/api/v1/blackouts/start', { deviceId: '1111', scope: 'agent' });
    });
    assert.match(received[0]!, /<TYPE>BLACKOUTSTART<\/TYPE>/);
    assert.match(received[1]!, /<TYPE>AGENTBLACKOUTSTART<\/TYPE>/);
    const refused = await rest('POST', '/api/v1/blackouts/stop', { deviceId: '1111', scope: 'agent', callInstance: '2' });
    assert.equal(refused.status, 400, 'an agent-wide blackout has no call instance');
  });
});

describe('problem+json', () => {
  test('not-found codes are 404, conflicts 409, bad input 400, with RESULTTYPE and RESULTCODE', async () => {
    const unknownDevice = await rest('GET', '/api/v1/devices/no-such-device');
    assert.equal(unknownDevice.status, 404);
    assert.match(unknownDevice.type, /^application\/problem\+json/);
    assert.deepEqual(
      { type: unknownDevice.body.type, title: unknownDevice.body.title, resultType: unknownDevice.body.resultType, resultCode: unknownDevice.body.resultCode },
      { type: 'urn:uptivity:result:API_DEVICE_INVALID', title: 'API_DEVICE_INVALID', resultType: 'API_DEVICE_INVALID', resultCode: 8 },
    );
    assert.equal(unknownDevice.body.status, 404);
    assert.equal(unknownDevice.body.instance, '/api/v1/devices/no-such-device');
    assert.ok(unknownDevice.body.detail.length > 0);

    const notInCall = await rest('POST', '/api/v1/blackouts/stop', { deviceId: '1111' });
    assert.equal(notInCall.status, 409, JSON.stringify(notInCall.body));
    assert.equal(notInCall.body.status, 409);
    assert.equal(notInCall.body.resultType, 'API_DEVICE_NOT_IN_CALL');

    const deprecated = await rest('POST', '/api/v1/commands/modechange', { deviceId: '1111', mode: 'MODE_READY' });
    assert.equal(deprecated.status, 501);
    assert.equal(deprecated.body.resultType, 'API_COMMAND_NOT_SUPPORTED');
    assert.equal(deprecated.body.resultCode, 49);

    const unknownType = await rest('POST', '/api/v1/commands/nosuchcommand', {});
    assert.equal(unknownType.status, 400);
    assert.equal(unknownType.body.resultType, 'API_UNKNOWN_MESSAGE_TYPE');

    const noRoute = await rest('GET', '/api/v1/no/such/route');
    assert.equal(noRoute.status, 404);
    assert.match(noRoute.type, /^application\/problem\+json/);
  });

  test('a core that cannot be reached is 503 with Retry-After', async () => {
    const down = await startTestGateway({}, { port: 1, backoffInitialMs: 50 } as never, { exports: false });
    try {
      const answer = await rest('GET', '/api/v1/devices', undefined, down.url);
      assert.equal(answer.status, 503);
      assert.match(answer.type, /^application\/problem\+json/);
      assert.equal(answer.body.resultType, 'API_ERROR_RECORDER_NOT_RUNNING');
      assert.ok(Number(answer.headers.get('retry-after')) > 0);
    } finally {
      await down.close();
    }
  });
});

describe('validation before the core', () => {
  test('bad bodies and query strings are refused with 400 and nothing is sent', async () => {
    const cases: [string, string, unknown][] = [
      ['POST', '/api/v1/calls/start', {}],
      ['POST', '/api/v1/calls/start', { deviceId: 'x'.repeat(65) }],
      ['POST', '/api/v1/calls/start', { deviceId: '1111', callDirection: 'sideways' }],
      ['POST', '/api/v1/calls/start', { deviceId: '1111', priority: 'high' }],
      ['POST', '/api/v1/calls/start', { deviceId: '1111', agentInitiated: 'Y' }],
      ['POST', '/api/v1/calls/start', { deviceId: '1111', user1: 'x'.repeat(21) }],
      ['POST', '/api/v1/calls/start', { deviceId: '1111', unknownField: 'x' }],
      ['POST', '/api/v1/calls/start', { deviceId: '' }],
      ['POST', '/api/v1/calls/update', { deviceId: '1111', requestId: 0 }],
      ['POST', '/api/v1/chats/start', { agentId: 3 }],
      ['GET', '/api/v1/recordings?limit=many', undefined],
      ['GET', '/api/v1/recordings?callDateStart=yesterday', undefined],
      ['GET', '/api/v1/recordings/abc', undefined],
      ['GET', '/api/v1/devices/1111/instances?deviceAlias=x', undefined],
      ['GET', '/api/v1/agents/window', undefined],
      ['GET', '/api/v1/recordings/media?recordIds=1;DROP&format=wav', undefined],
      ['GET', '/api/v1/recordings/1/media?format=flac', undefined],
      ['POST', '/api/v1/commands/callstart', { '<DEVICEID>': '1' }],
      ['POST', '/api/v1/commands/callstart', { deviceId: { nested: true } }],
      // One request is one command: a TYPE or REQUESTTYPE in the body would be a second one.
      ['POST', '/api/v1/commands/test', { type: 'importuser', action: 'list' }],
      ['POST', '/api/v1/commands/test', { REQUESTTYPE: 'importuser' }],
      ['POST', '/api/v1/commands/test', { requestType: 'importuser' }],
      ['POST', '/api/v1/commands/devicestatus', { deviceId: '1111', Type: 'IMPORTUSER' }],
      // JSON says what type a value is: nothing is coerced into the type the schema asks for.
      ['POST', '/api/v1/groups', { groupName: true }],
      ['POST', '/api/v1/groups', { groupName: ['g1'] }],
      ['POST', '/api/v1/groups', { groupName: 7 }],
      ['POST', '/api/v1/calls/start', { deviceId: 1111 }],
      ['POST', '/api/v1/calls/start', { deviceId: '1111', agentInitiated: 'true' }],
      ['POST', '/api/v1/calls/update', { deviceId: '1111', requestId: true }],
      ['POST', '/api/v1/calls/update', { deviceId: '1111', requestId: '7' }],
      ['POST', '/api/v1/commands/test', { requestId: true }],
    ];
    for (const [method, url, body] of cases) {
      const received = await receivedDuring(async () => {
        const answer = await rest(method, url, body);
        assert.equal(answer.status, 400, `${method} ${url} ${JSON.stringify(body)}: ${JSON.stringify(answer.body)}`);
        assert.match(answer.type, /^application\/problem\+json/);
        assert.equal(answer.body.resultCode, 16, JSON.stringify(answer.body));
        assert.ok(answer.body.detail.length > 0);
      });
      assert.deepEqual(received, [], `${method} ${url}: nothing reaches the core`);
    }
  });

  test('a body that is not JSON, or too large, is refused as problem+json', async () => {
    const notJson = await fetch(`${gw.url}/api/v1/calls/start`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"deviceId":' });
    assert.equal(notJson.status, 400);
    assert.match(notJson.headers.get('content-type') ?? '', /^application\/problem\+json/);
    const huge = await fetch(`${gw.url}/api/v1/commands/callupdate`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ user4: 'x'.repeat(2 * 1024 * 1024) }) });
    assert.equal(huge.status, 413);
    assert.match(huge.headers.get('content-type') ?? '', /^application\/problem\+json/);
  });

  test('values cannot inject XML', async () => {
    const received = await receivedDuring(() => rest('POST', '/api/v1/calls/update', { deviceId: '1111', user9: '</USER9><TYPE>CALLSTOP</TYPE>&' }));
    assert.equal(received.length, 1);
    assert.match(received[0]!, /<USER9>&lt;\/USER9&gt;&lt;TYPE&gt;CALLSTOP&lt;\/TYPE&gt;&amp;<\/USER9>/);
  });
});

describe('POST /api/v1/commands/{type}', () => {
  test('every command of the catalog gives the same result as through the WebAPI', async () => {
    // Two gateways over two simulators in the same state: each command goes to one through the
    // WebAPI and to the other through the escape hatch, in the same order.
    const viaWebApi = await startTestGateway({ seed: false });
    const viaRest = await startTestGateway({ seed: false });
    try {
      for (const spec of commands) {
        const params = sampleParams(spec);
        const query = new URLSearchParams([['type', spec.type], ['requestid', '77'], ...params]);
        const xmlReply = await fetch(`${viaWebApi.url}/webAPI.aspx?${query}`);
        const xml = await xmlReply.text();
        const json = await rest('POST', `/api/v1/commands/${spec.type.toLowerCase()}`, { requestId: 77, ...Object.fromEntries(params) }, viaRest.url);
        const webApi = xmlReply.headers.get('content-type')?.startsWith('text/xml')
          ? { type: childText(parseXml(xml), 'RESULTTYPE'), code: Number(childText(parseXml(xml), 'RESULTCODE')) }
          : { type: 'media', code: xmlReply.status };
        const viaJson = json.status === 200 && json.body?.result ? { type: json.body.result.type, code: json.body.result.code } : json.body?.resultType ? { type: json.body.resultType, code: json.body.resultCode } : { type: 'media', code: json.status };
        assert.deepEqual(viaJson, webApi, `${spec.type}: ${xml.slice(0, 300)} vs ${JSON.stringify(json.body).slice(0, 300)}`);
      }
    } finally {
      await viaWebApi.close();
      await viaRest.close();
    }
  });

  test('JSON names, XML names in any case, booleans and arrays reach the core as the WebAPI would send them', async () => {
    const received = await receivedDuring(() =>
      rest('POST', '/api/v1/commands/callstart', { deviceId: '1111', SYS_USER: 'gkerber', user9: 'x', agentInitiated: true, priority: 5 }),
    );
    assert.equal(received.length, 1);
    for (const element of ['<DEVICEID>1111</DEVICEID>', '<SYS_USER>gkerber</SYS_USER>', '<USER9>x</USER9>', '<AGENTINITIATED>Y</AGENTINITIATED>', '<PRIORITY>5</PRIORITY>']) {
      assert.ok(received[0]!.includes(element), `${element} in ${received[0]}`);
    }
    await rest('POST', '/api/v1/calls/stop', { deviceId: '1111' });
  });
});
