/**
 * The `uptivity-gateway` program as a person runs it: configuration from the environment, the
 * embedded simulator when no core is configured, HTTPS beside HTTP when a certificate is given,
 * and a graceful stop on SIGTERM.
 */
import assert from 'node:assert/strict';
import { execFileSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import type { IncomingHttpHeaders } from 'node:http';
import https from 'node:https';
import tls from 'node:tls';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { startGatewayProgram, type GatewayProgram } from './gateway-program.js';
import { SseClient } from './sse-client.js';

const main = path.join(path.dirname(fileURLToPath(import.meta.url)), '../../src/main.js');
const children: ChildProcess[] = [];
const dirs: string[] = [];
after(() => {
  for (const child of children) child.kill('SIGKILL');
  for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true });
});

/** Start the gateway and collect the addresses it reports listening on. */
async function startGateway(env: NodeJS.ProcessEnv, listeners: number): Promise<GatewayProgram> {
  const program = await startGatewayProgram(env, listeners);
  children.push(program.child);
  return program;
}

async function exitCode(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => child.on('exit', (code) => resolve(code)));
}

test('without CORE_HOST it serves the WebAPI over an embedded, seeded simulator, and stops gracefully', async () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'gateway-data-'));
  dirs.push(dataDir);
  const { child, urls, log } = await startGateway({ SIM_DATA_DIR: dataDir }, 1);
  const response = await fetch(`${urls[0]}/webAPI.aspx?type=test&requestid=1`);
  assert.equal(response.status, 200);
  assert.match(await response.text(), /<RESULTTYPE>API_OK<\/RESULTTYPE>/);
  const seeded = await (await fetch(`${urls[0]}/webAPI.aspx?type=calllist&requestid=2&user2=10121968`)).text();
  assert.match(seeded, /<RECORDID>10121968<\/RECORDID>/, 'the embedded simulator is seeded');
  assert.ok(fs.existsSync(path.join(dataDir, 'core.sqlite')));
  // Log lines are written in batches, once per turn of the event loop.
  const deadline = Date.now() + 2000;
  let line: string | undefined;
  while (!(line = log().split('\n').find((l) => l.includes('"route":"/webAPI.aspx"'))) && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  assert.ok(line, 'one JSON log line per request');
  const entry = JSON.parse(line!) as Record<string, unknown>;
  assert.equal(entry.status, 200);
  assert.equal(typeof entry.reqId, 'string');
  // Live events from the embedded simulator's event port; an open stream does not hold up the stop.
  const events = await SseClient.open(`${urls[0]}/api/v1/events?deviceId=7001`);
  await events.statusBecomes('up');
  await (await fetch(`${urls[0]}/webAPI.aspx?type=callstart&requestid=3&deviceid=7001`)).text();
  const [start] = await events.nextEvents(1);
  assert.equal(start!.event, 'CALLSTART');
  assert.equal(start!.json.data.deviceId, '7001');
  const exited = exitCode(child);
  child.kill('SIGTERM');
  assert.equal(await exited, 0);
  await events.waitEnded();
});

