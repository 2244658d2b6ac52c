/**
 * A single-recording export in a real player: Debian's Chromium, headless, driven by
 * playwright-core, loads each format in an <audio> element from the REST media route, as a web page
 * would. The element must know the recording's duration from the file, say the whole of it is
 * seekable, and seek near the end, which it does with Range requests.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { type Browser, type Page } from 'playwright-core';
import { launchChromium } from './chromium.js';
import { childText, elementsAt, parseXml } from '../../src/protocol/xml.js';
import { startTestGateway, type TestGateway } from './gateway-harness.js';


let gw: TestGateway;
let browser: Browser | undefined;
let page: Page;
const ranges: string[] = [];

before(async () => {
  gw = await startTestGateway({ seed: true });
  browser = await launchChromium();
  page = await browser.newPage();
  page.setDefaultTimeout(20_000);
  page.on('request', (request) => {
    const range = request.headers()['range'];
    if (range && request.url().includes('/media?')) ranges.push(`${new URL(request.url()).searchParams.get('format')} ${range}`);
  });
  // A page of the gateway's own origin: the media are same-origin to it.
  await page.goto(`${gw.url}/livez`);
});
after(async () => {
  await browser?.close();
  await gw?.close();
});

const recording = '10121978';

async function duration(): Promise<number> {
  const body = await (await fetch(`${gw.url}/webAPI.aspx?type=recordinginfo&requestid=1&ident=${recording}`)).text();
  return Number(childText(elementsAt(parseXml(body), 'RECORDINGS/RECORDING')[0]!, 'DURATION'));
}

for (const format of ['mp3', 'm4a', 'webm', 'opus', 'wav']) {
  test(`${format}: <audio> knows the duration and seeks near the end`, async () => {
    const expected = await duration();
    const seen = await page.evaluate(async (src) => {
      const audio = new Audio();
      audio.preload = 'metadata';
      const event = (name: string): Promise<void> =>
        new Promise((resolve, reject) => {
          audio.addEventListener(name, () => resolve(), { once: true });
          audio.addEventListener('error', () => reject(new Error(`media error ${audio.error?.code}: ${audio.error?.message}`)), { once: true });
        });
      const loaded = event('loadedmetadata');
      audio.src = src;
      await loaded;
      const duration = audio.duration;
      const seekableEnd = audio.seekable.length > 0 ? audio.seekable.end(audio.seekable.length - 1) : 0;
      const target = duration * 0.9;
      const seeked = event('seeked');
      audio.currentTime = target;
      await seeked;
      return { duration, seekableEnd, target, currentTime: audio.currentTime };
    }, `${gw.url}/api/v1/recordings/${recording}/media?format=${format}`);
    assert.ok(Number.isFinite(seen.duration), `${format}: a finite duration (${seen.duration})`);
    assert.ok(Math.abs(seen.duration - expected) <= 0.1, `${format}: ${seen.duration} s of ${expected} s`);
    assert.ok(Math.abs(seen.seekableEnd - seen.duration) <= 0.1, `${format}: seekable to ${seen.seekableEnd} of ${seen.duration}`);
    assert.ok(Math.abs(seen.currentTime - seen.target) <= 0.1, `${format}: at ${seen.currentTime} after seeking to ${seen.target}`);
    assert.ok(ranges.some((r) => r.startsWith(`${format} `)), `${format}: the player asked for ranges (${ranges.join(', ')})`);
  });
}
