/**
 * The simulator's program, `dist/src/sim/main.js`, as a child process on free ports: started until
 * its startup line, stopped with SIGTERM (which must exit 0).
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';

export const mainJs = fileURLToPath(new URL('../../src/sim/main.js', import.meta.url));

export interface CoreProcess {
  child: ChildProcess;
  apiPort: number;
  eventPort: number;
  /** With --control-port. */
  controlPort: number | undefined;
  dataDir: string;
  seeded: boolean;
  firstLine: string;
  /** Every line written to stdout so far, the startup line first. */
  stdout: () => string[];
  stderr: () => string;
}

const running = new Set<ChildProcess>();

/** Start the program with `args` (and `env` added to this process's environment). */
export async function startCore(args: string[], env: Record<string, string> = {}): Promise<CoreProcess> {
  const child = spawn(process.execPath, [mainJs, '--port', '0', '--event-port', '0', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...env },
  });
  running.add(child);
  child.once('exit', () => running.delete(child));
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (s: string) => (stderr += s));
  const stdout: string[] = [];
  const lines = readline.createInterface({ input: child.stdout! });
  lines.on('line', (line) => stdout.push(line));
  const firstLine = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no startup line within 60 s; stderr: ${stderr}`)), 60_000);
    lines.once('line', (line) => {
      clearTimeout(timer);
      resolve(line);
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`exited with ${code} before its startup line; stderr: ${stderr}`));
    });
  });
  const m = /^uptivity-core-sim: API port 127\.0\.0\.1:(\d+), event port 127\.0\.0\.1:(\d+)(?:, control port (\d+))?, data (.+?)( \(seeded\))?$/.exec(firstLine);
  assert.ok(m, `startup line: ${firstLine}`);
  return {
    child,
    apiPort: Number(m[1]),
    eventPort: Number(m[2]),
    controlPort: m[3] === undefined ? undefined : Number(m[3]),
    dataDir: m[4]!,
    seeded: m[5] !== undefined,
    firstLine,
    stdout: () => [...stdout],
    stderr: () => stderr,
  };
}

/** SIGTERM, and the exit code (which must be 0). */
export async function stopCore(core: CoreProcess): Promise<void> {
  const exited = once(core.child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
  core.child.kill('SIGTERM');
  let timer: NodeJS.Timeout | undefined;
  const [code, signal] = await Promise.race([
    exited,
    new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error('did not exit within 10 s of SIGTERM')), 10_000))),
  ]).finally(() => clearTimeout(timer));
  assert.equal(signal, null, `terminated by ${signal}; stderr: ${core.stderr()}`);
  assert.equal(code, 0, `exit code; stderr: ${core.stderr()}`);
}

/** Kill whatever a test left running (after a failure). */
export function killCores(): void {
  for (const child of running) child.kill('SIGKILL');
}
