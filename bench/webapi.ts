/**
 * `npm run bench`: the WebAPI's throughput against baselines measured in the same run, on loopback.
 *
 *   1. a bare Fastify hello-world (the ceiling of any Fastify service on this machine);
 *   2. the gateway (its own process) in front of the core simulator (another process),
 *      GET /webAPI.aspx?type=test&requestid=1;
 *   3. a 40-line reference gateway (bench/reference-gateway.ts) in front of the same simulator: what
 *      any Fastify gateway costs on this machine, before parameter rules, timeouts, logs and metrics;
 *   4. a direct TCP client of the same simulator (the ceiling the core itself allows);
 *   5. a second gateway that asks every caller for an API key, driven with one on every request:
 *      the cost of authentication, against (2).
 *
 * Each is driven with 50 concurrent connections. Machines are shared and noisy, so the figures that
 * matter are the ratios printed at the end, not the absolute ones.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import net from 'node:net';
import path from 'node:path';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { MessageFramer } from '../src/protocol/framing.js';
import { buildRequest } from '../src/protocol/xml.js';
import { loadConfig } from '../src/config.js';
import { runKeysCommand } from '../src/access/keys-cli.js';
import { freePorts, median, untilReady } from './measure.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const connections = 50;
const seconds = Number(process.env.BENCH_SECONDS ?? 5);
/** Rounds over the HTTP targets, each target in turn: noise that lasts a few seconds hits all alike. */
const rounds = Number(process.env.BENCH_ROUNDS ?? 3);

/** Start a server and wait for `ready` on its stdout. */
async function start(script: string, args: string[], env: NodeJS.ProcessEnv, ready: RegExp): Promise<ChildProcess> {
  const child = spawn(process.execPath, [script, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
  let seen = '';
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (chunk: Buffer) => {
      if (seen.length < 65536) seen += chunk.toString();
      if (ready.test(seen)) resolve();
    });
    child.on('exit', (code) => reject(new Error(`${script} exited with ${code}`)));
  });
  child.stdout!.resume();
  return child;
}

interface Figures {
  name: string;
  rps: number;
  p50: number;
  p99: number;
  errors: number;
  /** Responses received, warm-up included. */
  answered: number;
}

async function cannon(name: string, url: string, warmUp: boolean, headers: Record<string, string> = {}): Promise<Figures> {
  const warm = warmUp ? (await autocannon({ url, connections, duration: 2, headers })).requests.total : 0;
  const result = await autocannon({ url, connections, duration: seconds, headers });
  const answered = warm + result.requests.total;
  return { name, rps: result.requests.average, p50: result.latency.p50, p99: result.latency.p99, errors: result.errors + result.non2xx, answered };
}

/** 50 persistent TCP connections each sending TEST and awaiting its answer, for `seconds`. */
async function directTcp(port: number): Promise<Figures> {
  const latencies: number[] = [];
  let errors = 0;
  const run = async (until: number, record: boolean): Promise<void> => {
    await Promise.all(
      Array.from({ length: connections }, async () => {
        const socket = net.connect(port, '127.0.0.1');
        socket.setNoDelay(true);
        await once(socket, 'connect');
        const framer = new MessageFramer();
        let waiting: (() => void) | undefined;
        socket.on('data', (chunk: Buffer) => {
          if (framer.push(chunk).length > 0) waiting?.();
        });
        const request = buildRequest('TEST', 1);
        while (Date.now() < until) {
          const started = process.hrtime.bigint();
          const answered = new Promise<void>((resolve) => (waiting = resolve));
          socket.write(request);
          await answered;
          if (record) latencies.push(Number(process.hrtime.bigint() - started) / 1e6);
        }
        socket.destroy();
      }),
    ).catch(() => errors++);
  };
  await run(Date.now() + 2000, false);
  await run(Date.now() + seconds * 1000, true);
  latencies.sort((a, b) => a - b);
  const at = (q: number): number => Math.round(latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))]! * 100) / 100;
  return { name: 'direct TCP client -> simulator', rps: latencies.length / seconds, p50: at(0.5), p99: at(0.99), errors, answered: latencies.length };
}

