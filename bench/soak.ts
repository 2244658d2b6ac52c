/**
 * `npm run soak`: the gateway (its own process, in front of a seeded simulator process) under a
 * mix of WebAPI and REST calls at a steady rate for minutes, to see what a short benchmark cannot:
 * errors that come with time, latency that creeps, memory that grows. Each minute prints its
 * requests, errors, p50 and p99 and the gateway's resident memory; the end prints the memory's
 * slope and the log lines other than per-request ones.
 *
 * SOAK_MINUTES (default 10); SOAK_RATE, requests per second (default half the rate measured in a
 * first, unthrottled 10 s); SOAK_CONNECTIONS (default 20).
 */
import { closeSync, openSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { spawn, type ChildProcess } from 'node:child_process';
import { freePorts, gatewayEnvironment, startProcess, untilReady } from './measure.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const minutes = Number(process.env.SOAK_MINUTES ?? 10);
const connections = Number(process.env.SOAK_CONNECTIONS ?? 20);

/** The mix: the WebAPI's hot path, a list, REST reads and a REST command. */
const mix: autocannon.Request[] = [
  { method: 'GET', path: '/webAPI.aspx?type=test&requestid=1' },
  { method: 'GET', path: '/webAPI.aspx?type=calllist&requestid=2&callcount=10' },
  { method: 'POST', path: '/api/v1/commands/test', headers: { 'content-type': 'application/json' }, body: '{}' },
  { method: 'GET', path: '/api/v1/recordings?limit=10' },
  { method: 'GET', path: '/api/v1/devices' },
  { method: 'GET', path: '/api/v1/system/status' },
];

function residentMegabytes(pid: number): number {
  const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return match ? Number(match[1]) / 1024 : Number.NaN;
}

/** Least-squares slope of y over x. */
function slope(points: readonly [number, number][]): number {
  const n = points.length;
  const mx = points.reduce((s, [x]) => s + x, 0) / n;
  const my = points.reduce((s, [, y]) => s + y, 0) / n;
  const sxy = points.reduce((s, [x, y]) => s + (x - mx) * (y - my), 0);
  const sxx = points.reduce((s, [x]) => s + (x - mx) ** 2, 0);
  return sxx === 0 ? 0 : sxy / sxx;
}

async function main(): Promise<void> {
  const [port, corePort, eventPort] = await freePorts(3);
  const dir = await mkdtemp(path.join(os.tmpdir(), 'uptivity-soak-'));
  const children: ChildProcess[] = [];
  try {
    children.push(await startProcess(path.join(here, '../src/sim/main.js'), ['--seed', '--port', String(corePort), '--event-port', String(eventPort), '--data', path.join(dir, 'core')], {}, /API port/));
    const logPath = path.join(dir, 'gateway.log');
    const log = openSync(logPath, 'w');
    const gateway = spawn(process.execPath, [path.join(here, '../src/main.js')], {
      env: gatewayEnvironment({ port: port!, corePort: corePort!, eventPort: eventPort! }, path.join(dir, 'gateway')),
      stdio: ['ignore', log, 'inherit'],
    });
    closeSync(log);
    children.push(gateway);
    const url = `http://127.0.0.1:${port}`;
    await untilReady(`${url}/readyz`);

    const measured = await autocannon({ url, connections, duration: 10, requests: mix });
    const rate = Number(process.env.SOAK_RATE ?? Math.floor(measured.requests.average / 2));
    process.stdout.write(`unthrottled: ${Math.round(measured.requests.average)} req/s; soaking at ${rate} req/s for ${minutes} min, ${connections} connections\n\n`);
    process.stdout.write('minute  requests  non-2xx  errors  timeouts  p50 ms  p99 ms  RSS MB\n');
    const rss: [number, number][] = [[0, residentMegabytes(gateway.pid!)]];
    let failed = 0;
    for (let minute = 1; minute <= minutes; minute++) {
      const result = await autocannon({ url, connections, duration: 60, overallRate: rate, requests: mix });
      const memory = residentMegabytes(gateway.pid!);
      rss.push([minute, memory]);
      failed += result.non2xx + result.errors + result.timeouts;
      process.stdout.write(
        `${String(minute).padStart(6)}  ${String(result.requests.total).padStart(8)}  ${String(result.non2xx).padStart(7)}  ${String(result.errors).padStart(6)}  ${String(result.timeouts).padStart(8)}  ${String(result.latency.p50).padStart(6)}  ${String(result.latency.p99).padStart(6)}  ${memory.toFixed(1).padStart(6)}\n`,
      );
    }
    const operatorLines = readFileSync(logPath, 'utf8')
      .split('\n')
      .filter((line) => line.startsWith('{') && !line.includes('"msg":"request"')).length;
    process.stdout.write(
      `\nfailed requests: ${failed}; RSS ${rss[0]![1].toFixed(1)} MB at start, ${rss.at(-1)![1].toFixed(1)} MB at the end, ` +
        `slope ${slope(rss.slice(1)).toFixed(2)} MB/min over the soak; log lines other than requests: ${operatorLines}\n`,
    );
  } finally {
    for (const child of children) child.kill('SIGKILL');
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
