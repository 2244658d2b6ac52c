/**
 * Live events over real HTTP and real TCP: calls made through the WebAPI reach SSE listeners of
 * /api/v1/events (and of the WebAPI's type=events) through the gateway's one subscription to the
 * simulator's event port. Filters, Last-Event-ID, heartbeats, a listener that never reads, the
 * core restarting, the listener bound and shutdown.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, test } from 'node:test';
import { eventSpecs } from '../../src/protocol/events.js';
import { jsonName } from '../../src/protocol/json-names.js';
import { childText, parseXml } from '../../src/protocol/xml.js';
import { startSimulator, type RunningSimulator } from '../../src/sim/simulator.js';
import { startTestGateway, type TestGateway } from './gateway-harness.js';
import { SseClient, type SseEvent } from './sse-client.js';

const flowTypes = ['CALLSTART', 'RECORDINGSTARTED', 'RECORDINGPAUSED', 'RECORDINGRESUMED', 'RECORDINGSTOPPED', 'RECORDINGUPDATE', 'CALLSTOP'];

async function webApi(gw: TestGateway, query: string): Promise<string> {
  const response = await fetch(`${gw.url}/webAPI.aspx?${query}`);
  const body = await response.text();
  assert.equal(response.status, 200, body);
  assert.equal(childText(parseXml(body), 'RESULTCODE'), '20', body);
  return body;
}

/** A recorded call with an update and a blackout, through the WebAPI; REQUESTIDs base+1..base+5. */
async function callFlow(gw: TestGateway, deviceId: string, base: number, user1 = 'flow'): Promise<void> {
  await webApi(gw, `type=callstart&requestid=${base + 1}&deviceid=${deviceId}&user1=${encodeURIComponent(user1)}&ani=6145551234`);
  await webApi(gw, `type=callupdate&requestid=${base + 2}&deviceid=${deviceId}&user9=SpecialCall`);
  await webApi(gw, `type=blackoutstart&requestid=${base + 3}&deviceid=${deviceId}`);
  await webApi(gw, `type=blackoutstop&requestid=${base + 4}&deviceid=${deviceId}`);
  await webApi(gw, `type=callstop&requestid=${base + 5}&deviceid=${deviceId}`);
}

const clients: SseClient[] = [];
async function listen(gw: TestGateway, pathAndQuery = '/api/v1/events', headers: Record<string, string> = {}): Promise<SseClient> {
  const client = await SseClient.open(gw.url + pathAndQuery, headers);
  clients.push(client);
  return client;
}
after(() => {
  for (const client of clients) client.close();
});

const ids = (events: readonly SseEvent[]): number[] => events.map((e) => e.json.id);
const types = (events: readonly SseEvent[]): string[] => events.map((e) => e.event);

async function metricsText(gw: TestGateway): Promise<string> {
  return (await fetch(`${gw.url}/metrics`)).text();
}
function metric(text: string, name: string): number {
  const match = new RegExp(`^${name} (\\S+)$`, 'm').exec(text);
  assert.ok(match, `${name} in /metrics`);
  return Number(match[1]);
}