test('SIGTERM: /readyz fails at once, calls are still served for SHUTDOWN_DELAY_MS with Connection: close, what is in flight finishes, streams get a retry hint, exit 0', async () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'gateway-data-'));
  dirs.push(dataDir);
  const { child, urls, log } = await startGateway({ SIM_DATA_DIR: dataDir, SHUTDOWN_DELAY_MS: '1500', SHUTDOWN_TIMEOUT_MS: '5000' }, 1);
  const url = urls[0]!;
  assert.equal((await fetch(`${url}/readyz`)).status, 200);
  const events = await SseClient.open(`${url}/api/v1/events`);
  await events.statusBecomes('up');
  const exited = exitCode(child);
  const signalled = Date.now();
  child.kill('SIGTERM');
  // Ready no more, at once, with the reason.
  let ready = await fetch(`${url}/readyz`);
  while (ready.status === 200 && Date.now() - signalled < 500) ready = await fetch(`${url}/readyz`);
  assert.equal(ready.status, 503);
  assert.equal(((await ready.json()) as { reason: string }).reason, 'the gateway is shutting down');
  // Still serving while the load balancer notices, each answer closing its connection.
  const during: { status: number; connection: string | null; ms: number }[] = [];
  while (Date.now() - signalled < 1200) {
    const response = await fetch(`${url}/webAPI.aspx?type=test&requestid=${during.length + 1}`);
    await response.text();
    during.push({ status: response.status, connection: response.headers.get('connection'), ms: Date.now() - signalled });
  }
  assert.ok(during.length > 5, 'calls were made during the delay');
  assert.deepEqual(new Set(during.map((d) => d.status)), new Set([200]));
  assert.deepEqual(new Set(during.map((d) => d.connection)), new Set(['close']));
  // A request made at the end of the delay still gets its answer.
  const inFlight = fetch(`${url}/webAPI.aspx?type=calllist&requestid=99&callcount=200`).then(async (r) => ({ status: r.status, body: await r.text() }));
  const finished = await inFlight;
  assert.equal(finished.status, 200);
  assert.match(finished.body, /<RESULTTYPE>API_OK<\/RESULTTYPE>/);
  assert.equal(await exited, 0);
  assert.ok(Date.now() - signalled >= 1500, 'it served for the whole delay');
  await events.waitEnded();
  assert.equal(events.retry, 1000, 'the event stream told its client when to come back');
  assert.match(log(), /"msg":"shutting down: \/readyz fails, requests are still served"/);
});

test('with a certificate it serves HTTPS too', { skip: !fs.existsSync('/usr/bin/openssl') && 'openssl is not installed' }, async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gateway-tls-'));
  dirs.push(dir);
  const key = path.join(dir, 'key.pem');
  const cert = path.join(dir, 'cert.pem');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=127.0.0.1'], { stdio: 'ignore' });
  const { child, urls } = await startGateway({ SIM_DATA_DIR: path.join(dir, 'data'), TLS_CERT_FILE: cert, TLS_KEY_FILE: key, TLS_PORT: '0' }, 2);
  const secure = urls.find((u) => u.startsWith('https:'));
  assert.ok(secure, `an HTTPS listener among ${urls.join(', ')}`);
  const body = await new Promise<string>((resolve, reject) => {
    https
      .get(`${secure}/webAPI.aspx?type=test&requestid=3`, { ca: fs.readFileSync(cert), checkServerIdentity: () => undefined }, (res) => {
        let text = '';
        res.on('data', (c: Buffer) => (text += c.toString()));
        res.on('end', () => resolve(text));
      })
      .on('error', reject);
  });
  assert.match(body, /<REQUESTID>3<\/REQUESTID>/);
  // Security headers on both; HSTS on HTTPS only.
  const plain = await fetch(`${urls.find((u) => u.startsWith('http:'))}/api/v1/system/test`);
  assert.equal(plain.headers.get('x-content-type-options'), 'nosniff');
  assert.equal(plain.headers.get('strict-transport-security'), null);
  const headers = await httpsHeaders(`${secure}/livez`, cert);
  assert.match(String(headers['strict-transport-security']), /max-age=31536000/);
  assert.equal(headers['x-content-type-options'], 'nosniff');
  // TLS 1.1 and older are refused; 1.2 is enough.
  const port = Number(new URL(secure!).port);
  await assert.rejects(tlsHandshake(port, 'TLSv1.1'), /protocol|version|alert/i);
  assert.equal(await tlsHandshake(port, 'TLSv1.2'), 'TLSv1.2');
  const exited = exitCode(child);
  child.kill('SIGTERM');
  assert.equal(await exited, 0);
});

/** A self-signed certificate for 127.0.0.1 named `name`, written to `dir`. */
function selfSigned(dir: string, name: string): { cert: string; key: string } {
  const key = path.join(dir, `${name}.key.pem`);
  const cert = path.join(dir, `${name}.cert.pem`);
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', `/CN=${name}`], { stdio: 'ignore' });
  return { cert, key };
}

