/**
 * What never reaches a log line: the values of secret parameters (a CAV export's password, an API
 * key sent as `apikey=`, an OAuth `access_token=`, ...), anything shaped like one of our API keys or
 * a JWT, and the credential headers. One rule, applied where a URL is logged on purpose (the `req`
 * serializer, the not-found line) and again to every finished line, so that a URL Fastify or a
 * library puts in a message or an error (the "Route ... not found" line, a parse error) is covered
 * without our knowing where it comes from.
 */

export const redactedValue = '[redacted]';

/**
 * Parameters whose values are secrets, in a query string or a form body. Matched in any casing,
 * and with any of their characters percent-encoded (`pass%77ord=` is `password=` to the parser).
 */
export const secretParamNames: readonly string[] = ['password', 'encrypt_password', 'apikey', 'api_key', 'access_token', 'ticket', 'signature'];

/** Headers that carry credentials. */
export const secretHeaderNames: readonly string[] = ['authorization', 'proxy-authorization', 'x-api-key', 'cookie', 'set-cookie'];

/**
 * pino `redact` paths: the credential headers, should a request's headers ever be serialized, and
 * the raw bytes Node attaches to an HTTP parse error (`clientError`), which hold the request line
 * and every header as numbers that no text rule can see.
 */
export const redactedLogPaths: readonly string[] = [
  ...secretHeaderNames.map((name) => `req.headers[${JSON.stringify(name)}]`),
  'err.rawPacket',
];

function escapeForPattern(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\-]/g, '\\$&');
}

/** `p` or `%70`, `a` or `%61`, ...: a name as the query parser would decode it. */
function encodedNamePattern(name: string): string {
  return [...name].map((c) => `(?:${escapeForPattern(c)}|%${c.charCodeAt(0).toString(16).padStart(2, '0')})`).join('');
}

const paramNames = secretParamNames.map(encodedNamePattern).join('|');
const fieldNames = [...secretParamNames, ...secretHeaderNames].map(escapeForPattern).join('|');

/**
 * The shapes, each with a group the replacement keeps before `[redacted]`. Each begins with what
 * is rare in a line (`=`, `":"`, `upk`, `ey`) and only then looks back at the name: the expression
 * runs over every line written, and one that tried every secret name at every offset of a line
 * would cost several times the writing of the line.
 * 1. `name=value` (or `name%3Dvalue`) where the name is not the tail of a longer word: `_`, digits
 *    and a percent-encoded character may precede it (`x_password`, `%3Fpassword` in a URL that is
 *    itself a parameter), a letter may not (`newpassword`).
 * 2. a JSON field `"name":"value"`: a secret field of a logged object (a parsed form body, headers),
 *    at any depth.
 * 3. `Bearer token` in text.
 * -  our API keys (`upk_<id>_<secret>`, src/access/api-keys.ts) and JWTs (three base64url parts,
 *    the first a JSON object, so `ey`) anywhere, whole.
 */
function secretPattern(value: string): RegExp {
  return new RegExp(
    [
      `(=|%3d)(?<=(?<!(?<!%[0-9a-f])[a-z])(?:${paramNames})(?:=|%3d))${value}`,
      `(":\\s*")(?<="(?:${fieldNames})":\\s*")(?:\\\\.|[^"\\\\])*`,
      `(?<![a-z])(bearer\\s+)[a-z0-9._~+/=-]{8,}`,
      `(?<![a-z0-9_-])upk(?:_|%5f)[a-z0-9_%-]{8,}`,
      `(?<![a-z0-9_-])ey[a-z0-9_-]{8,}\\.[a-z0-9_-]{8,}\\.[a-z0-9_-]*`,
    ].join('|'),
    'gi',
  );
}

/** In text as it is (a URL, a form body): a value runs to the next `&`, `#` or space. */
const inText = secretPattern('[^&#\\s]*');
/**
 * In a serialized JSON line: a value also ends with its JSON string, and its escapes (`\"`, `\\`)
 * are taken whole, so a cut never leaves a line that is not JSON.
 */
const inJsonLine = secretPattern('(?:\\\\.|[^&#\\s"\\\\])*');

function keepName(_match: string, separator?: string, field?: string, bearer?: string): string {
  return `${separator ?? field ?? bearer ?? ''}${redactedValue}`;
}

/** A URL, a form body or a message with every secret value replaced by `[redacted]`. */
export function redactSecrets(text: string): string {
  return text.replace(inText, keepName);
}

export function redactUrl(url: string | undefined): string {
  return url === undefined ? '' : redactSecrets(url);
}

/**
 * A finished JSON log line, as pino's `streamWrite` hook: the rule applied to what Fastify and
 * libraries log of their own (messages, errors and their stacks) as well as to our fields.
 */
export function redactLogLine(line: string): string {
  return line.replace(inJsonLine, keepName);
}
