#!/usr/bin/env node
/**
 * `npm run openapi`: writes openapi/openapi.json (or the file named as the argument), the document
 * the gateway serves at /openapi.json. The app is built the way main.ts builds it, so that every
 * route is there, but nothing is started: the pool never connects and nothing listens.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { buildApp } from './app.js';
import { CoreEventSubscription } from './core/events.js';
import { CorePool } from './core/pool.js';
import { openApiPath } from './http/docs/plugin.js';
import { locateFfmpeg } from './media/ffmpeg.js';
import { RecordingFiles } from './media/recording-files.js';
import { Slots } from './media/slots.js';
import { TranscodeCache } from './media/transcode-cache.js';
import { RecordingCatalog } from './recordings/recording-catalog.js';
import { packageRoot } from './package-manifest.js';
import { loadConfig } from './config.js';
import { SqliteWebhookStore } from './webhooks/sqlite-store.js';
import { Webhooks } from './webhooks/webhooks.js';

async function main(): Promise<void> {
  const target = path.resolve(process.argv[2] ?? path.join(packageRoot, 'openapi', 'openapi.json'));
  const pool = new CorePool({ host: '127.0.0.1', port: 5620, size: 1, queueMax: 0, requestTimeoutMs: 1000, connectTimeoutMs: 1000 });
  // Nothing is exported: a cache that keeps nothing, in a folder removed at the end.
  const cacheDir = fs.mkdtempSync(path.join(os.tmpdir(), 'openapi-media-cache-'));
  const cache = await TranscodeCache.open({ directory: cacheDir, maxBytes: 0 });
  const exports = { catalog: new RecordingCatalog([]), files: new RecordingFiles([]), ffmpeg: () => locateFfmpeg(), slots: new Slots(1), cache };
  // Never started: it connects with its first listener, and there is none.
  const subscription = new CoreEventSubscription({ host: '127.0.0.1', port: 5621, connectTimeoutMs: 1000, subscribeTimeoutMs: 1000, feed: { capacity: 1, maxBytes: 1024, maxListeners: 1 } });
  // Never started either: its routes are what the document needs.
  const webhooks = new Webhooks({
    store: new SqliteWebhookStore({ file: path.join(cacheDir, 'webhooks.sqlite') }),
    reader: subscription.feed!.reader,
    settings: loadConfig([], {})!.webhooks,
    log: { info: () => undefined, warn: () => undefined },
  });
  const app = buildApp({ pool, coreTimeoutMs: 1000, logLevel: 'silent', exports, events: { subscription, heartbeatMs: 15_000 }, webhooks });
  try {
    // Through the route itself: the file is byte for byte what a running gateway serves.
    const response = await app.inject({ method: 'GET', url: openApiPath });
    if (response.statusCode !== 200) throw new Error(`${openApiPath} answered ${response.statusCode}: ${response.body}`);
    fs.mkdirSync(path.dirname(target), { recursive: true });
    fs.writeFileSync(target, response.body);
    process.stdout.write(`wrote ${path.relative(process.cwd(), target) || target}\n`);
  } finally {
    await app.close();
    await subscription.close();
    await webhooks.stop();
    fs.rmSync(cacheDir, { recursive: true, force: true });
    await pool.close();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`write-openapi: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
