/**
 * Several gateway processes over one simulator process and one Redis, as replicas run behind a load
 * balancer: one event log for all of them (an SSE client that resumes on another replica misses
 * nothing and gets nothing twice), a lease holder killed with SIGKILL (another takes over, and
 * clients are told of the window with a `gap`), and Redis itself stopped and started (calls and
 * exports carry on, events resume, /readyz tells).
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { Redis } from 'ioredis';
import { freePort } from '../core/harness.js';
import { startCoreProcess, type CoreProcess } from '../http/core-process.js';
import { startGatewayProgram, type GatewayProgram } from '../http/gateway-program.js';
import { SseClient, type SseEvent } from '../http/sse-client.js';

const redisUrl = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const leaseMs = 1000;
const cleanups: (() => Promise<void> | void)[] = [];
after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

async function until(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

interface Cluster {
  core: CoreProcess;
  replicas: GatewayProgram[];
  prefix: string;
  redis: Redis;
}

async function startCluster(replicas: number, url = redisUrl, env: Record<string, string> = {}): Promise<Cluster> {
  const core = await startCoreProcess([]);
  cleanups.push(() => core.stop());
  const prefix = `test:${randomBytes(6).toString('hex')}:`;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'replicas-'));
  cleanups.push(() => fs.rmSync(dir, { recursive: true, force: true }));
  const started: GatewayProgram[] = [];
  cleanups.push(() => {
    for (const replica of started) replica.child.kill('SIGKILL');
  });
  for (let i = 0; i < replicas; i++) {
    started.push(
      await startGatewayProgram({
        CORE_HOST: core.host,
        CORE_PORT: String(core.port),
        CORE_EVENT_PORT: String(core.eventPort),
        GATEWAY_DATA_DIR: path.join(dir, `replica-${i}`),
        REDIS_URL: url,
        REDIS_PREFIX: prefix,
        EVENTS_LEASE_MS: String(leaseMs),
        RATE_LIMIT_MAX: '0',
        // The simulator's recordings, where exports find them.
        RECORDINGS_PATH_MAP: `C:\\Recordings\\=${core.recordingsDir}`,
        ...env,
      }),
    );
  }
  const redis = new Redis(url, { maxRetriesPerRequest: 1, lazyConnect: true, retryStrategy: () => 100 });
  redis.on('error', () => undefined);
  await redis.connect();
  cleanups.push(async () => {
    const keys = await redis.keys(`${prefix}*`).catch(() => []);
    if (keys.length > 0) await redis.del(...keys).catch(() => undefined);
    redis.disconnect();
  });
  return { core, replicas: started, prefix, redis };
}

/** Call flows (CALLSTART then CALLSTOP of one device), spread over the replicas, until stopped. */
function runCalls(urls: () => string[]): { stop: () => Promise<number>; failures: string[] } {
  let running = true;
  let flows = 0;
  const failures: string[] = [];
  const loop = (async () => {
    for (let i = 0; running; i++) {
      const targets = urls();
      const device = 5000 + (i % 400);
      for (const [step, type] of ['callstart', 'callstop'].entries()) {
        const url = `${targets[(i + step) % targets.length]}/webAPI.aspx?type=${type}&requestid=${(i * 2 + step + 1) % 2147483647}&deviceid=${device}`;
        try {
          const body = await (await fetch(url)).text();
          if (!body.includes('API_OK')) failures.push(body.slice(0, 200));
        } catch (error) {
          failures.push(String(error));
        }
      }
      flows++;
      await sleep(10);
    }
  })();
  return {
    failures,
    stop: async () => {
      running = false;
      await loop;
      return flows;
    },
  };
}

const idsOf = (events: SseEvent[]): number[] => events.map((event) => Number(event.id));

async function holderPid(cluster: Cluster): Promise<number | undefined> {
  const lease = await cluster.redis.get(`${cluster.prefix}events:lease`);
  const match = lease && /^[^:]+:(\d+):/.exec(lease);
  return match ? Number(match[1]) : undefined;
}

async function openUp(url: string, headers: Record<string, string> = {}): Promise<SseClient> {
  const client = await SseClient.open(`${url}/api/v1/events`, headers);
  assert.equal(client.status, 200);
  cleanups.push(() => client.close());
  return client;
}

