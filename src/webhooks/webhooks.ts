/**
 * The webhooks room (ARCHITECTURE.md: webhooks/): subscriptions to the core's events, and their
 * signed deliveries, retried on a schedule, in order per subscription, at least once. It reads the
 * event log (core/'s EventLogReader: the gateway's own feed, or the log the replicas share), keeps
 * its state in a WebhookStore (Redis through cluster/, or a SQLite file of its own), and calls the
 * receivers' URLs over HTTP as a client. It never imports http/: the REST routes of
 * http/webhooks adapt this class, so the rules (the URL rule, the bounds, the secrets) exist here
 * once.
 */
import { randomBytes } from 'node:crypto';
import type { EventLogReader } from '../core/event-feed.js';
import { WebhookDispatcher, type WebhookLog, type WebhookObserver } from './dispatcher.js';
import { WebhookFanOut } from './fan-out.js';
import type { WebhookStore } from './store.js';
import {
  isQueued,
  maxDescriptionLength,
  maxDeviceIdLength,
  maxSubscriptions,
  newDelivery,
  newSubscription,
  rotated,
  subscribableEventTypes,
  webhookTestType,
  type Delivery,
  type DeliveryStatus,
  type Subscription,
} from './subscription.js';
import { TargetRefused, checkTarget, type HostResolver } from './target.js';

export interface WebhookSettings {
  /** WEBHOOK_ALLOW_PRIVATE: loopback, private and link-local targets are allowed too. */
  allowPrivate: boolean;
  /** WEBHOOK_TIMEOUT_MS: time an attempt has to be answered. */
  timeoutMs: number;
  /** WEBHOOK_RETRY_SCHEDULE: the waits after each failed attempt. */
  retrySchedule: readonly number[];
  /** WEBHOOK_MAX_CONCURRENT: attempts at once on this replica. */
  maxConcurrent: number;
  /** WEBHOOK_SECRET_OVERLAP_MS: how long a rotated secret still signs. */
  secretOverlapMs: number;
  /** WEBHOOK_LEASE_MS: how long a replica's claim on a queue, or on the fan-out, lasts unrenewed. */
  leaseMs: number;
}

export interface WebhooksOptions {
  store: WebhookStore;
  /** The event log the fan-out follows. */
  reader: EventLogReader;
  /** The log is this process's own memory, which a restart empties (no Redis): see FanOutOptions. */
  readerForgetsAtRestart?: boolean | undefined;
  settings: WebhookSettings;
  log: WebhookLog;
  observer?: WebhookObserver | undefined;
  /** Resolves target hosts (tests); by default the system's resolver. */
  resolve?: HostResolver | undefined;
  /**
   * Called when there is a subscription (at start, or when the first is made): the gateway's own
   * event subscription must then run even with no live listener, or nothing reaches the log.
   */
  onSubscribed?: (() => void) | undefined;
  userAgent?: string;
}

export type WebhookProblem = 'not-found' | 'invalid' | 'target-refused' | 'limit' | 'conflict';

/** A refusal with what kind it is, for the surface to answer (404, 400, 422, 409...). */
export class WebhookError extends Error {
  override name = 'WebhookError';
  constructor(
    readonly kind: WebhookProblem,
    message: string,
  ) {
    super(message);
  }
}

/** What a subscription says of itself to an administrator: everything but its secrets, times in ISO-8601. */
export interface SubscriptionView extends Omit<Subscription, 'secret' | 'previousSecrets' | 'createdAt' | 'updatedAt'> {
  createdAt: string;
  updatedAt: string;
  /** When the secret before the current one stops signing; null when none does. */
  previousSecretExpiresAt: string | null;
}

export interface DeliveryView {
  id: string;
  eventId: number | null;
  eventType: string;
  webhookId: string;
  status: DeliveryStatus;
  attempts: number;
  responseStatus: number | null;
  lastError: string | null;
  nextAttemptAt: string | null;
  createdAt: string;
  updatedAt: string;
}

export interface SubscriptionInput {
  url: string;
  eventTypes?: string[] | undefined;
  deviceId?: string | null | undefined;
  description?: string | undefined;
  enabled?: boolean | undefined;
}

const iso = (ms: number): string => new Date(ms).toISOString();

