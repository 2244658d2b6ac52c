/**
 * EMAIL, COMBINEDEMAIL and RECORDINGINFO of the simulator over real TCP, against the seeded
 * dataset. The mails land as .eml files in `<dataDir>/outbox/`; the tests open them, decode the
 * base64 attachment and check that it is the WAV of the recordings asked for, sample for sample as
 * long as their DURATION says.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { XmlElement } from '../../src/protocol/xml.js';
import type { RunningSimulator } from '../../src/sim/simulator.js';
import { all, CoreClient, field, startTestSimulator, type Answer } from './harness.js';
import { parseMultipart, type MimePart } from './mime.js';

function expectResult(answer: Answer, requestType: string, code: number, type: string, message?: string | RegExp): void {
  assert.equal(answer.requestType, requestType, answer.xml);
  assert.equal(answer.code, code, answer.xml);
  assert.equal(answer.type, type, answer.xml);
  if (typeof message === 'string') assert.equal(answer.message, message, answer.xml);
  else if (message) assert.match(answer.message, message, answer.xml);
}

/** 8 kHz, 16-bit, mono. */
const bytesPerSecond = 16_000;

const hasFfmpeg = spawnSync('ffmpeg', ['-version'], { stdio: 'ignore' }).status === 0;

// ---------------------------------------------------------------------------------------------
// Reading the outbox

interface Mail {
  file: string;
  headers: Map<string, string>;
  parts: MimePart[];
}

function parseMail(file: string): Mail {
  return { file, ...parseMultipart(fs.readFileSync(file, 'latin1')) };
}

interface Attachment {
  filename: string;
  contentType: string;
  bytes: Buffer;
}

function attachmentOf(mail: Mail): Attachment {
  const parts = mail.parts.filter((p) => /^attachment/i.test(p.headers.get('content-disposition') ?? ''));
  assert.equal(parts.length, 1, 'one attachment');
  const part = parts[0]!;
  assert.equal(part.headers.get('content-transfer-encoding')?.toLowerCase(), 'base64');
  const filename = /filename="?([^";]+)"?/i.exec(part.headers.get('content-disposition')!)?.[1] ?? '';
  return {
    filename,
    contentType: (part.headers.get('content-type') ?? '').split(';')[0]!.trim().toLowerCase(),
    bytes: Buffer.from(part.body.replace(/\s+/g, ''), 'base64'),
  };
}

interface Wav {
  formatTag: number;
  channels: number;
  sampleRate: number;
  byteRate: number;
  blockAlign: number;
  bitsPerSample: number;
  data: Buffer;
}

/** A RIFF/WAVE file, checked chunk by chunk. */
function parseWav(bytes: Buffer): Wav {
  assert.ok(bytes.length >= 44, 'too short for a WAV');
  assert.equal(bytes.toString('ascii', 0, 4), 'RIFF');
  assert.equal(bytes.readUInt32LE(4), bytes.length - 8, 'the RIFF size is the file size less 8');
  assert.equal(bytes.toString('ascii', 8, 12), 'WAVE');
  let fmt: Omit<Wav, 'data'> | undefined;
  let data: Buffer | undefined;
  for (let at = 12; at + 8 <= bytes.length; ) {
    const id = bytes.toString('ascii', at, at + 4);
    const size = bytes.readUInt32LE(at + 4);
    const body = bytes.subarray(at + 8, at + 8 + size);
    assert.equal(body.length, size, `chunk ${id} is complete`);
    if (id === 'fmt ') {
      fmt = {
        formatTag: body.readUInt16LE(0),
        channels: body.readUInt16LE(2),
        sampleRate: body.readUInt32LE(4),
        byteRate: body.readUInt32LE(8),
        blockAlign: body.readUInt16LE(12),
        bitsPerSample: body.readUInt16LE(14),
      };
    } else if (id === 'data') {
      data = body;
    }
    at += 8 + size + (size % 2);
  }
  assert.ok(fmt, 'no fmt chunk');
  assert.ok(data, 'no data chunk');
  return { ...fmt, data };
}

/** 16-bit PCM, 8 kHz mono: the format of every attachment of the simulator. */
function expectPcm16Mono8k(wav: Wav): void {
  assert.deepEqual(
    { formatTag: wav.formatTag, channels: wav.channels, sampleRate: wav.sampleRate, byteRate: wav.byteRate, blockAlign: wav.blockAlign, bitsPerSample: wav.bitsPerSample },
    { formatTag: 1, channels: 1, sampleRate: 8000, byteRate: 16000, blockAlign: 2, bitsPerSample: 16 },
  );
}

