/**
 * Where a webhook may be sent. An integrator names the URL, and the gateway calls it from inside the
 * network it runs in: without a rule, a subscription could make the gateway call its own metadata
 * service, Redis, or an admin port on the pod network. So the URL is http(s) without credentials,
 * its host is resolved, and every address it resolves to must be a public one (unless
 * WEBHOOK_ALLOW_PRIVATE=true). The check runs when the URL is given and again before every attempt,
 * since DNS can change; the attempt then connects to the very address checked, so a name that
 * resolves differently a millisecond later (DNS rebinding) gains nothing.
 */
import dns from 'node:dns';
import net from 'node:net';
import { inNetworks, networkList } from '../access/api-keys.js';
import { maxUrlLength } from './subscription.js';

/**
 * Networks no webhook goes to: this host and "this network", private, shared (CGNAT), link-local
 * (169.254.169.254, the cloud metadata service, among them), multicast, reserved, broadcast; in IPv6
 * unspecified, loopback, IPv4-compatible, unique local, link-local and multicast. IPv4-mapped IPv6
 * addresses (::ffff:10.0.0.1) match their IPv4 network (Node's BlockList does so).
 */
const forbiddenNetworks = networkList([
  '0.0.0.0/8',
  '10.0.0.0/8',
  '100.64.0.0/10',
  '127.0.0.0/8',
  '169.254.0.0/16',
  '172.16.0.0/12',
  '192.0.0.0/24',
  '192.168.0.0/16',
  '198.18.0.0/15',
  '224.0.0.0/4',
  '240.0.0.0/4',
  '::/96',
  'fc00::/7',
  'fe80::/10',
  'ff00::/8',
]);

/** Why a URL or its address is not one a webhook may be sent to. */
export class TargetRefused extends Error {
  override name = 'TargetRefused';
}

export interface ResolvedAddress {
  address: string;
  family: 4 | 6;
}

export type HostResolver = (hostname: string) => Promise<ResolvedAddress[]>;

export interface CheckedTarget {
  url: URL;
  /** The address to connect to, and no other. */
  address: ResolvedAddress;
}

const systemResolver: HostResolver = async (hostname) =>
  (await dns.promises.lookup(hostname, { all: true, verbatim: true })).map((entry) => ({ address: entry.address, family: entry.family === 6 ? 6 : 4 }));

/** The URL's form alone: what can be refused without asking DNS. */
export function targetUrl(text: string): URL {
  if (text.length > maxUrlLength) throw new TargetRefused(`the URL is longer than ${maxUrlLength} characters`);
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new TargetRefused('the URL is not an absolute URL');
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new TargetRefused(`the URL must be http: or https:, not ${url.protocol}`);
  if (url.username !== '' || url.password !== '') throw new TargetRefused('the URL must not hold credentials (user:password@); authenticate deliveries by their signature');
  if (url.hash !== '') throw new TargetRefused('the URL must not have a fragment (#...)');
  return url;
}

/** What a log line may say of a target: scheme, host and port, never its path, query or credentials. */
export function targetOrigin(text: string): string {
  try {
    return new URL(text).origin;
  } catch {
    return 'not a URL';
  }
}

function forbidden(address: string): boolean {
  return inNetworks(forbiddenNetworks, address);
}

/**
 * Check a URL and resolve its host: the address to connect to, or TargetRefused. A name that
 * resolves to several addresses is refused when any of them is forbidden: a public name pointing
 * partly inside is not an accident to work around.
 */
export async function checkTarget(text: string, options: { allowPrivate: boolean; resolve?: HostResolver }): Promise<CheckedTarget> {
  const url = targetUrl(text);
  const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
  let addresses: ResolvedAddress[];
  if (net.isIP(host)) {
    addresses = [{ address: host, family: net.isIPv6(host) ? 6 : 4 }];
  } else {
    try {
      addresses = await (options.resolve ?? systemResolver)(host);
    } catch (error) {
      throw new TargetRefused(`the host ${host} cannot be resolved (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
    }
    if (addresses.length === 0) throw new TargetRefused(`the host ${host} resolves to no address`);
  }
  if (!options.allowPrivate) {
    const inside = addresses.find((a) => forbidden(a.address));
    if (inside) {
      throw new TargetRefused(
        `${host === inside.address ? 'the address' : `the host ${host} resolves to`} ${inside.address}, a loopback, private, link-local or otherwise non-public address; webhooks go to public addresses only (WEBHOOK_ALLOW_PRIVATE=true allows others)`,
      );
    }
  }
  return { url, address: addresses[0]! };
}
