/**
 * The transcode cache on a real directory: single flight, the bound and its LRU order, a cache that
 * keeps nothing, the index read again at start, and a process killed while it writes a file.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { TranscodeCache, TranscodeSlotRefused, type CachedMedia, type TranscodeFill } from '../../src/media/transcode-cache.js';
import { probe } from '../http/media-probe.js';

const dirs: string[] = [];
after(() => {
  for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true });
});

function tempDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'transcode-cache-'));
  dirs.push(dir);
  return dir;
}

const keyOf = (text: string): string => createHash('sha256').update(text).digest('hex');

/** A fill writing `bytes` after `delayMs`, counting its runs and the slots it holds. */
function fillOf(bytes: Buffer, delayMs = 0): TranscodeFill & { runs: number; held: number; signals: AbortSignal[] } {
  const fill = {
    runs: 0,
    held: 0,
    signals: [] as AbortSignal[],
    async write(file: string, signal: AbortSignal): Promise<void> {
      fill.runs++;
      fill.signals.push(signal);
      await new Promise((resolve) => setTimeout(resolve, delayMs));
      signal.throwIfAborted();
      await fs.promises.writeFile(file, bytes, { flag: 'wx' });
    },
    takeSlot(): () => void {
      fill.held++;
      return () => fill.held--;
    },
  };
  return fill;
}

async function read(media: CachedMedia): Promise<Buffer> {
  try {
    const buffer = Buffer.alloc(media.size);
    assert.equal(fs.readSync(media.fd, buffer, 0, media.size, 0), media.size);
    return buffer;
  } finally {
    fs.closeSync(media.fd);
  }
}

const never = new AbortController().signal;

test('a file made once is kept and served again without being made', async () => {
  const events: string[] = [];
  const cache = await TranscodeCache.open({
    directory: tempDir(),
    maxBytes: 1000,
    observer: { hit: () => events.push('hit'), miss: () => events.push('miss'), filled: () => events.push('filled') },
  });
  const fill = fillOf(Buffer.from('one recording'));
  const first = await cache.get(keyOf('a'), 'mp3', fill, never);
  assert.equal(first.hit, false);
  assert.equal((await read(first)).toString(), 'one recording');
  const second = await cache.get(keyOf('a'), 'mp3', fill, never);
  assert.equal(second.hit, true);
  assert.equal((await read(second)).toString(), 'one recording');
  assert.equal(fill.runs, 1);
  assert.equal(fill.held, 0, 'the slot is released once the file is made');
  assert.deepEqual(events, ['miss', 'filled', 'hit']);
  assert.equal(cache.bytes, 13);
  assert.deepEqual(fs.readdirSync(cache.directory), [`${keyOf('a')}.mp3`]);
});

test('concurrent requests for one file share one fill', async () => {
  const cache = await TranscodeCache.open({ directory: tempDir(), maxBytes: 1000 });
  const fill = fillOf(Buffer.from('shared'), 100);
  const all = await Promise.all(Array.from({ length: 6 }, () => cache.get(keyOf('b'), 'webm', fill, never)));
  assert.equal(fill.runs, 1);
  for (const media of all) assert.equal((await read(media)).toString(), 'shared');
});

test('a fill nobody waits for any more is abandoned, and leaves nothing', async () => {
  const cache = await TranscodeCache.open({ directory: tempDir(), maxBytes: 1000 });
  const fill = fillOf(Buffer.from('never kept'), 200);
  const callers = [new AbortController(), new AbortController()];
  const waits = callers.map((c) => cache.get(keyOf('c'), 'm4a', fill, c.signal));
  callers[0]!.abort(new Error('first caller gone'));
  await assert.rejects(waits[0]!, /first caller gone/);
  assert.equal(fill.signals[0]!.aborted, false, 'another caller still waits');
  callers[1]!.abort(new Error('second caller gone'));
  await assert.rejects(waits[1]!, /second caller gone/);
  assert.equal(fill.signals[0]!.aborted, true, 'the fill is told to stop');
  await new Promise((resolve) => setTimeout(resolve, 300));
  assert.deepEqual(fs.readdirSync(cache.directory), []);
  assert.equal(fill.held, 0);
  assert.equal(cache.filling, 0);
});

