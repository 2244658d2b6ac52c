/**
 * A page of another site in a real browser (Debian's Chromium, headless, through playwright-core)
 * using the gateway as a browser integration does: fetch with an API key (a preflight the browser
 * itself makes and checks), a signed link in an <audio> element, an event ticket in an EventSource.
 * The page is served from http://localhost:<port>, the gateway from http://127.0.0.1:<port>: another
 * site, so nothing here passes unless the CORS headers are what a browser demands. A page of a site
 * not listed can read nothing.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { type Browser, type Page } from 'playwright-core';
import { launchChromium } from './chromium.js';
import { ApiKeyStore } from '../../src/access/api-keys.js';
import { Gatekeeper } from '../../src/access/gatekeeper.js';
import { runKeysCommand } from '../../src/access/keys-cli.js';
import { OriginList } from '../../src/access/origins.js';
import { startTestGateway, type TestGateway } from './gateway-harness.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'browser-page-'));
const keysFile = path.join(dir, 'keys.yaml');
const recordId = 10121972;

let gw: TestGateway;
let browser: Browser | undefined;
let key: string;
const sites: http.Server[] = [];

/** A site serving one empty page, on its own port: its origin. */
async function site(): Promise<string> {
  const server = http.createServer((_request, response) => response.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html><title>integration</title>'));
  sites.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://localhost:${(server.address() as AddressInfo).port}`;
}

let listedSite: string;
let otherSite: string;

before(async () => {
  listedSite = await site();
  otherSite = await site();
  key = runKeysCommand(['create', '--name', 'console', '--scopes', 'recordings:read,recordings:export,events'], keysFile).split('\n')[0]!;
  const store = new ApiKeyStore({ file: keysFile });
  const origins = new OriginList([listedSite]);
  gw = await startTestGateway({ seed: true }, {}, {
    access: { gatekeeper: new Gatekeeper({ open: false, keys: store, tokens: undefined, webApiNetworks: undefined, allowedOrigins: origins }), webApiQueryKeys: false, metricsAuth: false },
    cors: { origins, webApi: false },
  });
  const close = gw.close;
  gw.close = async () => {
    await close();
    store.close();
  };
  browser = await launchChromium();
});
after(async () => {
  await browser?.close();
  await gw?.close();
  for (const server of sites) server.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

async function pageOf(origin: string): Promise<Page> {
  const page = await browser!.newPage();
  page.setDefaultTimeout(20_000);
  await page.goto(`${origin}/`);
  return page;
}

test('a listed site: fetch with a key, a signed link playing in <audio>, an event ticket in EventSource', async () => {
  const page = await pageOf(listedSite);
  const read = await page.evaluate(
    async ({ gateway, key }) => {
      const response = await fetch(`${gateway}/api/v1/recordings?limit=1`, { headers: { 'X-API-Key': key } });
      const body = (await response.json()) as { recordings: { mediaUrl: string }[] };
      return { status: response.status, requestId: response.headers.get('x-request-id'), mediaUrl: body.recordings[0]!.mediaUrl };
    },
    { gateway: gw.url, key },
  );
  assert.equal(read.status, 200);
  assert.ok(read.requestId, 'X-Request-Id is exposed to the page');
  assert.match(read.mediaUrl, /^\/api\/v1\/recordings\/[0-9]+\/media$/);

  const played = await page.evaluate(
    async ({ gateway, key, recordId }) => {
      const made = await fetch(`${gateway}/api/v1/recordings/${recordId}/links`, {
        method: 'POST',
        headers: { 'X-API-Key': key, 'Content-Type': 'application/json' },
        body: JSON.stringify({ format: 'wav', expiresIn: 120 }),
      });
      const link = (await made.json()) as { url: string };
      const audio = document.createElement('audio');
      audio.preload = 'auto';
      document.body.append(audio);
      const duration = await new Promise<number>((resolve, reject) => {
        audio.addEventListener('loadedmetadata', () => resolve(audio.duration));
        audio.addEventListener('error', () => reject(new Error(`audio error ${audio.error?.code}`)));
        audio.src = new URL(link.url, gateway).href;
      });
      return { status: made.status, duration };
    },
    { gateway: gw.url, key, recordId },
  );
  assert.equal(played.status, 201);
  assert.ok(played.duration > 0, `the audio element read ${played.duration} s of the recording`);

  const streamed = page.evaluate(
    async ({ gateway, key }) => {
      const made = await fetch(`${gateway}/api/v1/events/tickets`, { method: 'POST', headers: { 'X-API-Key': key } });
      const { ticket } = (await made.json()) as { ticket: string };
      const source = new EventSource(`${gateway}/api/v1/events?type=CALLSTART&ticket=${encodeURIComponent(ticket)}`);
      try {
        return await new Promise<string>((resolve, reject) => {
          source.addEventListener('status', () => document.title = 'listening');
          source.addEventListener('CALLSTART', (event) => resolve((event as MessageEvent<string>).data));
          source.addEventListener('error', () => reject(new Error('EventSource failed')));
        });
      } finally {
        source.close();
      }
    },
    { gateway: gw.url, key },
  );
  await page.waitForFunction(() => document.title === 'listening');
  gw.sim.context.events.publish('CALLSTART', { DEVICEID: 'from-the-browser' }, 1);
  const event = JSON.parse(await streamed) as { type: string; data: { deviceId: string } };
  assert.deepEqual([event.type, event.data.deviceId], ['CALLSTART', 'from-the-browser']);
  await page.close();
});

test('a site not listed cannot read an answer, even with a key', async () => {
  const page = await pageOf(otherSite);
  const outcome = await page.evaluate(
    async ({ gateway, key }) => {
      try {
        await fetch(`${gateway}/api/v1/recordings?limit=1`, { headers: { 'X-API-Key': key } });
        return 'read';
      } catch (error) {
        return (error as Error).name;
      }
    },
    { gateway: gw.url, key },
  );
  assert.equal(outcome, 'TypeError', 'the browser refused the answer');
  await page.close();
});
