import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fc from 'fast-check';
import { FrameTooLargeError, frameAll, MessageFramer, type Frame } from '../../src/protocol/framing.js';
import { buildEvent, buildRequest, buildResult, child, childText, element, parseXml } from '../../src/protocol/xml.js';
import { productionImportUserList, productionTestResult } from './spec-examples.js';

// ---------------------------------------------------------------------------------------------
// Helpers

type Expected = { kind: 'message'; root: string; text: string } | { kind: 'garbage'; bytes: Buffer };

const message = (root: string, text: string): Expected => ({ kind: 'message', root, text });
const garbage = (bytes: string | Buffer): Expected => ({ kind: 'garbage', bytes: Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes, 'utf8') });

/** Frames in a comparable form: messages as UTF-8 text, garbage as bytes. */
const comparable = (frames: readonly Frame[]): unknown[] =>
  frames.map((f) => (f.kind === 'message' ? { kind: 'message', root: f.root, hex: f.bytes.toString('hex') } : { kind: 'garbage', hex: f.bytes.toString('hex') }));
const expected = (items: readonly Expected[]): unknown[] =>
  items.map((e) =>
    e.kind === 'message'
      ? { kind: 'message', root: e.root, hex: Buffer.from(e.text, 'utf8').toString('hex') }
      : { kind: 'garbage', hex: e.bytes.toString('hex') },
  );

/** Push chunks cut at the given byte offsets into one framer and collect every frame. */
function frameInChunks(bytes: Buffer, cuts: readonly number[], framer = new MessageFramer()): Frame[] {
  const frames: Frame[] = [];
  let from = 0;
  for (const cut of [...cuts, bytes.length]) {
    frames.push(...framer.push(bytes.subarray(from, cut)));
    from = cut;
  }
  return frames;
}

const crlf = (text: string): string => text.split('\n').join('\r\n');

const testResult = crlf(productionTestResult);
const usersList = crlf(productionImportUserList);

// ---------------------------------------------------------------------------------------------

