/**
 * The WebAPI over real HTTP and real TCP: the manual's example URLs, its parameter rules (asserting
 * the XML the core actually received), injection attempts, and the gateway's own errors.
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, test } from 'node:test';
import { child, childText, parseXml } from '../../src/protocol/xml.js';
import { startTestGateway, type TestGateway } from './gateway-harness.js';

let gw: TestGateway;

before(async () => {
  gw = await startTestGateway({ seed: true });
});
after(async () => {
  await gw.close();
});

interface XmlAnswer {
  status: number;
  headers: Headers;
  body: string;
  code: number;
  type: string;
  message: string;
  requestType: string;
  requestId: string;
}

async function call(path: string, init: RequestInit = {}): Promise<XmlAnswer> {
  const response = await fetch(gw.url + path, init);
  const body = await response.text();
  const root = parseXml(body);
  return {
    status: response.status,
    headers: response.headers,
    body,
    code: Number(childText(root, 'RESULTCODE')),
    type: childText(root, 'RESULTTYPE') ?? '',
    message: childText(root, 'RESULTMSG') ?? '',
    requestType: childText(root, 'REQUESTTYPE') ?? '',
    requestId: childText(root, 'REQUESTID') ?? '',
  };
}

/** The single request the core received while `action` ran. */
async function receivedDuring(action: () => Promise<unknown>): Promise<string[]> {
  const before = gw.received().length;
  await action();
  return gw.received().slice(before);
}

/** Bytes written on a raw connection, and everything the gateway answered before closing it. */
function rawExchange(bytes: string): Promise<string> {
  const { hostname, port } = new URL(gw.url);
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(port), hostname, () => socket.end(bytes));
    let answer = '';
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => (answer += chunk));
    socket.on('close', () => resolve(answer));
    socket.on('error', reject);
  });
}

const form = (body: string): RequestInit => ({
  method: 'POST',
  headers: { 'content-type': 'application/x-www-form-urlencoded' },
  body,
});

describe('the examples of the manual and of the field', () => {
  test('POST /Webapi.aspx?requestid=17&type=test answers exactly as the production WebAPI did', async () => {
    const answer = await call('/Webapi.aspx?requestid=17&type=test', { method: 'POST' });
    assert.equal(answer.status, 200);
    assert.equal(answer.headers.get('content-type'), 'text/xml; charset=utf-8');
    assert.equal(
      answer.body.replace(/\r\n/g, '\n'),
      '<RESULT>\n\t<REQUESTTYPE>TEST</REQUESTTYPE>\n\t<REQUESTID>17</REQUESTID>\n\t<RESULTTYPE>API_OK</RESULTTYPE>\n\t<RESULTCODE>20</RESULTCODE>\n\t<RESULTMSG>API_OK</RESULTMSG>\n</RESULT>',
    );
  });

  test('Update a Call Record: the example URL reaches the core as CALLUPDATE', async () => {
    await call('/webAPI.aspx?type=callstart&requestid=1&deviceid=200');
    const received = await receivedDuring(async () => {
      const answer = await call('/webAPI.aspx?type=callupdate&requestid=18213567&deviceid=200&user9=SpecialCall&user10=10121968&keepdays=3650');
      assert.equal(answer.status, 200);
      assert.equal(answer.code, 20);
      assert.equal(answer.message, 'CALLUPDATE sent to all of the following cores: 1');
      assert.equal(answer.requestId, '18213567');
    });
    assert.equal(received.length, 1);
    const sent = parseXml(received[0]!);
    assert.equal(childText(sent, 'TYPE'), 'CALLUPDATE');
    assert.equal(childText(sent, 'REQUESTID'), '18213567');
    assert.equal(childText(sent, 'DEVICEID'), '200');
    assert.equal(childText(sent, 'USER9'), 'SpecialCall');
    assert.equal(childText(sent, 'USER10'), '10121968');
    assert.equal(childText(sent, 'KEEPDAYS'), '3650');
  });

  test('the WebAPI Call Syntax example (user1, user2) on /webAPI.php', async () => {
    const answer = await call('/webAPI.php?type=callupdate&requestid=18213567&deviceid=200&user1=SpecialCall&user2=10121968&keepdays=3650');
    assert.equal(answer.code, 20);
    await call('/webAPI.aspx?type=callstop&requestid=2&deviceid=200');
  });

  test('IMPORTUSER LIST through the WebAPI', async () => {
    const answer = await call('/webAPI.aspx?type=importuser&action=list&requestid=17');
    assert.equal(answer.code, 20);
    const users = child(parseXml(answer.body), 'USERS');
    assert.ok(users && users.children.filter((c) => c.name === 'USER').length > 10);
  });

  test('EXPORT, COMBINEDEXPORT (and COMBINEEXPORT), MULTIEXPORT are the gateway\'s own: the core only hears RECORDINGINFO', async () => {
    for (const url of [
      '/webAPI.aspx?type=export&requestid=10482345&uniquefield=user2&uniqueid=10121968&media_format=mp3&encrypt=Y&password=test',
      '/webAPI.aspx?type=combinedexport&requestid=10482345&ident=10121967,10121968,10121969&media_format=mp3',
      '/webAPI.aspx?type=combineexport&requestid=10482345&ident=10121967,10121968,10121969&media_format=mp3',
      '/webAPI.aspx?type=multiexport&requestid=10482345&ident=10121967,10121968,10121969&media_format=mp3',
    ]) {
      const received = await receivedDuring(async () => {
        const response = await fetch(gw.url + url);
        assert.equal(response.status, 200, url);
        await response.arrayBuffer();
      });
      assert.equal(received.length, 1, url);
      assert.match(received[0]!, /<TYPE>RECORDINGINFO<\/TYPE>/);
      assert.doesNotMatch(received[0]!, /PASSWORD|test<\/|MEDIA_FORMAT/, 'the core hears which recordings, nothing else');
    }
  });
});