test('an SSE client that resumes with Last-Event-ID on another replica, then a third, gets every event once, in order', { timeout: 90_000 }, async () => {
  const cluster = await startCluster(3);
  const urls = cluster.replicas.map((replica) => replica.urls[0]!);
  const reference = await openUp(urls[0]!);
  await until('the event port is up', () => reference.messages.some((m) => m.event === 'status' && m.data.includes('"up"')));

  const calls = runCalls(() => urls);
  const seen: SseEvent[] = [];
  let client = await openUp(urls[0]!);
  for (const next of [1, 2]) {
    await until('events on this replica', () => client.events.length >= 20);
    client.close();
    seen.push(...client.events);
    client = await openUp(urls[next]!, { 'last-event-id': seen.at(-1)!.id });
  }
  await until('events on the third replica', () => client.events.length >= 20);
  const flows = await calls.stop();
  assert.deepEqual(calls.failures, []);
  const last = reference.events.at(-1)!.id;
  await until('the last event on the third replica', () => client.events.some((event) => event.id === last));
  seen.push(...client.events);

  const ids = idsOf(seen);
  const expected = idsOf(reference.events);
  const from = expected.indexOf(ids[0]!);
  assert.ok(from >= 0, 'the first event the client saw is one of the log');
  assert.deepEqual(ids, expected.slice(from), 'every event once, in order, across three replicas');
  assert.ok(flows >= 10 && ids.length >= 60, `${flows} call flows, ${ids.length} events`);
  assert.ok(!seen.some((event) => event.event === 'gap'), 'no gap: nothing was lost');

  // What each replica served is the Stream in Redis, entry for entry: ids are ms x 1000 + seq.
  const entries = await cluster.redis.xrange(`${cluster.prefix}events:stream`, '-', '+');
  const streamIds = entries.map(([id]) => Number(id.split('-')[0]) * 1000 + Number(id.split('-')[1]));
  assert.deepEqual(expected, streamIds.slice(streamIds.indexOf(expected[0]!)));
});

test('the lease holder killed with SIGKILL: another replica takes over within the lease time, and clients hear of the window as a gap', { timeout: 90_000 }, async () => {
  const cluster = await startCluster(3);
  const holder = await holderPid(cluster);
  const dying = cluster.replicas.find((replica) => replica.child.pid === holder)!;
  assert.ok(dying, 'one of the replicas holds the lease');
  const survivors = cluster.replicas.filter((replica) => replica !== dying);
  const listeners = await Promise.all(survivors.map((replica) => openUp(replica.urls[0]!)));
  await until('the event port is up', () => listeners.every((l) => l.messages.some((m) => m.event === 'status' && m.data.includes('"up"'))));

  const calls = runCalls(() => survivors.map((replica) => replica.urls[0]!));
  await until('events before the kill', () => listeners.every((l) => l.events.length >= 20));
  const killedAt = Date.now();
  dying.child.kill('SIGKILL');
  await until('another holder', async () => {
    const now = await holderPid(cluster);
    return now !== undefined && now !== holder;
  });
  const tookOverMs = Date.now() - killedAt;
  await until('a gap on every surviving replica', () => listeners.every((l) => l.events.some((event) => event.event === 'gap')));
  await until('events after the gap', () => listeners.every((l) => l.events.length - l.events.findIndex((event) => event.event === 'gap') > 20));
  const flows = await calls.stop();
  assert.deepEqual(calls.failures, [], 'calls go through the surviving replicas all along');

  // The lease is renewed three times per lease time; the others ask ten times per lease time.
  assert.ok(tookOverMs <= leaseMs * 1.2, `took over ${tookOverMs} ms after the kill (lease ${leaseMs} ms)`);
  for (const listener of listeners) {
    const ids = idsOf(listener.events);
    for (let i = 1; i < ids.length; i++) assert.ok(ids[i]! > ids[i - 1]!, 'ids increase: nothing twice, nothing out of order');
    const gaps = listener.events.filter((event) => event.event === 'gap');
    assert.equal(gaps.length, 1, 'one gap, for the one takeover');
    const gap = gaps[0]!.json as unknown as { type: string; from: string; to: string };
    assert.equal(gap.type, 'gap');
    assert.ok(Date.parse(gap.from) <= killedAt && Date.parse(gap.to) >= killedAt, `the gap ${gap.from}..${gap.to} covers the kill`);
    // Every flow the core began after the gap closed is seen whole.
    const afterGap = listener.events.slice(listener.events.indexOf(gaps[0]!) + 1);
    const started = new Set(afterGap.filter((e) => e.event === 'CALLSTART').map((e) => e.json.data.deviceId));
    const stoppedDevices = afterGap.filter((e) => e.event === 'CALLSTOP').map((e) => e.json.data.deviceId);
    assert.ok(started.size > 5 && stoppedDevices.length > 5, 'calls flowed after the takeover');
  }
  // Both survivors served the very same log.
  const [one, two] = listeners.map((l) => idsOf(l.events));
  const common = one!.filter((id) => two!.includes(id));
  assert.ok(common.length >= one!.length - 40, 'the replicas serve one log');
  process.stdout.write(`# takeover ${tookOverMs} ms after SIGKILL, lease ${leaseMs} ms, ${flows} call flows\n`);
});

