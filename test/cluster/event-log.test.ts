/**
 * The lease and the fenced Stream of the shared event log, on a real Redis (127.0.0.1:6379, a prefix
 * of this test's own): one holder at a time, takeover once a lease expires, and a deposed holder
 * that cannot append after its successor.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, test } from 'node:test';
import { EventLease, SharedEventStream, eventIdOf, recordOfEntry, streamIdOf, type EventEntry } from '../../src/cluster/event-log.js';
import { SharedState } from '../../src/cluster/redis.js';

const redisUrl = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const states: SharedState[] = [];
after(async () => {
  for (const state of states) await state.close();
});

const entry = (n: string, type = 'CALLSTART'): EventEntry => ({ type, eventClass: 'CALL', deviceId: '1', body: JSON.stringify({ type, n }) });
const ns = (entries: { fields: Record<string, string> }[]): string[] => entries.map((e) => (JSON.parse(e.fields.body!) as { n: string }).n);

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
  const streamA = new SharedEventStream(a, { entries: 1000 });
  const streamB = new SharedEventStream(b, { entries: 1000 });

  const tokenA = await leaseA.acquire();
  assert.equal(typeof tokenA, 'number');
  assert.equal(await leaseB.acquire(), undefined, 'held: nobody else takes it');
  assert.equal((await streamA.append(tokenA!, 1, [entry('1')]))?.length, 1);
  assert.ok(await leaseA.renew(tokenA!));

  // A stops renewing (a long GC pause, a partition): its lease expires and B takes over.
  await new Promise((r) => setTimeout(r, 400));
  const tokenB = await leaseB.acquire();
  assert.ok(tokenB! > tokenA!, 'each holder has a larger token than the last');
  assert.deepEqual(await leaseB.holderNow(), { holder: 'replica-b', token: tokenB });

  // A wakes up and carries on as if it still held the lease: refused, atomically with the append.
  assert.equal(await streamA.append(tokenA!, 2, [entry('late', 'CALLSTOP')]), undefined);
  assert.equal(await leaseA.renew(tokenA!), false, 'it learns it was deposed when it renews');
  assert.equal(await leaseA.release(tokenA!), false, "nor can it give up its successor's lease");
  assert.equal((await streamB.append(tokenB!, 1, [entry('2', 'CALLSTOP')]))?.length, 1);

  const entries = await streamA.after(0, 10);
  assert.deepEqual(ns(entries), ['1', '2'], "nothing of the deposed holder's after the takeover");
  assert.match(entries[0]!.id, /^\d+-\d{1,3}$/);
  assert.deepEqual(ns(await streamA.after(eventIdOf(entries[0]!.id), 10)), ['2'], 'read on from an id, exclusive');

  // Released at shutdown: the next replica takes over at once, not after the lease time.
  assert.ok(await leaseB.release(tokenB!));
  const tokenA2 = await leaseA.acquire();
  assert.ok(tokenA2! > tokenB!);
  await a.redis.del(`${prefix}events:lease`, `${prefix}events:fence`, `${prefix}events:stream`, `${prefix}events:applied`);
});

test('the Stream is capped near its length, or by age', async () => {
  const prefix = `test:${randomBytes(6).toString('hex')}:`;
  const shared = await connect(prefix);
  const lease = new EventLease(shared, 'replica', 5000);
  const stream = new SharedEventStream(shared, { entries: 100 });
  const token = (await lease.acquire())!;
  for (let i = 0; i < 1000; i += 10) await stream.append(token, i + 1, Array.from({ length: 10 }, (_, j) => entry(String(i + j))));
  const held = await shared.redis.xlen(`${prefix}events:stream`);
  // MAXLEN ~ trims whole macro nodes: about the bound, never the whole history.
  assert.ok(held >= 100 && held < 300, `${held} entries held`);
  const { entries, floorId } = await stream.tail(50);
  assert.equal(entries.length, 50);
  assert.ok(floorId > 0 && floorId < eventIdOf(entries[0]!.id), 'the tail starts after what is no longer held');

  const byAge = new SharedEventStream(shared, { ageMs: 200 });
  await byAge.append(token, 1001, [entry('old')]);
  await new Promise((r) => setTimeout(r, 300));
  for (let i = 0; i < 200; i++) await byAge.append(token, 1002 + i, [entry(`new${i}`)]);
  const after = ns(await byAge.after(0, 2000));
  assert.ok(!after.includes('old') && after.includes('new199'), 'entries older than the age are trimmed');
  await shared.redis.del(`${prefix}events:lease`, `${prefix}events:fence`, `${prefix}events:stream`, `${prefix}events:applied`);
});

test('ids: one number per entry, increasing, ms x 1000 + seq; a batch sent again is written once', async () => {
  const prefix = `test:${randomBytes(6).toString('hex')}:`;
  const shared = await connect(prefix);
  const lease = new EventLease(shared, 'replica', 5000);
  const stream = new SharedEventStream(shared, { entries: 10_000 });
  const token = (await lease.acquire())!;
  assert.ok(token > Date.now() - 60_000, 'the fencing counter starts from the time, so a Redis that lost its data does not hand out old tokens again');
  // 1500 entries in one call: more than 1000 in one millisecond carry into the next.
  const ids = (await stream.append(token, 1, Array.from({ length: 1500 }, (_, i) => entry(String(i)))))!;
  const numbers = ids.map((id) => eventIdOf(id!));
  for (let i = 1; i < numbers.length; i++) assert.ok(numbers[i]! > numbers[i - 1]!, 'increasing');
  for (const id of ids) assert.equal(streamIdOf(eventIdOf(id!)), id);
  // The same batch again (its first call timed out after Redis ran it): nothing written twice.
  const again = await stream.append(token, 1, [entry('0'), entry('1')]);
  assert.deepEqual(again, [undefined, undefined]);
  assert.equal(await shared.redis.xlen(`${prefix}events:stream`), 1500);
  const [first] = await stream.after(0, 1);
  const record = recordOfEntry(first!);
  assert.deepEqual(JSON.parse(record.json), { id: numbers[0], type: 'CALLSTART', n: '0' });
  assert.equal(record.bytes, Buffer.byteLength(record.json));
  await shared.redis.del(`${prefix}events:lease`, `${prefix}events:fence`, `${prefix}events:stream`, `${prefix}events:applied`);
});
