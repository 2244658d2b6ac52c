/** The recorder's wall clock: UNIX seconds to the local time file names carry, and back, across daylight saving. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RecorderClock, formatLocalTime, parseLocalTime } from '../../src/recordings/recorder-clock.js';

test("the manual's CALLLIST RECORDINGTIME in UTC and in Chicago", () => {
  // 1312921123 is 2011-08-09 20:18:43 UTC; Chicago is on CDT (UTC-5) then.
  assert.deepEqual(new RecorderClock('UTC').wallClockAt(1312921123), { year: 2011, month: 8, day: 9, hour: 20, minute: 18, second: 43 });
  const chicago = new RecorderClock('America/Chicago');
  assert.deepEqual(chicago.wallClockAt(1312921123), { year: 2011, month: 8, day: 9, hour: 15, minute: 18, second: 43 });
  assert.equal(chicago.unixTimeOf({ year: 2011, month: 8, day: 9, hour: 15, minute: 18, second: 43 }), 1312921123);
});

test('a local time crossing midnight changes the day folder', () => {
  // 2011-01-31 02:00 UTC is still January 30 in Chicago (CST, UTC-6).
  assert.deepEqual(new RecorderClock('America/Chicago').wallClockAt(Date.UTC(2011, 0, 31, 2, 0, 0) / 1000), {
    year: 2011,
    month: 1,
    day: 30,
    hour: 20,
    minute: 0,
    second: 0,
  });
});

test('daylight saving: the repeated hour reads as one of its instants, every other second round-trips', () => {
  const chicago = new RecorderClock('America/Chicago');
  // 2026-11-01 01:30 happens twice in Chicago (CDT then CST).
  const repeated = { year: 2026, month: 11, day: 1, hour: 1, minute: 30, second: 0 };
  assert.ok([Date.UTC(2026, 10, 1, 6, 30, 0) / 1000, Date.UTC(2026, 10, 1, 7, 30, 0) / 1000].includes(chicago.unixTimeOf(repeated)));
  assert.deepEqual(chicago.wallClockAt(chicago.unixTimeOf(repeated)), repeated);
  for (let t = Date.UTC(2026, 2, 8, 6, 0, 0) / 1000; t < Date.UTC(2026, 2, 8, 10, 0, 0) / 1000; t += 97) {
    assert.equal(chicago.unixTimeOf(chicago.wallClockAt(t)), t, `spring forward, ${t}`);
  }
});

test('zones are checked when the clock is made; no zone is this machine’s', () => {
  assert.throws(() => new RecorderClock('Mars/Olympus'), /not a time zone/);
  assert.equal(new RecorderClock().zone, Intl.DateTimeFormat().resolvedOptions().timeZone);
});

test('zone-less database times are read to the second, fractions ignored', () => {
  assert.deepEqual(parseLocalTime('2011-01-31 14:39:50'), { year: 2011, month: 1, day: 31, hour: 14, minute: 39, second: 50 });
  assert.deepEqual(parseLocalTime('2011-01-31T14:39:50.997'), { year: 2011, month: 1, day: 31, hour: 14, minute: 39, second: 50 });
  assert.equal(parseLocalTime('2011-13-31 14:39:50'), undefined);
  assert.equal(parseLocalTime('yesterday'), undefined);
  assert.equal(formatLocalTime({ year: 2011, month: 1, day: 31, hour: 4, minute: 9, second: 5 }), '2011-01-31 04:09:05');
});
