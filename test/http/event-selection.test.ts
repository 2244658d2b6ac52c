/**
 * Which events a client asked for: the Accept negotiation of the WebAPI's type=events, the
 * Last-Event-ID rules, the type list, the WebAPI's EVENTCLASS / EVENTVALUE, and matching.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { findCommand } from '../../src/protocol/catalog.js';
import { ResultCode } from '../../src/protocol/result-codes.js';
import {
  acceptsEventStream,
  eventTypesOf,
  restEventSelection,
  resumeAfter,
  selects,
  webApiEventSelection,
} from '../../src/http/events/selection.js';
import { eventFrame } from '../../src/http/events/stream.js';

const record = (type: string, eventClass: string, deviceId: string) => ({ id: 5, type, eventClass, deviceId, json: '{}', bytes: 2 });

describe('event selection', () => {
  test('Accept: text/event-stream among others, in any case, unless refused with q=0', () => {
    for (const accept of ['text/event-stream', 'TEXT/Event-Stream', 'text/html, text/event-stream;q=0.5', 'application/json,text/event-stream ; charset=utf-8']) {
      assert.equal(acceptsEventStream(accept), true, accept);
    }
    for (const accept of [undefined, '', '*/*', 'text/*', 'text/xml', 'text/event-stream;q=0', 'text/event-stream; q=0.000', 'text/event-streams']) {
      assert.equal(acceptsEventStream(accept), false, String(accept));
    }
  });

  test('Last-Event-ID: digits only; the header wins over the parameter', () => {
    assert.equal(resumeAfter(undefined, undefined), undefined);
    assert.equal(resumeAfter('', ''), undefined);
    assert.equal(resumeAfter(' 42 ', undefined), 42);
    assert.equal(resumeAfter(undefined, '7'), 7);
    assert.equal(resumeAfter('42', '7'), 42);
    assert.equal(resumeAfter(['9', '10'], undefined), 9);
    for (const bad of ['-1', '1e3', '0x10', '12345678901234567', 'abc']) assert.ok(typeof resumeAfter(bad, undefined) === 'object', bad);
  });

  test('type lists name documented types, in any case; anything else says which types there are', () => {
    assert.deepEqual([...(eventTypesOf('callstart, RecordingStopped') as Set<string>)], ['CALLSTART', 'RECORDINGSTOPPED']);
    const problem = eventTypesOf('CALLSTART,AGENTLOGIN');
    assert.ok('problem' in problem);
    assert.equal(problem.resultCode, ResultCode.API_EVENT_TYPE_INVALID);
    assert.match(problem.problem, /"AGENTLOGIN" is not an event type; the types are CALLSTART, CALLSTOP/);
    assert.ok('problem' in eventTypesOf(Array(20).fill('CALLSTART').join(',')));
  });

  test('the REST query and the WebAPI parameters end in the same selection', () => {
    const events = findCommand('EVENTS')!;
    assert.deepEqual(restEventSelection({ class: 'call', deviceId: ' 7001 ' }, '12'), { eventClass: 'CALL', deviceId: '7001', lastEventId: 12 });
    assert.deepEqual(
      webApiEventSelection(events, new Map([['EVENTCLASS', 'call'], ['EVENTVALUE', ' 7001 '], ['LASTEVENTID', '12']]), undefined),
      { eventClass: 'CALL', deviceId: '7001', lastEventId: 12 },
    );
    assert.deepEqual(webApiEventSelection(events, new Map([['EVENTCLASS', 'ALL']]), undefined), {});
    const badClass = webApiEventSelection(events, new Map([['EVENTCLASS', 'AGENT']]), undefined);
    assert.ok('problem' in badClass && badClass.resultCode === ResultCode.API_EVENT_TYPE_INVALID);
    const longDevice = webApiEventSelection(events, new Map([['EVENTVALUE', '9'.repeat(65)]]), undefined);
    assert.ok('problem' in longDevice && longDevice.resultCode === ResultCode.API_INVALID_MESSAGE_FORMAT);
  });

  test('matching: every filter given must hold', () => {
    const start = record('CALLSTART', 'CALL', '7001');
    assert.equal(selects({}, start), true);
    assert.equal(selects({ eventClass: 'CALL', types: new Set(['CALLSTART']), deviceId: '7001' }, start), true);
    assert.equal(selects({ eventClass: 'RECORD' }, start), false);
    assert.equal(selects({ types: new Set(['CALLSTOP']) }, start), false);
    assert.equal(selects({ deviceId: '7002' }, start), false);
  });

  test('an event frame: id, the type as event name, the JSON as one data line', () => {
    assert.equal(eventFrame({ id: 9, type: 'CALLSTOP', eventClass: 'CALL', deviceId: '1', json: '{"a":"x\\ny"}', bytes: 11 }), 'id: 9\nevent: CALLSTOP\ndata: {"a":"x\\ny"}\n\n');
  });
});
