/**
 * The event port (the manual's "Event Interface"): the EVENTS subscription and its RESULT, the
 * CALLCOPYEVENTs a call flow on the API port publishes (order, class, MODULE, EVENTDATA fields in
 * the manual's order, EVENTXREF), class and device filters, several subscribers, re-subscription,
 * the documented errors, and a subscriber that stops reading.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { eventSpecs, findEventSpec } from '../../src/protocol/events.js';
import { buildRequest, childText, parseXml, type XmlElement } from '../../src/protocol/xml.js';
import type { RunningSimulator } from '../../src/sim/simulator.js';
import { CoreClient, all, field, startTestSimulator, type Answer } from './harness.js';

const CRLF = '\r\n';

/** The manual's "Request Command", byte for byte apart from the class and value. */
function eventsRequest(eventClass = 'ALL', eventValue = '', requestId = '0'): string {
  return `<REQUEST><REQUESTID>${requestId}</REQUESTID><TYPE>EVENTS</TYPE><EVENTCLASS>${eventClass}</EVENTCLASS><EVENTVALUE>${eventValue}</EVENTVALUE></REQUEST>${CRLF}`;
}

interface ParsedEvent {
  xml: string;
  root: XmlElement;
  headerNames: string[];
  eventClass: string;
  eventType: string;
  module: string;
  eventXref: string;
  fieldNames: string[];
  data: Map<string, string>;
}

function toEvent(xml: string): ParsedEvent {
  const root = parseXml(xml);
  assert.equal(root.name, 'CALLCOPYEVENT', `not an event: ${xml}`);
  const eventData = root.children.find((c) => c.name === 'EVENTDATA');
  assert.ok(eventData, 'the event has EVENTDATA');
  return {
    xml,
    root,
    headerNames: root.children.map((c) => c.name),
    eventClass: childText(root, 'EVENTCLASS') ?? '',
    eventType: childText(root, 'EVENTTYPE') ?? '',
    module: childText(root, 'MODULE') ?? '',
    eventXref: childText(root, 'EVENTXREF') ?? '',
    fieldNames: eventData.children.map((c) => c.name),
    data: new Map(eventData.children.map((c) => [c.name, c.text])),
  };
}

async function subscribe(port: number, eventClass = 'ALL', eventValue = ''): Promise<{ client: CoreClient; result: Answer }> {
  const client = await CoreClient.connect(port);
  const result = await client.raw(eventsRequest(eventClass, eventValue));
  assert.equal(result.code, 20, `subscription failed: ${result.xml}`);
  return { client, result };
}

async function nextEvents(client: CoreClient, count: number, timeoutMs = 5000): Promise<ParsedEvent[]> {
  const events: ParsedEvent[] = [];
  for (let i = 0; i < count; i++) events.push(toEvent(await client.next(timeoutMs)));
  return events;
}

/** Nothing more arrives within `ms` (events are written synchronously, so a short wait suffices). */
async function assertQuiet(client: CoreClient, ms = 200): Promise<void> {
  await assert.rejects(client.next(ms), /no message within/, 'no further event expected');
}

const types = (events: readonly ParsedEvent[]): string[] => events.map((e) => e.eventType);

/** The API side of a recorded call with a blackout, REQUESTIDs base+1..base+4. */
async function callFlow(api: CoreClient, deviceId: string, user1: string, base: number): Promise<void> {
  const start = await api.request('CALLSTART', { DEVICEID: deviceId, USER1: user1, ANI: '6145551234', DNIS: '8005550100', GATE: '80' }, base + 1);
  assert.equal(start.code, 20, start.xml);
  const pause = await api.request('BLACKOUTSTART', { DEVICEID: deviceId }, base + 2);
  assert.equal(pause.code, 20, pause.xml);
  const resume = await api.request('BLACKOUTSTOP', { DEVICEID: deviceId }, base + 3);
  assert.equal(resume.code, 20, resume.xml);
  const stop = await api.request('CALLSTOP', { DEVICEID: deviceId }, base + 4);
  assert.equal(stop.code, 20, stop.xml);
}

