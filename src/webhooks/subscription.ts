/**
 * What a webhook subscription and a delivery are, the bounds they are kept within, and the secrets
 * that sign deliveries (Standard Webhooks: `whsec_` and the base64 of the key).
 */
import { randomBytes } from 'node:crypto';
import { eventSpecs } from '../protocol/events.js';
import { subscriptionGapType } from '../core/events.js';

/** Subscriptions a gateway keeps at most: each costs a queue and a worker's share of attempts. */
export const maxSubscriptions = 100;
export const maxUrlLength = 2048;
export const maxDescriptionLength = 500;
/** The longest device filter: what the event port takes as a device. */
export const maxDeviceIdLength = 64;
/** Deliveries waiting in one subscription's queue at most; past it new ones are dead-lettered at once. */
export const defaultMaxQueued = 10_000;
/** Delivered deliveries kept per subscription for the list, newest first. */
export const keptDelivered = 100;
/** Dead-lettered deliveries kept per subscription (to be seen and redelivered). */
export const keptFailed = 1000;
/** Random bytes of a secret: Standard Webhooks asks for 24 to 64. */
const secretBytes = 24;
const secretPrefix = 'whsec_';

/** The event types a subscription may name: the catalog's, and the test event of the API. */
export const webhookTestType = 'webhook.test';
export const subscribableEventTypes: readonly string[] = eventSpecs.map((spec) => spec.type);

export type DisabledReason = 'gone' | 'admin';

/** A secret that signed before the current one, and until when it still does (a rotation's overlap). */
export interface RetiringSecret {
  secret: string;
  expiresAt: number;
}

export interface Subscription {
  id: string;
  url: string;
  /** Empty: every event type. */
  eventTypes: string[];
  deviceId: string | null;
  description: string;
  enabled: boolean;
  /** Why it is disabled: the endpoint answered 410 Gone, or an administrator turned it off. */
  disabledReason: DisabledReason | null;
  createdAt: number;
  updatedAt: number;
  secret: string;
  previousSecrets: RetiringSecret[];
}

export type DeliveryStatus = 'pending' | 'retrying' | 'delivered' | 'failed';

/** One message to one subscription, with where its attempts stand. Times are ms since the epoch. */
export interface Delivery {
  id: string;
  subscriptionId: string;
  /** `webhook-id`: the same on every attempt and redelivery of the message. */
  messageId: string;
  /** The event's id in the log; null for a test event. */
  eventId: number | null;
  eventType: string;
  status: DeliveryStatus;
  attempts: number;
  /** The HTTP status of the last attempt that got an answer. */
  responseStatus: number | null;
  /** Why the last attempt failed, short and without secrets. */
  lastError: string | null;
  /** When the next attempt is due; null once the delivery is finished. */
  nextAttemptAt: number | null;
  createdAt: number;
  updatedAt: number;
}

/** A delivery as it is queued, with the body every attempt sends. */
export interface QueuedMessage {
  delivery: Delivery;
  body: string;
}

/** A new subscription, on unless said otherwise, with a new secret. */
export function newSubscription(fields: Pick<Subscription, 'url' | 'eventTypes' | 'deviceId' | 'description'> & { enabled?: boolean }, now: number): Subscription {
  const enabled = fields.enabled ?? true;
  return {
    id: newSubscriptionId(),
    ...fields,
    enabled,
    disabledReason: enabled ? null : 'admin',
    createdAt: now,
    updatedAt: now,
    secret: newSecret(),
    previousSecrets: [],
  };
}

export function newSubscriptionId(): string {
  return `wh_${randomBytes(12).toString('base64url')}`;
}

export function newDeliveryId(): string {
  return `dlv_${randomBytes(12).toString('base64url')}`;
}

export const subscriptionIdPattern = '^wh_[A-Za-z0-9_-]{16}$';
export const deliveryIdPattern = '^dlv_[A-Za-z0-9_-]{16}$';

export function newSecret(): string {
  return `${secretPrefix}${randomBytes(secretBytes).toString('base64')}`;
}

/** The key a secret stands for: the base64 after `whsec_`. */
export function secretKey(secret: string): Buffer {
  return Buffer.from(secret.startsWith(secretPrefix) ? secret.slice(secretPrefix.length) : secret, 'base64');
}

/** The secrets that sign now: the current one first, then those of a rotation still within their overlap. */
export function signingSecrets(subscription: Subscription, now: number): string[] {
  return [subscription.secret, ...subscription.previousSecrets.filter((s) => s.expiresAt > now).map((s) => s.secret)];
}

/**
 * A new secret; the current one keeps signing for `overlapMs`, so receivers can switch to the new
 * one without losing a delivery. Retired secrets past their overlap are dropped.
 */
export function rotated(subscription: Subscription, now: number, overlapMs: number): Subscription {
  const previous = [{ secret: subscription.secret, expiresAt: now + overlapMs }, ...subscription.previousSecrets.filter((s) => s.expiresAt > now)];
  // Rotated again and again within one overlap: the newest few are enough, and a header stays short.
  return { ...subscription, secret: newSecret(), previousSecrets: previous.slice(0, 3), updatedAt: now };
}

/** Whether an event record goes to a subscription: a gap always does, since every receiver must reconcile. */
export function wants(subscription: Subscription, record: { type: string; deviceId: string }): boolean {
  if (record.type === subscriptionGapType) return true;
  if (subscription.eventTypes.length > 0 && !subscription.eventTypes.includes(record.type)) return false;
  return subscription.deviceId === null || subscription.deviceId === record.deviceId;
}

/** A delivery's first state, due at once. */
export function newDelivery(subscriptionId: string, message: { messageId: string; eventId: number | null; eventType: string }, now: number): Delivery {
  return {
    id: newDeliveryId(),
    subscriptionId,
    ...message,
    status: 'pending',
    attempts: 0,
    responseStatus: null,
    lastError: null,
    nextAttemptAt: now,
    createdAt: now,
    updatedAt: now,
  };
}

/** The `webhook-id` of an event of the log: stable across retries, redeliveries and replicas. */
export function eventMessageId(eventId: number): string {
  return `msg_${eventId}`;
}

/** Whether a delivery still waits in its queue. */
export function isQueued(status: DeliveryStatus): boolean {
  return status === 'pending' || status === 'retrying';
}

/** A delivery that found its queue full: dead-lettered at once, to be seen (and redelivered), never dropped unseen. */
export function overflowed(delivery: Delivery, maxQueued: number): Delivery {
  return {
    ...delivery,
    status: 'failed',
    nextAttemptAt: null,
    lastError: `the subscription's queue held ${maxQueued} deliveries already: dead-lettered without an attempt`,
  };
}
