import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fc from 'fast-check';
import {
  buildEvent,
  buildRequest,
  buildResult,
  child,
  childText,
  decodeEntities,
  element,
  escapeText,
  isXmlName,
  leadingChildTexts,
  parseXml,
  serialize,
  XmlSyntaxError,
  type XmlElement,
} from '../../src/protocol/xml.js';
import { frameAll } from '../../src/protocol/framing.js';
import {
  manualAddGroupRequest,
  manualAddGroupResult,
  manualImportUserAdd,
  manualImportUserListResult,
  manualSystemStatusResult,
  productionImportUserList,
  productionTestResult,
  specText,
} from './spec-examples.js';
import { anyInput, anyValue, carriableValue, carried, headerPiece, nameish, params, requestId } from './xml-arbitraries.js';

// ---------------------------------------------------------------------------------------------
// Helpers and generators

/** What travels on the wire: build, frame the bytes as a peer would, parse the one frame. */
function overTheWire(xml: string): XmlElement {
  const frames = frameAll(Buffer.from(xml, 'utf8'));
  assert.equal(frames.length, 1, 'exactly one frame');
  const frame = frames[0]!;
  assert.equal(frame.kind, 'message');
  return parseXml(frame.bytes.toString('utf8'));
}


// ---------------------------------------------------------------------------------------------

describe('xml: build, frame and parse round-trip', () => {
  test('any value XML can carry comes back exactly', () => {
    fc.assert(
      fc.property(carriableValue, requestId, params(carriableValue), (type, id, entries) => {
        const root = overTheWire(buildRequest(type, id, entries));
        assert.equal(root.name, 'REQUEST');
        assert.deepEqual(
          root.children.map((c) => [c.name, c.text]),
          [['TYPE', type], ['REQUESTID', String(id)], ...entries],
        );
      }),
      { numRuns: 400 },
    );
  });

  test("a request is laid out exactly as serialize lays out its tree, and refuses a name that is not XML's", () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 12 }), requestId, params(fc.string({ maxLength: 12 })), (type, id, entries) => {
        const tree = element('REQUEST', [element('TYPE', type), element('REQUESTID', String(id)), ...entries.map(([n, v]) => element(n, v))]);
        assert.equal(buildRequest(type, id, entries), serialize(tree));
      }),
      { numRuns: 400 },
    );
    for (const name of ['A B', 'X><Y', '1A', 'xmlName', '']) {
      assert.throws(() => buildRequest('T', 1, [[name, 'v']]), XmlSyntaxError, name);
    }
    // A parameter never names the command nor its id: a core reading the last TYPE would run it.
    for (const name of ['TYPE', 'type', 'RequestType', 'REQUESTID']) {
      assert.throws(() => buildRequest('TEST', 1, [[name, 'IMPORTUSER']]), /is the request's own, not a parameter/, name);
    }
  });

  test('any string at all comes back exactly, except the characters XML cannot carry, which become U+FFFD', () => {
    fc.assert(
      fc.property(anyValue, params(anyValue), (type, entries) => {
        const root = overTheWire(buildRequest(type, 1, entries));
        assert.deepEqual(
          root.children.map((c) => [c.name, c.text]),
          [['TYPE', carried(type)], ['REQUESTID', '1'], ...entries.map(([n, v]) => [n, carried(v)])],
        );
      }),
      { numRuns: 400 },
    );
  });

  test('each forbidden character alone becomes exactly one U+FFFD; its neighbours survive', () => {
    const forbidden = [
      ...Array.from({ length: 0x20 }, (_, c) => c).filter((c) => c !== 0x9 && c !== 0xa && c !== 0xd),
      0xd800, 0xdbff, 0xdc00, 0xdfff, 0xfffe, 0xffff,
    ].map((c) => String.fromCharCode(c));
    for (const ch of forbidden) {
      const value = `a${ch}b`;
      const root = overTheWire(buildRequest('T', 1, [['V', value]]));
      assert.equal(childText(root, 'V'), 'a\uFFFDb', `U+${ch.charCodeAt(0).toString(16).padStart(4, '0')}`);
    }
    // A surrogate pair is one character and is kept; reversed halves are two lone surrogates.
    assert.equal(childText(overTheWire(buildRequest('T', 1, [['V', '\ud83d\ude00']])), 'V'), '😀');
    assert.equal(childText(overTheWire(buildRequest('T', 1, [['V', '\ude00\ud83d']])), 'V'), '\uFFFD\uFFFD');
    // Tab, LF, CR and the characters just inside the allowed ranges are carried as they are.
    const edges = '\t\n\r \ud7ff\ue000\ufffd\u{10000}\u{10ffff}';
    assert.equal(childText(overTheWire(buildRequest('T', 1, [['V', edges]])), 'V'), edges);
  });

  test('results and events round-trip their header and fields too', () => {
    fc.assert(
      fc.property(carriableValue, carriableValue, params(carriableValue), (requestType, message, body) => {
        const result = overTheWire(
          buildResult(
            { requestType, requestId: 7, resultType: 'API_OK', resultCode: 20, resultMessage: message },
            body.map(([n, v]) => element(n, v)),
          ),
        );
        assert.deepEqual(
          result.children.map((c) => [c.name, c.text]),
          [['REQUESTTYPE', requestType], ['REQUESTID', '7'], ['RESULTTYPE', 'API_OK'], ['RESULTCODE', '20'], ['RESULTMSG', message], ...body],
        );
        const event = overTheWire(buildEvent({ eventClass: 'CALL', eventType: requestType, module: 'Api', eventXref: message }, body));
        assert.equal(event.name, 'CALLCOPYEVENT');
        assert.equal(childText(event, 'EVENTTYPE'), requestType);
        assert.equal(childText(event, 'EVENTXREF'), message);
        assert.deepEqual(child(event, 'EVENTDATA')!.children.map((c) => [c.name, c.text]), body);
      }),
      { numRuns: 200 },
    );
  });
});

