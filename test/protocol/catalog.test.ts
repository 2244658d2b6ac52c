import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fc from 'fast-check';
import {
  checkParams,
  checkParamValue,
  commands,
  findCommand,
  findParam,
  isValidRequestId,
  type CommandSpec,
  type ParamSpec,
  commandScopes,
  unknownTypeScope,
} from '../../src/protocol/catalog.js';
import { isXmlName } from '../../src/protocol/xml.js';

const spec = (type: string): CommandSpec => {
  const found = findCommand(type);
  assert.ok(found, `${type} is in the catalog`);
  return found;
};

const param = (type: string, name: string): ParamSpec => {
  const found = findParam(spec(type), name);
  assert.ok(found, `${type} has ${name}`);
  return found;
};

/** The commands the API Manual v5.7 documents (table of contents, Event Interface, WebAPI export functions). */
const documented = [
  'CALLSTART', 'CALLSTOP', 'CALLUPDATE', 'RECORDSTART', 'RECORDSTOP',
  'DEVICELIST', 'DEVICESTATUS', 'DEVICERECORDINGSTATUS', 'SYSTEMSTATUS', 'CHANNELS', 'STATIONS', 'FETCHTERMINOLOGY', 'CALLLIST',
  'CHATSTART', 'CHATSTOP', 'CHATUPDATE', 'BLACKOUTSTART', 'BLACKOUTSTOP', 'AGENTBLACKOUTSTART', 'AGENTBLACKOUTSTOP',
  'IMPORTUSER', 'IMPORTAGENTPHONE', 'IMPORTWORKSTATION',
  'ADDGROUP', 'MODIFYGROUPPERMISSION', 'MODIFYUSERGROUPPERMISSION', 'MODIFYROLE', 'MODIFYROLEGROUPPERMISSION', 'MODIFYUSERROLE',
  'MODIFYROLEPERMISSION', 'EMAIL', 'COMBINEDEMAIL', 'AGENTWINDOW',
  'TEST', 'EVENTS', 'EXPORT', 'COMBINEDEXPORT', 'MULTIEXPORT',
];

/** The manual's "Deprecated Functions" table: function, replacement, effective version. */
const deprecatedTable: [string, string | undefined, string][] = [
  ['IMPORTSTATION', 'IMPORTWORKSTATION', '5.3'],
  ['MODECHANGE', undefined, '5.0'],
  ['EXTENSIONPLAYBACKSTART', undefined, '5.0'],
  ['EXTENSIONPLAYBACKSTOP', undefined, '5.0'],
  ['RECORDINGDEVICE', undefined, '5.0'],
  ['RECORDINGDEVICEALIAS', undefined, '5.0'],
  ['IMPORTAGENT', 'IMPORTUSER', '5.0'],
];

