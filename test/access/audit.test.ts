/**
 * The audit trail against real files: appended lines in order, each valid against the published
 * schema; rotation by rename and reopen; no secret in any line; a failing or stalled file never
 * throws into the caller, is counted, and is reported once.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, describe, test } from 'node:test';
import { Ajv2020 } from 'ajv/dist/2020.js';
import ajvFormats from 'ajv-formats';
import { pino } from 'pino';
import {
  AuditTrail,
  auditIdentifierNames,
  auditIdentifiers,
  auditRecordSchema,
  maxAuditFieldLength,
  maxAuditIdentListLength,
  type AuditInput,
  type AuditLog,
} from '../../src/access/audit.js';

const ajv = new Ajv2020({ allErrors: true, strict: true });
ajvFormats.default(ajv);
const validateLine = ajv.compile(auditRecordSchema);

function assertValidLine(line: unknown): void {
  assert.ok(validateLine(line), `${JSON.stringify(line)}\n${ajv.errorsText(validateLine.errors)}`);
}

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'audit-trail-'));
after(() => fs.rmSync(root, { recursive: true, force: true }));
let dirs = 0;
const freshDir = (): string => fs.mkdtempSync(path.join(root, `t${++dirs}-`));

function input(overrides: Partial<AuditInput> = {}): AuditInput {
  return {
    requestId: 'a1b2c3-1',
    credential: 'crm-integration',
    client: '10.1.2.3',
    surface: 'webapi',
    type: 'CALLSTART',
    action: 'command',
    identifiers: { DEVICEID: '1001' },
    outcome: { status: 200, resultCode: 0, resultType: 'API_RECORDING_STARTED' },
    ...overrides,
  };
}

/** A log that keeps what it is given, by level. */
function recordingLog(): AuditLog & { lines: { level: string; obj: object; msg?: string }[] } {
  const lines: { level: string; obj: object; msg?: string }[] = [];
  return {
    lines,
    info: (obj, msg) => lines.push({ level: 'info', obj, msg }),
    warn: (obj, msg) => lines.push({ level: 'warn', obj, msg }),
    error: (obj, msg) => lines.push({ level: 'error', obj, msg }),
  };
}

function readLines(file: string): Record<string, unknown>[] {
  const text = fs.readFileSync(file, 'utf8');
  assert.ok(text === '' || text.endsWith('\n'), 'the file ends with a whole line');
  return text === '' ? [] : text.trimEnd().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
}

