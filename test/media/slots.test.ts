/** The bound on concurrent work (transcodes, exports): taken, refused, waited for, given back. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Slots } from '../../src/media/slots.js';

describe('Slots', () => {
  test('hands out up to max slots, then refuses', () => {
    const slots = new Slots(2);
    const first = slots.tryAcquire();
    const second = slots.tryAcquire();
    assert.equal(typeof first, 'function');
    assert.equal(typeof second, 'function');
    assert.equal(slots.active, 2);
    assert.equal(slots.tryAcquire(), undefined);
    assert.equal(slots.active, 2);
  });

  test('a release frees a slot for the next caller', () => {
    const slots = new Slots(1);
    const release = slots.tryAcquire();
    assert.ok(release);
    assert.equal(slots.tryAcquire(), undefined);
    release();
    assert.equal(slots.active, 0);
    assert.ok(slots.tryAcquire());
    assert.equal(slots.active, 1);
  });

  test('releasing twice frees one slot only', () => {
    const slots = new Slots(2);
    const first = slots.tryAcquire();
    const second = slots.tryAcquire();
    assert.ok(first && second);
    first();
    first();
    assert.equal(slots.active, 1);
    assert.ok(slots.tryAcquire());
    assert.equal(slots.tryAcquire(), undefined);
    second();
    assert.equal(slots.active, 1);
  });

  test('zero slots refuse everything; a bad bound is refused at construction', () => {
    assert.equal(new Slots(0).tryAcquire(), undefined);
    assert.throws(() => new Slots(-1), RangeError);
    assert.throws(() => new Slots(1.5), RangeError);
  });
});

test('one owner holds at most its share; others still get the rest', () => {
  const slots = new Slots(3, 2);
  const a1 = slots.tryAcquire('key:a');
  const a2 = slots.tryAcquire('key:a');
  assert.ok(a1 && a2);
  assert.equal(slots.tryAcquire('key:a'), undefined, 'past its share');
  const b = slots.tryAcquire('key:b');
  assert.ok(b);
  assert.equal(slots.tryAcquire('key:c'), undefined, 'all taken');
  a1();
  a1();
  assert.ok(slots.tryAcquire('key:c'), 'a released slot is free again, once');
  assert.equal(slots.active, 3);
  assert.throws(() => new Slots(3, -1), RangeError);
});

describe('waiting for a slot', () => {
  test('a caller past the bound waits, and gets the first slot freed, in order', async () => {
    const slots = new Slots({ max: 1, waitMs: 5000 });
    const first = slots.tryAcquire('a')!;
    const order: string[] = [];
    const second = slots.acquire('b').then((release) => (order.push('b'), release));
    const third = slots.acquire('c').then((release) => (order.push('c'), release));
    assert.equal(slots.waiting, 2);
    first();
    const b = await second;
    assert.ok(b, 'b got the freed slot');
    assert.equal(slots.active, 1);
    b!();
    const c = await third;
    assert.ok(c);
    assert.deepEqual(order, ['b', 'c']);
    c!();
    assert.equal(slots.active, 0);
  });

  test('the wait is short and bounded: refused after waitMs, and at once past maxWaiting', async () => {
    const slots = new Slots({ max: 1, waitMs: 50, maxWaiting: 1 });
    const held = slots.tryAcquire('a')!;
    const started = performance.now();
    const waited = slots.acquire('b');
    assert.equal(await slots.acquire('c'), undefined, 'nobody more may wait');
    assert.equal(await waited, undefined);
    assert.ok(performance.now() - started >= 45);
    assert.equal(slots.waiting, 0);
    held();
    assert.equal(slots.active, 0, 'a wait that ended gave no slot away');
  });

  test('an owner past its share is refused at once; a caller that goes away stops waiting', async () => {
    const slots = new Slots({ max: 2, maxPerOwner: 1, waitMs: 5000 });
    const a = slots.tryAcquire('a')!;
    assert.equal(slots.refusal('a'), 'owner');
    assert.equal(await slots.acquire('a'), undefined);
    const b = slots.tryAcquire('b')!;
    assert.equal(slots.refusal('c'), 'full');
    const gone = new AbortController();
    const waiting = slots.acquire('c', gone.signal);
    gone.abort();
    assert.equal(await waiting, undefined);
    assert.equal(slots.waiting, 0);
    a();
    b();
  });

  test('a freed slot skips a waiter whose owner holds its share', async () => {
    const slots = new Slots({ max: 2, maxPerOwner: 1, waitMs: 5000 });
    const a = slots.tryAcquire('a')!;
    const b = slots.tryAcquire('b')!;
    const fromB = slots.acquire('b');
    assert.equal(await fromB, undefined, "b holds its share: it does not wait for another's slot");
    const fromC = slots.acquire('c');
    a();
    const c = await fromC;
    assert.ok(c);
    b();
    c!();
  });
});
