/**
 * CorePool against the real simulator and its injected faults: a slow, silent, dropping or confused
 * core, a core that is not there yet, a core that restarts. What is checked each time is what a
 * caller of the gateway would see: its own answer or a failure saying whether the core may have
 * carried the request out, and never a request carried out twice.
 */
import assert from 'node:assert/strict';
import { after, afterEach, before, beforeEach, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { child } from '../../src/protocol/xml.js';
import type { RunningSimulator } from '../../src/sim/simulator.js';
import { all } from '../sim/harness.js';
import { coreFailure, coreRequest, freePort, logged, nextEvent, startPool, startTestSimulator, waitFor } from './harness.js';

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});



describe('a running simulator', () => {
  let sim: RunningSimulator;
  before(async () => {
    sim = await startTestSimulator({ fieldQuirks: true });
  });
  after(() => sim.close());
  beforeEach(() => sim.faults.clear());

  test('answers pretty-printed, fragmented or never closing <USERS> reach the caller whole', async () => {
    const pool = await startPool(sim.port, cleanups);
    const plain = await pool.request(coreRequest('CHANNELS', 1));
    sim.faults.add({ kind: 'fragment', type: 'CHANNELS', bytes: 50, delayMs: 1, times: 1 });
    const fragmented = await pool.request(coreRequest('CHANNELS', 1));
    assert.deepEqual(fragmented.bytes, plain.bytes);
    const users = await pool.request(coreRequest('IMPORTUSER', 2, { ACTION: 'LIST' }));
    assert.doesNotMatch(users.bytes.toString(), /<\/USERS>/);
    assert.equal(users.resultCode, 20);
    assert.equal(all(users.root, 'USERS/USER').length, 1);
  });

  test('a slow core: timeout, the connection destroyed, and the next caller gets its own answer, never the late one', async () => {
    const pool = await startPool(sim.port, cleanups, { size: 1, requestTimeoutMs: 300, queueTimeoutMs: 3000 });
    let disconnects = 0;
    pool.on('disconnect', () => disconnects++);
    sim.faults.add({ kind: 'delay', type: 'DEVICELIST', delayMs: 700, times: 1 });
    const slow = pool.request(coreRequest('DEVICELIST', 11));
    const next = pool.request(coreRequest('DEVICELIST', 12));
    const error = await coreFailure(slow);
    assert.equal(error.kind, 'timeout');
    assert.equal(error.mayHaveReachedCore, true);
    assert.equal((await next).requestId, '12');
    await sleep(600); // the late answer to 11 has now been written by the core
    for (const id of [13, 14]) assert.equal((await pool.request(coreRequest('DEVICELIST', id))).requestId, String(id));
    assert.equal(disconnects, 1);
  });

  test('a silent core: timeout, and the pool recovers', async () => {
    const pool = await startPool(sim.port, cleanups, { requestTimeoutMs: 300 });
    sim.faults.add({ kind: 'silent', type: 'DEVICELIST', times: 1 });
    const error = await coreFailure(pool.request(coreRequest('DEVICELIST', 21)));
    assert.equal(error.kind, 'timeout');
    const answers = await Promise.all([22, 23, 24, 25].map((id) => pool.request(coreRequest('DEVICELIST', id))));
    assert.deepEqual(answers.map((a) => a.requestId), ['22', '23', '24', '25']);
    await waitFor(() => pool.stats.open === 2, 'the pool to be whole again');
    assert.equal(pool.stats.up, true);
  });

  for (const kind of ['drop', 'drop-before-answer'] as const) {
    test(`${kind} on CALLSTART: the call fails as possibly carried out, and was carried out exactly once`, async () => {
      const [device, id] = kind === 'drop' ? ['9001', 31] : ['9002', 35];
      const pool = await startPool(sim.port, cleanups, { size: 4 });
      sim.faults.add({ kind, type: 'CALLSTART', bytes: 40, times: 1 });
      const error = await coreFailure(pool.request(coreRequest('CALLSTART', id, { DEVICEID: device })));
      assert.equal(error.kind, 'unavailable');
      assert.equal(error.mayHaveReachedCore, true);
      await sleep(200); // time enough for a resend on the three idle connections, were there one
      assert.equal(logged(sim, 'CALLSTART', id), 1);
      const status = await pool.request(coreRequest('DEVICESTATUS', 32, { DEVICEID: device }));
      const recording = child(child(child(status.root, 'DEVICES')!, 'DEVICE')!, 'RECORDING');
      assert.equal(recording && child(recording, 'ISRECORDING')?.text, 'Y', 'the call was carried out');
      await pool.request(coreRequest('CALLSTOP', 33, { DEVICEID: device }));
      const list = await pool.request(coreRequest('CALLLIST', 34, { DEVICEID: device }));
      assert.equal(all(list.root, 'SEARCHRESULT').length, 1, 'one call, one recording');
    });
  }

  test('an answer to another REQUESTTYPE: protocol error, and that connection is replaced', async () => {
    const pool = await startPool(sim.port, cleanups, { size: 1 });
    let connects = 0;
    pool.on('connect', () => connects++);
    sim.faults.add({ kind: 'mismatch', type: 'DEVICELIST', times: 1 });
    const error = await coreFailure(pool.request(coreRequest('DEVICELIST', 41)));
    assert.equal(error.kind, 'protocol');
    assert.equal(error.mayHaveReachedCore, true);
    assert.equal((await pool.request(coreRequest('DEVICELIST', 42))).requestId, '42');
    assert.equal(connects, 1);
  });

  test('500 concurrent requests through 4 connections: each caller its own answer', async () => {
    const pool = await startPool(sim.port, cleanups, { size: 4, queueMax: 500, queueTimeoutMs: 20_000 });
    const types = ['TEST', 'DEVICELIST', 'CHANNELS', 'FETCHTERMINOLOGY'];
    const answers = await Promise.all(
      Array.from({ length: 500 }, (_, i) => pool.request(coreRequest(types[i % types.length]!, i + 1)).then((a) => ({ i, a }))),
    );
    for (const { i, a } of answers) {
      assert.equal(a.requestId, String(i + 1));
      assert.equal(a.requestType, types[i % types.length]);
    }
    assert.equal(pool.stats.open, 4);
  });
});