describe('parameter semantics', () => {
  test('one call is one command: REQUESTTYPE is refused in any casing, and nothing is sent', async () => {
    for (const query of ['type=test&requestid=3&requesttype=importuser&action=list', 'type=test&requestid=3&RequestType=IMPORTUSER', 'requestid=3&REQUESTTYPE=importuser']) {
      const received = await receivedDuring(async () => {
        const answer = await call(`/webAPI.aspx?${query}`);
        assert.equal(answer.status, 400, query);
        assert.equal(answer.code, 16, query);
      });
      assert.deepEqual(received, [], query);
    }
  });

  test('names are case-insensitive; the path too', async () => {
    const answer = await call('/WEBAPI.ASPX?TYPE=Test&RequestId=5');
    assert.equal(answer.status, 200);
    assert.equal(answer.requestType, 'TEST');
    assert.equal(answer.requestId, '5');
  });

  test('the same name in the same casing is joined with a comma', async () => {
    const received = await receivedDuring(() => call('/webAPI.aspx?type=devicestatus&requestid=3&deviceid=1234&deviceid=5555'));
    assert.match(received[0]!, /<DEVICEID>1234,5555<\/DEVICEID>/);
    assert.equal((received[0]!.match(/<DEVICEID>/g) ?? []).length, 1);
  });

  test('the same name in different casings is refused and nothing is sent', async () => {
    const received = await receivedDuring(async () => {
      const answer = await call('/webAPI.aspx?type=devicestatus&requestid=3&deviceid=1234&DEVICEID=5555');
      assert.equal(answer.status, 400);
      assert.equal(answer.code, 16);
      assert.equal(answer.message, 'parameters must be unique but duplicates were found.');
      assert.equal(answer.requestType, 'DEVICESTATUS');
      assert.equal(answer.requestId, '3');
    });
    assert.deepEqual(received, []);
  });

  test('blank values are sent as empty elements', async () => {
    const received = await receivedDuring(() => call('/webAPI.aspx?type=callupdate&requestid=4&deviceid=&sys_user=JSMITH&user1='));
    assert.match(received[0]!, /<DEVICEID><\/DEVICEID>/);
    assert.match(received[0]!, /<USER1><\/USER1>/);
  });

  test('GET, POST with a form body, and POST with both give the same request', async () => {
    const viaGet = await receivedDuring(() => call('/webAPI.aspx?type=calllist&requestid=9&deviceid=1111&callcount=2'));
    const viaForm = await receivedDuring(() => call('/webAPI.aspx', form('type=calllist&requestid=9&deviceid=1111&callcount=2')));
    const viaBoth = await receivedDuring(() => call('/webAPI.aspx?type=calllist&requestid=9', form('deviceid=1111&callcount=2')));
    assert.equal(viaForm[0], viaGet[0]);
    assert.equal(viaBoth[0], viaGet[0]);
  });

  test('REQUESTID must be a positive integer no larger than 2147483647, and nothing is sent otherwise', async () => {
    for (const id of ['0', '-1', '2147483648', 'abc', '1.5', '']) {
      const received = await receivedDuring(async () => {
        const answer = await call(`/webAPI.aspx?type=test&requestid=${id}`);
        assert.equal(answer.status, 400, id);
        assert.equal(answer.code, 14, id);
        assert.equal(answer.type, 'API_REQUESTID_INVALID');
      });
      assert.deepEqual(received, [], id);
    }
    assert.equal((await call('/webAPI.aspx?type=test')).code, 14, 'missing');
    assert.equal((await call('/webAPI.aspx?type=test&requestid=2147483647')).code, 20);
  });

  test('HEAD carries nothing out: 405 with Allow, and the core hears nothing', async () => {
    const received = await receivedDuring(async () => {
      const response = await fetch(`${gw.url}/webAPI.aspx?type=callstart&requestid=7&deviceid=200`, { method: 'HEAD' });
      assert.equal(response.status, 405);
      assert.equal(response.headers.get('allow'), 'GET, POST');
    });
    assert.deepEqual(received, []);
  });

  test('a call without type is refused', async () => {
    const answer = await call('/webAPI.aspx?requestid=1');
    assert.equal(answer.status, 400);
    assert.equal(answer.code, 16);
  });

  test('no parameter can inject XML: names are checked, values escaped', async () => {
    for (const bad of ['a%20b=1', '1abc=2', 'x%3Cy=1', 'x%3E=1', 'USER1%3E%3CDEVICEID=9']) {
      const received = await receivedDuring(async () => {
        const answer = await call(`/webAPI.aspx?type=callupdate&requestid=5&deviceid=200&${bad}`);
        assert.equal(answer.status, 400, bad);
        assert.equal(answer.code, 16, bad);
      });
      assert.deepEqual(received, [], bad);
    }
    const value = '</USER1><DEVICEID>999</DEVICEID><USER1>&amp;]]>"\'';
    const received = await receivedDuring(() => call(`/webAPI.aspx?type=callupdate&requestid=6&deviceid=200&user1=${encodeURIComponent(value)}`));
    const sent = parseXml(received[0]!);
    assert.equal(childText(sent, 'USER1'), value);
    assert.equal(childText(sent, 'DEVICEID'), '200');
    assert.equal(sent.children.filter((c) => c.name === 'DEVICEID').length, 1);
  });

  test('unknown types reach the core, which answers API_UNKNOWN_MESSAGE_TYPE', async () => {
    const answer = await call('/webAPI.aspx?type=frobnicate&requestid=8');
    assert.equal(answer.status, 200);
    assert.equal(answer.code, 10);
  });

  test('what Node refuses before routing (a broken request, headers too large) is an XML RESULT on the WebAPI paths', async () => {
    const cases: [string, number][] = [
      [`GET /webAPI.aspx?type=test&requestid=1 HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`, 431],
      ['GET /WebAPI.php?type=test&requestid=1 HTTP/1.1\r\nHost: x\r\nno colon here\r\n\r\n', 400],
    ];
    for (const [request, status] of cases) {
      const answer = await rawExchange(request);
      const [head, body] = answer.split('\r\n\r\n');
      assert.match(head!, new RegExp(`^HTTP/1.1 ${status} `), answer.slice(0, 200));
      assert.match(head!, /\r\ncontent-type: text\/xml; charset=utf-8\r\n/i);
      const root = parseXml(body!);
      assert.equal(childText(root, 'RESULTCODE'), '16');
      assert.equal(childText(root, 'RESULTTYPE'), 'API_INVALID_MESSAGE_FORMAT');
      assert.ok((childText(root, 'RESULTMSG') ?? '').length > 0);
    }
    // Elsewhere, Fastify's JSON as before.
    const rest = await rawExchange(`GET /api/v1/system/test HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`);
    assert.match(rest, /^HTTP\/1.1 431 /);
    assert.equal(JSON.parse(rest.split('\r\n\r\n')[1]!).statusCode, 431);
  });

  test('a TYPE no command can have (a control character, markup, over 64 characters) is refused as unknown, and nothing is sent', async () => {
    for (const type of ['test%00', 'test%3Cx%3E', 't'.repeat(65), '9test', 'call%20list']) {
      const sent = await receivedDuring(async () => {
        const answer = await call(`/webAPI.aspx?type=${type}&requestid=34`);
        assert.equal(answer.status, 400, type);
        assert.equal(answer.code, 10, type);
        assert.equal(answer.type, 'API_UNKNOWN_MESSAGE_TYPE', type);
        assert.equal(answer.requestId, '34', type);
      });
      assert.deepEqual(sent, [], type);
    }
    // The longest a TYPE may be still reaches the core, which knows no such command.
    const longest = await call(`/webAPI.aspx?type=${'t'.repeat(64)}&requestid=35`);
    assert.equal(longest.status, 200);
    assert.equal(longest.code, 10);
  });

  test('a body of another content type, or too large, is refused with an XML RESULT echoing the query', async () => {
    const json = await call('/webAPI.aspx?type=callupdate&requestid=31', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    assert.equal(json.status, 415);
    assert.match(json.headers.get('content-type') ?? '', /^text\/xml/);
    assert.equal(json.code, 16);
    assert.equal(json.requestType, 'CALLUPDATE');
    assert.equal(json.requestId, '31');
    assert.match(json.message, /application\/json/);
    const large = await call('/webAPI.aspx?requestid=32', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: `type=test&user1=${'x'.repeat(1024 * 1024)}`,
    });
    assert.equal(large.status, 413);
    assert.equal(large.code, 16);
    assert.equal(large.requestId, '32');
  });

  test('a form body of over 100,000 pairs (under the size bound) is refused like too many parameters, and nothing is sent', async () => {
    const pairs = Array.from({ length: 130_000 }, () => `a=1`).join('&');
    assert.ok(pairs.length < 1024 * 1024);
    const sent = await receivedDuring(async () => {
      const many = await call('/webAPI.aspx?type=test&requestid=33', form(pairs));
      assert.equal(many.status, 400);
      assert.equal(many.code, 16);
      assert.equal(many.requestType, 'TEST');
      assert.equal(many.requestId, '33');
      assert.equal(many.message, 'A call may carry at most 256 parameters.');
    });
    assert.deepEqual(sent, []);
  });
});