describe('catalog: commands', () => {
  test('every command the v5.7 manual documents is present, under its own name, and not deprecated', () => {
    for (const type of documented) {
      const found = spec(type);
      assert.equal(found.type, type);
      assert.equal(found.deprecated, undefined, `${type} is current`);
      assert.notEqual(found.extension, true, `${type} is the product's`);
    }
  });

  test('COMBINEEXPORT (the heading) is an alias of COMBINEDEXPORT (the URL)', () => {
    assert.equal(spec('COMBINEEXPORT'), spec('COMBINEDEXPORT'));
    assert.deepEqual(spec('COMBINEDEXPORT').aliases, ['COMBINEEXPORT']);
  });

  test('the deprecated functions are flagged with the version and replacement of the manual', () => {
    for (const [type, replacement, since] of deprecatedTable) {
      const found = spec(type);
      assert.deepEqual(found.deprecated, replacement ? { since, replacement } : { since }, type);
      if (replacement) assert.equal(spec(replacement).deprecated, undefined, `${replacement} is current`);
    }
  });

  test('nothing else: every catalog entry is documented, deprecated, or marked as our extension', () => {
    const known = new Set([...documented, ...deprecatedTable.map(([type]) => type)]);
    for (const command of commands) {
      assert.ok(known.has(command.type) || command.extension === true, `${command.type} is accounted for`);
    }
    assert.equal(commands.filter((c) => !c.extension).length, known.size, 'one entry per documented or deprecated command');
  });

  test('no two commands share a type or an alias', () => {
    const names = commands.flatMap((c) => [c.type, ...(c.aliases ?? [])]);
    assert.equal(new Set(names).size, names.length);
  });

  test('findCommand ignores case and surrounding whitespace, and knows nothing else', () => {
    assert.equal(findCommand('callstart')?.type, 'CALLSTART');
    assert.equal(findCommand(' CallUpdate ')?.type, 'CALLUPDATE');
    assert.equal(findCommand('\tTEST\r\n')?.type, 'TEST');
    assert.equal(findCommand('combineexport')?.type, 'COMBINEDEXPORT');
    for (const unknown of ['', ' ', 'CALL START', 'CALLSTARTX', 'NOPE', 'REQUEST', 'RESULT']) assert.equal(findCommand(unknown), undefined, unknown);
    fc.assert(
      fc.property(fc.constantFrom(...commands), fc.constantFrom('', ' ', '\t', '\r\n'), fc.constantFrom('', ' ', '\n'), (command, before, after) => {
        for (const name of [command.type, ...(command.aliases ?? [])]) {
          assert.equal(findCommand(before + name.toLowerCase() + after), command);
          assert.equal(findCommand(before + name + after), command);
        }
      }),
    );
  });

  test('EVENTS is answered on the event port and accepts REQUESTID 0; every other command starts at 1', () => {
    assert.equal(spec('EVENTS').servedBy, 'event-port');
    assert.equal(spec('EVENTS').minRequestId, 0);
    for (const command of commands.filter((c) => c.type !== 'EVENTS')) assert.equal(command.minRequestId, 1, command.type);
  });

  test('the WebAPI export functions are served by the gateway itself', () => {
    for (const type of ['EXPORT', 'COMBINEDEXPORT', 'MULTIEXPORT']) assert.equal(spec(type).servedBy, 'gateway');
  });
});

describe('catalog: parameters', () => {
  test('no two parameters of a command share a name or an alias', () => {
    for (const command of commands) {
      const names = command.params.flatMap((p) => [p.name, ...(p.aliases ?? [])]);
      assert.equal(new Set(names).size, names.length, `${command.type}: ${names.filter((n, i) => names.indexOf(n) !== i).join(', ')}`);
    }
  });

  test('parameter names and aliases are upper-case XML element names', () => {
    for (const command of commands) {
      for (const name of command.params.flatMap((p) => [p.name, ...(p.aliases ?? [])])) {
        assert.ok(isXmlName(name), `${command.type}.${name}`);
        assert.equal(name, name.toUpperCase(), `${command.type}.${name}`);
      }
    }
  });

  test('required, at-least-one-of and at-most-one-of groups name parameters of the command', () => {
    for (const command of commands) {
      const own = new Set(command.params.map((p) => p.name));
      for (const name of [...command.required, ...command.atLeastOneOf.flat(), ...command.atMostOneOf.flat()]) {
        assert.ok(own.has(name), `${command.type} lists ${name}`);
      }
      for (const group of [...command.atLeastOneOf, ...command.atMostOneOf]) assert.ok(group.length >= 2, `${command.type}: a group of one`);
    }
  });

  test('every parameter is well described: text has a max length, enum has values, others neither', () => {
    for (const command of commands) {
      for (const p of command.params) {
        const where = `${command.type}.${p.name}`;
        if (p.type === 'text') assert.ok(Number.isInteger(p.maxLength) && p.maxLength! > 0, where);
        if (p.type === 'enum') assert.ok(p.values && p.values.length > 0, where);
        if (p.type !== 'enum') assert.equal(p.values, undefined, where);
      }
    }
  });

  test("ACTION values are the command's actions", () => {
    for (const command of commands) {
      const action = command.params.find((p) => p.name === 'ACTION');
      if (command.actions) assert.deepEqual(action?.values, command.actions, command.type);
    }
    assert.deepEqual(spec('IMPORTUSER').actions, ['ADD', 'MODIFY', 'DELETE', 'LIST']);
    assert.deepEqual(spec('MODIFYROLE').actions, ['ADD', 'MODIFY', 'DELETE']);
  });

  test('findParam ignores case and resolves the aliases of the manuals', () => {
    assert.equal(param('CALLSTART', 'deviceid').name, 'DEVICEID');
    assert.equal(param('IMPORTUSER', 'AGENT_ID').name, 'USERID');
    assert.equal(param('IMPORTUSER', 'user_id').name, 'USERID');
    assert.equal(param('IMPORTUSER', 'EMPLOYEE_ID').name, 'EMPLOYEEID');
    assert.equal(param('IMPORTUSER', 'FIRST_NAME').name, 'FIRSTNAME');
    assert.equal(param('IMPORTUSER', 'SITE_ID').name, 'SITEID');
    assert.equal(param('CALLUPDATE', 'KEEP_DAYS').name, 'KEEPDAYS');
    assert.equal(param('MODIFYGROUPPERMISSION', 'GROUPLD').name, 'GROUPID');
    assert.equal(findParam(spec('TEST'), 'DEVICEID'), undefined);
  });
});

