/**
 * The import and administration commands of the simulator over real TCP, against the seeded
 * dataset: IMPORTUSER (ADD, MODIFY, DELETE, LIST in the observed production format, aliases, the
 * manual's malformed example, the field quirk of an unclosed <USERS>), IMPORTAGENTPHONE,
 * IMPORTWORKSTATION, ADDGROUP, MODIFYGROUPPERMISSION, MODIFYUSERGROUPPERMISSION and the role
 * functions. Codes, RESULTTYPE labels and messages are the ones the API Manual v5.7, the newer help
 * and the README's decided quirks specify.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { XmlElement } from '../../src/protocol/xml.js';
import type { RunningSimulator } from '../../src/sim/simulator.js';
import { all, CoreClient, field, startTestSimulator, type Answer } from './harness.js';

function expectResult(answer: Answer, requestType: string, code: number, type: string, message?: string | RegExp): void {
  assert.equal(answer.requestType, requestType, answer.xml);
  assert.equal(answer.code, code, answer.xml);
  assert.equal(answer.type, type, answer.xml);
  if (typeof message === 'string') assert.equal(answer.message, message, answer.xml);
  else if (message) assert.match(answer.message, message, answer.xml);
}

const expectOk = (answer: Answer, requestType: string, message?: string | RegExp): void => expectResult(answer, requestType, 20, 'API_OK', message);

/** The body of a RESULT: its children after the five header elements. */
const bodyOf = (answer: Answer): [string, string][] => answer.root.children.slice(5).map((c) => [c.name, c.text]);

/** The fields of a USER of the observed production LIST output, in order. */
const userFields = [
  'USER_ID', 'USERNAME', 'EMPLOYEE_ID', 'FIRST_NAME', 'LAST_NAME', 'AGENT', 'STATUS', 'ADD_TIME', 'MOD_TIME', 'SYS_USER', 'SYS_DOMAIN', 'EMAIL',
  'CRM_USER', 'SITE_ID', 'PHONES',
];

/** `M/D/YYYY h:mm:ss AM|PM +HH:MM`, the date/time-offset form of IMPORTUSER LIST. */
const timeWithOffset = /^(\d{1,2})\/(\d{1,2})\/(\d{4}) (\d{1,2}):(\d{2}):(\d{2}) (AM|PM) ([+-])(\d{2}):(\d{2})$/;

/** The instant a date/time-offset string denotes (whatever the time zone of the machine). */
function instantOf(value: string): number {
  const m = timeWithOffset.exec(value);
  assert.ok(m, `${JSON.stringify(value)} is not M/D/YYYY h:mm:ss AM|PM +HH:MM`);
  const [, month, day, year, hour, minute, second, meridiem, sign, offH, offM] = m;
  const h = (Number(hour) % 12) + (meridiem === 'PM' ? 12 : 0);
  const local = Date.UTC(Number(year), Number(month) - 1, Number(day), h, Number(minute), Number(second));
  const offsetMinutes = (sign === '-' ? -1 : 1) * (Number(offH) * 60 + Number(offM));
  return local - offsetMinutes * 60_000;
}

interface UserList {
  answer: Answer;
  count: number;
  users: XmlElement[];
}

async function listUsers(client: CoreClient, requestId = 900): Promise<UserList> {
  const answer = await client.request('IMPORTUSER', { ACTION: 'LIST' }, requestId);
  expectOk(answer, 'IMPORTUSER', 'API_OK');
  const [usersElement] = all(answer.root, 'USERS');
  assert.ok(usersElement, answer.xml);
  const users = all(answer.root, 'USERS/USER');
  const count = Number(field(usersElement, 'COUNT'));
  assert.equal(count, users.length, 'COUNT is the number of USER elements');
  return { answer, count, users };
}

const byName = (list: UserList, first: string, last: string): XmlElement | undefined =>
  list.users.find((u) => field(u, 'FIRST_NAME') === first && field(u, 'LAST_NAME') === last);
const byId = (list: UserList, id: string): XmlElement | undefined => list.users.find((u) => field(u, 'USER_ID') === id);

async function userIdOf(client: CoreClient, first: string, last: string): Promise<string> {
  const user = byName(await listUsers(client), first, last);
  assert.ok(user, `${first} ${last} is listed`);
  return field(user, 'USER_ID')!;
}