/** The EVENTDATA fields of each event, transcribed from the manual's Event Interface chapter. */
const users = (from: number, to: number): string[] => Array.from({ length: to - from + 1 }, (_, i) => `USER${from + i}`);
const manualRecordingFields = [
  'DEVICEID', 'FILENAME', 'CHANNEL', 'ERRORREASON', 'GLOBALCALLID', 'DEVICEALIAS', 'GATE', 'ANI', 'DNIS', 'AGENTID',
  ...users(1, 13), 'CALLINSTANCE', 'USER14', 'USER15', 'GROUP', 'KEEPDAYS', 'ARCHIVEACTION', 'COREIDENT',
];
const manualFields: Record<string, string[]> = {
  CALLSTART: [
    'GLOBALCALLID', 'DEVICEID', 'DEVICEALIAS', 'SYS_USER', 'CRM_USER', 'GATE', 'ANI', 'DNIS', 'AGENTID', ...users(1, 15),
    'GROUP', 'CALLINSTANCE', 'CALLDIRECTION', 'STATION', 'ISTRUNK', 'KEEPDAYS', 'ARCHIVEACTION', 'STARTTIME', 'COREIDENT',
  ],
  CALLSTOP: [
    'DEVICEALIAS', 'SYS_USER', 'CRM_USER', 'GATE', 'ANI', 'DNIS', 'AGENTID', ...users(1, 10), 'CALLINSTANCE', ...users(11, 15),
    'GROUP', 'KEEPDAYS', 'ARCHIVEACTION', 'GLOBALCALLID', 'DEVICEID', 'COREIDENT',
  ],
  RECORDINGSTARTED: manualRecordingFields,
  RECORDINGSTOPPED: ['GLOBALCALLID', 'DEVICEID', 'DEVICEALIAS', 'GATE', 'ANI', 'DNIS', 'AGENTID', ...users(1, 5), 'KEEPDAYS', 'RECORDID', 'COREIDENT'],
  RECORDINGUPDATE: ['GLOBALCALLID', 'DEVICEID', 'KEEPDAYS', 'FILENAME', 'RECORDID', 'COREIDENT'],
  RECORDINGPAUSED: manualRecordingFields,
  RECORDINGRESUMED: manualRecordingFields,
};

const flowTypes = ['CALLSTART', 'RECORDINGSTARTED', 'RECORDINGPAUSED', 'RECORDINGRESUMED', 'RECORDINGSTOPPED', 'RECORDINGUPDATE', 'CALLSTOP'];
const recordTypes = flowTypes.filter((t) => t.startsWith('RECORDING'));