describe('catalog: the data type tables of the manual', () => {
  const expectText = (types: readonly string[], name: string, maxLength: number): void => {
    for (const type of types) {
      const p = param(type, name);
      assert.equal(p.type, 'text', `${type}.${name} is text`);
      assert.equal(p.maxLength, maxLength, `${type}.${name} max length`);
    }
  };
  const expectType = (types: readonly string[], name: string, kind: ParamSpec['type']): void => {
    for (const type of types) assert.equal(param(type, name).type, kind, `${type}.${name}`);
  };
  const userLengths = (types: readonly string[]): void => {
    for (let n = 1; n <= 15; n++) expectText(types, `USER${n}`, n <= 3 ? 20 : n <= 8 ? 255 : 50);
  };

  test('Call Handling Data Types (CALLSTART, CALLSTOP, CALLUPDATE, RECORDSTART, RECORDSTOP)', () => {
    const all = ['CALLSTART', 'CALLSTOP', 'CALLUPDATE', 'RECORDSTART', 'RECORDSTOP'];
    expectText(all, 'DEVICEID', 64);
    expectText(all, 'DEVICEALIAS', 15);
    expectText(all, 'STATIONNAME', 50);
    expectText(all, 'SYS_USER', 30);
    expectText(all, 'CRM_USER', 30);
    for (const name of ['GROUP', 'GATE', 'ANI', 'DNIS']) expectText(['CALLSTART', 'CALLUPDATE', 'RECORDSTART'], name, 20);
    userLengths(['CALLSTART', 'CALLUPDATE', 'RECORDSTART', 'RECORDSTOP']);
    expectText(['CALLSTART', 'RECORDSTART'], 'CALLID', 16);
    expectType(['CALLSTART', 'RECORDSTART'], 'PRIORITY', 'int32');
    expectType(['CALLSTART', 'RECORDSTART'], 'MAXRECORDSILENCE', 'int32');
    expectType(['CALLSTART', 'RECORDSTART'], 'MAXRECORDTIME', 'int32');
    expectType(['CALLSTART', 'RECORDSTART'], 'AGENTINITIATED', 'flag');
    expectType(['CALLSTART', 'RECORDSTART'], 'CTIINITIATED', 'flag');
    expectType(['CALLSTART', 'CALLUPDATE', 'RECORDSTART'], 'ARCHIVEACTION', 'int64');
    expectType(['CALLUPDATE'], 'UPDATE_IF_NOT_RECORDING', 'flag');
    for (const type of ['CALLSTART', 'CALLUPDATE', 'RECORDSTART']) assert.deepEqual(param(type, 'CALLDIRECTION').values, ['I', 'O', '?']);
  });

  test('Status Data Types (DEVICESTATUS, DEVICERECORDINGSTATUS, CALLLIST)', () => {
    expectText(['DEVICESTATUS', 'DEVICERECORDINGSTATUS', 'CALLLIST'], 'DEVICEID', 64);
    expectText(['DEVICESTATUS', 'DEVICERECORDINGSTATUS', 'CALLLIST'], 'DEVICEALIAS', 15);
    expectText(['DEVICESTATUS', 'DEVICERECORDINGSTATUS', 'CALLLIST'], 'SYS_USER', 30);
    expectText(['DEVICESTATUS', 'DEVICERECORDINGSTATUS', 'CALLLIST'], 'CRM_USER', 30);
    expectText(['DEVICESTATUS'], 'CALLID', 30);
    for (const name of ['GROUP', 'GATE', 'ANI', 'DNIS']) expectText(['CALLLIST'], name, 20);
    userLengths(['CALLLIST']);
    expectType(['CALLLIST'], 'CALLDATESTART', 'int64');
    expectType(['CALLLIST'], 'CALLDATEEND', 'int64');
  });

  test('Recording Control Data Types (CHATSTART, CHATSTOP, CHATUPDATE, blackouts)', () => {
    expectText(['CHATSTART', 'CHATSTOP', 'CHATUPDATE'], 'SESSIONID', 255);
    expectType(['CHATSTART'], 'AGENTID', 'int32');
    expectText(['CHATSTART'], 'KEYVALUE', 255);
    for (const key of ['USERNAME', 'EMPLOYEEID']) assert.ok(param('CHATSTART', 'KEYNAME').values?.includes(key), key);
    expectText(['CHATUPDATE'], 'DEVICEALIAS', 15);
    for (const name of ['GROUP', 'GATE', 'ANI', 'DNIS']) expectText(['CHATUPDATE'], name, 20);
    userLengths(['CHATUPDATE']);
    expectText(['CHATUPDATE'], 'CALLID', 16);
    const blackouts = ['BLACKOUTSTART', 'BLACKOUTSTOP', 'AGENTBLACKOUTSTART', 'AGENTBLACKOUTSTOP'];
    expectText(blackouts, 'DEVICEID', 64);
    expectText(blackouts, 'DEVICEALIAS', 100);
    expectText(blackouts, 'CRM_USER', 50);
    expectText(blackouts, 'SYS_USER', 255);
    expectType(blackouts, 'TIMEOFFSET', 'int32');
  });

  test('Import Data Types (IMPORTUSER, IMPORTAGENTPHONE, IMPORTWORKSTATION)', () => {
    expectType(['IMPORTUSER', 'IMPORTAGENTPHONE'], 'AGENTID', 'int32');
    expectText(['IMPORTUSER', 'IMPORTAGENTPHONE'], 'FIRSTNAME', 20);
    expectText(['IMPORTUSER', 'IMPORTAGENTPHONE'], 'LASTNAME', 30);
    expectText(['IMPORTUSER'], 'SYS_USER', 255);
    expectText(['IMPORTUSER'], 'DOMAIN', 30);
    expectText(['IMPORTUSER'], 'EMAIL', 255);
    expectText(['IMPORTUSER'], 'EMPLOYEEID', 20);
    assert.deepEqual(param('IMPORTUSER', 'STATUS').values, ['A', 'I']);
    expectText(['IMPORTAGENTPHONE'], 'PHONEID', 10);
    expectText(['IMPORTWORKSTATION'], 'DEVICEID', 15);
    expectText(['IMPORTWORKSTATION'], 'STATIONNAME', 50);
    expectType(['IMPORTWORKSTATION'], 'LOCATIONID', 'int32');
  });

  test('User, Group and Role Data Types (groups, EMAIL, COMBINEDEMAIL, AGENTWINDOW)', () => {
    expectText(['ADDGROUP', 'MODIFYGROUPPERMISSION', 'MODIFYUSERGROUPPERMISSION'], 'GROUPNAME', 255);
    expectType(['MODIFYGROUPPERMISSION', 'MODIFYUSERGROUPPERMISSION'], 'GROUPID', 'int32');
    expectText(['MODIFYGROUPPERMISSION', 'MODIFYUSERGROUPPERMISSION'], 'DEVICEID', 64);
    expectText(['MODIFYUSERGROUPPERMISSION'], 'USERNAME', 16);
    expectText(['MODIFYGROUPPERMISSION'], 'PHONEID', 10);
    expectText(['MODIFYGROUPPERMISSION'], 'FIRSTNAME', 20);
    expectText(['MODIFYGROUPPERMISSION'], 'LASTNAME', 30);
    expectType(['MODIFYGROUPPERMISSION'], 'AGENTID', 'int32');
    expectText(['EMAIL'], 'UNIQUEFIELD', 255);
    expectText(['EMAIL', 'COMBINEDEMAIL'], 'UNIQUEID', 255);
    expectText(['EMAIL', 'COMBINEDEMAIL'], 'TOADDRESS', 255);
    expectText(['EMAIL', 'COMBINEDEMAIL'], 'IDENT', 255);
    for (const name of ['TONAME', 'FROMADDRESS', 'FROMNAME']) expectText(['COMBINEDEMAIL'], name, 255);
    // MEDIA_FORMAT varchar(3): every format EMAIL offers fits.
    for (const format of param('EMAIL', 'MEDIA_FORMAT').values ?? []) assert.ok(format.length <= 3, format);
    expectText(['AGENTWINDOW'], 'COMPUTERNAME', 255);
    expectText(['AGENTWINDOW'], 'USERNAME', 255);
  });
});

