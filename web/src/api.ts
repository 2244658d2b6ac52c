/**
 * How the console calls the gateway's public REST API, as any integrator's page would: same
 * origin, JSON, and the caller's API key as `Authorization: Bearer` once the gateway asks for one
 * (a 401). The key is kept in this tab's sessionStorage, never in a URL, a cookie or the page.
 */

const keyStorageName = 'uptivity-gateway.api-key';
/** Longer than any key or access token the gateway takes; a bound on what is stored and sent. */
export const maxKeyLength = 8192;
/** No call of the page waits longer than this for an answer's headers. */
const requestTimeoutMs = 20_000;

/** Where the key is held when the browser refuses storage (a privacy mode): this page only. */
let keyInMemory: string | undefined;

export function storedKey(): string | undefined {
  try {
    return sessionStorage.getItem(keyStorageName) || keyInMemory;
  } catch {
    return keyInMemory;
  }
}

export function storeKey(key: string): void {
  try {
    sessionStorage.setItem(keyStorageName, key);
  } catch {
    keyInMemory = key;
  }
}

export function forgetKey(): void {
  keyInMemory = undefined;
  try {
    sessionStorage.removeItem(keyStorageName);
  } catch {
    // Nothing was stored there.
  }
}

/** An RFC 9457 problem as the gateway writes one, or what could be read of a failure. */
export interface Problem {
  status: number;
  title?: string;
  detail?: string;
  resultType?: string;
  resultCode?: number;
}

/** A call the gateway refused or failed; `problem` says why in its words. */
export class ApiError extends Error {
  constructor(readonly problem: Problem) {
    super(problem.detail ?? problem.title ?? `HTTP ${problem.status}`);
  }

  get status(): number {
    return this.problem.status;
  }

  /** The route itself does not exist on this gateway (an older one), not a missing resource. */
  get noSuchRoute(): boolean {
    return this.problem.status === 404 && this.problem.resultType === 'API_INVALID_REQUEST_TYPE';
  }
}

/** Told when a call answers 401, so the page can ask for a key. */
let onUnauthorized: (error: ApiError) => void = () => undefined;
export function whenUnauthorized(listener: (error: ApiError) => void): void {
  onUnauthorized = listener;
}

async function problemOf(response: Response): Promise<Problem> {
  const type = response.headers.get('content-type') ?? '';
  if (type.includes('json')) {
    try {
      const body = (await response.json()) as Partial<Problem>;
      return {
        status: response.status,
        ...(typeof body.title === 'string' ? { title: body.title } : {}),
        ...(typeof body.detail === 'string' ? { detail: body.detail } : {}),
        ...(typeof body.resultType === 'string' ? { resultType: body.resultType } : {}),
        ...(typeof body.resultCode === 'number' ? { resultCode: body.resultCode } : {}),
      };
    } catch {
      // Not the JSON it said: the status says enough.
    }
  }
  return { status: response.status, title: response.statusText };
}

/** A request to the gateway with the stored key, if any; failures become an ApiError. */
export async function call(path: string, init: RequestInit = {}): Promise<Response> {
  const headers = new Headers(init.headers);
  const key = storedKey();
  if (key) headers.set('authorization', `Bearer ${key}`);
  let response: Response;
  try {
    response = await fetch(path, { ...init, headers, credentials: 'same-origin', signal: init.signal ?? AbortSignal.timeout(requestTimeoutMs) });
  } catch (error) {
    throw new ApiError({ status: 0, detail: `The gateway could not be reached (${error instanceof Error ? error.message : String(error)}).` });
  }
  if (response.ok) return response;
  const error = new ApiError(await problemOf(response));
  if (response.status === 401) onUnauthorized(error);
  throw error;
}

export async function getJson<T>(path: string, signal?: AbortSignal): Promise<T> {
  const response = await call(path, { headers: { accept: 'application/json' }, ...(signal ? { signal } : {}) });
  return (await response.json()) as T;
}

export async function postJson<T>(path: string, body?: unknown): Promise<T> {
  const response = await call(path, {
    method: 'POST',
    headers: body === undefined ? { accept: 'application/json' } : { accept: 'application/json', 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return (await response.json()) as T;
}

/** What a failure says to a person. */
export function describe(error: unknown): string {
  if (error instanceof ApiError) {
    const { status, detail, title } = error.problem;
    if (status === 401) return 'The gateway needs an API key.';
    if (status === 403) return `Not allowed: ${detail ?? title ?? 'this key lacks the scope'}`;
    return status === 0 ? (detail ?? 'The gateway could not be reached.') : `${status}: ${detail ?? title ?? 'failed'}`;
  }
  return error instanceof Error ? error.message : String(error);
}