const outboxFiles = (sim: RunningSimulator): string[] =>
  fs.readdirSync(path.join(sim.dataDir, 'outbox')).filter((f) => f.endsWith('.eml')).sort();

/** The one message written since `before` (a listing of the outbox). */
function newMail(sim: RunningSimulator, before: readonly string[]): Mail {
  const added = outboxFiles(sim).filter((f) => !before.includes(f));
  assert.equal(added.length, 1, `one new message in the outbox (got ${added.join(', ')})`);
  return parseMail(path.join(sim.dataDir, 'outbox', added[0]!));
}

function recordingsOf(answer: Answer): XmlElement[] {
  const recordings = all(answer.root, 'RECORDINGS/RECORDING');
  assert.equal(field(all(answer.root, 'RECORDINGS')[0], 'COUNT'), String(recordings.length), 'COUNT is the number of RECORDING elements');
  return recordings;
}

// ---------------------------------------------------------------------------------------------

describe('EMAIL, COMBINEDEMAIL and RECORDINGINFO', () => {
  let sim: RunningSimulator;
  let client: CoreClient;
  before(async () => {
    sim = await startTestSimulator({ seed: true });
    client = await CoreClient.connect(sim.port);
  });
  after(async () => {
    client.close();
    await sim.close();
  });

  async function durationOf(ident: string | number): Promise<number> {
    const answer = await client.request('RECORDINGINFO', { IDENT: ident }, 900);
    expectResult(answer, 'RECORDINGINFO', 20, 'API_OK', 'API_OK');
    const [recording] = recordingsOf(answer);
    assert.equal(field(recording, 'RECORDID'), String(ident));
    return Number(field(recording, 'DURATION'));
  }

  test("EMAIL, the manual's example: a message to jdoe@uptivity.com with recording 46 as a WAV", async () => {
    const duration = await durationOf(46);
    assert.equal(duration, 42, 'the seeded recording 46 lasts 42 s');
    const before = outboxFiles(sim);
    const answer = await client.raw(`<REQUEST>
<TYPE>EMAIL</TYPE>
<REQUESTID>14</REQUESTID>
<TOADDRESS>jdoe@uptivity.com</TOADDRESS>
<MEDIA_FORMAT>wav</MEDIA_FORMAT>
<UNIQUEID>46</UNIQUEID>
<UNIQUEFIELD>ident</UNIQUEFIELD>
<ENCRYPT>Y</ENCRYPT>
<PASSWORD>test</PASSWORD>
</REQUEST>`);
    expectResult(answer, 'EMAIL', 20, 'API_OK', 'API_OK');
    assert.equal(answer.requestId, '14');
    assert.equal(answer.root.children.length, 5, 'a standard result only');

    const mail = newMail(sim, before);
    assert.equal(mail.headers.get('to'), 'jdoe@uptivity.com');
    assert.match(mail.headers.get('from') ?? '', /@/);
    assert.match(mail.headers.get('mime-version') ?? '', /^1\.0$/);
    const attachment = attachmentOf(mail);
    assert.equal(attachment.contentType, 'audio/wav');
    assert.match(attachment.filename, /\.wav$/);
    const wav = parseWav(attachment.bytes);
    expectPcm16Mono8k(wav);
    assert.equal(wav.data.length, 672_000, '42 s at 8 kHz 16-bit');
    assert.equal(wav.data.length, duration * bytesPerSecond);
    assert.ok(wav.data.some((b) => b !== 0), 'the audio is not silence');
  });

  test('EMAIL in the newer help form, IDENT in place of UNIQUEID', async () => {
    const before = outboxFiles(sim);
    const missing = await client.raw(
      '<REQUEST> <TYPE>EMAIL</TYPE> <REQUESTID>14</REQUESTID> <UNIQUEFIELD>ident</UNIQUEFIELD> <IDENT>488373</IDENT> <TOADDRESS>jdoe@uptivity.com</TOADDRESS> <MEDIA_FORMAT>wav</MEDIA_FORMAT> </REQUEST>',
    );
    expectResult(missing, 'EMAIL', 41, 'API_FILE_NOT_FOUND', /\b488373\b/);
    assert.deepEqual(outboxFiles(sim), before, 'nothing sent');

    const found = await client.raw(
      '<REQUEST> <TYPE>EMAIL</TYPE> <REQUESTID>15</REQUESTID> <UNIQUEFIELD>ident</UNIQUEFIELD> <IDENT>1509</IDENT> <TOADDRESS>jdoe@uptivity.com</TOADDRESS> <MEDIA_FORMAT>wav</MEDIA_FORMAT> </REQUEST>',
    );
    expectResult(found, 'EMAIL', 20, 'API_OK', 'API_OK');
    const wav = parseWav(attachmentOf(newMail(sim, before)).bytes);
    assert.equal(wav.data.length, (await durationOf(1509)) * bytesPerSecond);
  });

  test('EMAIL to an address that is not one: API_EMAIL_NOT_VALID (45)', async () => {
    const before = outboxFiles(sim);
    expectResult(await client.request('EMAIL', { TOADDRESS: 'not-an-address', UNIQUEFIELD: 'ident', UNIQUEID: 46 }, 20), 'EMAIL', 45, 'API_EMAIL_NOT_VALID');
    expectResult(await client.request('EMAIL', { TOADDRESS: 'jdoe@', UNIQUEID: 46 }, 21), 'EMAIL', 45, 'API_EMAIL_NOT_VALID');
    assert.deepEqual(outboxFiles(sim), before, 'nothing sent');
  });

  test('EMAIL without TOADDRESS or without a recording: API_INVALID_MESSAGE_FORMAT (16)', async () => {
    expectResult(await client.request('EMAIL', { UNIQUEFIELD: 'ident', UNIQUEID: 46 }, 22), 'EMAIL', 16, 'API_INVALID_MESSAGE_FORMAT');
    expectResult(await client.request('EMAIL', { TOADDRESS: 'jdoe@uptivity.com', UNIQUEFIELD: 'ident' }, 23), 'EMAIL', 16, 'API_INVALID_MESSAGE_FORMAT');
  });

  test('EMAIL of a UNIQUEID that matches no recording: API_FILE_NOT_FOUND (41) naming it', async () => {
    const before = outboxFiles(sim);
    expectResult(await client.request('EMAIL', { TOADDRESS: 'jdoe@uptivity.com', UNIQUEFIELD: 'ident', UNIQUEID: 99999 }, 24), 'EMAIL', 41, 'API_FILE_NOT_FOUND', /\b99999\b/);
    expectResult(await client.request('EMAIL', { TOADDRESS: 'jdoe@uptivity.com', UNIQUEFIELD: 'user2', UNIQUEID: 'no-such-csn' }, 25), 'EMAIL', 41, 'API_FILE_NOT_FOUND', /no-such-csn/);
    assert.deepEqual(outboxFiles(sim), before, 'nothing sent');
  });

  test('EMAIL with a UNIQUEFIELD that is not a column of the Recording table: API_INVALID_MESSAGE_FORMAT (16)', async () => {
    const before = outboxFiles(sim);
    expectResult(await client.request('EMAIL', { TOADDRESS: 'jdoe@uptivity.com', UNIQUEFIELD: 'password', UNIQUEID: 46 }, 26), 'EMAIL', 16, 'API_INVALID_MESSAGE_FORMAT');
    expectResult(await client.request('EMAIL', { TOADDRESS: 'jdoe@uptivity.com', UNIQUEFIELD: 'ident; DROP TABLE recordings', UNIQUEID: 46 }, 27), 'EMAIL', 16, 'API_INVALID_MESSAGE_FORMAT');
    assert.deepEqual(outboxFiles(sim), before, 'nothing sent');
    assert.equal(await durationOf(46), 42, 'the recordings are still there');
  });

  test('EMAIL by UNIQUEFIELD user2 finds the recording whose USER2 holds UNIQUEID', async () => {
    const duration = await durationOf(10121968);
    const before = outboxFiles(sim);
    expectResult(await client.request('EMAIL', { TOADDRESS: 'jdoe@uptivity.com', MEDIA_FORMAT: 'WAV', UNIQUEFIELD: 'user2', UNIQUEID: '10121968' }, 28), 'EMAIL', 20, 'API_OK', 'API_OK');
    const mail = newMail(sim, before);
    const attachment = attachmentOf(mail);
    assert.match(attachment.filename, /10121968/, 'the attachment is recording 10121968');
    assert.match(mail.headers.get('subject') ?? '', /10121968/);
    const wav = parseWav(attachment.bytes);
    expectPcm16Mono8k(wav);
    assert.equal(wav.data.length, duration * bytesPerSecond, 'a mu-law recording is sent decoded to 16-bit PCM');
  });

  test('EMAIL as MP3 or M4A without ffmpeg: API_CONFIG_ERROR (55)', async () => {
    assert.equal(sim.context.options.ffmpegPath, '', 'startTestSimulator gives no ffmpeg unless asked');
    const before = outboxFiles(sim);
    for (const [format, requestId] of [['mp3', 29], ['M4A', 30]] as const) {
      expectResult(
        await client.request('EMAIL', { TOADDRESS: 'jdoe@uptivity.com', MEDIA_FORMAT: format, UNIQUEFIELD: 'ident', UNIQUEID: 46 }, requestId),
        'EMAIL', 55, 'API_CONFIG_ERROR',
      );
    }
    assert.deepEqual(outboxFiles(sim), before, 'nothing sent');
  });

  test("COMBINEDEMAIL, the manual's example: one combined WAV to jane", async () => {
    const duration = await durationOf(1509);
    const before = outboxFiles(sim);
    const answer = await client.raw(`<REQUEST>
<TYPE>COMBINEDEMAIL</TYPE>
<REQUESTID>1</REQUESTID>
<TOADDRESS>jane.doe@uptivity.com</TOADDRESS>
<TONAME>jane</TONAME>
<FROMADDRESS>jane.doe@uptivity.com</FROMADDRESS>
<FROMNAME>jane</FROMNAME>
<IDENT>1509</IDENT>
<UNIQUEID>IDENT</UNIQUEID>
</REQUEST>`);
    expectResult(answer, 'COMBINEDEMAIL', 20, 'API_OK', 'API_OK');
    assert.equal(answer.requestId, '1');
    const mail = newMail(sim, before);
    assert.equal(mail.headers.get('to'), 'jane <jane.doe@uptivity.com>');
    assert.equal(mail.headers.get('from'), 'jane <jane.doe@uptivity.com>');
    const attachment = attachmentOf(mail);
    assert.equal(attachment.contentType, 'audio/wav');
    const wav = parseWav(attachment.bytes);
    expectPcm16Mono8k(wav);
    assert.equal(wav.data.length, duration * bytesPerSecond);
  });

  test('COMBINEDEMAIL of two recordings: their audio one after the other, as long as both DURATIONs', async () => {
    const durations = [await durationOf(10121902), await durationOf(10121903)];
    const single: Buffer[] = [];
    for (const ident of [10121902, 10121903]) {
      const before = outboxFiles(sim);
      expectResult(await client.request('EMAIL', { TOADDRESS: 'jdoe@uptivity.com', UNIQUEID: ident }, 40), 'EMAIL', 20, 'API_OK');
      single.push(parseWav(attachmentOf(newMail(sim, before)).bytes).data);
    }
    const before = outboxFiles(sim);
    const answer = await client.request('COMBINEDEMAIL', { TOADDRESS: 'jane.doe@uptivity.com', IDENT: '10121902,10121903' }, 41);
    expectResult(answer, 'COMBINEDEMAIL', 20, 'API_OK', 'API_OK');
    const wav = parseWav(attachmentOf(newMail(sim, before)).bytes);
    expectPcm16Mono8k(wav);
    assert.equal(wav.data.length, (durations[0]! + durations[1]!) * bytesPerSecond);
    assert.ok(wav.data.equals(Buffer.concat(single)), 'the combined audio is the two recordings in the order asked');
  });

  test('COMBINEDEMAIL naming a recording that does not exist: API_FILE_NOT_FOUND (41) naming it', async () => {
    const before = outboxFiles(sim);
    expectResult(await client.request('COMBINEDEMAIL', { TOADDRESS: 'jane.doe@uptivity.com', IDENT: '1509,777777,46' }, 42), 'COMBINEDEMAIL', 41, 'API_FILE_NOT_FOUND', /\b777777\b/);
    assert.deepEqual(outboxFiles(sim), before, 'nothing sent');
  });

  test('COMBINEDEMAIL errors: a bad address (45), no IDENT (16)', async () => {
    const before = outboxFiles(sim);
    expectResult(await client.request('COMBINEDEMAIL', { TOADDRESS: 'not-an-address', IDENT: '1509' }, 43), 'COMBINEDEMAIL', 45, 'API_EMAIL_NOT_VALID');
    expectResult(
      await client.request('COMBINEDEMAIL', { TOADDRESS: 'jane.doe@uptivity.com', FROMADDRESS: 'jane at uptivity', IDENT: '1509' }, 44),
      'COMBINEDEMAIL', 45, 'API_EMAIL_NOT_VALID',
    );
    expectResult(await client.request('COMBINEDEMAIL', { TOADDRESS: 'jane.doe@uptivity.com' }, 45), 'COMBINEDEMAIL', 16, 'API_INVALID_MESSAGE_FORMAT');
    assert.deepEqual(outboxFiles(sim), before, 'nothing sent');
  });

  test('RECORDINGINFO by IDENT list: RECORDINGS/RECORDING in the order asked', async () => {
    const answer = await client.request('RECORDINGINFO', { IDENT: '1509, 46,10121905' }, 50);
    expectResult(answer, 'RECORDINGINFO', 20, 'API_OK', 'API_OK');
    const recordings = recordingsOf(answer);
    assert.deepEqual(recordings.map((r) => field(r, 'RECORDID')), ['1509', '46', '10121905']);
    for (const r of recordings) {
      assert.deepEqual(r.children.slice(0, 4).map((c) => c.name), ['RECORDID', 'FILENAME', 'DURATION', 'RECORDINGTIME']);
      assert.match(field(r, 'FILENAME')!, /^C:\\Recordings\\\d{8}\\[^\\]+\\[^\\]+\.wav$/);
      assert.match(field(r, 'DURATION')!, /^\d+$/);
      assert.match(field(r, 'RECORDINGTIME')!, /^\d+$/);
    }
    const r46 = recordings[1]!;
    assert.equal(field(r46, 'DURATION'), '42');
    assert.equal(field(r46, 'RECORDINGTIME'), String(Date.UTC(2011, 1, 2, 15, 0, 0) / 1000));
    assert.equal(field(recordings[0], 'DURATION'), '37');
  });

  test('RECORDINGINFO by UNIQUEFIELD device_id: the newest recording of the device', async () => {
    const newest = await client.request('RECORDINGINFO', { UNIQUEFIELD: 'device_id', UNIQUEID: '7001' }, 51);
    expectResult(newest, 'RECORDINGINFO', 20, 'API_OK', 'API_OK');
    const [found, ...rest] = recordingsOf(newest);
    assert.equal(rest.length, 0, 'one recording');
    assert.equal(field(found, 'DEVICEID'), '7001');

    // Every seeded recording of device 7001, by IDENT.
    const idents = [46, 1509, ...Array.from({ length: 200 }, (_, i) => 10121901 + i)];
    // IDENT is varchar(255): ask in lists that fit.
    const everything: XmlElement[] = [];
    for (let from = 0; from < idents.length; from += 25) {
      const answer = await client.request('RECORDINGINFO', { IDENT: idents.slice(from, from + 25).join(',') }, 52);
      expectResult(answer, 'RECORDINGINFO', 20, 'API_OK', 'API_OK');
      everything.push(...recordingsOf(answer));
    }
    assert.equal(everything.length, idents.length);
    const ofDevice = everything.filter((r) => field(r, 'DEVICEID') === '7001');
    assert.ok(ofDevice.length > 2, 'device 7001 has several recordings');
    const latest = Math.max(...ofDevice.map((r) => Number(field(r, 'RECORDINGTIME'))));
    assert.equal(Number(field(found, 'RECORDINGTIME')), latest);
    assert.ok(ofDevice.some((r) => field(r, 'RECORDID') === field(found, 'RECORDID')));
  });

  test('RECORDINGINFO by UNIQUEFIELD user2 (the WebAPI EXPORT example)', async () => {
    const answer = await client.request('RECORDINGINFO', { UNIQUEFIELD: 'user2', UNIQUEID: '10121968' }, 53);
    expectResult(answer, 'RECORDINGINFO', 20, 'API_OK', 'API_OK');
    assert.deepEqual(recordingsOf(answer).map((r) => field(r, 'RECORDID')), ['10121968']);
    expectResult(await client.request('RECORDINGINFO', { UNIQUEFIELD: 'password', UNIQUEID: '1' }, 54), 'RECORDINGINFO', 16, 'API_INVALID_MESSAGE_FORMAT');
  });

  test('RECORDINGINFO naming a recording that does not exist: API_FILE_NOT_FOUND (41), the others still listed', async () => {
    const answer = await client.request('RECORDINGINFO', { IDENT: '46,999999,1509' }, 55);
    expectResult(answer, 'RECORDINGINFO', 41, 'API_FILE_NOT_FOUND', /\b999999\b/);
    assert.doesNotMatch(answer.message, /\b46\b|\b1509\b/, 'only the missing one is named');
    assert.deepEqual(recordingsOf(answer).map((r) => field(r, 'RECORDID')), ['46', '1509']);

    const none = await client.request('RECORDINGINFO', { UNIQUEFIELD: 'device_id', UNIQUEID: 'NODEVICE' }, 56);
    expectResult(none, 'RECORDINGINFO', 41, 'API_FILE_NOT_FOUND', /NODEVICE/);
    assert.equal(recordingsOf(none).length, 0);
  });
});