describe('catalog: REQUESTID', () => {
  test('a positive decimal integer no larger than 2147483647', () => {
    for (const ok of ['1', '2147483647', '17', '0000000001']) assert.equal(isValidRequestId(ok), true, ok);
    for (const bad of ['0', '-1', '2147483648', '99999999999', '1.5', '1.0', 'abc', '', '1e3', '0x10', '+1', '1 2', '١']) {
      assert.equal(isValidRequestId(bad), false, JSON.stringify(bad));
    }
    assert.equal(isValidRequestId(undefined), false);
  });

  test("EVENTS' minimum admits 0, and nothing below", () => {
    const min = spec('EVENTS').minRequestId;
    assert.equal(isValidRequestId('0', min), true);
    assert.equal(isValidRequestId('-1', min), false);
    assert.equal(isValidRequestId('2147483648', min), false);
    assert.equal(isValidRequestId('0', spec('TEST').minRequestId), false);
  });

  test('property: any integer is valid exactly when 1 <= n <= 2147483647', () => {
    fc.assert(
      fc.property(fc.oneof(fc.integer(), fc.integer({ min: 2147483600, max: 2147483700 }), fc.maxSafeInteger()), (n) => {
        assert.equal(isValidRequestId(String(n)), n >= 1 && n <= 2147483647);
      }),
    );
    fc.assert(
      fc.property(fc.double({ noNaN: true }).filter((d) => !Number.isInteger(d)), (d) => {
        assert.equal(isValidRequestId(String(d)), false);
      }),
    );
  });
});