async function main(): Promise<void> {
  const children: ChildProcess[] = [];
  let logDir: string | undefined;
  try {
    const [helloPort, corePort, eventPort, gatewayPort, referencePort, keyedPort] = (await freePorts(6)) as [number, number, number, number, number, number];
    children.push(await start(path.join(here, 'hello-world.js'), [String(helloPort)], {}, /listening/));
    children.push(
      await start(path.join(here, '../src/sim/main.js'), ['--port', String(corePort), '--event-port', String(eventPort)], {}, /API port/),
    );
    // The gateway logs a JSON line per request. They go to a file, as a container runtime keeps
    // them: the benchmark measures the gateway, not a log reader competing with autocannon.
    logDir = await mkdtemp(path.join(os.tmpdir(), 'uptivity-bench-'));
    const logPath = path.join(logDir, 'gateway.log');
    const gatewayEnv = (port: number, name: string): NodeJS.ProcessEnv => ({
      ...process.env,
      PORT: String(port),
      HOST: '127.0.0.1',
      CORE_HOST: '127.0.0.1',
      CORE_PORT: String(corePort),
      CORE_EVENT_PORT: String(eventPort),
      GATEWAY_DATA_DIR: path.join(logDir!, name),
      API_KEYS_FILE: path.join(logDir!, name, 'api-keys.yaml'),
      // Counted, as in production, but never reached: the benchmark measures the path, not the limit.
      RATE_LIMIT_MAX: '1000000000',
    });
    const startGateway = (port: number, name: string, log: string): ChildProcess => {
      const fd = openSync(log, 'w');
      const child = spawn(process.execPath, [path.join(here, '../src/main.js')], { env: gatewayEnv(port, name), stdio: ['ignore', fd, 'inherit'] });
      closeSync(fd);
      children.push(child);
      return child;
    };
    startGateway(gatewayPort, 'gateway', logPath);
    // The same gateway with a keys file: every caller, loopback included, needs a key.
    const key = runKeysCommand(['create', '--name', 'bench', '--scopes', 'status'], path.join(logDir, 'keyed', 'api-keys.yaml')).split('\n')[0]!;
    startGateway(keyedPort, 'keyed', path.join(logDir, 'keyed.log'));
    // As many connections to the core as the gateway's default pool: the same concurrency at the core.
    const poolSize = loadConfig([], {})!.core.poolSize;
    children.push(await start(path.join(here, 'reference-gateway.js'), [String(referencePort), String(corePort), String(poolSize)], {}, /listening/));
    await untilReady(`http://127.0.0.1:${gatewayPort}/readyz`);
    await untilReady(`http://127.0.0.1:${keyedPort}/readyz`);

    const targets: { name: string; url: string; headers?: Record<string, string> }[] = [
      { name: 'fastify hello-world', url: `http://127.0.0.1:${helloPort}/` },
      { name: 'gateway -> simulator (type=test)', url: `http://127.0.0.1:${gatewayPort}/webAPI.aspx?type=test&requestid=1` },
      { name: 'reference gateway -> simulator', url: `http://127.0.0.1:${referencePort}/webAPI.aspx?type=test&requestid=1` },
      { name: 'gateway with an API key', url: `http://127.0.0.1:${keyedPort}/webAPI.aspx?type=test&requestid=1`, headers: { 'x-api-key': key } },
    ];
    // Only the target being driven works; the others sit idle.
    const runs: Figures[][] = [];
    for (let round = 0; round < rounds; round++) {
      const figures: Figures[] = [];
      // The two gateways back to back, in turn first: a burst of load from elsewhere weighs on both
      // sides of their ratio rather than on one.
      const order = round % 2 === 0 ? [0, 1, 3, 2] : [0, 3, 1, 2];
      for (const t of order) figures[t] = await cannon(targets[t]!.name, targets[t]!.url, round === 0, targets[t]!.headers);
      runs.push(figures);
      const [hello, gateway, reference, keyed] = figures as [Figures, Figures, Figures, Figures];
      process.stdout.write(
        `round ${round + 1}: gateway / hello-world ${(gateway.rps / hello.rps).toFixed(2)}, reference / hello-world ${(reference.rps / hello.rps).toFixed(2)}, with a key / without ${(keyed.rps / gateway.rps).toFixed(2)}\n`,
      );
    }
    const direct = await directTcp(corePort);

    const medianRound = (t: number): Figures => [...runs.map((r) => r[t]!)].sort((a, b) => a.rps - b.rps)[Math.floor(runs.length / 2)]!;
    const medianRatio = (a: number, b: number): number => median(runs.map((r) => r[a]!.rps / r[b]!.rps));
    const rows = [medianRound(0), medianRound(1), medianRound(2), medianRound(3), direct];
    process.stdout.write(`\n${connections} connections, ${rounds} rounds of ${seconds} s each, on loopback (median round)\n\n`);
    process.stdout.write(`${'target'.padEnd(36)} ${'req/s'.padStart(9)} ${'p50 ms'.padStart(8)} ${'p99 ms'.padStart(8)} ${'errors'.padStart(7)}\n`);
    for (const r of rows) {
      process.stdout.write(`${r.name.padEnd(36)} ${r.rps.toFixed(0).padStart(9)} ${String(r.p50).padStart(8)} ${String(r.p99).padStart(8)} ${String(r.errors).padStart(7)}\n`);
    }
    process.stdout.write(`\nmedian of the rounds' ratios\n`);
    process.stdout.write(`gateway / hello-world:       ${medianRatio(1, 0).toFixed(2)}  (goal >= 0.35, aim 0.45)\n`);
    process.stdout.write(`reference / hello-world:     ${medianRatio(2, 0).toFixed(2)}\n`);
    process.stdout.write(`gateway / reference:         ${medianRatio(1, 2).toFixed(2)}\n`);
    process.stdout.write(`gateway / direct TCP client: ${(medianRound(1).rps / direct.rps).toFixed(2)}\n`);
    process.stdout.write(`with an API key / without:   ${medianRatio(3, 1).toFixed(2)}  (goal >= 0.95)\n`);
    // Logging is part of what was measured: every answered request has its line.
    const answered = runs.reduce((sum, r) => sum + r[1]!.answered, 0);
    const logged = readFileSync(logPath, 'utf8').split('\n').filter((line) => line.includes('"msg":"request"')).length;
    process.stdout.write(`gateway log lines: ${logged} request lines for ${answered} answers counted by autocannon\n`);
  } finally {
    for (const child of children) child.kill();
    if (logDir) await rm(logDir, { recursive: true, force: true });
  }
}

await main();
