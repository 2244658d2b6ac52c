/**
 * Single-recording exports as files a player can use, over real HTTP: every format's duration as
 * ffprobe and a decode see it, on the first request and from the cache; HEAD, Range, If-Range and
 * If-None-Match on each; and the transcode cache seen from outside (ffmpeg runs counted by a
 * wrapper script that logs each one): one encode for many callers, the bound, a changed source, a
 * restart, a partial file left by a crash.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { wavHeader } from '../../src/audio/wav.js';
import { childText, elementsAt, parseXml } from '../../src/protocol/xml.js';
import { startSimulator, type RunningSimulator } from '../../src/sim/simulator.js';
import { startTestGateway, type TestGateway } from './gateway-harness.js';
import { decodedDuration, probe } from './media-probe.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'media-files-'));
const ffmpegLog = path.join(dir, 'ffmpeg.log');
const ffmpegWrapper = path.join(dir, 'ffmpeg');
fs.writeFileSync(ffmpegWrapper, `#!/bin/sh\necho "$*" >> '${ffmpegLog}'\nexec ffmpeg "$@"\n`, { mode: 0o755 });

/** ffmpeg runs that wrote an export file (not version probes, not decodes to a pipe). */
function encodes(): number {
  if (!fs.existsSync(ffmpegLog)) return 0;
  return fs.readFileSync(ffmpegLog, 'utf8').split('\n').filter((line) => / -n file:/.test(line)).length;
}

let sim: RunningSimulator;
let gw: TestGateway;

before(async () => {
  sim = await startSimulator({ port: 0, eventPort: 0, seed: true });
  gw = await startTestGateway({}, {}, { sim, ffmpegPath: ffmpegWrapper });
});
after(async () => {
  await gw.close();
  await sim.close();
  fs.rmSync(dir, { recursive: true, force: true, maxRetries: 10, retryDelay: 50 });
});

interface Got {
  status: number;
  headers: Headers;
  body: Buffer;
}

async function get(url: string, init: RequestInit = {}): Promise<Got> {
  const response = await fetch(url, init);
  return { status: response.status, headers: response.headers, body: Buffer.from(await response.arrayBuffer()) };
}

async function durationOf(base: string, ident: string): Promise<number> {
  const body = await (await fetch(`${base}/webAPI.aspx?type=recordinginfo&requestid=1&ident=${ident}`)).text();
  return Number(childText(elementsAt(parseXml(body), 'RECORDINGS/RECORDING')[0]!, 'DURATION'));
}

function saved(name: string, body: Buffer): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, body);
  return file;
}

/** The top-level boxes of an MP4, in order. */
function mp4Boxes(body: Buffer): string[] {
  const boxes: string[] = [];
  for (let at = 0; at + 8 <= body.length; ) {
    const size = body.readUInt32BE(at);
    boxes.push(body.toString('latin1', at + 4, at + 8));
    if (size < 8) break;
    at += size;
  }
  return boxes;
}

const metric = async (base: string, pattern: RegExp): Promise<number> => Number(pattern.exec(await (await fetch(`${base}/metrics`)).text())?.[1] ?? 0);

/** A recording row for a file the test put under the recordings directory: a copy of the seeded `like`. */
function addRecording(like: number, ident: number, duration: number, relative: readonly string[]): void {
  const db = sim.context.db;
  db.exec(`CREATE TEMP TABLE added AS SELECT * FROM recordings WHERE ident = ${like}`);
  db.prepare('UPDATE added SET ident = ?, duration = ?, filename = ?, media_path = ?').run(ident, duration, `C:\\Recordings\\${relative.join('\\')}`, relative.join('/'));
  db.exec('INSERT INTO recordings SELECT * FROM added; DROP TABLE added');
}

/** A 16-bit PCM WAV of a tone, `seconds` long at 8 kHz. */
function toneWav(seconds: number, frequency: number): Buffer {
  const samples = new Int16Array(Math.round(8000 * seconds)).map((_, i) => Math.round(8000 * Math.sin((2 * Math.PI * frequency * i) / 8000)));
  return Buffer.concat([wavHeader(samples.byteLength, 'pcm16', 8000, 1), Buffer.from(samples.buffer)]);
}

