/**
 * `npm run bench:events`: live events from the core to 1,000 SSE clients and to 10 webhook
 * receivers, in two set-ups run one after the other in this process tree: one gateway without
 * Redis (the baseline), then three replicas sharing Redis with the clients spread over them.
 *
 * The bench asks the simulator for call flows over its TCP API at a steady rate (each flow makes the
 * core emit five events: CALLSTART, RECORDINGSTARTED, RECORDINGSTOPPED, RECORDINGUPDATE, CALLSTOP),
 * and takes the latency of each CALLSTART from the moment it asked the core for it to the moment a
 * client has it: the core emits while it answers, so this is the emission-to-client time plus one
 * loopback hop. Clients that are sampled parse every message; the others count them, which is what
 * a thousand real clients cost the gateway without costing the bench a parser each.
 *
 * EVENTS_BENCH_RATE (events per second, default 500), EVENTS_BENCH_SECONDS (default 10),
 * EVENTS_BENCH_CLIENTS (default 1000), EVENTS_BENCH_WEBHOOKS (default 10), REDIS_URL (default the
 * local one). Webhooks subscribe to CALLSTART: a receiver gets one delivery per flow.
 */
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ChildProcess } from 'node:child_process';
import { CorePool } from '../src/core/pool.js';
import { buildRequest } from '../src/protocol/xml.js';
import { freePorts, gatewayEnvironment, startProcess, untilReady } from './measure.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const rate = Number(process.env.EVENTS_BENCH_RATE ?? 500);
const seconds = Number(process.env.EVENTS_BENCH_SECONDS ?? 10);
const clientCount = Number(process.env.EVENTS_BENCH_CLIENTS ?? 1000);
const webhookCount = Number(process.env.EVENTS_BENCH_WEBHOOKS ?? 10);
const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const sampled = 20;
const eventsPerFlow = 5;

const now = (): number => performance.timeOrigin + performance.now();

