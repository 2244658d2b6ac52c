/**
 * A client generated from the OpenAPI document the gateway serves, as an integrator would
 * generate one: openapi-typescript turns /openapi.json into `paths`, the program test/client/call-flow.ts
 * calls the gateway through openapi-fetch with those types, TypeScript 5 compiles it (test/client is
 * a workspace of its own: openapi-typescript needs TypeScript 5's compiler API), and the compiled
 * program runs a call flow against a real gateway and its simulator. The program reads every field
 * through the generated types, so a document that stops describing the answers fails the compile;
 * a second program that reads a shape the answers do not have must fail it.
 *
 * The work happens in a temporary folder under test/client/dist/ (ignored by git): the compiled
 * program finds openapi-fetch, @types/node and test/client's `"type": "module"` by walking up from
 * there, as it would in an integrator's project.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, test } from 'node:test';
import { startTestGateway, type TestGateway } from './gateway-harness.js';

// This file runs as dist/test/http/generated-client.test.js.
const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const clientDir = path.join(repoRoot, 'test', 'client');
const openapiTypescript = path.join(clientDir, 'node_modules', 'openapi-typescript', 'bin', 'cli.js');
const tsc = path.join(clientDir, 'node_modules', 'typescript', 'bin', 'tsc');

const deviceId = '1111';
const user9 = `gen-client-${process.pid}`;

interface Ran {
  /** The exit code, or null when the process was killed (signal says how). */
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** A node script run to its end (or killed at timeoutMs); never rejects. */
function runNode(script: string, args: string[], cwd: string, timeoutMs: number): Promise<Ran> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [script, ...args],
      { cwd, timeout: timeoutMs, killSignal: 'SIGKILL', maxBuffer: 32 * 1024 * 1024, encoding: 'utf8' },
      (error, stdout, stderr) => {
        if (!error) return resolve({ code: 0, signal: null, stdout, stderr });
        const code = typeof error.code === 'number' ? error.code : null;
        resolve({ code, signal: error.signal ?? null, stdout, stderr: stderr || error.message });
      },
    );
  });
}

const shown = (ran: Ran): string => `exit ${ran.code ?? ran.signal}\n${ran.stdout}\n${ran.stderr}`.slice(0, 8000);

/** The program of the deliberate mistakes: each marked line must be refused with its code, and nothing else. */
const wrongAccess = `import createClient from 'openapi-fetch';
import type { paths } from './api.js';

const client = createClient<paths>({ baseUrl: 'http://127.0.0.1:2012' });

const { data: list } = await client.GET('/api/v1/devices');
// The XML answer's tree, DEVICES holding DEVICE: the JSON answer is {"devices": [...]}.
export const alias: string | undefined = list?.devices.device?.deviceAlias; // expect TS2339

const { data: page } = await client.GET('/api/v1/recordings', { params: { query: { deviceId: '1111', limit: 1 } } });
// RECORDID is a number in JSON, not the XML text.
export const recordId: string | undefined = page?.recordings[0]?.recordId ?? undefined; // expect TS2322
`;

/** The errors the marked lines of a program expect, as `file(line): TSnnnn`. */
function expectedErrors(file: string, source: string): string[] {
  return source.split('\n').flatMap((line, i) => {
    const code = /\/\/ expect (TS\d+)$/.exec(line)?.[1];
    return code ? [`${file}(${i + 1}): ${code}`] : [];
  });
}

/** The errors tsc reported, as `file(line): TSnnnn`. */
function reportedErrors(output: string): string[] {
  return [...output.matchAll(/^(\S+?)\((\d+),\d+\): error (TS\d+):/gm)].map((m) => `${path.basename(m[1]!)}(${m[2]}): ${m[3]}`);
}

interface Outcome {
  type: string;
  code: number | null;
  message: string;
}
/** What call-flow prints (its Summary). */
interface Summary {
  gateway: string;
  test: Outcome;
  start: Outcome;
  update: Outcome;
  device: { deviceId: string | null; deviceAlias: string | null; user9: string | null; isRecording: boolean | null; fileName: string | null; startTimeIso: string | null };
  stop: Outcome;
  recordings: {
    pages: number;
    recordIds: number[];
    first: { recordId: number | null; user9: string | null; recordingTime: number | null; recordingTimeIso: string | null } | null;
  };
  users: { userId: number | null; username: string | null; phones: string[] }[];
}

let gw: TestGateway;
let work: string;
let generated: Ran;
let flowCompiled: Promise<Ran>;
let wrongCompiled: Promise<Ran>;
/** How long each step took, in ms, for the test's diagnostics. */
const took: Record<string, number> = {};
async function timed<T>(step: string, pending: Promise<T>): Promise<T> {
  const start = performance.now();
  try {
    return await pending;
  } finally {
    took[step] = Math.round(performance.now() - start);
  }
}