test('a refused slot makes nothing; a failed fill leaves nothing and is tried again', async () => {
  const cache = await TranscodeCache.open({ directory: tempDir(), maxBytes: 1000 });
  const refusing: TranscodeFill = { write: () => Promise.reject(new Error('not called')), takeSlot: () => undefined };
  await assert.rejects(cache.get(keyOf('d'), 'mp3', refusing, never), TranscodeSlotRefused);
  const failing: TranscodeFill = {
    write: async (file) => {
      await fs.promises.writeFile(file, 'half a fi');
      throw new Error('ffmpeg exited with code 1');
    },
    takeSlot: () => () => undefined,
  };
  await assert.rejects(cache.get(keyOf('d'), 'mp3', failing, never), /exited with code 1/);
  assert.deepEqual(fs.readdirSync(cache.directory), [], 'no partial file is left');
  const media = await cache.get(keyOf('d'), 'mp3', fillOf(Buffer.from('whole')), never);
  assert.equal((await read(media)).toString(), 'whole');
});

test('past the bound, the least recently used files go first', async () => {
  let evicted = 0;
  const cache = await TranscodeCache.open({ directory: tempDir(), maxBytes: 250, observer: { evicted: (bytes) => (evicted += bytes) } });
  const hundred = (c: string): Buffer => Buffer.alloc(100, c);
  await read(await cache.get(keyOf('1'), 'mp3', fillOf(hundred('1')), never));
  await read(await cache.get(keyOf('2'), 'mp3', fillOf(hundred('2')), never));
  // A hit: 1 is now more recent than 2.
  assert.equal((await cache.get(keyOf('1'), 'mp3', fillOf(hundred('x')), never).then(async (m) => ({ hit: m.hit, body: await read(m) }))).hit, true);
  await read(await cache.get(keyOf('3'), 'mp3', fillOf(hundred('3')), never));
  assert.equal(evicted, 100);
  assert.equal(cache.bytes, 200);
  assert.deepEqual(fs.readdirSync(cache.directory).sort(), [`${keyOf('1')}.mp3`, `${keyOf('3')}.mp3`].sort());
  // A file larger than the whole bound is served, not kept.
  const big = await cache.get(keyOf('4'), 'mp3', fillOf(Buffer.alloc(300, '4')), never);
  assert.equal((await read(big)).length, 300);
  assert.equal(fs.existsSync(path.join(cache.directory, `${keyOf('4')}.mp3`)), false);
  assert.equal(cache.bytes, 200);
});

test('with a bound of 0 every file is made whole, served, and removed once opened', async () => {
  const cache = await TranscodeCache.open({ directory: tempDir(), maxBytes: 0 });
  const fill = fillOf(Buffer.from('played once'), 50);
  const [a, b] = await Promise.all([cache.get(keyOf('e'), 'opus', fill, never), cache.get(keyOf('e'), 'opus', fill, never)]);
  assert.deepEqual(fs.readdirSync(cache.directory), [], 'unlinked, yet open');
  assert.equal((await read(a!)).toString(), 'played once');
  assert.equal((await read(b!)).toString(), 'played once');
  await read(await cache.get(keyOf('e'), 'opus', fill, never));
  assert.equal(fill.runs, 2, 'nothing was kept');
});

