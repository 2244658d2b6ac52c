import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ChunkPool, giveBack } from '../../src/audio/chunk-pool.js';

describe('ChunkPool', () => {
  test('a lent chunk given back makes its whole buffer the next one taken', () => {
    const pool = new ChunkPool();
    const buffer = pool.take(1024);
    assert.equal(buffer.length, 1024);
    buffer.fill(7, 0, 100);
    const chunk = pool.lend(buffer, 10, 100);
    assert.equal(chunk.length, 90);
    assert.equal(chunk.buffer, buffer.buffer);
    assert.equal(chunk.byteOffset, buffer.byteOffset + 10);
    giveBack(chunk);
    const again = pool.take(1024);
    assert.equal(again.buffer, buffer.buffer);
    assert.equal(again.length, 1024);
    assert.notEqual(pool.take(1024).buffer, buffer.buffer, 'taken once only');
  });

  test('only a chunk of exactly the bytes lent brings its buffer back: copies, parts and strangers do not', () => {
    const pool = new ChunkPool();
    const buffer = pool.take(64);
    const chunk = pool.lend(buffer, 0, 64);
    giveBack(Buffer.from(chunk));
    giveBack(chunk.subarray(0, 32));
    giveBack(chunk.subarray(32));
    giveBack(new Uint8Array(64));
    giveBack(Buffer.allocUnsafeSlow(64));
    assert.notEqual(pool.take(64).buffer, buffer.buffer);
  });

  test('a chunk given back twice is reused once', () => {
    const pool = new ChunkPool();
    const buffer = pool.take(64);
    const chunk = pool.lend(buffer, 0, 64);
    giveBack(chunk);
    giveBack(chunk);
    const first = pool.take(64);
    const second = pool.take(64);
    assert.equal(first.buffer, buffer.buffer);
    assert.notEqual(second.buffer, buffer.buffer);
  });

  test('sizes are kept apart, and a chunk goes back to the pool that lent it', () => {
    const a = new ChunkPool();
    const b = new ChunkPool();
    const small = a.take(16);
    const large = a.take(32);
    giveBack(a.lend(small, 0, 16));
    giveBack(a.lend(large, 0, 32));
    assert.equal(a.take(32).buffer, large.buffer);
    assert.equal(a.take(16).buffer, small.buffer);
    const fromB = b.take(16);
    giveBack(b.lend(fromB, 0, 8));
    assert.notEqual(a.take(16).buffer, fromB.buffer);
    assert.equal(b.take(16).buffer, fromB.buffer);
  });

  test('at most maxFree buffers of a size are kept', () => {
    const pool = new ChunkPool(2);
    const buffers = [pool.take(8), pool.take(8), pool.take(8)];
    for (const buffer of buffers) pool.putBack(buffer);
    const taken = new Set([pool.take(8), pool.take(8), pool.take(8)]);
    assert.equal([...taken].filter((b) => buffers.includes(b)).length, 2);
  });
});