describe('catalog: checkParams', () => {
  const bag = (entries: Record<string, string>): Map<string, string> => new Map(Object.entries(entries));

  test('a complete, well-typed request has no problems; unknown parameters are ignored', () => {
    assert.deepEqual(
      checkParams(spec('CALLSTART'), bag({ DEVICEID: '200', PRIORITY: '50', CALLDIRECTION: 'i', AGENTINITIATED: 'y', ARCHIVEACTION: '-9223372036854775808', USER1: 'x'.repeat(20), SOMETHINGELSE: 'whatever' })),
      [],
    );
  });

  test('required parameters: missing or blank', () => {
    assert.deepEqual(checkParams(spec('ADDGROUP'), bag({})), [{ param: 'GROUPNAME', problem: 'GROUPNAME is required' }]);
    assert.deepEqual(checkParams(spec('ADDGROUP'), bag({ GROUPNAME: '' })), [{ param: 'GROUPNAME', problem: 'GROUPNAME is required' }]);
    const problems = checkParams(spec('IMPORTAGENTPHONE'), bag({ AGENTID: '3' }));
    assert.deepEqual(problems.map((p) => p.param), ['ACTION', 'PHONEID']);
  });

  test('at least one of a group', () => {
    const none = checkParams(spec('CALLSTART'), bag({ ANI: '555' }));
    assert.equal(none.length, 1);
    assert.equal(none[0]!.param, 'DEVICEID');
    assert.match(none[0]!.problem, /one of DEVICEID, DEVICEALIAS, STATIONNAME, SYS_USER, CRM_USER is required/);
    assert.equal(checkParams(spec('CALLSTART'), bag({ DEVICEID: '' })).length, 1, 'blank does not count');
    for (const selector of ['DEVICEID', 'DEVICEALIAS', 'STATIONNAME', 'SYS_USER', 'CRM_USER']) {
      assert.deepEqual(checkParams(spec('CALLSTART'), bag({ [selector]: '1' })), [], selector);
    }
    // CALLUPDATE in its post-recording form needs only RECORDID.
    assert.deepEqual(checkParams(spec('CALLUPDATE'), bag({ RECORDID: '12345' })), []);
  });

  test('at most one of a group', () => {
    const two = checkParams(spec('DEVICESTATUS'), bag({ DEVICEID: '200', CALLID: '77' }));
    assert.equal(two.length, 1);
    assert.equal(two[0]!.param, 'CALLID');
    assert.match(two[0]!.problem, /only one of DEVICEID, CALLID, DEVICEALIAS, CRM_USER, SYS_USER may be given/);
    assert.deepEqual(checkParams(spec('DEVICESTATUS'), bag({ DEVICEID: '200', CALLID: '' })), [], 'a blank one is not given');
    assert.equal(checkParams(spec('BLACKOUTSTART'), bag({ DEVICEALIAS: 'a', SYS_USER: 'b' })).length, 1);
  });

  test('types: int32, int64, flag, enum', () => {
    const problem = (type: string, name: string, value: string): string | undefined => checkParamValue(param(type, name), value);
    assert.match(problem('CALLSTART', 'PRIORITY', 'abc')!, /PRIORITY must be an integer/);
    assert.match(problem('CALLSTART', 'PRIORITY', '1.5')!, /integer/);
    assert.match(problem('CALLSTART', 'PRIORITY', '2147483648')!, /32-bit/);
    assert.equal(problem('CALLSTART', 'PRIORITY', '-2147483648'), undefined);
    assert.equal(problem('CALLSTART', 'PRIORITY', '2147483647'), undefined);
    assert.match(problem('CALLSTART', 'ARCHIVEACTION', '9223372036854775808')!, /64-bit/);
    assert.equal(problem('CALLSTART', 'ARCHIVEACTION', '9223372036854775807'), undefined);
    assert.match(problem('CALLSTART', 'ARCHIVEACTION', '12345678901234567890')!, /integer|64-bit/);
    assert.match(problem('CALLSTART', 'AGENTINITIATED', 'yes')!, /Y or N/);
    assert.equal(problem('CALLSTART', 'AGENTINITIATED', 'n'), undefined);
    assert.match(problem('CALLSTART', 'CALLDIRECTION', 'X')!, /one of I, O, \?/);
    assert.equal(problem('CALLSTART', 'CALLDIRECTION', 'o'), undefined);
    assert.equal(problem('CALLSTART', 'PRIORITY', ''), undefined, 'blank values carry meaning and are not type errors');
  });

  test('lengths: at the maximum is fine, one more is reported', () => {
    const alias = param('CALLSTART', 'DEVICEALIAS');
    assert.equal(checkParamValue(alias, 'x'.repeat(15)), undefined);
    assert.match(checkParamValue(alias, 'x'.repeat(16))!, /DEVICEALIAS is longer than 15 characters/);
    assert.deepEqual(checkParams(spec('CALLSTART'), bag({ DEVICEID: 'x'.repeat(65) })), [{ param: 'DEVICEID', problem: 'DEVICEID is longer than 64 characters' }]);
    assert.equal(checkParams(spec('IMPORTAGENTPHONE'), bag({ ACTION: 'ADD', PHONEID: '12345678901', AGENTID: '1' }))[0]?.param, 'PHONEID');
  });

  test('a problem found through an alias is reported under the canonical name', () => {
    assert.deepEqual(
      checkParams(spec('IMPORTUSER'), bag({ ACTION: 'ADD', AGENT_ID: 'abc' })).map((p) => p.param),
      ['USERID'],
    );
  });

  test('several problems are reported together', () => {
    const problems = checkParams(spec('DEVICESTATUS'), bag({ DEVICEID: 'x'.repeat(65), DEVICEALIAS: 'y' }));
    assert.deepEqual(problems.map((p) => p.param).sort(), ['DEVICEALIAS', 'DEVICEID']);
  });

  test('property: a value within a text parameter length never gets a problem; a longer one always does', () => {
    const textParams = commands.flatMap((c) => c.params.filter((p) => p.type === 'text').map((p) => [c, p] as const));
    fc.assert(
      fc.property(fc.constantFrom(...textParams), fc.string({ unit: 'grapheme-ascii', minLength: 1, maxLength: 300 }), ([, p], value) => {
        const problem = checkParamValue(p, value);
        assert.equal(problem === undefined, value.length <= p.maxLength!, `${p.name} (${p.maxLength}) with ${value.length} characters`);
      }),
    );
  });
});

