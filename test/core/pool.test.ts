/**
 * CorePool against a scripted core that shows what the pool really does on the wire: how many
 * connections it opens, whether it ever has two requests in flight on one, whether a request is
 * ever sent twice; and the pool's own bounds (queue, answer size, shutdown, abort, backoff).
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { once } from 'node:events';
import { afterEach, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { CoreAnswerEvent, CoreFailureEvent } from '../../src/core/pool.js';
import { coreFailure, coreRequest, nextEvent, startPool, waitFor } from './harness.js';
import { okResult, ScriptedCore, type Script } from './scripted-core.js';

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function scripted(script?: Script): Promise<ScriptedCore> {
  const core = await ScriptedCore.start(script);
  cleanups.push(() => core.close());
  return core;
}


/** A script holding answers to DEVICELIST until released. */
function gated(): { script: Script; release: () => void } {
  let release!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  return { script: async (r) => (r.type === 'DEVICELIST' ? (await gate, undefined) : undefined), release };
}

const sentWithId = (core: ScriptedCore, id: number): number => core.received.filter((r) => r.requestId === String(id) && r.type !== 'TEST').length;

test('500 concurrent requests through a pool of 4: each its own answer, at most 4 connections, one request in flight on each', async () => {
  const core = await scripted((r) => ({ bytes: okResult(r.type, r.requestId), delayMs: Math.floor(Math.random() * 3) }));
  const pool = await startPool(core.port, cleanups, { size: 4, queueMax: 1000, requestTimeoutMs: 5000, queueTimeoutMs: 20_000 });
  const answered: CoreAnswerEvent[] = [];
  pool.on('answer', (e) => answered.push(e));
  const types = ['CALLSTART', 'CALLUPDATE', 'DEVICESTATUS', 'CALLSTOP'];
  const results = await Promise.all(
    Array.from({ length: 500 }, (_, i) => pool.request(coreRequest(types[i % 4]!, 1000 + i, { DEVICEID: i })).then((a) => ({ i, a }))),
  );
  for (const { i, a } of results) {
    assert.equal(a.requestId, String(1000 + i));
    assert.equal(a.requestType, types[i % 4]);
  }
  assert.ok(core.maxOpen <= 4, `${core.maxOpen} connections were open at once`);
  assert.equal(core.maxInFlightOnOneConnection, 1);
  assert.equal(core.pipelined, 0);
  assert.equal(core.received.filter((r) => r.type !== 'TEST').length, 500, 'each request sent once');
  assert.equal(answered.length, 500);
  assert.ok(answered.every((e) => e.resultType === 'API_OK' && e.seconds >= e.queuedSeconds));
});

test('past queueMax a request is refused at once, never sent', async () => {
  const { script, release } = gated();
  const core = await scripted(script);
  const pool = await startPool(core.port, cleanups, { size: 1, queueMax: 2 });
  const failures: CoreFailureEvent[] = [];
  pool.on('failure', (e) => failures.push(e));
  const accepted = [1, 2, 3].map((id) => pool.request(coreRequest('DEVICELIST', id)));
  assert.equal(pool.stats.queued, 2);
  const error = await coreFailure(pool.request(coreRequest('DEVICELIST', 4)));
  assert.equal(error.kind, 'queue-full');
  assert.equal(error.mayHaveReachedCore, false);
  assert.deepEqual(failures.map((f) => [f.type, f.kind]), [['DEVICELIST', 'queue-full']]);
  release();
  assert.deepEqual((await Promise.all(accepted)).map((a) => a.requestId), ['1', '2', '3']);
  assert.equal(sentWithId(core, 4), 0);
});

test('a request that waits longer than queueTimeoutMs fails as a timeout, never sent', async () => {
  const { script, release } = gated();
  const core = await scripted(script);
  const pool = await startPool(core.port, cleanups, { size: 1, queueTimeoutMs: 100, requestTimeoutMs: 5000 });
  const first = pool.request(coreRequest('DEVICELIST', 1));
  const error = await coreFailure(pool.request(coreRequest('DEVICELIST', 2)));
  assert.equal(error.kind, 'timeout');
  assert.equal(error.mayHaveReachedCore, false);
  release();
  assert.equal((await first).requestId, '1');
  assert.equal(sentWithId(core, 2), 0);
});

