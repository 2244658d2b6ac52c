/**
 * The REST answers as resources: every JSON route of the served OpenAPI document is called against
 * the simulator until it succeeds, and each answer is validated against the response schema the
 * document states for it (additional properties refused), so the document says exactly what is
 * sent. Failures met on the way are validated against the problem schema.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { findCommand } from '../../../src/protocol/catalog.js';
import { parseXml } from '../../../src/protocol/xml.js';
import { recordJson, resourceJson } from '../../../src/http/rest/resources.js';
import { deviceRecord, userRecord } from '../../../src/protocol/result-records.js';
import { startTestGateway, type TestGateway } from '../gateway-harness.js';

let gw: TestGateway;
let document: any;

before(async () => {
  gw = await startTestGateway({ seed: true });
  document = await (await fetch(`${gw.url}/openapi.json`)).json();
});
after(async () => {
  await gw.close();
});

interface Call {
  method: string;
  /** The path as the document names it, and the URL to call. */
  route: string;
  url: string;
  body?: unknown;
}

const json = (method: string, route: string, url = route, body?: unknown): Call => ({ method, route, url, ...(body === undefined ? {} : { body }) });

/** A run that leaves every route answered with success once, each creating what the next needs. */
function calls(ids: { userId: () => number; groupId: () => number; recordId: () => number }): (() => Call)[] {
  return [
    () => json('GET', '/system/test'),
    () => json('POST', '/calls/start', '/calls/start', { deviceId: '1111', ani: '6145550000', callDirection: 'I' }),
    () => json('POST', '/calls/update', '/calls/update', { deviceId: '1111', user9: 'case-42' }),
    () => json('POST', '/recordings/stop', '/recordings/stop', { deviceId: '1111' }),
    () => json('POST', '/recordings/start', '/recordings/start', { deviceId: '1111' }),
    () => json('GET', '/devices'),
    () => json('GET', '/devices/{deviceId}', '/devices/1111'),
    () => json('GET', '/devices/{deviceId}/instances', '/devices/1111/instances'),
    () => json('POST', '/blackouts/start', '/blackouts/start', { deviceId: '1111' }),
    () => json('POST', '/blackouts/stop', '/blackouts/stop', { deviceId: '1111' }),
    () => json('POST', '/calls/stop', '/calls/stop', { deviceId: '1111' }),
    () => json('GET', '/system/status'),
    () => json('GET', '/system/channels'),
    () => json('GET', '/system/stations'),
    () => json('GET', '/system/terminology'),
    () => json('GET', '/recordings', '/recordings?limit=3'),
    () => json('GET', '/recordings/{recordId}', `/recordings/${ids.recordId()}`),
    () => json('PATCH', '/recordings/{recordId}', `/recordings/${ids.recordId()}`, { user4: 'Reviewed' }),
    () => json('POST', '/chats/start', '/chats/start', { sessionId: 'chat-1', agentId: 2 }),
    () => json('POST', '/chats/update', '/chats/update', { sessionId: 'chat-1', user1: 'x' }),
    () => json('POST', '/chats/stop', '/chats/stop', { sessionId: 'chat-1' }),
    () => json('GET', '/users'),
    () => json('POST', '/users', '/users', { firstName: 'Ada', lastName: 'Byron', username: 'abyron', status: 'A', phones: '7101,7102' }),
    () => json('PATCH', '/users/{userId}', `/users/${ids.userId()}`, { email: 'ada@example.com' }),
    () => json('PUT', '/users/{agentId}/phones/{phoneId}', `/users/${ids.userId()}/phones/7777`, {}),
    () => json('DELETE', '/users/{agentId}/phones/{phoneId}', `/users/${ids.userId()}/phones/7777`),
    () => json('PUT', '/system/stations/{stationName}', '/system/stations/WS-0142', { deviceId: '1111', locationId: 1 }),
    () => json('POST', '/groups', '/groups', { groupName: 'Auditing' }),
    () => json('PUT', '/groups/{groupId}/agents/{agentId}', `/groups/${ids.groupId()}/agents/${ids.userId()}`, {}),
    () => json('DELETE', '/groups/{groupId}/agents/{agentId}', `/groups/${ids.groupId()}/agents/${ids.userId()}`),
    () => json('PUT', '/groups/{groupId}/viewers/{username}', `/groups/${ids.groupId()}/viewers/abyron`, {}),
    () => json('DELETE', '/groups/{groupId}/viewers/{username}', `/groups/${ids.groupId()}/viewers/abyron`),
    () => json('POST', '/roles', '/roles', { roleName: 'Auditors', description: 'Read only' }),
    () => json('PATCH', '/roles/{roleName}', '/roles/Auditors', { description: 'Reads' }),
    () => json('PUT', '/roles/{roleName}/groups/{groupName}', '/roles/Auditors/groups/Auditing', {}),
    () => json('DELETE', '/roles/{roleName}/groups/{groupName}', '/roles/Auditors/groups/Auditing'),
    () => json('PUT', '/roles/{roleName}/users/{userId}', `/roles/Auditors/users/${ids.userId()}`, {}),
    () => json('DELETE', '/roles/{roleName}/users/{userId}', `/roles/Auditors/users/${ids.userId()}`),
    () => json('PUT', '/roles/{roleName}/permissions/{permissionName}', '/roles/Auditors/permissions/ALLOWQAVIEW', {}),
    () => json('DELETE', '/roles/{roleName}/permissions/{permissionName}', '/roles/Auditors/permissions/ALLOWQAVIEW'),
    () => json('DELETE', '/roles/{roleName}', '/roles/Auditors'),
    () => json('POST', '/recordings/{recordId}/email', `/recordings/${ids.recordId()}/email`, { toAddress: 'qa@example.com', mediaFormat: 'WAV' }),
    () => json('POST', '/recordings/email', '/recordings/email', { toAddress: 'qa@example.com', recordIds: [ids.recordId(), 10121968] }),
    () => json('GET', '/agents/window', '/agents/window?username=gkerber'),
    () => json('DELETE', '/users/{userId}', `/users/${ids.userId()}`),
  ];
}

