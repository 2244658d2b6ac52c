/**
 * Event tickets used once across replicas, through a real Redis (127.0.0.1:6379, a prefix of this
 * test's own): a ticket redeemed on one replica is refused on another; the record expires with the
 * ticket; without Redis each replica still refuses what it took itself.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, test } from 'node:test';
import { AccessRefused } from '../../src/access/principal.js';
import { EventTickets } from '../../src/access/event-tickets.js';
import { SigningKeys } from '../../src/access/signing-keys.js';
import { SharedState } from '../../src/cluster/redis.js';
import { SharedTicketLedger } from '../../src/cluster/ticket-ledger.js';

const redisUrl = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const keys = new SigningKeys(['k'.repeat(40)]);
const states: SharedState[] = [];
after(async () => {
  for (const state of states) await state.close();
});

async function replica(url: string, prefix: string): Promise<{ tickets: EventTickets; shared: SharedState }> {
  let told = false;
  const shared = new SharedState({ url, prefix, onState: () => (told = true) });
  states.push(shared);
  const deadline = Date.now() + 5000;
  while (!told && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  return { tickets: new EventTickets({ keys, ledger: new SharedTicketLedger(shared) }), shared };
}

const usedAlready = (error: unknown): boolean => error instanceof AccessRefused && /used already/.test(error.message);

test('a ticket opens one stream across replicas sharing Redis, and its record expires with it', async () => {
  const prefix = `test:${randomBytes(6).toString('hex')}:`;
  const [a, b] = [await replica(redisUrl, prefix), await replica(redisUrl, prefix)];
  const { ticket } = a.tickets.issue({ name: 'crm', kind: 'key' });
  const principal = await b.tickets.redeem(ticket);
  assert.equal(principal.name, 'crm');
  await assert.rejects(a.tickets.redeem(ticket), usedAlready, 'refused on the other replica');
  await assert.rejects(b.tickets.redeem(ticket), usedAlready, 'and on the same one');
  const [record] = await a.shared.redis.keys(`${prefix}ticket:*`);
  const ttl = await a.shared.redis.pttl(record!);
  assert.ok(ttl > 0 && ttl <= 30_000, `the record lives as long as the ticket could: ${ttl} ms`);
  await a.shared.redis.del(record!);
});

test('without Redis, each replica still refuses a ticket it took itself', async () => {
  const [a, b] = [await replica('redis://127.0.0.1:1', 'test:none:'), await replica('redis://127.0.0.1:1', 'test:none:')];
  const { ticket } = a.tickets.issue({ name: 'crm', kind: 'key' });
  await a.tickets.redeem(ticket);
  await assert.rejects(a.tickets.redeem(ticket), usedAlready);
  // What replicas without a shared record cannot know of each other.
  assert.equal((await b.tickets.redeem(ticket)).name, 'crm');
});
