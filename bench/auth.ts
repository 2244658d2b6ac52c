/**
 * `npm run bench:auth`: what asking every caller for an API key costs. Two gateways of this build
 * in front of one simulator, one with a keys file (every caller needs a key) and one without
 * (protected mode, loopback), each driven in turn with 50 connections on `type=test`, the keyed one
 * with a key on every request; rounds alternate which goes first, and the ratio reported is the
 * median of the rounds' own. Where `taskset` exists, the gateways share one core and the simulator
 * and the load generator the other: on a shared two-core machine, processes wandering between
 * cores made single rounds differ by 30% either way, far more than the key costs.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { runKeysCommand } from '../src/access/keys-cli.js';
import { freePorts, median, untilReady } from './measure.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const rounds = Number(process.env.BENCH_ROUNDS ?? 7);
const seconds = Number(process.env.BENCH_SECONDS ?? 5);
const pinned = fs.existsSync('/usr/bin/taskset') && os.availableParallelism() >= 2;

function start(script: string, args: string[], env: NodeJS.ProcessEnv, core: number, log: string): ChildProcess {
  const command = pinned ? ['taskset', '-c', String(core), process.execPath] : [process.execPath];
  return spawn(command[0]!, [...command.slice(1), script, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', fs.openSync(log, 'w'), 'inherit'] });
}

async function main(): Promise<void> {
  if (pinned) spawn('taskset', ['-p', '-c', '0', String(process.pid)], { stdio: 'ignore' });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-auth-'));
  const [corePort, eventPort, plainPort, keyedPort] = (await freePorts(4)) as [number, number, number, number];
  const key = runKeysCommand(['create', '--name', 'bench', '--scopes', 'status'], path.join(dir, 'keyed', 'api-keys.yaml')).split('\n')[0]!;
  const gatewayEnv = (port: number, name: string): NodeJS.ProcessEnv => ({
    PORT: String(port),
    HOST: '127.0.0.1',
    CORE_HOST: '127.0.0.1',
    CORE_PORT: String(corePort),
    CORE_EVENT_PORT: String(eventPort),
    GATEWAY_DATA_DIR: path.join(dir, name),
    API_KEYS_FILE: path.join(dir, name, 'api-keys.yaml'),
    // Counted, as in production, but never reached.
    RATE_LIMIT_MAX: '1000000000',
  });
  const children = [
    start(path.join(here, '../src/sim/main.js'), ['--port', String(corePort), '--event-port', String(eventPort)], {}, 0, path.join(dir, 'sim.log')),
    start(path.join(here, '../src/main.js'), [], gatewayEnv(plainPort, 'plain'), 1, path.join(dir, 'plain.log')),
    start(path.join(here, '../src/main.js'), [], gatewayEnv(keyedPort, 'keyed'), 1, path.join(dir, 'keyed.log')),
  ];
  try {
    await Promise.all([untilReady(`http://127.0.0.1:${plainPort}/readyz`), untilReady(`http://127.0.0.1:${keyedPort}/readyz`)]);
    const drive = async (port: number, headers: Record<string, string>, duration = seconds): Promise<number> =>
      (await autocannon({ url: `http://127.0.0.1:${port}/webAPI.aspx?type=test&requestid=1`, connections: 50, duration, headers })).requests.average;
    const plain = (duration?: number) => drive(plainPort, {}, duration);
    const keyed = (duration?: number) => drive(keyedPort, { 'x-api-key': key }, duration);
    await plain(2);
    await keyed(2);
    const ratios: number[] = [];
    for (let round = 0; round < rounds; round++) {
      const [without, withKey] = round % 2 === 0 ? [await plain(), await keyed()] : [await keyed(), await plain()].reverse() as [number, number];
      ratios.push(withKey! / without!);
      process.stdout.write(`round ${round + 1}: without a key ${without!.toFixed(0)} req/s, with ${withKey!.toFixed(0)} req/s, ratio ${(withKey! / without!).toFixed(2)}\n`);
    }
    process.stdout.write(`\n${pinned ? 'gateways on one core, simulator and load on the other' : 'not pinned (no taskset)'}; ${rounds} rounds of ${seconds} s\n`);
    process.stdout.write(`with an API key / without: ${median(ratios).toFixed(2)}  (goal >= 0.95)\n`);
  } finally {
    for (const child of children) child.kill();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

await main();
