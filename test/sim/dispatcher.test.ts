import assert from 'node:assert/strict';
import { test } from 'node:test';
import { commands } from '../../src/protocol/catalog.js';
import { decodeRequest, handledTypes } from '../../src/sim/dispatcher.js';

test('every command the core serves has a handler, and nothing else does', () => {
  const served = commands.filter((c) => c.servedBy === 'core' && !c.deprecated).map((c) => c.type).sort();
  assert.deepEqual([...handledTypes()].sort(), served);
});

test('aliases of the manuals reach the canonical parameter; the first occurrence wins', () => {
  const decoded = decodeRequest(
    '<REQUEST><TYPE>callupdate</TYPE><REQUESTID> 7 </REQUESTID><DEVICEID> 200 </DEVICEID><KEEP_DAYS>3650</KEEP_DAYS><USER9>a</USER9><USER9>b</USER9></REQUEST>',
  );
  assert.ok(decoded.ok);
  assert.equal(decoded.header.type, 'CALLUPDATE');
  assert.equal(decoded.request.requestId, '7');
  assert.deepEqual([...decoded.request.params], [['DEVICEID', '200'], ['KEEPDAYS', '3650'], ['USER9', 'a']]);
});

test('documented codes for parameter problems', () => {
  const code = (xml: string): number => {
    const decoded = decodeRequest(xml);
    assert.ok(!decoded.ok, xml);
    return decoded.outcome.code;
  };
  assert.equal(code('<REQUEST><TYPE>IMPORTUSER</TYPE><REQUESTID>1</REQUESTID><ACTION>FROB</ACTION></REQUEST>'), 21);
  assert.equal(code('<REQUEST><TYPE>IMPORTUSER</TYPE><REQUESTID>1</REQUESTID></REQUEST>'), 16);
  assert.equal(code('<REQUEST><TYPE>CHATSTOP</TYPE><REQUESTID>1</REQUESTID></REQUEST>'), 33);
  assert.equal(code('<REQUEST><TYPE>CALLUPDATE</TYPE><REQUESTID>1</REQUESTID><USER1>x</USER1></REQUEST>'), 8);
  assert.equal(code('<REQUEST><TYPE>MODIFYROLEPERMISSION</TYPE><REQUESTID>1</REQUESTID><ACTION>ADD</ACTION><ROLEID>1</ROLEID><PERMISSIONNAME>FLY</PERMISSIONNAME></REQUEST>'), 51);
  assert.equal(code('<REQUEST><TYPE>EXPORT</TYPE><REQUESTID>1</REQUESTID></REQUEST>'), 10, 'EXPORT is a WebAPI function, not a core command');
  assert.equal(code('<REQUEST><REQUESTID>1</REQUESTID></REQUEST>'), 16);
  assert.equal(code('not xml at all'), 16);
});
