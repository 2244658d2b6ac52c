/**
 * Test harness for `src/core/`: requests built the way the gateway builds them, the error a promise
 * fails with, waiting on a condition or an event without fixed sleeps, a free loopback port.
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { once, type EventEmitter } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { CoreError, type CoreRequest } from '../../src/core/connection.js';
import { CorePool, type CorePoolOptions } from '../../src/core/pool.js';
import { buildRequest } from '../../src/protocol/xml.js';
import { startSimulator, type RunningSimulator, type SimulatorConfig } from '../../src/sim/simulator.js';

export function coreRequest(type: string, requestId: number | string, params: Record<string, string | number> = {}): CoreRequest {
  return {
    type,
    requestId: String(requestId),
    xml: buildRequest(type, requestId, Object.entries(params).map(([k, v]) => [k, String(v)] as const)),
  };
}

/** The CoreError a promise rejects with (fails the test if it resolves or rejects otherwise). */
export async function coreFailure(promise: Promise<unknown>): Promise<CoreError> {
  const outcome = await promise.then(
    (value) => ({ value }),
    (error: unknown) => ({ error }),
  );
  assert.ok('error' in outcome, `expected a failure, got ${JSON.stringify(outcome)}`);
  assert.ok(outcome.error instanceof CoreError, `expected a CoreError, got ${String(outcome.error)}`);
  return outcome.error;
}

export async function waitFor(condition: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

export async function nextEvent(emitter: EventEmitter, event: string, timeoutMs = 5000): Promise<unknown[]> {
  return once(emitter, event, { signal: AbortSignal.timeout(timeoutMs) });
}

/** A port nothing listens on (just now), to start a core on later. */
export async function freePort(): Promise<number> {
  const server = net.createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  assert.ok(address && typeof address !== 'string');
  server.close();
  await once(server, 'close');
  return address.port;
}

export function startTestSimulator(config: SimulatorConfig = {}): Promise<RunningSimulator> {
  return startSimulator({ port: 0, eventPort: 0, seed: false, ...config });
}

/** The sim's request log entries of a TYPE carrying a REQUESTID. */
export function logged(sim: RunningSimulator, type: string, requestId: number | string): number {
  return sim.requests
    .list()
    .filter((r) => new RegExp(`<TYPE>${type}</TYPE>`).test(r.text) && new RegExp(`<REQUESTID>${requestId}</REQUESTID>`).test(r.text)).length;
}

/**
 * A started pool with fast backoff, closed by `cleanups` after the test; resolved once the core has
 * answered its first probe unless `waitUp` is false.
 */
export async function startPool(
  port: number,
  cleanups: (() => unknown)[],
  options: Partial<CorePoolOptions> = {},
  waitUp = true,
): Promise<CorePool> {
  const pool = new CorePool({ host: '127.0.0.1', port, size: 2, queueMax: 100, requestTimeoutMs: 2000, connectTimeoutMs: 1000, backoffInitialMs: 20, backoffMaxMs: 200, ...options });
  cleanups.push(() => pool.close(0));
  const up = waitUp ? nextEvent(pool, 'up') : undefined;
  pool.start();
  await up;
  return pool;
}