describe('IMPORTUSER', () => {
  let sim: RunningSimulator;
  let client: CoreClient;
  before(async () => {
    sim = await startTestSimulator({ seed: true });
    client = await CoreClient.connect(sim.port);
  });
  after(async () => {
    client.close();
    await sim.close();
  });

  test('LIST returns USERS with COUNT, then USER elements with exactly the observed production fields', async () => {
    const list = await listUsers(client, 17);
    assert.equal(list.answer.requestId, '17');
    const [usersElement] = all(list.answer.root, 'USERS');
    assert.equal(usersElement!.children[0]!.name, 'COUNT', 'COUNT comes first');
    assert.deepEqual(new Set(usersElement!.children.slice(1).map((c) => c.name)), new Set(['USER']));
    assert.ok(list.count > 20, 'the seeded users are listed');
    for (const user of list.users) {
      assert.deepEqual(user.children.map((c) => c.name), userFields, `fields of user ${field(user, 'USER_ID')}`);
      assert.match(field(user, 'AGENT')!, /^(TRUE|FALSE)$/);
      assert.match(field(user, 'STATUS')!, /^[AI]$/);
      assert.match(field(user, 'ADD_TIME')!, timeWithOffset);
      assert.match(field(user, 'MOD_TIME')!, timeWithOffset);
    }
    // Without </USERS> quirks the answer is well-formed.
    assert.match(list.answer.xml, /<\/USERS>\r\n<\/RESULT>(\r\n)?$/);
  });

  test('LIST shows the administrator as the production core does', async () => {
    const admin = byId(await listUsers(client), '1');
    assert.ok(admin);
    const fields = Object.fromEntries(admin.children.map((c) => [c.name, c.text]));
    assert.deepEqual(
      { ...fields, MOD_TIME: undefined },
      {
        USER_ID: '1',
        USERNAME: 'user1',
        EMPLOYEE_ID: '',
        FIRST_NAME: 'CallCopy',
        LAST_NAME: 'Admin',
        AGENT: 'FALSE',
        STATUS: 'A',
        ADD_TIME: '1/1/0001 12:00:00 AM +00:00',
        MOD_TIME: undefined,
        SYS_USER: '',
        SYS_DOMAIN: '',
        EMAIL: 'user@user.com',
        CRM_USER: '',
        SITE_ID: '-1',
        PHONES: '',
      },
    );
    // The observed MOD_TIME, 4/12/2017 3:51:30 PM -05:00, in the local time of this machine.
    assert.equal(instantOf(fields.MOD_TIME!), Date.UTC(2017, 3, 12, 20, 51, 30));
  });

  test("the manual's ADD example, with its malformed <AGENT_ID>2</USERID>, adds James Doe", async () => {
    const before = await listUsers(client);
    const answer = await client.raw(`<REQUEST>
  <TYPE>IMPORTUSER</TYPE>
  <REQUESTID>2</REQUESTID>
  <ACTION>ADD</ACTION>
  <AGENT_ID>2</USERID>
  <EMPLOYEEID>5</EMPLOYEEID>
  <FIRSTNAME>James</FIRSTNAME>
  <LASTNAME>Doe</LASTNAME>
  <STATUS>A</STATUS>
  <ADD_TIME></ADD_TIME>
  <MOD_TIME></MOD_TIME>
  <SYS_USER>doe.1</SYS_USER>
  <DOMAIN>somecompany</DOMAIN>
  <EMAIL>jdoe@somecompany.com</EMAIL>
  <CRM_USER>CRMUsername</CRM_USER>
  <PASSWORD>Password</PASSWORD>
  <SITEID>1</SITEID>
  <USERNAME>CallCopyUsername</USERNAME>
</REQUEST>`);
    expectOk(answer, 'IMPORTUSER', 'API_OK');
    assert.equal(answer.requestId, '2');
    const userId = field(answer.root, 'USERID');
    assert.match(userId ?? '', /^\d+$/);
    assert.notEqual(userId, '2', 'USERID is ignored when the action is ADD');

    const after = await listUsers(client);
    assert.equal(after.count, before.count + 1);
    const james = byId(after, userId!);
    assert.ok(james, 'the new user is listed under the USERID returned');
    assert.deepEqual(
      Object.fromEntries(james.children.filter((c) => !['ADD_TIME', 'MOD_TIME'].includes(c.name)).map((c) => [c.name, c.text])),
      {
        USER_ID: userId,
        USERNAME: 'CallCopyUsername',
        EMPLOYEE_ID: '5',
        FIRST_NAME: 'James',
        LAST_NAME: 'Doe',
        AGENT: 'TRUE',
        STATUS: 'A',
        SYS_USER: 'doe.1',
        SYS_DOMAIN: 'somecompany',
        EMAIL: 'jdoe@somecompany.com',
        CRM_USER: 'CRMUsername',
        SITE_ID: '1',
        PHONES: '',
      },
    );
    const added = instantOf(field(james, 'ADD_TIME')!);
    assert.ok(Math.abs(added - Date.now()) < 60_000, 'ADD_TIME is the time of the ADD');
  });

  test('ADD returns API_OK and the USERID; STATUS I adds a user that is not an agent', async () => {
    const answer = await client.request('IMPORTUSER', { ACTION: 'ADD', FIRSTNAME: 'Ines', LASTNAME: 'Inactive', USERNAME: 'iinactive', STATUS: 'I' }, 3);
    expectOk(answer, 'IMPORTUSER', 'API_OK');
    assert.deepEqual(bodyOf(answer).map(([name]) => name), ['USERID']);
    const user = byId(await listUsers(client), field(answer.root, 'USERID')!);
    assert.equal(field(user, 'AGENT'), 'FALSE');
    assert.equal(field(user, 'STATUS'), 'I');
    assert.equal(field(user, 'SITE_ID'), '-1', 'no SITEID: all sites');
  });

  test('ADD with a USERNAME that exists: API_USER_ALREADY_EXIST (54)', async () => {
    const before = await listUsers(client);
    const answer = await client.request('IMPORTUSER', { ACTION: 'ADD', FIRSTNAME: 'Other', LASTNAME: 'Person', USERNAME: 'jsmith' }, 4);
    expectResult(answer, 'IMPORTUSER', 54, 'API_USER_ALREADY_EXIST');
    assert.equal(field(answer.root, 'USERID'), undefined);
    assert.equal((await listUsers(client)).count, before.count);
  });

  test('ADD with the first and last name of an existing user: API_AGENT_ALREADY_EXIST (42), values not changed', async () => {
    const before = await listUsers(client);
    const johnBefore = byName(before, 'John', 'Doe');
    assert.ok(johnBefore);
    const answer = await client.request(
      'IMPORTUSER',
      { ACTION: 'ADD', FIRSTNAME: 'John', LASTNAME: 'Doe', USERNAME: 'johndoe2', EMAIL: 'changed@example.com', SYS_USER: 'changed', PHONES: '3599' },
      5,
    );
    expectResult(answer, 'IMPORTUSER', 42, 'API_AGENT_ALREADY_EXIST');
    const after = await listUsers(client);
    assert.equal(after.count, before.count, 'nothing added');
    assert.deepEqual(byName(after, 'John', 'Doe'), johnBefore, 'nothing changed on the existing user');
    // An automated script may call ADD again and again: the answer stays the same.
    expectResult(await client.request('IMPORTUSER', { ACTION: 'ADD', FIRSTNAME: 'John', LASTNAME: 'Doe' }, 6), 'IMPORTUSER', 42, 'API_AGENT_ALREADY_EXIST');
  });

  test('ADD without FIRSTNAME: API_INVALID_MESSAGE_FORMAT (16)', async () => {
    const before = await listUsers(client);
    expectResult(await client.request('IMPORTUSER', { ACTION: 'ADD', LASTNAME: 'Nofirst', USERNAME: 'nofirst' }, 7), 'IMPORTUSER', 16, 'API_INVALID_MESSAGE_FORMAT');
    assert.equal((await listUsers(client)).count, before.count);
  });

  test('an ACTION other than ADD, MODIFY, DELETE, LIST: API_ERROR_INVALID_ACTION (21)', async () => {
    const answer = await client.request('IMPORTUSER', { ACTION: 'FOO', FIRSTNAME: 'Foo', LASTNAME: 'Bar' }, 8);
    expectResult(answer, 'IMPORTUSER', 21, 'API_ERROR_INVALID_ACTION');
    assert.equal(answer.requestId, '8');
  });

  test('no ACTION: API_INVALID_MESSAGE_FORMAT (16)', async () => {
    expectResult(await client.request('IMPORTUSER', { FIRSTNAME: 'No', LASTNAME: 'Action' }, 9), 'IMPORTUSER', 16, 'API_INVALID_MESSAGE_FORMAT');
  });

  test('MODIFY of a USERID that does not exist: API_USER_NOT_FOUND (28)', async () => {
    expectResult(await client.request('IMPORTUSER', { ACTION: 'MODIFY', USERID: 99999, EMAIL: 'x@example.com' }, 10), 'IMPORTUSER', 28, 'API_USER_NOT_FOUND');
  });

  test('MODIFY changes the fields it is given, as LIST shows', async () => {
    const userId = await userIdOf(client, 'Maria', 'Garcia');
    const before = byId(await listUsers(client), userId)!;
    const sent = Date.now();
    const answer = await client.request(
      'IMPORTUSER',
      { ACTION: 'MODIFY', USERID: userId, EMAIL: 'maria.garcia@uptivity.com', EMPLOYEEID: 'E-77', SYS_USER: 'mgarcia2', DOMAIN: 'UPTIVITY2', CRM_USER: 'crm.mg', SITEID: 2, STATUS: 'I' },
      11,
    );
    expectOk(answer, 'IMPORTUSER', 'API_OK');
    assert.equal(field(answer.root, 'USERID'), userId);
    const after = byId(await listUsers(client), userId)!;
    const f = (name: string): string | undefined => field(after, name);
    assert.equal(f('EMAIL'), 'maria.garcia@uptivity.com');
    assert.equal(f('EMPLOYEE_ID'), 'E-77');
    assert.equal(f('SYS_USER'), 'mgarcia2');
    assert.equal(f('SYS_DOMAIN'), 'UPTIVITY2');
    assert.equal(f('CRM_USER'), 'crm.mg');
    assert.equal(f('SITE_ID'), '2');
    assert.equal(f('STATUS'), 'I');
    assert.equal(f('AGENT'), 'FALSE', 'STATUS I clears the agent flag');
    // What MODIFY was not given stays.
    for (const name of ['USERNAME', 'FIRST_NAME', 'LAST_NAME', 'PHONES', 'ADD_TIME']) assert.equal(f(name), field(before, name), name);
    const modified = instantOf(f('MOD_TIME')!);
    assert.ok(modified >= sent - 1000 && modified <= Date.now() + 1000, 'MOD_TIME is the time of the MODIFY');

    // Back to active: an agent again.
    expectOk(await client.request('IMPORTUSER', { ACTION: 'MODIFY', USERID: userId, STATUS: 'A' }, 12), 'IMPORTUSER');
    assert.equal(field(byId(await listUsers(client), userId), 'AGENT'), 'TRUE');
  });

  test('MODIFY to the USERNAME of another user: API_USER_ALREADY_EXIST (54)', async () => {
    const userId = await userIdOf(client, 'David', 'Chen');
    expectResult(await client.request('IMPORTUSER', { ACTION: 'MODIFY', USERID: userId, USERNAME: 'jsmith' }, 13), 'IMPORTUSER', 54, 'API_USER_ALREADY_EXIST');
    assert.equal(field(byId(await listUsers(client), userId), 'USERNAME'), 'dchen');
  });

  test('SITEID of no site: API_SITEID_NOT_VALID (53), on ADD and on MODIFY', async () => {
    const before = await listUsers(client);
    expectResult(
      await client.request('IMPORTUSER', { ACTION: 'ADD', FIRSTNAME: 'Sid', LASTNAME: 'Nosite', USERNAME: 'snosite', SITEID: 999 }, 14),
      'IMPORTUSER', 53, 'API_SITEID_NOT_VALID',
    );
    assert.equal((await listUsers(client)).count, before.count);
    assert.equal(byName(await listUsers(client), 'Sid', 'Nosite'), undefined);
    const userId = await userIdOf(client, 'Aisha', 'Khan');
    expectResult(await client.request('IMPORTUSER', { ACTION: 'MODIFY', USERID: userId, SITEID: 999 }, 15), 'IMPORTUSER', 53, 'API_SITEID_NOT_VALID');
    assert.equal(field(byId(await listUsers(client), userId), 'SITE_ID'), '1');
  });

  test('an ADD whose PHONES hold a phone of another agent adds nothing: API_ERROR_KEYS_NOT_UNIQUE (22)', async () => {
    const before = await listUsers(client);
    expectResult(
      await client.request('IMPORTUSER', { ACTION: 'ADD', FIRSTNAME: 'Pho', LASTNAME: 'Netaken', USERNAME: 'pnetaken', PHONES: '3598,7002' }, 16),
      'IMPORTUSER', 22, 'API_ERROR_KEYS_NOT_UNIQUE',
    );
    const after = await listUsers(client);
    assert.equal(after.count, before.count, 'the whole ADD was undone');
    assert.equal(field(byName(after, 'Maria', 'Garcia'), 'PHONES'), '7002');
    assert.ok(!after.users.some((u) => field(u, 'PHONES')!.split(',').includes('3598')));
  });

  test('the aliases of the manuals: FIRST_NAME, LAST_NAME, EMPLOYEE_ID, USER_ID, SITE_ID (the newer help example)', async () => {
    // The ADD example of the newer help, as printed.
    const answer = await client.raw(
      '<REQUEST> <TYPE>IMPORTUSER</TYPE> <REQUESTID>5</REQUESTID> <ACTION>ADD</ACTION> <USER_ID>2</USER_ID> <USERNAME>Sally Smith</USERNAME> <EMPLOYEE_ID>5</EMPLOYEE_ID> <FIRST_NAME>Sally</FIRST_NAME> <LAST_NAME>Smith</LAST_NAME> <STATUS>A</STATUS> <ADD_TIME></ADD_TIME> <MOD_TIME></MOD_TIME> <SYS_USER>smith.1</SYS_USER> <DOMAIN>Uptivity</DOMAIN> <EMAIL>ssmith@uptivity.com</EMAIL> <CRM_USER>sallys</CRM_USER> <SITEID>1</SITEID> <PHONES>1123,3343,3234</PHONES> </REQUEST>',
    );
    expectOk(answer, 'IMPORTUSER', 'API_OK');
    const userId = field(answer.root, 'USERID')!;
    assert.notEqual(userId, '2');
    let sally = byId(await listUsers(client), userId);
    assert.deepEqual(
      [field(sally, 'USERNAME'), field(sally, 'EMPLOYEE_ID'), field(sally, 'FIRST_NAME'), field(sally, 'LAST_NAME'), field(sally, 'SITE_ID'), field(sally, 'PHONES')],
      ['Sally Smith', '5', 'Sally', 'Smith', '1', '1123,3343,3234'],
    );
    assert.equal(field(sally, 'AGENT'), 'TRUE');
    assert.equal(field(sally, 'SYS_DOMAIN'), 'Uptivity');

    const modify = await client.raw(
      `<REQUEST><TYPE>IMPORTUSER</TYPE><REQUESTID>6</REQUESTID><ACTION>MODIFY</ACTION><USER_ID>${userId}</USER_ID><FIRST_NAME>Sal</FIRST_NAME><LAST_NAME>Smithers</LAST_NAME><EMPLOYEE_ID>55</EMPLOYEE_ID><SITE_ID>2</SITE_ID></REQUEST>`,
    );
    expectOk(modify, 'IMPORTUSER', 'API_OK');
    assert.equal(field(modify.root, 'USERID'), userId);
    sally = byId(await listUsers(client), userId);
    assert.deepEqual(
      [field(sally, 'FIRST_NAME'), field(sally, 'LAST_NAME'), field(sally, 'EMPLOYEE_ID'), field(sally, 'SITE_ID')],
      ['Sal', 'Smithers', '55', '2'],
    );
  });

  test('DELETE marks the user deleted (no longer listed) and frees its phones', async () => {
    const added = await client.request('IMPORTUSER', { ACTION: 'ADD', FIRSTNAME: 'Temp', LASTNAME: 'Agent', USERNAME: 'tagent', PHONES: '3560' }, 20);
    expectOk(added, 'IMPORTUSER');
    const userId = field(added.root, 'USERID')!;
    const gregId = await userIdOf(client, 'Greg', 'Kerber');
    assert.equal(field(byId(await listUsers(client), userId), 'PHONES'), '3560');

    // While the user lives, its phone belongs to it.
    expectResult(
      await client.request('IMPORTAGENTPHONE', { ACTION: 'ADD', PHONEID: '3560', AGENTID: gregId }, 21),
      'IMPORTAGENTPHONE', 22, 'API_ERROR_KEYS_NOT_UNIQUE',
    );

    const before = await listUsers(client);
    const deleted = await client.request('IMPORTUSER', { ACTION: 'DELETE', USERID: userId }, 22);
    expectOk(deleted, 'IMPORTUSER', 'API_OK');
    assert.equal(field(deleted.root, 'USERID'), userId);
    const after = await listUsers(client);
    assert.equal(after.count, before.count - 1);
    assert.equal(byId(after, userId), undefined, 'a deleted user is not listed');

    // The phone is free: it can be given to another agent.
    const phone = await client.request('IMPORTAGENTPHONE', { ACTION: 'ADD', PHONEID: '3560', AGENTID: gregId }, 23);
    expectOk(phone, 'IMPORTAGENTPHONE', 'API_OK');
    assert.equal(field(phone.root, 'AGENTID'), gregId);
    assert.deepEqual(field(byId(await listUsers(client), gregId), 'PHONES')!.split(','), ['DESK1', '3560']);

    // A deleted user is not found any more.
    expectResult(await client.request('IMPORTUSER', { ACTION: 'MODIFY', USERID: userId, EMAIL: 'a@b.example' }, 24), 'IMPORTUSER', 28, 'API_USER_NOT_FOUND');
    expectResult(await client.request('IMPORTUSER', { ACTION: 'DELETE', USERID: userId }, 25), 'IMPORTUSER', 28, 'API_USER_NOT_FOUND');
  });

  test('DELETE without USERID: API_INVALID_MESSAGE_FORMAT (16)', async () => {
    expectResult(await client.request('IMPORTUSER', { ACTION: 'DELETE' }, 26), 'IMPORTUSER', 16, 'API_INVALID_MESSAGE_FORMAT');
  });
});