describe('every format is a whole file, with its duration, that answers HEAD, Range and conditions', () => {
  const recording = '10121975';
  const formats = ['wav', 'pcm', 'vox', 'mp3', 'm4a', 'webm', 'opus'] as const;
  for (const format of formats) {
    test(format, async () => {
      const url = `${gw.url}/api/v1/recordings/${recording}/media?format=${format}`;
      const duration = await durationOf(gw.url, recording);
      const ran = encodes();
      const first = await get(url);
      assert.equal(first.status, 200);
      const size = first.body.length;
      assert.equal(first.headers.get('content-length'), String(size));
      assert.equal(first.headers.get('accept-ranges'), 'bytes');
      const etag = first.headers.get('etag')!;
      assert.match(etag, /^"[0-9a-f]{32}"$/);
      assert.ok(!Number.isNaN(Date.parse(first.headers.get('last-modified')!)));
      const compressed = ['mp3', 'm4a', 'webm', 'opus'].includes(format);
      assert.equal(encodes() - ran, compressed ? 1 : 0, 'ffmpeg writes the compressed formats, once');

      // What the file says of itself, and what plays.
      const file = saved(`first.${format}`, first.body);
      if (format === 'pcm') assert.ok(Math.abs(size / 2 / 8000 - duration) <= 0.1);
      else if (format === 'vox') assert.ok(Math.abs((size * 2) / 8000 - duration) <= 0.1);
      else {
        const info = await probe(file);
        assert.ok(Math.abs(info.duration - duration) <= 0.1, `ffprobe: ${info.duration} s of ${duration} s`);
        const played = await decodedDuration(file);
        assert.ok(Math.abs(played - duration) <= 0.1, `decoded: ${played} s of ${duration} s`);
      }
      if (format === 'mp3') {
        const head = first.body.subarray(0, 1024).toString('latin1');
        assert.match(head, /Xing|Info/, 'a Xing/Info frame gives the frame count');
        assert.match(head, /LAME|Lav[cf]/, 'with the LAME tag: encoder delay and padding');
      }
      if (format === 'm4a') {
        const boxes = mp4Boxes(first.body);
        assert.ok(boxes.indexOf('moov') >= 0 && boxes.indexOf('moov') < boxes.indexOf('mdat'), `moov before mdat: ${boxes.join(',')}`);
        assert.ok(!boxes.includes('moof'), 'not fragmented');
      }
      if (format === 'webm') {
        assert.ok(first.body.includes(Buffer.from([0x1c, 0x53, 0xbb, 0x6b])), 'Cues');
        const info = await probe(file);
        assert.equal(info.format, 'matroska,webm');
        const { execFileSync } = await import('node:child_process');
        const stated = execFileSync('ffprobe', ['-v', 'error', '-show_entries', 'format=duration', '-of', 'csv=p=0', file], { encoding: 'utf8' }).trim();
        assert.ok(Math.abs(Number(stated) - duration) <= 0.1, `the container states its duration: ${stated}`);
      }

      // Again: the same bytes, without ffmpeg.
      const ranBefore = encodes();
      const second = await get(url);
      assert.equal(second.status, 200);
      assert.ok(second.body.equals(first.body), 'the same file');
      assert.equal(second.headers.get('etag'), etag);
      assert.equal(encodes(), ranBefore, 'served from the cache');

      // Ranges, byte for byte.
      for (const [range, start, end] of [
        ['bytes=0-99', 0, 99],
        ['bytes=1000-1999', 1000, 1999],
        [`bytes=${size - 500}-`, size - 500, size - 1],
        ['bytes=-10', size - 10, size - 1],
      ] as const) {
        const part = await get(url, { headers: { range } });
        assert.equal(part.status, 206, range);
        assert.equal(part.headers.get('content-range'), `bytes ${start}-${end}/${size}`);
        assert.equal(part.headers.get('content-length'), String(end - start + 1));
        assert.ok(part.body.equals(first.body.subarray(start, end + 1)), range);
      }
      const beyond = await get(url, { headers: { range: `bytes=${size + 10}-` } });
      assert.equal(beyond.status, 416);
      assert.equal(beyond.headers.get('content-range'), `bytes */${size}`);

      // If-Range: the current ETag gets the range, another gets the whole file.
      const current = await get(url, { headers: { range: 'bytes=0-99', 'if-range': etag } });
      assert.equal(current.status, 206);
      const stale = await get(url, { headers: { range: 'bytes=0-99', 'if-range': '"0123456789abcdef0123456789abcdef"' } });
      assert.equal(stale.status, 200);
      assert.ok(stale.body.equals(first.body));

      // If-None-Match: a current copy is not sent again.
      const notModified = await get(url, { headers: { 'if-none-match': etag } });
      assert.equal(notModified.status, 304);
      assert.equal(notModified.body.length, 0);
      assert.equal(notModified.headers.get('etag'), etag);
      const modified = await get(url, { headers: { 'if-none-match': '"0123456789abcdef0123456789abcdef"' } });
      assert.equal(modified.status, 200);

      // HEAD: the headers of a GET.
      const head = await get(url, { method: 'HEAD' });
      assert.equal(head.status, 200);
      assert.equal(head.body.length, 0);
      for (const name of ['content-type', 'content-length', 'content-disposition', 'accept-ranges', 'etag', 'last-modified']) {
        assert.equal(head.headers.get(name), first.headers.get(name), name);
      }

      // The WebAPI's EXPORT is the same file, with the same ranges.
      const webApi = `${gw.url}/webAPI.aspx?type=export&requestid=3&uniquefield=ident&uniqueid=${recording}&media_format=${format}`;
      const viaWebApi = await get(webApi, { headers: { range: 'bytes=100-199' } });
      assert.equal(viaWebApi.status, 206);
      assert.equal(viaWebApi.headers.get('etag'), etag);
      assert.ok(viaWebApi.body.equals(first.body.subarray(100, 200)));
      assert.equal((await fetch(webApi, { method: 'HEAD' })).status, 405, 'the WebAPI still refuses HEAD');
    });
  }
});

