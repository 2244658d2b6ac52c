import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { commands } from '../../src/protocol/catalog.js';
import { eventSpecs } from '../../src/protocol/events.js';
import { jsonName } from '../../src/protocol/json-names.js';

describe('jsonName', () => {
  test('the names the REST surface documents', () => {
    const expected: Record<string, string> = {
      DEVICEID: 'deviceId',
      DEVICEALIAS: 'deviceAlias',
      SYS_USER: 'sysUser',
      CRM_USER: 'crmUser',
      STATIONNAME: 'stationName',
      USER1: 'user1',
      USER15: 'user15',
      CALLDIRECTION: 'callDirection',
      UPDATE_IF_NOT_RECORDING: 'updateIfNotRecording',
      LASTSTATECHANGEUNIXTIME: 'lastStateChangeUnixTime',
      PROCESSOR0: 'processor0',
      USERNAME: 'username',
      SYSTEMUSERNAME: 'systemUsername',
      GLOBALCALLID: 'globalCallId',
      RECORDID: 'recordId',
      ISTRUNK: 'isTrunk',
    };
    for (const [wire, json] of Object.entries(expected)) assert.equal(jsonName(wire), json, wire);
  });

  test('a name outside the vocabulary is lower-cased', () => {
    assert.equal(jsonName('XYZZY'), 'xyzzy');
    assert.equal(jsonName('XYZZY_DEVICE'), 'xyzzyDevice');
  });

  test('every parameter and event field splits into known words, and no two names of a command collide', () => {
    const unsplit = /^[a-z]+[0-9]*$/;
    const single = new Set(['action', 'ani', 'dnis', 'gate', 'group', 'ident', 'email', 'domain', 'description', 'password', 'phones', 'priority', 'status', 'mode', 'encrypt', 'station', 'channel', 'device', 'username']);
    for (const spec of commands) {
      const names = new Map<string, string>();
      for (const param of spec.params) {
        const name = jsonName(param.name);
        if (unsplit.test(name)) assert.ok(single.has(name.replace(/[0-9]+$/, '')) || name.startsWith('user'), `${spec.type} ${param.name} -> ${name}`);
        assert.equal(names.get(name) ?? param.name, param.name, `${spec.type}: ${param.name} and ${names.get(name)} are both ${name}`);
        names.set(name, param.name);
      }
    }
    for (const event of eventSpecs) {
      for (const field of event.fields) {
        const name = jsonName(field);
        if (unsplit.test(name)) assert.ok(single.has(name) || /^user[0-9]+$/.test(name), `${event.type} ${field} -> ${name}`);
      }
    }
  });
});