before(async () => {
  for (const tool of [openapiTypescript, tsc]) {
    assert.ok(fs.existsSync(tool), `${path.relative(repoRoot, tool)} is missing: run npm install at the repository root (test/client is a workspace)`);
  }
  fs.mkdirSync(path.join(clientDir, 'dist'), { recursive: true });
  work = fs.mkdtempSync(path.join(clientDir, 'dist', 'check-'));
  assert.doesNotThrow(() => createRequire(path.join(work, 'x.js')).resolve('openapi-fetch'), 'openapi-fetch resolves from test/client');

  gw = await timed('gateway start', startTestGateway({ seed: true }));
  const served = await fetch(`${gw.url}/openapi.json`);
  assert.equal(served.status, 200);
  fs.writeFileSync(path.join(work, 'openapi.json'), await served.text());

  generated = await timed('openapi-typescript', runNode(openapiTypescript, ['openapi.json', '--output', 'api.d.ts'], work, 30_000));
  assert.equal(generated.code, 0, `openapi-typescript failed: ${shown(generated)}`);

  // The program as it is, compiled with test/client's own tsconfig (its paths made this folder's).
  fs.copyFileSync(path.join(clientDir, 'call-flow.ts'), path.join(work, 'call-flow.ts'));
  const options = { rootDir: '.', outDir: 'out' };
  fs.writeFileSync(path.join(work, 'tsconfig.json'), JSON.stringify({ extends: '../../tsconfig.json', compilerOptions: options, files: ['call-flow.ts'] }));
  fs.writeFileSync(path.join(work, 'wrong-access.ts'), wrongAccess);
  fs.writeFileSync(
    path.join(work, 'tsconfig.wrong.json'),
    // Declaration files unchecked here: the program only has to fail, and a type that broke there
    // (and became any) could only make it compile, which the test would catch.
    JSON.stringify({ extends: '../../tsconfig.json', compilerOptions: { ...options, noEmit: true, skipLibCheck: true }, files: ['wrong-access.ts'] }),
  );
  // Both compiles at once; each test waits for its own.
  flowCompiled = timed('tsc call-flow', runNode(tsc, ['-p', 'tsconfig.json', '--pretty', 'false'], work, 40_000));
  wrongCompiled = timed('tsc wrong-access', runNode(tsc, ['-p', 'tsconfig.wrong.json', '--pretty', 'false'], work, 40_000));
});

after(async () => {
  await Promise.allSettled([flowCompiled, wrongCompiled]);
  await gw?.close();
  if (work) fs.rmSync(work, { recursive: true, force: true });
});

test('the generated types describe the answers: the call flow compiles against them and reads what the gateway did', { timeout: 60_000 }, async (t) => {
  const compiled = await flowCompiled;
  assert.equal(compiled.code, 0, `call-flow.ts does not compile against the generated types: ${shown(compiled)}`);

  const ran = await timed('call-flow run', runNode(path.join(work, 'out', 'call-flow.js'), [gw.url, deviceId, user9], work, 20_000));
  t.diagnostic(`ms: ${JSON.stringify(took)}`);
  assert.equal(ran.code, 0, `call-flow failed: ${shown(ran)}`);
  const summary = JSON.parse(ran.stdout) as Summary;

  assert.equal(summary.gateway, gw.url);
  for (const step of ['test', 'start', 'update', 'stop'] as const) {
    assert.equal(summary[step].type, 'API_OK', `${step}: ${JSON.stringify(summary[step])}`);
    assert.equal(summary[step].code, 20);
  }
  assert.match(summary.start.message, /^CALLSTART sent/);

  assert.equal(summary.device.deviceId, deviceId);
  assert.equal(summary.device.deviceAlias, 'DESK1');
  assert.equal(summary.device.user9, user9, 'the device shows the USER9 the flow set');
  assert.equal(summary.device.isRecording, true, 'the device records after CALLSTART');
  assert.ok(summary.device.fileName, 'the recording has a file');
  assert.match(summary.device.startTimeIso ?? '', /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}/);

  const { first, recordIds, pages } = summary.recordings;
  assert.ok(first, 'the device has recordings');
  assert.equal(typeof first.recordId, 'number', 'recordId is a number');
  assert.equal(first.user9, user9, 'the newest recording is the flow\'s call');
  assert.equal(recordIds[0], first.recordId);
  assert.ok(pages > 1, `the flow followed next (${pages} page(s) of 2)`);
  assert.equal(new Set(recordIds).size, recordIds.length, 'no recording twice across pages');
  const direct = (await (await fetch(`${gw.url}/api/v1/recordings?deviceId=${deviceId}&limit=500`)).json()) as { recordings: { recordId: number }[] };
  assert.deepEqual(recordIds, direct.recordings.map((r) => r.recordId), 'the pages hold what one long page holds, in order');
  const recording = (await (await fetch(`${gw.url}/api/v1/recordings/${first.recordId}`)).json()) as { recording: { user9: string } };
  assert.equal(recording.recording.user9, user9, 'the recordId read is the recording of the call');

  const users = (await (await fetch(`${gw.url}/api/v1/users`)).json()) as { users: { username: string; phones: string[] }[] };
  assert.deepEqual(
    summary.users.map((u) => [u.username, u.phones]),
    users.users.map((u) => [u.username, u.phones]),
  );
  assert.ok(summary.users.every((u) => Array.isArray(u.phones) && u.phones.every((p) => typeof p === 'string')), 'phones are arrays of strings');
  assert.deepEqual(summary.users.find((u) => u.username === 'gkerber')?.phones, ['DESK1']);
});

test('a read of a shape the answers do not have does not compile', { timeout: 60_000 }, async () => {
  const compiled = await wrongCompiled;
  assert.notEqual(compiled.code, 0, 'the wrong reads compiled');
  assert.equal(compiled.signal, null, shown(compiled));
  assert.deepEqual(reportedErrors(compiled.stdout + compiled.stderr), expectedErrors('wrong-access.ts', wrongAccess), shown(compiled));
});
