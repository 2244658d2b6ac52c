import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { DeadlineTimer } from '../../src/core/deadline-timer.js';

test('runs once by the earliest deadline asked for; a later deadline does not move it, an earlier one does', async () => {
  const fired: number[] = [];
  const start = performance.now();
  const timer = new DeadlineTimer(() => fired.push(performance.now() - start));
  timer.by(start + 200);
  timer.by(start + 400); // later: stays due at 200
  timer.by(start + 60); // earlier: brought forward
  await sleep(300);
  assert.equal(fired.length, 1);
  assert.ok(fired[0]! >= 55 && fired[0]! < 190, `fired after ${fired[0]!.toFixed(0)} ms`);
});

test('cancel stops it; asking again afterwards arms it anew', async () => {
  let fired = 0;
  const timer = new DeadlineTimer(() => fired++);
  timer.by(performance.now() + 30);
  timer.cancel();
  await sleep(80);
  assert.equal(fired, 0);
  timer.by(performance.now() + 10);
  await sleep(80);
  assert.equal(fired, 1);
});
