/** The path map: product file names to files here, and nothing outside the configured roots. */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { PathMapError, RecordingFiles, parsePathMap } from '../../src/media/recording-files.js';

const base = fs.mkdtempSync(path.join(os.tmpdir(), 'recording-files-'));
after(() => fs.rmSync(base, { recursive: true, force: true }));
const recordings = path.join(base, 'recordings');
const archive = path.join(base, 'archive');
const outside = path.join(base, 'secret.txt');
fs.mkdirSync(path.join(recordings, '20261014', '7005'), { recursive: true });
fs.mkdirSync(archive, { recursive: true });
fs.writeFileSync(path.join(recordings, '20261014', '7005', '7005-13-35-07.wav'), 'RIFF');
fs.writeFileSync(path.join(archive, 'old.wav'), 'RIFF');
fs.writeFileSync(outside, 'not a recording');
fs.symlinkSync(outside, path.join(recordings, 'link.wav'));
fs.mkdirSync(path.join(recordings, 'adir.wav'));

const files = new RecordingFiles(parsePathMap(`C:\\Recordings\\=${recordings}; D:\\Archive=${archive}`));

test('a product file name maps into its root, in any case and with either slash', async () => {
  const expected = fs.realpathSync(path.join(recordings, '20261014', '7005', '7005-13-35-07.wav'));
  assert.equal(await files.locate('C:\\Recordings\\20261014\\7005\\7005-13-35-07.wav'), expected);
  assert.equal(await files.locate('c:/recordings/20261014/7005/7005-13-35-07.wav'), expected);
  assert.equal(await files.locate('D:\\Archive\\old.wav'), fs.realpathSync(path.join(archive, 'old.wav')));
});

test('names that leave their root, or are not files under one, are refused', async () => {
  const refused = [
    'C:\\Recordings\\..\\secret.txt',
    'C:\\Recordings\\20261014\\..\\..\\secret.txt',
    'C:\\Recordings\\link.wav', // a symlink to a file outside
    'C:\\Recordings\\adir.wav', // a directory
    'C:\\Recordings\\',
    'C:\\Recordings\\missing.wav',
    'E:\\Elsewhere\\x.wav',
    `C:\\Recordings\\a\0b.wav`,
    outside,
  ];
  for (const name of refused) await assert.rejects(files.locate(name), PathMapError, name);
});

test('a malformed map is a configuration error', () => {
  assert.throws(() => parsePathMap('C:\\Recordings\\'), PathMapError);
  assert.throws(() => parsePathMap('=/data'), PathMapError);
  assert.deepEqual(parsePathMap(''), []);
  assert.equal(new RecordingFiles([]).mapped, false);
});
