/**
 * The `uptivity-gateway` program started as a person or an orchestrator starts it: a process of its
 * own, configured by its environment, ready once it says so.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const main = path.join(path.dirname(fileURLToPath(import.meta.url)), '../../src/main.js');

export interface GatewayProgram {
  child: ChildProcess;
  /** The addresses it said it listens on, HTTP then HTTPS. */
  urls: string[];
  log: () => string;
  /** Its exit code, once it exits. */
  exited: Promise<number | null>;
}

/** Start the gateway and wait until it has said `listeners` addresses and that it is ready. */
export async function startGatewayProgram(env: NodeJS.ProcessEnv, listeners = 1): Promise<GatewayProgram> {
  const child = spawn(process.execPath, [main], {
    // No load balancer to wait for, unless the caller says otherwise.
    env: { ...process.env, HOST: '127.0.0.1', PORT: '0', CORE_PORT: '0', CORE_EVENT_PORT: '0', SHUTDOWN_DELAY_MS: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  let output = '';
  const urls: string[] = [];
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`gateway not ready: ${output}`)), 30_000);
    child.stdout!.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      for (const match of output.matchAll(/Server listening at (https?:\/\/127\.0\.0\.1:\d+)/g)) if (!urls.includes(match[1]!)) urls.push(match[1]!);
      if (urls.length >= listeners && output.includes('uptivity-gateway ready')) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`gateway exited with ${code}: ${output}`));
    });
  });
  return { child, urls, log: () => output, exited };
}
