/**
 * MULTIEXPORT's streamed ZIP, checked with Info-ZIP's `unzip` rather than by our own reading: the
 * archive is valid and stored, holds the sources byte for byte, opens one source at a time, lets a
 * slow reader hold the sources back, and stops cleanly when the reader or the signal goes away.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, test } from 'node:test';
import { promisify } from 'node:util';
import { multiExportZip, type ZipEntrySource } from '../../src/media/zip-export.js';

const run = promisify(execFile);
const base = fs.mkdtempSync(path.join(os.tmpdir(), 'zip-export-'));
// A stream a test cut short may still be closing its file: let it, then retry rather than fail on ENOTEMPTY.
after(async () => {
  await new Promise((resolve) => setTimeout(resolve, 500));
  await fs.promises.rm(base, { recursive: true, force: true, maxRetries: 10, retryDelay: 100 });
});

const recordingCount = 30;
const recordings: string[] = [];
fs.mkdirSync(path.join(base, 'recordings'));
for (let i = 0; i < recordingCount; i++) {
  const file = path.join(base, 'recordings', `7005-13-35-${String(i).padStart(2, '0')}.wav`);
  fs.writeFileSync(file, crypto.randomBytes(200_000 + crypto.randomInt(200_000)));
  recordings.push(file);
}

function sha256(bytes: Buffer): string {
  return crypto.createHash('sha256').update(bytes).digest('hex');
}

/** Entries whose sources are file streams, counting how many are opened and open at once. */
function watchedEntries(files: string[]) {
  const watch = { opened: 0, open: 0, maxOpen: 0, openedBytes: 0, sources: [] as fs.ReadStream[] };
  const entries: ZipEntrySource[] = files.map((file) => ({
    name: path.basename(file),
    date: new Date('2026-10-14T13:35:07Z'),
    size: fs.statSync(file).size,
    open: () => {
      watch.opened++;
      watch.openedBytes += fs.statSync(file).size;
      watch.open++;
      watch.maxOpen = Math.max(watch.maxOpen, watch.open);
      const source = fs.createReadStream(file);
      source.on('close', () => watch.open--);
      watch.sources.push(source);
      return source;
    },
  }));
  return { watch, entries };
}

/**
 * Reads the ZIP until `bytes` have arrived, then pauses it. (Leaving a `for await` loop early
 * would destroy the stream, which is not what a slow reader does.)
 */
function readAtLeast(zip: Readable, bytes: number): Promise<void> {
  return new Promise((resolve, reject) => {
    let received = 0;
    const onData = (chunk: Buffer): void => {
      received += chunk.length;
      if (received < bytes) return;
      zip.pause();
      zip.off('data', onData);
      zip.off('error', reject);
      resolve();
    };
    zip.on('data', onData);
    zip.once('error', reject);
  });
}

test('a MULTIEXPORT ZIP passes unzip -t, lists the entries in order, stored, with the same bytes', async () => {
  const { watch, entries } = watchedEntries(recordings);
  const zipFile = path.join(base, 'multi.zip');
  await pipeline(multiExportZip(entries), fs.createWriteStream(zipFile));

  const tested = await run('unzip', ['-t', zipFile]);
  assert.match(tested.stdout, /No errors detected/);

  const listed = await run('unzip', ['-l', zipFile]);
  const names = listed.stdout
    .split('\n')
    .map((line) => /\d\d:\d\d\s+(\S+\.wav)$/.exec(line.trim())?.[1])
    .filter((name): name is string => name !== undefined);
  assert.deepEqual(names, recordings.map((file) => path.basename(file)));

  const verbose = await run('unzip', ['-v', zipFile]);
  const methods = verbose.stdout.split('\n').filter((line) => line.includes('.wav'));
  assert.equal(methods.length, recordingCount);
  for (const line of methods) assert.match(line, /\bStored\b/);

  const extracted = path.join(base, 'extracted');
  await run('unzip', ['-q', zipFile, '-d', extracted]);
  for (const file of recordings) {
    assert.equal(
      sha256(fs.readFileSync(path.join(extracted, path.basename(file)))),
      sha256(fs.readFileSync(file)),
      path.basename(file),
    );
  }
  assert.equal(watch.opened, recordingCount);
  assert.equal(watch.open, 0);
});

