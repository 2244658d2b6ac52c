/**
 * `recordingsDbUrl` (`--recordings-db`): the product's Recording table kept in a real PostgreSQL and
 * a real MariaDB, each test run in a database of its own. The seeded recordings arrive whole; a
 * call recorded through the API port is in the table when CALLSTOP is answered, and RECORDINGUPDATE
 * reaches a subscriber only after it; CALLUPDATE edits arrive; an outage (the server cut off, the
 * table dropped) crashes nothing and the queued changes arrive later; a restart duplicates nothing
 * and brings what changed in the store while it was away.
 */
// The simulator writes local times: run it away from UTC, so that a zone mix-up cannot pass.
process.env.TZ = 'America/Chicago';

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import Database from 'better-sqlite3';
import { recordingColumns } from '../../src/protocol/catalog.js';
import { buildRequest, childText, parseXml } from '../../src/protocol/xml.js';
import type { RunningSimulator, SimulatorConfig } from '../../src/sim/simulator.js';
import { CoreClient, startTestSimulator, toAnswer } from './harness.js';
import { createDatabase, Relay, type Engine, type ExternalDatabase, type TextRow } from './product-databases.js';

const pad2 = (n: number): string => String(n).padStart(2, '0');
/** The wall clock of this process's zone, written as the zone-less column holds it. */
function localWallClock(unixSeconds: number): string {
  const d = new Date(unixSeconds * 1000);
  return `${d.getFullYear()}-${pad2(d.getMonth() + 1)}-${pad2(d.getDate())} ${pad2(d.getHours())}:${pad2(d.getMinutes())}:${pad2(d.getSeconds())}`;
}

/** What the store holds of a recording, as the Recording table must hold it. */
function expectedRow(sim: RunningSimulator, ident: number): TextRow {
  const row = sim.context.db.prepare('SELECT * FROM recordings WHERE ident = ?').get(ident) as Record<string, string | number>;
  assert.ok(row, `recording ${ident} in the store`);
  return Object.fromEntries(recordingColumns.map((c) => [c, c === 'recording_time' ? localWallClock(Number(row[c])) : String(row[c])]));
}

const storeIdents = (sim: RunningSimulator): number[] =>
  (sim.context.db.prepare('SELECT ident FROM recordings ORDER BY ident').pluck().all() as number[]);

/** Lines the simulator writes to stderr, while a test listens. */
class StderrLines {
  readonly lines: string[] = [];
  private readonly original = process.stderr.write.bind(process.stderr);
  start(): void {
    process.stderr.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
      this.lines.push(...String(chunk).split('\n').filter((l) => l.startsWith('uptivity-core-sim:')));
      return (this.original as (...a: unknown[]) => boolean)(chunk, ...rest);
    }) as typeof process.stderr.write;
  }
  stop(): void {
    process.stderr.write = this.original;
  }
}

async function waitFor<T>(what: string, probe: () => Promise<T | undefined | false>, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await sleep(100);
  }
}

