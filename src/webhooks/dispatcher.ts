/**
 * The workers: take the queues that are due, one claim per queue, and attempt each queue's head in
 * turn, so a subscription's messages arrive in the order they were queued while different
 * subscriptions are served side by side, at most `maxConcurrent` at a time on this replica.
 *
 * A queue is worked while its claim is kept (renewed a few times per lease), for a bounded run, then
 * handed back so the others get their share. At shutdown the attempts in flight are abandoned, not
 * counted: their claims are released and the messages stay at the head of their queues, for
 * another replica (or the next start) to send again. A receiver may thus see a message twice; it
 * has the same webhook-id each time.
 */
import http from 'node:http';
import https from 'node:https';
import { AttemptAbandoned, sendAttempt } from './attempt.js';
import { afterAttempt, type AttemptResult } from './retry-policy.js';
import { signedHeaders } from './signature.js';
import type { QueueClaim, QueueHead, WebhookStore } from './store.js';
import { signingSecrets, type Subscription } from './subscription.js';
import { TargetRefused, checkTarget, targetOrigin, type HostResolver } from './target.js';
import { WakeUp } from './wake-up.js';

/** What the webhooks tell the gateway's metrics. */
export interface WebhookObserver {
  /** An attempt ended: how, and how long it took (seconds). */
  attempted(outcome: AttemptResult['kind'], seconds: number): void;
  /** A delivery's state after an attempt: delivered, retrying, failed (dead-lettered) or disabled (410). */
  settled(outcome: 'delivered' | 'retrying' | 'failed' | 'disabled'): void;
}

/** The lines the webhooks log (pino's logger is one). */
export interface WebhookLog {
  info(fields: object, message: string): void;
  warn(fields: object, message: string): void;
}

export interface DispatcherOptions {
  store: WebhookStore;
  maxConcurrent: number;
  timeoutMs: number;
  /** The waits after each failed attempt; when they are spent, the delivery is dead-lettered. */
  retrySchedule: readonly number[];
  allowPrivate: boolean;
  /** How long a claim lasts unrenewed (renewed three times within it while a queue is worked). */
  leaseMs: number;
  log: WebhookLog;
  observer?: WebhookObserver | undefined;
  resolve?: HostResolver | undefined;
  userAgent: string;
}

/** Messages sent from one queue before its claim is handed back, so that one busy subscription cannot keep a worker. */
const runLength = 50;

export class WebhookDispatcher {
  private running = false;
  private loop: Promise<void> | undefined;
  private readonly working = new Map<string, Promise<void>>();
  private readonly stopping = new AbortController();
  private readonly taskEnded = new WakeUp();
  private readonly agents = { http: new http.Agent({ keepAlive: true, maxSockets: 4 }), https: new https.Agent({ keepAlive: true, maxSockets: 4 }) };
  /** The longest the loop sleeps before it looks at the queues again: a dead replica's claims expire meanwhile. */
  private readonly pollMs: number;

  constructor(private readonly options: DispatcherOptions) {
    if (!Number.isInteger(options.maxConcurrent) || options.maxConcurrent < 1) throw new RangeError('maxConcurrent must be a positive integer');
    if (!(options.timeoutMs > 0)) throw new RangeError('timeoutMs must be positive');
    if (options.retrySchedule.some((ms) => !(ms >= 0))) throw new RangeError('a retry schedule holds waits of 0 ms or more');
    this.pollMs = Math.min(1000, Math.max(50, Math.floor(options.leaseMs / 2)));
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    this.stopping.abort();
    this.taskEnded.wake();
    await this.loop;
    await Promise.all(this.working.values());
    this.agents.http.destroy();
    this.agents.https.destroy();
  }

  private async run(): Promise<void> {
    const { store, log } = this.options;
    let failures = 0;
    while (this.running) {
      let waitMs = this.pollMs;
      try {
        if (await this.claimDue()) continue;
        const next = await store.nextDueAt();
        if (next !== undefined && next > Date.now()) waitMs = Math.min(next - Date.now(), this.pollMs);
        failures = 0;
      } catch (error) {
        // The store is away (Redis down): look again soon, without a line per try.
        if (failures++ === 0) log.warn({ reason: (error as Error).message }, 'webhook deliveries wait: their store cannot be reached');
      }
      if (!this.running) break;
      await Promise.race([store.waitForWork(waitMs), this.taskEnded.wait(waitMs)]);
    }
  }

