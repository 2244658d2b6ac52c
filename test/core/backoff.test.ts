/** The reconnection delays: doubling, capped, jittered within the upper half of each step. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { backoffDelay } from '../../src/core/backoff.js';

test('steps double from initialMs up to maxMs; each delay lies in the upper half of its step', () => {
  const policy = { initialMs: 100, maxMs: 1000 };
  const steps = [100, 200, 400, 800, 1000, 1000];
  steps.forEach((step, i) => {
    assert.equal(backoffDelay(i + 1, policy, () => 0), step / 2);
    assert.equal(backoffDelay(i + 1, policy, () => 1), step);
  });
  assert.equal(backoffDelay(10_000, policy, () => 1), 1000, 'no overflow after many failures');
  assert.equal(backoffDelay(0, policy, () => 1), 100);
});