async function until(what: string, predicate: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting until ${what}`);
    await sleep(5);
  }
}

test('the schema is a valid draft 2020-12 schema', () => {
  assert.equal(ajv.validateSchema(auditRecordSchema), true, ajv.errorsText(ajv.errors));
  assert.equal(auditRecordSchema.$schema, 'https://json-schema.org/draft/2020-12/schema');
});

describe('file mode', () => {
  test('lines are appended in order, one JSON object each, valid against the schema, to a file only its owner reads', async () => {
    const file = path.join(freshDir(), 'audit.log');
    fs.writeFileSync(file, '{"earlier":"line"}\n', { mode: 0o600 });
    const times = [new Date('2025-03-01T12:00:00Z'), new Date('2025-03-01T12:00:01.5Z')];
    let tick = 0;
    const trail = new AuditTrail({ file, now: () => times[Math.min(tick++, 1)]! });
    trail.record(input());
    trail.record(input({ requestId: 'a1b2c3-2', type: 'EXPORT', action: 'export', surface: 'rest', identifiers: { UNIQUEFIELD: 'ident', UNIQUEID: '46' }, format: 'MP3', bytes: 123456, outcome: { status: 200 } }));
    trail.record(input({ requestId: 'a1b2c3-3', type: 'IMPORTUSER', action: 'refused', credential: 'network:10.0.0.0/8', identifiers: { ACTION: 'DELETE', USERNAME: 'jdoe' }, outcome: { status: 403 }, reason: 'admin' }));
    for (let i = 4; i <= 200; i++) trail.record(input({ requestId: `a1b2c3-${i}` }));
    await trail.close();

    const [earlier, ...lines] = readLines(file);
    assert.deepEqual(earlier, { earlier: 'line' }, 'the file is appended to, not replaced');
    assert.equal(lines.length, 200);
    assert.deepEqual(lines.map((l) => l.requestId), Array.from({ length: 200 }, (_, i) => `a1b2c3-${i + 1}`));
    for (const line of lines) assertValidLine(line);
    assert.deepEqual(lines[0], {
      time: '2025-03-01T12:00:00.000Z',
      requestId: 'a1b2c3-1',
      credential: 'crm-integration',
      client: '10.1.2.3',
      surface: 'webapi',
      type: 'CALLSTART',
      action: 'command',
      identifiers: { DEVICEID: '1001' },
      outcome: { status: 200, resultCode: 0, resultType: 'API_RECORDING_STARTED' },
    });
    assert.equal(lines[1]!.time, '2025-03-01T12:00:01.500Z');
    assert.deepEqual([lines[1]!.format, lines[1]!.bytes], ['MP3', 123456]);
    assert.equal(lines[2]!.reason, 'admin');
    assert.deepEqual(trail.stats, { written: 200, failed: 0, dropped: 0 });
  });

  test('a new file is made readable and writable by its owner only', async () => {
    const file = path.join(freshDir(), 'audit.log');
    const trail = new AuditTrail({ file });
    trail.record(input());
    await trail.close();
    assert.equal(fs.statSync(file).mode & 0o777, 0o600);
  });

  test('a refusal without its reason is no valid line: the schema asks for it', () => {
    const line = { time: '2025-03-01T12:00:00.000Z', ...input({ action: 'refused', outcome: { status: 403 } }) };
    assert.equal(validateLine(line), false);
    assertValidLine({ ...line, reason: 'recordings:export' });
  });

  test('only the fields of a record are written, whatever else an input carries', async () => {
    const file = path.join(freshDir(), 'audit.log');
    const trail = new AuditTrail({ file });
    const sloppy = { ...input(), password: 'hunter2', params: { PASSWORD: 'hunter2' }, identifiers: { DEVICEID: '1001', PASSWORD: 'hunter2' } };
    trail.record(sloppy as AuditInput);
    await trail.close();
    const text = fs.readFileSync(file, 'utf8');
    assert.ok(!text.includes('hunter2'), text);
    assertValidLine(readLines(file)[0]);
  });
});

describe('log mode', () => {
  test('without a file, each record goes to the log as one info line marked audit: true', () => {
    const log = recordingLog();
    const trail = new AuditTrail({ log });
    trail.record(input({ identifiers: { DEVICEID: ' 1001 ', PASSWORD: 'x' } }));
    assert.equal(log.lines.length, 1);
    const { level, obj, msg } = log.lines[0]!;
    assert.deepEqual([level, msg], ['info', 'audit']);
    assert.deepEqual(obj, {
      audit: true,
      requestId: 'a1b2c3-1',
      credential: 'crm-integration',
      client: '10.1.2.3',
      surface: 'webapi',
      type: 'CALLSTART',
      action: 'command',
      identifiers: { DEVICEID: '1001' },
      outcome: { status: 200, resultCode: 0, resultType: 'API_RECORDING_STARTED' },
    });
    assert.deepEqual(trail.stats, { written: 1, failed: 0, dropped: 0 });
  });

  test("through the gateway's pino logger a line has one time, and its audit fields are a valid record", async () => {
    const chunks: string[] = [];
    const destination = new Writable({
      write(chunk: Buffer, _encoding, done) {
        chunks.push(chunk.toString());
        done();
      },
    });
    const trail = new AuditTrail({ log: pino({ level: 'info' }, destination) });
    trail.record(input({ action: 'email', type: 'EMAIL', identifiers: { IDENT: '46,47', TOADDRESS: 'qa@example.com' }, format: 'WAV' }));
    await until('the line is written', () => chunks.length === 1);
    const raw = chunks[0]!;
    assert.equal(raw.match(/"time":/g)?.length, 1, `one time key: ${raw}`);
    const { level, time, pid: _pid, hostname: _hostname, msg, audit, ...fields } = JSON.parse(raw) as Record<string, unknown>;
    assert.deepEqual([level, msg, audit], [30, 'audit', true]);
    assert.equal(typeof time, 'number');
    assertValidLine({ time: new Date(time as number).toISOString(), ...fields });
  });

  test('a logger that throws is counted, never thrown into the caller', () => {
    const trail = new AuditTrail({
      log: {
        info: () => {
          throw new Error('log is gone');
        },
      },
    });
    trail.record(input());
    assert.deepEqual(trail.stats, { written: 0, failed: 1, dropped: 0 });
  });
});

describe('identifiers', () => {
  test('only identifier parameters, by their usual name, values trimmed, blanks left out', () => {
    const params = new Map([
      ['DEVICEID', ' 1001 '],
      ['deviceAlias', '5001'],
      ['USER_ID', '12'],
      ['UNIQUE_FIELD', 'ident'],
      ['UNIQUEID', '46'],
      ['SYS_USER', ''],
      ['ANI', '5551234'],
      ['USER9', 'customer data'],
      ['MEDIA_FORMAT', 'WAV'],
      ['REQUESTID', '7'],
      ['TYPE', 'EMAIL'],
      ['PASSWORD', 'hunter2'],
      ['ENCRYPT_PASSWORD', 'hunter2'],
      ['APIKEY', 'k'],
      ['KEYVALUE', 'v'],
      ['SIGNATURE', 's'],
      ['TOKEN', 't'],
      ['ACCESS_TOKEN', 't'],
      ['FROMADDRESS', 'me@example.com'],
    ]);
    assert.deepEqual(auditIdentifiers(params), { DEVICEID: '1001', DEVICEALIAS: '5001', USERID: '12', UNIQUEFIELD: 'ident', UNIQUEID: '46' });
  });

  test('the first of two spellings of one parameter is kept', () => {
    assert.deepEqual(auditIdentifiers(new Map([['USERID', '12'], ['USER_ID', '13']])), { USERID: '12' });
  });

  test(`a value is cut to ${maxAuditFieldLength} characters, ending with an ellipsis, never splitting a character`, () => {
    const long = 'g'.repeat(1000);
    const { GROUPNAME } = auditIdentifiers(new Map([['GROUPNAME', long]]));
    assert.equal(GROUPNAME!.length, maxAuditFieldLength);
    assert.ok(GROUPNAME!.endsWith('…'));
    const emoji = `${'r'.repeat(maxAuditFieldLength - 2)}😀😀😀`;
    const { ROLENAME } = auditIdentifiers(new Map([['ROLENAME', emoji]]));
    assert.equal(ROLENAME, `${'r'.repeat(maxAuditFieldLength - 2)}…`);
  });

  test('an IDENT list is kept whole up to its bound; a longer one keeps its first IDs and says how many', () => {
    const some = Array.from({ length: 150 }, (_, i) => String(100000 + i)).join(',');
    assert.ok(some.length <= maxAuditIdentListLength);
    assert.equal(auditIdentifiers(new Map([['IDENT', some]])).IDENT, some);

    const many = Array.from({ length: 1000 }, (_, i) => String(1000000000 + i)).join(', ');
    const { IDENT } = auditIdentifiers(new Map([['IDENT', many]]));
    assert.ok(IDENT!.length <= maxAuditFieldLength, IDENT);
    assert.match(IDENT!, /^1000000000,1000000001,.*,… \(1000 recordings\)$/);
    const listed = IDENT!.split(',…')[0]!.split(',');
    assert.deepEqual(listed, listed.map((_, i) => String(1000000000 + i)), 'whole IDs, in order');
    // Bounded once, a value stays the same when it passes again (a hook may pass it back).
    assert.deepEqual(auditIdentifiers(new Map([['IDENT', IDENT!]])), { IDENT });
  });

  test('the allow-list and the schema name the same parameters', () => {
    assert.deepEqual(auditRecordSchema.properties.identifiers.propertyNames.enum, auditIdentifierNames);
    for (const name of ['PASSWORD', 'ENCRYPT_PASSWORD', 'APIKEY', 'KEYVALUE', 'KEYNAME', 'TOKEN', 'SIGNATURE']) assert.ok(!auditIdentifierNames.includes(name), name);
  });
});

describe('no secret in a line', () => {
  const apiKey = `upk_${'a1b2c3d4e5'}_${'Zx9-_'.repeat(8)}abc`;
  const jwt = [
    Buffer.from(JSON.stringify({ alg: 'RS256', typ: 'JWT', kid: 'k1' })).toString('base64url'),
    Buffer.from(JSON.stringify({ sub: 'svc-reports', aud: 'uptivity-gateway', exp: 2000000000 })).toString('base64url'),
    Buffer.from('not really a signature, but long enough').toString('base64url'),
  ].join('.');

  test('passwords and keys are never identifiers; API keys and JWTs are scrubbed from every string, in both modes', async () => {
    const file = path.join(freshDir(), 'audit.log');
    const log = recordingLog();
    const toFile = new AuditTrail({ file });
    const toLog = new AuditTrail({ log });
    const params = new Map([
      ['TYPE', 'EMAIL'],
      ['PASSWORD', 'hunter2-password'],
      ['ENCRYPT_PASSWORD', 'hunter2-encrypt'],
      ['APIKEY', 'plain-api-key-value'],
      ['KEYVALUE', 'chat-key-value'],
      ['UNIQUEFIELD', 'user9'],
      ['UNIQUEID', apiKey],
      ['USERNAME', `Bearer ${jwt}`],
      ['GROUPNAME', `team-${jwt}-x`],
      ['IDENT', `46,${apiKey},47`],
      ['TOADDRESS', 'qa@mail.corp-recordings.example.com'],
    ]);
    for (const trail of [toFile, toLog]) {
      trail.record(
        input({
          requestId: 'a1b2c3-9',
          credential: `key ${apiKey}`,
          client: '2001:db8::17',
          type: 'EMAIL',
          action: 'email',
          identifiers: auditIdentifiers(params),
          format: 'CAV',
          outcome: { status: 502, resultCode: 4, resultType: `core said ${jwt}` },
          reason: `scope missing for ${jwt}`,
        }),
      );
    }
    await toFile.close();
    const written = [fs.readFileSync(file, 'utf8'), JSON.stringify(log.lines)];
    for (const text of written) {
      for (const secret of ['hunter2', 'plain-api-key-value', 'chat-key-value', apiKey, apiKey.slice(4), jwt, jwt.split('.')[0]!, jwt.split('.')[1]!, 'upk_a1b2']) {
        assert.ok(!text.includes(secret), `${JSON.stringify(secret)} in ${text}`);
      }
    }
    const line = readLines(file)[0]!;
    assertValidLine(line);
    assert.deepEqual(line.identifiers, {
      UNIQUEFIELD: 'user9',
      UNIQUEID: '[redacted]',
      USERNAME: 'Bearer [redacted]',
      GROUPNAME: 'team-[redacted]',
      IDENT: '46,[redacted],47',
      TOADDRESS: 'qa@mail.corp-recordings.example.com',
    });
    assert.equal(line.credential, 'key [redacted]');
    assert.equal(line.reason, 'scope missing for [redacted]');
    assert.deepEqual(line.outcome, { status: 502, resultCode: 4, resultType: 'core said [redacted]' });
    assert.equal(line.client, '2001:db8::17');
  });

  test('host names, addresses and dotted names are not mistaken for tokens', () => {
    const names = ['10.0.0.1', 'network:10.0.0.0/8', 'svc.reports.prod', 'journey.planner.example', 'keyless-client', 'upkeep'];
    const log = recordingLog();
    const trail = new AuditTrail({ log });
    for (const name of names) trail.record(input({ credential: name, identifiers: { SESSIONID: name } }));
    assert.deepEqual(
      log.lines.map(({ obj }) => (obj as { credential: string }).credential),
      names,
    );
  });

  test('a secret is scrubbed before a long value is cut, so no part of it is left', () => {
    const value = `${'d'.repeat(maxAuditFieldLength - 10)}${apiKey}`;
    const { DEVICEID } = auditIdentifiers(new Map([['DEVICEID', value]]));
    assert.ok(!DEVICEID!.includes('upk_'), DEVICEID);
    const longJwt = `${'d'.repeat(maxAuditFieldLength - 20)}${jwt}`;
    assert.ok(!auditIdentifiers(new Map([['DEVICEID', longJwt]])).DEVICEID!.includes('eyJ'));
  });
});

describe('rotation', () => {
  test('after a rename and reopen, new lines go to a new file at the path; the old file has every earlier line, whole', async () => {
    const dir = freshDir();
    const file = path.join(dir, 'audit.log');
    const trail = new AuditTrail({ file });
    for (let i = 0; i < 100; i++) trail.record(input({ requestId: `r-${i}` }));
    await until('the first lines are written', () => trail.stats.written === 100);
    // As logrotate does: rename, then signal. Lines recorded in between still go to the old file.
    fs.renameSync(file, `${file}.1`);
    for (let i = 100; i < 2000; i++) trail.record(input({ requestId: `r-${i}`, identifiers: { GROUPNAME: 'x'.repeat(200) } }));
    const reopened = trail.reopen();
    for (let i = 2000; i < 2500; i++) trail.record(input({ requestId: `r-${i}` }));
    await reopened;
    for (let i = 2500; i < 3000; i++) trail.record(input({ requestId: `r-${i}` }));
    await trail.close();

    const old = readLines(`${file}.1`);
    const fresh = readLines(file);
    assert.deepEqual(old.map((l) => l.requestId), Array.from({ length: 2000 }, (_, i) => `r-${i}`));
    assert.deepEqual(fresh.map((l) => l.requestId), Array.from({ length: 1000 }, (_, i) => `r-${2000 + i}`));
    for (const line of [...old, ...fresh]) assertValidLine(line);
    assert.equal(fs.statSync(file).mode & 0o777, 0o600);
    assert.deepEqual(trail.stats, { written: 3000, failed: 0, dropped: 0 });
  });

  test('reopening without a rename keeps every line, in order, in the one file', async () => {
    const file = path.join(freshDir(), 'audit.log');
    const trail = new AuditTrail({ file });
    for (let round = 0; round < 5; round++) {
      for (let i = 0; i < 300; i++) trail.record(input({ requestId: `r-${round * 300 + i}` }));
      void trail.reopen(); // two reopens close together are taken one after the other
    }
    await trail.close();
    assert.deepEqual(readLines(file).map((l) => l.requestId), Array.from({ length: 1500 }, (_, i) => `r-${i}`));
  });

  test('in log mode reopen and close do nothing', async () => {
    const trail = new AuditTrail({ log: recordingLog() });
    await trail.reopen();
    await trail.close();
  });
});

describe('failures', () => {
  test('a file in a directory that is not there: records are counted as failed, never thrown, reported once; writing resumes once it can', async () => {
    const dir = path.join(freshDir(), 'gone');
    const file = path.join(dir, 'audit.log');
    const log = recordingLog();
    const trail = new AuditTrail({ file, log, reopenAfterFailureMs: 50 });
    for (let i = 0; i < 10; i++) trail.record(input());
    await until('the lines are counted', () => trail.stats.failed === 10);
    for (let i = 0; i < 10; i++) trail.record(input());
    await until('the lines are counted', () => trail.stats.failed === 20);
    const errors = log.lines.filter((l) => l.level === 'error');
    assert.equal(errors.length, 1, JSON.stringify(log.lines));
    assert.equal((errors[0]!.obj as { err: NodeJS.ErrnoException }).err.code, 'ENOENT');
    assert.equal(trail.stats.written, 0);

    fs.mkdirSync(dir);
    await sleep(60);
    trail.record(input({ requestId: 'back' }));
    await until('the line is written', () => trail.stats.written === 1);
    await trail.close();
    assert.deepEqual(readLines(file).map((l) => l.requestId), ['back']);
    const resumed = log.lines.filter((l) => l.level === 'info');
    assert.equal(resumed.length, 1);
    assert.deepEqual(resumed[0]!.obj, { file, lost: 20 });
    assert.equal(log.lines.filter((l) => l.level === 'error').length, 1, 'still reported once');
  });

  test('a directory removed before a rotation: the reopen fails, lines are counted, the caller never sees it', async () => {
    const dir = path.join(freshDir(), 'logs');
    fs.mkdirSync(dir);
    const file = path.join(dir, 'audit.log');
    const log = recordingLog();
    const trail = new AuditTrail({ file, log, reopenAfterFailureMs: 60_000 });
    trail.record(input());
    await until('the first line is written', () => trail.stats.written === 1);
    fs.rmSync(dir, { recursive: true });
    await trail.reopen();
    for (let i = 0; i < 5; i++) trail.record(input());
    await until('the lines are counted', () => trail.stats.failed === 5);
    await trail.close();
    assert.equal(log.lines.filter((l) => l.level === 'error').length, 1);
    trail.record(input());
    assert.equal(trail.stats.failed, 6, 'a line after close is counted too');
  });

  test('a path that is a directory fails to open, and is counted', async () => {
    const log = recordingLog();
    const trail = new AuditTrail({ file: freshDir(), log });
    trail.record(input());
    await until('the line is counted', () => trail.stats.failed === 1);
    await trail.close();
    assert.equal((log.lines[0]!.obj as { err: NodeJS.ErrnoException }).err.code, 'EISDIR');
  });

  test('a read-only directory', { skip: process.getuid?.() === 0 ? 'root writes into read-only directories' : false }, async () => {
    const dir = freshDir();
    fs.chmodSync(dir, 0o500);
    const trail = new AuditTrail({ file: path.join(dir, 'audit.log'), log: recordingLog() });
    trail.record(input());
    await until('the line is counted', () => trail.stats.failed === 1);
    await trail.close();
  });

  test('a disk that refuses writes (ENOSPC) once the file is open', { skip: fs.existsSync('/dev/full') ? false : 'no /dev/full' }, async () => {
    const log = recordingLog();
    const trail = new AuditTrail({ file: '/dev/full', log, reopenAfterFailureMs: 60_000 });
    for (let i = 0; i < 50; i++) trail.record(input());
    await until('the lines are counted', () => trail.stats.failed === 50);
    await trail.close();
    const errors = log.lines.filter((l) => l.level === 'error');
    assert.equal(errors.length, 1);
    assert.equal((errors[0]!.obj as { err: NodeJS.ErrnoException }).err.code, 'ENOSPC');
    assert.equal(trail.stats.written, 0);
  });

  test('options are checked when the trail is made', () => {
    assert.throws(() => new AuditTrail({}), TypeError);
    assert.throws(() => new AuditTrail({ file: ' ' }), TypeError);
    assert.throws(() => new AuditTrail({ log: recordingLog(), maxPendingBytes: 0 }), RangeError);
    assert.throws(() => new AuditTrail({ log: recordingLog(), reopenAfterFailureMs: -1 }), RangeError);
  });
});

test('a stalled file holds at most maxPendingBytes; the rest is dropped, counted and warned of once', { skip: process.platform === 'win32' }, async () => {
  // A FIFO nobody reads: opening it for writing waits, like a disk that stalls, until a reader comes.
  const fifo = path.join(freshDir(), 'audit.fifo');
  execFileSync('mkfifo', [fifo]);
  const log = recordingLog();
  const maxPendingBytes = 64 * 1024;
  const trail = new AuditTrail({ file: fifo, log, maxPendingBytes });
  for (let i = 0; i < 2000; i++) trail.record(input({ requestId: `r-${i}`, identifiers: { GROUPNAME: 'g'.repeat(200) } }));
  const lineBytes = JSON.stringify({ time: new Date().toISOString(), ...input({ requestId: 'r-1000', identifiers: { GROUPNAME: 'g'.repeat(200) } }) }).length + 1;
  const kept = 2000 - trail.stats.dropped;
  assert.ok(kept > 0 && kept <= Math.ceil(maxPendingBytes / (lineBytes - 4)), `${kept} lines held of ${lineBytes} bytes`);
  assert.equal(trail.stats.failed, trail.stats.dropped);
  const warnings = log.lines.filter((l) => l.level === 'warn');
  assert.equal(warnings.length, 1, 'one warning');

  const chunks: Buffer[] = [];
  const reader = fs.createReadStream(fifo);
  reader.on('data', (chunk) => chunks.push(chunk as Buffer));
  const ended = new Promise<void>((resolve) => reader.on('close', () => resolve()));
  await until('the held lines are written', () => trail.stats.written === kept);
  trail.record(input({ requestId: 'after' }));
  await trail.close();
  await ended;
  const lines = Buffer.concat(chunks).toString().trimEnd().split('\n').map((l) => JSON.parse(l) as { requestId: string });
  assert.deepEqual(lines.map((l) => l.requestId), [...Array.from({ length: kept }, (_, i) => `r-${i}`), 'after']);
  const after = log.lines.filter((l) => l.level === 'warn');
  assert.equal(after.length, 2, 'the count of lines dropped, once writing goes on');
  assert.deepEqual((after[1]!.obj as { dropped: number }).dropped, 2000 - kept);
  assert.deepEqual(trail.stats, { written: kept + 1, failed: 2000 - kept, dropped: 2000 - kept });
});