test('waiters time out in the order they came, each at its own deadline', async () => {
  const { script, release } = gated();
  const core = await scripted(script);
  const pool = await startPool(core.port, cleanups, { size: 1, queueTimeoutMs: 150, requestTimeoutMs: 5000 });
  const first = pool.request(coreRequest('DEVICELIST', 1));
  const started = performance.now();
  const early = coreFailure(pool.request(coreRequest('DEVICELIST', 2))).then(() => performance.now() - started);
  await sleep(100);
  const late = coreFailure(pool.request(coreRequest('DEVICELIST', 3))).then(() => performance.now() - started);
  const [a, b] = await Promise.all([early, late]);
  assert.ok(a >= 140 && a < 2000, `the first waiter failed after ${a} ms`);
  assert.ok(b >= 240 && b - a >= 80, `the second waiter failed after ${b} ms, its own 150 ms after it came, not with the first (${a} ms)`);
  release();
  assert.equal((await first).requestId, '1');
});

test('a short request timeout after a long one on the same connection is kept', async () => {
  const { script, release } = gated();
  cleanups.push(release);
  const core = await scripted(script);
  const pool = await startPool(core.port, cleanups, { size: 1, requestTimeoutMs: 20_000 });
  assert.equal((await pool.request(coreRequest('TEST', 1))).requestId, '1', 'a request under the 20 s timeout');
  const started = performance.now();
  const error = await coreFailure(pool.request({ ...coreRequest('DEVICELIST', 2), timeoutMs: 200 }));
  const waited = performance.now() - started;
  assert.equal(error.kind, 'timeout');
  assert.ok(waited >= 190 && waited < 5000, `timed out after ${waited} ms, not at the connection's earlier 20 s deadline`);
});

test('a core that reads a CALLSTART and drops the connection: one failure, one CALLSTART, no resend', async () => {
  const core = await scripted((r) => (r.type === 'CALLSTART' ? 'drop' : undefined));
  const pool = await startPool(core.port, cleanups, { size: 4 });
  await waitFor(() => pool.stats.open === 4, 'four idle connections to resend on');
  const error = await coreFailure(pool.request(coreRequest('CALLSTART', 7, { DEVICEID: 555 })));
  assert.equal(error.kind, 'unavailable');
  assert.equal(error.mayHaveReachedCore, true);
  await sleep(200);
  assert.equal(core.count('CALLSTART'), 1);
  assert.equal((await pool.request(coreRequest('DEVICESTATUS', 8, { DEVICEID: 555 }))).requestId, '8');
});

test('connections the core closed while idle are not lent: the request goes out once, on a new one', async () => {
  const core = await scripted();
  const pool = await startPool(core.port, cleanups, { size: 2 });
  await waitFor(() => pool.stats.open === 2, 'two connections');
  core.dropAll();
  await waitFor(() => core.accepted === 4 && pool.stats.open === 2, 'the pool to reconnect');
  const answer = await pool.request(coreRequest('CALLSTART', 9, { DEVICEID: 555 }));
  assert.equal(answer.requestId, '9');
  assert.equal(core.count('CALLSTART'), 1);
  assert.ok(core.received.find((r) => r.type === 'CALLSTART')!.connection > 2);
});

test('answers over maxAnswerBytes fail too-large and cost their connection', async () => {
  const huge = (id: string): string => `<RESULT><REQUESTTYPE>CALLLIST</REQUESTTYPE><REQUESTID>${id}</REQUESTID>${'<SEARCHRESULT/>'.repeat(2000)}</RESULT>`;
  const core = await scripted((r) => (r.type === 'CALLLIST' ? { bytes: huge(r.requestId) } : undefined));
  const pool = await startPool(core.port, cleanups, { size: 1, maxAnswerBytes: 10_000 });
  const disconnected = nextEvent(pool, 'disconnect');
  const error = await coreFailure(pool.request(coreRequest('CALLLIST', 1)));
  assert.equal(error.kind, 'too-large');
  await disconnected;
  assert.equal((await pool.request(coreRequest('DEVICELIST', 2))).requestId, '2');
});

test('a second answer in the chunk of the first never reaches the next caller', async () => {
  const core = await scripted((r) =>
    r.type === 'DEVICELIST' && r.requestId === '1' ? { bytes: okResult(r.type, r.requestId) + okResult(r.type, 2, 'STALE') } : undefined,
  );
  const pool = await startPool(core.port, cleanups, { size: 1 });
  assert.equal((await pool.request(coreRequest('DEVICELIST', 1))).resultMessage, 'API_OK');
  const second = await pool.request(coreRequest('DEVICELIST', 2));
  assert.equal(second.requestId, '2');
  assert.equal(second.resultMessage, 'API_OK');
  assert.equal(sentWithId(core, 2), 1);
});

test('a probe answered with bytes nobody asked for costs its connection, not the pool', async () => {
  const core = await scripted((r) => (r.type === 'TEST' && r.requestId === '1' ? { bytes: okResult('TEST', 1) + 'junk\r\n' } : undefined));
  const pool = await startPool(core.port, cleanups, { size: 1 });
  assert.equal((await pool.request(coreRequest('DEVICELIST', 5))).requestId, '5');
  assert.equal(core.accepted, 2);
});

