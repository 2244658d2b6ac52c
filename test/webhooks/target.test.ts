/**
 * The target URL rule: only http(s) without credentials, and no address that is not public (the
 * metadata service, loopback, private, link-local, CGNAT, multicast, their IPv4-mapped forms),
 * whether named literally, in another notation, or by a host name that resolves there.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { TargetRefused, checkTarget, targetOrigin, type HostResolver } from '../../src/webhooks/target.js';

const refused = async (url: string, resolve?: HostResolver): Promise<string> => {
  const error = await checkTarget(url, { allowPrivate: false, resolve }).then(
    () => undefined,
    (e: unknown) => e,
  );
  assert.ok(error instanceof TargetRefused, `${url} is refused`);
  return error.message;
};

test('loopback, private, link-local, metadata, CGNAT, unspecified, multicast addresses and their IPv4-mapped forms are refused', async () => {
  for (const url of [
    'http://127.0.0.1/hook',
    'http://127.8.9.10:8080/',
    'http://localhost./',
    'http://10.1.2.3/',
    'http://172.16.0.1/',
    'http://172.31.255.255/',
    'http://192.168.1.1/',
    'http://169.254.169.254/latest/meta-data/',
    'http://100.64.0.1/',
    'http://0.0.0.0/',
    'http://224.0.0.1/',
    'http://255.255.255.255/',
    'http://[::1]/',
    'http://[::]/',
    'http://[fe80::1]/',
    'http://[fd12:3456::1]/',
    'http://[ff02::1]/',
    'http://[::ffff:127.0.0.1]/',
    'http://[::ffff:169.254.169.254]/',
    'http://[::ffff:10.0.0.1]/',
    // Other notations of 127.0.0.1, which URL parsing reads as that address.
    'http://2130706433/',
    'http://0x7f.1/',
    'http://017700000001/',
  ]) {
    assert.match(await refused(url), /non-public address|cannot be resolved/, url);
  }
});

test('a host name is judged by every address it resolves to', async () => {
  const resolveTo = (...addresses: string[]): HostResolver => async () => addresses.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
  assert.match(await refused('https://metadata.example/', resolveTo('169.254.169.254')), /resolves to 169\.254\.169\.254/);
  assert.match(await refused('https://mixed.example/', resolveTo('93.184.216.34', '10.0.0.7')), /resolves to 10\.0\.0\.7/, 'one address inside is enough');
  assert.match(await refused('https://nowhere.invalid/'), /cannot be resolved/);
  const checked = await checkTarget('https://public.example/hooks?a=1', { allowPrivate: false, resolve: resolveTo('93.184.216.34', '2606:2800:220:1::1') });
  assert.deepEqual(checked.address, { address: '93.184.216.34', family: 4 }, 'the first address is the one connected to');
});

test('only http(s), without credentials or fragment, at most 2048 characters', async () => {
  assert.match(await refused('ftp://example.com/'), /http: or https:/);
  assert.match(await refused('file:///etc/passwd'), /http: or https:/);
  assert.match(await refused('https://user:pw@example.com/'), /credentials/);
  assert.match(await refused('https://example.com/#x'), /fragment/);
  assert.match(await refused('not a url'), /absolute URL/);
  assert.match(await refused(`https://example.com/${'a'.repeat(2048)}`), /longer than 2048/);
});

test('WEBHOOK_ALLOW_PRIVATE lets private targets through; the form rule still holds', async () => {
  assert.deepEqual((await checkTarget('http://127.0.0.1:9/', { allowPrivate: true })).address, { address: '127.0.0.1', family: 4 });
  await assert.rejects(checkTarget('https://u:p@127.0.0.1/', { allowPrivate: true }), TargetRefused);
});

test('a log names the origin of a target only, never its path, query or credentials', () => {
  assert.equal(targetOrigin('https://u:p@hooks.example.com:8443/a/b?token=secret'), 'https://hooks.example.com:8443');
});
