/**
 * API keys: `upk_<id>_<secret>`, random, shown once when made and kept only as a SHA-256 hash in
 * the keys file (JSON or YAML: it can be mounted as a secret). The id finds a key's entry without
 * touching the secret, and the hashes are compared in constant time. The file is re-read when it
 * changes, so a revoked key stops working without a restart; a file that no longer reads keeps the
 * keys it had, and says why.
 */
import { createHash, hash as cryptoHash, randomBytes, timingSafeEqual } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import YAML from 'yaml';
import { allScopes } from '../protocol/catalog.js';
import { AccessRefused, type Principal } from './principal.js';

export const apiKeyPrefix = 'upk_';

const keyPattern = /^upk_([a-z0-9]{10})_([A-Za-z0-9_-]{43})$/;

/** A key's entry in the keys file. */
export interface ApiKeyEntry {
  name: string;
  /** The public part of the key, which finds its entry. */
  id: string;
  /** `sha256:<hex>` of the whole key. */
  hash: string;
  scopes: string[];
  created: string;
  /** ISO-8601; past it the key is refused. */
  expires?: string;
  /** Networks it may be used from (CIDR); anywhere when absent. */
  cidrs?: string[];
  /** Its own request rate, instead of RATE_LIMIT_MAX per RATE_LIMIT_WINDOW_MS. */
  rateLimit?: { max: number; windowMs: number };
  /** ISO-8601: when it was revoked (kept, so the log can say so). */
  revoked?: string;
}

export class KeysFileError extends Error {
  override name = 'KeysFileError';
}

function hashOf(key: string): string {
  return `sha256:${createHash('sha256').update(key).digest('hex')}`;
}

/** A new key and its entry. The key itself is shown once and kept nowhere. */
export function newApiKey(fields: Omit<ApiKeyEntry, 'id' | 'hash' | 'created'>, now = new Date()): { key: string; entry: ApiKeyEntry } {
  // 10 characters of [a-z0-9] name the key; 32 random bytes are its secret.
  const id = [...randomBytes(10)].map((b) => 'abcdefghijklmnopqrstuvwxyz0123456789'[b % 36]).join('');
  const key = `${apiKeyPrefix}${id}_${randomBytes(32).toString('base64url')}`;
  return { key, entry: { ...fields, name: fields.name, id, hash: hashOf(key), created: now.toISOString() } };
}

const namePattern = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

function cidrParts(cidr: string): { address: string; prefix: number; family: 'ipv4' | 'ipv6' } {
  const [address = '', bits] = cidr.split('/');
  const family = net.isIPv4(address) ? 'ipv4' : net.isIPv6(address) ? 'ipv6' : undefined;
  const prefix = Number(bits ?? (family === 'ipv6' ? 128 : 32));
  if (!family || !Number.isInteger(prefix) || prefix < 0 || prefix > (family === 'ipv4' ? 32 : 128)) throw new KeysFileError(`${JSON.stringify(cidr)} is not a network (CIDR)`);
  return { address, prefix, family };
}

/** Networks as a BlockList (Node's own subnet matcher), which also matches IPv4-mapped IPv6 addresses. */
export function networkList(cidrs: readonly string[]): net.BlockList {
  const list = new net.BlockList();
  for (const cidr of cidrs) {
    const { address, prefix, family } = cidrParts(cidr);
    list.addSubnet(address, prefix, family);
  }
  return list;
}

export function inNetworks(list: net.BlockList, address: string): boolean {
  const family = net.isIPv4(address) ? 'ipv4' : net.isIPv6(address) ? 'ipv6' : undefined;
  return family !== undefined && list.check(address, family);
}

