/**
 * The program in "product mode", as the gateway is tested against a real deployment:
 * `--no-extensions --recordings-db <url> --seed`, in a zone other than UTC. The seeded recordings
 * are in PostgreSQL when the startup line is printed, RECORDINGINFO is an unknown type, a call is in
 * the table when CALLSTOP is answered, SIGTERM exits 0. A URL of another scheme and a database that
 * cannot be reached fail the start with exit code 1 and a message without the password.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { killCores, mainJs, startCore, stopCore } from './core-process.js';
import { CoreClient } from './harness.js';
import { createPostgresDatabase, type ExternalDatabase } from './product-databases.js';

/** A port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = net.createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as net.AddressInfo;
  server.close();
  await once(server, 'close');
  return port;
}

describe('uptivity-core-sim --no-extensions --recordings-db', () => {
  let database: ExternalDatabase;
  let dataDir: string;

  before(async () => {
    database = await createPostgresDatabase();
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'uptivity-core-product-'));
  });
  after(async () => {
    killCores();
    await database?.drop();
    if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('--help describes both flags', () => {
    const result = spawnSync(process.execPath, [mainJs, '--help'], { encoding: 'utf8', timeout: 10_000 });
    assert.equal(result.status, 0, result.stderr);
    assert.match(result.stdout, /--no-extensions/);
    assert.match(result.stdout, /--recordings-db <url>/);
    for (const scheme of ['postgres://', 'postgresql://', 'mysql://', 'mariadb://']) assert.ok(result.stdout.includes(scheme), scheme);
  });

  it('keeps the Recording table as the product does, and answers only the product command set', { timeout: 60_000 }, async () => {
    const core = await startCore(['--data', dataDir, '--seed', '--no-extensions', '--recordings-db', database.url()], { TZ: 'America/Chicago' });
    assert.equal(core.seeded, true, core.firstLine);
    // Filled before the ports were announced.
    assert.equal(await database.count(), 209);
    const example = await database.recording(13101);
    // UNIX 1312921123 on a recorder in Chicago.
    assert.equal(example?.recording_time, '2011-08-09 15:18:43');
    assert.equal((await database.recording(10121968))?.user2, '10121968');
    await sleep(50);
    const told = core.stdout().join('\n');
    assert.match(told, new RegExp(`the Recording table is kept in postgresql 127\\.0\\.0\\.1:5432/${database.name}`));
    assert.ok(!told.includes(database.password) && !told.includes(encodeURIComponent(database.password)), 'no password on stdout');

    const client = await CoreClient.connect(core.apiPort);
    try {
      const info = await client.request('RECORDINGINFO', { IDENT: '13101' }, 1);
      assert.equal(info.code, 10);
      assert.equal(info.message, 'Unknown message type RECORDINGINFO');
      assert.equal((await client.request('CALLSTART', { DEVICEID: '9001', USER2: 'CSN-9001' }, 2)).code, 20);
      await sleep(1100);
      assert.equal((await client.request('CALLSTOP', { DEVICEID: '9001' }, 3)).code, 20);
      const list = await client.request('CALLLIST', { DEVICEID: '9001' }, 4);
      const recordId = /<RECORDID>(\d+)<\/RECORDID>/.exec(list.xml)?.[1];
      assert.ok(recordId, list.xml);
      const row = await database.recording(recordId);
      assert.equal(row?.device_id, '9001');
      assert.equal(row?.user2, 'CSN-9001');
      assert.ok(Number(row?.duration) >= 1);
      assert.match(row!.filename!, /^C:\\Recordings\\\d{8}\\9001\\9001-\d{2}-\d{2}-\d{2}\.wav$/);
    } finally {
      client.close();
    }
    await stopCore(core);
    assert.equal(core.stderr(), '');
  });

  it('loads a database driver only with a database, and only its own', () => {
    const simulatorJs = new URL('../../src/sim/simulator.js', import.meta.url).href;
    // Loaded through ESM, the drivers (CommonJS packages) land in the CommonJS cache all the same.
    const script = `
      import { createRequire } from 'node:module';
      const { startSimulator } = await import(${JSON.stringify(simulatorJs)});
      const url = process.argv[1];
      const sim = await startSimulator({ port: 0, eventPort: 0, ...(url ? { recordingsDbUrl: url } : {}) });
      await sim.close();
      const loaded = Object.keys(createRequire(import.meta.url).cache).map((k) => /node_modules[/](pg|mysql2)[/]/.exec(k)?.[1]).filter(Boolean);
      console.log(JSON.stringify([...new Set(loaded)]));
    `;
    const loaded = (url?: string): string[] => {
      const result = spawnSync(process.execPath, ['--input-type=module', '-e', script, ...(url ? [url] : [])], { encoding: 'utf8', timeout: 20_000 });
      assert.equal(result.status, 0, result.stderr);
      return JSON.parse(result.stdout) as string[];
    };
    assert.deepEqual(loaded(), []);
    assert.deepEqual(loaded(database.url()), ['pg'], 'the check sees a driver that is loaded');
  });

  it('a URL of another scheme fails the start, naming the supported ones', () => {
    const result = spawnSync(process.execPath, [mainJs, '--port', '0', '--event-port', '0', '--recordings-db', 'mssql://sa:Pa55word@db/product'], { encoding: 'utf8', timeout: 10_000 });
    assert.equal(result.status, 1);
    assert.equal(result.stdout, '', 'it does not start');
    assert.match(result.stderr, /postgres:\/\/, postgresql:\/\/, mysql:\/\/ or mariadb:\/\//);
    assert.ok(!result.stderr.includes('Pa55word'));
  });

  it('a database that cannot be reached fails the start with exit code 1 and no password', async () => {
    const port = await closedPort();
    for (const url of [`postgres://postgres:Pa55word@127.0.0.1:${port}/${database.name}`, `mysql://root:Pa55word@127.0.0.1:${port}/test`]) {
      const result = spawnSync(process.execPath, [mainJs, '--port', '0', '--event-port', '0', '--recordings-db', url], { encoding: 'utf8', timeout: 20_000 });
      assert.equal(result.status, 1, result.stderr);
      assert.equal(result.stdout, '', 'it does not start');
      assert.match(result.stderr, new RegExp(`^uptivity-core-sim: the recordings database (postgresql|mysql) 127\\.0\\.0\\.1:${port}/\\w+ cannot be used: .*ECONNREFUSED`));
      assert.ok(!result.stderr.includes('Pa55word'), result.stderr);
    }
  });
});