function percentile(values: number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

interface Outcome {
  eventsPerSecond: number;
  delivered: number;
  expectedPerClient: number;
  short: number;
  latency: { p50: number; p99: number; n: number };
  webhooks: { received: number; p50: number; p99: number };
}

/** One SSE client: counts the events it receives; a sampled one also times each CALLSTART. */
function openClient(url: string, onCallStart: ((deviceId: string, at: number) => void) | undefined): Promise<{ count: () => number; close: () => void; up: Promise<void> }> {
  return new Promise((resolve, reject) => {
    let count = 0;
    let tail = '';
    let markUp: () => void = () => undefined;
    const up = new Promise<void>((r) => (markUp = r));
    const request = http.get(`${url}/api/v1/events`, { headers: { accept: 'text/event-stream' }, agent: false }, (response) => {
      if (response.statusCode !== 200) {
        reject(new Error(`events answered ${response.statusCode}`));
        return;
      }
      response.setEncoding('utf8');
      response.on('data', (text: string) => {
        const at = now();
        const chunk = tail + text;
        // A message may straddle two chunks: keep what follows the last complete one.
        const end = chunk.lastIndexOf('\n\n');
        tail = end < 0 ? chunk : chunk.slice(end + 2);
        const complete = end < 0 ? '' : chunk.slice(0, end);
        if (complete.includes('"eventPort":"up"')) markUp();
        for (let i = complete.indexOf('\nid: '); i >= 0; i = complete.indexOf('\nid: ', i + 5)) count++;
        if (complete.startsWith('id: ')) count++;
        if (!onCallStart) return;
        for (const match of complete.matchAll(/event: CALLSTART\ndata: .*?"deviceId":"(\d+)"/g)) onCallStart(match[1]!, at);
      });
      resolve({ count: () => count, close: () => request.destroy(), up });
    });
    request.on('error', reject);
  });
}

async function run(label: string, replicas: number, shared: boolean): Promise<Outcome> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'uptivity-bench-events-'));
  const children: ChildProcess[] = [];
  const receivers: http.Server[] = [];
  const clients: { count: () => number; close: () => void; up: Promise<void> }[] = [];
  let pool: CorePool | undefined;
  try {
    const ports = await freePorts(2 + replicas);
    const [corePort, eventPort] = ports;
    const core = new CorePool({ host: '127.0.0.1', port: corePort!, size: 4, queueMax: 10_000, requestTimeoutMs: 10_000, connectTimeoutMs: 2000 });
    pool = core;
    children.push(await startProcess(path.join(here, '../src/sim/main.js'), ['--port', String(corePort), '--event-port', String(eventPort), '--data', path.join(dir, 'core')], {}, /API port/));
    const prefix = `bench:${randomBytes(4).toString('hex')}:`;
    const urls: string[] = [];
    for (let i = 0; i < replicas; i++) {
      const port = ports[2 + i]!;
      const env = {
        ...gatewayEnvironment({ port, corePort: corePort!, eventPort: eventPort! }, path.join(dir, `gateway-${i}`)),
        EVENTS_MAX_LISTENERS: String(clientCount + 100),
        EVENTS_MAX_PER_CREDENTIAL: String(clientCount + 100),
        WEBHOOK_ALLOW_PRIVATE: 'true',
        ...(shared ? { REDIS_URL: redisUrl, REDIS_PREFIX: prefix } : {}),
      };
      children.push(await startProcess(path.join(here, '../src/main.js'), [], env, /uptivity-gateway ready/));
      urls.push(`http://127.0.0.1:${port}`);
    }
    for (const url of urls) await untilReady(`${url}/readyz`);

    // Webhook receivers, each subscribed (through the first replica) to CALLSTART.
    const sentAt = new Map<string, number>();
    const webhookLatencies: number[] = [];
    let webhookReceived = 0;
    for (let i = 0; i < webhookCount; i++) {
      const receiver = http.createServer((request, response) => {
        const chunks: Buffer[] = [];
        request.on('data', (chunk: Buffer) => chunks.push(chunk));
        request.on('end', () => {
          const at = now();
          webhookReceived++;
          const device = /"deviceId":"(\d+)"/.exec(Buffer.concat(chunks).toString())?.[1];
          const sent = device && sentAt.get(device);
          if (sent) webhookLatencies.push(at - sent);
          response.writeHead(204).end();
        });
      });
      await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
      receivers.push(receiver);
      const created = await fetch(`${urls[0]}/api/v1/webhooks`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ url: `http://127.0.0.1:${(receiver.address() as { port: number }).port}/hook`, eventTypes: ['CALLSTART'], description: `bench ${i}` }),
      });
      if (created.status !== 201) throw new Error(`creating a webhook answered ${created.status}: ${await created.text()}`);
    }

    const latencies: number[] = [];
    const record = (device: string, at: number): void => {
      const sent = sentAt.get(device);
      if (sent !== undefined) latencies.push(at - sent);
    };
    for (let i = 0; i < clientCount; i++) clients.push(await openClient(urls[i % replicas]!, i < sampled ? record : undefined));
    await Promise.all(clients.map((client) => client.up));

    // Call flows at the rate: CALLSTART now, CALLSTOP half a period later, each on a device of its own.
    core.start();
    const flowsPerSecond = rate / eventsPerFlow;
    const total = Math.round(flowsPerSecond * seconds);
    const before = clients.map((client) => client.count());
    const started = now();
    const asks: Promise<unknown>[] = [];
    for (let flow = 0; flow < total; flow++) {
      const due = started + (flow * 1000) / flowsPerSecond;
      const wait = due - now();
      if (wait > 1) await new Promise((resolve) => setTimeout(resolve, wait));
      const device = String(100_000 + flow);
      sentAt.set(device, now());
      const start = buildRequest('CALLSTART', flow + 1, [['DEVICEID', device]]);
      asks.push(
        core.request({ type: 'CALLSTART', requestId: String(flow + 1), xml: start }).then(() =>
          core.request({ type: 'CALLSTOP', requestId: String(flow + 1), xml: buildRequest('CALLSTOP', flow + 1, [['DEVICEID', device]]) }),
        ),
      );
    }
    await Promise.all(asks);
    const sendSeconds = (now() - started) / 1000;
    const expectedPerClient = total * eventsPerFlow;
    // Let the last events arrive (bounded): what has not come in 5 s is counted as short.
    const deadline = now() + 5000;
    while (now() < deadline && clients.some((client, i) => client.count() - before[i]! < expectedPerClient)) await new Promise((r) => setTimeout(r, 50));
    while (now() < deadline && webhookReceived < total * webhookCount) await new Promise((r) => setTimeout(r, 50));
    const delivered = clients.reduce((sum, client, i) => sum + client.count() - before[i]!, 0);
    const short = clients.filter((client, i) => client.count() - before[i]! < expectedPerClient).length;
    const outcome: Outcome = {
      eventsPerSecond: expectedPerClient / sendSeconds,
      delivered,
      expectedPerClient,
      short,
      latency: { p50: percentile(latencies, 50), p99: percentile(latencies, 99), n: latencies.length },
      webhooks: { received: webhookReceived, p50: percentile(webhookLatencies, 50), p99: percentile(webhookLatencies, 99) },
    };
    process.stdout.write(
      `${label}: ${outcome.eventsPerSecond.toFixed(0)} events/s from the core for ${seconds} s; ${clientCount} SSE clients over ${replicas} replica(s) got ${delivered} events ` +
        `(${(delivered / sendSeconds).toFixed(0)}/s; ${short} clients short of ${expectedPerClient}); CALLSTART to client p50 ${outcome.latency.p50.toFixed(1)} ms, p99 ${outcome.latency.p99.toFixed(1)} ms (${latencies.length} samples); ` +
        `webhooks ${webhookReceived}/${total * webhookCount} delivered, p50 ${outcome.webhooks.p50.toFixed(1)} ms, p99 ${outcome.webhooks.p99.toFixed(1)} ms\n`,
    );
    return outcome;
  } finally {
    for (const client of clients) client.close();
    await pool?.close();
    for (const receiver of receivers) {
      receiver.closeAllConnections();
      receiver.close();
    }
    for (const child of children.reverse()) {
      child.kill('SIGKILL');
    }
    await rm(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const single = await run('one gateway, no Redis', 1, false);
  const replicated = await run('three replicas, Redis', 3, true);
  process.stdout.write(
    `replicated / single: p99 ${(replicated.latency.p99 / single.latency.p99).toFixed(2)}x, p50 ${(replicated.latency.p50 / single.latency.p50).toFixed(2)}x, ` +
      `events delivered ${(replicated.delivered / single.delivered).toFixed(2)}x, webhook p99 ${(replicated.webhooks.p99 / single.webhooks.p99).toFixed(2)}x ` +
      `(goal: p99 under 100 ms at ${rate} events/s, replicated within 2x of single)\n`,
  );
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
