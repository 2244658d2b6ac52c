/**
 * The simulator as a process of its own, as a core runs beside a gateway in production, seen as a
 * core a gateway can be put in front of: its data dir a fresh temporary one, its control port on
 * (to move its clock), and the flags and environment given (TZ, say, for a recorder in another zone).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startCore, stopCore, type CoreProcess as SimulatorProcess } from '../sim/core-process.js';
import type { CoreUnderTest } from './gateway-harness.js';

export interface CoreProcess extends CoreUnderTest {
  process: SimulatorProcess;
  /** Move the simulator's clock forward (call durations without waiting). */
  advanceClock(ms: number): Promise<void>;
  stop(): Promise<void>;
}

export async function startCoreProcess(args: readonly string[], env: Record<string, string> = {}): Promise<CoreProcess> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'core-process-'));
  const sim = await startCore(['--control-port', '0', '--data', dataDir, ...args], env);
  const control = `http://127.0.0.1:${sim.controlPort}`;
  return {
    process: sim,
    host: '127.0.0.1',
    port: sim.apiPort,
    eventPort: sim.eventPort,
    recordingsDir: path.join(dataDir, 'recordings'),
    async advanceClock(ms: number) {
      const response = await fetch(`${control}/clock`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ advanceMs: ms }) });
      if (!response.ok) throw new Error(`POST /clock answered ${response.status}`);
    },
    async stop() {
      if (sim.child.exitCode === null) await stopCore(sim);
      fs.rmSync(dataDir, { recursive: true, force: true, maxRetries: 5, retryDelay: 50 });
    },
  };
}
