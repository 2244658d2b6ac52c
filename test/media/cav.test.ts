/**
 * CAV archives, opened with independent tools: Info-ZIP `unzip` for plain ones, 7-Zip for
 * AES-encrypted ones (unzip 6.00 cannot decrypt WinZip AES). Also: the password never shows up in
 * what a failure reports.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { after, test } from 'node:test';
import { inspect, promisify } from 'node:util';
import { cavAudioEntryName, cavLayout, cavMime, cavStream } from '../../src/media/cav.js';
import type { ZipEntrySource } from '../../src/media/zip-export.js';

const run = promisify(execFile);
const base = fs.mkdtempSync(path.join(os.tmpdir(), 'cav-'));
// A stream a test cut short may still be closing its file: let it, then retry rather than fail on ENOTEMPTY.
after(async () => {
  await new Promise((resolve) => setTimeout(resolve, 500));
  await fs.promises.rm(base, { recursive: true, force: true, maxRetries: 10, retryDelay: 100 });
});

const audioFile = path.join(base, '7005-13-35-07.wav');
const audioBytes = crypto.randomBytes(700_000);
fs.writeFileSync(audioFile, audioBytes);
const metadataXml =
  '<?xml version="1.0" encoding="utf-8"?>\n<RECORDING><ID>42</ID><AGENT>Zoë Müller</AGENT>' +
  '<NOTE>callback &amp; follow-up</NOTE></RECORDING>\n';
const password = 'S3cret-pässword!';

const audio: ZipEntrySource = {
  name: path.basename(audioFile),
  date: new Date('2026-10-14T13:35:07Z'),
  open: () => fs.createReadStream(audioFile),
};

function sha256(bytes: Buffer): string {
  return crypto.createHash('sha256').update(bytes).digest('hex');
}

/** Runs a tool and reports its exit code instead of throwing on a non-zero one. */
async function exitCode(command: string, args: string[]): Promise<number> {
  try {
    await run(command, args);
    return 0;
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    return typeof code === 'number' ? code : -1;
  }
}

async function unpackedEntry(command: string, args: string[]): Promise<Buffer> {
  const { stdout } = await run(command, args, { encoding: 'buffer', maxBuffer: 16 * 1024 * 1024 });
  return stdout;
}

test('a CAV without password is a stored ZIP of recording.xml and audio.wav', async () => {
  const file = path.join(base, 'plain.cav');
  await pipeline(cavStream({ audio, metadataXml }), fs.createWriteStream(file));

  assert.match((await run('unzip', ['-t', file])).stdout, /No errors detected/);
  const listed = (await run('unzip', ['-l', file])).stdout;
  const names = listed
    .split('\n')
    .map((line) => /\d\d:\d\d\s+(\S+)$/.exec(line.trim())?.[1])
    .filter((name): name is string => name !== undefined);
  assert.deepEqual(names, [cavLayout.metadataEntry, 'audio.wav']);
  for (const line of (await run('unzip', ['-v', file])).stdout.split('\n').filter((l) => /audio|recording/.test(l))) {
    assert.match(line, /\bStored\b/);
  }

  assert.equal((await unpackedEntry('unzip', ['-p', file, 'recording.xml'])).toString('utf8'), metadataXml);
  assert.equal(sha256(await unpackedEntry('unzip', ['-p', file, 'audio.wav'])), sha256(audioBytes));
  assert.equal(cavMime, 'application/zip');
});

test('the audio entry takes the source extension, wav when there is none', async () => {
  assert.equal(cavAudioEntryName('7005-13-35-07.MP3'), 'audio.mp3');
  assert.equal(cavAudioEntryName('recording'), 'audio.wav');
  assert.equal(cavAudioEntryName('weird.../x'), 'audio.wav');
  assert.equal(cavAudioEntryName('evil.w/../../av'), 'audio.wav');

  const file = path.join(base, 'ogg.cav');
  await pipeline(cavStream({ audio: { ...audio, name: '42.ogg' }, metadataXml }), fs.createWriteStream(file));
  assert.match((await run('unzip', ['-l', file])).stdout, /audio\.ogg/);
});

