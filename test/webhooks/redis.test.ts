/**
 * Webhooks shared by replicas on a real Redis (127.0.0.1:6379, or TEST_REDIS_URL; a key prefix of
 * each test's own): two replicas following one shared event log fan out every event once and
 * deliver it once, in order, a gap to every webhook; the fan-out's cursor moves only with its
 * lease and from where it stood; a full queue dead-letters what comes, visibly.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, test } from 'node:test';
import { EventLease, SharedEventLogReader, SharedEventStream, type EventEntry } from '../../src/cluster/event-log.js';
import { SharedState } from '../../src/cluster/redis.js';
import { RedisWebhookStore } from '../../src/webhooks/redis-store.js';
import { newDelivery, newSubscription, type Subscription } from '../../src/webhooks/subscription.js';
import { Webhooks } from '../../src/webhooks/webhooks.js';
import { WebhookReceiver } from './receiver.js';

const redisUrl = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const cleanups: (() => Promise<void>)[] = [];
after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

async function connect(prefix: string): Promise<SharedState> {
  let told = false;
  const shared = new SharedState({ url: redisUrl, prefix, onState: () => (told = true) });
  const deadline = Date.now() + 5000;
  while (!told && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  assert.ok(shared.up, 'Redis answers');
  cleanups.push(async () => {
    const keys = await shared.redis.keys(`${prefix}*`);
    if (keys.length > 0) await shared.redis.del(...keys);
    await shared.close();
  });
  return shared;
}

const silent = { info: () => undefined, warn: () => undefined };
const settings = { allowPrivate: true, timeoutMs: 2000, retrySchedule: [100, 100, 100], maxConcurrent: 4, secretOverlapMs: 60_000, leaseMs: 500 };

const subscription = (): Subscription => newSubscription({ url: 'http://127.0.0.1:9/', eventTypes: [], deviceId: null, description: '' }, Date.now());

test('two replicas following the shared log deliver each event once per webhook, in order, and a gap to every webhook', async () => {
  const prefix = `test:${randomBytes(6).toString('hex')}:`;
  const replicas = await Promise.all(
    ['a', 'b'].map(async (name) => {
      const shared = await connect(prefix);
      const stream = new SharedEventStream(shared, { entries: 10_000 });
      const reader = new SharedEventLogReader(shared, stream);
      const webhooks = new Webhooks({ store: new RedisWebhookStore(shared, { holder: `replica-${name}`, leaseMs: settings.leaseMs }), reader, settings, log: silent });
      cleanups.push(async () => reader.close());
      return { shared, stream, webhooks };
    }),
  );
  const [a, b] = replicas as [(typeof replicas)[number], (typeof replicas)[number]];
  const all = await WebhookReceiver.start();
  const filtered = await WebhookReceiver.start();
  cleanups.push(() => all.close(), () => filtered.close());
  const everything = await a.webhooks.create({ url: all.url });
  const only = await b.webhooks.create({ url: filtered.url, eventTypes: ['CALLSTOP'], deviceId: '7001' });
  for (const replica of replicas) await replica.webhooks.start();
  cleanups.push(async () => {
    for (const replica of replicas) await replica.webhooks.stop();
  });
  // The fan-out starts from the newest event: wait until one replica has placed its cursor.
  const store = new RedisWebhookStore(a.shared, { holder: 'observer', leaseMs: 500 });
  for (const deadline = Date.now() + 5000; (await store.fanOutCursor()) === undefined; ) {
    assert.ok(Date.now() < deadline, 'the fan-out placed its cursor');
    await new Promise((r) => setTimeout(r, 20));
  }

  const lease = new EventLease(a.shared, 'writer', 5000);
  const token = (await lease.acquire())!;
  const entries: EventEntry[] = [];
  for (let i = 0; i < 30; i++) {
    const type = i % 2 === 0 ? 'CALLSTART' : 'CALLSTOP';
    const device = i % 3 === 0 ? '7001' : '7002';
    entries.push({ type, eventClass: 'CALL', deviceId: device, body: JSON.stringify({ type, eventClass: 'CALL', n: i, data: { deviceId: device } }) });
  }
  entries.splice(15, 0, { type: 'gap', eventClass: 'gap', deviceId: '', body: JSON.stringify({ type: 'gap', from: '2026-12-05T10:00:00.000Z', to: '2026-12-05T10:00:05.000Z', reason: 'test' }) });
  for (let i = 0; i < entries.length; i += 7) await a.stream.append(token, i + 1, entries.slice(i, i + 7));

  const got = await all.waitFor(31);
  const payloads = got.map((r) => WebhookReceiver.verify(everything.secret, r) as { id: number; type: string; n?: number });
  assert.deepEqual(
    payloads.map((p) => p.n ?? p.type),
    [...Array.from({ length: 15 }, (_, i) => i), 'gap', ...Array.from({ length: 15 }, (_, i) => i + 15)],
    'every event once, in the order of the log',
  );
  assert.ok(payloads.every((p, i) => i === 0 || p.id > payloads[i - 1]!.id));
  const wanted = entries.filter((e) => e.type === 'gap' || (e.type === 'CALLSTOP' && e.deviceId === '7001'));
  const filteredGot = await filtered.waitFor(wanted.length);
  assert.deepEqual(
    filteredGot.map((r) => (WebhookReceiver.verify(only.secret, r) as { type: string }).type),
    wanted.map((e) => e.type),
    'the filter lets its events through, and the gap whatever the filter',
  );
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(all.received.length, 31, 'nothing twice, though two replicas fan out and deliver');
  assert.equal(filtered.received.length, wanted.length);
  assert.equal(await a.webhooks.pendingCount(), 0);
});

test('the fan-out commits only under its lease and from where the cursor stands; a full queue dead-letters what comes', async () => {
  const prefix = `test:${randomBytes(6).toString('hex')}:`;
  const shared = await connect(prefix);
  const one = new RedisWebhookStore(shared, { holder: 'one', leaseMs: 300, maxQueued: 2 });
  const other = new RedisWebhookStore(shared, { holder: 'other', leaseMs: 300, maxQueued: 2 });
  const kept = subscription();
  assert.ok(await one.addSubscription(kept, 100));
  assert.equal(await one.addSubscription(subscription(), 1), false, 'at most max subscriptions');
  const message = (eventId: number) => ({ delivery: newDelivery(kept.id, { messageId: `msg_${eventId}`, eventId, eventType: 'CALLSTART' }, Date.now()), body: `{"id":${eventId}}` });

  const turn = (await one.takeFanOut())!;
  assert.ok(turn);
  assert.equal(await other.takeFanOut(), undefined, 'one replica fans out at a time');
  assert.ok(await one.commitFanOut(turn, undefined, 10, []));
  assert.equal(await one.commitFanOut(turn, undefined, 11, [message(11)]), false, 'not from a cursor that moved');
  assert.ok(await one.commitFanOut(turn, 10, 12, [message(11), message(12), message(13)]));
  assert.equal(await one.fanOutCursor(), 12);

  // The lease runs out (a pause): the other replica goes on; the first cannot commit over it.
  await new Promise((r) => setTimeout(r, 400));
  const next = (await other.takeFanOut())!;
  assert.ok(next);
  assert.equal(await one.commitFanOut(turn, 12, 14, [message(14)]), false, 'a deposed fan-out commits nothing');
  assert.equal(await one.keepFanOut(turn), false);
  assert.ok(await other.commitFanOut(next, 12, 14, []));

  const deliveries = await one.deliveries(kept.id, { limit: 10 });
  assert.deepEqual(
    deliveries.map((d) => [d.eventId, d.status]),
    [
      [13, 'failed'],
      [12, 'pending'],
      [11, 'pending'],
    ],
  );
  assert.match(deliveries[0]!.lastError!, /queue held 2 deliveries/);
  assert.equal(await one.pendingCount(), 2);
  assert.deepEqual(await one.dueQueues(Date.now(), 10), [kept.id]);

  // The queue's claim: one holder; the head is the oldest; a holder that lost its claim records nothing.
  const claim = (await one.claimQueue(kept.id))!;
  assert.equal(await other.claimQueue(kept.id), undefined);
  const head = (await one.head(claim))!;
  assert.equal(head.delivery.eventId, 11);
  await new Promise((r) => setTimeout(r, 400));
  const taken = (await other.claimQueue(kept.id))!;
  assert.ok(taken, 'taken over once the claim expired');
  const again = (await other.head(taken))!;
  assert.equal(again.entry, head.entry, 'the entry left pending by the first holder is claimed by the next');
  assert.equal(await one.settle(claim, head, { ...head.delivery, status: 'delivered', attempts: 1, nextAttemptAt: null }), false);
  assert.ok(await other.settle(taken, again, { ...again.delivery, status: 'delivered', attempts: 1, nextAttemptAt: null }));
  assert.equal((await other.head(taken))!.delivery.eventId, 12, 'the next one is the head now');
  assert.ok(await other.removeSubscription(kept.id));
  assert.equal(await other.pendingCount(), 0);
  assert.deepEqual(await other.dueQueues(Date.now(), 10), []);
});