export function subscriptionView(subscription: Subscription, now = Date.now()): SubscriptionView {
  const previous = subscription.previousSecrets.filter((s) => s.expiresAt > now).map((s) => s.expiresAt);
  return {
    id: subscription.id,
    url: subscription.url,
    eventTypes: subscription.eventTypes,
    deviceId: subscription.deviceId,
    description: subscription.description,
    enabled: subscription.enabled,
    disabledReason: subscription.disabledReason,
    createdAt: iso(subscription.createdAt),
    updatedAt: iso(subscription.updatedAt),
    previousSecretExpiresAt: previous.length > 0 ? iso(Math.max(...previous)) : null,
  };
}

export function deliveryView(delivery: Delivery): DeliveryView {
  return {
    id: delivery.id,
    eventId: delivery.eventId,
    eventType: delivery.eventType,
    webhookId: delivery.messageId,
    status: delivery.status,
    attempts: delivery.attempts,
    responseStatus: delivery.responseStatus,
    lastError: delivery.lastError,
    nextAttemptAt: delivery.nextAttemptAt === null ? null : iso(delivery.nextAttemptAt),
    createdAt: iso(delivery.createdAt),
    updatedAt: iso(delivery.updatedAt),
  };
}

function eventTypesOf(given: readonly string[] | undefined): string[] {
  const types = [...new Set(given ?? [])];
  const unknown = types.filter((type) => !subscribableEventTypes.includes(type));
  if (unknown.length > 0) throw new WebhookError('invalid', `${unknown.join(', ')} is not an event type; the types are ${subscribableEventTypes.join(', ')}.`);
  return types;
}

function deviceIdOf(given: string | null | undefined): string | null {
  if (given === undefined || given === null) return null;
  if (given === '' || given.length > maxDeviceIdLength) throw new WebhookError('invalid', `deviceId must be 1 to ${maxDeviceIdLength} characters.`);
  return given;
}

function descriptionOf(given: string | undefined): string {
  if ((given ?? '').length > maxDescriptionLength) throw new WebhookError('invalid', `description must be at most ${maxDescriptionLength} characters.`);
  return given ?? '';
}

export class Webhooks {
  private readonly dispatcher: WebhookDispatcher;
  private readonly fanOut: WebhookFanOut;
  private readonly store: WebhookStore;
  private readonly settings: WebhookSettings;

  constructor(private readonly options: WebhooksOptions) {
    this.store = options.store;
    this.settings = options.settings;
    this.dispatcher = new WebhookDispatcher({
      store: options.store,
      ...options.settings,
      log: options.log,
      observer: options.observer,
      resolve: options.resolve,
      userAgent: options.userAgent ?? 'uptivity-gateway-webhooks',
    });
    this.fanOut = new WebhookFanOut({
      store: options.store,
      reader: options.reader,
      leaseMs: options.settings.leaseMs,
      log: options.log,
      forgetsAtRestart: options.readerForgetsAtRestart,
    });
  }

  async start(): Promise<void> {
    this.fanOut.start();
    this.dispatcher.start();
    // The store may be away at start (Redis down): the event subscription then starts with the first subscription made.
    if ((await this.store.subscriptions().catch(() => [])).length > 0) this.options.onSubscribed?.();
  }

  /** Stops fanning out, abandons the attempts in flight (for another replica, or the next start), and closes the store. */
  async stop(): Promise<void> {
    await Promise.all([this.fanOut.stop(), this.dispatcher.stop()]);
    await this.store.close();
  }

  pendingCount(): Promise<number> {
    return this.store.pendingCount();
  }

  private async checkedUrl(url: string): Promise<string> {
    try {
      await checkTarget(url, { allowPrivate: this.settings.allowPrivate, resolve: this.options.resolve });
    } catch (error) {
      if (error instanceof TargetRefused) throw new WebhookError('target-refused', `The URL is refused: ${error.message}.`);
      throw error;
    }
    return url;
  }

  private async kept(id: string): Promise<Subscription> {
    const subscription = await this.store.subscription(id);
    if (!subscription) throw new WebhookError('not-found', `No webhook ${id}.`);
    return subscription;
  }

  /** A new subscription and its secret, which is shown this once. */
  async create(input: SubscriptionInput): Promise<{ webhook: SubscriptionView; secret: string }> {
    const now = Date.now();
    const subscription = newSubscription(
      {
        url: await this.checkedUrl(input.url),
        eventTypes: eventTypesOf(input.eventTypes),
        deviceId: deviceIdOf(input.deviceId),
        description: descriptionOf(input.description),
        ...(input.enabled !== undefined ? { enabled: input.enabled } : {}),
      },
      now,
    );
    if (!(await this.store.addSubscription(subscription, maxSubscriptions))) {
      throw new WebhookError('limit', `A gateway keeps at most ${maxSubscriptions} webhooks; remove one first.`);
    }
    this.options.onSubscribed?.();
    return { webhook: subscriptionView(subscription, now), secret: subscription.secret };
  }

