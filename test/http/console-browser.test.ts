/**
 * The console page in a real browser (Debian's Chromium, headless, through playwright-core), on a
 * gateway in front of a seeded simulator: it loads with no error and no refused
 * Content-Security-Policy, shows the status, shows a call started through the WebAPI as it
 * happens, lists and searches recordings, and plays one. Then the same page on a gateway that
 * needs API keys: it asks for one, works once given one, and the key is in no URL it requests.
 *
 * Where the gateway gives signed links and event tickets (its OpenAPI document lists them), the
 * page must use them; before, it plays the media route and opens the stream as a caller let in
 * without a credential, and under keys those two parts wait for them.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { type Browser, type BrowserContext, type Page } from 'playwright-core';
import { launchChromium } from './chromium.js';
import axe from 'axe-core';
import { ApiKeyStore } from '../../src/access/api-keys.js';
import { Gatekeeper } from '../../src/access/gatekeeper.js';
import { runKeysCommand } from '../../src/access/keys-cli.js';
import { startTestGateway, type TestGateway } from './gateway-harness.js';

const linksPath = '/api/v1/recordings/{recordId}/links';
const ticketsPath = '/api/v1/events/tickets';

let gw: TestGateway;
let browser: Browser;
/** Whether this gateway gives signed links and event tickets, from its own document. */
let signedAccess: { links: boolean; tickets: boolean };

interface PageWatch {
  context: BrowserContext;
  page: Page;
  /** Every URL the page requested, media and event streams included. */
  requests: string[];
  /** Requests to another origin. */
  foreign: string[];
  /** Console errors and uncaught exceptions (a refused policy is a console error). */
  errors: string[];
  /** Answers of 400 and above, as `status METHOD path`: the browser logs each as an error. */
  refusals: string[];
  /** securitypolicyviolation events the page saw. */
  violations: () => Promise<string[]>;
}

async function openConsole(url: string): Promise<PageWatch> {
  const context = await browser.newContext();
  // Counted from the first script on, before the page's own: any refusal of the policy.
  await context.addInitScript(() => {
    const seen: string[] = [];
    (window as unknown as { cspViolations: string[] }).cspViolations = seen;
    document.addEventListener('securitypolicyviolation', (event) => seen.push(`${event.violatedDirective} ${event.blockedURI}`));
  });
  const page = await context.newPage();
  page.setDefaultTimeout(20_000);
  const watch: PageWatch = {
    context,
    page,
    requests: [],
    foreign: [],
    errors: [],
    refusals: [],
    violations: () => page.evaluate(() => [...(window as unknown as { cspViolations: string[] }).cspViolations]),
  };
  page.on('request', (request) => {
    watch.requests.push(request.url());
    if (!request.url().startsWith(`${url}/`)) watch.foreign.push(request.url());
  });
  page.on('response', (response) => {
    if (response.status() >= 400) watch.refusals.push(`${response.status()} ${response.request().method()} ${new URL(response.url()).pathname}`);
  });
  page.on('console', (message) => {
    if (message.type() === 'error') watch.errors.push(message.text());
  });
  page.on('pageerror', (error) => watch.errors.push(error.message));
  await page.goto(`${url}/`);
  return watch;
}

/**
 * The answers of 400 and above a page may meet: those a gateway without links and tickets gives
 * the page's first try (404, then it falls back), and `more`.
 */
function expectedRefusals(more: RegExp[] = []): RegExp[] {
  return [
    ...(signedAccess.links ? [] : [/^404 POST \/api\/v1\/recordings\/\d+\/links$/]),
    ...(signedAccess.tickets ? [] : [/^404 POST \/api\/v1\/events\/tickets$/]),
    ...more,
  ];
}

/** Every error the browser reported is a failed load of an expected refusal, and nothing else. */
function assertOnlyRefusals(watch: PageWatch, expected: RegExp[]): void {
  assert.deepEqual(watch.refusals.filter((refusal) => !expected.some((pattern) => pattern.test(refusal))), [], 'no unexpected refusal');
  const loadErrors = watch.errors.filter((error) => /^Failed to load resource: the server responded with a status of \d+/.test(error));
  assert.deepEqual(watch.errors.filter((error) => !loadErrors.includes(error)), [], 'no console error');
  assert.ok(loadErrors.length <= watch.refusals.length, `${loadErrors.length} load errors for ${watch.refusals.length} refusals`);
}

