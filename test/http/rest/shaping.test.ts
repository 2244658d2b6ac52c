/**
 * The pure parts of the REST surface: reading the product's times, shaping a RESULT as JSON by the
 * catalog, and the operations derived from the catalog.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { commands, findCommand } from '../../../src/protocol/catalog.js';
import { isoToUnixTime, productTimeToIso, unixTimeToIso } from '../../../src/protocol/product-time.js';
import { parseXml } from '../../../src/protocol/xml.js';
import { restOperations } from '../../../src/http/rest/operations.js';
import { resultBody } from '../../../src/http/rest/result-json.js';

describe('the product\'s times in ISO-8601', () => {
  test('US style, with and without an offset; SQL Server style; UNIX seconds', () => {
    assert.equal(productTimeToIso('2/1/2011 11:49:32 AM'), '2011-02-01T11:49:32');
    assert.equal(productTimeToIso('11/23/2026 12:05:09 PM'), '2026-11-23T12:05:09');
    assert.equal(productTimeToIso('11/23/2026 12:05:09 AM'), '2026-11-23T00:05:09');
    assert.equal(productTimeToIso('4/12/2017 3:51:30 PM-05:00'), '2017-04-12T15:51:30-05:00');
    assert.equal(productTimeToIso('10/30/2006 4:05:38 PM -05:00'), '2006-10-30T16:05:38-05:00');
    assert.equal(productTimeToIso('Feb 2 2011 4:53PM'), '2011-02-02T16:53:00');
    assert.equal(unixTimeToIso('1795411960'), '2026-11-23T05:32:40Z');
    assert.equal(isoToUnixTime('2026-11-23T05:32:40Z'), 1795411960);
    assert.equal(isoToUnixTime('2026-11-23T06:32:40+01:00'), 1795411960);
  });

  test('what is not a time of the product is not read as one', () => {
    for (const text of ['', 'yesterday', '13/1/2011 1:00:00 PM', '2/1/2011 13:49:32 PM', 'Foo 2 2011 4:53PM']) assert.equal(productTimeToIso(text), undefined, text);
    assert.equal(unixTimeToIso('soon'), undefined);
    assert.equal(isoToUnixTime('1795411960'), undefined);
  });
});

describe('a RESULT as JSON', () => {
  test('the IMPORTUSER LIST answer seen in the field (USERS never closed) becomes a typed list', () => {
    const xml = `<RESULT>
<REQUESTTYPE>IMPORTUSER</REQUESTTYPE>
<REQUESTID>17</REQUESTID>
<RESULTTYPE>API_OK</RESULTTYPE>
<RESULTCODE>20</RESULTCODE>
<RESULTMSG>API_OK</RESULTMSG>
<USERS>
<COUNT>1</COUNT>
<USER>
\t<USER_ID>1</USER_ID>
\t<USERNAME>user1</USERNAME>
\t<EMPLOYEE_ID></EMPLOYEE_ID>
\t<FIRST_NAME>CallCopy</FIRST_NAME>
\t<AGENT>FALSE</AGENT>
\t<ADD_TIME>1/1/0001 12:00:00 AM +00:00</ADD_TIME>
\t<MOD_TIME>4/12/2017 3:51:30 PM-05:00</MOD_TIME>
\t<SITE_ID>-1</SITE_ID>
</USER>
</RESULT>`;
    assert.deepEqual(resultBody(parseXml(xml), findCommand('IMPORTUSER')), {
      users: {
        count: 1,
        user: [
          {
            userId: 1,
            username: 'user1',
            employeeId: '',
            firstName: 'CallCopy',
            agent: false,
            addTime: '1/1/0001 12:00:00 AM +00:00',
            addTimeIso: '0001-01-01T00:00:00+00:00',
            modTime: '4/12/2017 3:51:30 PM-05:00',
            modTimeIso: '2017-04-12T15:51:30-05:00',
            siteId: -1,
          },
        ],
      },
    });
  });

  test('a declared list is an array even when empty; numbered elements gather; a repeat is an array; a bad number stays text', () => {
    const empty = parseXml('<RESULT><RESULTCODE>20</RESULTCODE><DEVICES><COUNT>0</COUNT></DEVICES></RESULT>');
    assert.deepEqual(resultBody(empty, findCommand('DEVICELIST')), { devices: { count: 0, device: [] } });
    const status = parseXml('<RESULT><PROCESSOR0><SYSTEMPROCESSORTYPE>A</SYSTEMPROCESSORTYPE></PROCESSOR0><PROCESSOR1><SYSTEMPROCESSORTYPE>B</SYSTEMPROCESSORTYPE></PROCESSOR1><SYSTEMRAMUSEDPCT>2.5</SYSTEMRAMUSEDPCT></RESULT>');
    assert.deepEqual(resultBody(status, findCommand('SYSTEMSTATUS')), {
      processors: [{ systemProcessorType: 'A' }, { systemProcessorType: 'B' }],
      systemRamUsedPct: 2.5,
    });
    const odd = parseXml('<RESULT><NOTE>a</NOTE><NOTE>b</NOTE><DURATION>n/a</DURATION><ISTRUNK>maybe</ISTRUNK><RECORDINGTIME></RECORDINGTIME></RESULT>');
    assert.deepEqual(resultBody(odd, undefined), { note: ['a', 'b'], duration: 'n/a', isTrunk: 'maybe', recordingTime: null, recordingTimeIso: null });
  });
});

describe('operations derived from the catalog', () => {
  const operations = restOperations();

  test('each has a unique operationId, a summary, a description, a tag and examples', () => {
    const ids = operations.map((op) => op.schema['operationId']);
    assert.equal(new Set(ids).size, ids.length);
    for (const op of operations) {
      assert.ok(String(op.schema['summary']).length > 0, op.path);
      assert.ok(String(op.schema['description']).includes('XML command'), op.path);
      assert.ok(Array.isArray(op.schema['tags']), op.path);
      if (op.place === 'body') assert.ok(Array.isArray((op.schema['body'] as { examples: unknown[] }).examples), op.path);
    }
  });

  test('every command but the deprecated ones and the event subscription has a resource route', () => {
    const routed = new Set(operations.flatMap((op) => op.bindings.map((b) => b.spec.type)));
    const without = commands.filter((spec) => !routed.has(spec.type)).map((spec) => spec.type);
    assert.deepEqual(without.filter((type) => !findCommand(type)!.deprecated), ['EVENTS']);
  });

  test('the paths of the issue are there', () => {
    const have = new Set(operations.map((op) => `${op.method} ${op.path}`));
    for (const route of [
      'POST /calls/start', 'POST /calls/stop', 'POST /calls/update', 'POST /recordings/start', 'POST /recordings/stop',
      'POST /chats/start', 'POST /chats/stop', 'POST /chats/update', 'POST /blackouts/start', 'POST /blackouts/stop',
      'GET /devices', 'GET /devices/{deviceId}', 'GET /devices/{deviceId}/instances', 'GET /system/status', 'GET /system/channels',
      'GET /system/stations', 'GET /system/terminology', 'GET /agents/window', 'GET /recordings', 'PATCH /recordings/{recordId}',
      'GET /recordings/{recordId}/media', 'GET /recordings/media', 'POST /recordings/{recordId}/email', 'GET /users', 'POST /users',
      'PATCH /users/{userId}', 'DELETE /users/{userId}',
    ]) {
      assert.ok(have.has(route), route);
    }
  });
});
