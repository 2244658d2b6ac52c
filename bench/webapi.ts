/**
 * `npm run bench`: the gateway's throughput against baselines measured in the same run, on loopback.
 *
 *   1. a bare Fastify hello-world (the ceiling of any Fastify service on this machine);
 *   2. the gateway (its own process) in front of the core simulator (another process, seeded),
 *      GET /webAPI.aspx?type=test&requestid=1;
 *   3. a 40-line reference gateway (bench/reference-gateway.ts) in front of the same simulator: what
 *      any Fastify gateway costs on this machine, before parameter rules, timeouts, logs and metrics;
 *   4. a second gateway that asks every caller for an API key, driven with one on every request:
 *      the cost of authentication, against (2);
 *   5. the REST surface on the same command: POST /api/v1/commands/test with `{}`;
 *   6. a read that carries data: GET /webAPI.aspx?type=calllist&requestid=1&callcount=10 (ten
 *      SEARCHRESULTs of the seeded recordings) and its REST form, GET /api/v1/recordings?limit=10;
 *   7. a direct TCP client of the same simulator, sending TEST and CALLLIST CALLCOUNT=10: the
 *      ceiling the core itself allows. The simulator's CALLLIST rate well above the gateway's, and
 *      its CPU per CALLLIST below the gateway's per call, say the figures of (6) are the gateway's.
 *
 * Each is driven with 50 concurrent connections. Machines are shared and noisy, so the figures that
 * matter are the ratios printed at the end, each the median of the rounds' own, and every pair
 * compared is driven back to back, in turn first. Beside throughput, each run reports the CPU time
 * the server and the simulator spent per request (from /proc, where there is one), and how busy the
 * server was (its CPU time over the run's; near 100%, it was the limit): a throughput ratio says
 * which side kept up with the load, the CPU ratio ("cost") what a request costs each side.
 *
 * Where `taskset` exists (BENCH_PIN=0 turns it off), the servers compared (hello-world, both
 * gateways, the reference) run on core 1, and the simulator and the load generator (this process)
 * on core 0: a gateway and its reference then get the same core alone, rather than whatever share
 * of two cores three busy processes wandering between them leave (bench/auth saw single rounds differ
 * by 30% either way without it).
 * For the direct TCP client this process moves to core 1, idle then: the simulator has its core to
 * itself, and its figure is the most it can answer.
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
import { ResultCode } from '../src/protocol/result-codes.js';
import { loadConfig } from '../src/config.js';
import { runKeysCommand } from '../src/access/keys-cli.js';
import { canPin, cpuSeconds, freePorts, gatewayEnvironment, median, pinToCore, startProcess, untilReady } from './measure.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const connections = 50;
const seconds = Number(process.env.BENCH_SECONDS ?? 5);
/** Rounds over the HTTP targets, each target in turn: noise that lasts a few seconds hits all alike. */
const rounds = Number(process.env.BENCH_ROUNDS ?? 3);

/** Start a server and wait for `ready` on its stdout. */
interface Figures {
  name: string;
  rps: number;
  p50: number;
  p99: number;
  errors: number;
  /** Responses received, warm-up included. */
  answered: number;
  /** CPU µs per request of the server driven (the simulator for the direct client), and of the simulator. */
  serverCpu: number | undefined;
  simCpu: number | undefined;
  /** The server's CPU time over the run's wall time: near 1, it was the limit. */
  serverBusy: number | undefined;
}

interface HttpTarget {
  kind: 'http';
  name: string;
  url: string;
  /** Its process, for its CPU time. */
  server: ChildProcess;
  method?: 'GET' | 'POST';
  body?: string;
  headers?: Record<string, string>;
  /** Answered by the gateway whose log lines are counted. */
  logged?: boolean;
}

interface TcpTarget {
  kind: 'tcp';
  name: string;
  /** The request each connection sends again and again. */
  xml: string;
}

type Target = HttpTarget | TcpTarget;

/** The CPU time `server` and `sim` spend from now until the returned function is called, per request answered then. */
function cpuMeter(server: ChildProcess, sim: ChildProcess): (requests: number) => Pick<Figures, 'serverCpu' | 'simCpu' | 'serverBusy'> {
  const [server0, sim0, started] = [cpuSeconds(server.pid), cpuSeconds(sim.pid), performance.now()];
  return (requests) => {
    const [server1, sim1, wall] = [cpuSeconds(server.pid), cpuSeconds(sim.pid), (performance.now() - started) / 1000];
    const perRequest = (from: number | undefined, to: number | undefined): number | undefined =>
      from === undefined || to === undefined || requests === 0 ? undefined : ((to - from) * 1e6) / requests;
    return {
      serverCpu: perRequest(server0, server1),
      simCpu: perRequest(sim0, sim1),
      serverBusy: server0 === undefined || server1 === undefined ? undefined : (server1 - server0) / wall,
    };
  };
}

