/**
 * Where subscriptions, queues and the fan-out's place in the event log are kept: one interface, two
 * homes. Redis (REDIS_URL) when several replicas share the work; a SQLite file under the data dir
 * when one gateway runs alone. The fan-out and the dispatcher are written once, against this.
 *
 * A subscription's deliveries form a queue of their own, worked in order: only its head is
 * attempted, by whoever holds the queue's claim (a lease with Redis, so one replica at a time), and
 * the next waits until the head is delivered or dead-lettered. A queue is due when its head's next
 * attempt is; a turned-off subscription's queue is parked until it is turned on again.
 */
import type { Delivery, DeliveryStatus, QueuedMessage, Subscription } from './subscription.js';

/** The right to work one subscription's queue; a store's own token. */
export interface QueueClaim {
  readonly subscriptionId: string;
}

/** The right to fan out events (one replica at a time); a store's own token. */
export type FanOutTurn = object;

/** The message at the head of a queue, and where it sits there (the store's own mark). */
export interface QueueHead extends QueuedMessage {
  entry: string;
}

export interface WebhookStore {
  /** Keeps a new subscription unless `max` are kept already: false then. */
  addSubscription(subscription: Subscription, max: number): Promise<boolean>;
  subscription(id: string): Promise<Subscription | undefined>;
  /** Every subscription, oldest first. */
  subscriptions(): Promise<Subscription[]>;
  /** Replaces a kept subscription (false when there is none); turned on, its waiting queue is due at once. */
  replaceSubscription(subscription: Subscription): Promise<boolean>;
  /** Forgets a subscription with its queue and deliveries; false when there was none. */
  removeSubscription(id: string): Promise<boolean>;

  /** Puts messages at the tail of their queues (a test event, a redelivery): their deliveries as kept. */
  enqueue(messages: readonly QueuedMessage[]): Promise<Delivery[]>;
  /** A subscription's deliveries, newest first: those of one status, or all kept. */
  deliveries(subscriptionId: string, filter: { status?: DeliveryStatus | undefined; limit: number }): Promise<Delivery[]>;
  message(subscriptionId: string, deliveryId: string): Promise<QueuedMessage | undefined>;
  /** Deliveries waiting in every queue. */
  pendingCount(): Promise<number>;

  /** Takes the fan-out's turn if no other replica has it. */
  takeFanOut(): Promise<FanOutTurn | undefined>;
  /** Keeps the turn; false when it was lost (another replica fans out now). */
  keepFanOut(turn: FanOutTurn): Promise<boolean>;
  leaveFanOut(turn: FanOutTurn): Promise<void>;
  /** The id of the last event fanned out; undefined before the first. */
  fanOutCursor(): Promise<number | undefined>;
  /**
   * Queues the messages of the events after `from` up to `to` and moves the cursor to `to`, as one
   * step: all or nothing, and only while the cursor is still at `from` and the turn still held.
   */
  commitFanOut(turn: FanOutTurn, from: number | undefined, to: number, messages: readonly QueuedMessage[]): Promise<boolean>;

  /** Queues due by `now` (subscription ids), soonest first. */
  dueQueues(now: number, limit: number): Promise<string[]>;
  /** When the soonest queue is due; undefined when none waits. */
  nextDueAt(): Promise<number | undefined>;
  claimQueue(subscriptionId: string): Promise<QueueClaim | undefined>;
  /** Keeps the claim while an attempt runs; false when it was lost. */
  keepQueue(claim: QueueClaim): Promise<boolean>;
  releaseQueue(claim: QueueClaim): Promise<void>;
  /** The queue's head; undefined when the queue is empty, which is then no longer due. */
  head(claim: QueueClaim): Promise<QueueHead | undefined>;
  /** The queue is next due at `at`. */
  postpone(claim: QueueClaim, at: number): Promise<void>;
  /** The subscription is off (or gone): its queue waits, not due, until it is turned on. */
  park(claim: QueueClaim): Promise<void>;
  /**
   * Records the head's delivery after an attempt: finished (delivered, failed), it leaves the queue
   * and the next one is due at once; retrying, the queue is due at its next attempt. False when the
   * claim was lost meanwhile: nothing is recorded, the new holder attempts it again.
   */
  settle(claim: QueueClaim, head: QueueHead, delivery: Delivery): Promise<boolean>;

  /** Resolves when work may have come (a message queued, a subscription turned on), or after `timeoutMs`. */
  waitForWork(timeoutMs: number): Promise<void>;
  close(): Promise<void>;
}