describe('scopes', () => {
  test('each command needs one scope, as the access rules list them', () => {
    const byScope = new Map<string, string[]>();
    for (const c of commands) byScope.set(c.scope, [...(byScope.get(c.scope) ?? []), c.type]);
    assert.deepEqual(Object.fromEntries([...byScope].map(([scope, types]) => [scope, types.sort()])), {
      status: ['AGENTWINDOW', 'CHANNELS', 'DEVICELIST', 'DEVICERECORDINGSTATUS', 'DEVICESTATUS', 'FETCHTERMINOLOGY', 'STATIONS', 'SYSTEMSTATUS', 'TEST'],
      calls: [
        'AGENTBLACKOUTSTART', 'AGENTBLACKOUTSTOP', 'BLACKOUTSTART', 'BLACKOUTSTOP', 'CALLSTART', 'CALLSTOP', 'CALLUPDATE',
        'CHATSTART', 'CHATSTOP', 'CHATUPDATE', 'RECORDSTART', 'RECORDSTOP',
      ],
      'recordings:read': ['CALLLIST', 'RECORDINGINFO'],
      'recordings:export': ['COMBINEDEMAIL', 'COMBINEDEXPORT', 'EMAIL', 'EXPORT', 'MULTIEXPORT'],
      events: ['EVENTS'],
      admin: [
        'ADDGROUP', 'EXTENSIONPLAYBACKSTART', 'EXTENSIONPLAYBACKSTOP', 'IMPORTAGENT', 'IMPORTAGENTPHONE', 'IMPORTSTATION', 'IMPORTUSER',
        'IMPORTWORKSTATION', 'MODECHANGE', 'MODIFYGROUPPERMISSION', 'MODIFYROLE', 'MODIFYROLEGROUPPERMISSION', 'MODIFYROLEPERMISSION',
        'MODIFYUSERGROUPPERMISSION', 'MODIFYUSERROLE', 'RECORDINGDEVICE', 'RECORDINGDEVICEALIAS',
      ],
    });
    for (const c of commands) assert.ok((commandScopes as readonly string[]).includes(c.scope), c.type);
    assert.equal(unknownTypeScope, 'admin');
  });
});