test('a CAV with password is AES-256 encrypted: 7z opens it with the password only', async () => {
  const file = path.join(base, 'secret.cav');
  await pipeline(cavStream({ audio, metadataXml, password }), fs.createWriteStream(file));

  const technical = (await run('7z', ['l', '-slt', `-p${password}`, file])).stdout;
  assert.match(technical, /Method = AES-256/);
  assert.match(technical, /Encrypted = \+/);

  assert.notEqual(await exitCode('7z', ['t', '-pnot-the-password', file]), 0);
  assert.notEqual(await exitCode('unzip', ['-t', '-P', 'not-the-password', file]), 0);
  assert.equal(await exitCode('7z', ['t', `-p${password}`, file]), 0);

  const xml = await unpackedEntry('7z', ['x', `-p${password}`, '-so', file, 'recording.xml']);
  assert.equal(xml.toString('utf8'), metadataXml);
  const extractedAudio = await unpackedEntry('7z', ['x', `-p${password}`, '-so', file, 'audio.wav']);
  assert.equal(sha256(extractedAudio), sha256(audioBytes));

  // Encryption hides contents, not names: the layout stays listable without the password.
  assert.match((await run('unzip', ['-l', file])).stdout, /recording\.xml[\s\S]*audio\.wav/);
  assert.ok(!fs.readFileSync(file).includes(Buffer.from('Zoë Müller')), 'metadata is not in clear');
});

test('a failing source errors the CAV stream without the password anywhere in the error', async () => {
  const failing: ZipEntrySource = {
    name: 'broken.wav',
    open: () => {
      let sent = false;
      return new Readable({
        read() {
          if (sent) {
            this.destroy(new Error('recording storage went away'));
          } else {
            sent = true;
            this.push(Buffer.alloc(100_000, 7));
          }
        },
      });
    },
  };
  for (const withPassword of [password, undefined]) {
    const caught = await pipeline(
      cavStream({ audio: failing, metadataXml, password: withPassword }),
      fs.createWriteStream(path.join(base, 'broken.cav')),
    ).then(
      () => assert.fail('the CAV stream should have failed'),
      (error: unknown) => error,
    );
    assert.ok(caught instanceof Error);
    assert.match(caught.message, /recording storage went away/);
    const everything = inspect(caught, { depth: Infinity, showHidden: true }) + String(caught.stack);
    assert.ok(!everything.includes(password), 'the password is not in the error');
  }

  const missing: ZipEntrySource = { name: 'gone.wav', open: () => Promise.reject(new Error('no such recording')) };
  const caught = await pipeline(
    cavStream({ audio: missing, metadataXml, password }),
    fs.createWriteStream(path.join(base, 'missing.cav')),
  ).then(() => undefined, (error: unknown) => error);
  assert.ok(caught instanceof Error);
  assert.ok(!inspect(caught, { depth: Infinity, showHidden: true }).includes(password));
});

test('aborting a CAV stops it and closes the audio source', async () => {
  let audioClosed = false;
  const controller = new AbortController();
  const zip = cavStream({
    audio: {
      ...audio,
      open: () => {
        const source = fs.createReadStream(audioFile, { highWaterMark: 16 * 1024 });
        source.on('close', () => {
          audioClosed = true;
        });
        // Abort once the audio is being written.
        source.once('data', () => controller.abort());
        return source;
      },
    },
    metadataXml,
    password,
    signal: controller.signal,
  });
  await assert.rejects(pipeline(zip, fs.createWriteStream(path.join(base, 'aborted.cav'))), { name: 'AbortError' });
  await new Promise((resolve) => setImmediate(resolve));
  assert.ok(audioClosed);
});
