/**
 * Swagger UI in a real browser, as a person uses it: Debian's Chromium, headless, driven by
 * playwright-core, opens /docs on a gateway in front of a seeded simulator, finds every operation,
 * tries GET /api/v1/devices and the WebAPI's GET, and sees the core's answers. The page must need
 * nothing but the gateway: a request to any other origin, or anything the browser reports as an
 * error (a refused Content-Security-Policy among them), fails the test.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { type Browser, type Page } from 'playwright-core';
import { launchChromium } from './chromium.js';
import { ApiKeyStore } from '../../src/access/api-keys.js';
import { Gatekeeper } from '../../src/access/gatekeeper.js';
import { runKeysCommand } from '../../src/access/keys-cli.js';
import { startTestGateway, type TestGateway } from './gateway-harness.js';


let gw: TestGateway;
let browser: Browser | undefined;
let page: Page;
const foreignRequests: string[] = [];
const browserErrors: string[] = [];

before(async () => {
  gw = await startTestGateway({ seed: true });
  browser = await launchChromium();
  page = await browser.newPage();
  page.setDefaultTimeout(20_000);
  page.on('request', (request) => {
    if (!request.url().startsWith(`${gw.url}/`)) foreignRequests.push(request.url());
  });
  page.on('console', (message) => {
    if (message.type() === 'error') browserErrors.push(message.text());
  });
  page.on('pageerror', (error) => browserErrors.push(error.message));
});
after(async () => {
  await browser?.close();
  await gw?.close();
});

test('/docs lists every operation of the document', async () => {
  const document = (await (await fetch(`${gw.url}/openapi.json`)).json()) as { paths: Record<string, Record<string, { tags: string[] }>> };
  const operations = Object.values(document.paths).flatMap((item) => Object.values(item));
  await page.goto(`${gw.url}/docs`);
  await page.locator('.opblock').first().waitFor();
  assert.equal(await page.locator('.opblock').count(), operations.length);
  for (const tag of new Set(operations.flatMap((operation) => operation.tags))) {
    assert.equal(await page.locator(`#operations-tag-${tag}`).count(), 1, `the ${tag} group is shown`);
  }
});

/** Expand an operation, Try it out, Execute: the status and body the page shows, and what the core received. */
async function tryItOut(operationId: string): Promise<{ status: string; body: string; received: string[] }> {
  const operation = page.locator(`#${operationId}`);
  await operation.locator('.opblock-summary-control').click();
  await operation.getByRole('button', { name: 'Try it out' }).click();
  const sent = gw.received().length;
  await operation.getByRole('button', { name: 'Execute' }).click();
  const response = operation.locator('.live-responses-table tr.response');
  const status = response.locator('.response-col_status').first();
  await status.waitFor();
  const body = await response.locator('.response-col_description .highlight-code').first().innerText();
  return { status: (await status.innerText()).trim(), body, received: gw.received().slice(sent) };
}

test('GET /api/v1/devices: Try it out, Execute, and the answer is rendered', async () => {
  const { status, body, received } = await tryItOut('operations-devices-getDevices');
  assert.equal(status, '200');
  assert.match(body, /"devices": \[/);
  assert.match(body, /"deviceId": "1111"/);
  assert.ok(
    received.some((xml) => /<TYPE>DEVICELIST<\/TYPE>/.test(xml)),
    'the core received the DEVICELIST the page asked for',
  );
});

test('GET /webAPI.aspx: the command\'s parameters, given as an object, reach the core as elements', async () => {
  const { status, body, received } = await tryItOut('operations-webapi-callWebApi');
  assert.equal(status, '200');
  assert.match(body, /<RESULTTYPE>API_OK<\/RESULTTYPE>/);
  assert.match(received.join(''), /<TYPE>DEVICESTATUS<\/TYPE>\s*<REQUESTID>8<\/REQUESTID>\s*<DEVICEID>1111<\/DEVICEID>/);
});

test('the page loaded nothing from elsewhere and the browser reported no error', () => {
  assert.deepEqual(foreignRequests, []);
  assert.deepEqual(browserErrors, []);
});

test('Authorize with an API key: refused (401) before, answered (200) after', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'swagger-keys-'));
  const file = path.join(dir, 'keys.yaml');
  const key = runKeysCommand(['create', '--name', 'swagger', '--scopes', 'status', '--file', file], file).split('\n')[0]!;
  const keys = new ApiKeyStore({ file });
  const gatekeeper = new Gatekeeper({ open: false, keys, tokens: undefined, webApiNetworks: undefined, allowedOrigins: new Set() });
  const guarded = await startTestGateway({ seed: false }, {}, { sim: gw.sim, access: { gatekeeper, webApiQueryKeys: false, metricsAuth: false } });
  const guardedPage = await browser!.newPage();
  guardedPage.setDefaultTimeout(20_000);
  try {
    await guardedPage.goto(`${guarded.url}/docs`);
    const operation = guardedPage.locator('#operations-devices-getDevices');
    await operation.locator('.opblock-summary-control').click();
    await operation.getByRole('button', { name: 'Try it out' }).click();
    const execute = async (): Promise<string> => {
      await operation.getByRole('button', { name: 'Execute' }).click();
      const status = operation.locator('.live-responses-table tr.response .response-col_status').first();
      await status.waitFor();
      const text = (await status.innerText()).trim();
      await operation.getByRole('button', { name: 'Clear' }).click();
      return text;
    };
    assert.equal(await execute(), '401');
    await guardedPage.locator('.auth-wrapper .authorize').click();
    const dialog = guardedPage.locator('.modal-ux');
    const scheme = dialog.locator('.auth-container').filter({ hasText: 'X-API-Key' });
    await scheme.locator('input').fill(key);
    await scheme.locator('button.authorize').click();
    await dialog.locator('button.btn-done').first().click();
    assert.equal(await execute(), '200');
  } finally {
    await guardedPage.close();
    await guarded.close();
    keys.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