test('a cache opened again keeps its files, oldest use evicted first, and removes partial files', async () => {
  const directory = tempDir();
  const first = await TranscodeCache.open({ directory, maxBytes: 1000 });
  for (const name of ['old', 'new']) await read(await first.get(keyOf(name), 'mp3', fillOf(Buffer.alloc(100, name)), never));
  const past = new Date(Date.now() - 3_600_000);
  fs.utimesSync(path.join(directory, `${keyOf('old')}.mp3`), past, past);
  const partial = path.join(directory, `.partial-0123456789ab-${keyOf('cut')}.mp3`);
  fs.writeFileSync(partial, 'cut short');
  fs.writeFileSync(path.join(directory, 'README'), 'not ours');

  const again = await TranscodeCache.open({ directory, maxBytes: 1000 });
  assert.equal(again.size, 2);
  assert.equal(again.bytes, 200);
  assert.equal(fs.existsSync(partial), false, 'a partial file is removed at start');
  const kept = await again.get(keyOf('new'), 'mp3', fillOf(Buffer.from('not this')), never);
  assert.equal(kept.hit, true);
  await read(kept);

  // A smaller bound at start: the file used longest ago goes.
  const smaller = await TranscodeCache.open({ directory, maxBytes: 150 });
  assert.equal(smaller.size, 1);
  assert.equal(fs.existsSync(path.join(directory, `${keyOf('old')}.mp3`)), false);
  assert.equal(fs.existsSync(path.join(directory, `${keyOf('new')}.mp3`)), true);
  assert.equal(fs.readFileSync(path.join(directory, 'README'), 'utf8'), 'not ours', 'files not named by the cache are left alone');
});

test('a gateway killed while ffmpeg writes leaves no file that is served: the next start makes it whole', async () => {
  const directory = tempDir();
  const work = tempDir();
  const source = path.join(work, 'twenty-minutes.wav');
  execFileSync('ffmpeg', ['-v', 'error', '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=8000:duration=1200', '-c:a', 'pcm_mulaw', '-y', source]);
  const key = keyOf('crash');
  const dist = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
  const script = `
    import { TranscodeCache } from ${JSON.stringify(path.join(dist, 'src/media/transcode-cache.js'))};
    import { encodeAudioFileTo } from ${JSON.stringify(path.join(dist, 'src/media/ffmpeg.js'))};
    const cache = await TranscodeCache.open({ directory: ${JSON.stringify(directory)}, maxBytes: 1e9 });
    await cache.get(${JSON.stringify(key)}, 'mp3', {
      write: (file, signal) => encodeAudioFileTo(${JSON.stringify(source)}, file, { ffmpeg: 'ffmpeg', sampleRate: 8000, format: 'mp3', signal }),
      takeSlot: () => () => {},
    }, new AbortController().signal);
  `;
  // A process group of its own, so the kill takes its ffmpeg too, as a machine's crash would.
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], { detached: true, stdio: 'ignore' });
  const deadline = Date.now() + 20_000;
  let partial: string | undefined;
  while (Date.now() < deadline) {
    partial = fs.readdirSync(directory).find((name) => name.startsWith('.partial-') && fs.statSync(path.join(directory, name)).size > 0);
    if (partial) break;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  assert.ok(partial, 'ffmpeg was writing');
  process.kill(-child.pid!, 'SIGKILL');
  await new Promise((resolve) => child.once('exit', resolve));
  assert.deepEqual(fs.readdirSync(directory), [partial], 'only the partial file is there: nothing under the name served');

  const restarted = await TranscodeCache.open({ directory, maxBytes: 1e9 });
  assert.deepEqual(fs.readdirSync(directory), []);
  const { encodeAudioFileTo } = await import('../../src/media/ffmpeg.js');
  const media = await restarted.get(
    key,
    'mp3',
    { write: (file, signal) => encodeAudioFileTo(source, file, { ffmpeg: 'ffmpeg', sampleRate: 8000, format: 'mp3', signal }), takeSlot: () => () => undefined },
    never,
  );
  assert.equal(media.hit, false);
  fs.closeSync(media.fd);
  const info = await probe(path.join(directory, `${key}.mp3`));
  assert.ok(Math.abs(info.duration - 1200) <= 0.1, `${info.duration}`);
});
