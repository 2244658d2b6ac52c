/**
 * CoreConnection over real sockets: framing of the core's answers as they really come (pretty-
 * printed, fragmented, with or without a line end, not well-formed), and the rule that a connection
 * whose order of answers can no longer be trusted is destroyed, never reused.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { after, afterEach, before, beforeEach, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { CoreConnection, type CoreConnectionOptions } from '../../src/core/connection.js';
import { buildResult, child } from '../../src/protocol/xml.js';
import type { RunningSimulator } from '../../src/sim/simulator.js';
import { coreFailure, coreRequest, freePort, startTestSimulator } from './harness.js';
import { okResult, ScriptedCore, type Script } from './scripted-core.js';

/** Connections and cores of a test, closed after it whatever its outcome. */
const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

async function open(port: number, options: Partial<CoreConnectionOptions> = {}): Promise<CoreConnection> {
  const connection = await CoreConnection.open({ host: '127.0.0.1', port, connectTimeoutMs: 2000, ...options });
  cleanups.push(() => connection.destroy());
  return connection;
}

async function scripted(script?: Script): Promise<ScriptedCore> {
  const core = await ScriptedCore.start(script);
  cleanups.push(() => core.close());
  return core;
}

describe('against the simulator', () => {
  let sim: RunningSimulator;
  before(async () => {
    sim = await startTestSimulator({ fieldQuirks: true });
  });
  after(() => sim.close());
  beforeEach(() => sim.faults.clear());

  test('a pretty-printed answer: its bytes verbatim, its header parsed', async () => {
    const connection = await open(sim.port);
    const answer = await connection.request(coreRequest('TEST', 17), 2000);
    const expected = buildResult({ requestType: 'TEST', requestId: 17, resultType: 'API_OK', resultCode: 20, resultMessage: 'API_OK' });
    assert.equal(answer.bytes.toString('utf8'), expected.trimEnd());
    assert.equal(answer.requestType, 'TEST');
    assert.equal(answer.requestId, '17');
    assert.equal(answer.resultCode, 20);
    assert.equal(answer.resultType, 'API_OK');
    assert.equal(answer.resultMessage, 'API_OK');
    assert.equal(answer.root.name, 'RESULT');
  });

  test('a fragmented answer is the same answer; the connection carries many requests', async () => {
    const connection = await open(sim.port);
    sim.faults.add({ kind: 'fragment', type: 'CHANNELS', bytes: 64, delayMs: 1, times: 1 });
    const fragmented = await connection.request(coreRequest('CHANNELS', 3), 5000);
    const whole = await connection.request(coreRequest('CHANNELS', 3), 5000);
    assert.ok(fragmented.bytes.length > 500);
    assert.deepEqual(fragmented.bytes, whole.bytes);
    assert.equal(fragmented.resultCode, 20);
    assert.equal((await connection.request(coreRequest('TEST', 4), 2000)).requestId, '4');
    assert.equal(connection.closed, false);
  });

  test('IMPORTUSER LIST as production writes it: <USERS> never closed', async () => {
    const connection = await open(sim.port);
    const answer = await connection.request(coreRequest('IMPORTUSER', 9, { ACTION: 'LIST' }), 2000);
    const text = answer.bytes.toString('utf8');
    assert.match(text, /<USERS>/);
    assert.doesNotMatch(text, /<\/USERS>/);
    assert.match(text, /<\/RESULT>$/);
    assert.equal(answer.requestType, 'IMPORTUSER');
    assert.equal(answer.resultCode, 20);
    const users = child(answer.root, 'USERS');
    assert.ok(users);
    assert.equal(child(child(users, 'USER')!, 'USERNAME')?.text, 'user1');
    // The connection is still in step: the next answer is the next request's.
    assert.equal((await connection.request(coreRequest('TEST', 10), 2000)).requestId, '10');
  });

  test('an answer to another REQUESTTYPE fails as a protocol error and destroys the connection', async () => {
    const connection = await open(sim.port);
    sim.faults.add({ kind: 'mismatch', type: 'DEVICELIST', times: 1 });
    const error = await coreFailure(connection.request(coreRequest('DEVICELIST', 5), 2000));
    assert.equal(error.kind, 'protocol');
    assert.equal(error.mayHaveReachedCore, true);
    assert.equal(connection.closed, true);
  });

  test('no answer in time: timeout, and the connection is destroyed', async () => {
    const connection = await open(sim.port);
    sim.faults.add({ kind: 'delay', type: 'TEST', delayMs: 600, times: 1 });
    const closed = once(connection, 'close');
    const error = await coreFailure(connection.request(coreRequest('TEST', 6), 150));
    assert.equal(error.kind, 'timeout');
    assert.equal(error.mayHaveReachedCore, true);
    await closed;
    assert.equal(connection.closed, true);
  });

  test('each request has its own timeout, counted from when it was sent, after many answered in time', async () => {
    const connection = await open(sim.port);
    // Answers in time for longer than the timeout: the connection's one timer fires meanwhile.
    const until = Date.now() + 400;
    for (let id = 1; Date.now() < until; id++) await connection.request(coreRequest('TEST', id), 150);
    sim.faults.add({ kind: 'delay', type: 'TEST', delayMs: 1000, times: 1 });
    const sent = performance.now();
    const error = await coreFailure(connection.request(coreRequest('TEST', 9), 150));
    const waited = performance.now() - sent;
    assert.equal(error.kind, 'timeout');
    assert.ok(waited >= 145 && waited < 600, `timed out after ${waited.toFixed(0)} ms`);
    // A long timeout, then a short one: the short one holds.
    const other = await open(sim.port);
    await other.request(coreRequest('TEST', 10), 10_000);
    sim.faults.add({ kind: 'delay', type: 'TEST', delayMs: 1000, times: 1 });
    const started = performance.now();
    assert.equal((await coreFailure(other.request(coreRequest('TEST', 11), 100))).kind, 'timeout');
    assert.ok(performance.now() - started < 600);
  });

  test('the core cutting the connection mid-answer: unavailable, may have reached the core', async () => {
    const connection = await open(sim.port);
    sim.faults.add({ kind: 'drop', type: 'TEST', bytes: 30, times: 1 });
    const error = await coreFailure(connection.request(coreRequest('TEST', 7), 2000));
    assert.equal(error.kind, 'unavailable');
    assert.equal(error.mayHaveReachedCore, true);
    assert.equal(connection.closed, true);
  });
});