function httpsHeaders(url: string, cert: string): Promise<IncomingHttpHeaders> {
  return new Promise((resolve, reject) => {
    https.get(url, { ca: fs.readFileSync(cert), checkServerIdentity: () => undefined }, (res) => {
      res.resume();
      resolve(res.headers);
    }).on('error', reject);
  });
}

/** The protocol a handshake with `maxVersion` settles on, or its failure. */
function tlsHandshake(port: number, maxVersion: tls.SecureVersion): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host: '127.0.0.1', port, maxVersion, minVersion: 'TLSv1', rejectUnauthorized: false, ciphers: 'DEFAULT:@SECLEVEL=0' }, () => {
      resolve(socket.getProtocol() ?? '');
      socket.end();
    });
    socket.on('error', reject);
  });
}

/** The CN of the certificate the HTTPS port presents. */
function servedName(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host: '127.0.0.1', port, rejectUnauthorized: false }, () => {
      resolve(String(socket.getPeerCertificate().subject.CN));
      socket.end();
    });
    socket.on('error', reject);
  });
}

test('with TLS, HTTP_MODE redirects plain HTTP or turns it off; SIGHUP serves a renewed certificate', { skip: !fs.existsSync('/usr/bin/openssl') && 'openssl is not installed' }, async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gateway-tls-'));
  dirs.push(dir);
  const first = selfSigned(dir, 'first');
  const certFile = path.join(dir, 'cert.pem');
  const keyFile = path.join(dir, 'key.pem');
  fs.copyFileSync(first.cert, certFile);
  fs.copyFileSync(first.key, keyFile);
  const base = { SIM_DATA_DIR: path.join(dir, 'data'), TLS_CERT_FILE: certFile, TLS_KEY_FILE: keyFile, TLS_PORT: '0' };

  const redirecting = await startGateway({ ...base, HTTP_MODE: 'redirect' }, 2);
  const plainUrl = redirecting.urls.find((u) => u.startsWith('http:'))!;
  const secureUrl = redirecting.urls.find((u) => u.startsWith('https:'))!;
  const moved = await fetch(`${plainUrl}/webAPI.aspx?type=test&requestid=1`, { redirect: 'manual' });
  assert.equal(moved.status, 308);
  assert.equal(moved.headers.get('location'), `https://127.0.0.1:${new URL(secureUrl).port}/webAPI.aspx?type=test&requestid=1`);
  assert.equal((await fetch(`${plainUrl}/livez`)).status, 200, 'a health check on the plain port still works');
  const securePort = Number(new URL(secureUrl).port);
  assert.equal(await servedName(securePort), 'first');
  const second = selfSigned(dir, 'second');
  fs.copyFileSync(second.cert, certFile);
  fs.copyFileSync(second.key, keyFile);
  redirecting.child.kill('SIGHUP');
  const deadline = Date.now() + 5000;
  while ((await servedName(securePort)) !== 'second' && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  assert.equal(await servedName(securePort), 'second');
  let exited = exitCode(redirecting.child);
  redirecting.child.kill('SIGTERM');
  assert.equal(await exited, 0);

  const secureOnly = await startGateway({ ...base, HTTP_MODE: 'off' }, 1);
  assert.deepEqual(secureOnly.urls.map((u) => new URL(u).protocol), ['https:']);
  exited = exitCode(secureOnly.child);
  secureOnly.child.kill('SIGTERM');
  assert.equal(await exited, 0);
  assert.throws(() => execFileSync(process.execPath, [main], { env: { ...process.env, HTTP_MODE: 'redirect' }, stdio: 'pipe' }), /HTTP_MODE redirect or off needs TLS/);
});