describe('framing: the end of a message is the closing tag of its root', () => {
  test('a pretty-printed multi-line answer is one message, without its trailing CRLF', () => {
    const framer = new MessageFramer();
    const frames = framer.push(Buffer.from(testResult + '\r\n'));
    assert.deepEqual(comparable(frames), expected([message('RESULT', testResult)]));
    assert.equal(framer.pendingBytes, 0, 'the trailing CRLF is consumed as whitespace between messages');
  });

  test('a message without any trailing line break is complete at its closing `>`', () => {
    assert.deepEqual(comparable(frameAll(Buffer.from(testResult))), expected([message('RESULT', testResult)]));
    const request = buildRequest('TEST', 1).trimEnd();
    assert.deepEqual(comparable(frameAll(Buffer.from(request))), expected([message('REQUEST', request)]));
  });

  test('several messages in one chunk, with CRLF, LF, blank lines or nothing between them', () => {
    const event = buildEvent({ eventClass: 'CALL', eventType: 'CALLSTART', module: 'Api', eventXref: 0 }, [['DEVICEID', '1111']]).trimEnd();
    const request = buildRequest('TEST', 2).trimEnd();
    const stream = `${testResult}${event}\r\n${request}\n\r\n\r\n${testResult}\t ${event}`;
    assert.deepEqual(
      comparable(frameAll(Buffer.from(stream))),
      expected([message('RESULT', testResult), message('CALLCOPYEVENT', event), message('REQUEST', request), message('RESULT', testResult), message('CALLCOPYEVENT', event)]),
    );
  });

  test('inner elements whose names start like the root do not end it: </RESULTCODE>, </RESULTS>, </RESULT_X>', () => {
    const text = '<RESULT><RESULTCODE>20</RESULTCODE><RESULTS>1</RESULTS><RESULT_X/></RESULT_X></RESULTMSG></RESULT>';
    assert.deepEqual(comparable(frameAll(Buffer.from(text))), expected([message('RESULT', text)]));
  });

  test('the closing tag may carry whitespace before `>` and any letter case', () => {
    for (const close of ['</RESULT>', '</RESULT  >', '</RESULT\t>', '</RESULT\r\n>', '</result>', '</Result >', '</rEsUlT>']) {
      const text = `<RESULT>\r\n\t<RESULTCODE>20</RESULTCODE>\r\n${close}`;
      assert.deepEqual(comparable(frameAll(Buffer.from(text + '\r\n' + text))), expected([message('RESULT', text), message('RESULT', text)]), close);
    }
    const lower = '<result><resultcode>20</resultcode></RESULT>';
    assert.deepEqual(comparable(frameAll(Buffer.from(lower))), expected([message('result', lower)]));
  });

  test('a self-closing root is a whole message', () => {
    const stream = `<RESULT/><RESULT />\r\n<CALLCOPYEVENT a="1"/>${testResult}`;
    assert.deepEqual(
      comparable(frameAll(Buffer.from(stream))),
      expected([message('RESULT', '<RESULT/>'), message('RESULT', '<RESULT />'), message('CALLCOPYEVENT', '<CALLCOPYEVENT a="1"/>'), message('RESULT', testResult)]),
    );
  });

  test('a BOM, an XML declaration, comments and a DOCTYPE before the root are not part of the message', () => {
    const prolog = '\ufeff<?xml version="1.0" encoding="utf-8"?>\r\n<!-- a comment > with <RESULT> inside -->\r\n<!---->\r\n<!DOCTYPE RESULT>\r\n';
    assert.deepEqual(comparable(frameAll(Buffer.from(prolog + testResult + '\r\n' + prolog + testResult))), expected([message('RESULT', testResult), message('RESULT', testResult)]));
  });

  test('a comment split just before its closing `>` waits for the real byte, whatever the buffer held before', () => {
    // The first message leaves `>` bytes in the framer's buffer just past where the comment's chunk ends.
    const framer = new MessageFramer();
    assert.equal(framer.push(Buffer.from('<R>' + '>'.repeat(100) + '</R>')).length, 1);
    assert.deepEqual(framer.push(Buffer.from('<!-- c --')), []);
    assert.equal(framer.pendingBytes, '<!-- c --'.length);
    // `--` inside a comment is not XML, but the lenient reader keeps reading to the real `-->`.
    assert.deepEqual(comparable(framer.push(Buffer.from(' still -->\r\n<R/>'))), expected([message('R', '<R/>')]));
    assert.equal(framer.pendingBytes, 0);

    // Same start, then a chunk large enough to make the framer compact its buffer.
    const compacting = new MessageFramer();
    compacting.push(Buffer.from('<R>' + '>'.repeat(100) + '</R>'));
    compacting.push(Buffer.from('<!-- c --'));
    const big = `> ${' '.repeat(70_000)}<R/>`;
    assert.deepEqual(comparable(compacting.push(Buffer.from(big))), expected([message('R', '<R/>')]));
  });

  test('a DOCTYPE internal subset holding `>` and markup is skipped as a whole', () => {
    const doctype = '<!DOCTYPE RESULT [<!ENTITY x "a>b<RESULT/>"> <!-- don\'t --> <!ENTITY y \']>\'>]>';
    for (const between of ['', '\r\n']) {
      const stream = `${doctype}${between}${testResult}\r\n${testResult}`;
      assert.deepEqual(comparable(frameAll(Buffer.from(stream))), expected([message('RESULT', testResult), message('RESULT', testResult)]), JSON.stringify(between));
      assert.deepEqual(comparable(frameInChunks(Buffer.from(stream), [...Array(doctype.length + 3).keys()])), expected([message('RESULT', testResult), message('RESULT', testResult)]));
    }
  });

  test('the production LIST answer that never closes <USERS> is framed whole and parses', () => {
    const framer = new MessageFramer();
    const frames = framer.push(Buffer.from(usersList + '\r\n' + testResult + '\r\n'));
    assert.deepEqual(comparable(frames), expected([message('RESULT', usersList), message('RESULT', testResult)]));
    const root = parseXml(frames[0]!.kind === 'message' ? frames[0]!.bytes.toString('utf8') : '');
    const user = child(child(root, 'USERS')!, 'USER')!;
    assert.equal(childText(user, 'USERNAME'), 'user1');
    assert.equal(childText(user, 'EMAIL'), 'user@user.com');
    assert.equal(framer.pendingBytes, 0);
  });

  test('frames are copies: later pushes do not change the bytes of earlier frames', () => {
    const framer = new MessageFramer(1 << 20);
    const first = framer.push(Buffer.from(testResult + '\r\n'));
    const snapshot = Buffer.from((first[0] as { bytes: Buffer }).bytes);
    for (let n = 0; n < 50; n++) framer.push(Buffer.from(usersList.replace(/user1/g, `u${n}`.repeat(50)) + '\r\n'));
    assert.ok((first[0] as { bytes: Buffer }).bytes.equals(snapshot));
  });
});