describe('every JSON route answers what its response schema says', () => {
  test('real answers of every route validate against the served document', async () => {
    const ajv = new Ajv2020({ strict: false, allErrors: true });
    addFormats.default(ajv);
    const prefix = '/api/v1';
    const jsonRoutes: string[] = [];
    for (const [path, item] of Object.entries<any>(document.paths)) {
      if (!path.startsWith(prefix) || path === `${prefix}/commands/{type}` || path === `${prefix}/events`) continue;
      for (const [method, operation] of Object.entries<any>(item)) {
        if (operation.responses?.['200']?.content?.['application/json']) jsonRoutes.push(`${method.toUpperCase()} ${path.slice(prefix.length)}`);
      }
    }
    assert.ok(jsonRoutes.length >= 40, `${jsonRoutes.length} JSON routes`);

    let userId = 0;
    let groupId = 0;
    let recordId = 0;
    const answered = new Set<string>();
    for (const next of calls({ userId: () => userId, groupId: () => groupId, recordId: () => recordId })) {
      const call = next();
      const response = await fetch(`${gw.url}${prefix}${call.url}`, {
        method: call.method,
        headers: call.body === undefined ? {} : { 'content-type': 'application/json' },
        body: call.body === undefined ? undefined : JSON.stringify(call.body),
      });
      const body: any = await response.json();
      const operation = document.paths[`${prefix}${call.route}`]?.[call.method.toLowerCase()];
      assert.ok(operation, `${call.method} ${call.route} is in the document`);
      const key = `${call.method} ${call.route}`;
      if (response.status !== 200) {
        const validProblem = ajv.validate(operation.responses['4XX'].content['application/problem+json'].schema, body);
        assert.ok(validProblem, `${key}: ${ajv.errorsText()}`);
        assert.fail(`${key} answered ${response.status}: ${JSON.stringify(body)}`);
      }
      const schema = operation.responses['200'].content['application/json'].schema;
      assert.ok(Boolean(ajv.validate(schema, body)), `${key}: ${ajv.errorsText()} in ${JSON.stringify(body).slice(0, 600)}`);
      answered.add(key);
      if (call.route === '/users' && call.method === 'POST') userId = body.userId;
      if (call.route === '/groups') groupId = body.groupId;
      if (call.route === '/recordings') recordId = body.recordings[0].recordId;
    }
    assert.deepEqual(jsonRoutes.filter((route) => !answered.has(route)), [], 'every JSON route was answered');
  });

  test('the schemas refuse what is not described: a field the catalog does not declare is not sent', async () => {
    const answer: any = await (await fetch(`${gw.url}/api/v1/devices`)).json();
    const schema = document.paths['/api/v1/devices'].get.responses['200'].content['application/json'].schema;
    const ajv = new Ajv2020({ strict: false });
    assert.ok(Boolean(ajv.validate(schema, answer)));
    assert.equal(ajv.validate(schema, { ...answer, count: answer.devices.length }), false, 'a count beside the array is not part of the answer');
    assert.equal(ajv.validate(schema, { devices: [{ ...answer.devices[0], extra: 'x' }] }), false);
  });
});

