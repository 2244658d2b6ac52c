/**
 * The lease and the fenced Stream of the shared event log, on a real Redis (127.0.0.1:6379, a prefix
 * of this test's own): one holder at a time, takeover once a lease expires, and a deposed holder
 * that cannot append after its successor.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, test } from 'node:test';
import { EventLease, SharedEventStream } from '../../src/cluster/event-log.js';
import { SharedState } from '../../src/cluster/redis.js';

const redisUrl = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const states: SharedState[] = [];
after(async () => {
  for (const state of states) await state.close();
});

async function connect(prefix: string): Promise<SharedState> {
  let told = false;
  const shared = new SharedState({ url: redisUrl, prefix, onState: () => (told = true) });
  states.push(shared);
  const deadline = Date.now() + 5000;
  while (!told && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  assert.ok(shared.up, 'Redis answers');
  return shared;
}

test('one holder at a time; a deposed holder cannot append after its successor took over', async () => {
  const prefix = `test:${randomBytes(6).toString('hex')}:`;
  const [a, b] = [await connect(prefix), await connect(prefix)];
  const leaseA = new EventLease(a, 'replica-a', 300);
  const leaseB = new EventLease(b, 'replica-b', 300);
  const streamA = new SharedEventStream(a, 1000);
  const streamB = new SharedEventStream(b, 1000);

  const tokenA = await leaseA.acquire();
  assert.equal(typeof tokenA, 'number');
  assert.equal(await leaseB.acquire(), undefined, 'held: nobody else takes it');
  assert.ok(await streamA.append(tokenA!, { type: 'CALLSTART', n: '1' }));
  assert.ok(await leaseA.renew(tokenA!));

  // A stops renewing (a long GC pause, a partition): its lease expires and B takes over.
  await new Promise((r) => setTimeout(r, 400));
  const tokenB = await leaseB.acquire();
  assert.ok(tokenB! > tokenA!, 'each holder has a larger token than the last');
  assert.deepEqual(await leaseB.holderNow(), { holder: 'replica-b', token: tokenB });

  // A wakes up and carries on as if it still held the lease: refused, atomically with the append.
  assert.equal(await streamA.append(tokenA!, { type: 'CALLSTOP', n: 'late' }), undefined);
  assert.equal(await leaseA.renew(tokenA!), false, 'it learns it was deposed when it renews');
  assert.equal(await leaseA.release(tokenA!), false, "nor can it give up its successor's lease");
  assert.ok(await streamB.append(tokenB!, { type: 'CALLSTOP', n: '2' }));

  const entries = await streamA.after('0', 10);
  assert.deepEqual(entries.map((e) => e.fields.n), ['1', '2'], "nothing of the deposed holder's after the takeover");
  assert.match(entries[0]!.id, /^\d+-\d+$/);
  assert.deepEqual((await streamA.after(entries[0]!.id, 10)).map((e) => e.fields.n), ['2'], 'read on from an id, exclusive');

  // Released at shutdown: the next replica takes over at once, not after the lease time.
  assert.ok(await leaseB.release(tokenB!));
  const tokenA2 = await leaseA.acquire();
  assert.ok(tokenA2! > tokenB!);
  await a.redis.del(`${prefix}events:lease`, `${prefix}events:fence`, `${prefix}events:stream`);
});

test('the Stream is capped near its length', async () => {
  const prefix = `test:${randomBytes(6).toString('hex')}:`;
  const shared = await connect(prefix);
  const lease = new EventLease(shared, 'replica', 5000);
  const stream = new SharedEventStream(shared, 100);
  const token = (await lease.acquire())!;
  for (let i = 0; i < 1000; i++) await stream.append(token, { n: String(i) });
  const held = await shared.redis.xlen(`${prefix}events:stream`);
  // MAXLEN ~ trims whole macro nodes: about the bound, never the whole history.
  assert.ok(held >= 100 && held < 300, `${held} entries held`);
  await shared.redis.del(`${prefix}events:lease`, `${prefix}events:fence`, `${prefix}events:stream`);
});