for (const engine of ['postgres', 'mariadb'] as const satisfies readonly Engine[]) {
  describe(`the Recording table in ${engine}`, () => {
    let database: ExternalDatabase;
    let relay: Relay;
    let dataDir: string;
    let sim: RunningSimulator;
    let client: CoreClient;
    let requestId = 100;
    const stderr = new StderrLines();

    const start = (config: SimulatorConfig = {}): Promise<RunningSimulator> =>
      startTestSimulator({ dataDir, seed: true, recordingsDbUrl: database.url(relay.port), ...config });
    const send = (type: string, params: Record<string, string | number>) => client.request(type, params, ++requestId);

    before(async () => {
      database = await createDatabase(engine);
      // Through a relay, so that a test can cut the simulator off from the server.
      relay = new Relay(database.port);
      await relay.up();
      dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'uptivity-sim-db-'));
      stderr.start();
      sim = await start();
      client = await CoreClient.connect(sim.port);
    });
    after(async () => {
      stderr.stop();
      client?.close();
      await sim?.close();
      await relay?.down();
      await database?.drop();
      if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
    });

    test('the seeded recordings are all there, every column as the store holds it, recording_time in local time', async () => {
      const idents = storeIdents(sim);
      assert.equal(idents.length, 209);
      const rows = await database.recordings();
      assert.deepEqual(rows.map((r) => Number(r.ident)), idents);
      assert.deepEqual(Object.keys(rows[0]!).sort(), [...recordingColumns].sort(), 'exactly the manual\'s columns');
      for (const row of rows) assert.deepEqual(row, expectedRow(sim, Number(row.ident)));

      const csn = rows.find((r) => r.ident === '10121968')!;
      assert.equal(csn.user2, '10121968');
      const example = rows.find((r) => r.ident === '13101')!;
      // 1312921123 is 2011-08-09 20:18:43 UTC: 15:18:43 in Chicago (CDT), the name of its file too.
      assert.equal(example.recording_time, '2011-08-09 15:18:43');
      assert.equal(example.recording_time, localWallClock(1312921123));
      assert.match(example.filename!, /\\20110809\\1234\\1234-15-18-43\.wav$/);
      assert.equal(example.duration, '60');
      assert.equal(example.user3, '12345');
      assert.equal(example.device_id, '1111');
    });

    test('a call recorded through the API port is in the table when CALLSTOP is answered; RECORDINGUPDATE comes after it', async () => {
      const events = await CoreClient.connect(sim.eventPort);
      try {
        const subscribed = await events.raw('<REQUEST><TYPE>EVENTS</TYPE><REQUESTID>0</REQUESTID><EVENTCLASS>RECORD</EVENTCLASS><EVENTVALUE>7003</EVENTVALUE></REQUEST>');
        assert.equal(subscribed.code, 20);
        const started = await send('CALLSTART', { DEVICEID: '7003', USER1: 'Platinum', ANI: '6145550123' });
        assert.equal(started.code, 20, started.xml);
        assert.equal(childText(parseXml(await events.next()), 'EVENTTYPE'), 'RECORDINGSTARTED');
        sim.context.clock.advance(42_000);

        // While the table refuses writes, neither the answer nor the recording's events may go out.
        const release = await database.lockWrites();
        let released = false;
        try {
          client.write(`${buildRequest('CALLSTOP', ++requestId, [['DEVICEID', '7003']])}\r\n`);
          await assert.rejects(client.next(600), /no message within/, 'CALLSTOP answered before the table had the recording');
          await assert.rejects(events.next(50), /no message within/, 'an event went out before the table had the recording');
          assert.equal(await database.count(), 209);
          await release();
          released = true;
        } finally {
          if (!released) await release();
        }
        const stopped = toAnswer(await client.next());
        assert.equal(stopped.code, 20, stopped.xml);
        const saved = sim.context.db.prepare("SELECT ident FROM recordings WHERE device_id = '7003' ORDER BY ident DESC LIMIT 1").pluck().get() as number;
        // At once, no polling: the answer came after the write.
        const row = await database.recording(saved);
        assert.ok(row, 'the recording is in the table when CALLSTOP is answered');
        assert.deepEqual(row, expectedRow(sim, saved));
        assert.equal(row.duration, '42');
        assert.equal(row.user1, 'Platinum');

        const seen: string[] = [];
        for (;;) {
          const event = parseXml(await events.next());
          const type = childText(event, 'EVENTTYPE')!;
          seen.push(type);
          if (type !== 'RECORDINGUPDATE') continue;
          const data = event.children.find((c) => c.name === 'EVENTDATA')!;
          assert.equal(childText(data, 'RECORDID'), String(saved));
          // Checked as the event is handled: the database already has what the event announces.
          assert.ok(await database.recording(saved), 'RECORDINGUPDATE arrived before the row');
          break;
        }
        assert.deepEqual(seen, ['RECORDINGSTOPPED', 'RECORDINGUPDATE']);
      } finally {
        events.close();
      }
    });

    test('a post-recording CALLUPDATE changes the row before it is answered', async () => {
      const answer = await send('CALLUPDATE', { RECORDID: 554853, USER5: 'Escalated', USER14: 'Ticket 7781', KEEPDAYS: '3650' });
      assert.equal(answer.code, 20, answer.xml);
      const row = await database.recording(554853);
      assert.equal(row?.user5, 'Escalated');
      assert.equal(row?.user14, 'Ticket 7781');
      assert.deepEqual(row, expectedRow(sim, 554853));
    });

    test('a server cut off crashes nothing: answers go out, one line is logged, the queue arrives when it is back', async () => {
      const logged = stderr.lines.length;
      await relay.down();
      try {
        const startedAt = performance.now();
        for (const [i, ident] of [10121901, 10121902, 10121903].entries()) {
          const answer = await send('CALLUPDATE', { RECORDID: ident, USER6: `offline ${i}` });
          assert.equal(answer.code, 20, answer.xml);
        }
        assert.ok(performance.now() - startedAt < 5000, 'answers are not held while the server refuses connections');
        assert.equal((await send('TEST', {})).code, 20);
        await sleep(1500); // a retry or two
        const lines = stderr.lines.slice(logged);
        assert.equal(lines.length, 1, `one line for the outage, not one per attempt: ${lines.join(' | ')}`);
        assert.match(lines[0]!, /recordings database (postgresql|mariadb) 127\.0\.0\.1:\d+\/uptivity_sim_\w+: writing to the Recording table failed/);
        if (database.password) {
          assert.ok(!lines[0]!.includes(database.password) && !lines[0]!.includes(encodeURIComponent(database.password)), 'no password in the log');
        }
        assert.ok(sim.context.recordingMirror!.pendingChanges >= 3);
      } finally {
        await relay.up();
      }
      // No request needed: the retry writes the queue.
      await waitFor('the queued updates', async () => (await database.recording(10121903))?.user6 === 'offline 2');
      for (const ident of [10121901, 10121902, 10121903]) assert.deepEqual(await database.recording(ident), expectedRow(sim, ident));
      // The queue is emptied once the batch's transaction is committed, a moment after its rows are readable.
      await waitFor('the queue emptied', async () => sim.context.recordingMirror!.pendingChanges === 0);
      assert.match(stderr.lines.at(-1)!, /writing again; the Recording table is up to date/);
    });

    test('a dropped table is created again, with everything the store holds', async () => {
      await database.exec(engine === 'postgres' ? 'DROP TABLE "Recording"' : 'DROP TABLE Recording');
      const answer = await send('CALLUPDATE', { RECORDID: 46, USER7: 'after the drop' });
      assert.equal(answer.code, 20, answer.xml);
      const idents = storeIdents(sim);
      await waitFor('the table again', async () => (await database.tableExists()) && (await database.count()) === idents.length);
      assert.deepEqual(await database.recording(46), expectedRow(sim, 46));
      assert.deepEqual((await database.recordings()).map((r) => Number(r.ident)), idents);
    });

    test('a restart duplicates nothing and brings what changed in the store while the simulator was away', async () => {
      client.close();
      await sim.close();
      const count = await database.count();
      // Another program edits the store while the simulator is down: the triggers queue it all the same.
      const store = new Database(path.join(dataDir, 'core.sqlite'));
      store.prepare("UPDATE recordings SET user8 = 'edited offline' WHERE ident = 1509").run();
      store.close();

      sim = await start();
      client = await CoreClient.connect(sim.port);
      assert.equal(sim.seeded, false);
      assert.equal(await database.count(), count);
      assert.equal((await database.recording(1509))?.user8, 'edited offline');
      assert.equal(sim.context.recordingMirror!.pendingChanges, 0);

      // Without the database the store captures nothing; back with it, the table is synced whole.
      client.close();
      await sim.close();
      sim = await startTestSimulator({ dataDir });
      const capture = sim.context.db.prepare("SELECT count(*) FROM sqlite_master WHERE name LIKE 'recording_change%'").pluck().get();
      assert.equal(capture, 0, 'no capture tables without a database');
      const offline = await CoreClient.connect(sim.port);
      assert.equal((await offline.request('CALLUPDATE', { RECORDID: 1509, USER9: 'unmirrored' }, 1)).code, 20);
      offline.close();
      await sim.close();
      sim = await start();
      client = await CoreClient.connect(sim.port);
      assert.equal((await database.recording(1509))?.user9, 'unmirrored');
      assert.equal(await database.count(), count);
    });
  });
}
