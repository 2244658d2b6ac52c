/**
 * The gateway program in front of a simulator process that misbehaves as cores do in the field,
 * with callers sending all the while: the core stopped and continued (a hung host), killed and
 * started again, cutting answers short and answering another request. What callers and operators
 * must see: no caller waits past its bounds, no answer reaches the wrong caller, /readyz flips
 * within the probe bound, calls succeed within a second of the core's return, a handful of log
 * lines per outage, and no event lost without a gap that says so.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { startCore, type CoreProcess } from '../sim/core-process.js';
import { startGatewayProgram, type GatewayProgram } from '../http/gateway-program.js';
import { SseClient } from '../http/sse-client.js';

const coreTimeoutMs = 2000;
const probeTimeoutMs = 500;

/** Callers sending a command (TEST by default) with ids of their own, checking that each answer is theirs. */
class Load {
  private running = true;
  readonly outcomes: { status: number; ms: number; at: number }[] = [];
  readonly wrongAnswers: string[] = [];
  readonly errors: string[] = [];
  private readonly callers: Promise<void>[];

  constructor(
    private readonly url: string,
    callers: number,
    private readonly firstId: number,
    private readonly type = 'test',
  ) {
    this.callers = Array.from({ length: callers }, (_, n) => this.call(n));
  }

  private async call(n: number): Promise<void> {
    for (let i = 0; this.running; i++) {
      const requestId = this.firstId + n * 100_000 + i;
      const started = Date.now();
      try {
        const response = await fetch(`${this.url}/webAPI.aspx?type=${this.type}&requestid=${requestId}`);
        const body = await response.text();
        this.outcomes.push({ status: response.status, ms: Date.now() - started, at: started });
        if (!body.includes(`<REQUESTID>${requestId}</REQUESTID>`)) this.wrongAnswers.push(body.slice(0, 300));
      } catch (error) {
        this.errors.push(String((error as Error).cause ?? error));
      }
      // A caller that keeps failing does not spin.
      if (this.outcomes.at(-1)?.status !== 200) await new Promise((r) => setTimeout(r, 20));
    }
  }

  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.callers);
  }

  /** The first answer 200 that started at or after `since`, as ms after `since`. */
  firstSuccessAfter(since: number): number | undefined {
    const ok = this.outcomes.filter((o) => o.status === 200 && o.at >= since).sort((a, b) => a.at - b.at)[0];
    return ok && ok.at + ok.ms - since;
  }
}

let dataDir: string;
let core: CoreProcess;
let gateway: GatewayProgram;
let url: string;

async function startTheCore(ports?: { api: number; events: number }): Promise<CoreProcess> {
  return startCore(['--control-port', '0', '--data', dataDir, ...(ports ? ['--port', String(ports.api), '--event-port', String(ports.events)] : [])]);
}

async function control(method: string, route: string, body?: unknown): Promise<unknown> {
  const response = await fetch(`http://127.0.0.1:${core.controlPort}${route}`, {
    method,
    ...(body === undefined ? {} : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }),
  });
  return response.json();
}