test('a sync iterable, an async generator and async open() all work as entry lists', async () => {
  async function* lazily(): AsyncGenerator<ZipEntrySource> {
    for (const file of recordings.slice(0, 3)) {
      await sleep(1);
      yield { name: path.basename(file), open: async () => fs.createReadStream(file) };
    }
  }
  const zipFile = path.join(base, 'generated.zip');
  await pipeline(multiExportZip(lazily()), fs.createWriteStream(zipFile));
  assert.match((await run('unzip', ['-t', zipFile])).stdout, /No errors detected/);

  const empty = path.join(base, 'empty.zip');
  await pipeline(multiExportZip([]), fs.createWriteStream(empty));
  // An empty archive is still a ZIP (just the end-of-central-directory record).
  assert.equal(fs.statSync(empty).size, 22);
});

test('only one source is open at a time', async () => {
  const { watch, entries } = watchedEntries(recordings);
  await pipeline(multiExportZip(entries), fs.createWriteStream(path.join(base, 'one-at-a-time.zip')));
  assert.equal(watch.opened, recordingCount);
  assert.equal(watch.maxOpen, 1);
});

test('a reader that does not read holds the sources back', async () => {
  // Ninety entries, about 27 MB: far more than the stream buffers hold.
  const many = [...recordings, ...recordings, ...recordings];
  const { watch, entries } = watchedEntries(many);
  const zip = multiExportZip(entries);
  await readAtLeast(zip, 100_000);
  await sleep(300);
  const openedWhilePaused = watch.opened;
  await sleep(300);
  assert.equal(watch.opened, openedWhilePaused, 'nothing more is opened while the reader waits');
  // What is read ahead is bounded by the stream buffers (a few MiB), not by the entries.
  assert.ok(openedWhilePaused < many.length, `${openedWhilePaused} of ${many.length} sources opened`);
  assert.ok(watch.openedBytes <= 8 * 1024 * 1024, `${watch.openedBytes} bytes of sources read ahead`);

  let bytes = 0;
  for await (const chunk of zip) bytes += (chunk as Buffer).length;
  assert.ok(bytes > 0);
  assert.equal(watch.opened, many.length);
  assert.equal(watch.maxOpen, 1);
});

test('destroying the ZIP mid-way destroys the open source and opens no more', async () => {
  const { watch, entries } = watchedEntries(recordings);
  const zip = multiExportZip(entries);
  await readAtLeast(zip, 1_500_000);
  zip.destroy();
  const openedAtDestroy = watch.opened;
  assert.ok(openedAtDestroy < recordingCount);
  await sleep(200);
  assert.equal(watch.opened, openedAtDestroy);
  assert.equal(watch.open, 0, 'the open source was closed');
  for (const source of watch.sources) assert.ok(source.destroyed);
});

test('aborting the signal errors the ZIP with the abort reason and closes the source', async () => {
  const { watch, entries } = watchedEntries(recordings);
  const controller = new AbortController();
  const zip = multiExportZip(entries, { signal: controller.signal });
  await readAtLeast(zip, 500_000);
  controller.abort();
  await assert.rejects(pipeline(zip, fs.createWriteStream(path.join(base, 'aborted.zip'))), {
    name: 'AbortError',
  });
  const openedAtAbort = watch.opened;
  await sleep(100);
  assert.equal(watch.opened, openedAtAbort);
  assert.equal(watch.open, 0);

  const already = AbortSignal.abort();
  const { watch: untouched, entries: more } = watchedEntries(recordings);
  await assert.rejects(pipeline(multiExportZip(more, { signal: already }), fs.createWriteStream(path.join(base, 'a.zip'))));
  assert.equal(untouched.opened, 0);
});