/** The WebAPI call a CTI integration makes, from outside the browser. */
async function webApi(url: string, query: string, headers: Record<string, string> = {}): Promise<string> {
  const response = await fetch(`${url}/webAPI.aspx?${query}`, { headers });
  const text = await response.text();
  assert.equal(response.status, 200, text);
  assert.match(text, /<RESULTCODE>20<\/RESULTCODE>/, text);
  return text;
}

/** Until the page's audio has played past `seconds` of its recording, and is still playing. */
async function playsPast(page: Page, seconds: number): Promise<void> {
  await page.waitForFunction(
    (past) => {
      const audio = document.getElementById('player-audio') as HTMLAudioElement;
      return !audio.paused && audio.currentTime > past;
    },
    seconds,
    { timeout: 20_000 },
  );
}

before(async () => {
  gw = await startTestGateway({ seed: true });
  const document = (await (await fetch(`${gw.url}/openapi.json`)).json()) as { paths: Record<string, unknown> };
  signedAccess = { links: linksPath in document.paths, tickets: ticketsPath in document.paths };
  // A headless browser plays without a speaker; the player starts on a click, a user's gesture.
  browser = await launchChromium();
});
after(async () => {
  await browser?.close();
  await gw?.close();
});

test('the console shows status, live events of a WebAPI call, recordings, and plays one', async () => {
  const watch = await openConsole(gw.url);
  const { page } = watch;
  try {
    // Status: the core through /readyz, the pool through /metrics, SYSTEMSTATUS through REST.
    await page.locator('#status-core dd .state-up').waitFor();
    assert.match(await page.locator('#status-pool').innerText(), /Core connections\s+\d+ in use, \d+ open of 2; \d+ waiting/);
    assert.match(await page.locator('#status-system').innerText(), /Recording disk free\s+[\d.]+ [MGTP]B of/);

    // Recordings: the newest page of the seeded ones.
    const rows = page.locator('#recordings-body tr');
    await rows.first().waitFor();
    assert.equal(await rows.count(), 25);
    assert.match(await page.locator('#recordings-message').innerText(), /25 recordings shown; more are available/);
    await page.getByRole('button', { name: 'More recordings' }).click();
    await page.waitForFunction(() => document.querySelectorAll('#recordings-body tr').length === 50);
    const ids = await page.locator('#recordings-body tr').evaluateAll((trs) => trs.map((tr) => Number(tr.getAttribute('data-record-id'))));
    assert.equal(new Set(ids).size, 50, 'two pages, no repeat');

    // Live events: a call started and stopped through the WebAPI, with markup in its ANI.
    await page.locator('#events-state', { hasText: /^connected$/ }).waitFor();
    await webApi(gw.url, `type=callstart&requestid=4242&deviceid=7001&ani=${encodeURIComponent('<i>x</i>')}`);
    const started = page.locator('#events-list li[data-type="CALLSTART"]', { hasText: 'device 7001' });
    await started.waitFor();
    const text = await started.innerText();
    assert.match(text, /CALLSTART device 7001/);
    assert.match(text, /from <i>x<\/i>/, 'the ANI shows as text');
    assert.match(text, /request 4242/);
    assert.equal(await page.locator('#events-list i').count(), 0, 'no markup made of event data');
    await webApi(gw.url, 'type=callstop&requestid=4243&deviceid=7001');
    const stopped = page.locator('#events-list li[data-type="RECORDINGSTOPPED"]', { hasText: 'device 7001' });
    await stopped.waitFor();
    await page.locator('#events-list li[data-type="CALLSTOP"]', { hasText: 'device 7001' }).waitFor();
    // The saved recording: the list offers to show it, and then has it first.
    const saved = /recording (\d+)/.exec(await stopped.innerText())?.[1];
    assert.ok(saved, 'RECORDINGSTOPPED names its recording');
    await page.getByRole('button', { name: 'Show new recordings' }).click();
    await page.locator(`#recordings-body tr:first-child[data-record-id="${saved}"]`).waitFor();
    assert.ok(await page.locator('#recordings-news').isHidden());

    // Search: one device's recordings only.
    await page.getByLabel('Device ID').fill('7001');
    await page.getByRole('button', { name: 'Search', exact: true }).click();
    await page.waitForFunction(() => /recordings? shown|No recordings/.test(document.getElementById('recordings-message')?.textContent ?? ''));
    const devices = await page.locator('#recordings-body tr td:nth-child(4)').allInnerTexts();
    assert.ok(devices.length > 0, 'device 7001 has recordings');
    for (const device of devices) assert.match(device, /^7001\b/);

    // A time range and a USER field: the manual's CALLLIST example, device 1111 in August 2011.
    await page.getByRole('button', { name: 'Clear' }).click();
    await page.getByLabel('Device ID').fill('1111');
    await page.locator('select[name="userField"]').selectOption('user3');
    await page.getByLabel('User field value').fill('12345');
    await page.getByLabel('From').fill('2011-08-01T00:00');
    await page.getByLabel('To').fill('2011-09-01T00:00');
    await page.getByRole('button', { name: 'Search', exact: true }).click();
    await page.locator('#recordings-message', { hasText: /recordings? shown|No recordings|\d{3}:/ }).waitFor();
    const startTimes = await page.locator('#recordings-body tr td:nth-child(2)').allInnerTexts();
    assert.equal(startTimes.length, 6, `the manual's six: ${await page.locator('#recordings-message').innerText()}`);
    for (const text of startTimes) assert.match(text, /^8\/\d{1,2}\/2011,/);
    assert.ok((await page.locator('#recordings-body').innerText()).includes('13101'), 'recording 13101 among them');

    // Play the longest seeded recording (600 s) from the list, and seek in it.
    await page.getByRole('button', { name: 'Clear' }).click();
    await page.locator('select[name="userField"]').selectOption('user2');
    await page.getByLabel('User field value').fill('10121901');
    await page.getByRole('button', { name: 'Search', exact: true }).click();
    const row = page.locator('#recordings-body tr[data-record-id="10121901"]');
    await row.waitFor();
    assert.equal(await page.locator('#recordings-body tr').count(), 1);
    assert.equal(await row.locator('td').nth(1).innerText(), '10:00');
    await row.getByRole('button', { name: 'Play recording 10121901' }).click();
    await playsPast(page, 0.5);
    const source = await page.locator('#player-audio').evaluate((audio: HTMLAudioElement) => audio.currentSrc);
    if (signedAccess.links) assert.match(source, new RegExp(`^${gw.url}/api/v1/recordings/10121901/media\\?format=wav&expires=\\d+&signature=`), 'a signed link where the gateway gives them');
    else assert.equal(source, `${gw.url}/api/v1/recordings/10121901/media?format=wav`);
    const duration = await page.locator('#player-audio').evaluate((audio: HTMLAudioElement) => audio.duration);
    assert.ok(Math.abs(duration - 600) < 1, `duration ${duration}`);
    await page.locator('#player-audio').evaluate((audio: HTMLAudioElement) => {
      audio.currentTime = 300;
    });
    await playsPast(page, 300.5);

    assert.deepEqual(watch.foreign, [], 'nothing from another origin');
    assert.deepEqual(await watch.violations(), [], 'no Content-Security-Policy violation');
    assertOnlyRefusals(watch, expectedRefusals());
  } finally {
    await watch.context.close();
  }
});

