/**
 * API keys and the access rule: keys made by the CLI are stored as hashes only, found by their id,
 * refused alike whether unknown, revoked or expired (only the log tells them apart), picked up
 * without a restart, held to their networks; the rule's protected mode, networks and cross-site
 * refusal.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { ApiKeyStore, KeysFileError, networkList, parseKeysFile, readKeysFile } from '../../src/access/api-keys.js';
import { Gatekeeper, protectedModeMessage, type Presented } from '../../src/access/gatekeeper.js';
import { KeysCommandError, runKeysCommand } from '../../src/access/keys-cli.js';
import { AccessRefused, type Principal } from '../../src/access/principal.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'api-keys-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));
let files = 0;
const newFile = (ext = 'yaml'): string => path.join(dir, `keys-${++files}.${ext}`);

/** The key a `keys create` printed. */
function create(file: string, args: string[], now?: Date): string {
  return runKeysCommand(['create', ...args, '--file', file], file, now).split('\n')[0]!;
}

function refusal(action: () => unknown): AccessRefused {
  try {
    action();
  } catch (error) {
    assert.ok(error instanceof AccessRefused, String(error));
    return error;
  }
  assert.fail('not refused');
}

async function until(check: () => boolean, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) assert.fail('timed out');
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe('keys', () => {
  test('a created key works, and only its hash is in the file (YAML or JSON)', () => {
    for (const ext of ['yaml', 'json']) {
      const file = newFile(ext);
      const key = create(file, ['--name', 'crm', '--scopes', 'calls,recordings:read']);
      assert.match(key, /^upk_[a-z0-9]{10}_[A-Za-z0-9_-]{43}$/);
      const text = fs.readFileSync(file, 'utf8');
      assert.ok(!text.includes(key.slice(15)), 'the secret is not stored');
      assert.match(text, /sha256:[0-9a-f]{64}/);
      assert.equal(fs.statSync(file).mode & 0o777, 0o600);
      if (ext === 'json') assert.doesNotThrow(() => JSON.parse(text));
      const store = new ApiKeyStore({ file });
      try {
        const principal = store.authenticate(key, '192.0.2.7');
        assert.deepEqual({ name: principal.name, kind: principal.kind, scopes: [...principal.scopes] }, { name: 'crm', kind: 'key', scopes: ['calls', 'recordings:read'] });
      } finally {
        store.close();
      }
    }
  });

  test('unknown, wrong secret, revoked and expired are refused alike; only the detail says which', async () => {
    const file = newFile();
    const now = new Date('2026-12-01T00:00:00Z');
    const good = create(file, ['--name', 'good', '--scopes', 'status'], now);
    const doomed = create(file, ['--name', 'doomed', '--scopes', 'status'], now);
    const short = create(file, ['--name', 'short', '--scopes', 'status', '--expires', '2026-12-02T00:00:00Z'], now);
    let clock = now.getTime();
    const store = new ApiKeyStore({ file, now: () => clock, watchIntervalMs: 50 });
    try {
      const wrongSecret = good.slice(0, -4) + (good.endsWith('AAAA') ? 'BBBB' : 'AAAA');
      const unknownId = `upk_zzzzzzzzzz_${good.slice(15)}`;
      runKeysCommand(['revoke', 'doomed', '--file', file], file);
      await until(() => refusalOrNone(() => store.authenticate(doomed, '127.0.0.1')) !== undefined);
      clock = Date.parse('2026-12-03T00:00:00Z');
      const refusals = [wrongSecret, unknownId, doomed, short, 'not-a-key', ''].map((k) => refusal(() => store.authenticate(k, '127.0.0.1')));
      for (const r of refusals) {
        assert.equal(r.status, 401);
        assert.equal(r.message, 'The API key is not valid.');
      }
      assert.deepEqual(
        refusals.slice(0, 4).map((r) => r.detail.replace(/ at .*/, '')),
        ['a wrong secret for the key good', 'no key has the id zzzzzzzzzz', 'the key doomed was revoked', 'the key short expired'],
      );
      assert.equal(store.authenticate(good, '127.0.0.1').name, 'good');
    } finally {
      store.close();
    }
  });

  test('a key made while the gateway runs works within a second; a broken file keeps the keys it had', async () => {
    const file = newFile();
    const reloads: string[] = [];
    const store = new ApiKeyStore({ file, watchIntervalMs: 50, onReload: (o) => reloads.push('error' in o ? `error ${o.error.message}` : `keys ${o.keys}`) });
    try {
      assert.equal(store.configured, false);
      const key = create(file, ['--name', 'late', '--scopes', '*']);
      await until(() => store.configured);
      assert.equal(store.authenticate(key, '127.0.0.1').name, 'late');
      fs.writeFileSync(file, 'keys: [ {name: broken');
      await until(() => reloads.some((r) => r.startsWith('error')));
      assert.equal(store.authenticate(key, '127.0.0.1').name, 'late');
    } finally {
      store.close();
    }
  });

  test('a key held to networks is refused from elsewhere (403), IPv4-mapped addresses included', () => {
    const file = newFile();
    const key = create(file, ['--name', 'branch', '--scopes', 'calls', '--cidrs', '10.0.0.0/8,2001:db8::/32']);
    const store = new ApiKeyStore({ file });
    try {
      assert.equal(store.authenticate(key, '10.1.2.3').name, 'branch');
      assert.equal(store.authenticate(key, '::ffff:10.1.2.3').name, 'branch');
      assert.equal(store.authenticate(key, '2001:db8::5').name, 'branch');
      const r = refusal(() => store.authenticate(key, '192.0.2.1'));
      assert.equal(r.status, 403);
    } finally {
      store.close();
    }
  });

  test('the CLI lists, refuses what the file cannot hold, and writes nothing then', () => {
    const file = newFile();
    create(file, ['--name', 'a', '--scopes', 'status', '--rate-limit', '600/60000']);
    assert.throws(() => create(file, ['--name', 'a', '--scopes', 'status']), KeysCommandError);
    const before = fs.readFileSync(file, 'utf8');
    assert.throws(() => create(file, ['--name', 'b', '--scopes', 'status,root']), KeysFileError);
    assert.throws(() => create(file, ['--name', 'c', '--scopes', 'status', '--cidrs', '10.0.0.0/33']), KeysFileError);
    assert.throws(() => create(file, ['--name', 'bad name', '--scopes', 'status']), KeysFileError);
    assert.equal(fs.readFileSync(file, 'utf8'), before);
    assert.match(runKeysCommand(['list', '--file', file], file), /^NAME +ID +SCOPES +FROM +STATUS\na +[a-z0-9]{10} +status +anywhere +active\n$/);
    assert.deepEqual(readKeysFile(file)[0]!.rateLimit, { max: 600, windowMs: 60000 });
    assert.throws(() => parseKeysFile('keys: nope'), /keys: \[\.\.\.\]/);
    assert.throws(() => parseKeysFile('a: &x [1]\nb: *x'), KeysFileError);
  });
});