describe('framing: chunk boundaries', () => {
  const event = buildEvent({ eventClass: 'CALL', eventType: 'CALLUPDATE', module: 'Api', eventXref: 3 }, [
    ['DEVICEID', 'é中😀'],
    ['USER1', 'Sales & <Marketing>'],
  ]).trimEnd();
  const request = '<REQUEST>\n  <TYPE>TEST</TYPE>\n  <REQUESTID>9</REQUESTID>\n</request >';
  const binaryGarbage = Buffer.from([0x00, 0x01, 0xfe, 0xff, 0x80, 0x20, 0x6a, 0x75, 0x6e, 0x6b, 0x0d, 0x0a]);
  const stream = Buffer.concat([
    Buffer.from(`\ufeff<?xml version="1.0" encoding="utf-8"?>\r\n<!-- prolog > comment -->\r\n${testResult}\r\njunk line é\r\n${event}<RESULT/>`),
    binaryGarbage,
    Buffer.from(`${request}\n${usersList}\r\n`),
  ]);
  const all = expected([
    message('RESULT', testResult),
    garbage('junk line é\r\n'),
    message('CALLCOPYEVENT', event),
    message('RESULT', '<RESULT/>'),
    garbage(binaryGarbage),
    message('REQUEST', request),
    message('RESULT', usersList),
  ]);

  test('the whole stream at once', () => {
    assert.deepEqual(comparable(frameAll(stream)), all);
  });

  test('split in two at every possible byte offset', () => {
    for (let cut = 0; cut <= stream.length; cut++) {
      assert.deepEqual(comparable(frameInChunks(stream, [cut])), all, `cut at ${cut}`);
    }
  });

  test('one byte at a time', () => {
    assert.deepEqual(comparable(frameInChunks(stream, [...Array(stream.length).keys()].slice(1))), all);
  });

  test('split in three at every pair of offsets of a short stream', () => {
    const short = Buffer.from('\ufeff<A>é</A >\r\n<B/>junk\n<C x=">">😀</c\t>');
    const want = expected([message('A', '<A>é</A >'), message('B', '<B/>'), garbage('junk\n'), message('C', '<C x=">">😀</c\t>')]);
    for (let a = 0; a <= short.length; a++) {
      for (let b = a; b <= short.length; b++) assert.deepEqual(comparable(frameInChunks(short, [a, b])), want, `cuts ${a}, ${b}`);
    }
  });

  test('a multi-byte character split across chunks comes back whole', () => {
    const text = '<RESULT><RESULTMSG>é中😀👩‍👩‍👧</RESULTMSG></RESULT>';
    const bytes = Buffer.from(text);
    for (let cut = 0; cut <= bytes.length; cut++) {
      const frames = frameInChunks(bytes, [cut]);
      assert.equal(frames.length, 1);
      assert.equal(childText(parseXml(frames[0]!.bytes.toString('utf8')), 'RESULTMSG'), 'é中😀👩‍👩‍👧', `cut at ${cut}`);
    }
  });

  test('property: random messages, separators and garbage, chunked at random, come back exactly', () => {
    const value = fc.string({
      unit: fc.oneof(
        fc.constantFrom('<', '>', '&', '</RESULT>', '</REQUEST >', '</CALLCOPYEVENT', '<RESULT>', '\r\n', '\n', '\t', ' ', 'é', '中', '😀', ']]>', '<!--', '"'),
        fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }),
      ),
      maxLength: 20,
    });
    const fields = fc.array(fc.tuple(fc.constantFrom('DEVICEID', 'USER1', 'RESULTS', 'RESULTCODEX', 'REQUESTX', 'GROUPNAME'), value), { maxLength: 4 });
    const built = fc.oneof(
      fc.tuple(value, fields).map(([type, f]) => ({ root: 'REQUEST', text: buildRequest(type, 1, f).trimEnd() })),
      fc.tuple(value, fields).map(([msg, f]) => ({
        root: 'RESULT',
        text: buildResult({ requestType: 'X', requestId: 1, resultType: 'API_OK', resultCode: 20, resultMessage: msg }, f.map(([n, v]) => element(n, v))).trimEnd(),
      })),
      fc.tuple(value, fields).map(([xref, f]) => ({ root: 'CALLCOPYEVENT', text: buildEvent({ eventClass: 'ALL', eventType: 'X', module: 'Api', eventXref: xref }, f).trimEnd() })),
      fc.constantFrom({ root: 'RESULT', text: '<RESULT/>' }, { root: 'RESULT', text: usersList }, { root: 'RESULT', text: testResult }),
    );
    // The closing tag as cores may write it: as built, other case, whitespace before `>`.
    const restyled = fc.tuple(built, fc.constantFrom('', 'lower', ' ', '\r\n')).map(([m, style]): Expected => {
      const close = `</${m.root}>`;
      if (!m.text.endsWith(close) || style === '') return message(m.root, m.text);
      const rewritten = style === 'lower' ? close.toLowerCase() : `</${m.root}${style}>`;
      return message(m.root, m.text.slice(0, -close.length) + rewritten);
    });
    const garbageLine = fc
      .tuple(
        fc.integer({ min: 0, max: 255 }).filter((b) => ![0x20, 0x09, 0x0a, 0x0d, 0x3c, 0xef].includes(b)),
        fc.uint8Array({ maxLength: 30 }).map((a) => a.filter((b) => b !== 0x0a)),
        fc.constantFrom('\n', '\r\n'),
      )
      .map(([first, rest, eol]) => garbage(Buffer.concat([Buffer.from([first]), Buffer.from(rest), Buffer.from(eol)])));
    const separator = fc.constantFrom('', '\r\n', '\n', '\r\n\r\n', ' \t', '\r\n<?xml version="1.0"?>\r\n', '<!-- </RESULT> -->', '\ufeff');
    const item = fc.tuple(separator, fc.oneof({ weight: 4, arbitrary: restyled }, { weight: 1, arbitrary: garbageLine }));
    const chunkSizes = fc.array(fc.integer({ min: 1, max: 97 }), { minLength: 1, maxLength: 20 });

    fc.assert(
      fc.property(fc.array(item, { minLength: 1, maxLength: 6 }), chunkSizes, (items, sizes) => {
        const bytes = Buffer.concat(items.flatMap(([sep, it]) => [Buffer.from(sep), it.kind === 'message' ? Buffer.from(it.text) : it.bytes]));
        const cuts: number[] = [];
        for (let at = 0, k = 0; ; k++) {
          at += sizes[k % sizes.length]!;
          if (at >= bytes.length) break;
          cuts.push(at);
        }
        const framer = new MessageFramer();
        assert.deepEqual(comparable(frameInChunks(bytes, cuts, framer)), expected(items.map(([, it]) => it)));
        assert.equal(framer.pendingBytes, 0);
      }),
      { numRuns: 300 },
    );
  });
});