describe('GET /api/v1/events', () => {
  let gw: TestGateway;
  before(async () => {
    gw = await startTestGateway({}, {}, { exports: false, events: { heartbeatMs: 250 } });
  });
  after(async () => {
    for (const client of clients) client.close();
    await gw.close();
  });

  test('a call flow through the WebAPI reaches a listener in order, as JSON, with increasing ids', async () => {
    const client = await listen(gw);
    assert.equal(client.status, 200);
    assert.equal(client.response.headers['content-type'], 'text/event-stream');
    assert.equal(client.response.headers['cache-control'], 'no-cache');
    assert.ok(client.response.headers['x-request-id']);
    assert.equal(client.response.headers['x-content-type-options'], 'nosniff');
    // The subscription starts with the first listener: connecting, then up.
    assert.equal(await client.nextStatus(), 'connecting');
    assert.equal(await client.nextStatus(), 'up');

    await callFlow(gw, '7001', 100, 'ACCT-42 & <co>');
    const events = await client.nextEvents(flowTypes.length);
    assert.deepEqual(types(events), flowTypes);
    const first = events[0]!.json.id;
    assert.deepEqual(ids(events), flowTypes.map((_, i) => first + i), 'ids increase by one');
    const xrefs: Record<string, string> = { CALLSTART: '101', RECORDINGSTARTED: '101', RECORDINGPAUSED: '103', RECORDINGRESUMED: '104', RECORDINGSTOPPED: '105', RECORDINGUPDATE: '105', CALLSTOP: '105' };
    for (const event of events) {
      const spec = eventSpecs.find((s) => s.type === event.event)!;
      assert.equal(event.id, String(event.json.id), 'the SSE id is the JSON id');
      assert.equal(event.json.type, event.event);
      assert.equal(event.json.eventClass, spec.eventClass);
      assert.equal(event.json.module, spec.module);
      assert.equal(event.json.eventXref, xrefs[event.event], `${event.event} EVENTXREF`);
      assert.match(event.json.receivedAt, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
      assert.deepEqual(Object.keys(event.json.data), spec.fields.map(jsonName), `${event.event} data in the manual's order`);
      assert.equal(event.json.data.deviceId, '7001');
      assert.equal(event.json.data.coreIdent, '1');
      if (spec.fields.includes('USER1')) assert.equal(event.json.data.user1, 'ACCT-42 & <co>', `${event.event} user1`);
      if (spec.fields.includes('ANI')) assert.equal(event.json.data.ani, '6145551234');
    }
    const byType = new Map(events.map((e) => [e.event, e.json]));
    const globalCallId = byType.get('CALLSTART')!.data.globalCallId!;
    assert.match(globalCallId, /^0001[0-9]{11}$/);
    for (const event of events) assert.equal(event.json.data.globalCallId, globalCallId);
    assert.equal(byType.get('CALLSTOP')!.data.user9, 'SpecialCall', 'CALLSTOP carries the updated USER9');
    const start = byType.get('CALLSTART')!;
    assert.match(start.data.startTime!, /^\d{1,2}\/\d{1,2}\/\d{4} \d{1,2}:\d{2}:\d{2} (AM|PM)$/, 'the original text');
    assert.match(start.times.startTime!, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}$/, 'and its ISO-8601 reading');
    assert.match(byType.get('RECORDINGSTOPPED')!.data.recordId!, /^[0-9]+$/);
  });

  test('filters: class, a list of types, a device; each filtered stream is the same events, with the same ids', async () => {
    const all = await listen(gw);
    const record = await listen(gw, '/api/v1/events?class=RECORD');
    const callTypes = await listen(gw, '/api/v1/events?type=callstart,%20CALLSTOP');
    const device = await listen(gw, '/api/v1/events?deviceId=7102');
    const combined = await listen(gw, '/api/v1/events?class=record&deviceId=7102&type=RECORDINGSTOPPED,RECORDINGUPDATE,CALLSTOP');
    for (const client of [all, record, callTypes, device, combined]) await client.statusBecomes('up');
    await callFlow(gw, '7101', 200);
    await callFlow(gw, '7102', 210);
    const everything = await all.nextEvents(2 * flowTypes.length);
    const expect = async (client: SseClient, keep: (e: SseEvent) => boolean): Promise<void> => {
      const wanted = everything.filter(keep);
      const got = await client.nextEvents(wanted.length);
      assert.deepEqual(ids(got), ids(wanted));
      assert.deepEqual(got.map((e) => e.data), wanted.map((e) => e.data));
    };
    await expect(record, (e) => e.json.eventClass === 'RECORD');
    await expect(callTypes, (e) => e.event === 'CALLSTART' || e.event === 'CALLSTOP');
    await expect(device, (e) => e.json.data.deviceId === '7102');
    await expect(combined, (e) => e.event === 'RECORDINGSTOPPED' && e.json.data.deviceId === '7102');
    // Nothing else reached the filtered listeners: a third flow's CALLSTART is the next thing each of them sees.
    await callFlow(gw, '7102', 220);
    assert.equal((await callTypes.nextEvents(1))[0]!.json.eventXref, '221');
    assert.equal((await device.nextEvents(1))[0]!.json.eventXref, '221');
    assert.equal((await record.nextEvents(1))[0]!.event, 'RECORDINGSTARTED');
    assert.equal((await record.nextEvents(1))[0]!.json.eventXref, '223');
  });

  test('a bad filter or event id is a 400 before the first byte', async () => {
    for (const [query, headers, pattern] of [
      ['type=CALLSTRAT', {}, /"CALLSTRAT" is not an event type/],
      ['type=CALLSTART,,', {}, /^type: must match pattern/],
      ['class=AGENT', {}, /^class: must be equal to one of/],
      ['lastEventId=abc', {}, /^lastEventId: must match pattern/],
      ['', { 'last-event-id': '12 OR 1=1' }, /last-event-id/],
      [`deviceId=${'9'.repeat(65)}`, {}, /^deviceId: must NOT have more than 64 characters/],
    ] as const) {
      const response = await fetch(`${gw.url}/api/v1/events?${query}`, { headers: { accept: 'text/event-stream', ...headers } });
      assert.equal(response.status, 400, query);
      assert.match(response.headers.get('content-type') ?? '', /^application\/problem\+json/);
      const problem = (await response.json()) as { detail: string; resultCode: number };
      assert.equal(problem.resultCode, 16);
      assert.match(problem.detail, pattern, query);
    }
  });

  test('every listener shares ONE subscription to the event port', async () => {
    const more = await Promise.all([1, 2, 3].map(() => listen(gw)));
    more.push(await listen(gw, '/webAPI.aspx?type=events&requestid=0'));
    for (const client of more) await client.statusBecomes('up');
    assert.ok(gw.events.stats.listeners >= 4);
    assert.equal(gw.sim.context.events.subscriberCount, 1, 'the event port has one subscriber');
    assert.equal(gw.events.stats.connections, 1, 'one connection was ever opened');
    await callFlow(gw, '7103', 300);
    const received = await Promise.all(more.map((client) => client.nextEvents(flowTypes.length)));
    for (const events of received) assert.deepEqual(ids(events), ids(received[0]!));
  });

  test('Last-Event-ID replays exactly the events missed, then goes on live; the header wins over lastEventId', async () => {
    const witness = await listen(gw);
    const first = await listen(gw);
    await first.statusBecomes('up');
    await witness.statusBecomes('up');
    await callFlow(gw, '7104', 400);
    const seen = await first.nextEvents(flowTypes.length);
    first.close();
    await callFlow(gw, '7104', 410);
    const lastSeen = seen.at(-1)!.id;

    const resumed = await listen(gw, '/api/v1/events', { 'last-event-id': lastSeen });
    const byQuery = await listen(gw, `/api/v1/events?lastEventId=${lastSeen}`);
    // An EventSource reconnecting to a URL that still names where it started.
    const both = await listen(gw, `/api/v1/events?lastEventId=${seen[0]!.id}`, { 'last-event-id': lastSeen });
    const missed = (await witness.nextEvents(2 * flowTypes.length)).slice(flowTypes.length);
    for (const client of [resumed, byQuery, both]) {
      const replayed = await client.nextEvents(flowTypes.length);
      assert.deepEqual(ids(replayed), ids(missed));
      assert.deepEqual(replayed.map((e) => e.data), missed.map((e) => e.data));
      assert.ok(!client.messages.some((m) => m.event === 'gap'));
    }
    await callFlow(gw, '7104', 420);
    const live = await witness.nextEvents(flowTypes.length);
    for (const client of [resumed, byQuery, both]) assert.deepEqual(ids(await client.nextEvents(flowTypes.length)), ids(live));

    // An id this gateway never gave (another run's): a gap, then everything held.
    const stranger = await listen(gw, '/api/v1/events', { 'last-event-id': '1' });
    const gap = await stranger.next((m) => m.event === 'gap');
    const oldest = gw.events.stats.oldestId;
    assert.deepEqual(JSON.parse(gap.data), { lastEventId: 1, resumeFrom: oldest });
    const held = await stranger.nextEvents(gw.events.stats.held);
    assert.equal(held[0]!.json.id, oldest);
  });

  test('a heartbeat comment keeps an idle stream alive', async () => {
    const client = await listen(gw, '/api/v1/events?deviceId=nobody');
    await client.statusBecomes('up');
    await client.until(() => (client.comments.filter((c) => c === 'heartbeat').length >= 2 ? true : undefined), 'two heartbeats');
  });

  test("the WebAPI's type=events streams the same events when text/event-stream is accepted, and goes to the core otherwise", async () => {
    const client = await listen(gw, '/webAPI.aspx?type=events&requestid=0&eventclass=CALL&eventvalue=7105');
    assert.equal(client.status, 200);
    assert.equal(client.response.headers['content-type'], 'text/event-stream');
    const rest = await listen(gw, '/api/v1/events?class=CALL&deviceId=7105');
    await client.statusBecomes('up');
    await rest.statusBecomes('up');
    await callFlow(gw, '7106', 500);
    await callFlow(gw, '7105', 510);
    const events = await client.nextEvents(2);
    assert.deepEqual(types(events), ['CALLSTART', 'CALLSTOP']);
    assert.deepEqual(events.map((e) => e.json.eventXref), ['511', '515']);
    assert.deepEqual(ids(events), ids(await rest.nextEvents(2)), 'the same stream as /api/v1/events');

    // Resuming through the WebAPI too.
    const resumed = await listen(gw, '/webAPI.aspx?type=events&requestid=0&eventclass=CALL&eventvalue=7105', { 'last-event-id': events[0]!.id });
    assert.deepEqual(ids(await resumed.nextEvents(1)), [events[1]!.json.id]);

    // Without the Accept header, as before: the core is asked, and says EVENTS belongs to its event port.
    const plain = await fetch(`${gw.url}/webAPI.aspx?type=events&requestid=0&eventclass=CALL`);
    assert.equal(plain.status, 200);
    assert.equal(plain.headers.get('content-type'), 'text/xml; charset=utf-8');
    assert.match(await plain.text(), /<RESULTCODE>15<\/RESULTCODE>[\s\S]*served on the event port/);
    const refused = await fetch(`${gw.url}/webAPI.aspx?type=events&requestid=0`, { headers: { accept: 'text/html, text/event-stream;q=0' } });
    assert.equal(refused.headers.get('content-type'), 'text/xml; charset=utf-8');
    await refused.text();

    // The WebAPI's own rules still hold, answered in its own XML.
    const badClass = await fetch(`${gw.url}/webAPI.aspx?type=events&requestid=0&eventclass=AGENT`, { headers: { accept: 'text/event-stream' } });
    assert.equal(badClass.status, 400);
    const badRoot = parseXml(await badClass.text());
    assert.equal(childText(badRoot, 'RESULTCODE'), '30');
    assert.equal(childText(badRoot, 'REQUESTTYPE'), 'EVENTS');
    const noId = await fetch(`${gw.url}/webAPI.aspx?type=events`, { headers: { accept: 'text/event-stream' } });
    assert.equal(noId.status, 400);
    assert.equal(childText(parseXml(await noId.text()), 'RESULTCODE'), '14');
  });

  test('metrics: listeners, events received, the event port up', async () => {
    const text = await metricsText(gw);
    assert.equal(metric(text, 'uptivity_events_listeners'), gw.events.stats.listeners);
    assert.ok(metric(text, 'uptivity_events_received_total') >= 7 * flowTypes.length);
    assert.equal(metric(text, 'uptivity_events_port_up'), 1);
    assert.equal(metric(text, 'uptivity_events_listeners_dropped_total'), 0);
    assert.ok(metric(text, 'uptivity_events_buffered_bytes') >= 0);
  });
});