describe('EMAIL as MP3 with a real ffmpeg', { skip: hasFfmpeg ? false : 'ffmpeg is not on PATH' }, () => {
  test('the attachment is an MP3 of recording 46', async () => {
    const sim = await startTestSimulator({ seed: true, ffmpegPath: 'ffmpeg' });
    const client = await CoreClient.connect(sim.port);
    try {
      const before = outboxFiles(sim);
      expectResult(
        await client.request('EMAIL', { TOADDRESS: 'jdoe@uptivity.com', MEDIA_FORMAT: 'mp3', UNIQUEFIELD: 'ident', UNIQUEID: 46 }, 1),
        'EMAIL', 20, 'API_OK', 'API_OK',
      );
      const attachment = attachmentOf(newMail(sim, before));
      assert.equal(attachment.contentType, 'audio/mpeg');
      assert.match(attachment.filename, /\.mp3$/);
      const bytes = attachment.bytes;
      const id3 = bytes.toString('ascii', 0, 3) === 'ID3';
      const frameSync = bytes[0] === 0xff && ((bytes[1] ?? 0) & 0xe0) === 0xe0;
      assert.ok(id3 || frameSync, 'an MP3 stream');
      // 42 s at 32 kbit/s is about 168 kB.
      assert.ok(bytes.length > 100_000 && bytes.length < 400_000, `${bytes.length} bytes`);

      const beforeM4a = outboxFiles(sim);
      expectResult(
        await client.request('EMAIL', { TOADDRESS: 'jdoe@uptivity.com', MEDIA_FORMAT: 'm4a', UNIQUEFIELD: 'ident', UNIQUEID: 46 }, 2),
        'EMAIL', 20, 'API_OK', 'API_OK',
      );
      const m4a = attachmentOf(newMail(sim, beforeM4a));
      assert.equal(m4a.contentType, 'audio/mp4');
      assert.match(m4a.filename, /\.m4a$/);
      assert.equal(m4a.bytes.toString('ascii', 4, 8), 'ftyp', 'an MPEG-4 file');
    } finally {
      client.close();
      await sim.close();
    }
  });
});

