/**
 * The EventFeed without sockets: ids, the bounded buffer, resumption and gaps, listeners that fall
 * behind and catch up, and the listener bound.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { EventFeed, type EventRecord, type FeedEndReason, type FeedListener, type UpstreamState } from '../../src/core/event-feed.js';

class RecordingListener implements FeedListener {
  readonly delivered: number[] = [];
  readonly gaps: [number, number][] = [];
  readonly states: UpstreamState[] = [];
  ended: FeedEndReason | undefined;
  /** How many more deliveries it takes before saying it is full. */
  room = Infinity;

  deliver(record: EventRecord): boolean {
    this.delivered.push(record.id);
    this.room--;
    return this.room > 0;
  }
  gap(lastEventId: number, resumeFrom: number): void {
    this.gaps.push([lastEventId, resumeFrom]);
  }
  upstream(state: UpstreamState): void {
    this.states.push(state);
  }
  end(reason: FeedEndReason): void {
    this.ended = reason;
  }
}

function append(feed: EventFeed, count: number, bytes = 10): void {
  for (let i = 0; i < count; i++) feed.append((id) => ({ id, type: 'CALLSTART', eventClass: 'CALL', deviceId: '1', json: 'x'.repeat(bytes), bytes }));
}

const range = (from: number, to: number): number[] => Array.from({ length: to - from + 1 }, (_, i) => from + i);