test('configuration errors and --help', () => {
  const help = execFileSync(process.execPath, [main, '--help']).toString();
  for (const name of ['--port', 'PORT', 'CORE_HOST', 'CORE_POOL_SIZE', 'CORE_TIMEOUT_MS', 'CORE_QUEUE_MAX', 'SIM_DATA_DIR', 'LOG_LEVEL', 'EVENTS_BUFFER', 'EVENTS_HEARTBEAT_MS', 'EVENTS_MAX_LISTENERS']) assert.ok(help.includes(name), name);
  assert.throws(() => execFileSync(process.execPath, [main], { env: { ...process.env, EVENTS_BUFFER: '0' }, stdio: 'pipe' }), /EVENTS_BUFFER must be an integer from 1/);
  assert.throws(() => execFileSync(process.execPath, [main], { env: { ...process.env, CORE_POOL_SIZE: 'many' }, stdio: 'pipe' }), /CORE_POOL_SIZE must be an integer/);
  for (const name of ['RECORDINGS_SOURCES', 'RECORDINGS_DB_URL', 'RECORDINGS_TIME_ZONE', 'GATEWAY_DATA_DIR']) assert.ok(help.includes(name), name);
  const refused = (env: NodeJS.ProcessEnv, message: RegExp): void => {
    assert.throws(() => execFileSync(process.execPath, [main], { env: { ...process.env, ...env }, stdio: 'pipe' }), message);
  };
  refused({ RECORDINGS_SOURCES: 'database,ftp' }, /RECORDINGS_SOURCES: ftp is not a source \(database, recordinginfo, index, share\)/);
  refused({ RECORDINGS_SOURCES: 'share,share' }, /RECORDINGS_SOURCES names a source twice/);
  refused({ RECORDINGS_TIME_ZONE: 'Central Time' }, /RECORDINGS_TIME_ZONE: "Central Time" is not a time zone/);
  refused({ RECORDINGS_DB_TABLE: 'Recording; DROP TABLE Recording' }, /RECORDINGS_DB_TABLE must be a table name or schema.table/);
});

test('the product database: its source is in the startup log and /readyz without its credentials, and a failing query logs none', async () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'gateway-data-'));
  dirs.push(dataDir);
  const password = 'n0t-In-any-L0g';
  // A database without the Recording table: the source is configured, and each of its lookups fails.
  const { child, urls, log } = await startGateway({ SIM_DATA_DIR: dataDir, RECORDINGS_DB_URL: `postgres://postgres:${password}@127.0.0.1:5432/test`, RECORDINGS_DB_TABLE: 'NoSuchTable' }, 1);
  const deadline = Date.now() + 5000;
  while (!log().includes('"msg":"recording source"') && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
  const sources = log().split('\n').filter((l) => l.includes('"msg":"recording source"')).map((l) => JSON.parse(l) as { source: string; active: boolean; detail: string });
  assert.deepEqual(sources.map((s) => [s.source, s.active]), [['database', true], ['recordinginfo', true], ['index', true], ['share', true]]);
  assert.match(sources[0]!.detail, /127\.0\.0\.1:5432\/test, table NoSuchTable/);
  const ready = await (await fetch(`${urls[0]}/readyz`)).text();
  assert.match(ready, /NoSuchTable/);
  // The database fails, RECORDINGINFO of the embedded simulator finds it: the export is served.
  const response = await fetch(`${urls[0]}/webAPI.aspx?type=export&requestid=4&uniquefield=user2&uniqueid=10121968&media_format=pcm`);
  assert.equal(response.status, 200);
  await response.arrayBuffer();
  const exited = exitCode(child);
  child.kill('SIGTERM');
  assert.equal(await exited, 0);
  assert.match(log(), /a recording source failed/);
  assert.ok(!log().includes(password), 'the password is in no log line');
  assert.ok(!ready.includes(password) && !ready.includes('postgres:'), 'nor in /readyz');
  assert.ok(fs.existsSync(path.join(dataDir, 'gateway', 'recording-index.sqlite')), 'the event index is kept beside the simulator');
});
