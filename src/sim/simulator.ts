/**
 * The XML core simulator: a stand-in for the product's API Server, its event proxy and the
 * recording system behind them, for running and testing the gateway without a recording platform.
 * It shares only `protocol/` with the gateway. `startSimulator` runs it in-process (the gateway's
 * embedded mode and tests); `main.ts` is its command line.
 *
 * With `recordingsDbUrl` the Recording table is also kept in that PostgreSQL or MySQL/MariaDB
 * database, as the product's own database would hold it (recording-mirror.ts).
 *
 * Data dir layout:
 *   core.sqlite             the state (users, devices, calls, recordings, ...)
 *   recordings/             C:\Recordings\ of the product: YYYYMMDD/DEVICE/DEVICE-HH-MM-SS.wav
 *   outbox/                 messages written by EMAIL and COMBINEDEMAIL (.eml)
 */
import fs from 'node:fs';
import type net from 'node:net';
import type http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { once } from 'node:events';
import { createApiServer, RequestLog } from './api-server.js';
import { Clock, CoreRoster, type SimContext, type SimOptions } from './context.js';
import { createControlServer } from './control-server.js';
import { EventBus } from './event-bus.js';
import { createEventServer } from './event-server.js';
import { FaultPlan } from './faults.js';
import { initializeStore, seedStore } from './seed.js';
import { productDatabaseTarget } from './product-database.js';
import { detachRecordingMirror, RecordingMirror } from './recording-mirror.js';
import { openDatabase } from './store.js';

export interface SimulatorConfig extends Partial<SimOptions> {
  host?: string;
  /** 0 picks a free port. */
  port?: number;
  eventPort?: number;
  /** Control port; undefined leaves it off. */
  controlPort?: number;
  controlHost?: string;
  /** Data dir; undefined uses a temporary one, removed on close. */
  dataDir?: string;
  seed?: boolean;
  cores?: readonly number[];
  maxClients?: number;
  maxMessageBytes?: number;
  incompleteMessageTimeoutMs?: number;
  /**
   * `postgres://`, `postgresql://`, `mysql://` or `mariadb://` URL of a database in which the
   * product's Recording table is kept too (created when absent), written before each answer that
   * saved recordings. Unset: none, and neither driver is loaded.
   */
  recordingsDbUrl?: string;
}

export interface RunningSimulator {
  host: string;
  port: number;
  eventPort: number;
  controlPort: number | undefined;
  dataDir: string;
  context: SimContext;
  faults: FaultPlan;
  requests: RequestLog;
  seeded: boolean;
  close(): Promise<void>;
}

function portOf(server: net.Server | http.Server): number {
  const address = server.address();
  if (!address || typeof address === 'string') throw new Error('server is not listening on TCP');
  return address.port;
}

async function listen(server: net.Server | http.Server, port: number, host: string): Promise<void> {
  server.listen(port, host);
  await Promise.race([once(server, 'listening'), once(server, 'error').then(([error]) => Promise.reject(error))]);
}

export async function startSimulator(config: SimulatorConfig = {}): Promise<RunningSimulator> {
  // A URL of another scheme fails before anything is created.
  if (config.recordingsDbUrl !== undefined) productDatabaseTarget(config.recordingsDbUrl);
  const temporary = config.dataDir === undefined;
  const dataDir = path.resolve(config.dataDir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'uptivity-core-')));
  const recordingsDir = path.join(dataDir, 'recordings');
  const outboxDir = path.join(dataDir, 'outbox');
  fs.mkdirSync(recordingsDir, { recursive: true });
  fs.mkdirSync(outboxDir, { recursive: true });

  const options: SimOptions = {
    dataDir,
    channelCount: config.channelCount ?? 24,
    maxRecordSeconds: config.maxRecordSeconds ?? 3600,
    playbackBaseUrl: config.playbackBaseUrl ?? 'HTTP://localhost:80/MediaPlayer/ExternalCallListPlayer',
    ffmpegPath: config.ffmpegPath ?? '',
    fieldQuirks: config.fieldQuirks ?? false,
    extensions: config.extensions ?? true,
  };
  const db = openDatabase(path.join(dataDir, 'core.sqlite'));
  const context: SimContext = {
    db,
    clock: new Clock(),
    cores: new CoreRoster(config.cores ?? [1]),
    events: new EventBus(),
    options,
    recordingsDir,
    outboxDir,
  };
  // Connected before seeding: a database that cannot be used fails the start before seconds of work.
  try {
    if (config.recordingsDbUrl !== undefined) context.recordingMirror = await RecordingMirror.open(db, config.recordingsDbUrl, context.events);
    else detachRecordingMirror(db);
  } catch (error) {
    db.close();
    if (temporary) fs.rmSync(dataDir, { recursive: true, force: true });
    throw error;
  }
  initializeStore(context);
  const seeded = config.seed ? seedStore(context) : false;
  // The external table has the seeded (or queued) recordings before the first request.
  await context.recordingMirror?.flush();

  const host = config.host ?? '127.0.0.1';
  const faults = new FaultPlan();
  const requests = new RequestLog();
  const maxClients = config.maxClients ?? 1024;
  const maxMessageBytes = config.maxMessageBytes ?? 1024 * 1024;
  const incompleteMessageTimeoutMs = config.incompleteMessageTimeoutMs ?? 30_000;
  const api = createApiServer(context, { maxClients, maxMessageBytes, incompleteMessageTimeoutMs }, faults, requests);
  const events = createEventServer(context, { maxClients, maxMessageBytes: 64 * 1024, maxUnreadBytes: 4 * 1024 * 1024, incompleteMessageTimeoutMs });
  const count = (server: net.Server): Promise<number> =>
    new Promise((resolve) => server.getConnections((error, n) => resolve(error ? 0 : n)));
  const control =
    config.controlPort === undefined
      ? undefined
      : createControlServer({
          cores: context.cores,
          faults,
          clock: context.clock,
          requests,
          connections: async () => ({ api: await count(api), events: await count(events) }),
          dropEventSubscribers: async () => {
            const subscribers = await count(events);
            (events as net.Server & { closeAllConnections?: () => void }).closeAllConnections?.();
            return subscribers;
          },
        });

  const servers: (net.Server | http.Server)[] = [];
  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => (closing ??= shutDown());
  const shutDown = async (): Promise<void> => {
    for (const server of servers) {
      server.close();
      (server as net.Server & { closeAllConnections?: () => void }).closeAllConnections?.();
    }
    await Promise.all(servers.map((s) => (s.listening ? once(s, 'close') : Promise.resolve())));
    await context.recordingMirror?.close();
    db.close();
    if (temporary) fs.rmSync(dataDir, { recursive: true, force: true });
  };
  try {
    await listen(api, config.port ?? 5620, host);
    servers.push(api);
    await listen(events, config.eventPort ?? 5621, host);
    servers.push(events);
    if (control) {
      await listen(control, config.controlPort!, config.controlHost ?? '127.0.0.1');
      servers.push(control);
    }
  } catch (error) {
    await close();
    throw error;
  }
  // Connections of a net.Server do not close with it; track them so close() ends them.
  for (const server of [api, events]) trackConnections(server);

  return {
    host,
    port: portOf(api),
    eventPort: portOf(events),
    controlPort: control ? portOf(control) : undefined,
    dataDir,
    context,
    faults,
    requests,
    seeded,
    close,
  };
}

function trackConnections(server: net.Server): void {
  const sockets = new Set<net.Socket>();
  server.on('connection', (socket: net.Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  (server as net.Server & { closeAllConnections?: () => void }).closeAllConnections = () => {
    for (const socket of sockets) socket.destroy();
  };
}
