/**
 * Every request/result example of the API Manual v5.7, sent as printed (malformed ones included)
 * to the simulator over real TCP, against the seeded dataset. Where the manual prints a result, the
 * answer must carry its RESULTCODE, RESULTTYPE and RESULTMSG; where it prints only a request, the
 * answer must be the documented success. State an example depends on (a call in progress, a phone
 * assigned) is set up first with other documented commands.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import { after, before, describe, test } from 'node:test';
import type { RunningSimulator } from '../../src/sim/simulator.js';
import { all, CoreClient, field, startTestSimulator, type Answer } from './harness.js';

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

function expectResult(answer: Answer, requestType: string, requestId: string, code: number, type: string, message: string | RegExp): void {
  assert.equal(answer.requestType, requestType, answer.xml);
  assert.equal(answer.requestId, requestId, answer.xml);
  assert.equal(answer.code, code, answer.xml);
  assert.equal(answer.type, type, answer.xml);
  if (typeof message === 'string') assert.equal(answer.message, message, answer.xml);
  else assert.match(answer.message, message, answer.xml);
}

const sentToCores = (type: string): string => `${type} sent to all of the following cores: 1`;

describe('Uptivity WFO API Basics', () => {
  test('TEST echoes its REQUESTID with API_OK', async () => {
    const answer = await client.raw(`<REQUEST>
  <TYPE>TEST</TYPE>
  <REQUESTID>1</REQUESTID>
</REQUEST>`);
    expectResult(answer, 'TEST', '1', 20, 'API_OK', 'API_OK');
    // The layout of the production answer: tab-indented children, header in this order.
    assert.match(answer.xml, /^<RESULT>\r\n\t<REQUESTTYPE>TEST<\/REQUESTTYPE>\r\n\t<REQUESTID>1<\/REQUESTID>\r\n\t<RESULTTYPE>API_OK<\/RESULTTYPE>\r\n\t<RESULTCODE>20<\/RESULTCODE>\r\n\t<RESULTMSG>API_OK<\/RESULTMSG>\r\n<\/RESULT>$/);
  });
});

describe('Call Handling Functions', () => {
  test('CALLSTART by an alias associated with no agent: API_DEVICE_INVALID', async () => {
    const answer = await client.raw(`<REQUEST>
  <TYPE>CALLSTART</TYPE>
  <REQUESTID>1</REQUESTID>
  <DEVICEID>555</DEVICEID>
  <DEVICEALIAS>3545</DEVICEALIAS>
  <GROUP>12</GROUP>
  <GATE>80</GATE>
  <ANI>6145551212</ANI>
  <DNIS>8889225526</DNIS>
  <USER1>Gold Level</USER1>
  <USER2>Customer 564582</USER2>
</REQUEST>`);
    expectResult(answer, 'CALLSTART', '1', 8, 'API_DEVICE_INVALID', 'Could not find a device matching given parameters');
  });

  test('CALLUPDATE of a call in progress', async () => {
    expectResult(await client.request('CALLSTART', { DEVICEID: '555' }, 100), 'CALLSTART', '100', 20, 'API_OK', sentToCores('CALLSTART'));
    const answer = await client.raw(`<REQUEST>
  <TYPE>CALLUPDATE</TYPE>
  <REQUESTID>1</REQUESTID>
  <DEVICEID>555</DEVICEID>
  <USER3>Follow up on order</USER3>
</REQUEST>`);
    expectResult(answer, 'CALLUPDATE', '1', 20, 'API_OK', sentToCores('CALLUPDATE'));
    const status = await client.request('DEVICESTATUS', { DEVICEID: '555' }, 101);
    assert.equal(field(all(status.root, 'DEVICES/DEVICE')[0], 'USER3'), 'Follow up on order');
  });

  test('CALLSTOP', async () => {
    const answer = await client.raw(`<REQUEST>  
  <TYPE>CALLSTOP</TYPE>  
  <REQUESTID>2</REQUESTID>  
  <DEVICEID>555</DEVICEID>  
</REQUEST>`);
    expectResult(answer, 'CALLSTOP', '2', 20, 'API_OK', sentToCores('CALLSTOP'));
    const list = await client.request('CALLLIST', { DEVICEID: '555' }, 102);
    const [latest] = all(list.root, 'SEARCHRESULT');
    assert.equal(field(latest, 'USER3'), 'Follow up on order', 'the update reached the saved recording');
  });

  test('CALLUPDATE with UPDATE_IF_NOT_RECORDING updates the last recording of an idle device', async () => {
    const answer = await client.raw(`<REQUEST>
  <TYPE>CALLUPDATE</TYPE>
  <REQUESTID>3</REQUESTID>
  <DEVICEID>555</DEVICEID>
  <USER3>Follow up on order</USER3>

<UPDATE_IF_NOT_RECORDING>Y</UPDATE_IF_NOT_RECORDING>
</REQUEST>`);
    expectResult(answer, 'CALLUPDATE', '3', 20, 'API_OK', 'Updated recording in database');
  });

  test('CALLUPDATE post-recording, by RECORDID', async () => {
    const answer = await client.raw(`<REQUEST>
  <TYPE>CALLUPDATE</TYPE>
  <REQUESTID>1</REQUESTID>
  <RECORDID>554853</RECORDID>
  <USER4>Sales Call</USER4>
</REQUEST>`);
    expectResult(answer, 'CALLUPDATE', '1', 20, 'API_OK', 'Updated recording in database');
    const info = await client.request('RECORDINGINFO', { IDENT: '554853' }, 103);
    assert.equal(field(all(info.root, 'RECORDINGS/RECORDING')[0], 'USER4'), 'Sales Call');
  });

  test('RECORDSTART once alias 3545 is a phone of an agent', async () => {
    expectResult(
      await client.request('IMPORTAGENTPHONE', { ACTION: 'ADD', PHONEID: '3545', FIRSTNAME: 'Jane', LASTNAME: 'Doe' }, 104),
      'IMPORTAGENTPHONE', '104', 20, 'API_OK', 'API_OK',
    );
    const answer = await client.raw(`<REQUEST>
  <TYPE>RECORDSTART</TYPE>
  <REQUESTID>1</REQUESTID>
  <DEVICEID>555</DEVICEID>
  <DEVICEALIAS>3545</DEVICEALIAS>
  <GROUP>12</GROUP>
  <GATE>80</GATE>
  <ANI>6145551212</ANI>
  <DNIS>8889225526</DNIS>
  <USER1>Gold Level</USER1>
  <USER2>Customer 564582</USER2>
</REQUEST>`);
    expectResult(answer, 'RECORDSTART', '1', 20, 'API_OK', sentToCores('RECORDSTART'));
    const status = await client.request('DEVICESTATUS', { DEVICEID: '555' }, 105);
    const device = all(status.root, 'DEVICES/DEVICE')[0];
    assert.equal(field(device, 'DEVICEALIAS'), '3545');
    assert.equal(field(all(device!, 'RECORDING')[0], 'ISRECORDING'), 'Y');
  });

  test('RECORDSTOP (the manual prints the request with TYPE CALLSTOP and answers RECORDSTOP)', async () => {
    const printed = `<REQUEST>
  <TYPE>RECORDSTOP</TYPE>
  <REQUESTID>2</REQUESTID>
  <DEVICEID>555</DEVICEID>
  <USER1>test</USER1>
  <USER3>1</USER3>
</REQUEST>`;
    expectResult(await client.raw(printed), 'RECORDSTOP', '2', 20, 'API_OK', sentToCores('RECORDSTOP'));
    expectResult(await client.raw(printed.replace('RECORDSTOP', 'CALLSTOP')), 'CALLSTOP', '2', 20, 'API_OK', sentToCores('CALLSTOP'));
    const list = await client.request('CALLLIST', { DEVICEID: '555', USER1: 'test' }, 106);
    assert.equal(all(list.root, 'SEARCHRESULT').length, 1, 'the partial recording was saved with the RECORDSTOP data');
  });
});

describe('Status Functions', () => {
  test('DEVICELIST', async () => {
    const answer = await client.request('DEVICELIST', {}, 1);
    expectResult(answer, 'DEVICELIST', '1', 20, 'API_OK', 'API_OK');
    const devices = all(answer.root, 'DEVICES/DEVICE');
    assert.equal(field(all(answer.root, 'DEVICES')[0], 'COUNT'), String(devices.length));
    const desk1 = devices.find((d) => field(d, 'DEVICEID') === '1111');
    assert.equal(field(desk1, 'DEVICEALIAS'), 'DESK1');
    assert.equal(field(desk1, 'SYS_USER'), 'gkerber');
    assert.equal(field(desk1, 'CRM_USER'), 'CCGKERBER');
    assert.deepEqual(
      desk1!.children.map((c) => c.name),
      ['DEVICEID', 'DEVICEALIAS', 'SYS_USER', 'CRM_USER', 'GROUP', 'GATE', 'ANI', 'DNIS', ...Array.from({ length: 15 }, (_, i) => `USER${i + 1}`),
        'CALLDIRECTION', 'ISTRUNK', 'STATION', 'STARTTIME', 'STOPTIME', 'COREIDENT', 'RECORDING'],
    );
    assert.deepEqual(all(desk1!, 'RECORDING')[0]!.children.map((c) => c.name), ['ISRECORDING', 'ISRECORDINGVIDEO', 'FILENAME', 'CALLID', 'SESSIONID', 'CALLINSTANCE']);
  });

  test('DEVICESTATUS by DEVICEALIAS', async () => {
    const answer = await client.raw(`<REQUEST>
  <TYPE>DEVICESTATUS</TYPE>
  <DEVICEALIAS>DESK1</DEVICEALIAS>
  <REQUESTID>24</REQUESTID>
</REQUEST>`);
    expectResult(answer, 'DEVICESTATUS', '24', 20, 'API_OK', 'Found the following matching devices');
    const devices = all(answer.root, 'DEVICES/DEVICE');
    assert.equal(devices.length, 1);
    assert.equal(field(devices[0], 'DEVICEID'), '1111');
  });

  test('DEVICERECORDINGSTATUS lists every active instance with recording or recordpaused', async () => {
    await client.request('CALLSTART', { DEVICEID: '7008', CALLINSTANCE: '37', ANI: '7460', DNIS: '7008', USER6: '30' }, 200);
    await client.request('CALLSTART', { DEVICEID: '7008', CALLINSTANCE: '38', ANI: '7008', DNIS: '7007', CALLDIRECTION: 'O' }, 201);
    expectResult(await client.request('BLACKOUTSTART', { DEVICEID: '7008', CALLINSTANCE: '37' }, 202), 'BLACKOUTSTART', '202', 20, 'API_OK', sentToCores('BLACKOUTSTART'));
    const answer = await client.raw(`<REQUEST>
  <TYPE>DEVICERECORDINGSTATUS</TYPE>
  <DEVICEALIAS>7008</DEVICEALIAS>
  <REQUESTID>24</REQUESTID>
</REQUEST>`);
    expectResult(answer, 'DEVICERECORDINGSTATUS', '24', 20, 'API_OK', 'Following active call instances found for specified deviceID, devicealias, crm_user or sys_user');
    const [device] = all(answer.root, 'DEVICE');
    assert.equal(field(device, 'DEVICEID'), '7008');
    assert.equal(field(device, 'SYS_USER'), 'jane.doe');
    const instances = all(device!, 'RECORDING').map((r) => [field(r, 'CALLINSTANCE'), field(r, 'STATUS'), field(r, 'ANI')]);
    assert.deepEqual(instances.sort(), [['37', 'recordpaused', '7460'], ['38', 'recording', '7008']]);
    await client.request('CALLSTOP', { DEVICEID: '7008', CALLINSTANCE: '37' }, 203);
    await client.request('CALLSTOP', { DEVICEID: '7008', CALLINSTANCE: '38' }, 204);
  });

  test('SYSTEMSTATUS reports this machine', async () => {
    const answer = await client.raw(`<REQUEST>
  <TYPE>SYSTEMSTATUS</TYPE>
  <REQUESTID>255</REQUESTID>
</REQUEST>`);
    expectResult(answer, 'SYSTEMSTATUS', '255', 20, 'API_OK', 'API_OK');
    assert.equal(field(answer.root, 'RECORDINGPATH'), 'C:\\Recordings\\');
    assert.match(field(answer.root, 'RECORDINGSPACEINFO')!, /^\d+\.\d\dGB of \d+\.\d\dGB$/);
    assert.match(field(answer.root, 'RECORDINGTOTALDISKFREEPCT')!, /^\d+\.\d\d$/);
    assert.match(field(answer.root, 'SYSTEMUPTIME')!, /^\d+ days, \d+ hours, \d+ minutes, \d+ seconds\.$/);
    const processors = answer.root.children.filter((c) => /^PROCESSOR\d+$/.test(c.name));
    assert.equal(processors.length, os.cpus().length);
    assert.match(field(processors[0], 'SYSTEMPROCESSORSPEED')!, /^\d+MHz$/);
    assert.equal(Number(field(answer.root, 'SYSTEMRAMTOTAL')), Math.round(os.totalmem() / 1048576));
    const total = Number(field(answer.root, 'SYSTEMRAMTOTAL'));
    assert.equal(Number(field(answer.root, 'SYSTEMRAMUSED')) + Number(field(answer.root, 'SYSTEMRAMFREE')), total);
  });

  test('CHANNELS', async () => {
    const answer = await client.raw(`<REQUEST>
<TYPE>CHANNELS</TYPE>
<REQUESTID>255</REQUESTID>
</REQUEST>`);
    expectResult(answer, 'CHANNELS', '255', 20, 'API_OK', 'API_OK');
    const channels = all(answer.root, 'CHANNELS/CHANNEL');
    assert.equal(field(answer.root, 'COUNT'), String(channels.length));
    assert.ok(channels.length > 0);
    assert.deepEqual(channels[0]!.children.map((c) => c.name), ['ID', 'STATE', 'PLAYBACKEXTENSION', 'RECORDINGDEVICEALIAS', 'RECORDINGDEVICE', 'LASTSTATECHANGE', 'LASTSTATECHANGEUNIXTIME']);
    assert.match(field(channels[0], 'LASTSTATECHANGEUNIXTIME')!, /^\d{10}$/);
  });

  test('STATIONS', async () => {
    const answer = await client.raw(`<REQUEST>
<TYPE>STATIONS</TYPE>
<REQUESTID>29</REQUESTID>
</REQUEST>`);
    expectResult(answer, 'STATIONS', '29', 20, 'API_OK', 'API_OK');
    const stations = all(answer.root, 'STATIONS/STATION');
    assert.equal(field(answer.root, 'COUNT'), String(stations.length));
    assert.ok(stations.some((s) => field(s, 'STATIONNAME') === 'JamesBond' && field(s, 'DEVICEID') === '7007'));
  });

  test('FETCHTERMINOLOGY', async () => {
    const answer = await client.raw(`<REQUEST>
  <TYPE>FETCHTERMINOLOGY</TYPE>
  <REQUESTID>34</REQUESTID>
</REQUEST>`);
    expectResult(answer, 'FETCHTERMINOLOGY', '34', 20, 'API_OK', 'API_OK');
    assert.equal(field(answer.root, 'COUNT'), '10');
    const terms = all(answer.root, 'SETTINGS/TERMINOLOGY').map((t) => [field(t, 'NAME'), field(t, 'VALUE')]);
    assert.deepEqual(terms.slice(0, 3), [['agent', 'Agent'], ['ani', 'CallerID ANI'], ['callcopygroup', 'CallCopy group']]);
    assert.deepEqual(terms[9], ['user2', 'CSN']);
  });

  test('CALLLIST: filters AND-ed, CALLCOUNT, date range in UNIX time, newest first', async () => {
    const answer = await client.raw(`<REQUEST>
<TYPE>CALLLIST</TYPE>
<REQUESTID>1</REQUESTID>
<DEVICEID>1111</DEVICEID>
<USER3>12345</USER3>
<CALLCOUNT>5</CALLCOUNT>
<CALLDATESTART>1312156800</CALLDATESTART>
<CALLDATEEND>1312934400</CALLDATEEND>
</REQUEST>`);
    expectResult(answer, 'CALLLIST', '1', 20, 'API_OK', 'API_OK');
    const results = all(answer.root, 'SEARCHRESULT');
    assert.deepEqual(results.map((r) => field(r, 'CALLNUMBER')), ['1', '2', '3', '4', '5']);
    const first = results[0];
    assert.equal(field(first, 'DEVICEID'), '1111');
    assert.equal(field(first, 'DEVICEALIAS'), '1234');
    assert.equal(field(first, 'USER3'), '12345');
    assert.equal(field(first, 'RECORDID'), '13101');
    assert.equal(field(first, 'RECORDINGTIME'), '1312921123');
    assert.equal(field(first, 'DURATION'), '60');
    assert.equal(field(first, 'AGENTFIRSTNAME'), 'John');
    assert.equal(field(first, 'AGENTLASTNAME'), 'Smith');
    assert.equal(field(first, 'PLAYBACKLINK'), 'HTTP://localhost:80/MediaPlayer/ExternalCallListPlayer/13101/false');
    const times = results.map((r) => Number(field(r, 'RECORDINGTIME')));
    assert.deepEqual(times, [...times].sort((a, b) => b - a));
    for (const t of times) assert.ok(t >= 1312156800 && t <= 1312934400);
  });
});

describe('Recording Control Functions', () => {
  test('CHATSTART, CHATUPDATE, CHATSTOP', async () => {
    expectResult(
      await client.raw(`<REQUEST>
  <REQUESTID>37</REQUESTID>
  <TYPE>CHATSTART</TYPE>
  <SESSIONID>82738</SESSIONID>
  <KEYNAME>USERNAME</KEYNAME>
  <KEYVALUE>JDOE</KEYVALUE>
</REQUEST>`),
      'CHATSTART', '37', 20, 'API_OK', sentToCores('CHATSTART'),
    );
    expectResult(
      await client.raw(`<REQUEST>
  <REQUESTID>64</REQUESTID>
  <TYPE>CHATUPDATE</TYPE>
  <SESSIONID>82738</SESSIONID>
  <GROUP>53</GROUP>
</REQUEST>`),
      'CHATUPDATE', '64', 20, 'API_OK', sentToCores('CHATUPDATE'),
    );
    expectResult(
      await client.raw(`<REQUEST>
  <REQUESTID>52</REQUESTID>
  <TYPE>CHATSTOP</TYPE>
  <SESSIONID>82738</SESSIONID>
</REQUEST>`),
      'CHATSTOP', '52', 20, 'API_OK', sentToCores('CHATSTOP'),
    );
    const again = await client.request('CHATSTOP', { SESSIONID: '82738' }, 53);
    expectResult(again, 'CHATSTOP', '53', 33, 'API_SESSIONID_UNSPECIFIED', 'No screen capture session 82738 is in progress');
    const missing = await client.request('CHATSTART', { KEYNAME: 'USERNAME', KEYVALUE: 'JDOE' }, 54);
    assert.equal(missing.code, 33);
    const unknown = await client.request('CHATSTART', { SESSIONID: '9', KEYNAME: 'USERNAME', KEYVALUE: 'nobody' }, 55);
    expectResult(unknown, 'CHATSTART', '55', 24, 'API_AGENT_NOT_FOUND', 'No agent with USERNAME nobody was found');
  });

  test('BLACKOUTSTART and BLACKOUTSTOP by SYS_USER', async () => {
    await client.request('CALLSTART', { SYS_USER: 'JSMITH' }, 300);
    expectResult(
      await client.raw(`<REQUEST>
  <REQUESTID>124</REQUESTID>
  <TYPE>BLACKOUTSTART</TYPE>
  <SYS_USER>JSMITH</SYS_USER>

  <TIMEOFFSET>-5</TIMEOFFSET>
</REQUEST>`),
      'BLACKOUTSTART', '124', 20, 'API_OK', sentToCores('BLACKOUTSTART'),
    );
    const paused = await client.request('DEVICERECORDINGSTATUS', { SYS_USER: 'JSMITH' }, 301);
    assert.equal(field(all(paused.root, 'DEVICE/RECORDING')[0], 'STATUS'), 'recordpaused');
    expectResult(
      await client.raw(`<REQUEST>  
  <REQUESTID>125</REQUESTID>  
  <TYPE>BLACKOUTSTOP</TYPE>  
  <SYS_USER>JSMITH</SYS_USER>  
</REQUEST>`),
      'BLACKOUTSTOP', '125', 20, 'API_OK', sentToCores('BLACKOUTSTOP'),
    );
    const resumed = await client.request('DEVICERECORDINGSTATUS', { SYS_USER: 'JSMITH' }, 302);
    assert.equal(field(all(resumed.root, 'DEVICE/RECORDING')[0], 'STATUS'), 'recording');
    await client.request('CALLSTOP', { SYS_USER: 'JSMITH' }, 303);
  });
});

describe('Import Functions', () => {
  test('IMPORTUSER ADD, as printed with <AGENT_ID>2</USERID>', async () => {
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
    expectResult(answer, 'IMPORTUSER', '2', 20, 'API_OK', 'API_OK');
    assert.match(field(answer.root, 'USERID')!, /^\d+$/);
  });

  test('IMPORTUSER LIST', async () => {
    const answer = await client.raw(`<REQUEST>
  <TYPE>IMPORTUSER</TYPE>
  <REQUESTID>5</REQUESTID>
  <ACTION>LIST</ACTION>
</REQUEST>`);
    expectResult(answer, 'IMPORTUSER', '5', 20, 'API_OK', 'API_OK');
    const users = all(answer.root, 'USERS/USER');
    assert.equal(field(all(answer.root, 'USERS')[0], 'COUNT'), String(users.length));
    const james = users.find((u) => field(u, 'FIRST_NAME') === 'James' && field(u, 'LAST_NAME') === 'Doe');
    assert.equal(field(james, 'USERNAME'), 'CallCopyUsername');
    assert.equal(field(james, 'SYS_DOMAIN'), 'somecompany');
    assert.equal(field(james, 'AGENT'), 'TRUE');
    assert.equal(field(james, 'SITE_ID'), '1');
  });

  test('IMPORTAGENTPHONE by name when AGENTID 0 names nobody', async () => {
    const answer = await client.raw(`<REQUEST>
  <TYPE>IMPORTAGENTPHONE</TYPE>
  <REQUESTID>2</REQUESTID>
  <ACTION>ADD</ACTION>
  <PHONEID>1234</PHONEID>
  <AGENTID>0</AGENTID>
  <FIRSTNAME>John</FIRSTNAME>
  <LASTNAME>Doe</LASTNAME>
</REQUEST>`);
    expectResult(answer, 'IMPORTAGENTPHONE', '2', 20, 'API_OK', 'API_OK');
    assert.match(field(answer.root, 'AGENTID')!, /^\d+$/);
  });

  test('IMPORTWORKSTATION', async () => {
    const answer = await client.raw(`<REQUEST>
  <TYPE>IMPORTWORKSTATION</TYPE>
  <REQUESTID>2</REQUESTID>
  <DEVICEID>1234</DEVICEID>
  <STATIONNAME>COMPUTER1</STATIONNAME>
  <LOCATIONID>1</LOCATIONID>
</REQUEST>`);
    expectResult(answer, 'IMPORTWORKSTATION', '2', 20, 'API_OK', 'API_OK');
    assert.equal(field(answer.root, 'DEVICEID'), '1234');
    assert.equal(field(answer.root, 'STATIONNAME'), 'COMPUTER1');
  });
});

describe('User, Group, and Role Functions', () => {
  test('ADDGROUP with the raw & of the example', async () => {
    const answer = await client.raw(`<REQUEST>
  <TYPE>ADDGROUP</TYPE>
  <REQUESTID>2</REQUESTID>
  <GROUPNAME>Sales & Marketing</GROUPNAME>
</REQUEST>`);
    expectResult(answer, 'ADDGROUP', '2', 20, 'API_OK', 'group: Sales & Marketing has been added');
    assert.match(field(answer.root, 'GROUPID')!, /^\d+$/);
    assert.equal(field(answer.root, 'GROUPNAME'), 'Sales & Marketing');
    assert.ok(answer.xml.includes('<GROUPNAME>Sales &amp; Marketing</GROUPNAME>'), 'what we emit is escaped');
  });

  test('MODIFYGROUPPERMISSION', async () => {
    const answer = await client.raw(`<REQUEST>
  <TYPE>MODIFYGROUPPERMISSION</TYPE>
  <REQUESTID>2</REQUESTID>
  <ACTION>ADD</ACTION>
  <GROUPNAME>Sales & Marketing</GROUPNAME>
  <FIRSTNAME>John</FIRSTNAME>
  <LASTNAME>Doe</LASTNAME>
  <DEVICEID>1234</DEVICEID>
</REQUEST>`);
    expectResult(answer, 'MODIFYGROUPPERMISSION', '2', 20, 'API_OK', 'API_OK');
    assert.equal(field(answer.root, 'GROUPNAME'), 'Sales & Marketing');
    assert.match(field(answer.root, 'GROUPID')!, /^\d+$/);
    assert.match(field(answer.root, 'AGENTID')!, /^\d+$/);
  });

  test('MODIFYUSERGROUPPERMISSION', async () => {
    const answer = await client.raw(`<REQUEST>  
  <TYPE>MODIFYUSERGROUPPERMISSION</TYPE>  
  <REQUESTID>2</REQUESTID>  
  <ACTION>ADD</ACTION>  
  <GROUPNAME>Sales & Marketing</GROUPNAME>  
  <USERNAME>qasupervisor</USERNAME>  
</REQUEST>`);
    expectResult(answer, 'MODIFYUSERGROUPPERMISSION', '2', 20, 'API_OK', 'API_OK');
  });

  test('MODIFYROLE with REQUESTTYPE instead of TYPE', async () => {
    const answer = await client.raw(`<REQUEST>
  <REQUESTTYPE>MODIFYROLE</REQUESTTYPE>
  <REQUESTID>1</REQUESTID>
  <ACTION>ADD</ACTION>
  <ROLENAME>DefaultRole</ROLENAME>
  <DESCRIPTION>Adding Default Role</DESCRIPTION>
</REQUEST>`);
    expectResult(answer, 'MODIFYROLE', '1', 20, 'API_OK', 'Role Added');
  });

  test('MODIFYROLEGROUPPERMISSION with a group that does not exist answers API_OK, as printed', async () => {
    const answer = await client.raw(`<REQUEST>
  <REQUESTTYPE> MODIFYROLEGROUPPERMISSION </REQUESTTYPE>
  <REQUESTID>1</REQUESTID>
  <ACTION>ADD</ACTION>
  <ROLENAME>DefaultRole</ROLENAME>
  <GROUPNAME>CALLCOPYTESTGROUP</GROUPNAME>
</REQUEST>`);
    expectResult(answer, 'MODIFYROLEGROUPPERMISSION', '1', 20, 'API_OK', 'Group CALLCOPYTESTGROUP does not exist or it is not active');
  });

  test('MODIFYUSERROLE', async () => {
    const answer = await client.raw(`<REQUEST>
  <REQUESTTYPE> MODIFYUSERROLE </REQUESTTYPE>
  <REQUESTID>1</REQUESTID>
  <ACTION>ADD</ACTION>
  <ROLENAME>DefaultRole</ROLENAME>
  <USERNAME>TestUser</USERNAME>
</REQUEST>`);
    expectResult(answer, 'MODIFYUSERROLE', '1', 20, 'API_OK', /^User \d+ is assigned role DefaultRole$/);
  });

  test('MODIFYROLEPERMISSION', async () => {
    const answer = await client.raw(`<REQUEST>
  <REQUESTTYPE> MODIFYROLEPERMISSION </REQUESTTYPE>
  <REQUESTID>1</REQUESTID>
  <ACTION>ADD</ACTION>
  <ROLENAME>DefaultRole</ROLENAME>
  <PERMISSIONNAME>HOMEPAGEWIDGETS</PERMISSIONNAME>
</REQUEST>`);
    expectResult(answer, 'MODIFYROLEPERMISSION', '1', 20, 'API_OK', 'Permission Added');
  });

  test('EMAIL writes a message with the recording attached', async () => {
    const before = fs.readdirSync(sim.context.outboxDir).length;
    const answer = await client.raw(`<REQUEST>
<TYPE>EMAIL</TYPE>
<REQUESTID>14</REQUESTID>
<TOADDRESS>jdoe@uptivity.com</TOADDRESS>
<MEDIA_FORMAT>wav</MEDIA_FORMAT>
<UNIQUEID>46</UNIQUEID>
<UNIQUEFIELD>ident</UNIQUEFIELD>
<ENCRYPT>Y</ENCRYPT>
<PASSWORD>test</PASSWORD>
</REQUEST>`);
    expectResult(answer, 'EMAIL', '14', 20, 'API_OK', 'API_OK');
    assert.equal(fs.readdirSync(sim.context.outboxDir).filter((f) => f.endsWith('.eml')).length, before + 1);
  });

  test('COMBINEDEMAIL', async () => {
    const answer = await client.raw(`<REQUEST>
<TYPE>COMBINEDEMAIL</TYPE>
<REQUESTID>1</REQUESTID>
<TOADDRESS>jane.doe@uptivity.com</TOADDRESS>
<TONAME>jane</TONAME>
<FROMADDRESS>jane.doe@uptivity.com</FROMADDRESS>
<FROMNAME>jane</FROMNAME>
<IDENT>1509</IDENT>
<UNIQUEID>IDENT</UNIQUEID>
</REQUEST>`);
    expectResult(answer, 'COMBINEDEMAIL', '1', 20, 'API_OK', 'API_OK');
  });

  test('AGENTWINDOW', async () => {
    const answer = await client.raw(`<REQUEST>
<TYPE>AGENTWINDOW</TYPE>
<REQUESTID>7</REQUESTID>
<COMPUTERNAME>ceddy</COMPUTERNAME>
<USERNAME>ceddy</USERNAME>
</REQUEST>`);
    expectResult(answer, 'AGENTWINDOW', '7', 20, 'API_OK', 'API_OK');
    assert.equal(field(answer.root, 'DOMAIN'), 'uptivity.com');
    assert.equal(field(answer.root, 'IPADDRESS'), '10.100.5.91');
    assert.equal(field(answer.root, 'STATUS'), 'AVAILABLE');
    assert.equal(field(answer.root, 'APPLICATIONTITLE'), 'Internet Explorer');
    assert.match(field(answer.root, 'LASTUPDATE')!, /^[A-Z][a-z]{2} \d{1,2} \d{4} \d{1,2}:\d\d[AP]M$/);
  });
});

describe('Results', () => {
  test('an error answers with the RESULTTYPE label of its RESULTCODE', async () => {
    const answer = await client.raw('<REQUEST><TYPE>NOSUCHTHING</TYPE><REQUESTID>1</REQUESTID></REQUEST>');
    expectResult(answer, 'NOSUCHTHING', '1', 10, 'API_UNKNOWN_MESSAGE_TYPE', 'Unknown message type NOSUCHTHING');
  });
});