function refusalOrNone(action: () => unknown): AccessRefused | undefined {
  try {
    action();
    return undefined;
  } catch (error) {
    return error as AccessRefused;
  }
}

describe('the access rule', () => {
  const keysFile = newFile();
  const key = create(keysFile, ['--name', 'crm', '--scopes', 'calls']);
  const keys = new ApiKeyStore({ file: keysFile });
  after(() => keys.close());
  const none = new Gatekeeper({ open: false, keys: undefined, tokens: undefined, webApiNetworks: undefined, allowedOrigins: new Set() });
  const ask = (g: Gatekeeper, presented: Partial<Presented>): Principal => g.identify({ address: '127.0.0.1', surface: 'rest', ...presented }) as Principal;

  test('protected mode: loopback callers only, with every scope; anyone else is told how to configure', () => {
    assert.equal(none.protectedMode, true);
    for (const address of ['127.0.0.1', '::1', '::ffff:127.0.0.1']) assert.deepEqual([...ask(none, { address }).scopes], ['*'], address);
    const r = refusal(() => ask(none, { address: '192.0.2.10' }));
    assert.equal(r.status, 403);
    assert.equal(r.message, protectedModeMessage);
  });

  test('with keys configured, loopback needs a credential too', () => {
    const withKeys = new Gatekeeper({ open: false, keys, tokens: undefined, webApiNetworks: undefined, allowedOrigins: new Set() });
    assert.equal(withKeys.protectedMode, false);
    assert.equal(refusal(() => ask(withKeys, {})).status, 401);
    assert.equal(ask(withKeys, { authorization: `Bearer ${key}` }).name, 'crm');
    assert.equal(ask(withKeys, { apiKey: key }).name, 'crm');
    assert.equal(refusal(() => ask(withKeys, { authorization: `Basic ${key}` })).status, 401);
    assert.equal(refusal(() => ask(withKeys, { authorization: 'Bearer not-a-key' })).status, 401);
  });

  test('networks let the WebAPI in without a credential, with their scopes, and nothing else', () => {
    const legacy = new Gatekeeper({
      open: false,
      keys: undefined,
      tokens: undefined,
      webApiNetworks: { list: networkList(['192.0.2.0/24']), cidrs: ['192.0.2.0/24'], scopes: new Set(['calls', 'status']) },
      allowedOrigins: new Set(),
    });
    const p = ask(legacy, { address: '192.0.2.9', surface: 'webapi' });
    assert.deepEqual({ kind: p.kind, scopes: [...p.scopes], credentialLess: p.credentialLess }, { kind: 'network', scopes: ['calls', 'status'], credentialLess: true });
    assert.equal(refusal(() => ask(legacy, { address: '192.0.2.9', surface: 'rest' })).status, 401);
    assert.equal(refusal(() => ask(legacy, { address: '198.51.100.1', surface: 'webapi' })).status, 401);
  });

  test('without a credential, a request from another site is refused; its own pages and programs are not', () => {
    const own = 'http://127.0.0.1:2012';
    const allowed = new Gatekeeper({ open: false, keys: undefined, tokens: undefined, webApiNetworks: undefined, allowedOrigins: new Set(['https://crm.example.com']) });
    for (const presented of [{ origin: 'https://evil.example' }, { origin: 'null' }, { secFetchSite: 'cross-site' }, { origin: 'http://127.0.0.1:8080', selfOrigin: own }]) {
      assert.equal(refusal(() => ask(allowed, presented)).status, 403, JSON.stringify(presented));
    }
    for (const presented of [{}, { origin: own, selfOrigin: own }, { origin: 'https://crm.example.com' }, { secFetchSite: 'same-origin' }, { secFetchSite: 'none' }]) {
      assert.equal(ask(allowed, presented).kind, 'loopback', JSON.stringify(presented));
    }
  });

  test('AUTH=none lets everyone in with every scope', () => {
    const open = new Gatekeeper({ open: true, keys: undefined, tokens: undefined, webApiNetworks: undefined, allowedOrigins: new Set() });
    assert.deepEqual([...ask(open, { address: '198.51.100.1' }).scopes], ['*']);
    assert.match(open.describe(), /access control is off/);
  });
});
