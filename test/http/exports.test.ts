/**
 * EXPORT, COMBINEDEXPORT and MULTIEXPORT over real HTTP, against the seeded simulator's real WAV
 * files. What comes out is checked with tools independent of our code: ffprobe for audio, unzip
 * and 7z for archives.
 */
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { RecordingFiles } from '../../src/media/recording-files.js';
import { wavHeader } from '../../src/audio/wav.js';
import { productRecordingRoot } from '../../src/sim/product-format.js';
import { childText, elementsAt, parseXml } from '../../src/protocol/xml.js';
import { startTestGateway, type TestGateway } from './gateway-harness.js';
import { probe } from './media-probe.js';

const run = promisify(execFile);
let gw: TestGateway;
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'exports-'));

before(async () => {
  gw = await startTestGateway({ seed: true }, {}, { maxTranscodes: 2 });
});
after(async () => {
  await gw.close();
  fs.rmSync(dir, { recursive: true, force: true, maxRetries: 10, retryDelay: 50 });
});

/** Download to a file; the response's status and headers. */
async function download(query: string, name: string, init: RequestInit = {}): Promise<{ status: number; headers: Headers; file: string }> {
  const response = await fetch(`${gw.url}/webAPI.aspx?${query}`, init);
  const file = path.join(dir, name);
  await pipeline(Readable.fromWeb(response.body! as never), fs.createWriteStream(file));
  return { status: response.status, headers: response.headers, file };
}

async function durationOf(ident: string): Promise<number> {
  const body = await (await fetch(`${gw.url}/webAPI.aspx?type=recordinginfo&requestid=1&ident=${ident}`)).text();
  return Number(childText(elementsAt(parseXml(body), 'RECORDINGS/RECORDING')[0]!, 'DURATION'));
}

async function xmlAnswer(query: string): Promise<{ status: number; code: number; message: string; requestId: string }> {
  const response = await fetch(`${gw.url}/webAPI.aspx?${query}`);
  const root = parseXml(await response.text());
  return { status: response.status, code: Number(childText(root, 'RESULTCODE')), message: childText(root, 'RESULTMSG') ?? '', requestId: childText(root, 'REQUESTID') ?? '' };
}

/**
 * A recording row for a file the test put under the recordings directory (`relative` to it): a copy
 * of the seeded recording `like`, with its own IDENT, DURATION and file.
 */
function addRecording(like: number, ident: number, duration: number, relative: readonly string[]): void {
  const db = gw.sim.context.db;
  db.exec(`CREATE TEMP TABLE added AS SELECT * FROM recordings WHERE ident = ${like}`);
  db.prepare('UPDATE added SET ident = ?, duration = ?, filename = ?, media_path = ?').run(ident, duration, `C:\\Recordings\\${relative.join('\\')}`, relative.join('/'));
  db.exec('INSERT INTO recordings SELECT * FROM added; DROP TABLE added');
}

function ffmpegChildren(): number[] {
  try {
    return execFileSync('ps', ['-o', 'pid=,comm=', '--ppid', String(process.pid)], { encoding: 'utf8' })
      .split('\n')
      .filter((l) => /ffmpeg/.test(l))
      .map((l) => Number(l.trim().split(/\s+/)[0]));
  } catch {
    return []; // ps exits 1 when there is no child at all
  }
}