async function cannon(target: HttpTarget, sim: ChildProcess, warmUp: boolean): Promise<Figures> {
  const options = {
    url: target.url,
    connections,
    method: target.method ?? 'GET',
    headers: { ...(target.body !== undefined ? { 'content-type': 'application/json' } : {}), ...target.headers },
    ...(target.body !== undefined ? { body: target.body } : {}),
  } as const;
  const warm = warmUp ? (await autocannon({ ...options, duration: 2 })).requests.total : 0;
  const meter = cpuMeter(target.server, sim);
  const result = await autocannon({ ...options, duration: seconds });
  const cpu = meter(result.requests.total);
  const answered = warm + result.requests.total;
  return { name: target.name, rps: result.requests.average, p50: result.latency.p50, p99: result.latency.p99, errors: result.errors + result.non2xx, answered, ...cpu };
}

/** 50 persistent TCP connections each sending `xml` and awaiting its answer, for `seconds`. */
async function directTcp(port: number, target: TcpTarget, sim: ChildProcess, warmUp: boolean): Promise<Figures> {
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
          const frames = framer.push(chunk);
          if (frames.length === 0) return;
          // An answer that is not API_OK would measure the wrong thing.
          if (!frames[0]!.bytes.includes(`<RESULTCODE>${ResultCode.API_OK}</RESULTCODE>`)) errors++;
          waiting?.();
        });
        while (Date.now() < until) {
          const started = process.hrtime.bigint();
          const answered = new Promise<void>((resolve) => (waiting = resolve));
          socket.write(target.xml);
          await answered;
          if (record) latencies.push(Number(process.hrtime.bigint() - started) / 1e6);
        }
        socket.destroy();
      }),
    ).catch(() => errors++);
  };
  if (warmUp) await run(Date.now() + 2000, false);
  const meter = cpuMeter(sim, sim);
  await run(Date.now() + seconds * 1000, true);
  const cpu = meter(latencies.length);
  latencies.sort((a, b) => a - b);
  const at = (q: number): number => Math.round(latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))]! * 100) / 100;
  return { name: target.name, rps: latencies.length / seconds, p50: at(0.5), p99: at(0.99), errors, answered: latencies.length, ...cpu };
}

const pinned = canPin && process.env.BENCH_PIN !== '0';

