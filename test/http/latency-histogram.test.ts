/** The request path's histogram must expose exactly what prom-client's own Histogram would. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import client from 'prom-client';
import { LatencyHistogram } from '../../src/http/ops/latency-histogram.js';

test('exposes the same text as a prom-client Histogram fed the same observations', async () => {
  const bounds = [0.001, 0.01, 0.1, 1];
  const ours = new client.Registry();
  const theirs = new client.Registry();
  const mine = new LatencyHistogram('latency_seconds', 'Latency.', bounds, ours);
  const reference = new client.Histogram({ name: 'latency_seconds', help: 'Latency.', labelNames: ['type'], buckets: bounds, registers: [theirs] });
  const observations: [string, number][] = [['TEST', 0.0005], ['TEST', 0.001], ['TEST', 0.05], ['CALLSTART', 3], ['CALLSTART', 0.01], ['TEST', 0.2]];
  const children = new Map([['TEST', mine.labels({ type: 'TEST' })], ['CALLSTART', mine.labels({ type: 'CALLSTART' })]]);
  for (const [type, seconds] of observations) {
    children.get(type)!.observe(seconds);
    reference.observe({ type }, seconds);
  }
  assert.equal(await ours.metrics(), await theirs.metrics());
  assert.match(await ours.metrics(), /latency_seconds_bucket\{le="0.01",type="TEST"\} 2/);
  mine.reset();
  reference.reset();
  assert.doesNotMatch(await ours.metrics(), /_count\{type="TEST"\} [1-9]/);
});

test('refuses bounds that do not increase', () => {
  assert.throws(() => new LatencyHistogram('x_seconds', 'x', [0.1, 0.1], new client.Registry()), RangeError);
});
