/**
 * A call flow as an integrator would write it against the gateway's REST API, with a client
 * generated from the gateway's OpenAPI document:
 *
 *   npx openapi-typescript http://127.0.0.1:2012/openapi.json -o api.d.ts
 *   npx tsc -p .
 *   node dist/call-flow.js http://127.0.0.1:2012 1111 case-42
 *
 * Arguments (or GATEWAY_URL, DEVICE_ID, USER9): the gateway, the device to place a call on, the
 * USER9 to tag the call with. Prints what it read as JSON on stdout; on a refusal it prints the
 * problem on stderr and exits 1.
 *
 * Every field it reads is typed by the generated `paths`: when the document stops describing an
 * answer, this program stops compiling.
 */
import createClient from 'openapi-fetch';
import type { paths } from './api.js';

const baseUrl = process.argv[2] ?? process.env['GATEWAY_URL'] ?? 'http://127.0.0.1:2012';
const deviceId = process.argv[3] ?? process.env['DEVICE_ID'] ?? '1111';
const user9 = process.argv[4] ?? process.env['USER9'] ?? 'call-flow';
const pageSize = 2;
const maxPages = 100;

const client = createClient<paths>({ baseUrl });

/** A change's answer: the core's result. */
interface Outcome {
  type: string;
  code: number | null;
  message: string;
}

interface Summary {
  gateway: string;
  test: Outcome;
  start: Outcome;
  update: Outcome;
  device: {
    deviceId: string | null;
    deviceAlias: string | null;
    user9: string | null;
    isRecording: boolean | null;
    fileName: string | null;
    startTimeIso: string | null;
  };
  stop: Outcome;
  recordings: {
    pages: number;
    recordIds: number[];
    first: { recordId: number | null; user9: string | null; recordingTime: number | null; recordingTimeIso: string | null } | null;
  };
  users: { userId: number | null; username: string | null; phones: string[] }[];
}

class Refused extends Error {}

/** The answer of a call that succeeded; a refusal (problem+json) or a failure stops the flow. */
async function answer<T>(what: string, call: Promise<{ data?: T; error?: unknown; response: Response }>): Promise<T> {
  const { data, error, response } = await call;
  if (data === undefined) throw new Refused(`${what}: HTTP ${response.status} ${JSON.stringify(error)}`);
  return data;
}

const outcome = (result: Outcome): Outcome => ({ type: result.type, code: result.code, message: result.message });

async function run(): Promise<Summary> {
  const test = await answer('GET /system/test', client.GET('/api/v1/system/test'));

  const start = await answer('POST /calls/start', client.POST('/api/v1/calls/start', { body: { deviceId, callDirection: 'I' } }));
  const update = await answer('POST /calls/update', client.POST('/api/v1/calls/update', { body: { deviceId, user9 } }));

  const status = await answer(
    'GET /devices/{deviceId}',
    client.GET('/api/v1/devices/{deviceId}', { params: { path: { deviceId } } }),
  );
  const { device } = status;

  const stop = await answer('POST /calls/stop', client.POST('/api/v1/calls/stop', { body: { deviceId } }));

  // The device's recordings, newest first, a page at a time: `next` is the same query with a cursor.
  const recordIds: number[] = [];
  let first: Summary['recordings']['first'] = null;
  let pages = 0;
  let cursor: string | undefined;
  do {
    const page = await answer(
      'GET /recordings',
      client.GET('/api/v1/recordings', { params: { query: { deviceId, limit: pageSize, ...(cursor === undefined ? {} : { cursor }) } } }),
    );
    pages += 1;
    if (pages === 1) {
      const newest = page.recordings[0];
      first = newest
        ? { recordId: newest.recordId ?? null, user9: newest.user9 ?? null, recordingTime: newest.recordingTime ?? null, recordingTimeIso: newest.recordingTimeIso ?? null }
        : null;
    }
    for (const recording of page.recordings) if (typeof recording.recordId === 'number') recordIds.push(recording.recordId);
    const next: string | null = page.next;
    cursor = next === null ? undefined : (new URL(next, baseUrl).searchParams.get('cursor') ?? undefined);
  } while (cursor !== undefined && pages < maxPages);

  const { users } = await answer('GET /users', client.GET('/api/v1/users'));

  return {
    gateway: baseUrl,
    test: outcome(test.result),
    start: outcome(start.result),
    update: outcome(update.result),
    device: {
      deviceId: device.deviceId ?? null,
      deviceAlias: device.deviceAlias ?? null,
      user9: device.user9 ?? null,
      isRecording: device.recording?.isRecording ?? null,
      fileName: device.recording?.fileName ?? null,
      startTimeIso: device.startTimeIso ?? null,
    },
    stop: outcome(stop.result),
    recordings: { pages, recordIds, first },
    users: users.map((user) => ({ userId: user.userId ?? null, username: user.username ?? null, phones: user.phones })),
  };
}

try {
  process.stdout.write(`${JSON.stringify(await run())}\n`);
} catch (error) {
  process.stderr.write(`${error instanceof Refused ? error.message : String(error)}\n`);
  process.exitCode = 1;
}