  async list(): Promise<SubscriptionView[]> {
    const now = Date.now();
    return (await this.store.subscriptions()).map((s) => subscriptionView(s, now));
  }

  async get(id: string): Promise<SubscriptionView> {
    return subscriptionView(await this.kept(id));
  }

  /** Changes what is given; turned on, a subscription's waiting deliveries go out again, in order. */
  async update(id: string, patch: Partial<SubscriptionInput>): Promise<SubscriptionView> {
    const subscription = await this.kept(id);
    const now = Date.now();
    const enabled = patch.enabled ?? subscription.enabled;
    const updated: Subscription = {
      ...subscription,
      ...(patch.url !== undefined ? { url: await this.checkedUrl(patch.url) } : {}),
      ...(patch.eventTypes !== undefined ? { eventTypes: eventTypesOf(patch.eventTypes) } : {}),
      ...(patch.deviceId !== undefined ? { deviceId: deviceIdOf(patch.deviceId) } : {}),
      ...(patch.description !== undefined ? { description: descriptionOf(patch.description) } : {}),
      enabled,
      disabledReason: enabled ? null : patch.enabled === false ? 'admin' : subscription.disabledReason,
      updatedAt: now,
    };
    if (!(await this.store.replaceSubscription(updated))) throw new WebhookError('not-found', `No webhook ${id}.`);
    return subscriptionView(updated, now);
  }

  async remove(id: string): Promise<void> {
    if (!(await this.store.removeSubscription(id))) throw new WebhookError('not-found', `No webhook ${id}.`);
  }

  /** A new secret, shown this once; the one it replaces goes on signing for WEBHOOK_SECRET_OVERLAP_MS. */
  async rotateSecret(id: string): Promise<{ webhook: SubscriptionView; secret: string }> {
    const now = Date.now();
    const updated = rotated(await this.kept(id), now, this.settings.secretOverlapMs);
    if (!(await this.store.replaceSubscription(updated))) throw new WebhookError('not-found', `No webhook ${id}.`);
    return { webhook: subscriptionView(updated, now), secret: updated.secret };
  }

  /** Queues a `webhook.test` event at the tail of the subscription's queue: it goes the way events go. */
  async sendTest(id: string): Promise<DeliveryView> {
    const subscription = await this.kept(id);
    if (!subscription.enabled) throw new WebhookError('conflict', `The webhook ${id} is turned off; turn it on (PATCH enabled: true) first.`);
    const now = Date.now();
    const body = JSON.stringify({
      type: webhookTestType,
      eventClass: 'WEBHOOK',
      receivedAt: iso(now),
      data: { webhookId: subscription.id, description: subscription.description },
    });
    const delivery = newDelivery(subscription.id, { messageId: `msg_test_${randomBytes(12).toString('base64url')}`, eventId: null, eventType: webhookTestType }, now);
    const [kept] = await this.store.enqueue([{ delivery, body }]);
    if (!kept) throw new WebhookError('not-found', `No webhook ${id}.`);
    return deliveryView(kept);
  }

  async deliveries(id: string, filter: { status?: DeliveryStatus | undefined; limit: number }): Promise<DeliveryView[]> {
    await this.kept(id);
    return (await this.store.deliveries(id, filter)).map(deliveryView);
  }

  /**
   * Queues a delivered or dead-lettered message again, at the tail, as a new delivery with the same
   * webhook-id (a receiver that has it already knows it by that id).
   */
  async redeliver(id: string, deliveryId: string): Promise<DeliveryView> {
    await this.kept(id);
    const message = await this.store.message(id, deliveryId);
    if (!message) throw new WebhookError('not-found', `No delivery ${deliveryId} of the webhook ${id} (only the last deliveries are kept).`);
    if (isQueued(message.delivery.status)) throw new WebhookError('conflict', `The delivery ${deliveryId} is still queued; it will be attempted.`);
    const { messageId, eventId, eventType } = message.delivery;
    const [kept] = await this.store.enqueue([{ delivery: newDelivery(id, { messageId, eventId, eventType }, Date.now()), body: message.body }]);
    if (!kept) throw new WebhookError('not-found', `No webhook ${id}.`);
    return deliveryView(kept);
  }
}