describe('a listener that does not read', () => {
  let gw: TestGateway;
  const highWaterMark = 16 * 1024;
  before(async () => {
    gw = await startTestGateway({}, {}, { exports: false, events: { capacity: 20, maxMessageBytes: 256 * 1024, highWaterMark } });
  });
  after(async () => {
    await gw.close();
  });

  test('is dropped once the buffer moves past it, holding no more than its socket buffers, while a fast one keeps receiving', async () => {
    const fast = await listen(gw);
    await fast.statusBecomes('up');
    const slow = net.connect(Number(new URL(gw.url).port), '127.0.0.1');
    await once(slow, 'connect');
    slow.on('error', () => undefined);
    slow.write('GET /api/v1/events HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n\r\n');
    slow.pause();
    await fast.until(() => (gw.events.stats.listeners === 2 ? true : undefined), 'the slow listener attached', 5000);

    // Large events, published straight into the simulator's event port, fill the kernel's socket
    // buffers within a few hundred; the fast listener is waited for after each batch.
    const big = 'x'.repeat(8 * 1024);
    const values = { DEVICEID: 'flood', USER4: big, USER5: big, USER6: big, USER7: big, USER8: big };
    const maxEventBytes = 5 * big.length + 2048;
    let published = 0;
    let maxBuffered = 0;
    while (gw.events.stats.dropped === 0 && published < 3000) {
      for (let i = 0; i < 10; i++) gw.sim.context.events.publish('CALLSTART', values, ++published);
      await fast.until(() => (fast.events.length >= published ? true : undefined), `${published} events`, 20_000);
      maxBuffered = Math.max(maxBuffered, metric(await metricsText(gw), 'uptivity_events_buffered_bytes'));
    }
    assert.equal(gw.events.stats.dropped, 1, `the slow listener was dropped after ${published} events`);
    assert.equal(gw.events.stats.listeners, 1);
    assert.ok(maxBuffered <= 2 * highWaterMark + 2 * maxEventBytes, `the event streams held ${maxBuffered} bytes at most`);
    assert.ok(gw.events.stats.held <= 20);
    const text = await metricsText(gw);
    assert.equal(metric(text, 'uptivity_events_listeners_dropped_total'), 1);

    // The fast listener got every event, in order; the slow one's connection was cut.
    const events = fast.events;
    assert.equal(events.length, published);
    assert.deepEqual(ids(events), ids(events).map((_, i) => events[0]!.json.id + i));
    assert.deepEqual(events.map((e) => e.json.eventXref).slice(-3), [published - 2, published - 1, published].map(String));
    const closed = once(slow, 'close');
    slow.resume();
    await closed;
    await callFlow(gw, '7201', 600);
    await fast.until(() => (fast.events.length === published + flowTypes.length ? true : undefined), 'the call flow after the drop');
    assert.deepEqual(types(fast.events.slice(-flowTypes.length)), flowTypes);
  });

  test('resuming from an id the buffer no longer holds: a gap, then the events held', async () => {
    const oldest = gw.events.stats.oldestId;
    const client = await listen(gw, '/api/v1/events', { 'last-event-id': String(oldest - 5) });
    const gap = await client.next((m) => m.event === 'gap');
    assert.deepEqual(JSON.parse(gap.data), { lastEventId: oldest - 5, resumeFrom: oldest });
    const held = await client.nextEvents(gw.events.stats.held);
    assert.equal(held.length, 20);
    assert.deepEqual(ids(held), ids(held).map((_, i) => oldest + i));
  });
});

