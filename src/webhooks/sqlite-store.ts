/**
 * The webhooks of one gateway alone (no REDIS_URL): `<data dir>/webhooks.sqlite`. Subscriptions,
 * every queued delivery with its retry state, and the fan-out's cursor are rows, each change one
 * transaction, so a restart (or a crash) loses nothing: the queues are worked again where they
 * stood, and the fan-out goes on from the last event it committed.
 *
 * One process owns the file (as it owns its transcode cache): claims are held in memory, and the
 * fan-out's turn is always this process's.
 */
import Database from 'better-sqlite3';
import fs from 'node:fs';
import path from 'node:path';
import { defaultMaxQueued, keptDelivered, keptFailed, overflowed, type Delivery, type DeliveryStatus, type QueuedMessage, type Subscription } from './subscription.js';
import type { FanOutTurn, QueueClaim, QueueHead, WebhookStore } from './store.js';
import { WakeUp } from './wake-up.js';

const schema = `
CREATE TABLE IF NOT EXISTS subscriptions (
  id TEXT PRIMARY KEY,
  created_at INTEGER NOT NULL,
  enabled INTEGER NOT NULL,
  body TEXT NOT NULL
);
-- seq orders each queue (and the list of deliveries); status and next_attempt_at are copied out of
-- state, the delivery as JSON, for the queries that find heads.
CREATE TABLE IF NOT EXISTS deliveries (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  id TEXT NOT NULL UNIQUE,
  subscription_id TEXT NOT NULL,
  status TEXT NOT NULL,
  next_attempt_at INTEGER,
  state TEXT NOT NULL,
  body TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS deliveries_by_queue ON deliveries (subscription_id, status, seq);
CREATE INDEX IF NOT EXISTS deliveries_by_status ON deliveries (status);
CREATE TABLE IF NOT EXISTS fan_out (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  cursor INTEGER NOT NULL
);
`;

const queued = `status IN ('pending', 'retrying')`;

/** The head of each queue of a subscription that is on. */
const heads = `
SELECT d.subscription_id AS subscription_id, d.next_attempt_at AS next_attempt_at
FROM (SELECT subscription_id, MIN(seq) AS seq FROM deliveries WHERE ${queued} GROUP BY subscription_id) h
JOIN deliveries d ON d.seq = h.seq
JOIN subscriptions s ON s.id = h.subscription_id AND s.enabled = 1`;

interface DeliveryRow {
  seq: number;
  state: string;
  body: string;
}

class LocalClaim implements QueueClaim {
  constructor(readonly subscriptionId: string) {}
}

const onlyTurn: FanOutTurn = Object.freeze({});

export class SqliteWebhookStore implements WebhookStore {
  private readonly db: Database.Database;
  private readonly claims = new Map<string, LocalClaim>();
  private readonly work = new WakeUp();
  private readonly maxQueued: number;
  private readonly statements;