describe('IMPORTUSER LIST with the field quirks on', () => {
  let sim: RunningSimulator;
  let client: CoreClient;
  before(async () => {
    // A fresh store holds only the administrator, as the observed production output does.
    sim = await startTestSimulator({ fieldQuirks: true });
    client = await CoreClient.connect(sim.port);
  });
  after(async () => {
    client.close();
    await sim.close();
  });

  test('never closes <USERS>, yet is framed by </RESULT> and parsed leniently', async () => {
    const answer = await client.request('IMPORTUSER', { ACTION: 'LIST' }, 17);
    assert.ok(!answer.xml.includes('</USERS>'), answer.xml);
    assert.match(answer.xml, /<USERS>/);
    assert.match(answer.xml, /<\/USER>\r\n<\/RESULT>(\r\n)?$/);
    expectOk(answer, 'IMPORTUSER', 'API_OK');
    assert.equal(answer.requestId, '17');
    const users = all(answer.root, 'USERS/USER');
    assert.equal(field(all(answer.root, 'USERS')[0], 'COUNT'), '1');
    assert.equal(users.length, 1);
    assert.deepEqual(users[0]!.children.map((c) => c.name), userFields);
    assert.equal(field(users[0], 'USERNAME'), 'user1');
    assert.equal(field(users[0], 'ADD_TIME'), '1/1/0001 12:00:00 AM +00:00');
    assert.equal(field(users[0], 'SITE_ID'), '-1');

    // The connection goes on: the next answer is framed on its own.
    const next = await client.request('TEST', {}, 18);
    expectOk(next, 'TEST', 'API_OK');
    assert.equal(next.requestId, '18');
  });

  test('other answers stay well-formed', async () => {
    const answer = await client.request('IMPORTUSER', { ACTION: 'ADD', FIRSTNAME: 'Quirk', LASTNAME: 'Free' }, 19);
    expectOk(answer, 'IMPORTUSER');
    assert.match(answer.xml, /<USERID>\d+<\/USERID>\r\n<\/RESULT>(\r\n)?$/);
    const list = await client.request('IMPORTUSER', { ACTION: 'LIST' }, 20);
    assert.equal(all(list.root, 'USERS/USER').length, 2);
    assert.ok(!list.xml.includes('</USERS>'));
  });
});