describe('EventFeed', () => {
  test('ids increase by one from firstId; by default from the start time in microseconds', () => {
    const feed = new EventFeed({ capacity: 5, maxBytes: 1e6, maxListeners: 10, firstId: 100 });
    const listener = new RecordingListener();
    feed.attach(listener);
    append(feed, 3);
    assert.deepEqual(listener.delivered, [100, 101, 102]);
    const before = Date.now() * 1000;
    const byTime = new EventFeed({ capacity: 5, maxBytes: 1e6, maxListeners: 10 });
    assert.ok(byTime.stats.nextId >= before && byTime.stats.nextId <= Date.now() * 1000);
    assert.ok(Number.isSafeInteger(byTime.stats.nextId + 1e9));
  });

  test('holds the last `capacity` events, and fewer when they pass maxBytes (always the newest)', () => {
    const feed = new EventFeed({ capacity: 5, maxBytes: 1e6, maxListeners: 10, firstId: 1 });
    append(feed, 12);
    assert.equal(feed.stats.held, 5);
    assert.equal(feed.stats.oldestId, 8);
    assert.equal(feed.stats.heldBytes, 50);
    const bytesBound = new EventFeed({ capacity: 100, maxBytes: 35, maxListeners: 10, firstId: 1 });
    append(bytesBound, 10);
    assert.equal(bytesBound.stats.held, 3);
    assert.equal(bytesBound.stats.heldBytes, 30);
    append(bytesBound, 1, 1000);
    assert.equal(bytesBound.stats.held, 1, 'one event over the bound is still held');
  });

  test('resuming: after a held id exactly the events after it; the latest id nothing; no id only what comes', () => {
    const feed = new EventFeed({ capacity: 10, maxBytes: 1e6, maxListeners: 10, firstId: 1 });
    append(feed, 6);
    const resumed = new RecordingListener();
    feed.attach(resumed, 3);
    assert.deepEqual(resumed.delivered, [4, 5, 6]);
    const upToDate = new RecordingListener();
    feed.attach(upToDate, 6);
    const fresh = new RecordingListener();
    feed.attach(fresh);
    append(feed, 1);
    assert.deepEqual(upToDate.delivered, [7]);
    assert.deepEqual(fresh.delivered, [7]);
    for (const l of [resumed, upToDate, fresh]) assert.deepEqual(l.gaps, []);
    // The id just before the oldest held: nothing is missing.
    const full = new EventFeed({ capacity: 3, maxBytes: 1e6, maxListeners: 10, firstId: 1 });
    append(full, 5);
    const edge = new RecordingListener();
    full.attach(edge, 2);
    assert.deepEqual(edge.gaps, []);
    assert.deepEqual(edge.delivered, [3, 4, 5]);
  });

  test('a gap when the id is older than the buffer, or one this feed never gave: then everything held', () => {
    const feed = new EventFeed({ capacity: 3, maxBytes: 1e6, maxListeners: 10, firstId: 1 });
    append(feed, 5);
    for (const lastEventId of [1, 0, 6, 1e15]) {
      const listener = new RecordingListener();
      feed.attach(listener, lastEventId);
      assert.deepEqual(listener.gaps, [[lastEventId, 3]], String(lastEventId));
      assert.deepEqual(listener.delivered, [3, 4, 5]);
    }
    // Before any event, an id from before this feed began is a gap too.
    const empty = new EventFeed({ capacity: 3, maxBytes: 1e6, maxListeners: 10, firstId: 50 });
    const previousRun = new RecordingListener();
    empty.attach(previousRun, 20);
    assert.deepEqual(previousRun.gaps, [[20, 50]]);
    const justBefore = new RecordingListener();
    empty.attach(justBefore, 49);
    assert.deepEqual(justBefore.gaps, []);
  });

  test('a full listener waits in place and catches up from the buffer when it resumes', () => {
    const feed = new EventFeed({ capacity: 10, maxBytes: 1e6, maxListeners: 10, firstId: 1 });
    const slow = new RecordingListener();
    slow.room = 2;
    const attachment = feed.attach(slow)!;
    append(feed, 6);
    assert.deepEqual(slow.delivered, [1, 2]);
    assert.ok(attachment.pausedForMs() >= 0);
    slow.room = Infinity;
    attachment.resume();
    assert.deepEqual(slow.delivered, range(1, 6));
    assert.equal(attachment.pausedForMs(), 0);
    append(feed, 1);
    assert.deepEqual(slow.delivered, range(1, 7));
  });

  test('a listener the buffer moves past is dropped, counted, and the others go on', () => {
    const feed = new EventFeed({ capacity: 4, maxBytes: 1e6, maxListeners: 10, firstId: 1 });
    const slow = new RecordingListener();
    slow.room = 1;
    const fast = new RecordingListener();
    feed.attach(slow);
    feed.attach(fast);
    append(feed, 5);
    assert.equal(slow.ended, undefined, 'its next event (2) is still held: it may catch up');
    append(feed, 1);
    assert.equal(slow.ended, 'lapped');
    assert.deepEqual(slow.delivered, [1]);
    assert.deepEqual(fast.delivered, range(1, 6));
    assert.equal(feed.stats.dropped, 1);
    assert.equal(feed.stats.listeners, 1);
    append(feed, 1);
    assert.deepEqual(slow.delivered, [1]);
  });

  test('drop() and detach() let a listener go; only drop counts', () => {
    const feed = new EventFeed({ capacity: 4, maxBytes: 1e6, maxListeners: 10, firstId: 1 });
    const a = new RecordingListener();
    const b = new RecordingListener();
    const attachA = feed.attach(a)!;
    const attachB = feed.attach(b)!;
    attachA.drop('stalled');
    attachB.detach();
    append(feed, 1);
    assert.equal(a.ended, 'stalled');
    assert.equal(b.ended, undefined);
    assert.deepEqual([a.delivered, b.delivered], [[], []]);
    assert.equal(feed.stats.dropped, 1);
    assert.equal(feed.stats.listeners, 0);
  });

  test('at most maxListeners; upstream state is told at attach and on change; close ends everyone', () => {
    const feed = new EventFeed({ capacity: 4, maxBytes: 1e6, maxListeners: 2, firstId: 1 });
    const a = new RecordingListener();
    const b = new RecordingListener();
    assert.ok(feed.attach(a));
    feed.setUpstream('connecting');
    assert.ok(feed.attach(b));
    assert.equal(feed.attach(new RecordingListener()), undefined);
    feed.setUpstream('up');
    feed.setUpstream('up');
    assert.deepEqual(a.states, ['idle', 'connecting', 'up']);
    assert.deepEqual(b.states, ['connecting', 'up']);
    feed.close();
    assert.equal(a.ended, 'closing');
    assert.equal(b.ended, 'closing');
    assert.equal(feed.stats.dropped, 0);
    assert.equal(feed.stats.listeners, 0);
  });
});