test('with API keys the console asks for one, works once given one, and puts it in no URL', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'console-keys-'));
  const file = path.join(dir, 'keys.yaml');
  const key = runKeysCommand(['create', '--name', 'console', '--scopes', 'status,recordings:read,recordings:export,events,calls', '--file', file], file).split('\n')[0]!;
  assert.match(key, /^upk_/);
  const keys = new ApiKeyStore({ file });
  const gatekeeper = new Gatekeeper({ open: false, keys, tokens: undefined, webApiNetworks: undefined, allowedOrigins: new Set() });
  const guarded = await startTestGateway({ seed: false }, {}, { sim: gw.sim, access: { gatekeeper, webApiQueryKeys: false, metricsAuth: false } });
  const watch = await openConsole(guarded.url);
  const { page } = watch;
  const authorized: string[] = [];
  page.on('request', (request) => {
    if (request.headers()['authorization'] === `Bearer ${key}`) authorized.push(new URL(request.url()).pathname);
  });
  try {
    const keyInput = page.getByRole('textbox', { name: 'API key' });
    await keyInput.waitFor();
    assert.match(await page.locator('#access-reason').innerText(), /needs an API key/);
    assert.equal(await page.locator('#recordings-body tr').count(), 0);
    // Typed as a person does, and sent with Enter.
    await keyInput.fill(key);
    await keyInput.press('Enter');
    await page.locator('#recordings-body tr').first().waitFor();
    assert.ok(await page.locator('#access').isHidden(), 'the key form is put away');
    await page.locator('#status-system dd').first().waitFor();
    assert.match(await page.locator('#status-system').innerText(), /Recording disk free/);
    assert.ok(authorized.includes('/api/v1/recordings'), 'recordings asked with the key as a Bearer header');
    assert.ok(authorized.includes('/api/v1/system/status'));
    assert.equal(await page.evaluate(() => sessionStorage.getItem('uptivity-gateway.api-key')), key, 'kept for this tab');

    if (signedAccess.links && signedAccess.tickets) {
      await page.locator('#events-state', { hasText: /^connected$/ }).waitFor();
      await webApi(guarded.url, 'type=callstart&requestid=5151&deviceid=7002', { 'x-api-key': key });
      await page.locator('#events-list li[data-type="CALLSTART"]', { hasText: 'device 7002' }).waitFor();
      await webApi(guarded.url, 'type=callstop&requestid=5152&deviceid=7002', { 'x-api-key': key });
      // A seeded recording of 600 s (the newest ones may be a call of a second, over before it is seen playing).
      await page.locator('select[name="userField"]').selectOption('user2');
      await page.getByLabel('User field value').fill('10121901');
      await page.getByRole('button', { name: 'Search', exact: true }).click();
      await page.getByRole('button', { name: 'Play recording 10121901' }).click();
      await playsPast(page, 0.5);
      assert.match(await page.locator('#player-audio').evaluate((audio: HTMLAudioElement) => audio.currentSrc), /&signature=/);
    } else {
      t.diagnostic(`events and playback under keys wait for the gateway's tickets and signed links (links: ${signedAccess.links}, tickets: ${signedAccess.tickets})`);
    }

    // A reload keeps the key for this tab; "Forget key" drops it and the page asks again.
    await page.reload();
    await page.locator('#recordings-body tr').first().waitFor();
    assert.ok(await page.locator('#access').isHidden());
    await page.getByRole('button', { name: 'Forget key' }).click();
    await keyInput.waitFor();
    assert.equal(await page.evaluate(() => sessionStorage.getItem('uptivity-gateway.api-key')), null);

    const leaked = watch.requests.filter((url) => url.includes(key) || decodeURIComponent(url).includes(key));
    assert.deepEqual(leaked, [], 'the key is in no URL');
    assert.ok(watch.requests.length > 10, `requests seen: ${watch.requests.length}`);
    assert.deepEqual(watch.foreign, []);
    assert.deepEqual(await watch.violations(), []);
    // Before it has a key, the page meets 401s; the stream and the media route too while the
    // gateway gives no tickets and links.
    assertOnlyRefusals(
      watch,
      expectedRefusals([
        /^401 (GET|POST) \/(api\/v1\/|metrics$)/,
        ...(signedAccess.tickets ? [] : [/^401 GET \/api\/v1\/events$/]),
      ]),
    );
  } finally {
    await watch.context.close();
    await guarded.close();
    keys.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('the feed comes back after the network does, with a new ticket, resuming after the last event it saw', async (t) => {
  if (!signedAccess.tickets) return t.skip('the gateway gives no event tickets yet: the page opens the stream directly');
  const watch = await openConsole(gw.url);
  const { page } = watch;
  try {
    await page.locator('#events-state', { hasText: /^connected$/ }).waitFor();
    await webApi(gw.url, 'type=callstart&requestid=7171&deviceid=7005');
    await page.locator('#events-list li[data-type="CALLSTART"]', { hasText: 'device 7005' }).waitFor();
    const streamsBefore = watch.requests.filter((url) => url.startsWith(`${gw.url}/api/v1/events?`));
    assert.equal(streamsBefore.length, 1);
    assert.match(streamsBefore[0]!, /^[^?]+\?ticket=[^&]+$/, 'the first stream: a ticket, nothing to resume');

    // The network goes away (the browser offline, the stream's connection cut): the stream fails,
    // and the call's stop happens meanwhile.
    await watch.context.setOffline(true);
    gw.app.server.closeAllConnections();
    await page.locator('#events-state', { hasText: /reconnecting|not connected/ }).waitFor();
    await webApi(gw.url, 'type=callstop&requestid=7172&deviceid=7005');
    await watch.context.setOffline(false);

    // Back: a new ticket, the stream resumed after the last event seen, and the stop replayed.
    await page.locator('#events-list li[data-type="CALLSTOP"]', { hasText: 'device 7005' }).waitFor({ timeout: 40_000 });
    const streams = watch.requests.filter((url) => url.startsWith(`${gw.url}/api/v1/events?`));
    const resumed = streams.at(-1)!;
    const ticketOf = (url: string): string | null => new URL(url).searchParams.get('ticket');
    assert.ok(ticketOf(resumed) && ticketOf(resumed) !== ticketOf(streamsBefore[0]!), 'a fresh ticket');
    assert.match(new URL(resumed).searchParams.get('lastEventId') ?? '', /^\d+$/, 'resumed after the last event seen');
    assert.equal(await page.locator('#events-list li[data-type="CALLSTART"]', { hasText: 'device 7005' }).count(), 1, 'no event shown twice');
    assert.equal(await page.locator('#events-list li.gap').count(), 0, 'nothing missed');
    await page.locator('#events-state', { hasText: /^connected$/ }).waitFor();
  } finally {
    await watch.context.close();
  }
});

test('a key without some scopes: each part of the console says what it may not do, and the rest works', async (t) => {
  if (!signedAccess.links || !signedAccess.tickets) return t.skip('the gateway gives no signed links or event tickets yet');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'console-scopes-'));
  const file = path.join(dir, 'keys.yaml');
  const key = runKeysCommand(['create', '--name', 'reader', '--scopes', 'recordings:read', '--file', file], file).split('\n')[0]!;
  const keys = new ApiKeyStore({ file });
  const gatekeeper = new Gatekeeper({ open: false, keys, tokens: undefined, webApiNetworks: undefined, allowedOrigins: new Set() });
  const guarded = await startTestGateway({ seed: false }, {}, { sim: gw.sim, access: { gatekeeper, webApiQueryKeys: false, metricsAuth: true } });
  const watch = await openConsole(guarded.url);
  const { page } = watch;
  try {
    const keyInput = page.getByRole('textbox', { name: 'API key' });
    await keyInput.fill(key);
    await page.getByRole('button', { name: 'Use this key' }).click();
    await page.locator('#recordings-body tr').first().waitFor();
    await page.locator('#status-system dd.refused').waitFor();
    assert.match(await page.locator('#status-system').innerText(), /Not allowed: This needs the scope status/);
    assert.match(await page.locator('#status-pool').innerText(), /Not allowed: This needs the scope metrics/);
    await page.locator('#events-state', { hasText: /needs the scope events/ }).waitFor();
    await page.locator('#recordings-body tr button').first().click();
    await page.locator('#player-message', { hasText: /needs the scope recordings:export/ }).waitFor();
    assert.equal(await page.locator('#player-audio').getAttribute('src'), null, 'nothing to play');
    // The tickets route is asked once: a refusal is not retried until the key changes.
    await page.waitForTimeout(2500);
    assert.equal(watch.refusals.filter((r) => r === '403 POST /api/v1/events/tickets').length, 1);
    assert.deepEqual(await watch.violations(), []);
  } finally {
    await watch.context.close();
    await guarded.close();
    keys.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('a link that expires while the player is paused is asked for again, and playback goes on from the same place', async (t) => {
  if (!signedAccess.links) return t.skip('the gateway gives no signed links yet');
  const watch = await openConsole(gw.url);
  const { page } = watch;
  const asked: unknown[] = [];
  // Links of 2 s instead of the page's 10 minutes, so that the wait is short.
  await page.route('**/api/v1/recordings/*/links', async (route) => {
    const body = JSON.parse(route.request().postData() ?? '{}') as Record<string, unknown>;
    asked.push(body);
    await route.continue({ postData: JSON.stringify({ ...body, expiresIn: 2 }) });
  });
  try {
    await page.locator('select[name="userField"]').selectOption('user2');
    await page.getByLabel('User field value').fill('10121901');
    await page.getByRole('button', { name: 'Search', exact: true }).click();
    await page.getByRole('button', { name: 'Play recording 10121901' }).click();
    await playsPast(page, 0.3);
    assert.deepEqual(asked, [{ format: 'wav', expiresIn: 600 }], 'the page asks for 10 minutes');
    const first = await page.locator('#player-audio').evaluate((audio: HTMLAudioElement) => audio.currentSrc);
    await page.locator('#player-audio').evaluate((audio: HTMLAudioElement) => audio.pause());
    await page.waitForTimeout(3000);
    // Far past what is buffered: the element must fetch with its expired link, and is refused.
    await page.locator('#player-audio').evaluate((audio: HTMLAudioElement) => {
      audio.currentTime = 550;
      void audio.play();
    });
    await playsPast(page, 550.3);
    assert.equal(asked.length, 2, 'a second link');
    assert.notEqual(await page.locator('#player-audio').evaluate((audio: HTMLAudioElement) => audio.currentSrc), first);
    assert.ok(watch.refusals.some((r) => /^403 GET \/api\/v1\/recordings\/10121901\/media$/.test(r)), `the expired link was refused: ${watch.refusals.join(', ')}`);
    assert.equal(await page.locator('#player-message').innerText(), '');
  } finally {
    await watch.context.close();
  }
});

test('the console has no accessibility violation axe-core finds (WCAG 2.1 A and AA), with its key form, events, recordings and player shown', async () => {
  const watch = await openConsole(gw.url);
  const { page } = watch;
  try {
    await page.locator('#recordings-body tr').first().waitFor();
    await page.locator('#events-state', { hasText: /^connected$/ }).waitFor();
    await webApi(gw.url, 'type=callstart&requestid=8181&deviceid=7006');
    await webApi(gw.url, 'type=callstop&requestid=8182&deviceid=7006');
    await page.locator('#events-list li[data-type="RECORDINGSTOPPED"]', { hasText: 'device 7006' }).waitFor();
    await page.locator('#recordings-news button').waitFor();
    await page.locator('#recordings-body tr button').nth(3).click();
    await page.locator('#player-title', { hasText: /^Recording \d+/ }).waitFor();
    // The key form too, as a gateway that needs a key shows it.
    await page.evaluate(() => {
      document.getElementById('access')!.hidden = false;
    });
    // Through the DevTools protocol, which the page's policy does not govern (nor should it).
    await page.evaluate(axe.source);
    const results = await page.evaluate(() =>
      (window as unknown as { axe: typeof axe }).axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] } }),
    );
    const violations = results.violations.map((v) => `${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(' ')).join(', ')})`);
    assert.deepEqual(violations, []);
    assert.ok(results.passes.length > 10, `${results.passes.length} rules passed`);
  } finally {
    await watch.context.close();
  }
});