describe('the transcode cache', () => {
  test('concurrent requests for one export share one ffmpeg, and get the same bytes', async () => {
    const url = `${gw.url}/api/v1/recordings/10121976/media?format=mp3`;
    const ran = encodes();
    const fills = await metric(gw.url, /uptivity_media_cache_fill_duration_seconds_count (\d+)/);
    const all = await Promise.all(Array.from({ length: 8 }, () => get(url)));
    assert.equal(encodes() - ran, 1, 'one ffmpeg run');
    assert.equal((await metric(gw.url, /uptivity_media_cache_fill_duration_seconds_count (\d+)/)) - fills, 1);
    for (const got of all) {
      assert.equal(got.status, 200);
      assert.ok(got.body.equals(all[0]!.body));
    }
    const info = await probe(saved('shared.mp3', all[0]!.body));
    assert.ok(Math.abs(info.duration - (await durationOf(gw.url, '10121976'))) <= 0.1);
  });

  test('a recording written again is exported again; its old ETag no longer matches', async () => {
    const relative = ['rewritten', 'call.wav'];
    const file = path.join(sim.context.recordingsDir, ...relative);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, toneWav(3, 440));
    addRecording(10121903, 99100001, 3, relative);
    const url = `${gw.url}/api/v1/recordings/99100001/media?format=opus`;
    const before = await get(url);
    assert.equal(before.status, 200);
    const ran = encodes();
    fs.writeFileSync(file, toneWav(5, 880));
    sim.context.db.prepare('UPDATE recordings SET duration = 5 WHERE ident = 99100001').run();
    const after = await get(url, { headers: { 'if-none-match': before.headers.get('etag')! } });
    assert.equal(after.status, 200);
    assert.notEqual(after.headers.get('etag'), before.headers.get('etag'));
    assert.equal(encodes() - ran, 1);
    const info = await probe(saved('rewritten.opus', after.body));
    assert.ok(Math.abs(info.duration - 5) <= 0.1, `${info.duration}`);
  });

  test('past its bound the least recently used export goes; a new gateway on the folder keeps what is there', async () => {
    const cacheDir = path.join(dir, 'bounded-cache');
    const ids = ['10121981', '10121982', '10121983'];
    // The sizes of the three, from the main gateway (the files are the same bytes in any gateway).
    const sizes = await Promise.all(ids.map(async (id) => (await get(`${gw.url}/api/v1/recordings/${id}/media?format=m4a`)).body.length));
    // Room for any two, not for all three.
    const bound = sizes[0]! + Math.max(sizes[1]!, sizes[2]!);
    assert.ok(bound < sizes[0]! + sizes[1]! + sizes[2]!);
    const url = (base: string, id: string): string => `${base}/api/v1/recordings/${id}/media?format=m4a`;
    const first = await startTestGateway({}, {}, { sim, ffmpegPath: ffmpegWrapper, mediaCache: { directory: cacheDir, maxBytes: bound } });
    try {
      const ran = encodes();
      await get(url(first.url, ids[0]!));
      await get(url(first.url, ids[1]!));
      await get(url(first.url, ids[0]!)); // the first is now more recent than the second
      await get(url(first.url, ids[2]!));
      assert.equal(encodes() - ran, 3);
      assert.equal(await metric(first.url, /uptivity_media_cache_evictions_total (\d+)/), 1);
      const kept = fs.readdirSync(cacheDir);
      assert.equal(kept.length, 2);
      assert.ok(kept.reduce((sum, name) => sum + fs.statSync(path.join(cacheDir, name)).size, 0) <= bound);
      assert.equal(await metric(first.url, /uptivity_media_cache_bytes (\d+)/), sizes[0]! + sizes[2]!);
      const hit = await get(url(first.url, ids[0]!));
      assert.equal(hit.body.length, sizes[0]);
      assert.equal(encodes() - ran, 3, 'the first is still there');
    } finally {
      await first.close();
    }
    // A partial file, as a crash would leave it: removed at start, never served.
    const partial = path.join(cacheDir, `.partial-0123456789ab-${'0'.repeat(64)}.m4a`);
    fs.writeFileSync(partial, 'cut short');
    const second = await startTestGateway({}, {}, { sim, ffmpegPath: ffmpegWrapper, mediaCache: { directory: cacheDir, maxBytes: bound } });
    try {
      assert.equal(fs.existsSync(partial), false);
      const ran = encodes();
      for (const id of [ids[0]!, ids[2]!]) {
        const again = await get(url(second.url, id));
        assert.equal(again.status, 200);
        assert.equal(again.body.length, sizes[ids.indexOf(id)]);
      }
      assert.equal(encodes(), ran, 'both served from the files the first gateway left');
      assert.equal(await metric(second.url, /uptivity_media_cache_requests_total\{outcome="hit"\} (\d+)/), 2);
      await get(url(second.url, ids[1]!));
      assert.equal(encodes() - ran, 1, 'the evicted one is made again');
    } finally {
      await second.close();
    }
  });

  test('with MEDIA_CACHE_MAX_BYTES=0 every export is still a whole file, and nothing is kept', async () => {
    const cacheDir = path.join(dir, 'no-cache');
    const bare = await startTestGateway({}, {}, { sim, ffmpegPath: ffmpegWrapper, mediaCache: { directory: cacheDir, maxBytes: 0 } });
    try {
      const url = `${bare.url}/api/v1/recordings/10121977/media?format=webm`;
      const ran = encodes();
      const one = await get(url);
      const two = await get(url, { headers: { range: 'bytes=10-19' } });
      assert.equal(encodes() - ran, 2);
      assert.equal(two.status, 206);
      assert.ok(two.body.equals(one.body.subarray(10, 20)), 'the same bytes each time');
      assert.deepEqual(fs.readdirSync(cacheDir), []);
      const info = await probe(saved('uncached.webm', one.body));
      assert.ok(Math.abs(info.duration - (await durationOf(bare.url, '10121977'))) <= 0.1);
    } finally {
      await bare.close();
    }
  });
});
