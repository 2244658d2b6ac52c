/**
 * What the benchmarks need: ports for their servers, waiting for them, the median of noisy figures,
 * the CPU time of a process and pinning processes to cores.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import { once } from 'node:events';

/** Distinct free ports: all are held open until every one is chosen, so none comes out twice. */
export async function freePorts(count: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from({ length: count }, async () => {
      const server = net.createServer().listen(0, '127.0.0.1');
      await once(server, 'listening');
      return server;
    }),
  );
  const ports = servers.map((server) => (server.address() as net.AddressInfo).port);
  await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
  return ports;
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Wait until `url` answers 2xx (a gateway listens and reaches its core), or fail after `timeoutMs`. */
export async function untilReady(url: string, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      if ((await fetch(url)).ok) return;
    } catch {
      // not listening yet (a simulator may still be seeding)
    }
    if (Date.now() > deadline) throw new Error(`${url} not ready within ${timeoutMs / 1000} s`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Clock ticks per second of /proc's CPU times (USER_HZ), asked once. */
let ticksPerSecond: number | undefined;

/**
 * CPU seconds a process has used so far, all its threads (V8's GC helpers included), from
 * /proc/<pid>/stat; undefined where there is no /proc.
 */
export function cpuSeconds(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    ticksPerSecond ??= Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    // The command name may hold spaces and parentheses: the fields are counted from its closing one.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // utime and stime, fields 14 and 15 of the whole line.
    return (Number(fields[11]) + Number(fields[12])) / ticksPerSecond;
  } catch {
    return undefined;
  }
}

/** Whether processes can be pinned to cores here: `taskset` and at least two of them. */
export const canPin = existsSync('/usr/bin/taskset') && os.availableParallelism() >= 2;

/** Pin a process, every thread of it, to one core (where canPin). */
export function pinToCore(pid: number | undefined, core: number): void {
  if (canPin && pid !== undefined) execFileSync('taskset', ['-a', '-p', '-c', String(core), String(pid)], { stdio: 'ignore' });
}

/** A node script as a process of its own, once its stdout has said `ready`. */
export async function startProcess(script: string, args: string[], env: NodeJS.ProcessEnv, ready: RegExp): Promise<ChildProcess> {
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

/**
 * The environment of a gateway process in front of a simulator on loopback, as the benchmarks run
 * it: its own data dir, and a rate limit counted as in production but never reached (a benchmark
 * measures the path, not the limit).
 */
export function gatewayEnvironment(ports: { port: number; corePort: number; eventPort: number }, dataDir: string): NodeJS.ProcessEnv {
  return {
    ...process.env,
    PORT: String(ports.port),
    HOST: '127.0.0.1',
    CORE_HOST: '127.0.0.1',
    CORE_PORT: String(ports.corePort),
    CORE_EVENT_PORT: String(ports.eventPort),
    GATEWAY_DATA_DIR: dataDir,
    RATE_LIMIT_MAX: '1000000000',
  };
}