  constructor(options: { file: string; maxQueued?: number }) {
    fs.mkdirSync(path.dirname(options.file), { recursive: true });
    this.maxQueued = options.maxQueued ?? defaultMaxQueued;
    this.db = new Database(options.file);
    // WAL: a commit is one append, and readers (the list of deliveries) never wait for the dispatcher.
    this.db.pragma('journal_mode = WAL');
    // A commit survives the process dying (what a restart must not lose) without an fsync each:
    // with one per delivery, the disk, not the receivers, would set the pace.
    this.db.pragma('synchronous = NORMAL');
    this.db.exec(schema);
    const db = this.db;
    this.statements = {
      insertSubscription: db.prepare('INSERT INTO subscriptions (id, created_at, enabled, body) VALUES (?, ?, ?, ?)'),
      countSubscriptions: db.prepare('SELECT COUNT(*) AS n FROM subscriptions').pluck(),
      subscription: db.prepare('SELECT body FROM subscriptions WHERE id = ?').pluck(),
      subscriptions: db.prepare('SELECT body FROM subscriptions ORDER BY created_at, id').pluck(),
      updateSubscription: db.prepare('UPDATE subscriptions SET enabled = ?, body = ? WHERE id = ?'),
      deleteSubscription: db.prepare('DELETE FROM subscriptions WHERE id = ?'),
      deleteDeliveriesOf: db.prepare('DELETE FROM deliveries WHERE subscription_id = ?'),
      queuedCount: db.prepare(`SELECT COUNT(*) FROM deliveries WHERE subscription_id = ? AND ${queued}`).pluck(),
      insertDelivery: db.prepare('INSERT INTO deliveries (id, subscription_id, status, next_attempt_at, state, body) VALUES (?, ?, ?, ?, ?, ?)'),
      updateDelivery: db.prepare('UPDATE deliveries SET status = ?, next_attempt_at = ?, state = ? WHERE seq = ? AND subscription_id = ?'),
      deliveries: db.prepare('SELECT state FROM deliveries WHERE subscription_id = ? ORDER BY seq DESC LIMIT ?').pluck(),
      deliveriesOfStatus: db.prepare('SELECT state FROM deliveries WHERE subscription_id = ? AND status = ? ORDER BY seq DESC LIMIT ?').pluck(),
      message: db.prepare('SELECT seq, state, body FROM deliveries WHERE subscription_id = ? AND id = ?'),
      head: db.prepare(`SELECT seq, state, body FROM deliveries WHERE subscription_id = ? AND ${queued} ORDER BY seq LIMIT 1`),
      trim: db.prepare(
        'DELETE FROM deliveries WHERE subscription_id = ? AND status = ? AND seq <= (SELECT seq FROM deliveries WHERE subscription_id = ? AND status = ? ORDER BY seq DESC LIMIT 1 OFFSET ?)',
      ),
      pendingCount: db.prepare(`SELECT COUNT(*) FROM deliveries WHERE ${queued}`).pluck(),
      cursor: db.prepare('SELECT cursor FROM fan_out WHERE id = 1').pluck(),
      setCursor: db.prepare('INSERT INTO fan_out (id, cursor) VALUES (1, ?) ON CONFLICT (id) DO UPDATE SET cursor = excluded.cursor'),
      dueQueues: db.prepare(`SELECT subscription_id FROM (${heads}) WHERE next_attempt_at <= ? ORDER BY next_attempt_at LIMIT ?`).pluck(),
      nextDueAt: db.prepare(`SELECT MIN(next_attempt_at) FROM (${heads})`).pluck(),
    };
  }

  async addSubscription(subscription: Subscription, max: number): Promise<boolean> {
    return this.db.transaction(() => {
      if ((this.statements.countSubscriptions.get() as number) >= max) return false;
      this.statements.insertSubscription.run(subscription.id, subscription.createdAt, subscription.enabled ? 1 : 0, JSON.stringify(subscription));
      return true;
    })();
  }

  async subscription(id: string): Promise<Subscription | undefined> {
    const body = this.statements.subscription.get(id) as string | undefined;
    return body === undefined ? undefined : (JSON.parse(body) as Subscription);
  }

  async subscriptions(): Promise<Subscription[]> {
    return (this.statements.subscriptions.all() as string[]).map((body) => JSON.parse(body) as Subscription);
  }

  async replaceSubscription(subscription: Subscription): Promise<boolean> {
    const changed = this.statements.updateSubscription.run(subscription.enabled ? 1 : 0, JSON.stringify(subscription), subscription.id).changes > 0;
    if (changed && subscription.enabled) this.wake();
    return changed;
  }

  async removeSubscription(id: string): Promise<boolean> {
    return this.db.transaction(() => {
      this.statements.deleteDeliveriesOf.run(id);
      return this.statements.deleteSubscription.run(id).changes > 0;
    })();
  }

  /** Inserts messages for the subscriptions still kept; call within a transaction. */
  private insert(messages: readonly QueuedMessage[]): Delivery[] {
    const kept: Delivery[] = [];
    for (const { delivery, body } of messages) {
      if (this.statements.subscription.get(delivery.subscriptionId) === undefined) continue;
      const full = (this.statements.queuedCount.get(delivery.subscriptionId) as number) >= this.maxQueued;
      const state = full ? overflowed(delivery, this.maxQueued) : delivery;
      this.statements.insertDelivery.run(state.id, state.subscriptionId, state.status, state.nextAttemptAt, JSON.stringify(state), body);
      if (full) this.trim(state.subscriptionId, 'failed', keptFailed);
      kept.push(state);
    }
    return kept;
  }