function checkedEntry(raw: unknown, where: string): ApiKeyEntry {
  const e = raw as Partial<ApiKeyEntry> | null;
  if (!e || typeof e !== 'object') throw new KeysFileError(`${where} is not a key entry`);
  if (typeof e.name !== 'string' || !namePattern.test(e.name)) throw new KeysFileError(`${where}: name must be 1-64 of [A-Za-z0-9._-]`);
  if (typeof e.id !== 'string' || !/^[a-z0-9]{10}$/.test(e.id)) throw new KeysFileError(`${where} (${e.name}): id is not a key id`);
  if (typeof e.hash !== 'string' || !/^sha256:[0-9a-f]{64}$/.test(e.hash)) throw new KeysFileError(`${where} (${e.name}): hash must be sha256:<64 hex digits>`);
  if (!Array.isArray(e.scopes) || e.scopes.some((s) => !(allScopes as readonly string[]).includes(s))) {
    throw new KeysFileError(`${where} (${e.name}): scopes must be a list of ${allScopes.join(', ')}`);
  }
  for (const time of ['expires', 'revoked', 'created'] as const) {
    if (e[time] !== undefined && (typeof e[time] !== 'string' || Number.isNaN(Date.parse(e[time]!)))) throw new KeysFileError(`${where} (${e.name}): ${time} is not a time`);
  }
  if (e.cidrs !== undefined) {
    if (!Array.isArray(e.cidrs)) throw new KeysFileError(`${where} (${e.name}): cidrs must be a list`);
    networkList(e.cidrs);
  }
  if (e.rateLimit !== undefined) {
    const { max, windowMs } = e.rateLimit;
    if (!Number.isInteger(max) || max < 1 || !Number.isInteger(windowMs) || windowMs < 1) throw new KeysFileError(`${where} (${e.name}): rateLimit must be { max, windowMs }, positive integers`);
  }
  return { created: '', ...e } as ApiKeyEntry;
}

/** The entries of a keys file's text (YAML, of which JSON is a part): `{ keys: [...] }`. */
export function parseKeysFile(text: string): ApiKeyEntry[] {
  let document: unknown;
  try {
    document = YAML.parse(text, { maxAliasCount: 0 });
  } catch (error) {
    throw new KeysFileError(`not YAML or JSON: ${(error as Error).message.split('\n')[0]}`);
  }
  if (document === null || document === undefined) return [];
  const keys = (document as { keys?: unknown }).keys;
  if (!Array.isArray(keys)) throw new KeysFileError('the file must hold { keys: [...] }');
  const entries = keys.map((k, i) => checkedEntry(k, `key ${i + 1}`));
  const names = new Set<string>();
  const ids = new Set<string>();
  for (const e of entries) {
    if (names.has(e.name)) throw new KeysFileError(`two keys are named ${e.name}`);
    if (ids.has(e.id)) throw new KeysFileError(`two keys have the id ${e.id}`);
    names.add(e.name);
    ids.add(e.id);
  }
  return entries;
}

export function readKeysFile(file: string): ApiKeyEntry[] {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw new KeysFileError(`cannot read ${file}: ${(error as Error).message}`);
  }
  return parseKeysFile(text);
}

/** Write the entries (JSON for a .json file, YAML otherwise), readable by its owner only, replaced at once. */
export function writeKeysFile(file: string, entries: readonly ApiKeyEntry[]): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const document = { keys: entries };
  const text = file.endsWith('.json') ? `${JSON.stringify(document, null, 2)}\n` : YAML.stringify(document);
  const temporary = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(temporary, text, { mode: 0o600 });
  fs.renameSync(temporary, file);
}

interface LoadedKey {
  entry: ApiKeyEntry;
  hash: Buffer;
  networks: net.BlockList | undefined;
  scopes: ReadonlySet<string>;
}

export interface ApiKeyStoreOptions {
  file: string;
  /** How often the file is looked at for changes (it may be a mounted secret, replaced by a symlink swap). */
  watchIntervalMs?: number;
  now?: () => number;
  /** Told when the file is (re)loaded or cannot be. */
  onReload?: (outcome: { keys: number } | { error: Error }) => void;
}

/** What tells one version of the keys file from another: its inode, size and time ('' when absent). */
function versionOf(file: string): string {
  try {
    const stat = fs.statSync(file);
    return `${stat.ino}:${stat.size}:${stat.mtimeMs}`;
  } catch {
    return '';
  }
}