describe('IMPORTAGENTPHONE and IMPORTWORKSTATION', () => {
  let sim: RunningSimulator;
  let client: CoreClient;
  before(async () => {
    sim = await startTestSimulator({ seed: true });
    client = await CoreClient.connect(sim.port);
  });
  after(async () => {
    client.close();
    await sim.close();
  });

  test("IMPORTAGENTPHONE by FIRSTNAME and LASTNAME when AGENTID 0 names nobody (the manual's example)", async () => {
    const johnDoe = await userIdOf(client, 'John', 'Doe');
    const answer = await client.raw(`<REQUEST>
  <TYPE>IMPORTAGENTPHONE</TYPE>
  <REQUESTID>2</REQUESTID>
  <ACTION>ADD</ACTION>
  <PHONEID>1234</PHONEID>
  <AGENTID>0</AGENTID>
  <FIRSTNAME>John</FIRSTNAME>
  <LASTNAME>Doe</LASTNAME>
</REQUEST>`);
    expectOk(answer, 'IMPORTAGENTPHONE', 'API_OK');
    assert.equal(answer.requestId, '2');
    assert.deepEqual(bodyOf(answer), [['AGENTID', johnDoe]], 'AGENTID is the USERID of the agent');
    assert.deepEqual(field(byId(await listUsers(client), johnDoe), 'PHONES')!.split(','), ['7001', '1234']);
  });

  test('IMPORTAGENTPHONE ADD by AGENTID lets CALLSTART find the agent by DEVICEALIAS', async () => {
    const janeDoe = await userIdOf(client, 'Jane', 'Doe');
    const before = await client.request('CALLSTART', { DEVICEID: '555', DEVICEALIAS: '3545' }, 30);
    expectResult(before, 'CALLSTART', 8, 'API_DEVICE_INVALID', 'Could not find a device matching given parameters');

    const answer = await client.request('IMPORTAGENTPHONE', { ACTION: 'ADD', PHONEID: '3545', AGENTID: janeDoe }, 31);
    expectOk(answer, 'IMPORTAGENTPHONE', 'API_OK');
    assert.deepEqual(bodyOf(answer), [['AGENTID', janeDoe]]);
    assert.deepEqual(field(byId(await listUsers(client), janeDoe), 'PHONES')!.split(','), ['7008', '3545']);

    expectOk(await client.request('CALLSTART', { DEVICEID: '555', DEVICEALIAS: '3545' }, 32), 'CALLSTART', 'CALLSTART sent to all of the following cores: 1');
    const status = await client.request('DEVICESTATUS', { DEVICEID: '555' }, 33);
    const [device] = all(status.root, 'DEVICES/DEVICE');
    assert.equal(field(device, 'DEVICEALIAS'), '3545');
    assert.equal(field(device, 'SYS_USER'), 'jane.doe', 'the call is the agent of phone 3545');
    assert.notEqual(field(device, 'STARTTIME'), '');
    assert.equal(field(device, 'STOPTIME'), '');
    expectOk(await client.request('CALLSTOP', { DEVICEID: '555' }, 34), 'CALLSTOP');
  });

  test('IMPORTAGENTPHONE ADD again to the same agent is harmless', async () => {
    const janeDoe = await userIdOf(client, 'Jane', 'Doe');
    expectOk(await client.request('IMPORTAGENTPHONE', { ACTION: 'ADD', PHONEID: '3545', AGENTID: janeDoe }, 35), 'IMPORTAGENTPHONE');
    assert.deepEqual(field(byId(await listUsers(client), janeDoe), 'PHONES')!.split(','), ['7008', '3545']);
  });

  test('IMPORTAGENTPHONE ADD of a phone assigned to another agent: API_ERROR_KEYS_NOT_UNIQUE (22)', async () => {
    const janeDoe = await userIdOf(client, 'Jane', 'Doe');
    const answer = await client.request('IMPORTAGENTPHONE', { ACTION: 'ADD', PHONEID: '3545', FIRSTNAME: 'David', LASTNAME: 'Chen' }, 36);
    expectResult(answer, 'IMPORTAGENTPHONE', 22, 'API_ERROR_KEYS_NOT_UNIQUE');
    const list = await listUsers(client);
    assert.deepEqual(field(byId(list, janeDoe), 'PHONES')!.split(','), ['7008', '3545'], 'the phone stays with its agent');
    assert.equal(field(byName(list, 'David', 'Chen'), 'PHONES'), '7003');
  });

  test('IMPORTAGENTPHONE for an agent that does not exist: API_AGENT_NOT_FOUND (24)', async () => {
    expectResult(await client.request('IMPORTAGENTPHONE', { ACTION: 'ADD', PHONEID: '3546', AGENTID: 99999 }, 37), 'IMPORTAGENTPHONE', 24, 'API_AGENT_NOT_FOUND');
    expectResult(
      await client.request('IMPORTAGENTPHONE', { ACTION: 'ADD', PHONEID: '3546', AGENTID: 0, FIRSTNAME: 'Nobody', LASTNAME: 'Here' }, 38),
      'IMPORTAGENTPHONE', 24, 'API_AGENT_NOT_FOUND',
    );
    assert.ok(!(await listUsers(client)).users.some((u) => field(u, 'PHONES')!.split(',').includes('3546')));
  });

  test('IMPORTAGENTPHONE needs the agent and a known ACTION', async () => {
    expectResult(await client.request('IMPORTAGENTPHONE', { ACTION: 'ADD', PHONEID: '3546' }, 39), 'IMPORTAGENTPHONE', 16, 'API_INVALID_MESSAGE_FORMAT');
    expectResult(await client.request('IMPORTAGENTPHONE', { ACTION: 'MOVE', PHONEID: '3546', AGENTID: 4 }, 40), 'IMPORTAGENTPHONE', 21, 'API_ERROR_INVALID_ACTION');
  });

  test('IMPORTAGENTPHONE DELETE removes the association only', async () => {
    const janeDoe = await userIdOf(client, 'Jane', 'Doe');
    const before = await listUsers(client);
    const answer = await client.request('IMPORTAGENTPHONE', { ACTION: 'DELETE', PHONEID: '3545', AGENTID: janeDoe }, 41);
    expectOk(answer, 'IMPORTAGENTPHONE', 'API_OK');
    assert.deepEqual(bodyOf(answer), [['AGENTID', janeDoe]]);
    const after = await listUsers(client);
    assert.equal(field(byId(after, janeDoe), 'PHONES'), '7008');
    assert.equal(after.count, before.count, 'the agent record is untouched');
    // The alias names no agent any more.
    expectResult(await client.request('CALLSTART', { DEVICEID: '555', DEVICEALIAS: '3545' }, 42), 'CALLSTART', 8, 'API_DEVICE_INVALID', 'Could not find a device matching given parameters');
    // ... and the phone may go to another agent.
    const davidChen = field(byName(after, 'David', 'Chen'), 'USER_ID')!;
    expectOk(await client.request('IMPORTAGENTPHONE', { ACTION: 'ADD', PHONEID: '3545', FIRSTNAME: 'David', LASTNAME: 'Chen' }, 43), 'IMPORTAGENTPHONE');
    assert.deepEqual(field(byId(await listUsers(client), davidChen), 'PHONES')!.split(','), ['7003', '3545']);
  });

  test("IMPORTWORKSTATION, the manual's example: DEVICEID and STATIONNAME returned, STATIONS lists the mapping", async () => {
    const stationsBefore = all((await client.request('STATIONS', {}, 50)).root, 'STATIONS/STATION');
    const answer = await client.raw(`<REQUEST>
  <TYPE>IMPORTWORKSTATION</TYPE>
  <REQUESTID>2</REQUESTID>
  <DEVICEID>1234</DEVICEID>
  <STATIONNAME>COMPUTER1</STATIONNAME>
  <LOCATIONID>1</LOCATIONID>
</REQUEST>`);
    expectOk(answer, 'IMPORTWORKSTATION', 'API_OK');
    assert.equal(answer.requestId, '2');
    assert.deepEqual(bodyOf(answer), [['DEVICEID', '1234'], ['STATIONNAME', 'COMPUTER1']]);

    const stations = await client.request('STATIONS', {}, 51);
    expectOk(stations, 'STATIONS');
    const rows = all(stations.root, 'STATIONS/STATION').map((s) => [field(s, 'STATIONNAME'), field(s, 'DEVICEID')]);
    assert.equal(rows.length, stationsBefore.length + 1);
    assert.equal(field(stations.root, 'COUNT'), String(rows.length));
    assert.deepEqual(rows.filter(([name]) => name === 'COMPUTER1'), [['COMPUTER1', '1234']]);
  });

  test('CALLSTART by STATIONNAME starts a call on the mapped device', async () => {
    expectOk(await client.request('CALLSTART', { STATIONNAME: 'COMPUTER1', ANI: '6145551212' }, 52), 'CALLSTART', 'CALLSTART sent to all of the following cores: 1');
    const status = await client.request('DEVICESTATUS', { DEVICEID: '1234' }, 53);
    expectOk(status, 'DEVICESTATUS', 'Found the following matching devices');
    const [device] = all(status.root, 'DEVICES/DEVICE');
    assert.equal(field(device, 'DEVICEID'), '1234');
    assert.equal(field(device, 'STATION'), 'COMPUTER1');
    assert.equal(field(device, 'ANI'), '6145551212');
    assert.notEqual(field(device, 'STARTTIME'), '');
    assert.equal(field(device, 'STOPTIME'), '');
    assert.equal(field(all(device!, 'RECORDING')[0], 'ISRECORDING'), 'Y');
    expectOk(await client.request('CALLSTOP', { STATIONNAME: 'COMPUTER1' }, 54), 'CALLSTOP');
    const stopped = all((await client.request('DEVICESTATUS', { DEVICEID: '1234' }, 55)).root, 'DEVICES/DEVICE')[0];
    assert.notEqual(field(stopped, 'STOPTIME'), '');
  });

  test('IMPORTWORKSTATION first deletes the mappings of either key', async () => {
    const stationRows = async (requestId: number): Promise<string[][]> =>
      all((await client.request('STATIONS', {}, requestId)).root, 'STATIONS/STATION').map((s) => [field(s, 'STATIONNAME')!, field(s, 'DEVICEID')!]);
    const before = await stationRows(60);

    // Same device, new station name: COMPUTER1 goes.
    const moved = await client.request('IMPORTWORKSTATION', { DEVICEID: '1234', STATIONNAME: 'COMPUTER2', LOCATIONID: 2 }, 61);
    expectOk(moved, 'IMPORTWORKSTATION');
    assert.deepEqual(bodyOf(moved), [['DEVICEID', '1234'], ['STATIONNAME', 'COMPUTER2']]);
    let rows = await stationRows(62);
    assert.equal(rows.length, before.length);
    assert.ok(!rows.some(([name]) => name === 'COMPUTER1'));
    assert.deepEqual(rows.filter(([, device]) => device === '1234'), [['COMPUTER2', '1234']]);

    // Same station name, new device: the mapping of 1234 goes.
    expectOk(await client.request('IMPORTWORKSTATION', { DEVICEID: '5678', STATIONNAME: 'COMPUTER2', LOCATIONID: 2 }, 63), 'IMPORTWORKSTATION');
    rows = await stationRows(64);
    assert.equal(rows.length, before.length);
    assert.ok(!rows.some(([, device]) => device === '1234'));
    assert.deepEqual(rows.filter(([name]) => name === 'COMPUTER2'), [['COMPUTER2', '5678']]);

    // A station and a device each mapped elsewhere: both old mappings go.
    expectOk(await client.request('IMPORTWORKSTATION', { DEVICEID: '7001', STATIONNAME: 'COMPUTER2', LOCATIONID: 1 }, 65), 'IMPORTWORKSTATION');
    rows = await stationRows(66);
    assert.equal(rows.length, before.length - 1);
    assert.deepEqual(rows.filter(([name, device]) => name === 'COMPUTER2' || name === 'WS7001' || device === '7001' || device === '5678'), [['COMPUTER2', '7001']]);
  });

  test('IMPORTWORKSTATION without LOCATIONID: API_INVALID_MESSAGE_FORMAT (16)', async () => {
    expectResult(await client.request('IMPORTWORKSTATION', { DEVICEID: '4321', STATIONNAME: 'COMPUTER3' }, 67), 'IMPORTWORKSTATION', 16, 'API_INVALID_MESSAGE_FORMAT');
    expectResult(await client.request('IMPORTWORKSTATION', { DEVICEID: '4321', LOCATIONID: 1 }, 68), 'IMPORTWORKSTATION', 16, 'API_INVALID_MESSAGE_FORMAT');
    const rows = all((await client.request('STATIONS', {}, 69)).root, 'STATIONS/STATION');
    assert.ok(!rows.some((s) => field(s, 'STATIONNAME') === 'COMPUTER3' || field(s, 'DEVICEID') === '4321'));
  });

  test('IMPORTWORKSTATION with an unknown LOCATIONID: API_DATABASE_QUERY_ERROR (23), the DEVICEID stored returned', async () => {
    const answer = await client.request('IMPORTWORKSTATION', { DEVICEID: '9999', STATIONNAME: 'COMPUTER2', LOCATIONID: 77 }, 70);
    expectResult(answer, 'IMPORTWORKSTATION', 23, 'API_DATABASE_QUERY_ERROR');
    // "If an error occurs adding the new entry, the result DEVICEID may be an old value."
    assert.deepEqual(bodyOf(answer), [['DEVICEID', '7001'], ['STATIONNAME', 'COMPUTER2']]);
    const rows = all((await client.request('STATIONS', {}, 71)).root, 'STATIONS/STATION').map((s) => [field(s, 'STATIONNAME'), field(s, 'DEVICEID')]);
    assert.deepEqual(rows.filter(([name, device]) => name === 'COMPUTER2' || device === '9999'), [['COMPUTER2', '7001']], 'nothing changed');
  });
});

