/**
 * The mirror of the store's recordings into an external Recording table, on its own, against real
 * PostgreSQL and MariaDB (a fresh database each): the bound on how long an answer waits, a change
 * made while a flush is writing, deletes, values no column could hold, closing while a server
 * never answers a handshake, and the start refused for a table without the manual's columns, an
 * unreachable server or another URL scheme.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { recordingColumns } from '../../src/protocol/catalog.js';
import { EventBus, type PublishedEvent } from '../../src/sim/event-bus.js';
import { RecordingMirror } from '../../src/sim/recording-mirror.js';
import { openDatabase, type Db } from '../../src/sim/store.js';
import { startTestSimulator } from './harness.js';
import { createDatabase, Relay, type Engine, type ExternalDatabase } from './product-databases.js';

for (const engine of ['postgres', 'mariadb'] as const satisfies readonly Engine[]) {
  describe(`the recording mirror on ${engine}`, () => {
    let database: ExternalDatabase;
    let dir: string;
    let db: Db;
    let events: EventBus;
    let mirror: RecordingMirror;
    const delivered: PublishedEvent[] = [];
    const logged: string[] = [];
    let nextIdent = 1;

    const insert = (values: Record<string, string | number> = {}): number => {
      const ident = nextIdent++;
      const row = { ident, recording_time: 1312921123, filename: `C:\\Recordings\\20110809\\1111\\1111-15-18-${ident}.wav`, duration: 60, ...values };
      const names = Object.keys(row);
      db.prepare(`INSERT INTO recordings (${names.join(', ')}) VALUES (${names.map((n) => '@' + n).join(', ')})`).run(row);
      return ident;
    };

    before(async () => {
      database = await createDatabase(engine);
      dir = fs.mkdtempSync(path.join(os.tmpdir(), 'uptivity-mirror-'));
      db = openDatabase(path.join(dir, 'core.sqlite'));
      events = new EventBus();
      events.subscribe((event) => delivered.push(event));
      mirror = await RecordingMirror.open(db, database.url(), events, { holdMs: 300, retryMs: 100, log: (line) => logged.push(line) });
    });
    after(async () => {
      await mirror?.close();
      db?.close();
      await database?.drop();
      if (dir) fs.rmSync(dir, { recursive: true, force: true });
    });

    test('a locked table holds an answer and its events for holdMs only; the row follows when it frees', async () => {
      const release = await database.lockWrites();
      let ident = 0;
      const started = performance.now();
      try {
        await mirror.settle(() => {
          ident = insert({ user2: 'held' });
          events.publish('RECORDINGUPDATE', { RECORDID: ident, DEVICEID: '1111' }, 1);
          assert.equal(delivered.length, 0, 'held while the command runs');
        });
        const took = performance.now() - started;
        assert.ok(took >= 290 && took < 3000, `settled after ${Math.round(took)} ms`);
        assert.equal(delivered.length, 1, 'released with the answer');
        assert.equal(await database.recording(ident), undefined);
        assert.match(logged.at(-1)!, /take longer than 300 ms; answering without waiting/);
      } finally {
        await release();
      }
      await mirror.flush();
      assert.equal((await database.recording(ident))?.user2, 'held');
      assert.equal(mirror.pendingChanges, 0);
    });

    test('a command that saves no recording neither waits nor holds its events', async () => {
      const release = await database.lockWrites();
      try {
        delivered.length = 0;
        const started = performance.now();
        await mirror.settle(() => events.publish('CALLSTART', { DEVICEID: '1111' }, 2));
        assert.ok(performance.now() - started < 200);
        assert.equal(delivered.length, 1);
      } finally {
        await release();
      }
    });

    test('a change made while a flush writes the same recording stays queued, and the next flush brings it', async () => {
      const ident = insert({ user5: 'first' });
      const release = await database.lockWrites();
      let flushing: Promise<void>;
      try {
        flushing = mirror.flush(); // has read 'first', waits on the lock
        await sleep(100);
        db.prepare("UPDATE recordings SET user5 = 'second' WHERE ident = ?").run(ident);
      } finally {
        await release();
      }
      await flushing;
      assert.equal((await database.recording(ident))?.user5, 'first');
      assert.equal(mirror.pendingChanges, 1, 'the later change is not forgotten with the one written');
      await mirror.flush();
      assert.equal((await database.recording(ident))?.user5, 'second');
      assert.equal(mirror.pendingChanges, 0);
    });

    test('a recording deleted from the store leaves the table; columns of the store only are not mirrored', async () => {
      const ident = insert();
      await mirror.flush();
      assert.ok(await database.recording(ident));
      db.prepare("UPDATE recordings SET media_path = 'x/y.wav', sys_user = 'someone' WHERE ident = ?").run(ident);
      assert.equal(mirror.pendingChanges, 0, 'no change of the Recording table');
      db.prepare('DELETE FROM recordings WHERE ident = ?').run(ident);
      await mirror.flush();
      assert.equal(await database.recording(ident), undefined);
    });

    test('a value no column could hold is cut to fit rather than blocking the queue', async () => {
      const long = 'é'.repeat(300);
      const ident = insert({ user4: long, ani: 'a\u0000b', filename: `C:\\${'f'.repeat(600)}` });
      const after = insert({ user4: 'next' });
      await mirror.flush();
      const row = await database.recording(ident);
      assert.equal(row?.user4, 'é'.repeat(255));
      assert.equal(row?.ani, 'ab');
      assert.equal(row?.filename?.length, 512);
      assert.equal((await database.recording(after))?.user4, 'next');
      assert.equal(mirror.pendingChanges, 0);
    });
  });

  test(`${engine}: closing while a connection is made to a server that never answers ends in time, and nothing is thrown later`, async () => {
    const database = await createDatabase(engine);
    const relay = new Relay(database.port);
    await relay.up();
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'uptivity-mirror-silent-'));
    const db = openDatabase(path.join(dir, 'core.sqlite'));
    const unheard: unknown[] = [];
    const listener = (error: unknown): void => void unheard.push(error);
    process.on('uncaughtException', listener);
    let silent: net.Server | undefined;
    const sockets: net.Socket[] = [];
    try {
      const logged: string[] = [];
      const mirror = await RecordingMirror.open(db, database.url(relay.port), new EventBus(), {
        holdMs: 300,
        retryMs: 200,
        connectTimeoutMs: 800,
        statementTimeoutMs: 800,
        log: (line) => logged.push(line),
      });
      // The server's port now accepts connections and never says a word.
      await relay.down();
      silent = net.createServer((socket) => {
        sockets.push(socket);
        socket.on('error', () => undefined);
      });
      silent.listen(relay.port, '127.0.0.1');
      await once(silent, 'listening');
      await mirror.settle(() => db.prepare('INSERT INTO recordings (ident, recording_time) VALUES (1, 1312921123)').run());
      await sleep(400); // a retry is now waiting for the handshake
      const started = performance.now();
      await mirror.close();
      assert.ok(performance.now() - started < 800 + 1500, `closed after ${Math.round(performance.now() - started)} ms`);
      await sleep(1200);
      assert.deepEqual(unheard, []);
      assert.equal(logged.length, 1, logged.join(' | '));
    } finally {
      process.off('uncaughtException', listener);
      for (const socket of sockets) socket.destroy();
      silent?.close();
      db.close();
      await database.drop();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test(`${engine}: a Recording table without the manual's columns refuses the start, naming them`, async () => {
    const database = await createDatabase(engine);
    try {
      await database.exec(engine === 'postgres' ? 'CREATE TABLE "Recording" (ident BIGINT PRIMARY KEY, filename VARCHAR(512))' : 'CREATE TABLE Recording (Ident BIGINT PRIMARY KEY, FileName VARCHAR(512))');
      const missing = recordingColumns.filter((c) => c !== 'ident' && c !== 'filename');
      await assert.rejects(startTestSimulator({ recordingsDbUrl: database.url() }), (error: Error) => {
        assert.match(error.message, new RegExp(`^the recordings database (postgresql|mariadb) 127\\.0\\.0\\.1:\\d+/${database.name} cannot be used: the Recording table of .* lacks the columns ${missing.join(', ')}$`));
        return true;
      });
    } finally {
      await database.drop();
    }
  });
}

test('startSimulator refuses another scheme, and an unreachable server, before listening', async () => {
  await assert.rejects(startTestSimulator({ recordingsDbUrl: 'sqlite:///tmp/x.db' }), /must start with postgres:\/\/, postgresql:\/\/, mysql:\/\/ or mariadb:\/\//);
  await assert.rejects(startTestSimulator({ recordingsDbUrl: 'not a url' }), /must be a URL starting with postgres:\/\//);
  await assert.rejects(startTestSimulator({ recordingsDbUrl: 'postgresql://postgres:Pa55word@127.0.0.1:1/x' }), (error: Error) => {
    assert.match(error.message, /^the recordings database postgresql 127\.0\.0\.1:1\/x cannot be used: connect ECONNREFUSED/);
    assert.ok(!error.message.includes('Pa55word'));
    return true;
  });
});
