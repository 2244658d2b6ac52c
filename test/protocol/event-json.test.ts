/**
 * CALLCOPYEVENTs read and shaped as JSON: the manual's own examples, what the simulator writes,
 * lenient reading of what is odd, and the bounds against what is hostile. Product times to ISO-8601.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { EventFormatError, eventJson, maxEventFields, readCoreEvent } from '../../src/protocol/event-json.js';
import { eventSpecs } from '../../src/protocol/events.js';
import { frameAll } from '../../src/protocol/framing.js';
import { jsonName } from '../../src/protocol/json-names.js';
import { productTimeToIso } from '../../src/protocol/product-time.js';
import { XmlSyntaxError, buildEvent } from '../../src/protocol/xml.js';
import { specText } from './spec-examples.js';

const manual = specText('000_72b7aa82246178b8.txt');

describe('readCoreEvent and eventJson', () => {
  test("every CALLCOPYEVENT example of the manual's Event Interface reads as its type, with its fields", { skip: !manual && 'shared/spec is not available' }, () => {
    const chapter = manual!.slice(manual!.lastIndexOf('Event Interface'));
    const frames = frameAll(Buffer.from(chapter)).filter((f) => f.kind === 'message' && f.root === 'CALLCOPYEVENT');
    assert.equal(frames.length, eventSpecs.length, 'one example per documented event');
    for (const [i, frame] of frames.entries()) {
      const spec = eventSpecs[i]!;
      // The examples are cut by page breaks and code fences, and two write "<EVENTTYPE> RECORDINGPAUSED".
      const event = readCoreEvent(frame.bytes.toString('utf8'));
      assert.equal(event.type, spec.type);
      assert.equal(event.eventClass, spec.eventClass);
      assert.equal(event.module, spec.module, `${spec.type} MODULE`);
      assert.equal(event.eventXref, '0');
      assert.equal(event.deviceId, '1111');
      assert.deepEqual(event.fields.map(([name]) => name), [...spec.fields], `${spec.type} fields in the manual's order`);
    }
  });

  test('the JSON form: fixed header keys, data by JSON name in wire order, times beside the original text', () => {
    const xml = buildEvent({ eventClass: 'CALL', eventType: 'CALLSTART', module: 'Api', eventXref: 101 }, [
      ['GLOBALCALLID', '000100000000092'],
      ['DEVICEID', '1111'],
      ['SYS_USER', 'DOMAIN\\jsmith'],
      ['USER1', 'ACCT-42 & <co>'],
      ['STARTTIME', '1/31/2011 2:39:49 PM'],
      ['COREIDENT', '1'],
    ]);
    const receivedAt = new Date('2026-01-02T03:04:05.678Z');
    const json = eventJson(42, readCoreEvent(xml), receivedAt);
    assert.deepEqual(json, {
      id: 42,
      type: 'CALLSTART',
      eventClass: 'CALL',
      module: 'Api',
      eventXref: '101',
      receivedAt: '2026-01-02T03:04:05.678Z',
      times: { startTime: '2011-01-31T14:39:49' },
      data: {
        globalCallId: '000100000000092',
        deviceId: '1111',
        sysUser: 'DOMAIN\\jsmith',
        user1: 'ACCT-42 & <co>',
        startTime: '1/31/2011 2:39:49 PM',
        coreIdent: '1',
      },
    });
    assert.deepEqual(Object.keys(json.data), ['globalCallId', 'deviceId', 'sysUser', 'user1', 'startTime', 'coreIdent']);
  });

  test("every documented field's JSON name is what jsonName gives", () => {
    for (const spec of eventSpecs) {
      const xml = buildEvent({ eventClass: spec.eventClass, eventType: spec.type, module: spec.module, eventXref: 0 }, spec.fields.map((f) => [f, 'x'] as const));
      assert.deepEqual(Object.keys(eventJson(1, readCoreEvent(xml), new Date()).data), spec.fields.map(jsonName), spec.type);
    }
  });

  test('lenient: case, spaces, a missing EVENTCLASS, undocumented types and fields, repeated fields', () => {
    const event = readCoreEvent(
      '<callcopyevent><eventtype> recordingpaused </eventtype><EVENTDATA><deviceid> 7001 </deviceid><NEWFIELD>n</NEWFIELD><NEWFIELD>second</NEWFIELD></EVENTDATA></callcopyevent>',
    );
    assert.equal(event.type, 'RECORDINGPAUSED');
    assert.equal(event.eventClass, 'RECORD', 'the class of a documented type when the core leaves it out');
    assert.equal(event.deviceId, '7001');
    assert.deepEqual(event.fields, [['DEVICEID', ' 7001 '], ['NEWFIELD', 'n']]);
    const future = readCoreEvent('<CALLCOPYEVENT><EVENTCLASS>AGENT</EVENTCLASS><EVENTTYPE>AGENTLOGIN</EVENTTYPE></CALLCOPYEVENT>');
    assert.equal(future.type, 'AGENTLOGIN');
    assert.equal(future.eventClass, 'AGENT');
    assert.deepEqual(future.fields, []);
    // Two wire names with one JSON name: the first keeps it.
    const json = eventJson(1, readCoreEvent('<CALLCOPYEVENT><EVENTTYPE>CALLSTART</EVENTTYPE><EVENTDATA><SYS_USER>a</SYS_USER><SYSUSER>b</SYSUSER></EVENTDATA></CALLCOPYEVENT>'), new Date());
    assert.deepEqual(json.data, { sysUser: 'a' });
  });

  test('what is not an event is refused with a reason, never more', () => {
    assert.throws(() => readCoreEvent('<RESULT><RESULTCODE>20</RESULTCODE></RESULT>'), EventFormatError);
    assert.throws(() => readCoreEvent('no xml at all'), XmlSyntaxError);
    for (const type of ['', 'CALL START', 'CALLSTART\nevent: forged', '1CALL', 'X'.repeat(65)]) {
      assert.throws(() => readCoreEvent(`<CALLCOPYEVENT><EVENTTYPE>${type}</EVENTTYPE></CALLCOPYEVENT>`), EventFormatError, JSON.stringify(type));
    }
    const many = Array.from({ length: maxEventFields + 1 }, (_, i) => `<F${i}>v</F${i}>`).join('');
    assert.throws(() => readCoreEvent(`<CALLCOPYEVENT><EVENTTYPE>CALLSTART</EVENTTYPE><EVENTDATA>${many}</EVENTDATA></CALLCOPYEVENT>`), /more than 256/);
    assert.throws(() => readCoreEvent(`<CALLCOPYEVENT>${'<A>'.repeat(20)}</CALLCOPYEVENT>`), XmlSyntaxError);
  });

  test('no field name reaches a prototype, and the JSON always parses back', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.stringMatching(/^[A-Za-z_][A-Za-z0-9_]{0,12}$/), fc.string({ maxLength: 20 })), { maxLength: 20 }), (fields) => {
        const xml = buildEvent({ eventClass: 'CALL', eventType: 'CALLSTART', module: 'Api', eventXref: 1 }, fields.filter(([n]) => !/^xml/i.test(n)));
        const json = eventJson(7, readCoreEvent(xml), new Date());
        assert.equal(Object.getPrototypeOf(json.data), Object.prototype);
        assert.deepEqual(JSON.parse(JSON.stringify(json)), json);
      }),
    );
    const json = eventJson(1, readCoreEvent('<CALLCOPYEVENT><EVENTTYPE>CALLSTART</EVENTTYPE><EVENTDATA><__PROTO__>x</__PROTO__><CONSTRUCTOR>y</CONSTRUCTOR></EVENTDATA></CALLCOPYEVENT>'), new Date());
    assert.deepEqual({ ...json.data }, { proto: 'x', constructor: 'y' });
    assert.equal(({} as Record<string, unknown>).proto, undefined);
  });
});

describe('productTimeToIso', () => {
  test("the product's times: local ones stay without a zone, those with an offset keep it", () => {
    assert.equal(productTimeToIso('1/31/2011 2:39:49 PM'), '2011-01-31T14:39:49');
    assert.equal(productTimeToIso('2/1/2011 11:49:32 AM'), '2011-02-01T11:49:32');
    assert.equal(productTimeToIso('12/31/2026 12:00:00 AM'), '2026-12-31T00:00:00');
    assert.equal(productTimeToIso('12/31/2026 12:59:59 PM'), '2026-12-31T12:59:59');
    assert.equal(productTimeToIso('4/12/2017 3:51:30 PM-05:00'), '2017-04-12T15:51:30-05:00');
    assert.equal(productTimeToIso('10/30/2006 4:05:38 PM +05:30'), '2006-10-30T16:05:38+05:30');
  });

  test('what is not a time, or is the product\'s "no time", has no ISO reading', () => {
    for (const text of ['', '30', 'NONE', '1/1/0001 12:00:00 AM +00:00', '2/30/2011 1:00:00 PM', '13/1/2011 1:00:00 PM', '1/1/2011 0:00:00 AM', '1/1/2011 13:00:00 PM', '1/1/2011 1:60:00 PM', '2011-01-31T14:39:49']) {
      assert.equal(productTimeToIso(text), undefined, text);
    }
    assert.equal(productTimeToIso('2/29/2024 1:00:00 PM'), '2024-02-29T13:00:00');
    assert.equal(productTimeToIso('2/29/2023 1:00:00 PM'), undefined);
  });
});