describe('framing: what is not a message', () => {
  test('binary bytes and text that does not start with `<` are garbage up to and including the newline', () => {
    const junk = Buffer.from([0x00, 0xff, 0x10, 0x80, 0x0d, 0x0a]);
    const stream = Buffer.concat([junk, Buffer.from(`GET / HTTP/1.1\r\nhello <RESULT></RESULT>\n< not a tag\n<1>\n</RESULT>\n${testResult}`)]);
    assert.deepEqual(
      comparable(frameAll(stream)),
      expected([
        garbage(junk),
        garbage('GET / HTTP/1.1\r\n'),
        garbage('hello <RESULT></RESULT>\n'),
        garbage('< not a tag\n'),
        garbage('<1>\n'),
        garbage('</RESULT>\n'),
        message('RESULT', testResult),
      ]),
    );
  });

  test('a garbage line is held until its newline arrives', () => {
    const framer = new MessageFramer();
    assert.deepEqual(framer.push(Buffer.from('partial garbage')), []);
    assert.equal(framer.pendingBytes, 'partial garbage'.length);
    assert.deepEqual(comparable(framer.push(Buffer.from(' line\r\n<RESULT/>'))), expected([garbage('partial garbage line\r\n'), message('RESULT', '<RESULT/>')]));
  });
});