const redisServer = '/usr/bin/redis-server';

/** A Redis of this test's own, which it may stop and start without touching the machine's. */
async function privateRedis(port: number): Promise<ChildProcess> {
  const child = spawn(redisServer, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
  await until('the private Redis', () => spawnSync('redis-cli', ['-p', String(port), 'ping']).stdout?.toString().includes('PONG') ?? false, 10_000);
  return child;
}

test('Redis stopped and started while calls and exports run: they are unaffected, /readyz tells, events resume', { skip: !fs.existsSync(redisServer) && 'redis-server is not installed', timeout: 90_000 }, async () => {
  const port = await freePort();
  let redis = await privateRedis(port);
  cleanups.push(() => {
    redis.kill('SIGKILL');
  });
  const cluster = await startCluster(2, `redis://127.0.0.1:${port}`);
  const urls = cluster.replicas.map((replica) => replica.urls[0]!);
  const listeners = await Promise.all(urls.map((url) => openUp(url)));
  await until('the event port is up', () => listeners.every((l) => l.messages.some((m) => m.event === 'status' && m.data.includes('"up"'))));
  const exportUrl = (url: string, requestId: number): string => `${url}/webAPI.aspx?type=export&requestid=${requestId}&uniquefield=ident&uniqueid=1&media_format=wav`;
  const calls = runCalls(() => urls);
  // The first call flow makes the recording the exports ask for.
  for (const url of urls) await until('an export', async () => (await fetch(exportUrl(url, 1))).status === 200);
  const exportFailures: string[] = [];
  let exporting = true;
  let exported = 0;
  const exports = (async () => {
    for (let i = 0; exporting; i++) {
      const response = await fetch(exportUrl(urls[i % 2]!, i + 1));
      const body = Buffer.from(await response.arrayBuffer());
      if (response.status !== 200 || body.subarray(0, 4).toString() !== 'RIFF') exportFailures.push(`${response.status} ${body.subarray(0, 200).toString()}`);
      else exported++;
    }
  })();
  await until('events before Redis stops', () => listeners.every((l) => l.events.length >= 10));

  redis.kill('SIGKILL');
  await until('/readyz says Redis is down', async () => {
    const answer = (await (await fetch(`${urls[0]}/readyz`)).json()) as { redis?: string };
    return answer.redis === 'down';
  });
  const ready = await fetch(`${urls[1]}/readyz`);
  assert.equal(ready.status, 200, 'Redis does not decide readiness: calls and exports do not need it');
  const duringOutage = exported;
  const outageStarted = Date.now();
  await sleep(1500);
  process.stdout.write(`# exports ${duringOutage} -> ${exported} in ${Date.now() - outageStarted} ms; failures ${exportFailures.length}: ${exportFailures.slice(0, 2).join(' | ')}\n`);
  assert.ok(exported > duringOutage, 'exports go on while Redis is down');

  redis = await privateRedis(port);
  await until('/readyz says Redis is up', async () => {
    const answers = await Promise.all(urls.map(async (url) => ((await (await fetch(`${url}/readyz`)).json()) as { redis?: string }).redis));
    return answers.every((state) => state === 'up');
  });
  // The lost Redis held the log: the next events (and a gap) reach every listener again.
  const counts = listeners.map((l) => l.events.length);
  await until('events resume on every replica', () => listeners.every((l, i) => l.events.length >= counts[i]! + 10), 20_000);
  await calls.stop();
  exporting = false;
  await exports;
  assert.deepEqual(calls.failures, [], 'no call failed while Redis was away');
  assert.deepEqual(exportFailures, [], 'no export failed while Redis was away');
  for (const listener of listeners) {
    const ids = idsOf(listener.events);
    for (let i = 1; i < ids.length; i++) assert.ok(ids[i]! > ids[i - 1]!, 'nothing twice, nothing out of order');
  }
});
