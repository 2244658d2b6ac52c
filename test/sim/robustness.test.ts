/**
 * Bad input never kills the core or another connection and gets the documented answer; the bounds
 * of the API port (message size, incomplete messages, connections); pipelining; REQUESTID and TYPE
 * rules; and the faults the control port injects (delay, silent, drop, fragment, mismatch, cores
 * down).
 */
import { after, afterEach, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { frameAll } from '../../src/protocol/framing.js';
import { buildRequest } from '../../src/protocol/xml.js';
import type { RunningSimulator } from '../../src/sim/simulator.js';
import { CoreClient, all, field, startTestSimulator, toAnswer, type Answer } from './harness.js';

const TEST = (id: number | string): string => `<REQUEST><TYPE>TEST</TYPE><REQUESTID>${id}</REQUESTID></REQUEST>\r\n`;

function assertOk(answer: Answer, type = 'TEST', requestId?: string): void {
  assert.equal(answer.code, 20, answer.xml);
  assert.equal(answer.type, 'API_OK');
  assert.equal(answer.requestType, type);
  if (requestId !== undefined) assert.equal(answer.requestId, requestId);
}

function assertCode(answer: Answer, code: number, label: string, message?: RegExp | string): void {
  assert.equal(answer.code, code, answer.xml);
  assert.equal(answer.type, label, answer.xml);
  if (typeof message === 'string') assert.equal(answer.message, message);
  else if (message) assert.match(answer.message, message);
}

async function control(sim: RunningSimulator, method: string, path: string, body?: unknown): Promise<{ status: number; json: any }> {
  const res = await fetch(`http://127.0.0.1:${sim.controlPort}${path}`, {
    method,
    ...(body === undefined ? {} : { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }),
  });
  return { status: res.status, json: await res.json() };
}

async function addFault(sim: RunningSimulator, rule: Record<string, unknown>): Promise<void> {
  const { status, json } = await control(sim, 'POST', '/faults', rule);
  assert.equal(status, 201, JSON.stringify(json));
}

/** A raw connection that records every byte and every 'data' event. */
async function rawConnection(port: number): Promise<{ socket: net.Socket; chunks: Buffer[]; closed: Promise<void>; text: () => string }> {
  const socket = net.connect(port, '127.0.0.1');
  const chunks: Buffer[] = [];
  socket.on('data', (c: Buffer) => chunks.push(c));
  socket.on('error', () => undefined);
  const closed = once(socket, 'close').then(() => undefined);
  await once(socket, 'connect');
  return { socket, chunks, closed, text: () => Buffer.concat(chunks).toString('utf8') };
}

async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([promise, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what} within ${ms} ms`)), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}

/** Like CoreClient.waitClosed, without leaving its timer behind to hold the process open. */
async function closedWithin(client: CoreClient, ms: number): Promise<void> {
  if (client.closed) return;
  await within(once(client.socket, 'close'), ms, 'connection closed');
}

describe('API port robustness', () => {
  let sim: RunningSimulator;
  let b: CoreClient;
  const clients: CoreClient[] = [];
  const open = async (): Promise<CoreClient> => {
    const c = await CoreClient.connect(sim.port);
    clients.push(c);
    return c;
  };
  /** Connection B keeps working whatever A does. */
  let bId = 1000;
  const bStillWorks = async (): Promise<void> => {
    const id = String(++bId);
    assertOk(await b.raw(TEST(id)), 'TEST', id);
  };

  before(async () => {
    sim = await startTestSimulator({ controlPort: 0 });
    b = await open();
  });
  after(async () => {
    for (const c of clients) c.close();
    await sim.close();
  });

  it('frames malformed XML and answers it leniently', async () => {
    const a = await open();
    const answer = await a.raw('<REQUEST><TYPE>TEST</TYPE><REQUESTID>1</REQ</REQUEST>\r\n');
    // The stray `</REQ` closes nothing that matters: the lenient core reads TYPE TEST, REQUESTID 1.
    assertOk(answer, 'TEST', '1');
    assertOk(await a.raw(TEST(2)), 'TEST', '2');
    await bStillWorks();
  });

  it('answers binary garbage with API_INVALID_MESSAGE_FORMAT (16) and keeps the connection', async () => {
    const a = await open();
    const garbage = Buffer.from([0x00, 0x01, 0xff, 0xfe, 0x13, 0x37, 0x80, 0x9f, 0x7f, 0x1b, 0x5b, 0x41, 0xc3, 0x28, 0x0d, 0x0a]);
    a.write(garbage);
    const answer = toAnswer(await a.next());
    assertCode(answer, 16, 'API_INVALID_MESSAGE_FORMAT', /not XML/);
    assert.equal(answer.requestType, '');
    assert.equal(answer.requestId, '');
    assertOk(await a.raw(TEST(3)), 'TEST', '3');
    // Text that is not XML, and a `<` that starts no element, likewise.
    assertCode(await a.raw('hello core\r\n'), 16, 'API_INVALID_MESSAGE_FORMAT');
    assertCode(await a.raw('<<<>>>\r\n'), 16, 'API_INVALID_MESSAGE_FORMAT');
    assertOk(await a.raw(TEST(4)), 'TEST', '4');
    assert.equal(a.closed, false);
    await bStillWorks();
  });

  it('answers a message over the 1 MiB bound with 16 and closes that connection only', { timeout: 20_000 }, async () => {
    const a = await open();
    a.socket.on('error', () => undefined);
    a.write('<REQUEST><TYPE>TEST</TYPE><REQUESTID>9</REQUESTID><FILLER>');
    const chunk = Buffer.alloc(64 * 1024, 'x');
    let sent = 0;
    while (sent < 10 * 1024 * 1024 && !a.closed && !a.socket.destroyed) {
      if (!a.socket.write(chunk)) {
        await new Promise<void>((resolve) => {
          a.socket.once('drain', resolve);
          a.socket.once('close', resolve);
          a.socket.once('error', () => resolve());
        });
      }
      sent += chunk.length;
    }
    const answer = toAnswer(await a.next());
    assertCode(answer, 16, 'API_INVALID_MESSAGE_FORMAT', `The message exceeds ${1024 * 1024} bytes`);
    await closedWithin(a, 5000);
    await bStillWorks();
    const c = await open();
    assertOk(await c.raw(TEST(5)), 'TEST', '5');
  });

  it('answers many requests pipelined in one write one at a time, in order', async () => {
    const a = await open();
    const n = 100;
    let batch = '';
    for (let i = 1; i <= n; i++) {
      batch += i % 10 === 0 ? `<REQUEST><TYPE>NOSUCH</TYPE><REQUESTID>${i}</REQUESTID></REQUEST>` : i % 7 === 0 ? buildRequest('DEVICELIST', i) : TEST(i);
    }
    a.write(batch);
    for (let i = 1; i <= n; i++) {
      const answer = toAnswer(await a.next());
      assert.equal(answer.requestId, String(i), 'answers come in request order');
      if (i % 10 === 0) assertCode(answer, 10, 'API_UNKNOWN_MESSAGE_TYPE');
      else assertOk(answer, i % 7 === 0 ? 'DEVICELIST' : 'TEST', String(i));
    }
    await assert.rejects(a.next(150), /no message within/, 'exactly one answer per request');
    await bStillWorks();
  });

  it('applies the REQUESTID rules: a positive integer up to 2147483647', async () => {
    const a = await open();
    const invalid: [string, string | undefined][] = [
      ['0', '0'],
      ['-1', '-1'],
      ['2147483648', '2147483648'],
      ['abc', 'abc'],
      ['1.5', '1.5'],
      ['', ''],
    ];
    for (const [raw, echoed] of invalid) {
      const answer = await a.raw(`<REQUEST><TYPE>TEST</TYPE><REQUESTID>${raw}</REQUESTID></REQUEST>`);
      assertCode(answer, 14, 'API_REQUESTID_INVALID', 'REQUESTID must be a positive integer no larger than 2147483647');
      assert.equal(answer.requestType, 'TEST');
      assert.equal(answer.requestId, echoed);
    }
    const missing = await a.raw('<REQUEST><TYPE>TEST</TYPE></REQUEST>');
    assertCode(missing, 14, 'API_REQUESTID_INVALID', /REQUESTID must be a positive integer/);
    assertOk(await a.raw(TEST('2147483647')), 'TEST', '2147483647');
    assertOk(await a.raw(TEST(' 42 ')), 'TEST', '42');
    await bStillWorks();
  });

  it('answers an unknown TYPE with API_UNKNOWN_MESSAGE_TYPE (10)', async () => {
    const a = await open();
    const answer = await a.raw('<REQUEST><TYPE>FROBNICATE</TYPE><REQUESTID>3</REQUESTID></REQUEST>');
    assertCode(answer, 10, 'API_UNKNOWN_MESSAGE_TYPE', 'Unknown message type FROBNICATE');
    assert.equal(answer.requestType, 'FROBNICATE');
    assert.equal(answer.requestId, '3');
    // A REQUEST with no TYPE at all.
    assertCode(await a.raw('<REQUEST><REQUESTID>4</REQUESTID></REQUEST>'), 16, 'API_INVALID_MESSAGE_FORMAT', /no TYPE/);
  });

  it('answers each deprecated function with API_COMMAND_NOT_SUPPORTED (49) saying it is not supported', async () => {
    const a = await open();
    const deprecated: [string, string | undefined][] = [
      ['IMPORTSTATION', 'IMPORTWORKSTATION'],
      ['MODECHANGE', undefined],
      ['EXTENSIONPLAYBACKSTART', undefined],
      ['EXTENSIONPLAYBACKSTOP', undefined],
      ['RECORDINGDEVICE', undefined],
      ['RECORDINGDEVICEALIAS', undefined],
      ['IMPORTAGENT', 'IMPORTUSER'],
    ];
    let id = 10;
    for (const [type, replacement] of deprecated) {
      const answer = await a.request(type, { DEVICEID: '1111' }, ++id);
      assertCode(answer, 49, 'API_COMMAND_NOT_SUPPORTED', /not supported/);
      assert.match(answer.message, new RegExp(`^${type}\\b`));
      if (replacement) assert.match(answer.message, new RegExp(replacement));
      assert.equal(answer.requestType, type);
      assert.equal(answer.requestId, String(id));
    }
    // Deprecated names are recognised in any case, as every type is.
    assertCode(await a.raw('<REQUEST><TYPE>importagent</TYPE><REQUESTID>30</REQUESTID></REQUEST>'), 49, 'API_COMMAND_NOT_SUPPORTED');
  });

  it('accepts a root of the type name and REQUESTTYPE instead of TYPE', async () => {
    const a = await open();
    assertOk(await a.raw('<TEST><REQUESTID>5</REQUESTID></TEST>'), 'TEST', '5');
    assertOk(await a.raw('<REQUEST><REQUESTTYPE>TEST</REQUESTTYPE><REQUESTID>6</REQUESTID></REQUEST>'), 'TEST', '6');
    assertOk(await a.raw('<?xml version="1.0"?>\r\n<REQUEST>\r\n  <TYPE> test </TYPE>\r\n  <REQUESTID> 7 </REQUESTID>\r\n</REQUEST>'), 'TEST', '7');
  });

  it('never expands entities a DOCTYPE declares', async () => {
    const a = await open();
    // If &id; were expanded this would be a valid TEST with REQUESTID 9.
    const declared = await a.raw('<!DOCTYPE REQUEST [<!ENTITY id "9"><!ENTITY t "TEST">]><REQUEST><TYPE>TEST</TYPE><REQUESTID>&id;</REQUESTID></REQUEST>');
    assertCode(declared, 14, 'API_REQUESTID_INVALID');
    assert.equal(declared.requestId, '&id;');
    const typeEntity = await a.raw('<!DOCTYPE REQUEST [<!ENTITY t "TEST">]><REQUEST><TYPE>&t;</TYPE><REQUESTID>9</REQUESTID></REQUEST>');
    assertCode(typeEntity, 10, 'API_UNKNOWN_MESSAGE_TYPE');
    assert.equal(typeEntity.requestType, '&T;');
    // Exponential entities (billion laughs) and an external entity: nothing is expanded or read.
    const lol = ['<!ENTITY lol0 "lol">', ...Array.from({ length: 9 }, (_, i) => `<!ENTITY lol${i + 1} "${`&lol${i};`.repeat(10)}">`)].join('');
    const laughs = await a.raw(`<!DOCTYPE REQUEST [${lol}]><REQUEST><TYPE>&lol9;</TYPE><REQUESTID>10</REQUESTID></REQUEST>`, 2000);
    assertCode(laughs, 10, 'API_UNKNOWN_MESSAGE_TYPE');
    assert.ok(laughs.xml.length < 1000, 'the answer stays small');
    const external = await a.raw('<!DOCTYPE REQUEST [<!ENTITY x SYSTEM "file:///etc/passwd">]><REQUEST><TYPE>&x;</TYPE><REQUESTID>11</REQUESTID></REQUEST>');
    assertCode(external, 10, 'API_UNKNOWN_MESSAGE_TYPE');
    assert.doesNotMatch(external.xml, /root:/);
    // A DOCTYPE whose entity value holds markup does not confuse the framing.
    assertOk(await a.raw('<!DOCTYPE REQUEST [<!ENTITY x "a>b</REQUEST>">]><REQUEST><TYPE>TEST</TYPE><REQUESTID>12</REQUESTID></REQUEST>'), 'TEST', '12');
    await bStillWorks();
  });

  it('answers XML nested too deeply or with too many elements with 16, and goes on', async () => {
    const a = await open();
    const deep = `<REQUEST><TYPE>TEST</TYPE><REQUESTID>1</REQUESTID>${'<A>'.repeat(100)}${'</A>'.repeat(100)}</REQUEST>`;
    assertCode(await a.raw(deep), 16, 'API_INVALID_MESSAGE_FORMAT', /nesting deeper than 64/);
    const wide = `<REQUEST><TYPE>TEST</TYPE><REQUESTID>2</REQUESTID>${'<A/>'.repeat(210_000)}</REQUEST>`;
    assertCode(await a.raw(wide), 16, 'API_INVALID_MESSAGE_FORMAT', /more than 200000 elements/);
    assertOk(await a.raw(TEST(3)), 'TEST', '3');
    await bStillWorks();
  });

  it('survives 2000 connections opened and closed in quick succession', { timeout: 25_000 }, async () => {
    for (let round = 0; round < 20; round++) {
      const sockets = await Promise.all(
        Array.from({ length: 100 }, async () => {
          const s = net.connect(sim.port, '127.0.0.1');
          s.on('error', () => undefined);
          await once(s, 'connect');
          return s;
        }),
      );
      // Half send a partial request first, half just leave.
      sockets.forEach((s, i) => {
        if (i % 2) s.write('<REQUEST><TYPE>TE');
      });
      await Promise.all(sockets.map((s) => new Promise((resolve) => (s.destroy(), s.once('close', resolve)))));
    }
    await bStillWorks();
    const c = await open();
    assertOk(await c.raw(TEST(77)), 'TEST', '77');
    c.close();
    // The server's count settles to the connections still open (B and those of earlier tests).
    const stillOpen = (): number => clients.filter((x) => !x.closed).length;
    let connections = -1;
    for (let i = 0; i < 100; i++) {
      const { json } = await control(sim, 'GET', '/state');
      connections = json.connections.api;
      if (connections === stillOpen()) break;
      await sleep(50);
    }
    assert.equal(connections, stillOpen(), 'API connections counted by the server');
    assert.ok(connections < 15);
  });
});

describe('API port bounds that need their own core', () => {
  const sims: RunningSimulator[] = [];
  const clients: CoreClient[] = [];
  after(async () => {
    for (const c of clients) c.close();
    for (const s of sims) await s.close();
  });

  it('closes a client that sends half a message and stops, with a 16 answer', async () => {
    const sim = await startTestSimulator({ incompleteMessageTimeoutMs: 300 });
    sims.push(sim);
    const b = await CoreClient.connect(sim.port);
    const a = await CoreClient.connect(sim.port);
    clients.push(a, b);
    const started = Date.now();
    a.write('<REQUEST><TYPE>TEST</TYPE><REQUESTID>1</REQUE');
    const answer = toAnswer(await a.next(3000));
    assertCode(answer, 16, 'API_INVALID_MESSAGE_FORMAT', 'The message was not completed in time');
    assert.ok(Date.now() - started >= 250, 'not before the timeout');
    await closedWithin(a, 2000);
    assertOk(await b.raw(TEST(2)), 'TEST', '2');
    // A client that is merely idle between complete messages is not closed.
    await sleep(450);
    assert.equal(b.closed, false);
    assertOk(await b.raw(TEST(3)), 'TEST', '3');
  });

  it('answers the connection beyond maxClients with API_TOO_MANY_CLIENTS (48)', async () => {
    const sim = await startTestSimulator({ maxClients: 5, controlPort: 0 });
    sims.push(sim);
    const five: CoreClient[] = [];
    for (let i = 0; i < 5; i++) {
      const c = await CoreClient.connect(sim.port);
      clients.push(c);
      five.push(c);
      assertOk(await c.raw(TEST(i + 1)), 'TEST', String(i + 1));
    }
    const sixth = await CoreClient.connect(sim.port);
    clients.push(sixth);
    const answer = toAnswer(await sixth.next());
    assertCode(answer, 48, 'API_TOO_MANY_CLIENTS', /More than 5 clients/);
    await closedWithin(sixth, 5000);
    // The five keep working; once one leaves, a newcomer is served.
    for (const c of five) assertOk(await c.raw(TEST(9)), 'TEST', '9');
    five[0]!.close();
    let served = false;
    for (let i = 0; i < 40 && !served; i++) {
      await sleep(25);
      const c = await CoreClient.connect(sim.port);
      clients.push(c);
      c.write(TEST(10));
      const reply = toAnswer(await c.next());
      served = reply.code === 20;
      if (!served) assert.equal(reply.code, 48);
    }
    assert.ok(served, 'a free slot is served again');
  });
});

describe('faults through the control port', () => {
  let sim: RunningSimulator;
  const clients: CoreClient[] = [];
  const open = async (): Promise<CoreClient> => {
    const c = await CoreClient.connect(sim.port);
    clients.push(c);
    return c;
  };

  before(async () => {
    sim = await startTestSimulator({ controlPort: 0 });
  });
  afterEach(async () => {
    await control(sim, 'DELETE', '/faults');
    await control(sim, 'PUT', '/cores/1', { up: true });
  });
  after(async () => {
    for (const c of clients) c.close();
    await sim.close();
  });

  /** The active call instances DEVICERECORDINGSTATUS reports for a device, seen on a fresh connection. */
  const activeRecordings = async (deviceId: string): Promise<number> => {
    const c = await open();
    const status = await c.request('DEVICERECORDINGSTATUS', { DEVICEID: deviceId }, 500);
    assert.equal(status.code, 20, status.xml);
    const recordings = all(status.root, 'DEVICE/RECORDING');
    for (const r of recordings) assert.equal(field(r, 'STATUS'), 'recording');
    const device = await c.request('DEVICESTATUS', { DEVICEID: deviceId }, 501);
    assert.equal(device.code, 20, device.xml);
    assert.equal(field(all(device.root, 'DEVICES/DEVICE/RECORDING')[0], 'ISRECORDING'), recordings.length > 0 ? 'Y' : 'N');
    c.close();
    return recordings.length;
  };

  it('delay: the answer arrives after delayMs and the request was carried out', async () => {
    await addFault(sim, { kind: 'delay', type: 'CALLSTART', delayMs: 400, times: 1 });
    const a = await open();
    const started = performance.now();
    const answer = await a.request('CALLSTART', { DEVICEID: '8101' }, 21);
    const elapsed = performance.now() - started;
    assertOk(answer, 'CALLSTART', '21');
    assert.equal(answer.message, 'CALLSTART sent to all of the following cores: 1');
    assert.ok(elapsed >= 390, `answered after ${elapsed} ms`);
    assert.equal(await activeRecordings('8101'), 1);
    // times: 1 — the next one is prompt.
    const again = performance.now();
    assertOk(await a.request('CALLSTOP', { DEVICEID: '8101' }, 22), 'CALLSTOP');
    assertOk(await a.request('CALLSTART', { DEVICEID: '8101' }, 23), 'CALLSTART');
    assert.ok(performance.now() - again < 350);
  });

  it('silent: no answer, the connection stays open, other connections work', async () => {
    await addFault(sim, { kind: 'silent', type: 'TEST', times: 1 });
    const a = await open();
    a.write(TEST(31));
    await assert.rejects(a.next(500), /no message within/);
    assert.equal(a.closed, false);
    const b = await open();
    assertOk(await b.raw(TEST(32)), 'TEST', '32');
    // A silent core never answers that connection again.
    a.write(TEST(33));
    await assert.rejects(a.next(300), /no message within/);
    assert.equal(a.closed, false);
  });

  it('drop: a partial answer, then the connection closes; the CALLSTART was carried out exactly once', async () => {
    await addFault(sim, { kind: 'drop', type: 'CALLSTART', times: 1 });
    const raw = await rawConnection(sim.port);
    raw.socket.write(buildRequest('CALLSTART', 41, [['DEVICEID', '8102']]));
    await within(raw.closed, 3000, 'connection closed');
    const text = raw.text();
    assert.ok(text.length > 0, 'part of the answer arrived');
    assert.ok(text.startsWith('<RESULT>'), text);
    assert.ok(!text.includes('</RESULT>'), 'but not all of it');
    assert.equal(await activeRecordings('8102'), 1);
    const list = await (await open()).request('DEVICELIST', {}, 42);
    assert.equal(all(list.root, 'DEVICES/DEVICE').filter((d) => field(d, 'DEVICEID') === '8102').length, 1);
  });

  it('drop with bytes: exactly that many bytes arrive', async () => {
    await addFault(sim, { kind: 'drop', type: 'TEST', bytes: 10, times: 1 });
    const raw = await rawConnection(sim.port);
    raw.socket.write(TEST(43));
    await within(raw.closed, 3000, 'connection closed');
    assert.equal(raw.text(), '<RESULT>\r\n');
  });

  it('drop-before-answer: nothing arrives, the connection closes, the request was carried out', async () => {
    await addFault(sim, { kind: 'drop-before-answer', type: 'CALLSTART', times: 1 });
    const raw = await rawConnection(sim.port);
    raw.socket.write(buildRequest('CALLSTART', 44, [['DEVICEID', '8103']]));
    await within(raw.closed, 3000, 'connection closed');
    assert.equal(raw.chunks.length, 0);
    assert.equal(await activeRecordings('8103'), 1);
  });

  it('fragment: the answer arrives in many small chunks and frames correctly', async () => {
    await addFault(sim, { kind: 'fragment', type: 'TEST', times: 1 });
    const a = await open();
    let dataEvents = 0;
    a.socket.on('data', () => dataEvents++);
    assertOk(await a.raw(TEST(51)), 'TEST', '51');
    assert.ok(dataEvents > 5, `${dataEvents} data events`);
    // The next answer is whole again.
    dataEvents = 0;
    assertOk(await a.raw(TEST(52)), 'TEST', '52');
    assert.ok(dataEvents <= 2);
  });

  it('mismatch: REQUESTTYPE differs from the request', async () => {
    await addFault(sim, { kind: 'mismatch', times: 2 });
    const a = await open();
    const test = await a.raw(TEST(61));
    assert.notEqual(test.requestType, 'TEST');
    assert.equal(test.requestType, 'DEVICELIST');
    const other = await a.request('DEVICELIST', {}, 62);
    assert.notEqual(other.requestType, 'DEVICELIST');
    assert.equal(other.requestType, 'TEST');
    // times: 2 is used up.
    assertOk(await a.raw(TEST(63)), 'TEST', '63');
    const { json } = await control(sim, 'GET', '/state');
    assert.deepEqual(json.faults, []);
  });

  it('times limits a fault to that many requests of its type', async () => {
    await addFault(sim, { kind: 'mismatch', type: 'TEST', times: 2 });
    const a = await open();
    // Other types are not affected and do not use it up.
    assertOk(await a.request('DEVICELIST', {}, 70), 'DEVICELIST');
    assert.equal((await a.raw(TEST(71))).requestType, 'DEVICELIST');
    assert.equal((await a.raw(TEST(72))).requestType, 'DEVICELIST');
    assertOk(await a.raw(TEST(73)), 'TEST', '73');
    assertOk(await a.raw(TEST(74)), 'TEST', '74');
  });

  it('DELETE /faults clears every fault', async () => {
    await addFault(sim, { kind: 'mismatch' });
    await addFault(sim, { kind: 'delay', delayMs: 5000 });
    const state = await control(sim, 'GET', '/state');
    assert.equal(state.json.faults.length, 2);
    const a = await open();
    assert.equal((await a.raw(TEST(81))).requestType, 'DEVICELIST');
    assert.equal((await a.raw(TEST(82))).requestType, 'DEVICELIST', 'a fault without times stays');
    const cleared = await control(sim, 'DELETE', '/faults');
    assert.equal(cleared.status, 200);
    assert.deepEqual((await control(sim, 'GET', '/state')).json.faults, []);
    assertOk(await a.raw(TEST(83), 1000), 'TEST', '83');
  });

  it('answers a client that shuts down its sending side after its requests, even when an answer is delayed', async () => {
    await addFault(sim, { kind: 'delay', type: 'TEST', delayMs: 200, times: 1 });
    const raw = await rawConnection(sim.port);
    raw.socket.end(TEST(95) + buildRequest('DEVICELIST', 96));
    await within(raw.closed, 3000, 'connection closed');
    const answers = frameAll(Buffer.concat(raw.chunks)).map((f) => toAnswer(f.bytes.toString('utf8')));
    assert.equal(answers.length, 2, raw.text());
    assertOk(answers[0]!, 'TEST', '95');
    assertOk(answers[1]!, 'DEVICELIST', '96');
  });

  it('rejects an unknown fault kind', async () => {
    const { status, json } = await control(sim, 'POST', '/faults', { kind: 'explode' });
    assert.equal(status, 400);
    assert.match(json.error, /unknown fault kind/);
  });

  it('a core taken down: CALLSTART answers API_ERROR_RECORDER_NOT_RUNNING (34)', async () => {
    const down = await control(sim, 'PUT', '/cores/1', { up: false });
    assert.equal(down.status, 200);
    const a = await open();
    const answer = await a.request('CALLSTART', { DEVICEID: '8104' }, 91);
    assertCode(answer, 34, 'API_ERROR_RECORDER_NOT_RUNNING', 'CALLSTART could not be sent to the following cores: 1');
    assert.equal(answer.requestType, 'CALLSTART');
    assert.equal(answer.requestId, '91');
    // Nothing was started. TEST does not involve the recording cores.
    assertOk(await a.raw(TEST(92)), 'TEST', '92');
    await control(sim, 'PUT', '/cores/1', { up: true });
    const upAgain = await a.request('CALLSTART', { DEVICEID: '8104' }, 93);
    assertOk(upAgain, 'CALLSTART', '93');
    assert.equal(await activeRecordings('8104'), 1);
  });
});

describe('several recording cores', () => {
  let sim: RunningSimulator;
  let a: CoreClient;
  before(async () => {
    sim = await startTestSimulator({ controlPort: 0, cores: [1, 2] });
    a = await CoreClient.connect(sim.port);
  });
  after(async () => {
    a.close();
    await sim.close();
  });

  it('all up: CALLSTART sent to all of the following cores: 1,2', async () => {
    const answer = await a.request('CALLSTART', { DEVICEID: '8201' }, 1);
    assertCode(answer, 20, 'API_OK', 'CALLSTART sent to all of the following cores: 1,2');
  });

  it('core 2 down: API_PARTIAL_CORE_RESPONSE (46) naming it', async () => {
    assert.equal((await control(sim, 'PUT', '/cores/2', { up: false })).status, 200);
    const state = await control(sim, 'GET', '/state');
    assert.deepEqual(state.json.cores, [
      { ident: 1, up: true },
      { ident: 2, up: false },
    ]);
    const answer = await a.request('CALLSTART', { DEVICEID: '8202' }, 2);
    assertCode(answer, 46, 'API_PARTIAL_CORE_RESPONSE', 'CALLSTART could not be sent to the following cores: 2');
    const stop = await a.request('CALLSTOP', { DEVICEID: '8202' }, 3);
    assertCode(stop, 46, 'API_PARTIAL_CORE_RESPONSE', 'CALLSTOP could not be sent to the following cores: 2');
    assert.equal((await control(sim, 'PUT', '/cores/2', { up: true })).status, 200);
    assertCode(await a.request('CALLSTART', { DEVICEID: '8203' }, 4), 20, 'API_OK', 'CALLSTART sent to all of the following cores: 1,2');
  });

  it('rejects an unknown core ident on the control port', async () => {
    const { status } = await control(sim, 'PUT', '/cores/3', { up: false });
    assert.equal(status, 400);
  });
});