  private trim(subscriptionId: string, status: DeliveryStatus, keep: number): void {
    this.statements.trim.run(subscriptionId, status, subscriptionId, status, keep);
  }

  async enqueue(messages: readonly QueuedMessage[]): Promise<Delivery[]> {
    const kept = this.db.transaction(() => this.insert(messages))();
    if (kept.length > 0) this.wake();
    return kept;
  }

  async deliveries(subscriptionId: string, filter: { status?: DeliveryStatus | undefined; limit: number }): Promise<Delivery[]> {
    const rows = (filter.status ? this.statements.deliveriesOfStatus.all(subscriptionId, filter.status, filter.limit) : this.statements.deliveries.all(subscriptionId, filter.limit)) as string[];
    return rows.map((state) => JSON.parse(state) as Delivery);
  }

  async message(subscriptionId: string, deliveryId: string): Promise<QueuedMessage | undefined> {
    const row = this.statements.message.get(subscriptionId, deliveryId) as DeliveryRow | undefined;
    return row && { delivery: JSON.parse(row.state) as Delivery, body: row.body };
  }

  async pendingCount(): Promise<number> {
    return this.statements.pendingCount.get() as number;
  }

  async takeFanOut(): Promise<FanOutTurn | undefined> {
    return onlyTurn;
  }

  async keepFanOut(): Promise<boolean> {
    return true;
  }

  async leaveFanOut(): Promise<void> {}

  async fanOutCursor(): Promise<number | undefined> {
    return (this.statements.cursor.get() as number | undefined) ?? undefined;
  }

  async commitFanOut(_turn: FanOutTurn, from: number | undefined, to: number, messages: readonly QueuedMessage[]): Promise<boolean> {
    const committed = this.db.transaction(() => {
      if (((this.statements.cursor.get() as number | undefined) ?? undefined) !== from) return false;
      this.insert(messages);
      this.statements.setCursor.run(to);
      return true;
    })();
    if (committed && messages.length > 0) this.wake();
    return committed;
  }

  async dueQueues(now: number, limit: number): Promise<string[]> {
    return this.statements.dueQueues.all(now, limit) as string[];
  }

  async nextDueAt(): Promise<number | undefined> {
    return (this.statements.nextDueAt.get() as number | null) ?? undefined;
  }

  async claimQueue(subscriptionId: string): Promise<QueueClaim | undefined> {
    if (this.claims.has(subscriptionId)) return undefined;
    const claim = new LocalClaim(subscriptionId);
    this.claims.set(subscriptionId, claim);
    return claim;
  }

  async keepQueue(claim: QueueClaim): Promise<boolean> {
    return this.claims.get(claim.subscriptionId) === claim;
  }

  async releaseQueue(claim: QueueClaim): Promise<void> {
    if (this.claims.get(claim.subscriptionId) === claim) this.claims.delete(claim.subscriptionId);
  }

  async head(claim: QueueClaim): Promise<QueueHead | undefined> {
    const row = this.statements.head.get(claim.subscriptionId) as DeliveryRow | undefined;
    return row && { delivery: JSON.parse(row.state) as Delivery, body: row.body, entry: String(row.seq) };
  }

  // A queue is due when its head's next attempt is, and a subscription that is off is left out of
  // the heads: both follow from the rows, so there is nothing to note.
  async postpone(): Promise<void> {}

  async park(): Promise<void> {}

  async settle(claim: QueueClaim, head: QueueHead, delivery: Delivery): Promise<boolean> {
    if (this.claims.get(claim.subscriptionId) !== claim) return false;
    return this.db.transaction(() => {
      const changed = this.statements.updateDelivery.run(delivery.status, delivery.nextAttemptAt, JSON.stringify(delivery), Number(head.entry), claim.subscriptionId).changes > 0;
      if (delivery.status === 'delivered') this.trim(claim.subscriptionId, 'delivered', keptDelivered);
      if (delivery.status === 'failed') this.trim(claim.subscriptionId, 'failed', keptFailed);
      return changed;
    })();
  }

  waitForWork(timeoutMs: number): Promise<void> {
    return this.work.wait(timeoutMs);
  }

  private wake(): void {
    this.work.wake();
  }

  async close(): Promise<void> {
    this.wake();
    this.db.close();
  }
}
