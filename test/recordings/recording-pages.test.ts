/**
 * Pages of recordings on CALLLIST, against a core that behaves as the manual says (newest first,
 * the newest CALLCOUNT between inclusive CALLDATESTART and CALLDATEEND) and orders recordings of the
 * same second as it pleases: a walk delivers each recording once, in (time, RECORDID) order, with
 * no gap, while recordings arrive at any time, including the cursor's own second.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { CallList } from '../../src/recordings/call-list.js';
import { RecordingPages, decodeCursor, encodeCursor, type PageCursor } from '../../src/recordings/recording-pages.js';
import { buildResult, childText, element, parseXml } from '../../src/protocol/xml.js';
import type { CoreAnswer, CoreRequest } from '../../src/core/connection.js';

interface Stored {
  id: number;
  time: number;
  device: string;
}

/** A core holding `store`, answering CALLLIST; `shuffle` orders each second's recordings. */
function coreOf(store: Stored[], shuffle: (n: number) => number, asked: { count: number }): CallList {
  return new CallList(async (request: CoreRequest): Promise<CoreAnswer> => {
    asked.count++;
    const xml = parseXml(request.xml);
    const number = (name: string): number | undefined => {
      const text = childText(xml, name);
      return text === undefined ? undefined : Number(text);
    };
    const start = number('CALLDATESTART') ?? -Infinity;
    const end = number('CALLDATEEND') ?? Infinity;
    const count = Math.min(number('CALLCOUNT') ?? 1000, 1000);
    const device = childText(xml, 'DEVICEID');
    const matching = store
      .filter((r) => r.time >= start && r.time <= end && (device === undefined || r.device === device))
      .map((r) => ({ r, tie: shuffle(r.id) }))
      .sort((a, b) => b.r.time - a.r.time || a.tie - b.tie)
      .slice(0, count);
    const text = buildResult(
      { requestType: 'CALLLIST', requestId: 1, resultType: 'API_OK', resultCode: 20, resultMessage: 'API_OK' },
      matching.map(({ r }, i) =>
        element('SEARCHRESULT', [element('CALLNUMBER', String(i + 1)), element('DEVICEID', r.device), element('RECORDID', String(r.id)), element('RECORDINGTIME', String(r.time))]),
      ),
    );
    const root = parseXml(text);
    return { bytes: Buffer.from(text), root, requestType: 'CALLLIST', requestId: '1', resultCode: 20, resultType: 'API_OK', resultMessage: 'API_OK' };
  });
}

const newestFirst = (a: Stored, b: Stored): number => b.time - a.time || b.id - a.id;

describe('pages of recordings', () => {
  test('a walk meets every recording once, in order, while recordings arrive', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.integer({ min: 1000, max: 1012 }), { minLength: 0, maxLength: 60 }),
        fc.integer({ min: 1, max: 7 }),
        fc.array(fc.tuple(fc.integer({ min: 0, max: 6 }), fc.integer({ min: 995, max: 1020 })), { maxLength: 12 }),
        fc.integer({ min: 0, max: 1_000_000 }),
        fc.option(fc.tuple(fc.integer({ min: 995, max: 1006 }), fc.integer({ min: 1003, max: 1020 }))),
        async (times, limit, arrivals, seed, range) => {
          let nextId = 1;
          const store: Stored[] = times.map((time) => ({ id: nextId++, time, device: nextId % 3 === 0 ? 'B' : 'A' }));
          const asked = { count: 0 };
          const pages = new RecordingPages(coreOf(store, (id) => (id * 7919 + seed) % 10007, asked));
          const [start, end] = range ?? [undefined, undefined];
          const inRange = (r: Stored): boolean => (start === undefined || r.time >= start) && (end === undefined || r.time <= end);
          const expected = new Set(store.filter(inRange).map((r) => r.id));
          const delivered: Stored[] = [];
          let cursor: PageCursor | undefined;
          let page = 0;
          do {
            const result = await pages.page(
              { filters: [], limit, ...(start !== undefined ? { start } : {}), ...(end !== undefined ? { end } : {}), ...(cursor ? { cursor } : {}) },
              { requestId: '1' },
            );
            assert.ok(result.results.length <= limit);
            for (const r of result.results) delivered.push(store.find((s) => s.id === Number(r.recordId))!);
            cursor = result.next && decodeCursor(encodeCursor(result.next));
            // Recordings arrive between pages; those that sort after the last one delivered must be met.
            const arrival = arrivals[page];
            if (arrival && cursor) {
              const stored: Stored = { id: nextId++, time: arrival[1], device: 'A' };
              store.push(stored);
              const last = delivered[delivered.length - 1];
              if (inRange(stored) && (!last || newestFirst(last, stored) < 0)) expected.add(stored.id);
            }
            assert.ok(++page < 500, 'the walk ends');
          } while (cursor);

          const ids = delivered.map((r) => r.id);
          assert.equal(new Set(ids).size, ids.length, 'no repeats');
          for (let i = 1; i < delivered.length; i++) assert.ok(newestFirst(delivered[i - 1]!, delivered[i]!) < 0, 'newest first, then RECORDID');
          for (const id of expected) assert.ok(ids.includes(id), `recording ${id} was met`);
          assert.ok(delivered.every(inRange), 'the caller\'s dates bound the walk');
        },
      ),
      { numRuns: 300 },
    );
  });

  test('the first page is one CALLLIST; a walk across seconds needs no more than two per page', async () => {
    const store: Stored[] = Array.from({ length: 250 }, (_, i) => ({ id: i + 1, time: 1000 + i * 60, device: 'A' }));
    const asked = { count: 0 };
    const pages = new RecordingPages(coreOf(store, (id) => id, asked));
    const first = await pages.page({ filters: [], limit: 10 }, { requestId: '1' });
    assert.equal(asked.count, 1);
    assert.deepEqual(first.results.map((r) => r.recordId), ['250', '249', '248', '247', '246', '245', '244', '243', '242', '241']);
    let cursor = first.next;
    let walked = first.results.length;
    let pagesRead = 1;
    while (cursor) {
      const next = await pages.page({ filters: [], limit: 50, cursor }, { requestId: '1' });
      walked += next.results.length;
      cursor = next.next;
      pagesRead++;
    }
    assert.equal(walked, 250);
    assert.ok(asked.count <= pagesRead * 2, `${asked.count} CALLLISTs for ${pagesRead} pages`);
  });

  test('cursors are opaque tokens; anything else is refused', () => {
    assert.deepEqual(decodeCursor(encodeCursor({ second: 1796386454, before: '10122100' })), { second: 1796386454, before: '10122100' });
    assert.deepEqual(decodeCursor(encodeCursor({ second: 0 })), { second: 0 });
    for (const bad of ['', 'not a cursor', Buffer.from('12.x').toString('base64url'), Buffer.from('-1').toString('base64url'), 'A'.repeat(65)]) {
      assert.equal(decodeCursor(bad), undefined, bad);
    }
  });
});