describe('groups and roles', () => {
  let sim: RunningSimulator;
  let client: CoreClient;
  let salesGroupId = '';
  before(async () => {
    sim = await startTestSimulator({ seed: true });
    client = await CoreClient.connect(sim.port);
  });
  after(async () => {
    client.close();
    await sim.close();
  });
  const count = (sql: string, ...args: (string | number)[]): number => (sim.context.db.prepare(sql).get(...args) as { n: number }).n;

  test("ADDGROUP, the manual's example with a raw &", async () => {
    const answer = await client.raw(`<REQUEST>
  <TYPE>ADDGROUP</TYPE>
  <REQUESTID>2</REQUESTID>
  <GROUPNAME>Sales & Marketing</GROUPNAME>
</REQUEST>`);
    expectOk(answer, 'ADDGROUP', 'group: Sales & Marketing has been added');
    assert.equal(answer.requestId, '2');
    assert.deepEqual(bodyOf(answer).map(([name]) => name), ['GROUPID', 'GROUPNAME']);
    salesGroupId = field(answer.root, 'GROUPID')!;
    assert.match(salesGroupId, /^\d+$/);
    assert.equal(field(answer.root, 'GROUPNAME'), 'Sales & Marketing');
    // Everything the core emits is well-formed: the & is escaped.
    assert.match(answer.xml, /<RESULTMSG>group: Sales &amp; Marketing has been added<\/RESULTMSG>/);
    assert.match(answer.xml, /<GROUPNAME>Sales &amp; Marketing<\/GROUPNAME>/);
    assert.ok(!/&(?!amp;|lt;|gt;|quot;|apos;|#)/.test(answer.xml), 'no raw & in the answer');
  });

  test('ADDGROUP of an existing name answers as normal without modifying any data', async () => {
    const groupsBefore = count('SELECT COUNT(*) AS n FROM groups');
    const answer = await client.request('ADDGROUP', { GROUPNAME: 'Sales & Marketing' }, 3);
    expectOk(answer, 'ADDGROUP');
    assert.deepEqual(bodyOf(answer), [['GROUPID', salesGroupId], ['GROUPNAME', 'Sales & Marketing']]);
    assert.equal(count('SELECT COUNT(*) AS n FROM groups'), groupsBefore, 'nothing added');
  });

  test('ADDGROUP without GROUPNAME: API_INVALID_MESSAGE_FORMAT (16)', async () => {
    expectResult(await client.request('ADDGROUP', {}, 4), 'ADDGROUP', 16, 'API_INVALID_MESSAGE_FORMAT');
    expectResult(await client.request('ADDGROUP', { GROUPNAME: '  ' }, 5), 'ADDGROUP', 16, 'API_INVALID_MESSAGE_FORMAT');
  });

  test("MODIFYGROUPPERMISSION, the manual's example: the parameters sent plus GROUPID and AGENTID", async () => {
    const johnDoe = await userIdOf(client, 'John', 'Doe');
    const answer = await client.raw(`<REQUEST>
  <TYPE>MODIFYGROUPPERMISSION</TYPE>
  <REQUESTID>2</REQUESTID>
  <ACTION>ADD</ACTION>
  <GROUPNAME>Sales & Marketing</GROUPNAME>
  <FIRSTNAME>John</FIRSTNAME>
  <LASTNAME>Doe</LASTNAME>
  <DEVICEID>1234</DEVICEID>
</REQUEST>`);
    expectOk(answer, 'MODIFYGROUPPERMISSION', 'API_OK');
    assert.equal(answer.requestId, '2');
    const body = Object.fromEntries(bodyOf(answer));
    assert.deepEqual(body, {
      ACTION: 'ADD',
      GROUPNAME: 'Sales & Marketing',
      FIRSTNAME: 'John',
      LASTNAME: 'Doe',
      DEVICEID: '1234',
      GROUPID: salesGroupId,
      AGENTID: johnDoe,
    });
    assert.equal(count('SELECT COUNT(*) AS n FROM group_agents WHERE group_id = ? AND user_id = ?', Number(salesGroupId), Number(johnDoe)), 1);
  });

  test('MODIFYGROUPPERMISSION by GROUPID and AGENTID, then DELETE', async () => {
    const davidChen = await userIdOf(client, 'David', 'Chen');
    const added = await client.request('MODIFYGROUPPERMISSION', { ACTION: 'ADD', GROUPID: salesGroupId, AGENTID: davidChen, PHONEID: '7003' }, 6);
    expectOk(added, 'MODIFYGROUPPERMISSION');
    assert.equal(field(added.root, 'GROUPID'), salesGroupId);
    assert.equal(field(added.root, 'AGENTID'), davidChen);
    assert.equal(field(added.root, 'PHONEID'), '7003');
    assert.equal(count('SELECT COUNT(*) AS n FROM group_agents WHERE group_id = ? AND user_id = ?', Number(salesGroupId), Number(davidChen)), 1);
    const removed = await client.request('MODIFYGROUPPERMISSION', { ACTION: 'DELETE', GROUPNAME: 'Sales & Marketing', AGENTID: davidChen }, 7);
    expectOk(removed, 'MODIFYGROUPPERMISSION');
    assert.equal(field(removed.root, 'GROUPID'), salesGroupId, 'the GROUPID looked up from GROUPNAME is returned');
    assert.equal(count('SELECT COUNT(*) AS n FROM group_agents WHERE group_id = ? AND user_id = ?', Number(salesGroupId), Number(davidChen)), 0);
  });

  test('MODIFYGROUPPERMISSION errors: API_NO_GROUP (27), API_AGENT_NOT_FOUND (24), API_ERROR_INVALID_ACTION (21)', async () => {
    const before = count('SELECT COUNT(*) AS n FROM group_agents');
    expectResult(
      await client.request('MODIFYGROUPPERMISSION', { ACTION: 'ADD', GROUPNAME: 'No Such Group', FIRSTNAME: 'John', LASTNAME: 'Doe' }, 8),
      'MODIFYGROUPPERMISSION', 27, 'API_NO_GROUP',
    );
    expectResult(await client.request('MODIFYGROUPPERMISSION', { ACTION: 'ADD', GROUPID: 9999, AGENTID: 4 }, 9), 'MODIFYGROUPPERMISSION', 27, 'API_NO_GROUP');
    expectResult(
      await client.request('MODIFYGROUPPERMISSION', { ACTION: 'ADD', GROUPNAME: 'Sales & Marketing', FIRSTNAME: 'Nobody', LASTNAME: 'Here' }, 10),
      'MODIFYGROUPPERMISSION', 24, 'API_AGENT_NOT_FOUND',
    );
    expectResult(
      await client.request('MODIFYGROUPPERMISSION', { ACTION: 'ADD', GROUPNAME: 'Sales & Marketing', AGENTID: 99999 }, 11),
      'MODIFYGROUPPERMISSION', 24, 'API_AGENT_NOT_FOUND',
    );
    expectResult(
      await client.request('MODIFYGROUPPERMISSION', { ACTION: 'MOVE', GROUPNAME: 'Sales & Marketing', FIRSTNAME: 'John', LASTNAME: 'Doe' }, 12),
      'MODIFYGROUPPERMISSION', 21, 'API_ERROR_INVALID_ACTION',
    );
    expectResult(await client.request('MODIFYGROUPPERMISSION', { GROUPNAME: 'Sales & Marketing', AGENTID: 4 }, 13), 'MODIFYGROUPPERMISSION', 16, 'API_INVALID_MESSAGE_FORMAT');
    assert.equal(count('SELECT COUNT(*) AS n FROM group_agents'), before, 'nothing changed');
  });

  test("MODIFYUSERGROUPPERMISSION, the manual's example", async () => {
    const qa = await userIdOf(client, 'Quality', 'Supervisor');
    const answer = await client.raw(`<REQUEST>  
  <TYPE>MODIFYUSERGROUPPERMISSION</TYPE>  
  <REQUESTID>2</REQUESTID>  
  <ACTION>ADD</ACTION>  
  <GROUPNAME>Sales & Marketing</GROUPNAME>  
  <USERNAME>qasupervisor</USERNAME>  
</REQUEST>`);
    expectOk(answer, 'MODIFYUSERGROUPPERMISSION', 'API_OK');
    assert.equal(answer.requestId, '2');
    assert.deepEqual(Object.fromEntries(bodyOf(answer)), { ACTION: 'ADD', GROUPNAME: 'Sales & Marketing', GROUPID: salesGroupId, USERNAME: 'qasupervisor' });
    assert.equal(count('SELECT COUNT(*) AS n FROM group_viewers WHERE group_id = ? AND user_id = ?', Number(salesGroupId), Number(qa)), 1);
  });

  test('MODIFYUSERGROUPPERMISSION errors: API_USER_NOT_FOUND (28), API_NO_GROUP (27), API_ERROR_INVALID_ACTION (21)', async () => {
    expectResult(
      await client.request('MODIFYUSERGROUPPERMISSION', { ACTION: 'ADD', GROUPNAME: 'Sales & Marketing', USERNAME: 'nosuchuser' }, 20),
      'MODIFYUSERGROUPPERMISSION', 28, 'API_USER_NOT_FOUND',
    );
    expectResult(
      await client.request('MODIFYUSERGROUPPERMISSION', { ACTION: 'ADD', GROUPNAME: 'No Such Group', USERNAME: 'qasupervisor' }, 21),
      'MODIFYUSERGROUPPERMISSION', 27, 'API_NO_GROUP',
    );
    expectResult(
      await client.request('MODIFYUSERGROUPPERMISSION', { ACTION: 'MODIFY', GROUPNAME: 'Sales & Marketing', USERNAME: 'qasupervisor' }, 22),
      'MODIFYUSERGROUPPERMISSION', 21, 'API_ERROR_INVALID_ACTION',
    );
  });

  test("MODIFYROLE, the manual's example with REQUESTTYPE in place of TYPE: Role Added", async () => {
    const answer = await client.raw(`<REQUEST>
  <REQUESTTYPE>MODIFYROLE</REQUESTTYPE>
  <REQUESTID>1</REQUESTID>
  <ACTION>ADD</ACTION>
  <ROLENAME>DefaultRole</ROLENAME>
  <DESCRIPTION>Adding Default Role</DESCRIPTION>
</REQUEST>`);
    expectOk(answer, 'MODIFYROLE', 'Role Added');
    assert.equal(answer.requestId, '1');
    assert.equal(field(answer.root, 'ROLENAME'), 'DefaultRole');
    assert.equal(count("SELECT COUNT(*) AS n FROM roles WHERE role_name = 'DefaultRole' AND description = 'Adding Default Role'"), 1);
  });

  test('MODIFYROLE ADD of an existing role: API_ROLE_ALREADY_EXISTS (50), nothing modified', async () => {
    const answer = await client.raw(`<REQUEST>
  <REQUESTTYPE>MODIFYROLE</REQUESTTYPE>
  <REQUESTID>2</REQUESTID>
  <ACTION>ADD</ACTION>
  <ROLENAME>DefaultRole</ROLENAME>
  <DESCRIPTION>Another description</DESCRIPTION>
</REQUEST>`);
    expectResult(answer, 'MODIFYROLE', 50, 'API_ROLE_ALREADY_EXISTS');
    assert.equal(count("SELECT COUNT(*) AS n FROM roles WHERE role_name = 'DefaultRole' AND description = 'Adding Default Role'"), 1);
  });

  test('MODIFYROLE MODIFY and DELETE of an unknown role: API_ROLE_NOT_FOUND (52); a bad ACTION: 21', async () => {
    expectResult(await client.request('MODIFYROLE', { ACTION: 'MODIFY', ROLENAME: 'NoSuchRole', DESCRIPTION: 'x' }, 30), 'MODIFYROLE', 52, 'API_ROLE_NOT_FOUND');
    expectResult(await client.request('MODIFYROLE', { ACTION: 'DELETE', ROLENAME: 'NoSuchRole' }, 31), 'MODIFYROLE', 52, 'API_ROLE_NOT_FOUND');
    expectResult(await client.request('MODIFYROLE', { ACTION: 'RENAME', ROLENAME: 'DefaultRole' }, 32), 'MODIFYROLE', 21, 'API_ERROR_INVALID_ACTION');
    expectResult(await client.request('MODIFYROLE', { ACTION: 'ADD' }, 33), 'MODIFYROLE', 16, 'API_INVALID_MESSAGE_FORMAT');
  });

  test('MODIFYROLE MODIFY changes the description; DELETE removes the role', async () => {
    expectOk(await client.request('MODIFYROLE', { ACTION: 'ADD', ROLENAME: 'ScratchRole' }, 34), 'MODIFYROLE', 'Role Added');
    expectOk(await client.request('MODIFYROLE', { ACTION: 'MODIFY', ROLENAME: 'ScratchRole', DESCRIPTION: 'Changed' }, 35), 'MODIFYROLE');
    assert.equal(count("SELECT COUNT(*) AS n FROM roles WHERE role_name = 'ScratchRole' AND description = 'Changed'"), 1);
    expectOk(await client.request('MODIFYROLE', { ACTION: 'DELETE', ROLENAME: 'ScratchRole' }, 36), 'MODIFYROLE');
    expectResult(await client.request('MODIFYROLE', { ACTION: 'DELETE', ROLENAME: 'ScratchRole' }, 37), 'MODIFYROLE', 52, 'API_ROLE_NOT_FOUND');
  });

  test("MODIFYROLEGROUPPERMISSION, the manual's example: a missing group answers API_OK with the documented message", async () => {
    const answer = await client.raw(`<REQUEST>
  <REQUESTTYPE> MODIFYROLEGROUPPERMISSION </REQUESTTYPE>
  <REQUESTID>1</REQUESTID>
  <ACTION>ADD</ACTION>
  <ROLENAME>DefaultRole</ROLENAME>
  <GROUPNAME>CALLCOPYTESTGROUP</GROUPNAME>
</REQUEST>`);
    expectOk(answer, 'MODIFYROLEGROUPPERMISSION', 'Group CALLCOPYTESTGROUP does not exist or it is not active');
    assert.equal(answer.requestId, '1');
    assert.equal(count("SELECT COUNT(*) AS n FROM role_groups rg JOIN roles r ON r.role_id = rg.role_id WHERE r.role_name = 'DefaultRole'"), 0);
  });

  test('MODIFYROLEGROUPPERMISSION with an existing group adds it to the role', async () => {
    const answer = await client.request('MODIFYROLEGROUPPERMISSION', { ACTION: 'ADD', ROLENAME: 'DefaultRole', GROUPNAME: 'Sales & Marketing' }, 40);
    expectOk(answer, 'MODIFYROLEGROUPPERMISSION');
    assert.doesNotMatch(answer.message, /does not exist/);
    assert.equal(field(answer.root, 'GROUPNAME'), 'Sales & Marketing');
    assert.equal(
      count("SELECT COUNT(*) AS n FROM role_groups rg JOIN roles r ON r.role_id = rg.role_id WHERE r.role_name = 'DefaultRole' AND rg.group_id = ?", Number(salesGroupId)),
      1,
    );
    expectResult(
      await client.request('MODIFYROLEGROUPPERMISSION', { ACTION: 'ADD', ROLENAME: 'NoSuchRole', GROUPNAME: 'Sales & Marketing' }, 41),
      'MODIFYROLEGROUPPERMISSION', 52, 'API_ROLE_NOT_FOUND',
    );
    expectResult(
      await client.request('MODIFYROLEGROUPPERMISSION', { ACTION: 'MODIFY', ROLENAME: 'DefaultRole', GROUPNAME: 'Sales & Marketing' }, 42),
      'MODIFYROLEGROUPPERMISSION', 21, 'API_ERROR_INVALID_ACTION',
    );
  });

  test("MODIFYUSERROLE, the manual's example: User <USERID> is assigned role DefaultRole", async () => {
    const testUser = await userIdOf(client, 'Test', 'User');
    const answer = await client.raw(`<REQUEST>
  <REQUESTTYPE> MODIFYUSERROLE </REQUESTTYPE>
  <REQUESTID>1</REQUESTID>
  <ACTION>ADD</ACTION>
  <ROLENAME>DefaultRole</ROLENAME>
  <USERNAME>TestUser</USERNAME>
</REQUEST>`);
    expectOk(answer, 'MODIFYUSERROLE', /^User \d+ is assigned role DefaultRole$/);
    assert.equal(answer.message, `User ${testUser} is assigned role DefaultRole`);
    assert.equal(
      count("SELECT COUNT(*) AS n FROM user_roles ur JOIN roles r ON r.role_id = ur.role_id WHERE r.role_name = 'DefaultRole' AND ur.user_id = ?", Number(testUser)),
      1,
    );
  });

  test('MODIFYUSERROLE errors: API_USER_NOT_FOUND (28), API_ROLE_NOT_FOUND (52)', async () => {
    expectResult(await client.request('MODIFYUSERROLE', { ACTION: 'ADD', ROLENAME: 'DefaultRole', USERNAME: 'nosuchuser' }, 50), 'MODIFYUSERROLE', 28, 'API_USER_NOT_FOUND');
    expectResult(await client.request('MODIFYUSERROLE', { ACTION: 'ADD', ROLENAME: 'DefaultRole', USERID: 99999 }, 51), 'MODIFYUSERROLE', 28, 'API_USER_NOT_FOUND');
    expectResult(await client.request('MODIFYUSERROLE', { ACTION: 'ADD', ROLENAME: 'NoSuchRole', USERNAME: 'TestUser' }, 52), 'MODIFYUSERROLE', 52, 'API_ROLE_NOT_FOUND');
    expectResult(await client.request('MODIFYUSERROLE', { ACTION: 'ADD', ROLEID: 99999, USERNAME: 'TestUser' }, 53), 'MODIFYUSERROLE', 52, 'API_ROLE_NOT_FOUND');
  });

  test("MODIFYROLEPERMISSION, the manual's example: Permission Added", async () => {
    const answer = await client.raw(`<REQUEST>
  <REQUESTTYPE> MODIFYROLEPERMISSION </REQUESTTYPE>
  <REQUESTID>1</REQUESTID>
  <ACTION>ADD</ACTION>
  <ROLENAME>DefaultRole</ROLENAME>
  <PERMISSIONNAME>HOMEPAGEWIDGETS</PERMISSIONNAME>
</REQUEST>`);
    expectOk(answer, 'MODIFYROLEPERMISSION', 'Permission Added');
    assert.equal(answer.requestId, '1');
    assert.equal(
      count("SELECT COUNT(*) AS n FROM role_permissions rp JOIN roles r ON r.role_id = rp.role_id WHERE r.role_name = 'DefaultRole' AND rp.permission = 'HOMEPAGEWIDGETS'"),
      1,
    );
  });

  test('MODIFYROLEPERMISSION with a PERMISSIONNAME not in the table: API_PERMISSIONIDENT_NOT_FOUND (51)', async () => {
    expectResult(
      await client.request('MODIFYROLEPERMISSION', { ACTION: 'ADD', ROLENAME: 'DefaultRole', PERMISSIONNAME: 'ALLOWTIMETRAVEL' }, 60),
      'MODIFYROLEPERMISSION', 51, 'API_PERMISSIONIDENT_NOT_FOUND',
    );
    expectResult(
      await client.request('MODIFYROLEPERMISSION', { ACTION: 'ADD', ROLENAME: 'NoSuchRole', PERMISSIONNAME: 'HOMEPAGEWIDGETS' }, 61),
      'MODIFYROLEPERMISSION', 52, 'API_ROLE_NOT_FOUND',
    );
    assert.equal(count("SELECT COUNT(*) AS n FROM role_permissions WHERE permission = 'ALLOWTIMETRAVEL'"), 0);
  });
});