describe('event port', () => {
  let sim: RunningSimulator;
  let api: CoreClient;
  const clients: CoreClient[] = [];
  const track = (c: CoreClient): CoreClient => {
    clients.push(c);
    return c;
  };

  before(async () => {
    sim = await startTestSimulator();
    api = track(await CoreClient.connect(sim.port));
  });
  after(async () => {
    for (const c of clients) c.close();
    await sim.close();
  });

  it("answers the manual's EVENTS request with exactly the Request Result Schema", async () => {
    const client = track(await CoreClient.connect(sim.eventPort));
    client.write(eventsRequest());
    const xml = await client.next();
    const root = parseXml(xml);
    assert.equal(root.name, 'RESULT');
    assert.deepEqual(
      root.children.map((c) => [c.name, c.text]),
      [
        ['REQUESTTYPE', 'EVENTS'],
        ['REQUESTID', '0'],
        ['RESULTTYPE', 'API_OK'],
        ['RESULTCODE', '20'],
        ['RESULTMSG', 'API_OK'],
        ['EVENTXREF', '0'],
        ['EVENTCLASS', 'ALL'],
        ['EVENTTYPE', ''],
      ],
    );
    for (const c of root.children) assert.equal(c.children.length, 0, `${c.name} is a leaf`);
    // Nothing else is sent until something happens.
    await assertQuiet(client);
  });

  it('delivers the CALLCOPYEVENTs of a call flow in order, as the manual documents them', async () => {
    const { client } = await subscribe(sim.eventPort);
    track(client);
    const user1 = 'ACCT-42 & <co>';
    const before = sim.context.clock.now();
    await callFlow(api, '7001', user1, 100);
    const afterFlow = sim.context.clock.now();
    const events = await nextEvents(client, flowTypes.length);
    await assertQuiet(client);

    // stopCall stops (and saves) the recordings first, then publishes CALLSTOP.
    assert.deepEqual(types(events), flowTypes);
    const xrefs = { CALLSTART: '101', RECORDINGSTARTED: '101', RECORDINGPAUSED: '102', RECORDINGRESUMED: '103', RECORDINGSTOPPED: '104', RECORDINGUPDATE: '104', CALLSTOP: '104' };
    for (const event of events) {
      const spec = findEventSpec(event.eventType)!;
      assert.ok(spec, event.eventType);
      assert.deepEqual(event.headerNames, ['EVENTCLASS', 'EVENTTYPE', 'MODULE', 'EVENTXREF', 'EVENTDATA'], event.eventType);
      assert.equal(event.eventClass, event.eventType.startsWith('CALL') ? 'CALL' : 'RECORD', event.eventType);
      assert.equal(event.module, ['RECORDINGSTOPPED', 'RECORDINGUPDATE'].includes(event.eventType) ? '' : 'Api', `${event.eventType} MODULE`);
      assert.equal(event.module, spec.module);
      assert.deepEqual(event.fieldNames, [...spec.fields], `${event.eventType} EVENTDATA fields in eventSpecs' order`);
      assert.deepEqual(event.fieldNames, manualFields[event.eventType], `${event.eventType} EVENTDATA fields in the manual's order`);
      assert.equal(event.eventXref, xrefs[event.eventType as keyof typeof xrefs], `${event.eventType} EVENTXREF is the REQUESTID that caused it`);
      assert.equal(event.data.get('DEVICEID'), '7001', `${event.eventType} DEVICEID`);
      assert.equal(event.data.get('COREIDENT'), '1', `${event.eventType} COREIDENT`);
      if (spec.fields.includes('USER1')) assert.equal(event.data.get('USER1'), user1, `${event.eventType} USER1`);
      if (spec.fields.includes('ANI')) assert.equal(event.data.get('ANI'), '6145551234', `${event.eventType} ANI`);
      if (spec.fields.includes('ERRORREASON')) assert.equal(event.data.get('ERRORREASON'), 'NONE');
    }
    // The escaped USER1 value travelled as text, never as markup.
    assert.ok(events[0]!.xml.includes('ACCT-42 &amp; &lt;co&gt;'));

    const byType = new Map(events.map((e) => [e.eventType, e]));
    const globalCallId = byType.get('CALLSTART')!.data.get('GLOBALCALLID')!;
    assert.match(globalCallId, /^0001[0-9]{11}$/);
    for (const e of events) assert.equal(e.data.get('GLOBALCALLID'), globalCallId, `${e.eventType} GLOBALCALLID`);
    assert.equal(byType.get('CALLSTART')!.data.get('CALLDIRECTION'), 'I');
    assert.match(byType.get('CALLSTART')!.data.get('STARTTIME')!, /^\d{1,2}\/\d{1,2}\/\d{4} \d{1,2}:\d{2}:\d{2} (AM|PM)$/);

    const filename = byType.get('RECORDINGSTARTED')!.data.get('FILENAME')!;
    const m = /^C:\\Recordings\\(\d{4})(\d{2})(\d{2})\\7001\\7001-(\d{2})-(\d{2})-(\d{2})\.wav$/.exec(filename);
    assert.ok(m, `FILENAME ${filename}`);
    const started = new Date(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6])).getTime();
    assert.ok(started >= Math.floor(before / 1000) * 1000 && started <= afterFlow, 'FILENAME carries the local start time');
    for (const t of ['RECORDINGPAUSED', 'RECORDINGRESUMED', 'RECORDINGUPDATE']) assert.equal(byType.get(t)!.data.get('FILENAME'), filename, `${t} FILENAME`);
    const channel = byType.get('RECORDINGSTARTED')!.data.get('CHANNEL')!;
    assert.match(channel, /^[0-9]+$/);
    for (const t of ['RECORDINGPAUSED', 'RECORDINGRESUMED']) assert.equal(byType.get(t)!.data.get('CHANNEL'), channel);

    const recordId = byType.get('RECORDINGSTOPPED')!.data.get('RECORDID')!;
    assert.match(recordId, /^[0-9]+$/);
    assert.equal(byType.get('RECORDINGUPDATE')!.data.get('RECORDID'), recordId);

    // The answers of the API agree with the events.
    const list = await api.request('CALLLIST', { DEVICEID: '7001' }, 105);
    assert.equal(list.code, 20, list.xml);
    const results = all(list.root, 'SEARCHRESULT');
    assert.equal(results.length, 1);
    assert.equal(field(results[0], 'RECORDID'), recordId);
    assert.equal(field(results[0], 'USER1'), user1);
    const info = await api.request('RECORDINGINFO', { IDENT: recordId }, 106);
    assert.equal(info.code, 20, info.xml);
    assert.equal(field(all(info.root, 'RECORDINGS/RECORDING')[0], 'FILENAME'), filename);
    assert.equal(field(all(info.root, 'RECORDINGS/RECORDING')[0], 'GLOBALCALLID'), globalCallId);
    const onDisk = path.join(sim.context.recordingsDir, ...filename.slice('C:\\Recordings\\'.length).split('\\'));
    assert.ok(fs.existsSync(onDisk), `${onDisk} exists`);
  });

  it('filters by EVENTCLASS: CALL gets CALLSTART/CALLSTOP, RECORD the recording events', async () => {
    const call = await subscribe(sim.eventPort, 'CALL');
    const record = await subscribe(sim.eventPort, 'RECORD');
    const everything = await subscribe(sim.eventPort, 'ALL');
    track(call.client);
    track(record.client);
    track(everything.client);
    assert.equal(childText(call.result.root, 'EVENTCLASS'), 'CALL');
    assert.equal(childText(record.result.root, 'EVENTCLASS'), 'RECORD');

    await callFlow(api, '7002', 'class-filter', 200);
    assert.deepEqual(types(await nextEvents(everything.client, flowTypes.length)), flowTypes);
    const callEvents = await nextEvents(call.client, 2);
    assert.deepEqual(types(callEvents), ['CALLSTART', 'CALLSTOP']);
    for (const e of callEvents) assert.equal(e.eventClass, 'CALL');
    const recordEvents = await nextEvents(record.client, recordTypes.length);
    assert.deepEqual(types(recordEvents), recordTypes);
    for (const e of recordEvents) assert.equal(e.eventClass, 'RECORD');
    await assertQuiet(call.client);
    await assertQuiet(record.client);
  });

  it('filters by device when EVENTVALUE names one', async () => {
    const only = await subscribe(sim.eventPort, 'ALL', '7004');
    track(only.client);
    // Events of another device come first; the subscriber's first event must be of its own device.
    await callFlow(api, '7003', 'other device', 300);
    await callFlow(api, '7004', 'my device', 310);
    const events = await nextEvents(only.client, flowTypes.length);
    assert.deepEqual(types(events), flowTypes);
    for (const e of events) assert.equal(e.data.get('DEVICEID'), '7004');
    assert.equal(events[0]!.eventXref, '311');
    await assertQuiet(only.client);
  });

  it('delivers every event to every subscriber', async () => {
    const subscribers = await Promise.all([1, 2, 3].map(() => subscribe(sim.eventPort)));
    for (const s of subscribers) track(s.client);
    await callFlow(api, '7005', 'fan-out', 400);
    const received = await Promise.all(subscribers.map((s) => nextEvents(s.client, flowTypes.length)));
    for (const events of received) {
      assert.deepEqual(types(events), flowTypes);
      assert.deepEqual(events.map((e) => e.xml), received[0]!.map((e) => e.xml), 'identical events');
    }
    for (const s of subscribers) await assertQuiet(s.client);
  });

  it('replaces the subscription when EVENTS is sent again on the same connection', async () => {
    const { client } = await subscribe(sim.eventPort, 'ALL');
    track(client);
    const again = await client.raw(eventsRequest('CALL', '', '0'));
    assert.equal(again.code, 20, again.xml);
    assert.equal(childText(again.root, 'EVENTCLASS'), 'CALL');
    await callFlow(api, '7006', 'replaced', 500);
    const events = await nextEvents(client, 2);
    // Only the CALL class, and once each: the ALL subscription is gone.
    assert.deepEqual(types(events), ['CALLSTART', 'CALLSTOP']);
    await assertQuiet(client);
  });

  it('answers EVENTCLASS FOO with API_EVENT_TYPE_INVALID (30) and subscribes nothing', async () => {
    const client = track(await CoreClient.connect(sim.eventPort));
    const bad = await client.raw(eventsRequest('FOO'));
    assert.equal(bad.code, 30);
    assert.equal(bad.type, 'API_EVENT_TYPE_INVALID');
    assert.equal(bad.requestType, 'EVENTS');
    assert.equal(bad.requestId, '0');
    assert.match(bad.message, /EVENTCLASS/);
    await callFlow(api, '7007', 'nobody listens', 600);
    await assertQuiet(client);
    // The connection is still usable for a valid subscription.
    const good = await client.raw(eventsRequest('CALL'));
    assert.equal(good.code, 20);
  });

  it('answers REQUESTID -1 with API_REQUESTID_INVALID (14)', async () => {
    const client = track(await CoreClient.connect(sim.eventPort));
    const bad = await client.raw(eventsRequest('ALL', '', '-1'));
    assert.equal(bad.code, 14);
    assert.equal(bad.type, 'API_REQUESTID_INVALID');
    assert.equal(bad.requestType, 'EVENTS');
    assert.match(bad.message, /REQUESTID/);
  });

  it('answers another known type on the event port with API_INVALID_REQUEST_TYPE (15)', async () => {
    const client = track(await CoreClient.connect(sim.eventPort));
    const bad = await client.raw('<REQUEST><TYPE>TEST</TYPE><REQUESTID>1</REQUESTID></REQUEST>\r\n');
    assert.equal(bad.code, 15);
    assert.equal(bad.type, 'API_INVALID_REQUEST_TYPE');
    assert.equal(bad.requestType, 'TEST');
    assert.equal(bad.requestId, '1');
    const unknown = await client.raw('<REQUEST><TYPE>NOSUCHTHING</TYPE><REQUESTID>2</REQUESTID></REQUEST>\r\n');
    assert.equal(unknown.code, 10);
    assert.equal(unknown.type, 'API_UNKNOWN_MESSAGE_TYPE');
  });

  it('answers EVENTS on the API port with API_INVALID_REQUEST_TYPE (15)', async () => {
    const bad = await api.raw(eventsRequest());
    assert.equal(bad.code, 15);
    assert.equal(bad.type, 'API_INVALID_REQUEST_TYPE');
    assert.equal(bad.requestType, 'EVENTS');
    assert.equal(bad.requestId, '0');
    assert.match(bad.message, /event port/);
    // The API connection keeps working.
    assert.equal((await api.request('TEST', {}, 7)).code, 20);
  });

  it("eventSpecs list the manual's seven event types with the manual's fields", () => {
    assert.deepEqual(new Set(eventSpecs.map((s) => s.type)), new Set(flowTypes));
    for (const spec of eventSpecs) assert.deepEqual([...spec.fields], manualFields[spec.type], spec.type);
  });
});

