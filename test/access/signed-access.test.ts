/**
 * The policies behind browser access, without HTTP: the CORS_ORIGINS syntax (what is an origin, what
 * a pattern, what is refused when the configuration is read), the signing keys and their rotation,
 * media links and event tickets against a clock of the test's own.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { EventTickets, LocalTicketLedger } from '../../src/access/event-tickets.js';
import { MediaLinks } from '../../src/access/media-links.js';
import { OriginList, OriginListError } from '../../src/access/origins.js';
import { AccessRefused } from '../../src/access/principal.js';
import { SigningKeyError, SigningKeys } from '../../src/access/signing-keys.js';
import { ConfigError, loadConfig } from '../../src/config.js';

const key = 'a'.repeat(32);
const refusedWith = (pattern: RegExp) => (error: unknown) => error instanceof AccessRefused && error.status === 403 && pattern.test(error.detail);

describe('CORS_ORIGINS', () => {
  test('exact origins and *. patterns; the rest refused when read', () => {
    const list = new OriginList(['https://crm.example.com', 'http://localhost:3000', 'https://*.apps.example.com', 'https://*.example.org:8443']);
    for (const origin of ['https://crm.example.com', 'http://localhost:3000', 'https://a.apps.example.com', 'https://a.b.apps.example.com', 'https://x.example.org:8443']) assert.ok(list.has(origin), origin);
    for (const origin of [
      'https://crm.example.com:443',
      'http://crm.example.com',
      'https://apps.example.com',
      'https://.apps.example.com',
      'https://a..apps.example.com',
      'https://-a.apps.example.com',
      'https://A.apps.example.com',
      'https://a.apps.example.com/',
      'https://user@a.apps.example.com',
      'https://x.example.org',
      'https://x.example.org:9443',
      'null',
      `https://${'a.'.repeat(200)}apps.example.com`,
    ]) {
      assert.ok(!list.has(origin), origin);
    }
    for (const bad of ['*', 'https://*', 'https://*.com', 'https://a.*.example.com', 'https://*.*.example.com', 'https://*example.com', 'https://crm.example.com/', 'https://CRM.example.com', 'crm.example.com', 'ftp://x.example.com', 'https://*.example.com/path', 'https://*.example.com:443']) {
      assert.throws(() => new OriginList([bad]), OriginListError, bad);
    }
  });

  test('the configuration says which entry is wrong, and LINK_SIGNING_KEY and PLAYBACK_LINK_BASE are checked, the key never echoed', () => {
    const load = (env: NodeJS.ProcessEnv) => loadConfig([], env)!;
    assert.throws(() => load({ CORS_ORIGINS: 'https://ok.example.com, https://*.com' }), (error: Error) => error instanceof ConfigError && error.message.includes('"https://*.com"'));
    assert.deepEqual(load({ CORS_ORIGINS: 'https://ok.example.com, https://*.example.com' }).access.corsOrigins, ['https://ok.example.com', 'https://*.example.com']);
    assert.equal(load({}).access.corsWebApi, false);
    assert.equal(load({ CORS_WEBAPI: 'true' }).access.corsWebApi, true);
    const short = 'tooShortSecret123';
    assert.throws(() => load({ LINK_SIGNING_KEY: short }), (error: Error) => error instanceof ConfigError && !error.message.includes(short));
    assert.deepEqual(load({ LINK_SIGNING_KEY: `${key},${'b'.repeat(40)}` }).access.linkSigningKeys, [key, 'b'.repeat(40)]);
    assert.deepEqual(load({}).access.linkSigningKeys, []);
    assert.equal(load({}).access.playbackLinks, undefined);
    assert.deepEqual(load({ PLAYBACK_LINK_BASE: 'https://gw.example.com/' }).access.playbackLinks, { base: 'https://gw.example.com', lifetimeSeconds: 3600, format: 'wav' });
    assert.deepEqual(load({ PLAYBACK_LINK_BASE: 'https://gw.example.com/rec', PLAYBACK_LINK_FORMAT: 'MP3', PLAYBACK_LINK_EXPIRES_IN: '600' }).access.playbackLinks, { base: 'https://gw.example.com/rec', lifetimeSeconds: 600, format: 'mp3' });
    for (const env of [{ PLAYBACK_LINK_BASE: 'https://gw.example.com/?x=1' }, { PLAYBACK_LINK_BASE: 'gw.example.com' }, { PLAYBACK_LINK_EXPIRES_IN: '86401' }, { PLAYBACK_LINK_FORMAT: 'flac' }]) {
      assert.throws(() => load(env), ConfigError, JSON.stringify(env));
    }
  });
});

describe('signing keys', () => {
  test('the first key signs, every key verifies; ids tell keys apart without showing them; bad keys refused', () => {
    const old = new SigningKeys([key]);
    const rotated = new SigningKeys(['n'.repeat(32), key]);
    const signed = old.sign('message');
    assert.notEqual(rotated.signingKeyId, old.signingKeyId);
    assert.ok(rotated.verify(signed.keyId, 'message', signed.mac));
    assert.ok(!rotated.verify(signed.keyId, 'messagE', signed.mac));
    assert.ok(!new SigningKeys(['c'.repeat(32)]).verify(signed.keyId, 'message', signed.mac));
    assert.ok(!key.includes(old.signingKeyId));
    assert.equal(new SigningKeys().generated, true);
    assert.notEqual(new SigningKeys().signingKeyId, new SigningKeys().signingKeyId);
    for (const bad of [['short'], [key, key], Array.from({ length: 5 }, (_, i) => `${i}`.repeat(32)), [`${key} x`]]) assert.throws(() => new SigningKeys(bad), SigningKeyError);
  });
});

describe('media links', () => {
  const pathOf = (id: string) => `/api/v1/recordings/${id}/media`;
  let now = 1_800_000_000_000;
  const links = new MediaLinks({ keys: new SigningKeys([key]), pathOf, now: () => now });
  const creator = { kind: 'token' as const, name: 'user@example.com/ü' };

  test('a link grants its recording and format to its creator until it expires, to the second', () => {
    const link = links.create({ recordId: '42', format: 'mp3', lifetimeSeconds: 600, creator });
    assert.equal(link.path, '/api/v1/recordings/42/media');
    assert.equal(link.expiresAt.getTime(), now + 600_000);
    assert.deepEqual(links.verify('42', link.query), { recordId: '42', format: 'mp3', expires: now / 1000 + 600, creator });
    now += 599_999;
    assert.equal(links.verify('42', link.query).recordId, '42');
    now += 1;
    assert.throws(() => links.verify('42', link.query), refusedWith(/expired/));
    now -= 600_000;
  });

  test('each byte of the query counts', () => {
    const { query } = links.create({ recordId: '42', format: 'mp3', lifetimeSeconds: 60, creator });
    const decoded = decodeURIComponent(query);
    let refused = 0;
    for (let i = 0; i < query.length; i++) {
      const changed = `${query.slice(0, i)}${query[i] === 'x' ? 'y' : 'x'}${query.slice(i + 1)}`;
      if (decodeURIComponent(changed) === decoded) continue;
      assert.throws(() => links.verify('42', changed), AccessRefused, `byte ${i}`);
      refused++;
    }
    assert.ok(refused > 60);
    for (const recordId of ['43', '042', '42\n']) assert.throws(() => links.verify(recordId, query), AccessRefused, recordId);
    assert.throws(() => links.verify('42', `${query}&x=1`), refusedWith(/not format, expires and signature once each/));
    assert.throws(() => links.verify('42', `${query}&format=mp3`), AccessRefused);
    assert.throws(() => links.verify('42', 'x'.repeat(5000)), refusedWith(/too long/));
    assert.throws(() => links.create({ recordId: '42', format: 'mp3', lifetimeSeconds: 86_401, creator }), RangeError);
    assert.throws(() => links.create({ recordId: '42', format: 'mp3', lifetimeSeconds: 0, creator }), RangeError);
  });
});

describe('event tickets', () => {
  test('a ticket stands for its credential, once, until it expires; used tickets are forgotten once expired', async () => {
    let now = 1_800_000_000_000;
    const ledger = new LocalTicketLedger();
    const tickets = new EventTickets({ keys: new SigningKeys([key]), now: () => now, ledger });
    const { ticket, expiresAt } = tickets.issue({ name: 'crm', kind: 'key' });
    assert.equal(expiresAt.getTime(), now + 30_000);
    const principal = await tickets.redeem(ticket);
    assert.deepEqual({ ...principal, scopes: [...principal.scopes] }, { name: 'crm', kind: 'key', scopes: ['events'], credentialLess: false, via: 'ticket' });
    await assert.rejects(tickets.redeem(ticket), refusedWith(/used already/));
    const later = tickets.issue({ name: 'crm', kind: 'key' }).ticket;
    now += 30_000;
    await assert.rejects(tickets.redeem(later), refusedWith(/expired/));
    const fresh = tickets.issue({ name: 'crm', kind: 'key' }).ticket;
    await tickets.redeem(fresh);
    assert.equal(ledger.remembered, 1, 'the first ticket, expired, is forgotten');
    const other = new EventTickets({ keys: new SigningKeys(['z'.repeat(32)]), now: () => now });
    await assert.rejects(other.redeem(tickets.issue({ name: 'crm', kind: 'key' }).ticket), refusedWith(/MAC/));
    await assert.rejects(tickets.redeem('x'.repeat(3000)), AccessRefused);
  });
});
