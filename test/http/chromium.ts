/**
 * Debian's Chromium, driven by playwright-core, for the tests that need a real browser. Not a skip
 * when it is missing: CI installs it (.ci/run), and a missing browser must not pass for a green test.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { chromium, type Browser } from 'playwright-core';

const chromiumPath = process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium';

export async function launchChromium(args: string[] = []): Promise<Browser> {
  assert.ok(fs.existsSync(chromiumPath), `Chromium is not installed at ${chromiumPath}: apt-get install chromium (or set CHROMIUM_PATH)`);
  return chromium.launch({ executablePath: chromiumPath, args });
}