async function noFfmpegLeft(): Promise<void> {
  const deadline = Date.now() + 5000;
  while (ffmpegChildren().length > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  assert.deepEqual(ffmpegChildren(), [], 'no ffmpeg process is left');
}

describe("the manual's example URLs", () => {
  test('EXPORT by USER2 as mp3 (ENCRYPT applies to CAV only)', async () => {
    const { status, headers, file } = await download(
      'type=export&requestid=10482345&uniquefield=user2&uniqueid=10121968&media_format=mp3&encrypt=Y&password=test',
      'export.mp3',
    );
    assert.equal(status, 200);
    assert.equal(headers.get('content-type'), 'audio/mpeg');
    assert.match(headers.get('content-disposition') ?? '', /^attachment; filename="?10121968\.mp3"?$/);
    // A media export is written on the raw response: the security headers reach it all the same.
    assert.equal(headers.get('x-content-type-options'), 'nosniff');
    assert.equal(headers.get('x-frame-options'), 'DENY');
    const info = await probe(file);
    assert.equal(info.codec, 'mp3');
    assert.ok(Math.abs(info.duration - (await durationOf('10121968'))) <= 0.1, `${info.duration}`);
  });

  test('COMBINEDEXPORT (and COMBINEEXPORT) lasts the sum of its parts', async () => {
    const parts = await Promise.all(['10121967', '10121968', '10121969'].map(durationOf));
    for (const type of ['combinedexport', 'combineexport']) {
      const { status, headers, file } = await download(`type=${type}&requestid=10482345&ident=10121967,10121968,10121969&media_format=mp3`, `${type}.mp3`);
      assert.equal(status, 200);
      assert.match(headers.get('content-disposition') ?? '', /filename="?10121967-10121969-combined\.mp3"?$/);
      const info = await probe(file);
      assert.equal(info.codec, 'mp3');
      assert.ok(Math.abs(info.duration - parts.reduce((a, b) => a + b, 0)) <= 0.1, `${info.duration} vs ${parts.join('+')}`);
    }
  });

  test('COMBINEDEXPORT of recordings at different rates: the 8 kHz part is resampled to 16 kHz', async () => {
    // A wideband recording beside the seeded 8 kHz ones: a 3 s 16 kHz PCM WAV, and its row.
    const seconds = 3;
    const samples = new Int16Array(16000 * seconds).map((_, i) => Math.round(8000 * Math.sin((2 * Math.PI * 440 * i) / 16000)));
    const relative = ['wideband', 'wide-16k.wav'];
    fs.mkdirSync(path.join(gw.sim.context.recordingsDir, relative[0]!), { recursive: true });
    fs.writeFileSync(path.join(gw.sim.context.recordingsDir, ...relative), Buffer.concat([wavHeader(samples.byteLength, 'pcm16', 16000, 1), Buffer.from(samples.buffer)]));
    addRecording(10121902, 99000001, seconds, relative);
    const { status, file } = await download('type=combinedexport&requestid=17&ident=10121902,99000001&media_format=wav', 'mixed.wav');
    assert.equal(status, 200);
    const info = await probe(file);
    assert.equal(info.codec, 'pcm_s16le');
    assert.equal(info.sampleRate, 16000);
    assert.ok(Math.abs(info.duration - ((await durationOf('10121902')) + seconds)) <= 0.1, `${info.duration}`);
  });

  test('EXPORT by a column that is not unique gives the newest recording holding the value', async () => {
    const db = gw.sim.context.db;
    const { device_id: device } = db.prepare('SELECT device_id FROM recordings WHERE ident = 10121905').get() as { device_id: string };
    const newest = db
      .prepare('SELECT ident FROM recordings WHERE device_id = ? ORDER BY recording_time DESC, ident DESC LIMIT 1')
      .get(device) as { ident: number };
    const count = db.prepare('SELECT COUNT(*) AS n FROM recordings WHERE device_id = ?').get(device) as { n: number };
    assert.ok(count.n > 1, 'the device has several recordings');
    const { status, headers } = await download(`type=export&requestid=18&uniquefield=device_id&uniqueid=${encodeURIComponent(device)}&media_format=pcm`, 'newest.pcm');
    assert.equal(status, 200);
    assert.match(headers.get('content-disposition') ?? '', new RegExp(`filename="?${newest.ident}\\.pcm"?$`));
  });

  test('a recording that is not a WAV (an mp3 on disk) is decoded by ffmpeg', async () => {
    const relative = ['other', 'call.mp3'];
    const source = path.join(gw.sim.context.recordingsDir, ...relative);
    fs.mkdirSync(path.dirname(source), { recursive: true });
    execFileSync('ffmpeg', ['-v', 'error', '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=16000:duration=4', '-codec:a', 'libmp3lame', '-y', source]);
    addRecording(10121903, 99000002, 4, relative);
    const { status, file } = await download('type=export&requestid=19&uniquefield=ident&uniqueid=99000002&media_format=wav', 'from-mp3.wav');
    assert.equal(status, 200);
    const info = await probe(file);
    assert.equal(info.codec, 'pcm_s16le');
    assert.equal(info.sampleRate, 16000);
    // The mp3's own encoder delay comes along: within its 0.1 s.
    assert.ok(Math.abs(info.duration - 4) <= 0.1, `${info.duration}`);
  });

  test('MULTIEXPORT is a ZIP with one entry per IDENT, in order', async () => {
    const { status, headers, file } = await download('type=multiexport&requestid=10482345&ident=10121967,10121968,10121969&media_format=mp3', 'multi.zip');
    assert.equal(status, 200);
    assert.equal(headers.get('content-type'), 'application/zip');
    await run('unzip', ['-tq', file]);
    const { stdout } = await run('unzip', ['-Z1', file]);
    assert.deepEqual(stdout.trim().split('\n'), ['1-10121967.mp3', '2-10121968.mp3', '3-10121969.mp3']);
    execFileSync('unzip', ['-o', '-q', file, '2-10121968.mp3', '-d', dir]);
    const info = await probe(path.join(dir, '2-10121968.mp3'));
    assert.equal(info.codec, 'mp3');
    assert.ok(Math.abs(info.duration - (await durationOf('10121968'))) <= 0.1);
  });
});

describe('every format', () => {
  // The seeded recordings are 8 kHz; MP3 is written at 16 kHz at least; Opus always decodes at 48 kHz.
  const expected: Record<string, { codec: string; mime: string; sampleRate: number }> = {
    wav: { codec: 'pcm_s16le', mime: 'audio/wav', sampleRate: 8000 },
    mp3: { codec: 'mp3', mime: 'audio/mpeg', sampleRate: 16000 },
    m4a: { codec: 'aac', mime: 'audio/mp4', sampleRate: 8000 },
    webm: { codec: 'opus', mime: 'audio/webm', sampleRate: 48000 },
    opus: { codec: 'opus', mime: 'audio/ogg', sampleRate: 48000 },
  };
  for (const [format, want] of Object.entries(expected)) {
    test(`${format}: ${want.codec}, the recording's duration`, async () => {
      const { status, headers, file } = await download(`type=export&requestid=2&uniquefield=ident&uniqueid=10121970&media_format=${format}`, `f.${format}`);
      assert.equal(status, 200);
      assert.equal(headers.get('content-type'), want.mime);
      const info = await probe(file);
      assert.equal(info.codec, want.codec);
      assert.equal(info.sampleRate, want.sampleRate, `${format} sample rate`);
      assert.equal(info.channels, 1);
      assert.ok(Math.abs(info.duration - (await durationOf('10121970'))) <= 0.1, `${format}: ${info.duration}`);
    });
  }

  test('pcm: raw 16-bit samples, as many as the recording holds', async () => {
    const { status, headers, file } = await download('type=export&requestid=2&uniquefield=ident&uniqueid=10121970&media_format=pcm', 'f.pcm');
    assert.equal(status, 200);
    const bytes = fs.statSync(file).size;
    assert.equal(Number(headers.get('content-length')), bytes);
    assert.ok(Math.abs(bytes / 2 / 8000 - (await durationOf('10121970'))) <= 0.01);
    // ffprobe reads it back as what it is.
    const { stdout } = await run('ffprobe', ['-v', 'error', '-f', 's16le', '-ar', '8000', '-ac', '1', '-show_format', '-of', 'json', file]);
    assert.ok(Math.abs(Number((JSON.parse(stdout) as { format: { duration: string } }).format.duration) - bytes / 16000) < 0.01);
  });

  test('vox: 4-bit ADPCM, half a byte per sample', async () => {
    const { status, file } = await download('type=export&requestid=2&uniquefield=ident&uniqueid=10121970&media_format=vox', 'f.vox');
    assert.equal(status, 200);
    const samples = (await durationOf('10121970')) * 8000;
    assert.ok(Math.abs(fs.statSync(file).size - Math.ceil(samples / 2)) <= 1);
  });

  test('cav: a ZIP of the audio and the recording metadata; encrypted with AES when asked', async () => {
    const plain = await download('type=export&requestid=3&uniquefield=ident&uniqueid=10121971&media_format=cav', 'plain.cav');
    assert.equal(plain.status, 200);
    assert.match(plain.headers.get('content-disposition') ?? '', /filename="?10121971\.cav"?$/);
    const { stdout } = await run('unzip', ['-Z1', plain.file]);
    assert.deepEqual(stdout.trim().split('\n').sort(), ['audio.wav', 'recording.xml']);
    const xml = execFileSync('unzip', ['-p', plain.file, 'recording.xml'], { encoding: 'utf8' });
    assert.match(xml, /<RECORDID>10121971<\/RECORDID>/);

    const sealed = await download('type=export&requestid=3&uniquefield=ident&uniqueid=10121971&media_format=cav&encrypt=Y&password=s3cret', 'sealed.cav');
    assert.equal(sealed.status, 200);
    await assert.rejects(run('7z', ['t', '-pwrong', sealed.file]));
    await run('7z', ['t', '-ps3cret', sealed.file]);
    const opened = execFileSync('7z', ['x', '-ps3cret', '-so', sealed.file, 'recording.xml'], { encoding: 'utf8' });
    assert.match(opened, /<RECORDID>10121971<\/RECORDID>/);
  });
});

test('a gateway that does not know where recordings are answers API_COMMAND_NOT_SUPPORTED', async () => {
  const bare = await startTestGateway({}, {}, { exports: false });
  try {
    const response = await fetch(`${bare.url}/webAPI.aspx?type=multiexport&requestid=10482345&ident=10121967&media_format=mp3`);
    assert.equal(response.status, 501);
    const root = parseXml(await response.text());
    assert.equal(childText(root, 'RESULTCODE'), '49');
    assert.equal(childText(root, 'REQUESTID'), '10482345');
    assert.deepEqual(bare.received().filter((r) => !r.includes('<TYPE>TEST</TYPE>')), [], 'only the pool\'s probes reached the core');
  } finally {
    await bare.close();
  }
});

describe('ranges, errors and limits', () => {
  test('a WAV export has a Content-Length and serves exact byte ranges', async () => {
    const full = await download('type=export&requestid=4&uniquefield=ident&uniqueid=10121972&media_format=wav', 'full.wav');
    const bytes = fs.readFileSync(full.file);
    assert.equal(full.headers.get('accept-ranges'), 'bytes');
    assert.equal(Number(full.headers.get('content-length')), bytes.length);
    for (const [header, start, end] of [['bytes=0-99', 0, 99], ['bytes=40-50', 40, 50], ['bytes=1000-', 1000, bytes.length - 1], ['bytes=-10', bytes.length - 10, bytes.length - 1]] as const) {
      const part = await download('type=export&requestid=4&uniquefield=ident&uniqueid=10121972&media_format=wav', 'part.wav', { headers: { range: header } });
      assert.equal(part.status, 206, header);
      assert.equal(part.headers.get('content-range'), `bytes ${start}-${end}/${bytes.length}`);
      assert.deepEqual(fs.readFileSync(part.file), bytes.subarray(start, end + 1), header);
    }
    const beyond = await fetch(`${gw.url}/webAPI.aspx?type=export&requestid=4&uniquefield=ident&uniqueid=10121972&media_format=wav`, { headers: { range: `bytes=${bytes.length + 10}-` } });
    assert.equal(beyond.status, 416);
    assert.equal(beyond.headers.get('content-range'), `bytes */${bytes.length}`);
  });

  test('what is missing is named in an XML RESULT, before any byte of media', async () => {
    const unknown = await xmlAnswer('type=export&requestid=5&uniquefield=ident&uniqueid=99999999&media_format=wav');
    assert.equal(unknown.status, 404);
    assert.equal(unknown.code, 41);
    assert.match(unknown.message, /99999999/);
    const oneOfThree = await xmlAnswer('type=multiexport&requestid=6&ident=10121967,99999998,10121969&media_format=wav');
    assert.equal(oneOfThree.status, 404);
    assert.match(oneOfThree.message, /99999998/);
    const noFormat = await xmlAnswer('type=export&requestid=7&uniquefield=ident&uniqueid=10121967');
    assert.equal(noFormat.status, 400);
    assert.equal(noFormat.code, 16);
    assert.match(noFormat.message, /MEDIA_FORMAT/);
    const badFormat = await xmlAnswer('type=export&requestid=8&uniquefield=ident&uniqueid=10121967&media_format=flac');
    assert.equal(badFormat.status, 400);
    const badIdent = await xmlAnswer('type=multiexport&requestid=9&ident=10121967,../../etc&media_format=wav');
    assert.equal(badIdent.status, 400);
    assert.equal(badIdent.requestId, '9');
    const noPassword = await xmlAnswer('type=export&requestid=10&uniquefield=ident&uniqueid=10121967&media_format=cav&encrypt=Y');
    assert.equal(noPassword.status, 400);
  });

  test('more than a WAV holds (4 GiB of samples) is refused as wav and cav before a byte, and served as pcm', async () => {
    // 2 GiB and a little of mu-law codes decode to more than 4 GiB of 16-bit samples. The file is
    // sparse: only its header takes disk, and only its header is read.
    const relative = ['long', 'ninety-hours.wav'];
    const file = path.join(gw.sim.context.recordingsDir, ...relative);
    const codes = 2 ** 31 + 1000;
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, wavHeader(codes, 'mulaw'));
    fs.truncateSync(file, fs.statSync(file).size + codes);
    try {
      addRecording(10121903, 99000003, Math.round(codes / 8000), relative);
      for (const format of ['wav', 'cav']) {
        const refused = await xmlAnswer(`type=export&requestid=11&uniquefield=ident&uniqueid=99000003&media_format=${format}`);
        assert.equal(refused.status, 400, format);
        assert.equal(refused.code, 16, format);
        assert.match(refused.message, new RegExp(`${2 * codes} bytes.*mp3`), format);
      }
      const combined = await xmlAnswer('type=combinedexport&requestid=12&ident=10121967,99000003&media_format=wav');
      assert.equal(combined.status, 400);
      const head = await download('type=export&requestid=13&uniquefield=ident&uniqueid=99000003&media_format=pcm', 'long.pcm', { headers: { range: 'bytes=0-99' } });
      assert.equal(head.status, 206);
      assert.equal(head.headers.get('content-range'), `bytes 0-99/${2 * codes}`);
      assert.equal(fs.statSync(head.file).size, 100);
    } finally {
      fs.rmSync(file, { force: true });
    }
  });

  test('a recording ffmpeg cannot read fails before its first byte: an XML RESULT 11, not a cut-off download', async () => {
    const relative = ['broken', 'not-audio.wav'];
    const file = path.join(gw.sim.context.recordingsDir, ...relative);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, Buffer.from('this is not audio of any kind\n'.repeat(100)));
    addRecording(10121903, 99000004, 3, relative);
    const response = await fetch(`${gw.url}/webAPI.aspx?type=export&requestid=14&uniquefield=ident&uniqueid=99000004&media_format=mp3`);
    assert.equal(response.status, 500);
    assert.match(response.headers.get('content-type') ?? '', /^text\/xml/);
    assert.equal(response.headers.get('content-disposition'), null);
    const root = parseXml(await response.text());
    assert.equal(childText(root, 'RESULTCODE'), '11');
    assert.equal(childText(root, 'REQUESTID'), '14');
    await noFfmpegLeft();
  });

  test('a recording whose file is gone is a 404 naming it', async () => {
    const info = await (await fetch(`${gw.url}/webAPI.aspx?type=recordinginfo&requestid=1&ident=10121973`)).text();
    const productFile = childText(elementsAt(parseXml(info), 'RECORDINGS/RECORDING')[0]!, 'FILENAME')!;
    const local = await new RecordingFiles([{ productRoot: productRecordingRoot, directory: gw.sim.context.recordingsDir }]).locate(productFile);
    fs.renameSync(local, `${local}.away`);
    try {
      const answer = await xmlAnswer('type=export&requestid=11&uniquefield=ident&uniqueid=10121973&media_format=wav');
      assert.equal(answer.status, 404);
      assert.equal(answer.code, 41);
      assert.match(answer.message, /10121973/);
    } finally {
      fs.renameSync(`${local}.away`, local);
    }
  });

  test('a caller who disconnects mid-stream leaves no ffmpeg behind', async () => {
    const controller = new AbortController();
    const response = await fetch(`${gw.url}/webAPI.aspx?type=combinedexport&requestid=12&ident=10121901,10121901,10121901&media_format=mp3`, { signal: controller.signal });
    const reader = response.body!.getReader();
    await reader.read();
    assert.ok(ffmpegChildren().length > 0, 'ffmpeg runs while the export streams');
    controller.abort();
    await noFfmpegLeft();
  });

  test('past the transcode bound, callers get 503 at once', async () => {
    // A kept export needs no slot: this one is made now, and served from the cache below.
    const kept = await fetch(`${gw.url}/api/v1/recordings/10121906/media?format=mp3`);
    assert.equal(kept.status, 200);
    await kept.arrayBuffer();
    // Combined exports stream as they are encoded: two of them hold both slots while they are read.
    const held = await Promise.all(
      [1, 2].map(async () => {
        const controller = new AbortController();
        const response = await fetch(`${gw.url}/webAPI.aspx?type=combinedexport&requestid=13&ident=10121901,10121901,10121901&media_format=mp3`, { signal: controller.signal });
        await response.body!.getReader().read();
        return { controller, response };
      }),
    );
    const refused = await fetch(`${gw.url}/webAPI.aspx?type=export&requestid=14&uniquefield=ident&uniqueid=10121905&media_format=mp3`);
    assert.equal(refused.status, 503);
    assert.equal(refused.headers.get('retry-after'), '5');
    assert.equal(refused.headers.get('etag'), null);
    await refused.text();
    // HEAD of an export not yet made must make it to know its length: it needs a slot too.
    const headRefused = await fetch(`${gw.url}/api/v1/recordings/10121905/media?format=mp3`, { method: 'HEAD' });
    assert.equal(headRefused.status, 503);
    // WAV needs no ffmpeg: it is served meanwhile.
    const wav = await fetch(`${gw.url}/webAPI.aspx?type=export&requestid=15&uniquefield=ident&uniqueid=10121902&media_format=wav`);
    assert.equal(wav.status, 200);
    await wav.arrayBuffer();
    // Nor does an export already kept, GET or HEAD.
    const again = await fetch(`${gw.url}/api/v1/recordings/10121906/media?format=mp3`);
    assert.equal(again.status, 200);
    assert.equal((await again.arrayBuffer()).byteLength, Number(kept.headers.get('content-length')));
    const head = await fetch(`${gw.url}/api/v1/recordings/10121906/media?format=mp3`, { method: 'HEAD' });
    assert.equal(head.status, 200);
    assert.equal(head.headers.get('content-type'), 'audio/mpeg');
    assert.match(head.headers.get('content-disposition') ?? '', /filename="?10121906\.mp3"?/);
    assert.equal(head.headers.get('content-length'), kept.headers.get('content-length'));
    for (const h of held) h.controller.abort();
    await noFfmpegLeft();
    const metrics = await (await fetch(`${gw.url}/metrics`)).text();
    assert.match(metrics, /uptivity_export_requests_total\{function="EXPORT",format="mp3"\} [1-9]/);
    assert.match(metrics, /uptivity_export_bytes_total\{function="EXPORT"\} [1-9]/);
  });

  test("MULTIEXPORT of the 200 seeded recordings streams in bounded memory", async () => {
    const idents = Array.from({ length: 200 }, (_, i) => String(10121901 + i)).join(',');
    const before = process.memoryUsage().rss;
    let peak = before;
    const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 20);
    const response = await fetch(`${gw.url}/webAPI.aspx?type=multiexport&requestid=16&ident=${idents}&media_format=wav`);
    assert.equal(response.status, 200);
    const file = path.join(dir, 'all.zip');
    await pipeline(Readable.fromWeb(response.body! as never), fs.createWriteStream(file));
    clearInterval(sampler);
    const size = fs.statSync(file).size;
    assert.ok(size > 100 * 1024 * 1024, `${size} bytes of audio`);
    assert.ok(peak - before < 100 * 1024 * 1024, `RSS grew by ${Math.round((peak - before) / 1e6)} MB while ${Math.round(size / 1e6)} MB streamed`);
    await run('unzip', ['-tq', file]);
    fs.rmSync(file);
  });

  test('HEAD of a REST media route gives the headers of the export without exporting', async () => {
    const url = `${gw.url}/api/v1/recordings/10121902/media?format=wav`;
    const exported = (): Promise<string> =>
      fetch(`${gw.url}/metrics`)
        .then((r) => r.text())
        .then((text) => /uptivity_export_requests_total\{function="EXPORT",format="wav"\} (\d+)/.exec(text)?.[1] ?? '0');
    const get = await fetch(url);
    const body = Buffer.from(await get.arrayBuffer());
    const before = await exported();
    const head = await fetch(url, { method: 'HEAD', headers: { range: 'bytes=0-99' } });
    assert.equal(head.status, 200, 'Range is for GET');
    for (const name of ['content-type', 'content-disposition', 'accept-ranges']) assert.equal(head.headers.get(name), get.headers.get(name), name);
    assert.equal(head.headers.get('content-length'), String(body.length));
    assert.equal((await head.arrayBuffer()).byteLength, 0);
    assert.equal(await exported(), before, 'no export was started');
  });
});
