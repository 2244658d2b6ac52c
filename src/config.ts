/**
 * The gateway's one typed configuration, read from environment variables and the same settings as
 * command-line flags (a flag wins over the environment).
 */
import type { EventRetention } from './cluster/event-log.js';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { networkList } from './access/api-keys.js';
import { maxLinkLifetimeSeconds } from './access/media-links.js';
import { OriginList, OriginListError } from './access/origins.js';
import { SigningKeyError, SigningKeys } from './access/signing-keys.js';
import { exportMediaFormats } from './protocol/catalog.js';
import { allScopes } from './protocol/catalog.js';
import { recordingTable } from './protocol/product-database.js';
import { RecorderClock } from './recordings/recorder-clock.js';
import { defaultRetrySchedule } from './webhooks/retry-policy.js';
import type { WebhookSettings } from './webhooks/webhooks.js';
import { recordingSourceOrder, type RecordingSourceName } from './recordings/recording.js';

export interface GatewayConfig {
  host: string;
  port: number;
  tls: { certFile: string; keyFile: string; port: number; httpMode: 'serve' | 'redirect' | 'off' } | undefined;
  core: {
    /** Undefined: run the simulator embedded and use it. */
    host: string | undefined;
    port: number;
    eventPort: number;
    poolSize: number;
    timeoutMs: number;
    queueMax: number;
    connectTimeoutMs: number;
    /** A TEST must be answered within this for /readyz (and for a new connection to join the pool). */
    probeTimeoutMs: number;
    /** A request waiting this long makes /readyz fail. */
    stallMs: number;
  };
  /** REDIS_URL: state shared by replicas; undefined: each keeps its own. */
  redis: { url: string; prefix: string } | undefined;
  /** Where the embedded simulator keeps its state and recordings. */
  simDataDir: string;
  logLevel: string;
  exports: {
    /** The product's recording roots mapped to directories here; undefined: the embedded simulator's. */
    pathMap: string | undefined;
    /** Undefined: ffmpeg on PATH, else the binary that npm installed. */
    ffmpegPath: string | undefined;
    maxTranscodes: number;
    maxTranscodesPerCredential: number;
    /** How long an export may wait for a transcode slot when all are busy. */
    transcodeWaitMs: number;
    /** Exports answered at once, overall and per credential (or address). */
    maxConcurrent: number;
    maxPerCredential: number;
    /** An export whose client takes no byte for this long is ended. */
    stallTimeoutMs: number;
    /** Where single-recording exports are written whole and kept. */
    cacheDir: string;
    /** Bytes the transcode cache keeps at most; 0: nothing is kept. */
    cacheMaxBytes: number;
  };
  /** Where the gateway keeps its own state (the recordings' event index). */
  dataDir: string;
  /** Who may call, and what they may do. */
  access: {
    /** AUTH=none: no access control at all. */
    open: boolean;
    keysFile: string;
    webApiQueryKeys: boolean;
    /** WEBAPI_ALLOW_CIDRS: WebAPI callers from these networks need no credential. */
    webApiCidrs: string[];
    webApiCidrScopes: string[];
    /** CORS_ORIGINS: exact origins and `https://*.example.com` patterns (access/origins.ts). */
    corsOrigins: string[];
    /** CORS_WEBAPI: CORS (and the trust of those origins) on the WebAPI too. */
    corsWebApi: boolean;
    /** LINK_SIGNING_KEY: the keys of signed links and event tickets, the first signing; empty: one made at start. */
    linkSigningKeys: string[];
    /** PLAYBACK_LINK_BASE and its link's lifetime and format; undefined: PLAYBACKLINK is the core's. */
    playbackLinks: { base: string; lifetimeSeconds: number; format: string } | undefined;
    metricsAuth: boolean;
    /** Where the audit trail is appended; undefined: the main log, with "audit": true. */
    auditFile: string | undefined;
    /** OIDC_ISSUER and OIDC_AUDIENCE: access tokens of that provider are accepted. */
    oidc: { issuer: string; audience: string } | undefined;
    /** Requests per window for each credential (or address without one); undefined: no limit. */
    rateLimit: { max: number; windowMs: number } | undefined;
  };
  /** How exports find recordings. */
  recordings: {
    /** The sources to use, in the order they are tried. */
    sources: RecordingSourceName[];
    /** The product database (read-only), with its credentials; undefined: none. */
    databaseUrl: string | undefined;
    databaseTable: string;
    databasePoolSize: number;
    databaseTimeoutMs: number;
    /** The recorder's time zone (file names and database times are its local time); undefined: this machine's. */
    timeZone: string | undefined;
    indexKeepDays: number;
    scanLimit: number;
  };
  /** The live event stream (/api/v1/events). */
  shutdown: {
    /** After SIGTERM, /readyz fails and the gateway keeps serving this long before it stops accepting. */
    delayMs: number;
    /** Then requests, exports and streams in flight have this long to finish before they are cut. */
    timeoutMs: number;
  };
  events: {
    /** Events held for Last-Event-ID resumption. */
    buffer: number;
    heartbeatMs: number;
    maxListeners: number;
    maxPerCredential: number;
    /** With REDIS_URL: what the shared log keeps (a count of events, or an age). */
    retention: EventRetention;
    /** With REDIS_URL: how long the event log's lease lasts unrenewed (a dead holder's successor takes over within it). */
    leaseMs: number;
  };
  /** Webhooks: where they may go, how attempts are timed and retried, how replicas share them. */
  webhooks: WebhookSettings;
}

