/**
 * `uptivity-gateway keys create|list|revoke`: the keys file by hand. A new key is printed once and
 * only its hash is written; a revoked key stays listed (with when) so the gateway's log can say a
 * refused key was revoked rather than unknown. A running gateway picks the change up by itself.
 */
import { parseArgs } from 'node:util';
import { allScopes } from '../protocol/catalog.js';
import { newApiKey, parseKeysFile, readKeysFile, writeKeysFile, type ApiKeyEntry } from './api-keys.js';

export const keysUsage = `Usage:
  uptivity-gateway keys create --name NAME --scopes SCOPE[,SCOPE...] [--expires TIME] [--cidrs NET[,NET...]]
                               [--rate-limit MAX/WINDOW_MS] [--file PATH]
  uptivity-gateway keys list [--file PATH]
  uptivity-gateway keys revoke NAME [--file PATH]

Scopes: ${allScopes.join(', ')}.
The file is API_KEYS_FILE (default: api-keys.yaml in the gateway's data dir); a running gateway
re-reads it when it changes.
`;

export class KeysCommandError extends Error {
  override name = 'KeysCommandError';
}

function statusOf(entry: ApiKeyEntry, now: number): string {
  if (entry.revoked) return `revoked ${entry.revoked}`;
  if (entry.expires && Date.parse(entry.expires) <= now) return `expired ${entry.expires}`;
  return entry.expires ? `active until ${entry.expires}` : 'active';
}

/** Run `keys ...`; what it prints is returned. */
export function runKeysCommand(argv: readonly string[], defaultFile: string, now = new Date()): string {
  const { values, positionals } = parseArgs({
    args: [...argv],
    allowPositionals: true,
    strict: true,
    options: {
      name: { type: 'string' },
      scopes: { type: 'string' },
      expires: { type: 'string' },
      cidrs: { type: 'string' },
      'rate-limit': { type: 'string' },
      file: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  const [verb, ...rest] = positionals;
  if (values.help || verb === undefined) return keysUsage;
  const file = values.file ?? defaultFile;
  const entries = readKeysFile(file);
  switch (verb) {
    case 'create': {
      const name = values.name;
      if (!name) throw new KeysCommandError('keys create needs --name');
      if (entries.some((e) => e.name === name)) throw new KeysCommandError(`a key named ${name} exists already in ${file}`);
      const scopes = (values.scopes ?? '').split(',').map((s) => s.trim()).filter((s) => s !== '');
      if (scopes.length === 0) throw new KeysCommandError(`keys create needs --scopes (${allScopes.join(', ')})`);
      const fields: Omit<ApiKeyEntry, 'id' | 'hash' | 'created'> = { name, scopes };
      if (values.expires !== undefined) {
        const at = Date.parse(values.expires);
        if (Number.isNaN(at)) throw new KeysCommandError(`--expires ${values.expires} is not a time (ISO-8601)`);
        fields.expires = new Date(at).toISOString();
      }
      if (values.cidrs !== undefined) fields.cidrs = values.cidrs.split(',').map((s) => s.trim()).filter((s) => s !== '');
      if (values['rate-limit'] !== undefined) {
        const m = /^(\d+)\/(\d+)$/.exec(values['rate-limit']);
        if (!m) throw new KeysCommandError('--rate-limit is MAX/WINDOW_MS, e.g. 600/60000');
        fields.rateLimit = { max: Number(m[1]), windowMs: Number(m[2]) };
      }
      const { key, entry } = newApiKey(fields, now);
      // Through the file's own checks first: a bad scope or network is refused before anything is written.
      parseKeysFile(JSON.stringify({ keys: [...entries, entry] }));
      writeKeysFile(file, [...entries, entry]);
      return `${key}\n\nThe key ${name} (${scopes.join(', ')}) is in ${file}. It is shown this once: keep it now.\n`;
    }
    case 'list': {
      if (entries.length === 0) return `No keys in ${file}.\n`;
      const rows = entries.map((e) => [e.name, e.id, e.scopes.join(','), e.cidrs?.join(',') ?? 'anywhere', statusOf(e, now.getTime())]);
      const header = ['NAME', 'ID', 'SCOPES', 'FROM', 'STATUS'];
      const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
      return [header, ...rows].map((r) => r.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd()).join('\n') + '\n';
    }
    case 'revoke': {
      const name = rest[0];
      const entry = entries.find((e) => e.name === name);
      if (!entry) throw new KeysCommandError(`no key named ${name ?? '(none given)'} in ${file}`);
      if (entry.revoked) return `The key ${name} was revoked at ${entry.revoked}.\n`;
      entry.revoked = now.toISOString();
      writeKeysFile(file, entries);
      return `The key ${name} is revoked; a running gateway refuses it within seconds.\n`;
    }
    default:
      throw new KeysCommandError(`unknown keys command ${verb}\n\n${keysUsage}`);
  }
}
