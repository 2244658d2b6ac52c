/**
 * An integrator's page on another origin, in Chromium: a page served by a small server of the test
 * on its own loopback port (a CRM, say), with that origin in the gateway's CORS_ORIGINS and an API
 * key, calls the REST API, plays a recording through a signed link in an <audio> element, seeks to
 * its middle (the element lands there and plays on), and receives a call's live events through an
 * EventSource opened with a ticket while the call is started and stopped through the WebAPI. The
 * key goes in headers only: no URL the page requested holds it.
 *
 * Signed links and event tickets are the gateway's; the test waits for the gateway's document to
 * list both routes (it is skipped, saying so, while they are not there).
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
import { loadConfig } from '../../src/config.js';
import { startTestGateway, type TestGateway } from './gateway-harness.js';

const linksPath = '/api/v1/recordings/{recordId}/links';
const ticketsPath = '/api/v1/events/tickets';
/** The seeded recording of 600 s: its middle is far from both ends. */
const longRecording = 10121901;

let gw: TestGateway;
let crm: http.Server;
let crmOrigin: string;
let browser: Browser;
let keys: ApiKeyStore;
let keysDir: string;
let key: string;
let missing: string | undefined;

before(async () => {
  // The other site: one page with an audio element, nothing of the gateway's.
  crm = http.createServer((request, response) => {
    if (request.url === '/') {
      response.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      response.end('<!doctype html><html lang="en"><title>CRM</title><audio id="player" controls></audio></html>');
    } else {
      response.writeHead(request.url === '/favicon.ico' ? 204 : 404).end();
    }
  });
  await new Promise<void>((resolve) => crm.listen(0, '127.0.0.1', resolve));
  crmOrigin = `http://127.0.0.1:${(crm.address() as AddressInfo).port}`;

  keysDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cross-origin-keys-'));
  const file = path.join(keysDir, 'keys.yaml');
  key = runKeysCommand(['create', '--name', 'crm', '--scopes', 'calls,recordings:read,recordings:export,events', '--file', file], file).split('\n')[0]!;
  keys = new ApiKeyStore({ file });
  // CORS_ORIGINS=http://127.0.0.1:<port>, read as the gateway reads its environment.
  const config = loadConfig([], { CORS_ORIGINS: crmOrigin })!;
  const origins = new OriginList(config.access.corsOrigins);
  const gatekeeper = new Gatekeeper({ open: false, keys, tokens: undefined, webApiNetworks: undefined, allowedOrigins: origins });
  gw = await startTestGateway(
    { seed: true },
    {},
    { access: { gatekeeper, webApiQueryKeys: false, metricsAuth: false }, cors: { origins, webApi: config.access.corsWebApi } },
  );
  const document = (await (await fetch(`${gw.url}/openapi.json`)).json()) as { paths: Record<string, unknown> };
  const absent = [linksPath, ticketsPath].filter((p) => !(p in document.paths));
  missing = absent.length > 0 ? `the gateway does not serve ${absent.join(' and ')} yet (signed links and event tickets)` : undefined;
  // The page plays on its own, as a page does after a click: no gesture to wait for here.
  browser = await launchChromium(['--autoplay-policy=no-user-gesture-required']);
});
after(async () => {
  await browser?.close();
  await gw?.close();
  keys?.close();
  if (keysDir) fs.rmSync(keysDir, { recursive: true, force: true });
  await new Promise((resolve) => crm?.close(resolve));
});

async function openCrmPage(): Promise<{ page: Page; requests: string[] }> {
  const page = await browser.newPage();
  page.setDefaultTimeout(20_000);
  const requests: string[] = [];
  page.on('request', (request) => requests.push(request.url()));
  await page.goto(`${crmOrigin}/`);
  return { page, requests };
}

