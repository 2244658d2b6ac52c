/**
 * Rate limits shared by replicas through a real Redis (127.0.0.1:6379, keys under a prefix of this
 * test's own): a limit of N holds across two gateways, not N each; with Redis unreachable the calls
 * go on and /readyz says so.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, test } from 'node:test';
import { SharedState } from '../../src/cluster/redis.js';
import { startTestGateway, type TestGateway } from '../http/gateway-harness.js';

const redisUrl = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const cleanups: (() => Promise<void>)[] = [];
after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

async function sharedState(url: string, prefix: string): Promise<SharedState> {
  const states: string[] = [];
  const shared = new SharedState({ url, prefix, onState: (state) => states.push(state) });
  cleanups.push(() => shared.close());
  const deadline = Date.now() + 5000;
  while (states.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  return shared;
}

async function gateway(shared: SharedState): Promise<TestGateway> {
  const gw = await startTestGateway({}, {}, { exports: false, rateLimit: { max: 5, windowMs: 60_000 }, shared });
  cleanups.push(() => gw.close());
  return gw;
}

test('a limit of 5 per caller holds across three replicas sharing Redis: 5 admitted, not 15', async () => {
  const prefix = `test:${randomBytes(6).toString('hex')}:`;
  const [a, b, c] = [
    await gateway(await sharedState(redisUrl, prefix)),
    await gateway(await sharedState(redisUrl, prefix)),
    await gateway(await sharedState(redisUrl, prefix)),
  ];
  const statuses: number[] = [];
  // Fifteen calls round the three replicas: each would admit five on its own.
  for (let i = 0; i < 15; i++) {
    const response = await fetch(`${[a, b, c][i % 3]!.url}/webAPI.aspx?type=test&requestid=1`);
    statuses.push(response.status);
    await response.text();
  }
  assert.deepEqual(statuses, [...Array(5).fill(200), ...Array(10).fill(429)], 'the sixth call is refused, whichever replica it reaches');
  const refused = await fetch(`${b!.url}/api/v1/system/test`);
  assert.equal(refused.status, 429);
  assert.ok(Number(refused.headers.get('retry-after')) > 0);
  // The counters are Redis keys under the prefix, with the window as their expiry.
  const probe = await sharedState(redisUrl, prefix);
  const keys = await probe.redis.keys(`${prefix}rate-limit:*`);
  assert.equal(keys.length, 1, `one counter for the one caller: ${keys.join(', ')}`);
  const ttl = await probe.redis.pttl(keys[0]!);
  assert.ok(ttl > 0 && ttl <= 60_000);
  await probe.redis.del(...keys);
  const readyz = (await (await fetch(`${a!.url}/readyz`)).json()) as { redis?: string };
  assert.equal(readyz.redis, 'up');
});

test('Redis unreachable: calls are served (uncounted) and /readyz reports it without failing', async () => {
  const gw = await gateway(await sharedState('redis://127.0.0.1:1', 'test:unreachable:'));
  for (let i = 0; i < 8; i++) {
    const response = await fetch(`${gw.url}/webAPI.aspx?type=test&requestid=${i + 1}`);
    assert.equal(response.status, 200);
    await response.text();
  }
  const readyz = await fetch(`${gw.url}/readyz`);
  assert.equal(readyz.status, 200);
  assert.equal(((await readyz.json()) as { redis?: string }).redis, 'down');
});