describe('a listener that stops draining while no events come', () => {
  test('is cut after stallMs, though the buffer never moves past it', async () => {
    const highWaterMark = 16 * 1024;
    const gw = await startTestGateway({}, {}, {
      exports: false,
      events: { capacity: 1000, maxBytes: 256 * 1024 * 1024, maxMessageBytes: 256 * 1024, highWaterMark, heartbeatMs: 100, stallMs: 500 },
    });
    try {
      const slow = net.connect(Number(new URL(gw.url).port), '127.0.0.1');
      await once(slow, 'connect');
      slow.on('error', () => undefined);
      slow.write('GET /api/v1/events HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n\r\n');
      slow.pause();
      const fast = await listen(gw);
      await fast.statusBecomes('up');
      const big = 'x'.repeat(8 * 1024);
      const values = { DEVICEID: 'flood', USER4: big, USER5: big, USER6: big, USER7: big, USER8: big };
      let published = 0;
      while (metric(await metricsText(gw), 'uptivity_events_buffered_bytes') < highWaterMark && published < 900) {
        for (let i = 0; i < 10; i++) gw.sim.context.events.publish('CALLSTART', values, ++published);
        await fast.until(() => (fast.events.length >= published ? true : undefined), `${published} events`, 20_000);
      }
      assert.ok(published < 900, 'the slow listener filled up');
      assert.equal(gw.events.stats.dropped, 0);
      await fast.until(() => (gw.events.stats.dropped === 1 ? true : undefined), 'the stalled listener to be dropped', 10_000);
      assert.equal(gw.events.stats.listeners, 1);
      assert.ok(gw.events.stats.held < 1000, 'the buffer never moved past it');
      const closed = once(slow, 'close');
      slow.resume();
      await closed;
    } finally {
      await gw.close();
    }
  });
});

