#!/usr/bin/env node
/** `uptivity-core-sim`: the XML core simulator's command line. */
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { startSimulator } from './simulator.js';

const usage = `Usage: uptivity-core-sim [options]

A simulator of the Uptivity API Server (the XML core): the API port, the event port and a
recording system with real state and real audio files.

Options:
  --host <addr>             address to listen on (default 127.0.0.1)
  --port <n>                API port (default 5620)
  --event-port <n>          event port (default 5621)
  --data <dir>              data dir: core.sqlite, recordings/, outbox/ (default: a temporary dir)
  --seed                    fill a fresh store with the demonstration dataset
  --cores <list>            recording core idents, comma-separated (default 1)
  --channels <n>            recording channels of a new store (default 24)
  --max-record-seconds <n>  longest recording written (default 3600)
  --ffmpeg <path>           ffmpeg for MP3/M4A email attachments (default: ffmpeg on PATH, if any)
  --playback-base <url>     base of CALLLIST's PLAYBACKLINK
  --field-quirks            reproduce production output quirks (IMPORTUSER LIST leaves <USERS> open)
  --no-extensions           the product's command set only: RECORDINGINFO is an unknown type (10)
  --max-clients <n>         connections per port before API_TOO_MANY_CLIENTS (default 1024)
  --recordings-db <url>     keep the product's Recording table in this database too, written before
                            each answer that saved recordings: postgres://user:pw@host:5432/db,
                            postgresql://..., mysql://user:pw@host:3306/db or mariadb://...
  --control-port <n>        enable the HTTP control port (faults, cores, clock) on 127.0.0.1
  --control-host <addr>     address of the control port (default 127.0.0.1)
  -h, --help                show this help
`;

function ffmpegOnPath(): string {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    const candidate = path.join(dir, 'ffmpeg');
    try {
      fs.accessSync(candidate, fs.constants.X_OK);
      return candidate;
    } catch {
      // not in this directory
    }
  }
  return '';
}

function integer(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (!/^[0-9]+$/.test(value)) throw new Error(`--${name} must be a non-negative integer`);
  return Number(value);
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      host: { type: 'string' },
      port: { type: 'string' },
      'event-port': { type: 'string' },
      data: { type: 'string' },
      seed: { type: 'boolean' },
      cores: { type: 'string' },
      channels: { type: 'string' },
      'max-record-seconds': { type: 'string' },
      ffmpeg: { type: 'string' },
      'playback-base': { type: 'string' },
      'field-quirks': { type: 'boolean' },
      'no-extensions': { type: 'boolean' },
      'max-clients': { type: 'string' },
      'control-port': { type: 'string' },
      'recordings-db': { type: 'string' },
      'control-host': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(usage);
    return;
  }
  const cores = values.cores?.split(',').map((c) => integer('cores', c.trim())!);
  const sim = await startSimulator({
    ...(values.host ? { host: values.host } : {}),
    port: integer('port', values.port) ?? 5620,
    eventPort: integer('event-port', values['event-port']) ?? 5621,
    ...(values.data ? { dataDir: values.data } : {}),
    seed: values.seed ?? false,
    ...(cores ? { cores } : {}),
    ...(values.channels ? { channelCount: integer('channels', values.channels)! } : {}),
    ...(values['max-record-seconds'] ? { maxRecordSeconds: integer('max-record-seconds', values['max-record-seconds'])! } : {}),
    ffmpegPath: values.ffmpeg ?? ffmpegOnPath(),
    ...(values['playback-base'] ? { playbackBaseUrl: values['playback-base'] } : {}),
    fieldQuirks: values['field-quirks'] ?? false,
    extensions: !values['no-extensions'],
    ...(values['max-clients'] ? { maxClients: integer('max-clients', values['max-clients'])! } : {}),
    ...(values['control-port'] !== undefined ? { controlPort: integer('control-port', values['control-port'])! } : {}),
    ...(values['control-host'] ? { controlHost: values['control-host'] } : {}),
    ...(values['recordings-db'] !== undefined ? { recordingsDbUrl: values['recordings-db'] } : {}),
  });
  let closing = false;
  const stop = (): void => {
    if (closing) return;
    closing = true;
    void sim.close().then(() => process.exit(0));
  };
  // Before the startup line: whoever reads it may stop the simulator at once.
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  const lines = [
    `uptivity-core-sim: API port ${sim.host}:${sim.port}, event port ${sim.host}:${sim.eventPort}`,
    sim.controlPort !== undefined ? `, control port ${sim.controlPort}` : '',
    `, data ${sim.dataDir}${sim.seeded ? ' (seeded)' : ''}\n`,
  ];
  process.stdout.write(lines.join(''));
  const mirror = sim.context.recordingMirror;
  if (mirror) process.stdout.write(`uptivity-core-sim: the Recording table is kept in ${mirror.description} too\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`uptivity-core-sim: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
