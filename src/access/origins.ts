/**
 * CORS_ORIGINS: the web origins whose pages may call the gateway from a browser. An entry is an
 * exact origin (`https://crm.example.com`, `http://localhost:3000`) or a pattern whose leftmost
 * part is `*.`: `https://*.example.com` is every host under example.com (one label or more, never
 * example.com itself), with that scheme and that port only. Nothing else is a pattern: a `*`
 * anywhere else, a bare `*`, a path, a query or user info is refused when the configuration is
 * read, and so is a pattern over fewer than two labels (`https://*.com`), which would let in sites
 * anyone can register. The `null` origin (sandboxed frames, file: pages) is never let in.
 */

export class OriginListError extends Error {
  override name = 'OriginListError';
}

/** A host label as browsers send it in Origin: lower case, punycode for other scripts. */
const labelPattern = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

interface OriginPattern {
  scheme: string;
  /** `.example.com`: what a matching host ends with. */
  hostSuffix: string;
  /** `:8443` or '' for the scheme's default port. */
  port: string;
}

/** The longest Origin header compared: no browser sends a longer one (a host is at most 253 bytes). */
const maxOriginLength = 300;

export class OriginList {
  private readonly exact: ReadonlySet<string>;
  private readonly patterns: readonly OriginPattern[];

  /** Throws OriginListError naming the first entry that is neither an origin nor a pattern. */
  constructor(readonly entries: readonly string[]) {
    const exact = new Set<string>();
    const patterns: OriginPattern[] = [];
    for (const entry of entries) {
      if (entry.startsWith('http://*.') || entry.startsWith('https://*.')) patterns.push(patternOf(entry));
      else exact.add(exactOriginOf(entry));
    }
    this.exact = exact;
    this.patterns = patterns;
  }

  get size(): number {
    return this.entries.length;
  }

  /** Whether a page of `origin` (an Origin header's value) may call. */
  has(origin: string): boolean {
    if (this.exact.has(origin)) return true;
    if (this.patterns.length === 0 || origin.length > maxOriginLength) return false;
    for (const pattern of this.patterns) if (matches(pattern, origin)) return true;
    return false;
  }
}

function exactOriginOf(entry: string): string {
  let parsed: URL | undefined;
  try {
    parsed = new URL(entry);
  } catch {
    // said below
  }
  // The URL parser takes `*` in a host: a `*` anywhere but in front of a pattern is a mistake, said as one.
  if (!parsed || entry.includes('*') || parsed.origin !== entry || (parsed.protocol !== 'https:' && parsed.protocol !== 'http:')) {
    throw new OriginListError(`${JSON.stringify(entry)} is not an origin (scheme://host[:port], lower case, no path) nor a pattern (https://*.example.com)`);
  }
  return entry;
}

function patternOf(entry: string): OriginPattern {
  // Parsed with an ordinary label in place of the `*`, so that the URL parser checks the rest of it
  // (scheme, host labels, port); the label itself is dropped below.
  const withLabel = entry.replace('*', 'wildcard');
  let parsed: URL | undefined;
  try {
    parsed = new URL(withLabel);
  } catch {
    // said below
  }
  if (!parsed || parsed.origin !== withLabel || entry.indexOf('*') !== entry.lastIndexOf('*')) {
    throw new OriginListError(`${JSON.stringify(entry)} is not an origin pattern: a scheme, *. and a host of lower-case labels, optionally a port (https://*.example.com:8443)`);
  }
  const labels = parsed.hostname.split('.').slice(1);
  if (labels.length < 2 || !labels.every((label) => labelPattern.test(label))) {
    throw new OriginListError(`${JSON.stringify(entry)}: a pattern names a domain of two labels or more (https://*.example.com), not a top-level domain or an address`);
  }
  return { scheme: parsed.protocol, hostSuffix: `.${labels.join('.')}`, port: parsed.port === '' ? '' : `:${parsed.port}` };
}

function matches(pattern: OriginPattern, origin: string): boolean {
  const prefix = `${pattern.scheme}//`;
  if (!origin.startsWith(prefix)) return false;
  const hostAndPort = origin.slice(prefix.length);
  if (!hostAndPort.endsWith(`${pattern.hostSuffix}${pattern.port}`)) return false;
  const sub = hostAndPort.slice(0, hostAndPort.length - pattern.hostSuffix.length - pattern.port.length);
  // One label or more, each a label: `a.b` matches, `` and `a..b` and `user@a` do not.
  return sub !== '' && sub.split('.').every((label) => labelPattern.test(label));
}