describe('the core restarting', () => {
  let gw: TestGateway;
  let second: RunningSimulator | undefined;
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'events-restart-'));
  before(async () => {
    gw = await startTestGateway({ dataDir }, { backoffInitialMs: 50, backoffMaxMs: 300 }, { exports: false });
  });
  after(async () => {
    await gw.close();
    await second?.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  test('the stream stays open and says so; the subscription comes back and events flow again', async () => {
    const client = await listen(gw);
    await client.statusBecomes('up');
    await callFlow(gw, '7301', 700);
    const before = await client.nextEvents(flowTypes.length);

    const { port, eventPort } = gw.sim;
    await gw.sim.close();
    await client.statusBecomes('down');
    assert.equal(client.ended, false, 'the stream stays open while the core is away');
    assert.equal(metric(await metricsText(gw), 'uptivity_events_port_up'), 0);
    // A listener arriving now is told at once.
    const late = await listen(gw);
    assert.equal(late.status, 200);
    assert.equal(await late.nextStatus(), 'down');

    const outageFrom = Date.now();
    second = await startSimulator({ port, eventPort, dataDir });
    await client.statusBecomes('up', 20_000);
    await late.statusBecomes('up', 20_000);
    // Whatever the core sent while nobody was subscribed is lost: every listener is told, in order.
    const [gap] = await client.nextEvents(1);
    assert.equal(gap!.event, 'gap');
    assert.equal(gap!.json.id, before.at(-1)!.json.id + 1);
    const window = gap!.json as unknown as { from: string; to: string; reason: string };
    assert.ok(Date.parse(window.from) <= outageFrom, `the window starts when the subscription was lost: ${window.from}`);
    assert.ok(Date.parse(window.to) >= outageFrom && Date.parse(window.to) <= Date.now());
    assert.match(window.reason, /event port was down/);
    assert.deepEqual(ids(await late.nextEvents(1)), ids([gap!]), 'a listener that came during the outage hears of it too');
    assert.equal(second.context.events.subscriberCount, 1);
    assert.ok(gw.events.stats.connections >= 2);
    // The pool reconnects on its own schedule; a call goes through once it has.
    const deadline = Date.now() + 20_000;
    while (!gw.pool.stats.up && Date.now() < deadline) await sleep(50);
    await callFlow(gw, '7301', 710);
    const afterRestart = await client.nextEvents(flowTypes.length, 20_000);
    assert.deepEqual(types(afterRestart), flowTypes);
    assert.equal(afterRestart[0]!.json.id, gap!.json.id + 1, 'ids go on from where they were');
    assert.deepEqual(ids(await late.nextEvents(flowTypes.length)), ids(afterRestart));
  });
});