test('the console works from the keyboard alone: Tab to the search, Enter to search, Tab to a Play button, Enter to play', async () => {
  const watch = await openConsole(gw.url);
  const { page } = watch;
  /** Tab until the focus is on what `matches` says (at most 60 presses), and say where it is. */
  const tabTo = async (matches: (element: Element) => boolean, what: string): Promise<void> => {
    for (let presses = 0; presses < 60; presses++) {
      await page.keyboard.press('Tab');
      const here = await page.evaluateHandle(() => document.activeElement);
      if (await here.evaluate(matches)) return;
    }
    assert.fail(`Tab never reached ${what}`);
  };
  try {
    await page.locator('#recordings-body tr').first().waitFor();
    await tabTo((element) => element.getAttribute('name') === 'deviceId', 'the Device ID field');
    await page.keyboard.type('7009');
    await page.keyboard.press('Enter');
    await page.waitForFunction(() => {
      const devices = [...document.querySelectorAll('#recordings-body tr td:nth-child(4)')];
      return devices.length > 0 && devices.every((td) => td.textContent?.startsWith('7009'));
    });
    await tabTo((element) => element.tagName === 'BUTTON' && /^Play recording \d+$/.test(element.getAttribute('aria-label') ?? ''), 'a Play button');
    const label = await page.evaluate(() => document.activeElement!.getAttribute('aria-label'));
    await page.keyboard.press('Enter');
    await page.locator('#player-title', { hasText: `Recording ${label!.replace('Play recording ', '')} ` }).waitFor();
    await playsPast(page, 0.3);
  } finally {
    await watch.context.close();
  }
});