describe('EMAIL with an ffmpegPath that cannot be run', () => {
  test('the core answers with an error, writes nothing and keeps serving', async () => {
    const sim = await startTestSimulator({ seed: true, ffmpegPath: path.join(path.sep, 'nonexistent', 'ffmpeg') });
    const client = await CoreClient.connect(sim.port);
    try {
      const answer = await client.request('EMAIL', { TOADDRESS: 'jdoe@uptivity.com', MEDIA_FORMAT: 'mp3', UNIQUEFIELD: 'ident', UNIQUEID: 46 }, 1);
      assert.equal(answer.requestType, 'EMAIL');
      assert.ok([11, 55].includes(answer.code), answer.xml);
      assert.notEqual(answer.type, 'API_OK');
      assert.deepEqual(fs.readdirSync(path.join(sim.dataDir, 'outbox')), [], 'no message and no partial file');
      expectResult(await client.request('TEST', {}, 2), 'TEST', 20, 'API_OK', 'API_OK');
      // WAV needs no ffmpeg and still works.
      expectResult(await client.request('EMAIL', { TOADDRESS: 'jdoe@uptivity.com', UNIQUEID: 46 }, 3), 'EMAIL', 20, 'API_OK', 'API_OK');
    } finally {
      client.close();
      await sim.close();
    }
  });
});
