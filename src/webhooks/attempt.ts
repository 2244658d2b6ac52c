/**
 * One attempt to deliver a message: a POST to the address checked for the subscription's URL (the
 * request's own DNS lookup is replaced by it), within a time bound, never following a redirect. The
 * answer's body is not wanted: at most a little of it is read so the connection can be kept, then
 * it is dropped.
 */
import http from 'node:http';
import https from 'node:https';
import type { LookupFunction } from 'node:net';
import { retryAfterMs, type AttemptResult } from './retry-policy.js';
import type { SignedHeaders } from './signature.js';
import type { CheckedTarget } from './target.js';

/** Bytes of an answer's body read (and thrown away) so its connection can serve the next attempt. */
const maxDrainedBytes = 64 * 1024;

export interface AttemptOptions {
  timeoutMs: number;
  /** Aborts the attempt (shutdown): it then counts for nothing and is made again later. */
  signal?: AbortSignal;
  agents: { http: http.Agent; https: https.Agent };
  userAgent: string;
}

/** An attempt that was abandoned (shutdown), not answered: nothing is recorded of it. */
export class AttemptAbandoned extends Error {
  override name = 'AttemptAbandoned';
}

/** Every lookup of the request answers the address that was checked. */
function pinnedLookup({ address, family }: CheckedTarget['address']): LookupFunction {
  return ((_hostname: string, options: { all?: boolean }, callback: (...args: unknown[]) => void) => {
    if (options?.all) callback(null, [{ address, family }]);
    else callback(null, address, family);
  }) as LookupFunction;
}

function resultOf(status: number, headers: http.IncomingHttpHeaders, now: number): AttemptResult {
  if (status >= 200 && status < 300) return { kind: 'delivered', responseStatus: status, error: null };
  if (status === 410) return { kind: 'gone', responseStatus: status, error: 'the endpoint answered 410 Gone: the subscription is turned off' };
  if (status >= 300 && status < 400) return { kind: 'failed', responseStatus: status, error: `the endpoint answered ${status}, a redirect; redirects are not followed` };
  const wait = status === 429 || status === 503 ? retryAfterMs(headers['retry-after'], now) : undefined;
  if (wait !== undefined) return { kind: 'throttled', responseStatus: status, retryAfterMs: wait, error: `the endpoint answered ${status} with Retry-After` };
  return { kind: 'failed', responseStatus: status, error: `the endpoint answered ${status}` };
}

export function sendAttempt(target: CheckedTarget, headers: SignedHeaders, body: string, options: AttemptOptions): Promise<AttemptResult> {
  const { url } = target;
  const secure = url.protocol === 'https:';
  return new Promise<AttemptResult>((resolve, reject) => {
    let settled = false;
    const finish = (result: AttemptResult | Error): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', abandon);
      if (result instanceof Error) reject(result);
      else resolve(result);
    };
    const request = (secure ? https : http).request({
      protocol: url.protocol,
      hostname: url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname,
      port: url.port || (secure ? 443 : 80),
      path: `${url.pathname}${url.search}`,
      method: 'POST',
      agent: secure ? options.agents.https : options.agents.http,
      lookup: pinnedLookup(target.address),
      headers: {
        'content-type': 'application/json',
        'content-length': Buffer.byteLength(body),
        'user-agent': options.userAgent,
        ...headers,
      },
    });
    const timer = setTimeout(() => {
      request.destroy();
      finish({ kind: 'failed', responseStatus: null, error: `no answer within ${options.timeoutMs} ms` });
    }, options.timeoutMs);
    const abandon = (): void => {
      request.destroy();
      finish(new AttemptAbandoned('the attempt was abandoned'));
    };
    if (options.signal?.aborted) return abandon();
    options.signal?.addEventListener('abort', abandon, { once: true });
    request.on('response', (response) => {
      const result = resultOf(response.statusCode ?? 0, response.headers, Date.now());
      let drained = 0;
      response.on('data', (chunk: Buffer) => {
        drained += chunk.length;
        if (drained > maxDrainedBytes) response.destroy();
      });
      // The status is the answer: it counts whether or not the body arrives whole.
      response.on('end', () => finish(result));
      response.on('close', () => finish(result));
      response.on('error', () => finish(result));
    });
    request.on('error', (error: Error) => {
      // The error names the address and port at most, never the URL's path or query.
      finish({ kind: 'failed', responseStatus: null, error: error.message.slice(0, 200) });
    });
    request.end(body);
  });
}