describe('framing: bounds and scale', () => {
  test('FrameTooLargeError when a message exceeds maxMessageBytes without its closing tag', () => {
    const framer = new MessageFramer(100);
    assert.throws(
      () => framer.push(Buffer.from('<RESULT>' + 'x'.repeat(200))),
      (error: unknown) => error instanceof FrameTooLargeError && error.limit === 100 && /100 bytes/.test(error.message),
    );
  });

  test('the bound also holds when the message arrives in small pieces, and for an endless garbage line', () => {
    const framer = new MessageFramer(100);
    framer.push(Buffer.from('<RESULT>'));
    assert.throws(() => {
      for (let n = 0; n < 200; n++) framer.push(Buffer.from('x'));
    }, FrameTooLargeError);
    const noNewline = new MessageFramer(100);
    assert.throws(() => {
      for (let n = 0; n < 20; n++) noNewline.push(Buffer.from('garbage...'));
    }, FrameTooLargeError);
  });

  test('the bound is per message: many small messages in one large chunk are fine; a message at the bound is fine', () => {
    const small = '<RESULT><A>1</A></RESULT>';
    assert.equal(frameAll(Buffer.from(small.repeat(100)), 100).length, 100);
    const framer = new MessageFramer(small.length);
    for (const byte of Buffer.from(small + small)) framer.push(Buffer.from([byte]));
    assert.equal(framer.pendingBytes, 0);
  });

  test('10 MB of messages pushed in 64 KB chunks is framed in linear time', () => {
    const body = Array.from({ length: 10 }, (_, k) => element('USER', [element('USER_ID', String(k)), element('USERNAME', `user-é-${'x'.repeat(60)}`)]));
    const one = buildResult({ requestType: 'IMPORTUSER', requestId: 1, resultType: 'API_OK', resultCode: 20, resultMessage: 'API_OK' }, [element('USERS', body)]);
    const count = Math.ceil((10 * 1024 * 1024) / Buffer.byteLength(one));
    const stream = Buffer.from(one.repeat(count));
    const framer = new MessageFramer();
    const started = performance.now();
    let frames = 0;
    for (let at = 0; at < stream.length; at += 64 * 1024) frames += framer.push(stream.subarray(at, at + 64 * 1024)).length;
    const elapsed = performance.now() - started;
    assert.equal(frames, count);
    assert.equal(framer.pendingBytes, 0);
    assert.ok(elapsed < 5000, `took ${elapsed} ms`);
  });

  for (const [label, inner] of [
    ['many inner elements', '\t<ROW>0123456789abcdef0123456789abcdef</ROW>\r\n'],
    ['no closing tag at all until the end', 'x'.repeat(63) + '\n'],
  ] as const) {
    test(`one 10 MB message (${label}) pushed in 64 KB chunks is framed in linear time`, () => {
      const text = `<RESULT>\r\n${inner.repeat(Math.ceil((10 * 1024 * 1024) / inner.length))}</RESULT>`;
      const stream = Buffer.from(text + '\r\n');
      const framer = new MessageFramer(16 * 1024 * 1024);
      const started = performance.now();
      const frames: Frame[] = [];
      for (let at = 0; at < stream.length; at += 64 * 1024) frames.push(...framer.push(stream.subarray(at, at + 64 * 1024)));
      const elapsed = performance.now() - started;
      assert.equal(frames.length, 1);
      assert.equal(frames[0]!.bytes.length, Buffer.byteLength(text));
      assert.ok(elapsed < 5000, `took ${elapsed} ms`);
    });
  }
});

describe('bounds hold however the bytes arrive', () => {
  test('a message over the bound that arrives in one chunk is refused like one arriving in pieces', () => {
    const big = Buffer.from(`<RESULT>${'x'.repeat(2000)}</RESULT>`);
    assert.throws(() => new MessageFramer(1000).push(big), FrameTooLargeError);
  });

  test('a garbage line and a start tag trickling in one byte at a time are scanned linearly', () => {
    for (const prefix of ['x'.repeat(200_000), `<RESULT ${'a'.repeat(200_000)}`, `<${'R'.repeat(200_000)}`]) {
      const framer = new MessageFramer(1024 * 1024);
      const bytes = Buffer.from(prefix);
      const started = process.hrtime.bigint();
      for (let i = 0; i < bytes.length; i++) framer.push(bytes.subarray(i, i + 1));
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      // Quadratic rescanning of 200 kB one byte at a time takes minutes; linear takes well under a second.
      assert.ok(seconds < 5, `${seconds}s for ${prefix.slice(0, 10)}...`);
      assert.equal(framer.pendingBytes, bytes.length);
    }
  });
});
