/**
 * Webhooks across replicas as processes: two gateway programs over one simulator process and one
 * Redis. A real call's events go to a receiver that holds the first request open; the replica
 * delivering it is killed with SIGKILL mid-delivery, and the other takes the queue over once the
 * dead one's claim expires: every event arrives, verified, in order (the held one twice, with the
 * same webhook-id: at least once).
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { Redis } from 'ioredis';
import { startCoreProcess } from '../http/core-process.js';
import { startGatewayProgram, type GatewayProgram } from '../http/gateway-program.js';
import { WebhookReceiver } from './receiver.js';

const redisUrl = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const cleanups: (() => Promise<void> | void)[] = [];
after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

test('the replica delivering is killed mid-delivery: another delivers, and every event of the call arrives in order', { timeout: 60_000 }, async () => {
  const core = await startCoreProcess([]);
  cleanups.push(() => core.stop());
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'webhook-replicas-'));
  cleanups.push(() => fs.rmSync(dir, { recursive: true, force: true }));
  const prefix = `test:${randomBytes(6).toString('hex')}:`;
  const redis = new Redis(redisUrl, { maxRetriesPerRequest: 1 });
  cleanups.push(async () => {
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length > 0) await redis.del(...keys);
    redis.disconnect();
  });
  const replicas: GatewayProgram[] = [];
  cleanups.push(() => {
    for (const replica of replicas) replica.child.kill('SIGKILL');
  });
  for (const name of ['a', 'b']) {
    replicas.push(
      await startGatewayProgram({
        CORE_HOST: core.host,
        CORE_PORT: String(core.port),
        CORE_EVENT_PORT: String(core.eventPort),
        GATEWAY_DATA_DIR: path.join(dir, name),
        REDIS_URL: redisUrl,
        REDIS_PREFIX: prefix,
        EVENTS_LEASE_MS: '1000',
        WEBHOOK_LEASE_MS: '1000',
        WEBHOOK_ALLOW_PRIVATE: 'true',
        WEBHOOK_RETRY_SCHEDULE: '200ms,200ms,200ms',
        RATE_LIMIT_MAX: '0',
      }),
    );
  }
  const [a, b] = replicas as [GatewayProgram, GatewayProgram];
  const receiver = await WebhookReceiver.start();
  cleanups.push(() => receiver.close());
  receiver.responder = (_request, n) => (n === 0 ? 'hold' : { status: 204 });

  const rest = async (replica: GatewayProgram, method: string, url: string, body?: unknown): Promise<{ status: number; body: any }> => {
    const response = await fetch(`${replica.urls[0]}${url}`, { method, headers: body ? { 'content-type': 'application/json' } : {}, body: body ? JSON.stringify(body) : null });
    const text = await response.text();
    return { status: response.status, body: text ? JSON.parse(text) : undefined };
  };
  const made = await rest(a, 'POST', '/api/v1/webhooks', { url: receiver.url, eventTypes: ['CALLSTART', 'CALLSTOP', 'RECORDINGSTOPPED'] });
  assert.equal(made.status, 201, JSON.stringify(made.body));
  const { id } = made.body.webhook;
  const { secret } = made.body;
  assert.equal((await rest(b, 'GET', `/api/v1/webhooks/${id}`)).status, 200, 'every replica sees the webhook');
  // The fan-out has placed its cursor, and one replica is subscribed to the core's events.
  for (const deadline = Date.now() + 15_000; !((await redis.exists(`${prefix}webhooks:cursor`)) && (await redis.get(`${prefix}events:port`)) === 'up'); ) {
    assert.ok(Date.now() < deadline, 'the fan-out and the event log are running');
    await sleep(50);
  }

  assert.equal((await rest(a, 'POST', '/api/v1/calls/start', { deviceId: '4201' })).status, 200);
  assert.equal((await rest(a, 'POST', '/api/v1/calls/stop', { deviceId: '4201' })).status, 200);
  const [held] = await receiver.waitFor(1, 15_000);
  const first = WebhookReceiver.verify(secret, held!) as { type: string };
  assert.equal(first.type, 'CALLSTART');

  // The call's events are in the shared log before the kill (the kill is of a delivery, not of the log's writer's queue).
  for (let deadline = Date.now() + 10_000; ; await sleep(20)) {
    const types = (await redis.xrange(`${prefix}events:stream`, '-', '+')).map(([, fields]) => fields[1]);
    if (types.includes('CALLSTOP') && types.includes('RECORDINGSTOPPED')) break;
    assert.ok(Date.now() < deadline, 'the events reach the shared log');
  }
  // Who is delivering: the holder of the queue's claim, named by its process.
  const claim = await redis.get(`${prefix}webhooks:sub:${id}:lease`);
  const pid = Number(/^[^:]+:(\d+):/.exec(claim ?? '')?.[1]);
  const delivering = replicas.find((replica) => replica.child.pid === pid);
  assert.ok(delivering, `the claim ${claim} is one replica's`);
  const survivor = delivering === a ? b : a;
  delivering.child.kill('SIGKILL');
  await delivering.exited;

  const got = await receiver.waitFor(4, 20_000).catch(async (error: Error) => {
    const queue = `${prefix}webhooks:sub:${id}:`;
    const state = {
      due: await redis.zrange(`${prefix}webhooks:due`, 0, -1, 'WITHSCORES'),
      queue: await redis.xrange(`${queue}queue`, '-', '+'),
      pending: await redis.xpending(`${queue}queue`, 'workers'),
      deliveries: await redis.hvals(`${queue}deliveries`),
      cursor: await redis.get(`${prefix}webhooks:cursor`),
      stream: (await redis.xrange(`${prefix}events:stream`, '-', '+')).map(([entryId, fields]) => `${entryId} ${fields[1]}`),
      received: receiver.received.map((r) => r.body.slice(0, 80)),
    };
    throw new Error(`${error.message}\n${JSON.stringify(state, null, 1)}\n${survivor.log().split('\n').filter((line) => /webhook|lease|Redis/i.test(line)).join('\n')}`);
  });
  const payloads = got.map((r) => WebhookReceiver.verify(secret, r) as { id: number; type: string });
  assert.deepEqual(
    payloads.map((p) => p.type).slice(0, 2),
    ['CALLSTART', 'CALLSTART'],
    'the message in flight again, then the rest',
  );
  // The simulator tells RECORDINGSTOPPED before or after CALLSTOP; the order is the log's. When the
  // replica killed held the event log's lease too, its successor announces a gap, which every webhook gets.
  assert.deepEqual(payloads.map((p) => p.type).slice(2).filter((type) => type !== 'gap').sort(), ['CALLSTOP', 'RECORDINGSTOPPED']);
  assert.equal(got[1]!.headers['webhook-id'], held!.headers['webhook-id'], 'the same webhook-id: a receiver deduplicates by it');
  for (let i = 2; i < payloads.length; i++) assert.ok(payloads[i]!.id > payloads[i - 1]!.id, 'in the order of the log');
  for (let deadline = Date.now() + 5000; ; await sleep(50)) {
    const listed = (await rest(survivor, 'GET', `/api/v1/webhooks/${id}/deliveries`)).body.deliveries as { status: string; attempts: number }[];
    if (listed.length >= 3 && listed.length === receiver.received.length - 1 && listed.every((d) => d.status === 'delivered')) {
      // The attempt cut by the kill was never recorded: each counts one.
      assert.ok(listed.every((d) => d.attempts === 1));
      break;
    }
    assert.ok(Date.now() < deadline, JSON.stringify(listed));
  }
  assert.equal(survivor.child.exitCode, null, 'the survivor runs on');
});
