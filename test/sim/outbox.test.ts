import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { decodeWavToPcm16, readWavInfo, wavHeader } from '../../src/audio/wav.js';
import { writeRecordingWav } from '../../src/sim/audio.js';
import { combinedWavStream, isValidEmailAddress, writeEmail, type OutboxMail } from '../../src/sim/outbox.js';
import { parseMultipart, type MimePart } from './mime.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sim-outbox-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));

async function collect(stream: AsyncIterable<Buffer>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk);
  return Buffer.concat(chunks);
}

function mail(attachment: OutboxMail['attachment'], overrides: Partial<OutboxMail> = {}): OutboxMail {
  return {
    from: { address: 'jane.doe@uptivity.com', name: 'Jane Doe' },
    to: { address: 'jdoe@uptivity.com' },
    subject: 'Recording 46',
    text: 'Recording 46 of device 200, 3 seconds.',
    attachment,
    ...overrides,
  };
}

describe('isValidEmailAddress', () => {
  const valid = [
    'jdoe@uptivity.com',
    'jane.doe@uptivity.com',
    'first.last+calls@sub.example.co.uk',
    "o'brien@example.ie",
    'recordings@uptivity.invalid',
    'x@xn--bcher-kva.example',
    'agent_7@call-center.example',
    'jos\u00e9@ex\u00e4mple.de',
    `${'a'.repeat(64)}@example.com`,
    `x@${`${'b'.repeat(63)}.`.repeat(3)}${'c'.repeat(56)}.com`, // 254 characters
  ];
  const invalid = [
    '',
    'jdoe',
    'a@b',
    'a b@c.com',
    '@x.com',
    'x@.com',
    'x@com.',
    'x@y..com',
    'x@@y.com',
    'x@y@z.com',
    '.x@y.com',
    'x.@y.com',
    'x..y@z.com',
    'x@-y.com',
    'x@y-.com',
    'x@1.2.3.4',
    'x\t@y.com',
    'x@y.com\n',
    'x\u0000@y.com',
    'x\u200b@y.com',
    'Jane <jane@x.com>',
    '"a b"@x.com',
    `${'a'.repeat(65)}@example.com`,
    `x@${'b'.repeat(64)}.com`,
    `x@${`${'b'.repeat(63)}.`.repeat(3)}${'c'.repeat(57)}.com`, // 255 characters
  ];
  for (const address of valid) test(`accepts ${JSON.stringify(address)}`, () => assert.equal(isValidEmailAddress(address), true));
  for (const address of invalid) test(`refuses ${JSON.stringify(address)}`, () => assert.equal(isValidEmailAddress(address), false));
});

describe('combinedWavStream', () => {
  const parts = [
    { file: path.join(dir, 'parts', 'a-pcm16.wav'), encoding: 'pcm16', seconds: 2 },
    { file: path.join(dir, 'parts', 'b-mulaw.wav'), encoding: 'mulaw', seconds: 3 },
    { file: path.join(dir, 'parts', 'c-alaw.wav'), encoding: 'alaw', seconds: 1 },
  ] as const;
  for (const [i, p] of parts.entries()) {
    writeRecordingWav(p.file, { durationSeconds: p.seconds, encoding: p.encoding, seed: 100 + i, silences: [{ fromMs: 200, toMs: 700 }] });
  }
  const files = parts.map((p) => p.file);

  test('is one 16-bit WAV whose length is the sum of its parts, their audio in order', async () => {
    const combined = await collect(combinedWavStream(files));
    assert.equal(combined.length, 44 + (2 + 3 + 1) * 8000 * 2);
    assert.ok(combined.subarray(0, 44).equals(wavHeader(6 * 8000 * 2, 'pcm16')));
    const expected = Buffer.concat(await Promise.all(files.map((f) => collect(decodeWavToPcm16(f)))));
    assert.ok(combined.subarray(44).equals(expected));

    const written = path.join(dir, 'combined.wav');
    fs.writeFileSync(written, combined);
    assert.deepEqual(readWavInfo(written), { encoding: 'pcm16', sampleRate: 8000, channels: 1, dataOffset: 44, dataBytes: 96000, durationSeconds: 6 });
  });

  test('of no recordings is an empty WAV', async () => {
    assert.ok((await collect(combinedWavStream([]))).equals(wavHeader(0, 'pcm16')));
  });

  test('refuses at once a file at another sample rate, or one that is not a WAV, naming it', () => {
    const wideband = path.join(dir, 'wideband.wav');
    const header = wavHeader(320, 'pcm16');
    header.writeUInt32LE(16000, 24);
    header.writeUInt32LE(32000, 28);
    fs.writeFileSync(wideband, Buffer.concat([header, Buffer.alloc(320)]));
    assert.throws(() => combinedWavStream([files[0]!, wideband]), /wideband\.wav is 1-channel 16000 Hz audio; recordings combine only as 8000 Hz mono/);
    const text = path.join(dir, 'readme.txt');
    fs.writeFileSync(text, 'hello');
    assert.throws(() => combinedWavStream([text]), /readme\.txt is not a WAV file/);
    assert.throws(() => combinedWavStream([path.join(dir, 'missing.wav')]), /ENOENT/);
  });

  test('fails the stream when a file no longer holds what its header promised', async () => {
    const shrinking = path.join(dir, 'shrinking.wav');
    writeRecordingWav(shrinking, { durationSeconds: 2, encoding: 'pcm16', seed: 1 });
    const stream = combinedWavStream([shrinking]);
    fs.truncateSync(shrinking, 44 + 1000);
    await assert.rejects(collect(stream), /shrinking\.wav gave 1000 bytes of audio where its header promised 32000/);
  });

  test('ffprobe reads the combined file as 16-bit PCM of the summed duration', async (t) => {
    const written = path.join(dir, 'combined-probe.wav');
    fs.writeFileSync(written, await collect(combinedWavStream(files)));
    const run = spawnSync('ffprobe', ['-v', 'error', '-show_entries', 'stream=codec_name,sample_rate:format=duration', '-of', 'json', written], { encoding: 'utf8' });
    if (run.error) {
      t.skip('ffprobe is not on PATH');
      return;
    }
    const probe = JSON.parse(run.stdout) as { streams: { codec_name: string; sample_rate: string }[]; format: { duration: string } };
    assert.equal(probe.streams[0]!.codec_name, 'pcm_s16le');
    assert.equal(probe.streams[0]!.sample_rate, '8000');
    assert.equal(Math.round(Number(probe.format.duration) * 1000), 6000);
  });
});