describe('event port: a subscriber that never reads', () => {
  let sim: RunningSimulator;
  const clients: CoreClient[] = [];
  before(async () => {
    sim = await startTestSimulator({ channelCount: 4 });
  });
  after(async () => {
    for (const c of clients) c.close();
    await sim.close();
  });

  it('is disconnected while the other subscribers keep receiving every event', { timeout: 25_000 }, async () => {
    const slow = await subscribe(sim.eventPort);
    const good = await subscribe(sim.eventPort);
    clients.push(slow.client, good.client);
    slow.client.socket.pause();
    assert.equal(sim.context.events.subscriberCount, 2);
    const api = await CoreClient.connect(sim.port);
    clients.push(api);

    // Long USER fields make each call's five events about 12 kB; the limit is 4 MiB of unread
    // events on top of what the kernel buffers.
    const users: Record<string, string> = {};
    for (let u = 1; u <= 15; u++) users[`USER${u}`] = 'x'.repeat(u <= 3 ? 20 : u <= 8 ? 255 : 50);
    let pairs = 0;
    let goodEvents = 0;
    const drainGood = async (): Promise<void> => {
      for (;;) {
        try {
          toEvent(await good.client.next(0));
          goodEvents++;
        } catch {
          return;
        }
      }
    };
    const batch = 8;
    while (sim.context.events.subscriberCount === 2) {
      assert.ok(pairs < 4000, 'the unread subscriber was never disconnected');
      let out = '';
      for (let i = 0; i < batch; i++) {
        const deviceId = String(20000 + pairs + i);
        out += buildRequest('CALLSTART', pairs * 2 + 2 * i + 1, [['DEVICEID', deviceId], ...Object.entries(users)]);
        out += buildRequest('CALLSTOP', pairs * 2 + 2 * i + 2, [['DEVICEID', deviceId]]);
      }
      api.write(out);
      for (let i = 0; i < 2 * batch; i++) assert.equal((await api.next()).includes('<RESULTCODE>20</RESULTCODE>'), true);
      pairs += batch;
      await drainGood();
    }
    assert.equal(sim.context.events.subscriberCount, 1, 'only the reading subscriber is left');

    // After the drop, events still flow to the good subscriber.
    const last = await api.request('CALLSTART', { DEVICEID: '29999' }, 1);
    assert.equal(last.code, 20);
    const published = pairs * 5 + 2; // CALLSTART, RECORDINGSTARTED, RECORDINGSTOPPED, RECORDINGUPDATE, CALLSTOP per pair
    while (goodEvents < published) {
      toEvent(await good.client.next(5000));
      goodEvents++;
    }
    assert.equal(goodEvents, published, 'the reading subscriber received every event');
    assert.equal(good.client.closed, false);

    // The slow one, once it reads again, finds fewer events and then the end of the connection.
    slow.client.socket.resume();
    let slowEvents = 0;
    for (;;) {
      try {
        toEvent(await slow.client.next(5000));
        slowEvents++;
      } catch (error) {
        assert.match(String(error), /connection closed/);
        break;
      }
    }
    assert.ok(slowEvents < published, `the dropped subscriber got ${slowEvents} of ${published}`);
    assert.equal(slow.client.closed, true);
  });
});
