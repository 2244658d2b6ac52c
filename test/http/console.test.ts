/**
 * The console page's files as HTTP serves them: the page and every file it loads (the module
 * graph of its scripts included) come from this origin with the page's Content-Security-Policy and
 * the security headers, revalidate with an ETag, hold no inline script or style, and nothing but
 * those fixed files is reachable under /console/. A gateway built without the page says so.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import Fastify from 'fastify';
import { consoleContentSecurityPolicy, consolePlugin } from '../../src/http/console/plugin.js';
import { packageRoot } from '../../src/package-manifest.js';
import { ApiKeyStore } from '../../src/access/api-keys.js';
import { Gatekeeper } from '../../src/access/gatekeeper.js';
import { runKeysCommand } from '../../src/access/keys-cli.js';
import { startTestGateway, type TestGateway } from './gateway-harness.js';

let gw: TestGateway;

before(async () => {
  gw = await startTestGateway({ seed: false });
});
after(async () => {
  await gw?.close();
});

function assertPageHeaders(response: Response, type: RegExp): void {
  assert.match(response.headers.get('content-type') ?? '', type);
  assert.equal(response.headers.get('content-security-policy'), consoleContentSecurityPolicy);
  assert.equal(response.headers.get('x-frame-options'), 'DENY');
  assert.equal(response.headers.get('x-content-type-options'), 'nosniff');
  assert.equal(response.headers.get('referrer-policy'), 'no-referrer');
  assert.equal(response.headers.get('cache-control'), 'no-cache');
  assert.match(response.headers.get('etag') ?? '', /^"[A-Za-z0-9_-]{27}"$/);
}

test('the policy allows this origin only, and no inline code', () => {
  const directives = new Map(consoleContentSecurityPolicy.split('; ').map((d) => [d.split(' ')[0], d.split(' ').slice(1).join(' ')]));
  assert.equal(directives.get('default-src'), "'none'");
  for (const name of ['script-src', 'style-src', 'connect-src', 'media-src', 'img-src', 'form-action']) assert.equal(directives.get(name), "'self'", name);
  assert.equal(directives.get('frame-ancestors'), "'none'");
  assert.equal(directives.get('base-uri'), "'none'");
  assert.doesNotMatch(consoleContentSecurityPolicy, /unsafe|data:|\*|https?:/);
});

test('the page\'s scripts import only each other: the gateway reaches them through its public API alone', () => {
  const sources = path.join(packageRoot, 'web', 'src');
  const files = fs.readdirSync(sources).filter((name) => name.endsWith('.ts'));
  assert.ok(files.includes('console.ts'));
  for (const name of files) {
    for (const [, specifier] of fs.readFileSync(path.join(sources, name), 'utf8').matchAll(/^\s*(?:import|export)[^'"]*?from\s+['"]([^'"]+)['"]/gm)) {
      assert.match(specifier!, /^\.\/[a-z-]+\.js$/, `${name} imports ${specifier}`);
      assert.ok(files.includes(specifier!.slice(2).replace(/\.js$/, '.ts')), `${name} imports ${specifier}`);
    }
  }
});

test('GET / is the page, with its policy; it has no inline script, style or handler', async () => {
  const response = await fetch(`${gw.url}/`);
  assert.equal(response.status, 200);
  assertPageHeaders(response, /^text\/html; charset=utf-8$/);
  const html = await response.text();
  assert.match(html, /<script type="module" src="\/console\/console\.js"><\/script>/);
  assert.doesNotMatch(html, /<script(?![^>]*\bsrc=)[^>]*>/, 'no inline script');
  assert.doesNotMatch(html, /<style|\sstyle=/, 'no inline style');
  assert.doesNotMatch(html, /\son[a-z]+=/, 'no inline event handler');
  assert.doesNotMatch(html, /https?:\/\//, 'nothing from another origin');
  // Labels and links a person (and a screen reader) finds.
  for (const text of ['href="/docs"', 'href="/metrics"', '<label for="key-input">API key</label>', 'id="player-audio" controls']) assert.ok(html.includes(text), text);
});

test('every file the page loads, and every module its script imports, is served with the policy', async () => {
  const html = await (await fetch(`${gw.url}/`)).text();
  const referenced = [...html.matchAll(/(?:src|href)="(\/console\/[^"]+)"/g)].map((m) => m[1]!);
  assert.deepEqual(new Set(referenced), new Set(['/console/icon.svg', '/console/console.css', '/console/console.js']));
  const types: Record<string, RegExp> = { '.svg': /^image\/svg\+xml$/, '.css': /^text\/css; charset=utf-8$/, '.js': /^text\/javascript; charset=utf-8$/ };
  const seen = new Set<string>();
  const pending = [...referenced];
  while (pending.length > 0) {
    const file = pending.pop()!;
    if (seen.has(file)) continue;
    seen.add(file);
    const response = await fetch(`${gw.url}${file}`);
    assert.equal(response.status, 200, file);
    assertPageHeaders(response, types[path.extname(file)]!);
    const body = await response.text();
    if (file.endsWith('.js')) {
      assert.doesNotMatch(body, /innerHTML|outerHTML|insertAdjacentHTML|document\.write|eval\(|new Function/, `${file} builds no markup from text`);
      for (const m of body.matchAll(/\bfrom '\.\/([a-z-]+\.js)'/g)) pending.push(`/console/${m[1]}`);
    }
  }
  assert.ok(seen.size >= 7, `the module graph: ${[...seen].join(', ')}`);
});

test('an unchanged file is a 304 without a body; HEAD has the headers and no body', async () => {
  const first = await fetch(`${gw.url}/console/console.js`);
  const etag = first.headers.get('etag')!;
  const again = await fetch(`${gw.url}/console/console.js`, { headers: { 'if-none-match': etag } });
  assert.equal(again.status, 304);
  assert.equal(again.headers.get('etag'), etag);
  assert.equal((await again.arrayBuffer()).byteLength, 0);
  const head = await fetch(`${gw.url}/`, { method: 'HEAD' });
  assert.equal(head.status, 200);
  assert.equal(head.headers.get('content-security-policy'), consoleContentSecurityPolicy);
  assert.equal((await head.arrayBuffer()).byteLength, 0);
});

test('only the page\'s own files are under /console/', async () => {
  for (const probe of ['/console/', '/console/../package.json', '/console/%2e%2e/package.json', '/console/api.ts', '/console/console.js.map', '/console/x.js', '/index.html']) {
    const response = await fetch(`${gw.url}${probe}`);
    assert.equal(response.status, 404, probe);
    assert.match(response.headers.get('content-type') ?? '', /^application\/problem\+json/, probe);
  }
});

test('the page is not an operation of the API document', async () => {
  const document = (await (await fetch(`${gw.url}/openapi.json`)).json()) as { paths: Record<string, unknown> };
  assert.deepEqual(Object.keys(document.paths).filter((p) => p === '/' || p.startsWith('/console')), []);
});

test('the page is open when the API needs a key; the API still refuses without one', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'console-keys-'));
  const file = path.join(dir, 'keys.yaml');
  runKeysCommand(['create', '--name', 'console', '--scopes', '*', '--file', file], file);
  const keys = new ApiKeyStore({ file });
  const gatekeeper = new Gatekeeper({ open: false, keys, tokens: undefined, webApiNetworks: undefined, allowedOrigins: new Set() });
  const guarded = await startTestGateway({ seed: false }, {}, { sim: gw.sim, access: { gatekeeper, webApiQueryKeys: false, metricsAuth: false } });
  try {
    assert.equal((await fetch(`${guarded.url}/`)).status, 200);
    assert.equal((await fetch(`${guarded.url}/console/console.js`)).status, 200);
    assert.equal((await fetch(`${guarded.url}/api/v1/recordings?limit=1`)).status, 401);
  } finally {
    await guarded.close();
    keys.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('a gateway built without the page serves its API and says, at /, how to build it', async () => {
  const empty = fs.mkdtempSync(path.join(os.tmpdir(), 'console-unbuilt-'));
  const app = Fastify();
  try {
    await app.register(consolePlugin, { scriptsDir: empty });
    const response = await app.inject({ method: 'GET', url: '/' });
    assert.equal(response.statusCode, 503);
    assert.match(response.headers['content-type'] as string, /^application\/problem\+json/);
    assert.match(response.json<{ detail: string }>().detail, /npm run build/);
    assert.equal((await app.inject({ method: 'GET', url: '/console/console.css' })).statusCode, 404);
  } finally {
    await app.close();
    fs.rmSync(empty, { recursive: true, force: true });
  }
});