describe('operations', () => {
  test('/livez, /readyz and a request id on every answer', async () => {
    const live = await fetch(`${gw.url}/livez`);
    assert.equal(live.status, 200);
    const given = live.headers.get('x-request-id') ?? '';
    assert.match(given, /^[0-9a-f]{12}-[0-9a-z]+$/);
    const next = (await fetch(`${gw.url}/livez`)).headers.get('x-request-id') ?? '';
    assert.notEqual(next, given, 'every request gets an id of its own');
    assert.equal(next.split('-')[0], given.split('-')[0], 'from the same process prefix');
    const ready = await fetch(`${gw.url}/readyz`, { headers: { 'x-request-id': 'abc-123' } });
    assert.equal(ready.status, 200);
    assert.equal(ready.headers.get('x-request-id'), 'abc-123');
    const hostile = await fetch(`${gw.url}/livez`, { headers: { 'x-request-id': 'a b\u00e9'.replace('\u00e9', 'c') + '<x>' } });
    assert.notEqual(hostile.headers.get('x-request-id'), 'a bc<x>');
  });

  test('/metrics in the Prometheus format', async () => {
    await call('/webAPI.aspx?type=test&requestid=1');
    const response = await fetch(`${gw.url}/metrics`);
    assert.equal(response.status, 200);
    assert.match(response.headers.get('content-type') ?? '', /^text\/plain/);
    const text = await response.text();
    assert.match(text, /uptivity_http_requests_total\{route="\/webAPI\.aspx",method="GET",status="200"\} \d+/);
    assert.match(text, /uptivity_core_requests_total\{type="TEST",result_type="API_OK"\} \d+/);
    assert.match(text, /uptivity_core_request_duration_seconds_bucket\{le="[0-9.]+",type="TEST"\} \d+/);
    assert.match(text, /uptivity_core_pool_connections\{state="size"\} 2/);
    assert.match(text, /uptivity_core_pool_queue_depth 0/);
    assert.match(text, /uptivity_core_up 1/);
  });
});