test('a failing source errors the ZIP stream, and nothing after it is opened', async () => {
  const { watch, entries } = watchedEntries(recordings.slice(0, 5));
  let failedOpened = false;
  entries.splice(2, 0, {
    name: 'broken.wav',
    open: () => {
      failedOpened = true;
      let sent = false;
      return new Readable({
        read() {
          if (!sent) {
            sent = true;
            this.push(Buffer.alloc(50_000, 1));
          } else {
            this.destroy(new Error('recording storage went away'));
          }
        },
      });
    },
  });
  await assert.rejects(
    pipeline(multiExportZip(entries), fs.createWriteStream(path.join(base, 'broken.zip'))),
    /recording storage went away/,
  );
  assert.ok(failedOpened);
  await sleep(100);
  assert.equal(watch.opened, 2);
  assert.equal(watch.open, 0);

  const throwing: ZipEntrySource = { name: 'x.wav', open: () => Promise.reject(new Error('no such recording')) };
  await assert.rejects(
    pipeline(multiExportZip([throwing]), fs.createWriteStream(path.join(base, 'throwing.zip'))),
    /no such recording/,
  );
});

/** `bytes` zeros, as `chunk`-sized pushes of one zero-filled buffer. */
function zeros(bytes: number, chunk = 1024 * 1024): Readable {
  const zero = Buffer.alloc(chunk);
  let left = bytes;
  return new Readable({
    read() {
      const n = Math.min(chunk, left);
      left -= n;
      this.push(n === 0 ? null : n === chunk ? zero : zero.subarray(0, n));
    },
  });
}

/**
 * Writes a stream to `file`, leaving runs of zeros as holes: a ZIP of several GiB of silence then
 * takes almost no disk, and `unzip` reads the holes back as zeros.
 */
async function writeSparse(stream: Readable, file: string): Promise<number> {
  const handle = await fs.promises.open(file, 'w');
  const zero = Buffer.alloc(1024 * 1024);
  const isZeros = (chunk: Buffer): boolean => chunk.length <= zero.length && chunk.equals(zero.subarray(0, chunk.length));
  let position = 0;
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      if (!isZeros(chunk)) await handle.write(chunk, 0, chunk.length, position);
      position += chunk.length;
    }
    await handle.truncate(position);
  } finally {
    await handle.close();
  }
  return position;
}

test('past 4 GiB the ZIP switches to ZIP64: an entry larger than 4 GiB, and one that starts beyond it, read back whole', async () => {
  const big = 4 * 1024 ** 3 + 5 * 1024 * 1024;
  const tail = crypto.randomBytes(300_000);
  const zipFile = path.join(base, 'zip64.zip');
  const size = await writeSparse(
    multiExportZip([
      { name: '1-silence.wav', open: () => zeros(big) },
      { name: '2-after.wav', open: () => Readable.from([tail]) },
    ]),
    zipFile,
  );
  try {
    assert.ok(size > big + tail.length, `${size} bytes`);
    // Python's zipfile checks every entry's CRC in a few seconds, where unzip -t takes half a
    // minute over 4 GiB; unzip reads the sizes and the entry beyond 4 GiB.
    const checked = await run('python3', ['-c', 'import sys, zipfile; print(zipfile.ZipFile(sys.argv[1]).testzip())', zipFile]);
    assert.equal(checked.stdout.trim(), 'None', 'no entry has a bad CRC');
    const listed = await run('unzip', ['-l', zipFile]);
    assert.match(listed.stdout, new RegExp(`^\\s*${big}\\s+\\S+\\s+\\S+\\s+1-silence\\.wav$`, 'm'));
    assert.match(listed.stdout, new RegExp(`^\\s*${tail.length}\\s+\\S+\\s+\\S+\\s+2-after\\.wav$`, 'm'));
    assert.match((await run('unzip', ['-t', zipFile, '2-after.wav'])).stdout, /No errors detected/);
    const extracted = await run('unzip', ['-p', zipFile, '2-after.wav'], { encoding: 'buffer', maxBuffer: 1 << 20 });
    assert.ok(extracted.stdout.equals(tail), 'the entry beyond 4 GiB has its bytes');
  } finally {
    fs.rmSync(zipFile, { force: true });
  }
});
