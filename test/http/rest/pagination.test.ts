/**
 * GET /api/v1/recordings page by page through the gateway and the simulator: the seeded recordings
 * walked in pages of 50 by following `next` (and the Link header), while calls are recorded beside
 * the walk, meet every recording once; filters and dates travel with the cursor.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startTestGateway, type TestGateway } from '../gateway-harness.js';

let gw: TestGateway;

before(async () => {
  gw = await startTestGateway({ seed: true });
});
after(async () => {
  await gw.close();
});

interface Listed {
  recordId: number;
  recordingTime: number;
  deviceId: string;
}

async function get(url: string): Promise<{ status: number; link: string | null; body: any }> {
  const response = await fetch(`${gw.url}${url}`);
  return { status: response.status, link: response.headers.get('link'), body: await response.json() };
}

/** Every recording the core holds now, newest first, through the wire model. */
async function everyRecording(): Promise<Listed[]> {
  const response = await fetch(`${gw.url}/api/v1/commands/calllist`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ callCount: 1000 }) });
  return ((await response.json()) as { searchResult: Listed[] }).searchResult;
}

async function walk(first: string, during?: (page: number) => Promise<void>): Promise<{ listed: Listed[]; pages: number }> {
  const listed: Listed[] = [];
  let url: string | null = first;
  let pages = 0;
  while (url) {
    const page = await get(url);
    assert.equal(page.status, 200, JSON.stringify(page.body));
    listed.push(...page.body.recordings);
    assert.equal(page.link, page.body.next === null ? null : `<${page.body.next}>; rel="next"`, 'the Link header names the same next page');
    url = page.body.next;
    await during?.(pages);
    assert.ok(++pages < 100);
  }
  return { listed, pages };
}

describe('GET /api/v1/recordings, page by page', () => {
  test('the seeded recordings in pages of 50, with calls recorded during the walk: no repeats, no gaps', async () => {
    const before = await everyRecording();
    assert.ok(before.length >= 200, `${before.length} seeded recordings`);
    const recordedDuring: string[] = [];
    const { listed, pages } = await walk('/api/v1/recordings?limit=50', async (page) => {
      // A call recorded while the client pages: newer than the cursor, so not part of this walk.
      const deviceId = `30${page}`;
      for (const action of ['start', 'stop']) {
        const answer = await fetch(`${gw.url}/api/v1/calls/${action}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ deviceId }) });
        assert.equal(answer.status, 200);
      }
      recordedDuring.push(deviceId);
    });
    assert.equal(pages, Math.ceil(before.length / 50));
    const ids = listed.map((r) => r.recordId);
    assert.equal(new Set(ids).size, ids.length, 'no recording twice');
    assert.deepEqual(ids, before.map((r) => r.recordId), 'every recording of the walk\'s start, newest first, none missing');
    const now = await everyRecording();
    assert.ok(now.length >= before.length + recordedDuring.length, 'calls were recorded during the walk');
  });

  test('filters and dates travel with the cursor; limit and cursor are checked', async () => {
    const all = await everyRecording();
    const device = all[0]!.deviceId;
    const ofDevice = all.filter((r) => r.deviceId === device);
    const { listed } = await walk(`/api/v1/recordings?deviceId=${device}&limit=1`);
    assert.deepEqual(listed.map((r) => r.recordId), ofDevice.map((r) => r.recordId));

    const times = all.map((r) => r.recordingTime);
    const start = times[Math.floor(times.length * 0.6)]!;
    const end = times[Math.floor(times.length * 0.2)]!;
    const inRange = all.filter((r) => r.recordingTime >= start && r.recordingTime <= end);
    const ranged = await walk(`/api/v1/recordings?callDateStart=${start}&callDateEnd=${new Date(end * 1000).toISOString()}&limit=7`);
    assert.deepEqual(ranged.listed.map((r) => r.recordId), inRange.map((r) => r.recordId));

    const first = await get('/api/v1/recordings?limit=2');
    assert.match(first.body.next, /^\/api\/v1\/recordings\?limit=2&cursor=[A-Za-z0-9_-]+$/);
    for (const bad of ['limit=0', 'limit=501', 'cursor=not%20a%20cursor', `cursor=${Buffer.from('x').toString('base64url')}`, 'callCount=5']) {
      const refused = await get(`/api/v1/recordings?${bad}`);
      assert.equal(refused.status, 400, bad);
      assert.equal(refused.body.resultCode, 16, bad);
    }
  });
});