export class ApiKeyStore {
  private byId = new Map<string, LoadedKey>();
  private readonly now: () => number;
  private readonly poll: NodeJS.Timeout;
  /** The version of the file the keys were read from. */
  private version: string;

  constructor(private readonly options: ApiKeyStoreOptions) {
    this.now = options.now ?? Date.now;
    // Taken before reading: a change made while reading shows at the next look, and is read then.
    this.version = versionOf(options.file);
    this.byId = this.load(readKeysFile(options.file));
    // Looking at the file rather than fs.watch: it sees a file that appears later, and a secret
    // volume's symlink swap; comparing with what was read, not with the last look, misses no change.
    this.poll = setInterval(() => {
      if (versionOf(this.options.file) !== this.version) this.reload();
    }, options.watchIntervalMs ?? 1000).unref();
  }

  /** Whether any key is configured (revoked and expired ones included: the operator chose keys). */
  get configured(): boolean {
    return this.byId.size > 0;
  }

  get size(): number {
    return this.byId.size;
  }

  reload(): void {
    this.version = versionOf(this.options.file);
    try {
      this.byId = this.load(readKeysFile(this.options.file));
      this.options.onReload?.({ keys: this.byId.size });
    } catch (error) {
      this.options.onReload?.({ error: error as Error });
    }
  }

  private load(entries: readonly ApiKeyEntry[]): Map<string, LoadedKey> {
    return new Map(
      entries.map((entry) => [
        entry.id,
        {
          entry,
          hash: Buffer.from(entry.hash.slice('sha256:'.length), 'hex'),
          networks: entry.cidrs ? networkList(entry.cidrs) : undefined,
          scopes: new Set(entry.scopes),
        },
      ]),
    );
  }

  /** The principal of a key presented from `address`; AccessRefused otherwise. */
  authenticate(key: string, address: string): Principal {
    const refused = (detail: string): AccessRefused => new AccessRefused(401, 'The API key is not valid.', detail);
    const match = keyPattern.exec(key);
    if (!match) throw refused('a credential that is not an API key of this gateway');
    const loaded = this.byId.get(match[1]!);
    // The hash is computed whether or not the id is known: no timing tells ids apart. (crypto.hash,
    // one call, takes a third less time than createHash for a key's few bytes, on every request.)
    const hash = cryptoHash('sha256', key, 'buffer');
    if (!loaded || !timingSafeEqual(hash, loaded.hash)) throw refused(loaded ? `a wrong secret for the key ${loaded.entry.name}` : `no key has the id ${match[1]}`);
    const { entry } = loaded;
    if (entry.revoked) throw refused(`the key ${entry.name} was revoked at ${entry.revoked}`);
    if (entry.expires && Date.parse(entry.expires) <= this.now()) throw refused(`the key ${entry.name} expired at ${entry.expires}`);
    if (loaded.networks && !inNetworks(loaded.networks, address)) {
      throw new AccessRefused(403, 'This API key may not be used from this address.', `the key ${entry.name} used from ${address}, outside ${entry.cidrs!.join(', ')}`);
    }
    return { name: entry.name, kind: 'key', scopes: loaded.scopes, credentialLess: false, ...(entry.rateLimit ? { rateLimit: entry.rateLimit } : {}) };
  }

  /**
   * Whether the key named `name` is still in force (not revoked nor expired) and holds `scope`: what
   * a signed link it made is checked against at each use, so that revoking a key, or taking a scope
   * from it, also ends the links it handed out.
   */
  stillGrants(name: string, scope: string): boolean {
    for (const loaded of this.byId.values()) {
      const { entry } = loaded;
      if (entry.name !== name) continue;
      if (entry.revoked || (entry.expires && Date.parse(entry.expires) <= this.now())) return false;
      return loaded.scopes.has('*') || loaded.scopes.has(scope);
    }
    return false;
  }

  close(): void {
    clearInterval(this.poll);
  }
}