interface Setting {
  env: string;
  flag: string;
  help: string;
  default?: string;
}

const settings = {
  port: { env: 'PORT', flag: 'port', help: 'HTTP port', default: '2012' },
  host: { env: 'HOST', flag: 'host', help: 'address to listen on', default: '0.0.0.0' },
  coreHost: { env: 'CORE_HOST', flag: 'core-host', help: 'XML core host; unset runs the simulator embedded' },
  corePort: { env: 'CORE_PORT', flag: 'core-port', help: 'XML core API port', default: '5620' },
  coreEventPort: { env: 'CORE_EVENT_PORT', flag: 'core-event-port', help: 'XML core event port', default: '5621' },
  corePoolSize: { env: 'CORE_POOL_SIZE', flag: 'core-pool-size', help: 'persistent connections to the core', default: '16' },
  coreTimeoutMs: { env: 'CORE_TIMEOUT_MS', flag: 'core-timeout-ms', help: 'time the core has to answer a request', default: '10000' },
  coreQueueMax: { env: 'CORE_QUEUE_MAX', flag: 'core-queue-max', help: 'requests that may wait for a connection', default: '1000' },
  coreConnectTimeoutMs: { env: 'CORE_CONNECT_TIMEOUT_MS', flag: 'core-connect-timeout-ms', help: 'time to establish a core connection', default: '3000' },
  coreProbeTimeoutMs: { env: 'CORE_PROBE_TIMEOUT_MS', flag: 'core-probe-timeout-ms', help: 'time the core has to answer a TEST for /readyz and a new connection', default: '2000' },
  coreStallMs: { env: 'CORE_STALL_MS', flag: 'core-stall-ms', help: 'a request waiting this long for the core makes /readyz fail', default: '5000' },
  simDataDir: { env: 'SIM_DATA_DIR', flag: 'sim-data-dir', help: "embedded simulator's data dir", default: './data' },
  logLevel: { env: 'LOG_LEVEL', flag: 'log-level', help: 'fatal, error, warn, info, debug or trace', default: 'info' },
  tlsCert: { env: 'TLS_CERT_FILE', flag: 'tls-cert', help: 'PEM certificate; with --tls-key, also serve HTTPS' },
  tlsKey: { env: 'TLS_KEY_FILE', flag: 'tls-key', help: 'PEM private key' },
  tlsPort: { env: 'TLS_PORT', flag: 'tls-port', help: 'HTTPS port', default: '2013' },
  httpMode: { env: 'HTTP_MODE', flag: 'http-mode', help: 'with TLS, plain HTTP on PORT: serve, redirect (to HTTPS) or off', default: 'serve' },
  pathMap: {
    env: 'RECORDINGS_PATH_MAP',
    flag: 'recordings-path-map',
    help: 'where recordings are: ROOT=DIR;... e.g. C:\\Recordings\\=/data/recordings (default: the embedded simulator\'s)',
  },
  dataDir: { env: 'GATEWAY_DATA_DIR', flag: 'data-dir', help: "the gateway's own state, the recordings' event index (default: gateway/ in SIM_DATA_DIR)" },
  recordingSources: {
    env: 'RECORDINGS_SOURCES',
    flag: 'recordings-sources',
    help: 'where exports find recordings, in order (those not configured are skipped)',
    default: recordingSourceOrder.join(','),
  },
  recordingsDbUrl: {
    env: 'RECORDINGS_DB_URL',
    flag: 'recordings-db-url',
    help: "the product database, read-only: mssql://, postgres:// or mysql://user:password@host/db (never logged)",
  },
  recordingsDbTable: { env: 'RECORDINGS_DB_TABLE', flag: 'recordings-db-table', help: 'its Recording table (schema.table allowed)', default: recordingTable },
  recordingsDbPoolSize: { env: 'RECORDINGS_DB_POOL_SIZE', flag: 'recordings-db-pool-size', help: 'connections to the product database', default: '4' },
  recordingsDbTimeoutMs: { env: 'RECORDINGS_DB_TIMEOUT_MS', flag: 'recordings-db-timeout-ms', help: 'time to connect to it and to answer a query', default: '5000' },
  recordingsTimeZone: {
    env: 'RECORDINGS_TIME_ZONE',
    flag: 'recordings-time-zone',
    help: "the recorder's time zone, e.g. America/Chicago: file names and database times are its local time (default: this machine's)",
  },
  recordingsIndexKeepDays: { env: 'RECORDINGS_INDEX_KEEP_DAYS', flag: 'recordings-index-keep-days', help: 'days the event index keeps a recording', default: '400' },
  recordingsScanLimit: {
    env: 'RECORDINGS_SCAN_LIMIT',
    flag: 'recordings-scan-limit',
    help: 'recordings read from CALLLIST at most to find an IDENT on the share',
    default: '50000',
  },
  auth: { env: 'AUTH', flag: 'auth', help: 'none turns access control off (anyone who can reach the gateway may do anything)' },
  apiKeysFile: { env: 'API_KEYS_FILE', flag: 'api-keys-file', help: 'the API keys (JSON or YAML), re-read when it changes (default: api-keys.yaml in the data dir)' },
  webApiQueryKeys: { env: 'WEBAPI_QUERY_KEYS', flag: 'webapi-query-keys', help: 'true: the WebAPI also takes apikey= in the query or form', default: 'false' },
  webApiAllowCidrs: { env: 'WEBAPI_ALLOW_CIDRS', flag: 'webapi-allow-cidrs', help: 'networks whose WebAPI callers need no credential, e.g. 10.0.0.0/8,192.168.1.0/24' },
  webApiCidrScopes: { env: 'WEBAPI_CIDR_SCOPES', flag: 'webapi-cidr-scopes', help: 'the scopes those callers get', default: '*' },
  corsOrigins: {
    env: 'CORS_ORIGINS',
    flag: 'cors-origins',
    help: 'web origins whose pages may call the gateway (CORS), comma-separated: exact (https://crm.example.com) or https://*.example.com',
  },
  corsWebApi: { env: 'CORS_WEBAPI', flag: 'cors-webapi', help: 'true: CORS on the WebAPI too (/webAPI.aspx, /webAPI.php)', default: 'false' },
  linkSigningKey: {
    env: 'LINK_SIGNING_KEY',
    flag: 'link-signing-key',
    help: 'key(s) of signed media links and event tickets, comma-separated, the first signing (32+ characters; the same on every replica; prefer the environment to the flag); default: one made at start',
  },
  playbackLinkBase: { env: 'PLAYBACK_LINK_BASE', flag: 'playback-link-base', help: "the gateway's public URL, e.g. https://gw.example.com: CALLLIST's PLAYBACKLINK and signed links point there" },
  playbackLinkExpiresIn: { env: 'PLAYBACK_LINK_EXPIRES_IN', flag: 'playback-link-expires-in', help: "seconds a rewritten PLAYBACKLINK works", default: '3600' },
  playbackLinkFormat: { env: 'PLAYBACK_LINK_FORMAT', flag: 'playback-link-format', help: 'the media format of a rewritten PLAYBACKLINK', default: 'wav' },
  metricsAuth: { env: 'METRICS_AUTH', flag: 'metrics-auth', help: 'true: /metrics needs the metrics scope', default: 'false' },
  oidcIssuer: { env: 'OIDC_ISSUER', flag: 'oidc-issuer', help: 'an OpenID provider whose access tokens (JWT) are accepted, e.g. https://login.example.com/realms/x' },
  oidcAudience: { env: 'OIDC_AUDIENCE', flag: 'oidc-audience', help: "the audience those tokens must name (the gateway's resource identifier)" },
  rateLimitMax: { env: 'RATE_LIMIT_MAX', flag: 'rate-limit-max', help: 'requests per window for each credential (or address without one); 0: no limit', default: '6000' },
  rateLimitWindowMs: { env: 'RATE_LIMIT_WINDOW_MS', flag: 'rate-limit-window-ms', help: 'the window of RATE_LIMIT_MAX', default: '60000' },
  redisUrl: { env: 'REDIS_URL', flag: 'redis-url', help: 'redis://[user:password@]host:port[/db]: state shared by replicas (rate limits); unset, each keeps its own' },
  redisPrefix: { env: 'REDIS_PREFIX', flag: 'redis-prefix', help: "prefix of the gateway's keys in Redis", default: 'uptivity:' },
  maxTranscodesPerCredential: {
    env: 'EXPORT_MAX_TRANSCODES_PER_CREDENTIAL',
    flag: 'export-max-transcodes-per-credential',
    help: "of those, how many one credential's exports may run",
    default: '2',
  },
  auditLogFile: { env: 'AUDIT_LOG_FILE', flag: 'audit-log-file', help: 'append the audit trail there (reopened on SIGHUP); default: the main log' },
  ffmpegPath: { env: 'FFMPEG_PATH', flag: 'ffmpeg-path', help: 'ffmpeg binary (default: ffmpeg on PATH, else the one npm installed)' },
  maxTranscodes: { env: 'EXPORT_MAX_TRANSCODES', flag: 'export-max-transcodes', help: 'exports running ffmpeg at once; past it, a short wait, then 503', default: '4' },
  transcodeWaitMs: { env: 'EXPORT_TRANSCODE_WAIT_MS', flag: 'export-transcode-wait-ms', help: 'how long an export waits for a transcode slot when all are busy', default: '3000' },
  maxExports: { env: 'EXPORT_MAX_CONCURRENT', flag: 'export-max-concurrent', help: 'exports answered at once; past it, 503', default: '128' },
  maxExportsPerCredential: { env: 'EXPORT_MAX_PER_CREDENTIAL', flag: 'export-max-per-credential', help: 'of those, how many one credential (or address) may have; past it, 429', default: '16' },
  exportStallTimeoutMs: { env: 'EXPORT_STALL_TIMEOUT_MS', flag: 'export-stall-timeout-ms', help: 'an export whose client takes no byte for this long is ended', default: '30000' },
  mediaCacheDir: { env: 'MEDIA_CACHE_DIR', flag: 'media-cache-dir', help: 'where single-recording exports are written whole and kept (default: media-cache/ in the data dir)' },
  mediaCacheMaxBytes: {
    env: 'MEDIA_CACHE_MAX_BYTES',
    flag: 'media-cache-max-bytes',
    help: 'bytes of exports the media cache keeps, least recently used removed first; 0: none kept',
    default: String(1024 ** 3),
  },
  eventsRetention: {
    env: 'EVENTS_RETENTION',
    flag: 'events-retention',
    help: 'with REDIS_URL, what the shared event log keeps: a count of events (100000) or an age (30m, 24h, 7d)',
    default: '100000',
  },
  eventsLeaseMs: { env: 'EVENTS_LEASE_MS', flag: 'events-lease-ms', help: "with REDIS_URL, the event log lease: a dead holder's successor subscribes within it", default: '5000' },
  webhookAllowPrivate: {
    env: 'WEBHOOK_ALLOW_PRIVATE',
    flag: 'webhook-allow-private',
    help: 'true: webhooks may also go to loopback, private, link-local and other non-public addresses',
    default: 'false',
  },
  webhookTimeoutMs: { env: 'WEBHOOK_TIMEOUT_MS', flag: 'webhook-timeout-ms', help: 'time a webhook endpoint has to answer an attempt', default: '15000' },
  webhookRetrySchedule: {
    env: 'WEBHOOK_RETRY_SCHEDULE',
    flag: 'webhook-retry-schedule',
    help: 'waits after each failed webhook attempt, comma-separated (500ms, 5s, 5m, 2h, 1d); when spent, the delivery is dead-lettered',
    default: defaultRetrySchedule,
  },
  webhookMaxConcurrent: { env: 'WEBHOOK_MAX_CONCURRENT', flag: 'webhook-max-concurrent', help: 'webhook attempts at once on this gateway (each to another webhook)', default: '16' },
  webhookSecretOverlapMs: {
    env: 'WEBHOOK_SECRET_OVERLAP_MS',
    flag: 'webhook-secret-overlap-ms',
    help: "after a webhook's secret is rotated, how long the previous one still signs",
    default: '86400000',
  },
  webhookLeaseMs: {
    env: 'WEBHOOK_LEASE_MS',
    flag: 'webhook-lease-ms',
    help: "with REDIS_URL, a replica's claim on a webhook queue or on the fan-out: a dead replica's work is taken over after it",
    default: '10000',
  },
  eventsBuffer: { env: 'EVENTS_BUFFER', flag: 'events-buffer', help: 'live events held for Last-Event-ID resumption', default: '1000' },
  eventsHeartbeatMs: { env: 'EVENTS_HEARTBEAT_MS', flag: 'events-heartbeat-ms', help: 'interval of the event stream heartbeat comment', default: '15000' },
  eventsMaxPerCredential: { env: 'EVENTS_MAX_PER_CREDENTIAL', flag: 'events-max-per-credential', help: 'event streams one credential (or address) may hold at once; past it, 429', default: '10' },
  shutdownDelayMs: {
    env: 'SHUTDOWN_DELAY_MS',
    flag: 'shutdown-delay-ms',
    help: 'after SIGTERM, time /readyz fails while the gateway still serves (for load balancers to notice)',
    default: '5000',
  },
  shutdownTimeoutMs: { env: 'SHUTDOWN_TIMEOUT_MS', flag: 'shutdown-timeout-ms', help: 'then, time requests and exports in flight have to finish', default: '20000' },
  eventsMaxListeners: { env: 'EVENTS_MAX_LISTENERS', flag: 'events-max-listeners', help: 'event stream clients at once; past it, 503', default: '1000' },
} satisfies Record<string, Setting>;

