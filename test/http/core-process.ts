/**
 * The simulator as a process of its own (`dist/src/sim/main.js`), as a core runs beside a gateway
 * in production: started on free ports with the flags and environment given (TZ, say, for a
 * recorder in another zone than the gateway), its control port on, and stopped with SIGTERM.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { CoreUnderTest } from './gateway-harness.js';

const mainJs = fileURLToPath(new URL('../../src/sim/main.js', import.meta.url));

export interface CoreProcess extends CoreUnderTest {
  child: ChildProcess;
  dataDir: string;
  controlPort: number;
  /** Move the simulator's clock forward (call durations without waiting). */
  advanceClock(ms: number): Promise<void>;
  stop(): Promise<void>;
}

export async function startCoreProcess(args: readonly string[], env: NodeJS.ProcessEnv = {}): Promise<CoreProcess> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'core-process-'));
  const child = spawn(process.execPath, [mainJs, '--port', '0', '--event-port', '0', '--control-port', '0', '--data', dataDir, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...env },
  });
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (s: string) => (stderr += s));
  const firstLine = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no startup line within 60 s; stderr: ${stderr}`)), 60_000);
    readline.createInterface({ input: child.stdout! }).once('line', (line) => {
      clearTimeout(timer);
      resolve(line);
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`the simulator exited with ${code}; stderr: ${stderr}`));
    });
  });
  const m = /API port ([\d.]+):(\d+), event port [\d.]+:(\d+), control port (\d+)/.exec(firstLine);
  if (!m) throw new Error(`unexpected startup line: ${firstLine}`);
  const control = `http://127.0.0.1:${m[4]}`;
  return {
    child,
    dataDir,
    host: m[1]!,
    port: Number(m[2]),
    eventPort: Number(m[3]),
    controlPort: Number(m[4]),
    recordingsDir: path.join(dataDir, 'recordings'),
    async advanceClock(ms: number) {
      const response = await fetch(`${control}/clock`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ advanceMs: ms }) });
      if (!response.ok) throw new Error(`POST /clock answered ${response.status}`);
    },
    async stop() {
      if (child.exitCode === null) {
        child.kill('SIGTERM');
        await once(child, 'exit');
      }
      fs.rmSync(dataDir, { recursive: true, force: true, maxRetries: 5, retryDelay: 50 });
    },
  };
}