  /** Claims what is due while there is room; whether any queue was taken. */
  private async claimDue(): Promise<boolean> {
    const { store, maxConcurrent } = this.options;
    if (this.working.size >= maxConcurrent) return false;
    const due = await store.dueQueues(Date.now(), maxConcurrent + this.working.size);
    let claimed = false;
    for (const id of due) {
      if (this.working.size >= maxConcurrent || !this.running) break;
      if (this.working.has(id)) continue;
      const claim = await store.claimQueue(id);
      if (!claim) continue;
      claimed = true;
      this.working.set(
        id,
        this.work(claim).finally(() => {
          this.working.delete(id);
          this.taskEnded.wake();
        }),
      );
    }
    return claimed;
  }

  private async work(claim: QueueClaim): Promise<void> {
    const { store, log, leaseMs } = this.options;
    const lost = new AbortController();
    const renewal = setInterval(() => {
      store.keepQueue(claim).then(
        (kept) => kept || lost.abort(),
        () => undefined,
      );
    }, Math.max(10, Math.floor(leaseMs / 3)));
    const signal = AbortSignal.any([this.stopping.signal, lost.signal]);
    try {
      for (let sent = 0; sent < runLength; sent++) {
        if (signal.aborted) return;
        const subscription = await store.subscription(claim.subscriptionId);
        if (!subscription?.enabled) {
          await store.park(claim);
          return;
        }
        const head = await store.head(claim);
        if (!head) return;
        const dueAt = head.delivery.nextAttemptAt ?? Date.now();
        if (dueAt > Date.now()) {
          await store.postpone(claim, dueAt);
          return;
        }
        if (!(await this.deliver(claim, subscription, head, signal))) return;
      }
      await store.postpone(claim, Date.now());
    } catch (error) {
      if (!(error instanceof AttemptAbandoned)) log.warn({ webhook: claim.subscriptionId, reason: (error as Error).message }, 'a webhook queue could not be worked; it is taken up again later');
    } finally {
      clearInterval(renewal);
      await store.releaseQueue(claim).catch(() => undefined);
    }
  }

  /** One attempt at the head, recorded; whether the queue may go on to its next message. */
  private async deliver(claim: QueueClaim, subscription: Subscription, head: QueueHead, signal: AbortSignal): Promise<boolean> {
    const { store, log, observer } = this.options;
    const started = performance.now();
    const result = await this.attempt(subscription, head, signal);
    observer?.attempted(result.kind, (performance.now() - started) / 1000);
    const delivery = afterAttempt(head.delivery, result, this.options.retrySchedule, Date.now());
    if (!(await store.settle(claim, head, delivery))) return false;
    const fields = { webhook: subscription.id, delivery: delivery.id, target: targetOrigin(subscription.url), attempts: delivery.attempts };
    if (result.kind === 'gone') {
      observer?.settled('disabled');
      const latest = await store.subscription(subscription.id);
      if (latest) await store.replaceSubscription({ ...latest, enabled: false, disabledReason: 'gone', updatedAt: Date.now() });
      log.warn(fields, 'a webhook endpoint answered 410 Gone: its subscription is turned off');
      return false;
    }
    observer?.settled(delivery.status === 'pending' ? 'retrying' : delivery.status);
    if (delivery.status === 'failed') log.warn({ ...fields, reason: delivery.lastError }, 'a webhook delivery failed its last attempt: dead-lettered');
    return delivery.status === 'delivered' || delivery.status === 'failed';
  }

  private async attempt(subscription: Subscription, head: QueueHead, signal: AbortSignal): Promise<AttemptResult> {
    let target;
    try {
      // Checked again at every attempt: the name may resolve elsewhere since the URL was accepted.
      target = await checkTarget(subscription.url, { allowPrivate: this.options.allowPrivate, resolve: this.options.resolve });
    } catch (error) {
      if (error instanceof TargetRefused) return { kind: 'failed', responseStatus: null, error: error.message.slice(0, 300) };
      throw error;
    }
    const now = Date.now();
    const headers = signedHeaders(signingSecrets(subscription, now), head.delivery.messageId, Math.floor(now / 1000), head.body);
    return sendAttempt(target, headers, head.body, { timeoutMs: this.options.timeoutMs, signal, agents: this.agents, userAgent: this.options.userAgent });
  }
}