describe('bounds and shutdown', () => {
  test('past the listener bound: 503 with Retry-After, in each surface\'s own format; close() ends open streams', async () => {
    const gw = await startTestGateway({}, {}, { exports: false, events: { maxListeners: 2 } });
    try {
      const a = await listen(gw);
      const b = await listen(gw, '/webAPI.aspx?type=events&requestid=0');
      await a.statusBecomes('up');
      await b.statusBecomes('up');
      const rest = await fetch(`${gw.url}/api/v1/events`, { headers: { accept: 'text/event-stream' } });
      assert.equal(rest.status, 503);
      assert.equal(rest.headers.get('retry-after'), '5');
      const problem = (await rest.json()) as { detail: string; resultCode: number };
      assert.match(problem.detail, /no more event streams/);
      assert.equal(problem.resultCode, 48, 'API_TOO_MANY_CLIENTS, as the WebAPI says');
      const webApiRefused = await fetch(`${gw.url}/webAPI.aspx?type=events&requestid=0`, { headers: { accept: 'text/event-stream' } });
      assert.equal(webApiRefused.status, 503);
      assert.equal(childText(parseXml(await webApiRefused.text()), 'RESULTCODE'), '48');
      b.close();
      await a.until(() => (gw.events.stats.listeners === 1 ? true : undefined), 'the closed listener to leave');
      const c = await listen(gw);
      assert.equal(c.status, 200);

      const started = Date.now();
      await gw.close();
      await a.waitEnded(5000);
      await c.waitEnded(5000);
      assert.ok(Date.now() - started < 5000, 'close() does not wait on open streams');
      assert.equal(gw.sim.context.events.subscriberCount, 0);
    } finally {
      await gw.close();
    }
  });
});