async function main(): Promise<void> {
  const children: ChildProcess[] = [];
  let logDir: string | undefined;
  try {
    const [helloPort, corePort, eventPort, gatewayPort, referencePort, keyedPort] = (await freePorts(6)) as [number, number, number, number, number, number];
    const hello = await startProcess(path.join(here, 'hello-world.js'), [String(helloPort)], {}, /listening/);
    children.push(hello);
    // Seeded: CALLLIST answers with the seeded recordings (over 200), so CALLCOUNT=10 gets ten.
    const sim = await startProcess(path.join(here, '../src/sim/main.js'), ['--seed', '--port', String(corePort), '--event-port', String(eventPort)], {}, /API port/);
    children.push(sim);
    // The gateway logs a JSON line per request. They go to a file, as a container runtime keeps
    // them: the benchmark measures the gateway, not a log reader competing with autocannon.
    logDir = await mkdtemp(path.join(os.tmpdir(), 'uptivity-bench-'));
    const logPath = path.join(logDir, 'gateway.log');
    const gatewayEnv = (port: number, name: string): NodeJS.ProcessEnv => ({
      ...gatewayEnvironment({ port, corePort, eventPort }, path.join(logDir!, name)),
      API_KEYS_FILE: path.join(logDir!, name, 'api-keys.yaml'),
    });
    const startGateway = (port: number, name: string, log: string): ChildProcess => {
      const fd = openSync(log, 'w');
      const child = spawn(process.execPath, [path.join(here, '../src/main.js')], { env: gatewayEnv(port, name), stdio: ['ignore', fd, 'inherit'] });
      closeSync(fd);
      children.push(child);
      return child;
    };
    const gateway = startGateway(gatewayPort, 'gateway', logPath);
    // The same gateway with a keys file: every caller, loopback included, needs a key.
    const key = runKeysCommand(['create', '--name', 'bench', '--scopes', 'status'], path.join(logDir, 'keyed', 'api-keys.yaml')).split('\n')[0]!;
    const keyed = startGateway(keyedPort, 'keyed', path.join(logDir, 'keyed.log'));
    // As many connections to the core as the gateway's default pool: the same concurrency at the core.
    const poolSize = loadConfig([], {})!.core.poolSize;
    const reference = await startProcess(path.join(here, 'reference-gateway.js'), [String(referencePort), String(corePort), String(poolSize)], {}, /listening/);
    children.push(reference);
    await untilReady(`http://127.0.0.1:${gatewayPort}/readyz`);
    await untilReady(`http://127.0.0.1:${keyedPort}/readyz`);
    const loadCore = (core: number): void => {
      if (pinned) pinToCore(process.pid, core);
    };
    if (pinned) {
      for (const server of [hello, gateway, keyed, reference]) pinToCore(server.pid, 1);
      pinToCore(sim.pid, 0);
    }

    const gatewayUrl = `http://127.0.0.1:${gatewayPort}`;
    const targets = {
      hello: { kind: 'http', name: 'fastify hello-world', url: `http://127.0.0.1:${helloPort}/`, server: hello },
      test: { kind: 'http', name: 'gateway WebAPI type=test', url: `${gatewayUrl}/webAPI.aspx?type=test&requestid=1`, server: gateway, logged: true },
      reference: { kind: 'http', name: 'reference gateway type=test', url: `http://127.0.0.1:${referencePort}/webAPI.aspx?type=test&requestid=1`, server: reference },
      keyed: { kind: 'http', name: 'gateway with an API key', url: `http://127.0.0.1:${keyedPort}/webAPI.aspx?type=test&requestid=1`, server: keyed, headers: { 'x-api-key': key } },
      restTest: { kind: 'http', name: 'gateway REST commands/test', url: `${gatewayUrl}/api/v1/commands/test`, server: gateway, method: 'POST', body: '{}', logged: true },
      callList: { kind: 'http', name: 'gateway WebAPI calllist 10', url: `${gatewayUrl}/webAPI.aspx?type=calllist&requestid=1&callcount=10`, server: gateway, logged: true },
      restRecordings: { kind: 'http', name: 'gateway REST recordings?limit=10', url: `${gatewayUrl}/api/v1/recordings?limit=10`, server: gateway, logged: true },
      simTest: { kind: 'tcp', name: 'direct TCP -> simulator TEST', xml: buildRequest('TEST', 1) },
      simCallList: { kind: 'tcp', name: 'direct TCP -> simulator CALLLIST 10', xml: buildRequest('CALLLIST', 1, [['CALLCOUNT', '10']]) },
    } satisfies Record<string, Target>;
    type Name = keyof typeof targets;
    const names = Object.keys(targets) as Name[];
    // Every pair whose ratio is printed runs back to back, and each round reverses the order, so that
    // a burst of load from elsewhere weighs on both sides of a ratio rather than on one.
    const forward: Name[] = ['hello', 'keyed', 'restTest', 'test', 'reference', 'simCallList', 'callList', 'restRecordings', 'simTest'];
    const backward: Name[] = ['hello', 'reference', 'test', 'restTest', 'keyed', 'restRecordings', 'callList', 'simCallList', 'simTest'];
    // Only the target being driven works; the others sit idle.
    const runs: Record<Name, Figures>[] = [];
    for (let round = 0; round < rounds; round++) {
      const figures = {} as Record<Name, Figures>;
      for (const name of round % 2 === 0 ? forward : backward) {
        const target: Target = targets[name];
        if (target.kind === 'http') {
          loadCore(0);
          figures[name] = await cannon(target, sim, round === 0);
        } else {
          loadCore(1);
          figures[name] = await directTcp(corePort, target, sim, round === 0);
        }
      }
      runs.push(figures);
      const ratio = (a: Name, b: Name): string => (figures[a].rps / figures[b].rps).toFixed(2);
      process.stdout.write(
        `round ${round + 1}: WebAPI / reference ${ratio('test', 'reference')}, REST / WebAPI test ${ratio('restTest', 'test')}, ` +
          `REST / WebAPI calllist ${ratio('restRecordings', 'callList')}, simulator / gateway calllist ${ratio('simCallList', 'callList')}, ` +
          `with a key / without ${ratio('keyed', 'test')}\n`,
      );
    }

    const medianRound = (name: Name): Figures => [...runs.map((r) => r[name])].sort((a, b) => a.rps - b.rps)[Math.floor(runs.length / 2)]!;
    const medianRatio = (a: Name, b: Name): string => median(runs.map((r) => r[a].rps / r[b].rps)).toFixed(2);
    /** What a request of `a` costs its server against one of `b`, read as a throughput ratio reads: b's CPU over a's. */
    const cost = (a: Name, b: Name): string => {
      const pairs = runs.map((r) => [r[a].serverCpu, r[b].serverCpu]).filter((p): p is [number, number] => p[0] !== undefined && p[1] !== undefined);
      return pairs.length === 0 ? 'n/a' : median(pairs.map(([x, y]) => y / x)).toFixed(2);
    };
    const us = (value: number | undefined): string => (value === undefined ? '-' : value.toFixed(1));
    process.stdout.write(`\n${connections} connections, ${rounds} rounds of ${seconds} s each, on loopback (median round)`);
    process.stdout.write(pinned ? '; servers compared on core 1, simulator and load on core 0 (the direct client on core 1)\n\n' : '; not pinned\n\n');
    process.stdout.write(
      `${'target'.padEnd(36)} ${'req/s'.padStart(9)} ${'p50 ms'.padStart(8)} ${'p99 ms'.padStart(8)} ${'errors'.padStart(7)} ${'cpu us/req'.padStart(11)} ${'busy'.padStart(5)} ${'sim us/req'.padStart(11)}\n`,
    );
    for (const name of names) {
      const r = medianRound(name);
      const busy = r.serverBusy === undefined ? '-' : `${Math.round(r.serverBusy * 100)}%`;
      // For the direct client the server is the simulator.
      const sim = targets[name].kind === 'tcp' || name === 'hello' ? '' : us(r.simCpu);
      process.stdout.write(
        `${r.name.padEnd(36)} ${r.rps.toFixed(0).padStart(9)} ${String(r.p50).padStart(8)} ${String(r.p99).padStart(8)} ${String(r.errors).padStart(7)} ` +
          `${us(r.serverCpu).padStart(11)} ${busy.padStart(5)} ${sim.padStart(11)}\n`,
      );
    }
    process.stdout.write(`\nmedian of the rounds' ratios (throughput; cost: the CPU per request of the second over the first's)\n`);
    process.stdout.write(`gateway / hello-world:                       ${medianRatio('test', 'hello')}  (goal >= 0.35, aim 0.45)\n`);
    process.stdout.write(`reference / hello-world:                     ${medianRatio('reference', 'hello')}\n`);
    process.stdout.write(`WebAPI type=test / reference:                ${medianRatio('test', 'reference')}  (goal >= 0.9); cost ${cost('test', 'reference')}\n`);
    process.stdout.write(`WebAPI type=test / direct TCP TEST:          ${medianRatio('test', 'simTest')}\n`);
    process.stdout.write(`with an API key / without:                   ${medianRatio('keyed', 'test')}  (goal >= 0.95); cost ${cost('keyed', 'test')}\n`);
    process.stdout.write(`REST commands/test / WebAPI type=test:       ${medianRatio('restTest', 'test')}  (goal >= 0.9); cost ${cost('restTest', 'test')}\n`);
    process.stdout.write(`REST recordings?limit=10 / WebAPI calllist:  ${medianRatio('restRecordings', 'callList')}  (goal >= 0.9); cost ${cost('restRecordings', 'callList')}\n`);
    const callList = medianRound('callList');
    process.stdout.write(
      `simulator CALLLIST / WebAPI calllist:        ${medianRatio('simCallList', 'callList')}  (well above 1: the simulator is not the limit); ` +
        `per calllist the simulator spends ${us(callList.simCpu)} us of CPU, the gateway ${us(callList.serverCpu)} us\n`,
    );
    // Logging is part of what was measured: every answered request has its line.
    const answered = runs.reduce((sum, r) => sum + names.reduce((n, name) => n + ('logged' in targets[name] ? r[name].answered : 0), 0), 0);
    const logged = readFileSync(logPath, 'utf8').split('\n').filter((line) => line.includes('"msg":"request"')).length;
    process.stdout.write(`gateway log lines: ${logged} request lines for ${answered} answers counted by autocannon\n`);
  } finally {
    for (const child of children) child.kill();
    if (logDir) await rm(logDir, { recursive: true, force: true });
  }
}

await main();
