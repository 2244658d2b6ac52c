/**
 * How a URL names the product's database, the one that holds the Recording table UNIQUEFIELD
 * speaks of: the engine, where it is (for messages, without user or password), and the secrets no
 * message may repeat. Pure: the gateway's database source and the simulator's mirror of the table
 * both read their URL here, each with the engines it supports.
 */

export type ProductDatabaseEngine = 'mssql' | 'postgres' | 'mysql';

/** The table's name, exactly as the manual spells it. */
export const recordingTable = 'Recording';

const schemes: Readonly<Record<string, { engine: ProductDatabaseEngine; label: string; defaultPort: number }>> = {
  'mssql:': { engine: 'mssql', label: 'sqlserver', defaultPort: 1433 },
  'sqlserver:': { engine: 'mssql', label: 'sqlserver', defaultPort: 1433 },
  'postgres:': { engine: 'postgres', label: 'postgresql', defaultPort: 5432 },
  'postgresql:': { engine: 'postgres', label: 'postgresql', defaultPort: 5432 },
  'mysql:': { engine: 'mysql', label: 'mysql', defaultPort: 3306 },
  'mariadb:': { engine: 'mysql', label: 'mariadb', defaultPort: 3306 },
};

export interface ProductDatabaseUrl {
  engine: ProductDatabaseEngine;
  /** `postgresql 127.0.0.1:5432/test`: where, without user or password. */
  description: string;
  /** The URL and its password, which no message may contain. */
  secrets: readonly string[];
  parsed: URL;
}

/** `postgres://, postgresql://, mysql:// or mariadb://`. */
export function supportedSchemes(engines: readonly ProductDatabaseEngine[]): string {
  const names = Object.entries(schemes)
    .filter(([, s]) => engines.includes(s.engine))
    .map(([scheme]) => `${scheme}//`);
  return names.length > 1 ? `${names.slice(0, -1).join(', ')} or ${names.at(-1)}` : names.join('');
}

function decoded(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/** The engine and place a URL names, for one of `engines`; a RangeError that repeats none of the URL. */
export function readProductDatabaseUrl(url: string, engines: readonly ProductDatabaseEngine[]): ProductDatabaseUrl {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new RangeError(`the recordings database must be a URL starting with ${supportedSchemes(engines)}`);
  }
  const scheme = schemes[parsed.protocol];
  if (!scheme || !engines.includes(scheme.engine)) throw new RangeError(`the recordings database URL must start with ${supportedSchemes(engines)}`);
  if (!parsed.hostname) throw new RangeError('the recordings database URL names no host');
  return {
    engine: scheme.engine,
    description: `${scheme.label} ${parsed.hostname}:${parsed.port || scheme.defaultPort}/${decoded(parsed.pathname.slice(1))}`,
    secrets: [url, parsed.password, decoded(parsed.password)].filter((s) => s !== ''),
    parsed,
  };
}