test('another origin calls the REST API with a key, plays and seeks through a signed link, and receives events with a ticket', async (t) => {
  if (missing) return t.skip(missing);
  const { page, requests } = await openCrmPage();
  try {
    // REST with the key, across origins: the browser sends the preflight, the gateway allows it.
    const listed = await page.evaluate(
      async ({ gateway, key, recordId }) => {
        const response = await fetch(`${gateway}/api/v1/recordings?user2=${recordId}&limit=1`, { headers: { authorization: `Bearer ${key}` } });
        return { status: response.status, body: (await response.json()) as { recordings: { recordId: number; duration: number }[] } };
      },
      { gateway: gw.url, key, recordId: longRecording },
    );
    assert.equal(listed.status, 200);
    assert.deepEqual(listed.body.recordings.map((r) => [r.recordId, r.duration]), [[longRecording, 600]]);

    // Without the key, the same call is refused and the page can read that it was.
    const refused = await page.evaluate(async (gateway) => (await fetch(`${gateway}/api/v1/recordings?limit=1`)).status, gw.url);
    assert.equal(refused, 401);

    // A signed link, played by an <audio> element that sends no credential, seeked to the middle.
    const link = await page.evaluate(
      async ({ gateway, key, recordId }) => {
        const response = await fetch(`${gateway}/api/v1/recordings/${recordId}/links`, {
          method: 'POST',
          headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
          body: JSON.stringify({ format: 'mp3', expiresIn: 600 }),
        });
        return { status: response.status, body: (await response.json()) as { url: string; expiresAt: string; recordId: unknown; format: string } };
      },
      { gateway: gw.url, key, recordId: longRecording },
    );
    assert.equal(link.status, 201);
    assert.equal(link.body.format, 'mp3');
    assert.equal(String(link.body.recordId), String(longRecording));
    const expiresIn = Date.parse(link.body.expiresAt) - Date.now();
    assert.ok(expiresIn > 590_000 && expiresIn <= 601_000, `expires in ${expiresIn} ms`);
    const mediaUrl = new URL(link.body.url, gw.url).href;
    assert.ok(mediaUrl.startsWith(`${gw.url}/`), mediaUrl);
    await page.evaluate(async (src) => {
      const audio = document.getElementById('player') as HTMLAudioElement;
      audio.src = src;
      await audio.play();
    }, mediaUrl);
    await page.waitForFunction(() => {
      const audio = document.getElementById('player') as HTMLAudioElement;
      return !audio.paused && audio.currentTime > 0.5;
    });
    const duration = await page.evaluate(() => (document.getElementById('player') as HTMLAudioElement).duration);
    assert.ok(Math.abs(duration - 600) < 1, `the element knows the duration: ${duration}`);
    const landed = await page.evaluate(
      (middle) =>
        new Promise<number>((resolve) => {
          const audio = document.getElementById('player') as HTMLAudioElement;
          audio.addEventListener('seeked', () => resolve(audio.currentTime), { once: true });
          audio.currentTime = middle;
        }),
      duration / 2,
    );
    assert.ok(Math.abs(landed - duration / 2) < 0.5, `landed at ${landed} of ${duration}`);
    await page.waitForFunction((past) => {
      const audio = document.getElementById('player') as HTMLAudioElement;
      return !audio.paused && audio.error === null && audio.currentTime > past;
    }, landed + 0.5);

    // Live events through an EventSource opened with a ticket, while a call starts and stops.
    const ticket = await page.evaluate(
      async ({ gateway, key }) => {
        const response = await fetch(`${gateway}/api/v1/events/tickets`, { method: 'POST', headers: { authorization: `Bearer ${key}` } });
        const body = (await response.json()) as { ticket: string; expiresAt: string };
        const received: { type: string; deviceId?: string }[] = [];
        const opened = new Promise<string>((resolve) => {
          const source = new EventSource(`${gateway}/api/v1/events?ticket=${encodeURIComponent(body.ticket)}`);
          (window as unknown as { received: typeof received }).received = received;
          for (const type of ['CALLSTART', 'CALLSTOP']) {
            source.addEventListener(type, (message) => {
              const event = JSON.parse((message as MessageEvent).data as string) as { type: string; data: { deviceId?: string } };
              received.push({ type: event.type, ...(event.data.deviceId ? { deviceId: event.data.deviceId } : {}) });
            });
          }
          source.addEventListener('status', (message) => resolve(String((message as MessageEvent).data)), { once: true });
          source.addEventListener('error', () => resolve('error'), { once: true });
        });
        return { status: response.status, expiresAt: body.expiresAt, opened: await opened };
      },
      { gateway: gw.url, key },
    );
    assert.equal(ticket.status, 201);
    assert.ok(Date.parse(ticket.expiresAt) > Date.now(), ticket.expiresAt);
    assert.notEqual(ticket.opened, 'error', 'the stream opened');
    const call = async (query: string): Promise<void> => {
      const response = await fetch(`${gw.url}/webAPI.aspx?${query}`, { headers: { 'x-api-key': key } });
      assert.match(await response.text(), /<RESULTCODE>20<\/RESULTCODE>/);
    };
    await call('type=callstart&requestid=6161&deviceid=7003');
    await call('type=callstop&requestid=6162&deviceid=7003');
    await page.waitForFunction(() => {
      const received = (window as unknown as { received: { type: string; deviceId?: string }[] }).received;
      return ['CALLSTART', 'CALLSTOP'].every((type) => received.some((event) => event.type === type && event.deviceId === '7003'));
    });

    const leaked = requests.filter((url) => url.includes(key) || decodeURIComponent(url).includes(key));
    assert.deepEqual(leaked, [], 'the key is in no URL');
    assert.ok(requests.some((url) => url.startsWith(`${gw.url}/api/v1/events?ticket=`)), 'the stream was opened with a ticket');
  } finally {
    await page.close();
  }
});