test('a core that accepts but never answers: no request is lent to it, the pool calls it down', async () => {
  const core = await scripted(() => 'silent');
  const pool = await startPool(core.port, cleanups, { requestTimeoutMs: 200 }, false);
  await nextEvent(pool, 'down');
  const error = await coreFailure(pool.request(coreRequest('CALLSTART', 1)));
  assert.equal(error.kind, 'unavailable');
  assert.equal(error.mayHaveReachedCore, false);
  assert.equal(core.count('CALLSTART'), 0);
});

test('reconnection backs off: a core that closes every connection is not hammered', async () => {
  let accepted = 0;
  const server = net.createServer((socket) => {
    accepted++;
    socket.destroy();
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  cleanups.push(() => new Promise((resolve) => server.close(resolve)));
  const { port } = server.address() as net.AddressInfo;
  const pool = await startPool(port, cleanups, { size: 4, requestTimeoutMs: 2000, backoffInitialMs: 50, backoffMaxMs: 400 }, false);
  await nextEvent(pool, 'down');
  const started = performance.now();
  const error = await coreFailure(pool.request(coreRequest('TEST', 1)));
  assert.equal(error.kind, 'unavailable');
  assert.ok(performance.now() - started < 500, 'failed fast');
  const before = accepted;
  await sleep(1500);
  // Without backoff this would be thousands; with it, about one attempt per step of 50..400 ms.
  assert.ok(accepted - before <= 15, `${accepted - before} attempts in 1.5 s`);
  assert.ok(accepted - before >= 2, 'it kept probing');
});

test('idle connections are probed with TEST at the health interval, REQUESTID counting from 1', async () => {
  const core = await scripted();
  await startPool(core.port, cleanups, { size: 2, healthIntervalMs: 30 });
  await waitFor(() => core.count('TEST') >= 6, 'periodic probes');
  const ids = core.received.filter((r) => r.type === 'TEST').map((r) => Number(r.requestId));
  assert.deepEqual(ids.slice(0, 6), [1, 2, 3, 4, 5, 6]);
});

test('aborting: a queued request leaves the queue unsent; one in flight costs its connection', async () => {
  const { script, release } = gated();
  const core = await scripted(script);
  const pool = await startPool(core.port, cleanups, { size: 1 });
  const inFlight = new AbortController();
  const queued = new AbortController();
  const first = pool.request(coreRequest('DEVICELIST', 1), inFlight.signal);
  const second = pool.request(coreRequest('DEVICELIST', 2), queued.signal);
  queued.abort(new Error('caller 2 left'));
  await assert.rejects(second, /caller 2 left/);
  assert.equal(pool.stats.queued, 0);
  await waitFor(() => core.count('DEVICELIST') === 1, 'the first request to arrive');
  const disconnected = nextEvent(pool, 'disconnect');
  inFlight.abort(new Error('caller 1 left'));
  await assert.rejects(first, /caller 1 left/);
  await disconnected;
  release();
  assert.equal((await pool.request(coreRequest('DEVICELIST', 3))).requestId, '3');
  assert.equal(sentWithId(core, 2), 0);
});

test('close(): queued requests fail, those in flight finish, then every socket closes', async () => {
  const core = await scripted((r) => (r.type === 'DEVICELIST' ? { bytes: okResult(r.type, r.requestId), delayMs: 150 } : undefined));
  const pool = await startPool(core.port, cleanups, { size: 1 });
  const first = pool.request(coreRequest('DEVICELIST', 1));
  const second = pool.request(coreRequest('DEVICELIST', 2));
  const closing = pool.close();
  const queuedError = await coreFailure(second);
  assert.equal(queuedError.kind, 'closed');
  assert.equal(queuedError.mayHaveReachedCore, false);
  assert.equal((await coreFailure(pool.request(coreRequest('TEST', 3)))).kind, 'closed');
  assert.equal((await first).requestId, '1');
  await closing;
  await waitFor(() => core.open === 0, 'the core to see every connection closed');
  assert.equal(sentWithId(core, 2), 0);
});

test('close() waits for requests in flight only as long as it is told to', async () => {
  const core = await scripted((r) => (r.type === 'DEVICELIST' ? 'silent' : undefined));
  const pool = await startPool(core.port, cleanups, { size: 1, requestTimeoutMs: 10_000 });
  const stuck = pool.request(coreRequest('DEVICELIST', 1));
  await waitFor(() => core.count('DEVICELIST') === 1, 'the request to arrive');
  const failure = coreFailure(stuck);
  await pool.close(100);
  const error = await failure;
  assert.equal(error.kind, 'closed');
  assert.equal(error.mayHaveReachedCore, true);
});
