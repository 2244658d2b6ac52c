/** The bound on concurrent ffmpeg processes: taken, refused, given back. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { TranscodeSlots } from '../../src/media/transcode-slots.js';

describe('TranscodeSlots', () => {
  test('hands out up to max slots, then refuses', () => {
    const slots = new TranscodeSlots(2);
    const first = slots.tryAcquire();
    const second = slots.tryAcquire();
    assert.equal(typeof first, 'function');
    assert.equal(typeof second, 'function');
    assert.equal(slots.active, 2);
    assert.equal(slots.tryAcquire(), undefined);
    assert.equal(slots.active, 2);
  });

  test('a release frees a slot for the next caller', () => {
    const slots = new TranscodeSlots(1);
    const release = slots.tryAcquire();
    assert.ok(release);
    assert.equal(slots.tryAcquire(), undefined);
    release();
    assert.equal(slots.active, 0);
    assert.ok(slots.tryAcquire());
    assert.equal(slots.active, 1);
  });

  test('releasing twice frees one slot only', () => {
    const slots = new TranscodeSlots(2);
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
    assert.equal(new TranscodeSlots(0).tryAcquire(), undefined);
    assert.throws(() => new TranscodeSlots(-1), RangeError);
    assert.throws(() => new TranscodeSlots(1.5), RangeError);
  });
});

test('one owner holds at most its share; others still get the rest', () => {
  const slots = new TranscodeSlots(3, 2);
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
  assert.throws(() => new TranscodeSlots(3, -1), RangeError);
});