test('no core listening: fast unavailable failures, and recovery once one listens', async () => {
  const port = await freePort();
  const timeoutMs = 2000;
  const pool = await startPool(port, cleanups, { requestTimeoutMs: timeoutMs }, false);
  await nextEvent(pool, 'down');
  assert.equal(pool.stats.up, false);
  for (let id = 1; id <= 20; id++) {
    const started = performance.now();
    const error = await coreFailure(pool.request(coreRequest('TEST', id)));
    assert.equal(error.kind, 'unavailable');
    assert.equal(error.mayHaveReachedCore, false);
    assert.ok(performance.now() - started < timeoutMs / 4, 'failed fast, not after a timeout');
  }
  const up = nextEvent(pool, 'up');
  const sim = await startTestSimulator({ port });
  cleanups.push(() => sim.close());
  await up;
  assert.equal((await pool.request(coreRequest('DEVICELIST', 50))).requestId, '50');
});

test('the core restarting: failures while it is away, recovery when it is back', async () => {
  const first = await startTestSimulator();
  const port = first.port;
  const pool = await startPool(port, cleanups, { size: 3 });
  assert.equal((await pool.request(coreRequest('TEST', 1))).requestId, '1');
  const down = nextEvent(pool, 'down');
  await first.close();
  await down;
  const error = await coreFailure(pool.request(coreRequest('TEST', 2)));
  assert.equal(error.kind, 'unavailable');
  const up = nextEvent(pool, 'up');
  const second = await startTestSimulator({ port });
  cleanups.push(() => second.close());
  await up;
  assert.equal((await pool.request(coreRequest('TEST', 3))).requestId, '3');
  await waitFor(() => pool.stats.open === 3, 'every connection back');
});