type SettingName = keyof typeof settings;

/** Every environment variable the gateway reads (what a deployment may set). */
export const environmentVariables: readonly string[] = Object.values(settings).map((s: Setting) => s.env);

export function usage(): string {
  const rows = Object.values(settings).map(
    (s: Setting) => `  --${s.flag.padEnd(24)} ${s.env.padEnd(24)} ${s.help}${s.default ? ` (default ${s.default})` : ''}`,
  );
  return `Usage: uptivity-gateway [options]

The Uptivity WebAPI (/webAPI.aspx) over the XML core.

  flag                       environment variable
${rows.join('\n')}
  -h, --help                 show this help
`;
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

function integer(name: string, value: string, min: number, max: number): number {
  if (!/^[0-9]+$/.test(value) || Number(value) < min || Number(value) > max) {
    throw new ConfigError(`${name} must be an integer from ${min} to ${max}, not ${JSON.stringify(value)}`);
  }
  return Number(value);
}

const durationUnitsMs: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** A duration written as a number and a unit: 500ms, 30s, 5m, 2h, 7d. */
export function durationMs(name: string, value: string, minMs: number, maxMs: number): number {
  const match = /^([0-9]{1,9})(ms|s|m|h|d)$/.exec(value);
  const ms = match ? Number(match[1]) * durationUnitsMs[match[2]!]! : NaN;
  if (!(ms >= minMs && ms <= maxMs)) throw new ConfigError(`${name} must be a duration from ${minMs} ms to ${maxMs} ms written as 500ms, 30s, 5m, 2h or 7d, not ${JSON.stringify(value)}`);
  return ms;
}

/** EVENTS_RETENTION: a plain number is a count of events, a duration an age. */
function retentionOf(value: string): EventRetention {
  if (/^[0-9]+$/.test(value)) return { entries: integer('EVENTS_RETENTION', value, 1, 100_000_000) };
  return { ageMs: durationMs('EVENTS_RETENTION', value, 1000, 366 * 86_400_000) };
}

/** WEBHOOK_RETRY_SCHEDULE: one to twenty waits of at most a week. */
function retrySchedule(value: string): number[] {
  const steps = list(value);
  if (steps.length < 1 || steps.length > 20) throw new ConfigError(`WEBHOOK_RETRY_SCHEDULE must list 1 to 20 waits, not ${JSON.stringify(value)}`);
  return steps.map((step) => durationMs('WEBHOOK_RETRY_SCHEDULE', step, 0, 7 * 86_400_000));
}

function httpMode(value: string): 'serve' | 'redirect' | 'off' {
  if (value !== 'serve' && value !== 'redirect' && value !== 'off') throw new ConfigError(`HTTP_MODE must be serve, redirect or off, not ${JSON.stringify(value)}`);
  return value;
}

function boolean(name: string, value: string): boolean {
  if (value !== 'true' && value !== 'false') throw new ConfigError(`${name} must be true or false, not ${JSON.stringify(value)}`);
  return value === 'true';
}

function authMode(value: string | undefined): boolean {
  if (value === undefined) return false;
  if (value !== 'none') throw new ConfigError(`AUTH may only be none (access control off), not ${JSON.stringify(value)}`);
  return true;
}

function list(value: string | undefined): string[] {
  return (value ?? '').split(',').map((s) => s.trim()).filter((s) => s !== '');
}

function networks(name: string, value: string | undefined): string[] {
  const cidrs = list(value);
  try {
    networkList(cidrs);
  } catch (error) {
    throw new ConfigError(`${name}: ${(error as Error).message}`);
  }
  return cidrs;
}

function scopeList(name: string, value: string): string[] {
  const scopes = list(value);
  const unknown = scopes.filter((s) => !(allScopes as readonly string[]).includes(s));
  if (unknown.length > 0) throw new ConfigError(`${name}: ${unknown.join(', ')} is not a scope (${allScopes.join(', ')})`);
  return scopes;
}

function origins(value: string | undefined): string[] {
  const given = list(value);
  try {
    new OriginList(given);
  } catch (error) {
    if (error instanceof OriginListError) throw new ConfigError(`CORS_ORIGINS: ${error.message}`);
    throw error;
  }
  return given;
}

/** The keys of LINK_SIGNING_KEY, checked; never echoed in an error. */
function signingKeys(value: string | undefined): string[] {
  const keys = list(value);
  try {
    if (keys.length > 0) new SigningKeys(keys);
  } catch (error) {
    if (error instanceof SigningKeyError) throw new ConfigError(error.message);
    throw error;
  }
  return keys;
}

/** PLAYBACK_LINK_BASE: an http(s) URL of a host, with an optional path prefix, no query; kept without its trailing slash. */
function publicBase(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  let url: URL | undefined;
  try {
    url = new URL(value);
  } catch {
    // said below
  }
  if (!url || (url.protocol !== 'https:' && url.protocol !== 'http:') || url.search !== '' || url.hash !== '' || url.username !== '' || url.password !== '') {
    throw new ConfigError(`PLAYBACK_LINK_BASE must be an http(s) URL without query, e.g. https://gw.example.com, not ${JSON.stringify(value)}`);
  }
  return `${url.origin}${url.pathname}`.replace(/\/+$/, '');
}

function linkFormat(value: string): string {
  const format = value.toLowerCase();
  if (!exportMediaFormats.some((f) => f.toLowerCase() === format)) throw new ConfigError(`PLAYBACK_LINK_FORMAT must be one of ${exportMediaFormats.join(', ').toLowerCase()}, not ${JSON.stringify(value)}`);
  return format;
}

function playbackLinks(base: string | undefined, expiresIn: string, format: string): GatewayConfig['access']['playbackLinks'] {
  const lifetimeSeconds = integer('PLAYBACK_LINK_EXPIRES_IN', expiresIn, 1, maxLinkLifetimeSeconds);
  const checkedFormat = linkFormat(format);
  return base === undefined ? undefined : { base, lifetimeSeconds, format: checkedFormat };
}

/** REDIS_URL, checked for its scheme; an error never echoes it (it may hold a password). */
function redisOf(url: string | undefined, prefix: string): { url: string; prefix: string } | undefined {
  if (url === undefined || url === '') return undefined;
  let scheme: string;
  try {
    scheme = new URL(url).protocol;
  } catch {
    throw new ConfigError('REDIS_URL must be a URL: redis://[user:password@]host:port[/db] or rediss:// for TLS');
  }
  if (scheme !== 'redis:' && scheme !== 'rediss:') throw new ConfigError(`REDIS_URL must start with redis:// or rediss://, not ${scheme}//`);
  if (!/^[A-Za-z0-9:_.-]{0,64}$/.test(prefix)) throw new ConfigError('REDIS_PREFIX may hold at most 64 letters, digits and : _ . -');
  return { url, prefix };
}

function rateLimitOf(max: number, windowMs: number): { max: number; windowMs: number } | undefined {
  return max === 0 ? undefined : { max, windowMs };
}

function oidcSettings(issuer: string | undefined, audience: string | undefined): { issuer: string; audience: string } | undefined {
  if (!issuer && !audience) return undefined;
  if (!issuer || !audience) throw new ConfigError('OIDC needs both OIDC_ISSUER and OIDC_AUDIENCE');
  return { issuer, audience };
}

function recordingSources(value: string): RecordingSourceName[] {
  const names = value.split(',').map((s) => s.trim().toLowerCase()).filter((s) => s !== '');
  const unknown = names.filter((n) => !(recordingSourceOrder as readonly string[]).includes(n));
  if (unknown.length > 0) throw new ConfigError(`RECORDINGS_SOURCES: ${unknown.join(', ')} is not a source (${recordingSourceOrder.join(', ')})`);
  if (new Set(names).size !== names.length) throw new ConfigError('RECORDINGS_SOURCES names a source twice');
  return names as RecordingSourceName[];
}

/** A table name, optionally schema-qualified: names, never SQL. */
function databaseTable(value: string): string {
  if (!/^[A-Za-z_][A-Za-z0-9_]{0,127}(\.[A-Za-z_][A-Za-z0-9_]{0,127})?$/.test(value)) {
    throw new ConfigError(`RECORDINGS_DB_TABLE must be a table name or schema.table, not ${JSON.stringify(value)}`);
  }
  return value;
}

function timeZone(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  try {
    return new RecorderClock(value).zone;
  } catch (error) {
    throw new ConfigError(`RECORDINGS_TIME_ZONE: ${(error as Error).message}`);
  }
}

/** Read the configuration; returns undefined when help was asked for. */
export function loadConfig(argv: readonly string[], env: NodeJS.ProcessEnv): GatewayConfig | undefined {
  const options = Object.fromEntries(Object.values(settings).map((s: Setting) => [s.flag, { type: 'string' as const }]));
  const { values } = parseArgs({ args: [...argv], options: { ...options, help: { type: 'boolean', short: 'h' } }, strict: true });
  if (values.help) return undefined;
  const get = (name: SettingName): string | undefined => {
    const s: Setting = settings[name];
    const flag = (values as Record<string, string | boolean | undefined>)[s.flag];
    return (typeof flag === 'string' ? flag : undefined) ?? (env[s.env] || undefined) ?? s.default;
  };
  const dataDir = get('dataDir') ?? path.join(get('simDataDir')!, 'gateway');
  const cert = get('tlsCert');
  const key = get('tlsKey');
  if (!!cert !== !!key) throw new ConfigError('TLS needs both TLS_CERT_FILE and TLS_KEY_FILE');
  if (!cert && get('httpMode') !== 'serve') throw new ConfigError('HTTP_MODE redirect or off needs TLS (TLS_CERT_FILE and TLS_KEY_FILE)');
  return {
    host: get('host')!,
    port: integer('PORT', get('port')!, 0, 65535),
    tls: cert && key ? { certFile: cert, keyFile: key, port: integer('TLS_PORT', get('tlsPort')!, 0, 65535), httpMode: httpMode(get('httpMode')!) } : undefined,
    core: {
      host: get('coreHost'),
      port: integer('CORE_PORT', get('corePort')!, 0, 65535),
      eventPort: integer('CORE_EVENT_PORT', get('coreEventPort')!, 0, 65535),
      poolSize: integer('CORE_POOL_SIZE', get('corePoolSize')!, 1, 256),
      timeoutMs: integer('CORE_TIMEOUT_MS', get('coreTimeoutMs')!, 1, 600_000),
      queueMax: integer('CORE_QUEUE_MAX', get('coreQueueMax')!, 0, 1_000_000),
      connectTimeoutMs: integer('CORE_CONNECT_TIMEOUT_MS', get('coreConnectTimeoutMs')!, 1, 600_000),
      probeTimeoutMs: integer('CORE_PROBE_TIMEOUT_MS', get('coreProbeTimeoutMs')!, 1, 600_000),
      stallMs: integer('CORE_STALL_MS', get('coreStallMs')!, 1, 3_600_000),
    },
    simDataDir: get('simDataDir')!,
    redis: redisOf(get('redisUrl'), get('redisPrefix')!),
    logLevel: get('logLevel')!,
    exports: {
      pathMap: get('pathMap'),
      ffmpegPath: get('ffmpegPath'),
      maxTranscodes: integer('EXPORT_MAX_TRANSCODES', get('maxTranscodes')!, 1, 256),
      maxTranscodesPerCredential: integer('EXPORT_MAX_TRANSCODES_PER_CREDENTIAL', get('maxTranscodesPerCredential')!, 1, 256),
      transcodeWaitMs: integer('EXPORT_TRANSCODE_WAIT_MS', get('transcodeWaitMs')!, 0, 600_000),
      maxConcurrent: integer('EXPORT_MAX_CONCURRENT', get('maxExports')!, 1, 100_000),
      maxPerCredential: integer('EXPORT_MAX_PER_CREDENTIAL', get('maxExportsPerCredential')!, 1, 100_000),
      stallTimeoutMs: integer('EXPORT_STALL_TIMEOUT_MS', get('exportStallTimeoutMs')!, 1, 3_600_000),
      cacheDir: get('mediaCacheDir') ?? path.join(dataDir, 'media-cache'),
      cacheMaxBytes: integer('MEDIA_CACHE_MAX_BYTES', get('mediaCacheMaxBytes')!, 0, Number.MAX_SAFE_INTEGER),
    },
    // Beside the embedded simulator's by default: one folder holds everything `npm start` keeps.
    dataDir,
    access: {
      open: authMode(get('auth')),
      keysFile: get('apiKeysFile') ?? path.join(dataDir, 'api-keys.yaml'),
      webApiQueryKeys: boolean('WEBAPI_QUERY_KEYS', get('webApiQueryKeys')!),
      webApiCidrs: networks('WEBAPI_ALLOW_CIDRS', get('webApiAllowCidrs')),
      webApiCidrScopes: scopeList('WEBAPI_CIDR_SCOPES', get('webApiCidrScopes')!),
      corsOrigins: origins(get('corsOrigins')),
      corsWebApi: boolean('CORS_WEBAPI', get('corsWebApi')!),
      linkSigningKeys: signingKeys(get('linkSigningKey')),
      playbackLinks: playbackLinks(publicBase(get('playbackLinkBase')), get('playbackLinkExpiresIn')!, get('playbackLinkFormat')!),
      metricsAuth: boolean('METRICS_AUTH', get('metricsAuth')!),
      auditFile: get('auditLogFile'),
      oidc: oidcSettings(get('oidcIssuer'), get('oidcAudience')),
      rateLimit: rateLimitOf(integer('RATE_LIMIT_MAX', get('rateLimitMax')!, 0, 1_000_000_000), integer('RATE_LIMIT_WINDOW_MS', get('rateLimitWindowMs')!, 1, 86_400_000)),
    },
    recordings: {
      sources: recordingSources(get('recordingSources')!),
      databaseUrl: get('recordingsDbUrl'),
      databaseTable: databaseTable(get('recordingsDbTable')!),
      databasePoolSize: integer('RECORDINGS_DB_POOL_SIZE', get('recordingsDbPoolSize')!, 1, 64),
      databaseTimeoutMs: integer('RECORDINGS_DB_TIMEOUT_MS', get('recordingsDbTimeoutMs')!, 1, 600_000),
      timeZone: timeZone(get('recordingsTimeZone')),
      indexKeepDays: integer('RECORDINGS_INDEX_KEEP_DAYS', get('recordingsIndexKeepDays')!, 1, 36_500),
      scanLimit: integer('RECORDINGS_SCAN_LIMIT', get('recordingsScanLimit')!, 1, 10_000_000),
    },
    shutdown: {
      delayMs: integer('SHUTDOWN_DELAY_MS', get('shutdownDelayMs')!, 0, 600_000),
      timeoutMs: integer('SHUTDOWN_TIMEOUT_MS', get('shutdownTimeoutMs')!, 0, 3_600_000),
    },
    events: {
      buffer: integer('EVENTS_BUFFER', get('eventsBuffer')!, 1, 100_000),
      heartbeatMs: integer('EVENTS_HEARTBEAT_MS', get('eventsHeartbeatMs')!, 100, 3_600_000),
      maxListeners: integer('EVENTS_MAX_LISTENERS', get('eventsMaxListeners')!, 1, 100_000),
      maxPerCredential: integer('EVENTS_MAX_PER_CREDENTIAL', get('eventsMaxPerCredential')!, 1, 100_000),
      retention: retentionOf(get('eventsRetention')!),
      leaseMs: integer('EVENTS_LEASE_MS', get('eventsLeaseMs')!, 500, 600_000),
    },
    webhooks: {
      allowPrivate: boolean('WEBHOOK_ALLOW_PRIVATE', get('webhookAllowPrivate')!),
      timeoutMs: integer('WEBHOOK_TIMEOUT_MS', get('webhookTimeoutMs')!, 100, 600_000),
      retrySchedule: retrySchedule(get('webhookRetrySchedule')!),
      maxConcurrent: integer('WEBHOOK_MAX_CONCURRENT', get('webhookMaxConcurrent')!, 1, 1000),
      secretOverlapMs: integer('WEBHOOK_SECRET_OVERLAP_MS', get('webhookSecretOverlapMs')!, 0, 30 * 86_400_000),
      leaseMs: integer('WEBHOOK_LEASE_MS', get('webhookLeaseMs')!, 200, 600_000),
    },
  };
}