describe('records as JSON', () => {
  test('nested lists and comma lists are arrays, empty when absent; unreadable values are null; undeclared elements are left out', () => {
    const user = parseXml('<USER><USER_ID>x7</USER_ID><FIRSTNAME>Sally</FIRSTNAME><AGENT>TRUE</AGENT><PHONES></PHONES><SECRET>s</SECRET></USER>');
    assert.deepEqual(recordJson(user, userRecord), { userId: null, firstName: 'Sally', agent: true, phones: [] });
    const phones = parseXml('<USER><PHONES>1123, 3343,3234</PHONES></USER>');
    assert.deepEqual(recordJson(phones, userRecord), { phones: ['1123', '3343', '3234'] });

    const devices = parseXml('<RESULT><RESULTCODE>20</RESULTCODE><DEVICES><COUNT>0</COUNT></DEVICES></RESULT>');
    const deviceList = findCommand('DEVICELIST')!.rest[0]!.answer!;
    assert.deepEqual(resourceJson(devices, deviceList), { devices: [] }, 'no device is an empty array, the count is the array\'s length');
    const deviceStatus = findCommand('DEVICESTATUS')!.rest[0]!.answer!;
    assert.equal(resourceJson(devices, deviceStatus), undefined, 'one device asked for and none given is no answer');
    const one = parseXml('<RESULT><DEVICES><DEVICE><DEVICEID>1</DEVICEID><RECORDING><ISRECORDING>Y</ISRECORDING></RECORDING></DEVICE></DEVICES></RESULT>');
    assert.deepEqual(recordJson(one.children[0]!.children[0]!, deviceRecord), { deviceId: '1', recording: { isRecording: true } });

    const status = parseXml('<RESULT><RECORDINGSPEACEINFO>1GB of 2GB</RECORDINGSPEACEINFO><PROCESSOR0><SYSTEMPROCESSORTYPE>A</SYSTEMPROCESSORTYPE></PROCESSOR0><PROCESSOR1><SYSTEMPROCESSORTYPE>B</SYSTEMPROCESSORTYPE></PROCESSOR1></RESULT>');
    assert.deepEqual(resourceJson(status, findCommand('SYSTEMSTATUS')!.rest[0]!.answer!), {
      status: { recordingSpaceInfo: '1GB of 2GB', processors: [{ systemProcessorType: 'A' }, { systemProcessorType: 'B' }] },
    });
  });
});
