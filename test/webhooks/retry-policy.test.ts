/**
 * What an attempt's answer does to a delivery (the schedule, Retry-After, 410, the dead letter),
 * and signatures as the standardwebhooks package verifies them, two during a rotation.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Webhook } from 'standardwebhooks';
import { afterAttempt, retryAfterCapMs, retryAfterMs, type AttemptResult } from '../../src/webhooks/retry-policy.js';
import { signedHeaders } from '../../src/webhooks/signature.js';
import { newDelivery, newSubscription, rotated, signingSecrets } from '../../src/webhooks/subscription.js';

const schedule = [5000, 300_000, 1_800_000];
const failed: AttemptResult = { kind: 'failed', responseStatus: 500, error: 'the endpoint answered 500' };

test('a failed attempt waits the next step of the schedule; past the last, the delivery is dead-lettered', () => {
  let delivery = newDelivery('wh_x', { messageId: 'msg_1', eventId: 1, eventType: 'CALLSTART' }, 0);
  const times: (number | null)[] = [];
  for (let attempt = 0; attempt < 4; attempt++) {
    delivery = afterAttempt(delivery, failed, schedule, 1_000_000);
    times.push(delivery.nextAttemptAt);
  }
  assert.deepEqual(times, [1_005_000, 1_300_000, 2_800_000, null]);
  assert.equal(delivery.status, 'failed');
  assert.equal(delivery.attempts, 4);
  assert.equal(delivery.responseStatus, 500);
});

test('Retry-After of a 429 or 503 is waited instead of the schedule, up to a cap; 410 keeps the message at the head', () => {
  const delivery = newDelivery('wh_x', { messageId: 'msg_1', eventId: 1, eventType: 'CALLSTART' }, 0);
  assert.equal(afterAttempt(delivery, { kind: 'throttled', responseStatus: 429, retryAfterMs: 2000, error: '429' }, schedule, 10).nextAttemptAt, 2010);
  assert.equal(afterAttempt(delivery, { kind: 'throttled', responseStatus: 503, retryAfterMs: 10 ** 10, error: '503' }, schedule, 10).nextAttemptAt, 10 + retryAfterCapMs);
  const gone = afterAttempt(delivery, { kind: 'gone', responseStatus: 410, error: 'gone' }, schedule, 10);
  assert.equal(gone.status, 'retrying');
  assert.equal(gone.responseStatus, 410);
  assert.equal(retryAfterMs('7', 0), 7000);
  assert.equal(retryAfterMs(new Date(60_000).toUTCString(), 0), 60_000);
  assert.equal(retryAfterMs('soon', 0), undefined);
});

test('deliveries verify with the standardwebhooks package; during a rotation with either secret', () => {
  const now = Date.now();
  const subscription = newSubscription({ url: 'https://example.com/', eventTypes: [], deviceId: null, description: '' }, now);
  assert.match(subscription.secret, /^whsec_[A-Za-z0-9+/]{32}$/);
  const body = JSON.stringify({ id: 1, type: 'CALLSTART' });
  const once = signedHeaders(signingSecrets(subscription, now), 'msg_1', Math.floor(now / 1000), body);
  assert.deepEqual(new Webhook(subscription.secret).verify(body, { ...once }), JSON.parse(body));

  const next = rotated(subscription, now, 60_000);
  const during = signedHeaders(signingSecrets(next, now + 1000), 'msg_1', Math.floor(now / 1000), body);
  assert.equal(during['webhook-signature'].split(' ').length, 2);
  for (const secret of [subscription.secret, next.secret]) assert.deepEqual(new Webhook(secret).verify(body, { ...during }), JSON.parse(body));
  const later = signedHeaders(signingSecrets(next, now + 61_000), 'msg_1', Math.floor(now / 1000), body);
  assert.equal(later['webhook-signature'].split(' ').length, 1, 'past the overlap the old secret signs no more');
  assert.throws(() => new Webhook(subscription.secret).verify(body, { ...later }));
});