describe('against a scripted core', () => {
  test('answers with CRLF, LF or nothing after them, and a line end arriving late, keep the connection', async () => {
    const endings = ['\r\n', '\n', '', '\r\n\r\n'];
    const core = await scripted((r) => {
      const id = Number(r.requestId);
      const answer = okResult(r.type, r.requestId).trimEnd();
      if (id === 5) return { chunks: [answer, '\r\n'], gapMs: 30 };
      return { bytes: answer + endings[(id - 1) % endings.length] };
    });
    const connection = await open(core.port);
    for (let id = 1; id <= 5; id++) {
      assert.equal((await connection.request(coreRequest('TEST', id), 2000)).requestId, String(id));
    }
    await sleep(60); // the late line end has arrived while nothing was in flight
    assert.equal((await connection.request(coreRequest('TEST', 6), 2000)).requestId, '6');
    assert.equal(core.accepted, 1);
    assert.equal(connection.closed, false);
  });

  test('the manual CALLLIST example answers with <TYPE> instead of <REQUESTTYPE>', async () => {
    const core = await scripted((r) => ({
      bytes: `<RESULT>\r\n\t<TYPE>CALLLIST</TYPE>\r\n\t<REQUESTID>${r.requestId}</REQUESTID>\r\n\t<SEARCHRESULT><RECORDID>1</RECORDID></SEARCHRESULT>\r\n</RESULT>\r\n`,
    }));
    const connection = await open(core.port);
    const answer = await connection.request(coreRequest('CALLLIST', 8, { DEVICEID: 555 }), 2000);
    assert.equal(answer.requestType, 'CALLLIST');
    assert.equal(answer.resultCode, undefined);
    assert.equal(answer.resultType, '');
  });

  test('two answers in one chunk: the first is the answer, then the connection is destroyed', async () => {
    const core = await scripted((r) => ({ bytes: okResult(r.type, r.requestId) + okResult(r.type, 999) }));
    const connection = await open(core.port);
    const closed = once(connection, 'close');
    const answer = await connection.request(coreRequest('TEST', 1), 2000);
    assert.equal(answer.requestId, '1');
    assert.doesNotMatch(answer.bytes.toString(), /999/);
    const [reason] = await closed;
    assert.match(String(reason), /more than the answer/);
    assert.equal(connection.closed, true);
  });

  test('bytes while no request is in flight destroy the connection', async () => {
    const core = await scripted();
    const connection = await open(core.port);
    await connection.request(coreRequest('TEST', 1), 2000);
    const closed = once(connection, 'close');
    for (const socket of core.sockets) socket.write(okResult('TEST', 2));
    const [reason] = await closed;
    assert.match(String(reason), /while no request was in flight/);
    const error = await coreFailure(connection.request(coreRequest('TEST', 3), 2000));
    assert.equal(error.kind, 'unavailable');
    assert.equal(error.mayHaveReachedCore, false, 'a request on a closed connection is never written');
    assert.equal(core.count('TEST'), 1);
  });

  test('an answer to another REQUESTID, or a line that is not XML, is a protocol error', async () => {
    const core = await scripted((r) => (r.requestId === '1' ? { bytes: okResult(r.type, 2) } : { bytes: 'HELLO\r\n' }));
    for (const id of [1, 2]) {
      const connection = await open(core.port);
      const error = await coreFailure(connection.request(coreRequest('TEST', id), 2000));
      assert.equal(error.kind, 'protocol');
      assert.equal(connection.closed, true);
    }
  });

  test('an answer over maxAnswerBytes: too-large, connection destroyed; one under it is whole', async () => {
    const big = (n: number, id: string): string =>
      `<RESULT><REQUESTTYPE>DEVICELIST</REQUESTTYPE><REQUESTID>${id}</REQUESTID><RESULTCODE>20</RESULTCODE><DEVICES>${'<DEVICE><DEVICEID>1</DEVICEID></DEVICE>'.repeat(n)}</DEVICES></RESULT>\r\n`;
    const core = await scripted((r) => (r.type === 'DEVICELIST' ? { bytes: big(r.requestId === '1' ? 5000 : 2000, r.requestId) } : undefined));
    const connection = await open(core.port, { maxAnswerBytes: 100_000 });
    const error = await coreFailure(connection.request(coreRequest('DEVICELIST', 1), 2000));
    assert.equal(error.kind, 'too-large');
    assert.equal(connection.closed, true);
    const fresh = await open(core.port, { maxAnswerBytes: 100_000 });
    const answer = await fresh.request(coreRequest('DEVICELIST', 2), 2000);
    assert.equal(answer.bytes.length, big(2000, '2').trimEnd().length);
    assert.equal(answer.root.children.at(-1)?.children.length, 2000);
    // After a large answer the connection still frames the next one.
    assert.equal((await fresh.request(coreRequest('TEST', 3), 2000)).requestId, '3');
  });

  test('a long answer is parsed whole: more elements than the parser admits by default', async () => {
    const rows = 250_000;
    const core = await scripted((r) => ({
      bytes: `<RESULT><REQUESTTYPE>CALLLIST</REQUESTTYPE><REQUESTID>${r.requestId}</REQUESTID><RESULTCODE>20</RESULTCODE>${'<S/>'.repeat(rows)}</RESULT>`,
    }));
    const connection = await open(core.port);
    const answer = await connection.request(coreRequest('CALLLIST', 1), 5000);
    assert.equal(answer.root.children.length, 3 + rows);
  });

  test('aborting a request in flight rejects with the reason and destroys the connection', async () => {
    const core = await scripted(() => 'silent');
    const connection = await open(core.port);
    const controller = new AbortController();
    const pending = connection.request(coreRequest('TEST', 1), 5000, controller.signal);
    await sleep(20);
    controller.abort(new Error('client went away'));
    await assert.rejects(pending, /client went away/);
    assert.equal(connection.closed, true);
  });

  test('nothing listening: unavailable at once', async () => {
    const port = await freePort();
    const error = await coreFailure(open(port));
    assert.equal(error.kind, 'unavailable');
    assert.equal(error.mayHaveReachedCore, false);
  });
});