describe('writeEmail', () => {
  const source = path.join(dir, 'recordings', '46.wav');
  writeRecordingWav(source, { durationSeconds: 3, encoding: 'mulaw', seed: 46 });

  test('writes a MIME message with the headers, the text and the recording as a base64 attachment', async () => {
    const outbox = path.join(dir, 'outbox-one');
    const date = new Date('2024-03-05T06:07:08.009Z');
    const { path: file, bytes } = await writeEmail(
      outbox,
      mail({ filename: '46.wav', contentType: 'audio/wav', content: fs.createReadStream(source) }, { date }),
    );
    assert.equal(path.dirname(file), outbox);
    assert.match(path.basename(file), /^20240305T060708009Z-\d{6}\.eml$/);
    assert.deepEqual(fs.readdirSync(outbox), [path.basename(file)], 'nothing but the message (no temporary file)');
    assert.equal(fs.statSync(file).size, bytes);

    const text = fs.readFileSync(file, 'latin1');
    assert.equal(text.replace(/\r\n/g, '').includes('\n'), false, 'every line ends in CRLF');
    const { headers, parts } = parseMultipart(text);
    assert.equal(headers.get('from'), 'Jane Doe <jane.doe@uptivity.com>');
    assert.equal(headers.get('to'), 'jdoe@uptivity.com');
    assert.equal(headers.get('subject'), 'Recording 46');
    assert.equal(headers.get('date'), 'Tue, 05 Mar 2024 06:07:08 +0000');
    assert.equal(headers.get('mime-version'), '1.0');
    assert.match(headers.get('message-id') ?? '', /^<[^<>@\s]+@[^<>\s]+>$/);

    assert.equal(parts.length, 2);
    const [body, attachment] = parts as [MimePart, MimePart];
    assert.match(body.headers.get('content-type') ?? '', /^text\/plain/);
    assert.equal(body.body, 'Recording 46 of device 200, 3 seconds.');
    assert.match(attachment.headers.get('content-type') ?? '', /^audio\/wav; name="?46\.wav"?$/);
    assert.match(attachment.headers.get('content-disposition') ?? '', /^attachment; filename="?46\.wav"?$/);
    assert.equal(attachment.headers.get('content-transfer-encoding'), 'base64');
    const lines = attachment.body.split('\r\n');
    assert.ok(lines.every((line) => line.length <= 76 && /^[A-Za-z0-9+/=]*$/.test(line)), 'base64 in lines of at most 76');
    assert.ok(Buffer.from(lines.join(''), 'base64').equals(fs.readFileSync(source)), 'the attachment is the recording, byte for byte');
  });

  test('encodes display names that are not ASCII, on both addresses', async () => {
    const outbox = path.join(dir, 'outbox-names');
    const { path: file } = await writeEmail(
      outbox,
      mail(
        { filename: '46.wav', contentType: 'audio/wav', content: fs.createReadStream(source) },
        { from: { address: 'zoe@uptivity.com', name: 'Zo\u00eb Agent' }, to: { address: 'jane.doe@uptivity.com', name: 'jane' } },
      ),
    );
    const { headers } = parseMultipart(fs.readFileSync(file, 'latin1'));
    assert.match(headers.get('from') ?? '', /^=\?UTF-8\?[QB]\?.+\?= <zoe@uptivity\.com>$/i);
    assert.equal(headers.get('to'), 'jane <jane.doe@uptivity.com>');
  });

  test('names messages so that they sort in the order written, even within one millisecond', async () => {
    const outbox = path.join(dir, 'outbox-order');
    const date = new Date('2024-03-05T06:07:08.009Z');
    const written: string[] = [];
    for (let i = 0; i < 3; i++) {
      const content = Readable.from([Buffer.from(`attachment ${i}`)]);
      written.push((await writeEmail(outbox, mail({ filename: `${i}.wav`, contentType: 'audio/wav', content }, { date }))).path);
    }
    assert.equal(new Set(written).size, 3);
    assert.deepEqual(fs.readdirSync(outbox).sort(), written.map((f) => path.basename(f)));
  });

  test('attaches a combined recording: its decoded bytes are the combined WAV', async () => {
    const outbox = path.join(dir, 'outbox-combined');
    const other = path.join(dir, 'recordings', '47.wav');
    writeRecordingWav(other, { durationSeconds: 2, encoding: 'pcm16', seed: 47 });
    const { path: file } = await writeEmail(
      outbox,
      mail({ filename: 'combined-46.wav', contentType: 'audio/wav', content: combinedWavStream([source, other]) }, { subject: 'Recordings 46,47' }),
    );
    const { parts } = parseMultipart(fs.readFileSync(file, 'latin1'));
    const attached = Buffer.from(parts[1]!.body.replace(/\r\n/g, ''), 'base64');
    assert.equal(attached.length, 44 + (3 + 2) * 8000 * 2);
    assert.ok(attached.equals(await collect(combinedWavStream([source, other]))));
  });

  test('leaves nothing in the outbox when the attachment fails midway', async () => {
    const outbox = path.join(dir, 'outbox-failed');
    async function* failing(): AsyncGenerator<Buffer> {
      yield Buffer.alloc(100_000, 1);
      throw new Error('disk went away');
    }
    await assert.rejects(writeEmail(outbox, mail({ filename: 'x.wav', contentType: 'audio/wav', content: Readable.from(failing()) })), /disk went away/);
    assert.deepEqual(fs.readdirSync(outbox), []);
  });

  test('a 30-minute attachment streams through without being held in memory', () => {
    const recording = path.join(dir, 'long', 'thirty-minutes.wav');
    const outbox = path.join(dir, 'outbox-long');
    writeRecordingWav(recording, { durationSeconds: 1800, encoding: 'pcm16', seed: 30 });
    const outboxUrl = new URL('../../src/sim/outbox.js', import.meta.url).href;
    // In a fresh process, so that the high-water mark of its resident memory measures this message.
    const script = `
      import { writeEmail, combinedWavStream } from ${JSON.stringify(outboxUrl)};
      const message = () => ({
        from: { address: 'jane.doe@uptivity.com' },
        to: { address: 'jdoe@uptivity.com' },
        subject: 'Recording 30',
        text: 'Half an hour.',
        attachment: { filename: '30.wav', contentType: 'audio/wav', content: combinedWavStream([${JSON.stringify(recording)}]) },
      });
      await writeEmail(${JSON.stringify(path.join(dir, 'outbox-warm-up'))}, { ...message(), attachment: { ...message().attachment, content: combinedWavStream([]) } });
      globalThis.gc();
      const before = process.memoryUsage();
      const peakBefore = process.resourceUsage().maxRSS;
      const { bytes } = await writeEmail(${JSON.stringify(outbox)}, message());
      // What is still held once garbage is collected; the transient use is the peak RSS below.
      globalThis.gc();
      const after = process.memoryUsage();
      console.log(JSON.stringify({ bytes, arrayBuffers: after.arrayBuffers - before.arrayBuffers, peakRss: (process.resourceUsage().maxRSS - peakBefore) * 1024 }));`;
    const run = spawnSync(process.execPath, ['--expose-gc', '--input-type=module', '-e', script], { encoding: 'utf8' });
    assert.equal(run.status, 0, run.stderr);
    const growth = JSON.parse(run.stdout) as { bytes: number; arrayBuffers: number; peakRss: number };
    const MB = 1024 * 1024;
    // 28.8 MB of WAV is 38.9 MB of base64.
    assert.ok(growth.bytes > (28.8e6 * 4) / 3, `a message of ${growth.bytes} bytes`);
    assert.ok(growth.arrayBuffers < 8 * MB, `array buffers grew by ${growth.arrayBuffers} bytes`);
    // Streaming grows the peak by some 20 MB (up to 26 MB seen on a loaded machine, where the GC's
    // helper threads run late); holding the WAV or the message would add 29 to 39 MB to that.
    assert.ok(growth.peakRss < 32 * MB, `peak resident memory grew by ${growth.peakRss} bytes`);
  });
});