/** Polls /readyz until it answers `status`; the ms it took. */
async function readyzBecomes(status: number, withinMs: number): Promise<number> {
  const started = Date.now();
  for (;;) {
    const answer = await fetch(`${url}/readyz`).then((r) => r.status, () => 0);
    if (answer === status) return Date.now() - started;
    assert.ok(Date.now() - started < withinMs, `/readyz not ${status} within ${withinMs} ms (last ${answer})`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** The gateway's log lines other than the per-request ones, written since `from` (a length of the log). */
function operatorLines(from: number): string[] {
  return gateway
    .log()
    .slice(from)
    .split('\n')
    .filter((line) => line.startsWith('{') && !line.includes('"msg":"request"'));
}

before(async () => {
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'core-faults-'));
  core = await startTheCore();
  gateway = await startGatewayProgram({
    CORE_HOST: '127.0.0.1',
    CORE_PORT: String(core.apiPort),
    CORE_EVENT_PORT: String(core.eventPort),
    GATEWAY_DATA_DIR: path.join(dataDir, 'gateway'),
    CORE_TIMEOUT_MS: String(coreTimeoutMs),
    CORE_PROBE_TIMEOUT_MS: String(probeTimeoutMs),
    CORE_STALL_MS: '1500',
    CORE_POOL_SIZE: '4',
    RATE_LIMIT_MAX: '0',
  });
  url = gateway.urls[0]!;
});

after(async () => {
  gateway?.child.kill('SIGKILL');
  core?.child.kill('SIGKILL');
  fs.rmSync(dataDir, { recursive: true, force: true });
});

test('a hung core (stopped, then continued): /readyz fails within the probe bound, callers wait no longer than their bounds, no answer goes astray, calls resume within a second', { timeout: 60_000 }, async () => {
  await readyzBecomes(200, 5000);
  const load = new Load(url, 6, 1_000_000);
  await new Promise((r) => setTimeout(r, 300));
  const logFrom = gateway.log().length;
  core.child.kill('SIGSTOP');
  const stoppedAt = Date.now();
  // A check within a second of the last shares its TEST: at most that second, then the probe bound.
  const flipped = await readyzBecomes(503, 1000 + probeTimeoutMs + 500);
  await new Promise((r) => setTimeout(r, 3000 - (Date.now() - stoppedAt)));
  core.child.kill('SIGCONT');
  const continuedAt = Date.now();
  await readyzBecomes(200, 3000);
  await new Promise((r) => setTimeout(r, 500));
  await load.stop();

  assert.deepEqual(load.wrongAnswers, []);
  assert.deepEqual(load.errors, []);
  // Waiting for a connection, then for the answer: each bounded by the request timeout.
  const longest = Math.max(...load.outcomes.map((o) => o.ms));
  assert.ok(longest <= 2 * coreTimeoutMs + 500, `a caller waited ${longest} ms`);
  assert.ok(new Set(load.outcomes.map((o) => o.status)).has(504), 'callers were told the core did not answer in time');
  const resumed = load.firstSuccessAfter(continuedAt);
  assert.ok(resumed !== undefined && resumed <= 1000, `calls resumed ${resumed} ms after the core continued`);
  assert.ok(flipped <= 1000 + probeTimeoutMs + 500);
  const lines = operatorLines(logFrom);
  assert.ok(lines.length <= 10, `${lines.length} operator lines for one outage:\n${lines.join('\n')}`);
});

test('a core killed and started again: calls fail fast while it is away, resume within a second of it listening, and event listeners are told of the gap', { timeout: 60_000 }, async () => {
  await readyzBecomes(200, 5000);
  const events = await SseClient.open(`${url}/api/v1/events`);
  await events.statusBecomes('up');
  const load = new Load(url, 6, 2_000_000);
  await new Promise((r) => setTimeout(r, 300));
  const logFrom = gateway.log().length;
  const ports = { api: core.apiPort, events: core.eventPort };
  core.child.kill('SIGKILL');
  await new Promise((resolve) => core.child.once('exit', resolve));
  await readyzBecomes(503, 2000);
  await new Promise((r) => setTimeout(r, 2000));
  core = await startTheCore(ports);
  const listeningAt = Date.now();
  await readyzBecomes(200, 3000);
  await events.statusBecomes('up', 3000);
  const subscribedIn = Date.now() - listeningAt;
  await new Promise((r) => setTimeout(r, 300));
  await load.stop();

  assert.deepEqual(load.wrongAnswers, []);
  assert.deepEqual(load.errors, []);
  const refused = load.outcomes.filter((o) => o.status === 503);
  assert.ok(refused.length > 0, 'callers were told the core is down');
  const slowest = Math.max(...refused.map((o) => o.ms));
  assert.ok(slowest <= 1000, `a refusal took ${slowest} ms`);
  const resumed = load.firstSuccessAfter(listeningAt);
  assert.ok(resumed !== undefined && resumed <= 1000, `calls resumed ${resumed} ms after the core listened again`);
  assert.ok(subscribedIn <= 1500, `events subscribed again ${subscribedIn} ms after the core listened`);
  const [gap] = await events.nextEvents(1);
  assert.equal(gap!.event, 'gap', 'the window without a subscription is announced');
  const lines = operatorLines(logFrom);
  assert.ok(lines.length <= 10, `${lines.length} operator lines for one outage:\n${lines.join('\n')}`);
  events.close();
});

test('the event port flapping alone: listeners hear down, up and a gap each time, and events flow after; calls and /readyz are not affected', { timeout: 60_000 }, async () => {
  await readyzBecomes(200, 5000);
  const events = await SseClient.open(`${url}/api/v1/events`);
  await events.statusBecomes('up');
  const load = new Load(url, 4, 5_000_000);
  for (let flap = 0; flap < 3; flap++) {
    const { dropped } = (await control('DELETE', '/events/subscribers')) as { dropped: number };
    assert.ok(dropped >= 1, 'the gateway was subscribed');
    await events.statusBecomes('down', 3000);
    await events.statusBecomes('up', 3000);
    const [gap] = await events.nextEvents(1, 3000);
    assert.equal(gap!.event, 'gap');
  }
  assert.equal((await fetch(`${url}/readyz`)).status, 200);
  await load.stop();
  // A call after the flapping is heard on the stream.
  await (await fetch(`${url}/webAPI.aspx?type=callstart&requestid=9&deviceid=7001`)).text();
  const [start] = await events.nextEvents(1, 3000);
  assert.equal(start!.event, 'CALLSTART');
  await (await fetch(`${url}/webAPI.aspx?type=callstop&requestid=10&deviceid=7001`)).text();
  events.close();
  assert.deepEqual(load.wrongAnswers, []);
  assert.deepEqual(load.errors, []);
  assert.deepEqual([...new Set(load.outcomes.map((o) => o.status))], [200]);
});

test('a slow core (every answer 300 ms late): callers are served, only later; /readyz stays ready', { timeout: 60_000 }, async () => {
  await readyzBecomes(200, 5000);
  await control('POST', '/faults', { kind: 'delay', type: 'DEVICELIST', delayMs: 300 });
  const load = new Load(url, 6, 4_000_000, 'devicelist');
  const readiness: number[] = [];
  const started = Date.now();
  while (Date.now() - started < 2500) {
    readiness.push(await fetch(`${url}/readyz`).then((r) => r.status));
    await new Promise((r) => setTimeout(r, 100));
  }
  await load.stop();
  await control('DELETE', '/faults');
  assert.deepEqual(load.wrongAnswers, []);
  assert.deepEqual(load.errors, []);
  assert.deepEqual([...new Set(load.outcomes.map((o) => o.status))], [200]);
  assert.ok(Math.min(...load.outcomes.map((o) => o.ms)) >= 290, 'every answer waited for the core');
  assert.deepEqual([...new Set(readiness)], [200], 'a slow core is not a down one');
});

test('answers cut short and answers to another request: those callers get 502, nobody gets another caller\'s answer, nothing is sent twice', { timeout: 60_000 }, async () => {
  await readyzBecomes(200, 5000);
  // Bound to DEVICELIST: the pool's own probes are TESTs, and would take the faults.
  await control('POST', '/faults', { kind: 'drop', type: 'DEVICELIST', bytes: 30, times: 5 });
  await control('POST', '/faults', { kind: 'mismatch', type: 'DEVICELIST', times: 5 });
  const load = new Load(url, 6, 3_000_000, 'devicelist');
  await new Promise((r) => setTimeout(r, 1500));
  await load.stop();
  await control('DELETE', '/faults');
  assert.deepEqual(load.wrongAnswers, []);
  assert.deepEqual(load.errors, []);
  const statuses = load.outcomes.map((o) => o.status);
  assert.ok(statuses.filter((s) => s === 502).length >= 1, 'cut and mismatched answers are 502');
  // 503: a request that had not been written when its connection was cut, refused rather than
  // moved from connection to connection without end.
  assert.ok(statuses.every((s) => s === 200 || s === 502 || s === 503), `statuses: ${[...new Set(statuses)].join(', ')}`);
  // Every request id reached the core at most once: a request that may have been carried out is never sent again.
  const received = (await control('GET', '/requests')) as { xml?: string; request?: string }[];
  const ids = received.map((r) => /<REQUESTID>(\d+)<\/REQUESTID>/.exec(r.xml ?? r.request ?? JSON.stringify(r))?.[1]).filter((id) => id !== undefined && Number(id) >= 3_000_000);
  assert.ok(ids.length > 0, 'the core saw the load');
  assert.equal(new Set(ids).size, ids.length, 'no request id reached the core twice');
});
