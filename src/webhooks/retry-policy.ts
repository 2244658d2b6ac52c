/**
 * What an attempt's answer means for its delivery: delivered on a 2xx; on anything else another
 * attempt after the next step of the schedule (or when a 429 or 503 says with Retry-After), until
 * the schedule is spent and the delivery is dead-lettered; a 410 Gone turns the subscription off.
 */
import type { Delivery } from './subscription.js';

/** Standard Webhooks' suggested schedule: the waits after the first, second... failed attempt. */
export const defaultRetrySchedule = '5s,5m,30m,2h,5h,10h,10h';

/** The longest a Retry-After is waited: a receiver cannot park a delivery for days by saying so. */
export const retryAfterCapMs = 3_600_000;

export interface AttemptResult {
  /** delivered: 2xx; gone: 410; throttled: 429 or 503 with a Retry-After; failed: anything else. */
  kind: 'delivered' | 'failed' | 'gone' | 'throttled';
  /** The answer's HTTP status; null when none came (refused, timed out, unreachable). */
  responseStatus: number | null;
  /** With throttled: when the receiver asked to be called again. */
  retryAfterMs?: number;
  /** Why it failed, short and without secrets; null when delivered. */
  error: string | null;
}

/** A Retry-After header as a wait in ms (delta-seconds or an HTTP date); undefined when absent or unreadable. */
export function retryAfterMs(value: string | undefined, now: number): number | undefined {
  if (value === undefined) return undefined;
  const text = value.trim();
  if (/^[0-9]{1,10}$/.test(text)) return Number(text) * 1000;
  const at = Date.parse(text);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/** The delivery after an attempt with this result, made at `now`. */
export function afterAttempt(delivery: Delivery, result: AttemptResult, schedule: readonly number[], now: number): Delivery {
  const attempts = delivery.attempts + 1;
  const common = { ...delivery, attempts, responseStatus: result.responseStatus ?? delivery.responseStatus, updatedAt: now };
  if (result.kind === 'delivered') return { ...common, status: 'delivered', lastError: null, nextAttemptAt: null };
  // The message stays at the head of its queue: if the subscription is turned on again, it goes first.
  if (result.kind === 'gone') return { ...common, status: 'retrying', lastError: result.error, nextAttemptAt: now };
  if (attempts > schedule.length) return { ...common, status: 'failed', lastError: result.error, nextAttemptAt: null };
  const wait = result.kind === 'throttled' && result.retryAfterMs !== undefined ? Math.min(result.retryAfterMs, retryAfterCapMs) : schedule[attempts - 1]!;
  return { ...common, status: 'retrying', lastError: result.error, nextAttemptAt: now + wait };
}