describe('xml: nothing can inject markup', () => {
  test('no value adds an element, ends the frame early or leaves the element it belongs to', () => {
    fc.assert(
      fc.property(anyValue, params(anyValue), (type, entries) => {
        const xml = buildRequest(type, 42, entries);
        const frames = frameAll(Buffer.from(xml, 'utf8'));
        assert.equal(frames.length, 1);
        const root = parseXml(frames[0]!.bytes.toString('utf8'));
        assert.deepEqual(root.children.map((c) => c.name), ['TYPE', 'REQUESTID', ...entries.map(([n]) => n)]);
        for (const c of root.children) assert.equal(c.children.length, 0, `${c.name} has no children`);
        assert.match(root.text, /^\s*$/, 'only the layout whitespace between children');
        // On the wire: one line per element (a value's CR is escaped, so CRLF only ends lines), and a
        // leaf's content holds no `<` or `>` and no `&` that does not start one of the escapes.
        const rows = xml.split('\r\n');
        assert.equal(rows.length, 2 + 2 + entries.length + 1);
        assert.equal(rows[0], '<REQUEST>');
        assert.deepEqual(rows.slice(-2), ['</REQUEST>', '']);
        for (const row of rows.slice(1, -2)) {
          const leaf = /^\t<([A-Za-z_][\w.-]*)>([^]*)<\/\1>$/.exec(row);
          assert.ok(leaf, `a leaf line: ${JSON.stringify(row)}`);
          assert.doesNotMatch(leaf[2]!, /[<>]|&(?!amp;|lt;|gt;|#13;)/);
        }
      }),
      { numRuns: 400 },
    );
  });

  test('a name element() accepts is carried exactly as one leaf; any other name throws XmlSyntaxError', () => {
    fc.assert(
      fc.property(nameish, (name) => {
        let built: XmlElement | undefined;
        try {
          built = element(name, 'v');
        } catch (error) {
          assert.ok(error instanceof XmlSyntaxError, `element(${JSON.stringify(name)}) throws XmlSyntaxError`);
          assert.throws(() => buildRequest('T', 1, [[name, 'v']]), XmlSyntaxError);
          assert.throws(() => buildEvent({ eventClass: 'CALL', eventType: 'X', module: 'Api', eventXref: 0 }, [[name, 'v']]), XmlSyntaxError);
          assert.throws(() => serialize({ name, text: '', children: [] }), XmlSyntaxError);
          assert.equal(isXmlName(name), false);
          return;
        }
        assert.equal(built.name, name);
        const root = overTheWire(buildRequest('T', 1, [[name, 'v']]));
        assert.deepEqual(root.children.map((c) => [c.name, c.text, c.children.length]), [['TYPE', 'T', 0], ['REQUESTID', '1', 0], [name, 'v', 0]]);
      }),
      { numRuns: 1000 },
    );
  });

  test('names with markup, spaces, a leading digit, a prefix or the reserved xml start are refused', () => {
    for (const bad of [
      '', ' ', 'A B', 'A>', '<A', 'A/', 'A="1"', 'A&', '1A', '-A', '.A', 'A:B', 'é', 'A\n', 'xml', 'XML', 'xmlFoo', 'XmL_1',
      'V></V><INJECTED>x</INJECTED><V', 'TYPE>CALLSTOP</TYPE><X',
    ]) {
      assert.equal(isXmlName(bad), false, JSON.stringify(bad));
      assert.throws(() => element(bad), XmlSyntaxError, JSON.stringify(bad));
      assert.throws(() => buildRequest('TEST', 1, [[bad, 'x']]), XmlSyntaxError, JSON.stringify(bad));
    }
    for (const good of ['REQUEST', 'USER_ID', 'SYS_USER', '_X', 'a.b-c', 'USER15', 'PROCESSOR0', 'XM', 'X_ML']) {
      assert.equal(isXmlName(good), true, good);
      assert.equal(element(good).name, good);
    }
  });

  test('a hand-made tree with a bad name anywhere is refused by serialize()', () => {
    const bad: XmlElement = { name: 'RESULT', text: '', children: [{ name: 'X><Y', text: '', children: [] }] };
    assert.throws(() => serialize(bad), XmlSyntaxError);
  });
});

describe('xml: output layout', () => {
  test('buildResult writes the production TEST answer byte for byte (CRLF line ends)', () => {
    const built = buildResult({ requestType: 'TEST', requestId: 17, resultType: 'API_OK', resultCode: 20, resultMessage: 'API_OK' });
    assert.equal(built, productionTestResult.split('\n').join('\r\n') + '\r\n');
    assert.ok(!/[^\r]\n/.test(built), 'every line ends with CRLF');
  });

  test('the TEST fixture is the one in spec/README.md', { skip: specText('README.md') === undefined && 'spec not available' }, () => {
    assert.ok(specText('README.md')!.includes(productionTestResult));
    assert.ok(specText('README.md')!.includes(productionImportUserList));
  });

  test('the result header order is REQUESTTYPE, REQUESTID, RESULTTYPE, RESULTCODE, RESULTMSG, then the body', () => {
    const built = buildResult(
      { requestType: 'ADDGROUP', requestId: '2', resultType: 'API_OK', resultCode: 20, resultMessage: 'group: Sales & Marketing has been added' },
      [element('GROUPID', '11'), element('GROUPNAME', 'Sales & Marketing')],
    );
    assert.equal(
      built,
      [
        '<RESULT>',
        '\t<REQUESTTYPE>ADDGROUP</REQUESTTYPE>',
        '\t<REQUESTID>2</REQUESTID>',
        '\t<RESULTTYPE>API_OK</RESULTTYPE>',
        '\t<RESULTCODE>20</RESULTCODE>',
        '\t<RESULTMSG>group: Sales &amp; Marketing has been added</RESULTMSG>',
        '\t<GROUPID>11</GROUPID>',
        '\t<GROUPNAME>Sales &amp; Marketing</GROUPNAME>',
        '</RESULT>',
        '',
      ].join('\r\n'),
    );
  });

  test('nested bodies get one tab per level', () => {
    const built = buildResult({ requestType: 'IMPORTUSER', requestId: 17, resultType: 'API_OK', resultCode: 20, resultMessage: 'API_OK' }, [
      element('USERS', [element('COUNT', '1'), element('USER', [element('USER_ID', '1'), element('EMPLOYEE_ID', '')])]),
    ]);
    assert.equal(
      built,
      [
        '<RESULT>',
        '\t<REQUESTTYPE>IMPORTUSER</REQUESTTYPE>',
        '\t<REQUESTID>17</REQUESTID>',
        '\t<RESULTTYPE>API_OK</RESULTTYPE>',
        '\t<RESULTCODE>20</RESULTCODE>',
        '\t<RESULTMSG>API_OK</RESULTMSG>',
        '\t<USERS>',
        '\t\t<COUNT>1</COUNT>',
        '\t\t<USER>',
        '\t\t\t<USER_ID>1</USER_ID>',
        '\t\t\t<EMPLOYEE_ID></EMPLOYEE_ID>',
        '\t\t</USER>',
        '\t</USERS>',
        '</RESULT>',
        '',
      ].join('\r\n'),
    );
  });

  test('buildEvent writes EVENTCLASS, EVENTTYPE, MODULE, EVENTXREF, then EVENTDATA', () => {
    const built = buildEvent({ eventClass: 'CALL', eventType: 'CALLSTART', module: 'Api', eventXref: 0 }, [
      ['DEVICEID', '1111'],
      ['AGENTID', '16'],
      ['CALLDIRECTION', 'I'],
    ]);
    assert.equal(
      built,
      [
        '<CALLCOPYEVENT>',
        '\t<EVENTCLASS>CALL</EVENTCLASS>',
        '\t<EVENTTYPE>CALLSTART</EVENTTYPE>',
        '\t<MODULE>Api</MODULE>',
        '\t<EVENTXREF>0</EVENTXREF>',
        '\t<EVENTDATA>',
        '\t\t<DEVICEID>1111</DEVICEID>',
        '\t\t<AGENTID>16</AGENTID>',
        '\t\t<CALLDIRECTION>I</CALLDIRECTION>',
        '\t</EVENTDATA>',
        '</CALLCOPYEVENT>',
        '',
      ].join('\r\n'),
    );
    // An event without data still carries an (empty) EVENTDATA.
    assert.match(buildEvent({ eventClass: 'RECORD', eventType: 'X', module: 'Api', eventXref: 1 }, []), /\t<EVENTDATA><\/EVENTDATA>\r\n<\/CALLCOPYEVENT>\r\n$/);
  });

  test('buildRequest writes TYPE, REQUESTID, then the parameters in the order given', () => {
    assert.equal(
      buildRequest('CALLUPDATE', 7, [['DEVICEID', '200'], ['USER9', 'x']]),
      '<REQUEST>\r\n\t<TYPE>CALLUPDATE</TYPE>\r\n\t<REQUESTID>7</REQUESTID>\r\n\t<DEVICEID>200</DEVICEID>\r\n\t<USER9>x</USER9>\r\n</REQUEST>\r\n',
    );
    // Map entries work as parameters too.
    assert.equal(buildRequest('TEST', '1', new Map([['A', '1']])), '<REQUEST>\r\n\t<TYPE>TEST</TYPE>\r\n\t<REQUESTID>1</REQUESTID>\r\n\t<A>1</A>\r\n</REQUEST>\r\n');
  });

  test('escapeText escapes &, <, > and CR, and keeps tab, LF, quotes and non-ASCII', () => {
    assert.equal(escapeText(`a<b>&c\r\n\t"'é😀`), `a&lt;b&gt;&amp;c&#13;\n\t"'é😀`);
    assert.equal(escapeText(']]>'), ']]&gt;');
    assert.equal(escapeText('&amp;'), '&amp;amp;', 'an entity-looking value is escaped, not trusted');
    assert.equal(escapeText('\u0000\ufffe'), '\ufffd\ufffd');
  });
});

describe('xml: lenient parsing of the documents and production outputs', () => {
  test('`<AGENT_ID>2</USERID>` in a REQUEST: AGENT_ID is 2 and the following elements stay siblings', () => {
    const root = parseXml(manualImportUserAdd);
    assert.equal(root.name, 'REQUEST');
    assert.deepEqual(
      root.children.map((c) => c.name),
      ['TYPE', 'REQUESTID', 'ACTION', 'AGENT_ID', 'EMPLOYEEID', 'FIRSTNAME', 'LASTNAME', 'STATUS', 'ADD_TIME', 'MOD_TIME', 'SYS_USER', 'DOMAIN', 'EMAIL', 'CRM_USER', 'PASSWORD', 'SITEID', 'USERNAME'],
    );
    for (const c of root.children) assert.equal(c.children.length, 0, `${c.name} is a leaf`);
    assert.equal(childText(root, 'AGENT_ID'), '2');
    assert.equal(childText(root, 'EMPLOYEEID'), '5');
    assert.equal(childText(root, 'USERNAME'), 'CallCopyUsername');
  });

  test('`<AGENT_ID>2</USERID>` nested in the manual LIST result closes only AGENT_ID', () => {
    const root = parseXml(manualImportUserListResult);
    assert.equal(root.name, 'RESULT');
    const agents = child(root, 'AGENTS')!;
    assert.deepEqual(agents.children.map((c) => c.name), ['COUNT', 'AGENT']);
    const agent = child(agents, 'AGENT')!;
    assert.deepEqual(
      agent.children.map((c) => [c.name, c.text]),
      [
        ['AGENT_ID', '2'], ['EMPLOYEEID', '5'], ['FIRSTNAME', 'John'], ['LASTNAME', 'Doe'], ['STATUS', 'A'],
        ['ADD_TIME', '10/30/2006 4:05:38 PM'], ['MOD_TIME', '3/27/2008 3:34:43 PM'], ['SYS_USER', 'jdoe'], ['DOMAIN', 'Uptivity'],
        ['EMAIL', 'jdoe@uptivity.com'], ['CRM_USER', 'john'], ['PHONES', '1123,3343,3234'],
      ],
    );
  });

  test('a mismatched close never closes the root: `<R><A>1</B><C>2</C></R>`', () => {
    const root = parseXml('<R><A>1</B></Z></Y><C>2</C></R>');
    assert.deepEqual(root.children.map((c) => [c.name, c.text]), [['A', '1'], ['C', '2']]);
  });

  test('a raw & in `Sales & Marketing` is text', () => {
    const request = parseXml(manualAddGroupRequest);
    assert.equal(childText(request, 'GROUPNAME'), 'Sales & Marketing');
    const result = parseXml(manualAddGroupResult);
    assert.equal(childText(result, 'RESULTMSG'), 'group: Sales & Marketing has been added');
    assert.equal(childText(result, 'GROUPID'), '11');
    assert.equal(childText(result, 'GROUPNAME'), 'Sales & Marketing');
  });

  test('the production IMPORTUSER LIST that never closes <USERS>: root RESULT, every USER field readable', () => {
    const root = parseXml(productionImportUserList);
    assert.equal(root.name, 'RESULT');
    assert.deepEqual(root.children.map((c) => c.name), ['REQUESTTYPE', 'REQUESTID', 'RESULTTYPE', 'RESULTCODE', 'RESULTMSG', 'USERS']);
    assert.equal(childText(root, 'RESULTCODE'), '20');
    const users = child(root, 'USERS')!;
    assert.equal(childText(users, 'COUNT'), '1');
    const user = child(users, 'USER')!;
    assert.deepEqual(
      user.children.map((c) => [c.name, c.text]),
      [
        ['USER_ID', '1'], ['USERNAME', 'user1'], ['EMPLOYEE_ID', ''], ['FIRST_NAME', 'CallCopy'], ['LAST_NAME', 'Admin'],
        ['AGENT', 'FALSE'], ['STATUS', 'A'], ['ADD_TIME', '1/1/0001 12:00:00 AM +00:00'], ['MOD_TIME', '4/12/2017 3:51:30 PM-05:00'],
        ['SYS_USER', ''], ['SYS_DOMAIN', ''], ['EMAIL', 'user@user.com'], ['CRM_USER', ''], ['SITE_ID', '-1'], ['PHONES', ''],
      ],
    );
  });

  test('`<RECORDINGPATH>C:\\Recordings\\<</RECORDINGPATH>` is text and the SYSTEMSTATUS fields after it parse', () => {
    const root = parseXml(manualSystemStatusResult);
    assert.equal(childText(root, 'RECORDINGPATH'), 'C:\\Recordings\\<');
    assert.equal(childText(root, 'RECORDINGSPEACEINFO'), '223.66GB of 465.64GB');
    assert.deepEqual(
      root.children.filter((c) => c.name.startsWith('PROCESSOR')).map((c) => [c.name, c.children.map((g) => g.name)]),
      [0, 1, 2, 3].map((n) => [`PROCESSOR${n}`, ['SYSTEMPROCESSORSPEED', 'SYSTEMPROCESSORTYPE']]),
    );
    assert.equal(childText(root, 'SYSTEMRAMUSEDPCT'), '48');
    assert.deepEqual(root.children.map((c) => c.name), [
      'REQUESTTYPE', 'REQUESTID', 'RESULTTYPE', 'RESULTCODE', 'RESULTMSG', 'RECORDINGPATH', 'RECORDINGSPEACEINFO',
      'RECORDINGTOTALDISKCAPACITY', 'RECORDINGTOTALDISKFREE', 'RECORDINGTOTALDISKFREEPCT', 'SYSTEMUPTIME',
      'PROCESSOR0', 'PROCESSOR1', 'PROCESSOR2', 'PROCESSOR3', 'SYSTEMRAMTOTAL', 'SYSTEMRAMFREE', 'SYSTEMRAMUSED', 'SYSTEMRAMUSEDPCT',
    ]);
  });

  test('a `<` that starts no tag is text: `a < b`, `a <= b`, `<<`, `<` at the end', () => {
    assert.equal(parseXml('<V>a < b</V>').text, 'a < b');
    assert.equal(parseXml('<V>a <= b <3 <</V>').text, 'a <= b <3 <');
    assert.equal(parseXml('<V>x<').text, 'x<');
  });

  test('CDATA is taken literally, entities inside it are not decoded', () => {
    assert.equal(parseXml('<V><![CDATA[<b>&amp; ]] > ]]]]></V>').text, '<b>&amp; ]] > ]]');
    assert.equal(parseXml('<V>a&amp;<![CDATA[&]]>b&lt;</V>').text, 'a&&b<');
    assert.equal(parseXml('<V><![CDATA[</V>]]></V>').text, '</V>');
    assert.equal(parseXml('<V><![CDATA[unterminated').text, 'unterminated');
  });

  test('predefined and numeric entities are decoded once; unknown or invalid ones stay literal', () => {
    assert.equal(parseXml('<V>&lt;&gt;&amp;&quot;&apos;</V>').text, `<>&"'`);
    assert.equal(parseXml('<V>&#65;&#x42;&#x1F600;&#128512;&#13;&#10;&#9;</V>').text, 'AB😀😀\r\n\t');
    assert.equal(parseXml('<V>&amp;lt;</V>').text, '&lt;', 'no double decoding');
    assert.equal(parseXml('<V>&foo; &nbsp; &copy;</V>').text, '&foo; &nbsp; &copy;');
    assert.equal(parseXml('<V>&#xD800; &#x110000; &#; &#x; &amp</V>').text, '&#xD800; &#x110000; &#; &#x; &amp');
    assert.equal(decodeEntities('AT&T & &LT;'), 'AT&T & &LT;');
  });

  test('comments, processing instructions and the prolog are skipped', () => {
    const root = parseXml('\ufeff<?xml version="1.0" encoding="utf-8"?>\r\n<!-- <NOT>a root</NOT> -->\r\n<RESULT><!-- <X/> --><A>1<?pi x?>2</A></RESULT>');
    assert.equal(root.name, 'RESULT');
    assert.deepEqual(root.children.map((c) => [c.name, c.text]), [['A', '12']]);
  });

  test('attributes are skipped, even with `>` inside a quoted value; self-closing elements are empty', () => {
    const root = parseXml(`<R a="x>y" b='<C/>'><A/><B x="1" /><C>3</C></R>`);
    assert.deepEqual(root.children.map((c) => [c.name, c.text]), [['A', ''], ['B', ''], ['C', '3']]);
    assert.deepEqual(parseXml('<RESULT/>'), { name: 'RESULT', text: '', children: [] });
  });

  test('the document ends where the root closes: a second root and trailing text are ignored', () => {
    const root = parseXml('<A>1</A>\r\n<B>2</B>trailing');
    assert.deepEqual(root, { name: 'A', text: '1', children: [] });
  });

  test('text before the root, even a stray close tag, is ignored', () => {
    assert.equal(parseXml('junk </x> more <R>1</R>').text, '1');
    assert.equal(parseXml('</RESULT>\r\n<RESULT>1</RESULT>').text, '1');
  });

  test('names are matched on close as written; child() and childText() ignore case', () => {
    const root = parseXml('<Result><resultCode>20</resultCode></Result>');
    assert.equal(childText(root, 'RESULTCODE'), '20');
    assert.equal(child(root, 'missing'), undefined);
    assert.equal(childText(root, 'missing'), undefined);
  });
});

describe('xml: hostile input', () => {
  test('a DOCTYPE entity is never expanded (XXE)', () => {
    const xxe = [
      '<?xml version="1.0"?>',
      '<!DOCTYPE REQUEST [',
      '<!ELEMENT REQUEST ANY >',
      '<!ENTITY xxe SYSTEM "file:///etc/passwd" >]>',
      '<REQUEST><TYPE>TEST</TYPE><REQUESTID>&xxe;</REQUESTID></REQUEST>',
    ].join('\n');
    const root = parseXml(xxe);
    assert.equal(root.name, 'REQUEST');
    assert.equal(childText(root, 'REQUESTID'), '&xxe;');
  });

  test('billion laughs stays one short literal', () => {
    const decls = ['<!ENTITY lol "lol">'];
    for (let n = 1; n <= 9; n++) decls.push(`<!ENTITY lol${n} "${`&lol${n === 1 ? '' : n - 1};`.repeat(10)}">`);
    const root = parseXml(`<?xml version="1.0"?>\n<!DOCTYPE lolz [\n${decls.join('\n')}\n]>\n<lolz>&lol9;</lolz>`);
    assert.deepEqual(root, { name: 'lolz', text: '&lol9;', children: [] });
  });

  test('markup inside a DOCTYPE internal subset is not mistaken for the document', () => {
    const cases = [
      '<!DOCTYPE r [<!ENTITY x "<b>text</b>">]><r>&x;</r>',
      '<!DOCTYPE r [<!ENTITY x "1>2<fake/>">]><r>&x;</r>',
      "<!DOCTYPE r [<!ENTITY x ']>'><!ENTITY y \"'\">]><r>&x;</r>",
      "<!DOCTYPE r [<!-- don't <fake/> --><!ENTITY x \"v\">]><r>&x;</r>",
      '<!DOCTYPE r SYSTEM "a>b.dtd"><r>&x;</r>',
    ];
    for (const xml of cases) assert.deepEqual(parseXml(xml), { name: 'r', text: '&x;', children: [] }, xml);
    assert.deepEqual(parseXml('<!doctype html><r>1</r>'), { name: 'r', text: '1', children: [] });
    // A DOCTYPE that never ends swallows the rest, as any unterminated declaration does.
    assert.throws(() => parseXml('<!DOCTYPE r [ <!ENTITY x "v"> <r>1</r>'), XmlSyntaxError);
  });

  test('pathological input of a megabyte parses (or fails) in linear time', () => {
    const pathological = [
      '<!DOCTYPE [>', '<!DOCTYPE "', "<!DOCTYPE '>", '<!DOCTYPE <!--', '<!--', '<![CDATA[', '<?', '<a "', '</a', '<a ', '&#x',
      '</x>', '<r>&', '<r><!DOCTYPE [>',
    ];
    for (const piece of pathological) {
      const input = piece.repeat(Math.ceil(1_000_000 / piece.length));
      const started = performance.now();
      try {
        parseXml(input, { maxDepth: 64, maxElements: 1_000_000 });
      } catch (error) {
        assert.ok(error instanceof XmlSyntaxError, `${piece}: ${String(error)}`);
      }
      assert.ok(performance.now() - started < 2000, `${JSON.stringify(piece)} repeated took ${performance.now() - started} ms`);
    }
  });

  test('nesting deeper than the limit throws XmlSyntaxError; at the limit it parses', () => {
    assert.equal(parseXml('<a>'.repeat(64)).name, 'a');
    assert.throws(() => parseXml('<a>'.repeat(65)), XmlSyntaxError);
    assert.throws(() => parseXml('<a>'.repeat(100_000)), XmlSyntaxError);
    const limits = { maxDepth: 3, maxElements: 1000 };
    assert.equal(parseXml('<a><b><c></c></b></a>', limits).name, 'a');
    assert.throws(() => parseXml('<a><b><c><d></d></c></b></a>', limits), XmlSyntaxError);
  });

  test('more elements than the limit throws XmlSyntaxError; at the limit it parses', () => {
    const doc = (children: number): string => `<R>${'<E/>'.repeat(children)}</R>`;
    assert.equal(parseXml(doc(199_999)).children.length, 199_999);
    assert.throws(() => parseXml(doc(200_000)), XmlSyntaxError);
    const limits = { maxDepth: 64, maxElements: 5 };
    assert.equal(parseXml(doc(4), limits).children.length, 4);
    assert.throws(() => parseXml(doc(5), limits), XmlSyntaxError);
  });

  test('input without any element throws XmlSyntaxError', () => {
    for (const input of ['', '   \r\n', 'just text', '&amp;', '<', '< RESULT>', '<1>', '</RESULT>', '<!-- <R/> -->', '<?xml version="1.0"?>', '<![CDATA[<R/>]]>', '<!DOCTYPE R>']) {
      assert.throws(() => parseXml(input), XmlSyntaxError, JSON.stringify(input));
    }
  });

  test('any string either parses to an element or throws XmlSyntaxError, nothing else', () => {
    const nameRe = /^[A-Za-z_:][A-Za-z0-9_.:-]*$/;
    const check = (node: XmlElement, depth: number): void => {
      assert.match(node.name, nameRe);
      assert.ok(depth <= 64);
      assert.equal(typeof node.text, 'string');
      for (const c of node.children) check(c, depth + 1);
    };
    fc.assert(
      fc.property(anyInput, (input) => {
        let root: XmlElement;
        try {
          root = parseXml(input);
        } catch (error) {
          assert.ok(error instanceof XmlSyntaxError, `unexpected ${String(error)}`);
          return;
        }
        check(root, 1);
      }),
      { numRuns: 2000 },
    );
  });
});

describe('leadingChildTexts (the hot-path header read)', () => {
  const header = new Set(['REQUESTTYPE', 'TYPE', 'REQUESTID', 'RESULTCODE', 'RESULTMSG']);
  const all = (texts: Map<string, string>): boolean => texts.size === header.size;

  test("reads the production TEST answer's header without parsing it", () => {
    const { texts, complete } = leadingChildTexts(Buffer.from(productionTestResult), header, () => false);
    assert.equal(complete, true);
    assert.equal(texts.get('REQUESTTYPE'), 'TEST');
    assert.equal(texts.get('RESULTCODE'), '20');
    assert.equal(texts.has('TYPE'), false, 'complete: TYPE is known to be absent');
  });

  test('knows an answer that is all header once it has what it asked for, and one that holds more', () => {
    const enough = (texts: Map<string, string>): boolean => texts.has('RESULTCODE') && texts.has('RESULTMSG');
    const headerOnly = '<RESULT><REQUESTTYPE>TEST</REQUESTTYPE><RESULTCODE>20</RESULTCODE><RESULTMSG>ok</RESULTMSG>\r\n</RESULT>';
    assert.deepEqual(leadingChildTexts(Buffer.from(headerOnly), header, enough), {
      texts: new Map([['REQUESTTYPE', 'TEST'], ['RESULTCODE', '20'], ['RESULTMSG', 'ok']]),
      complete: true,
      onlyNamed: true,
    });
    const withBody = headerOnly.replace('\r\n', '<CORES>1</CORES>');
    assert.equal(leadingChildTexts(Buffer.from(withBody), header, enough).complete, false, 'it stops before CORES');
    const plainBodyFirst = '<RESULT><CORES>1</CORES><RESULTCODE>20</RESULTCODE><RESULTMSG>ok</RESULTMSG></RESULT>';
    assert.deepEqual(
      { ...leadingChildTexts(Buffer.from(plainBodyFirst), header, enough), texts: undefined },
      { texts: undefined, complete: true, onlyNamed: false },
    );
  });

  test('stops at the first irregular child and says it did not see the whole root', () => {
    const cases = [
      '<RESULT><REQUESTTYPE>A</REQUESTTYPE><AGENT_ID>2</USERID><RESULTCODE>0</RESULTCODE></RESULT>',
      '<RESULT><REQUESTTYPE a="1">A</REQUESTTYPE></RESULT>',
      '<RESULT><LIST><REQUESTTYPE>B</REQUESTTYPE></LIST><REQUESTTYPE>A</REQUESTTYPE></RESULT>',
      '<RESULT><!-- c --><REQUESTTYPE>A</REQUESTTYPE></RESULT>',
      '<RESULT><REQUESTTYPE>A</REQUESTTYPE>',
      ' <RESULT/>',
    ];
    for (const xml of cases) assert.equal(leadingChildTexts(Buffer.from(xml), header, () => false).complete, false, xml);
  });

  test('agrees with parseXml whenever it claims to know (property)', () => {
    fc.assert(
      fc.property(fc.array(headerPiece, { maxLength: 10 }), fc.boolean(), (pieces, closed) => {
        const xml = `<RESULT>${pieces.join('')}${closed ? '</RESULT>' : ''}`;
        const { texts, complete, onlyNamed } = leadingChildTexts(Buffer.from(xml), header, all);
        if (!complete && !all(texts)) return;
        const root = parseXml(xml);
        for (const wanted of header) {
          if (texts.has(wanted) || complete) assert.equal(texts.get(wanted), childText(root, wanted), `${wanted} in ${xml}`);
        }
        if (complete && onlyNamed) {
          for (const c of root.children) assert.ok(header.has(c.name.toUpperCase()), `${c.name} in ${xml}, said to hold only the header`);
        }
      }),
      { numRuns: 3000 },
    );
  });
});
