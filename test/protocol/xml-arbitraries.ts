/**
 * The generators of the XML property tests, shared by xml.test.ts and the differential test that
 * parses what they generate with both parsers.
 */
import * as fc from 'fast-check';
import { element, isXmlName, requestEnvelopeNames, serialize, type XmlElement } from '../../src/protocol/xml.js';

/**
 * Whether XML 1.0 can carry a character (one code point, or one lone surrogate as `Array.from`
 * yields it): Char ::= #x9 | #xA | #xD | [#x20-#xD7FF] | [#xE000-#xFFFD] | [#x10000-#x10FFFF].
 * Written from the XML recommendation, independently of the implementation's regular expression.
 */
export function xmlCanCarry(ch: string): boolean {
  const c = ch.codePointAt(0)!;
  if (c === 0x9 || c === 0xa || c === 0xd) return true;
  if (c < 0x20) return false;
  if (c >= 0xd800 && c <= 0xdfff) return false; // a lone surrogate (a pair is one code point > 0xFFFF)
  if (c === 0xfffe || c === 0xffff) return false;
  return true;
}

/** The value a peer receives: each character XML cannot carry becomes U+FFFD, the rest is exact. */
export const carried = (value: string): string => Array.from(value, (ch) => (xmlCanCarry(ch) ? ch : '\uFFFD')).join('');

/** Pieces that break naive XML writers or readers. */
export const hostilePieces = [
  '<', '>', '&', ']]>', '"', "'", '\r', '\n', '\t', '\r\n', '\n\r', ' ', '  ',
  '&amp;', '&lt;', '&#13;', '&#x26;', '&foo;', '&', '&#', ';',
  '</REQUEST>', '</REQUEST >', '</request>', '</TYPE>', '<REQUEST>', '<X/>', '<X>y</X>', '</RESULT>', '</CALLCOPYEVENT>',
  '<![CDATA[', '<!--', '-->', '<?xml version="1.0"?>', '<!DOCTYPE x [<!ENTITY e "v">]>',
  'é', 'ß', '中文', '😀', '👩‍👩‍👧', '\u0301', '\u00a0', '\u0085', '\u2028', '\u2029', '\ufeff', '\ufffd', '\u{10ffff}',
  'C:\\Recordings\\<', 'Sales & Marketing', 'a',
] as const;

export const hostilePiece = fc.constantFrom(...hostilePieces);
/** One code point XML can carry, from the whole Unicode range. */
export const carriableCodePoint = fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }).filter((s) => xmlCanCarry(s));
/** Any UTF-16 code unit, lone surrogates included. */
export const anyCodeUnit = fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c));
export const forbiddenChar = fc.oneof(
  fc.integer({ min: 0, max: 0x1f }).filter((c) => c !== 0x9 && c !== 0xa && c !== 0xd).map((c) => String.fromCharCode(c)),
  fc.integer({ min: 0xd800, max: 0xdfff }).map((c) => String.fromCharCode(c)),
  fc.constantFrom('\ufffe', '\uffff'),
);

/** Values XML can carry exactly: printable graphemes, any carriable code point, hostile markup. */
export const carriableValue = fc.oneof(
  fc.string({ unit: 'grapheme', maxLength: 40 }),
  fc.string({ unit: carriableCodePoint, maxLength: 40 }),
  fc.string({ unit: fc.oneof(hostilePiece, carriableCodePoint, fc.string({ unit: 'grapheme', minLength: 1, maxLength: 1 })), maxLength: 30 }),
);

/** Any JavaScript string at all: controls, U+FFFE/U+FFFF, lone surrogates mixed with the above. */
export const anyValue = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.string({ unit: anyCodeUnit, maxLength: 40 }),
  fc.string({ unit: fc.oneof(hostilePiece, carriableCodePoint, forbiddenChar, anyCodeUnit), maxLength: 30 }),
);

/** Element names the builder accepts (what the catalog uses: upper case, digits, underscore). */
export const goodName = fc.stringMatching(/^[A-Z_][A-Z0-9_]{0,14}$/).filter((n) => isXmlName(n) && !requestEnvelopeNames.has(n));

export const params = (value: fc.Arbitrary<string>): fc.Arbitrary<[string, string][]> =>
  fc.array(fc.tuple(goodName, value), { maxLength: 8 });

export const requestId = fc.oneof(fc.integer({ min: 0, max: 2147483647 }), fc.string({ unit: 'grapheme', maxLength: 12 }));

/** Names of every kind for element(): arbitrary strings, markup characters, good names. */
export const nameish = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 12 }),
  fc.string({ unit: fc.constantFrom('<', '>', '/', '&', '"', "'", '=', ' ', '\t', '\n', '!', '?', ':', '-', '.', '1', 'A', 'x', 'm', 'l', '_', 'é'), maxLength: 12 }),
  goodName,
);

const markup = fc.constantFrom(
  '<', '</', '>', '/>', '<a', '<A>', '</A>', '<B>', '</B>', '<R/>', ' x="1"', "'", '"', '=', '<!--', '-->', '<![CDATA[', ']]>',
  '<?', '?>', '<!DOCTYPE', '<!ENTITY', '[', ']', '&', '&#', '&#x', ';', '&amp;', '&#x110000;', '&#0;', '\ufeff', ' ', '\n', 'a', '1',
);

/** Any input at all, markup-heavy or arbitrary code units. */
export const anyInput = fc.oneof(fc.string({ unit: fc.oneof(markup, anyCodeUnit), maxLength: 60 }), fc.string({ unit: 'binary', maxLength: 60 }));

const headerName = fc.constantFrom('REQUESTTYPE', 'requestid', 'TYPE', 'ResultCode', 'RESULTMSG', 'X', 'LIST');
const headerText = fc.oneof(fc.constantFrom('', 'API_OK', ' 20 ', 'a &amp; b', 'a & b', '&#233;t\u00e9', '<', '>'), fc.string({ maxLength: 8 }));

/** A piece of a RESULT's head: a regular child, a mismatched close, nested or irregular markup. */
export const headerPiece = fc.oneof(
  fc.tuple(headerName, headerText).map(([n, t]) => `<${n}>${t}</${n}>`),
  fc.tuple(headerName, headerName, headerText).map(([a, b, t]) => `<${a}>${t}</${b}>`),
  headerName.map((n) => `<${n}/>`),
  fc.constantFrom('\r\n\t', ' ', '<LIST><TYPE>nested</TYPE></LIST>', '<!-- x -->', 'text', '<![CDATA[<RESULTMSG>c</RESULTMSG>]]>'),
);

/** Markup of every kind the lenient reading has a rule for, and names fast-xml-parser treats apart. */
export const soupName = fc.constantFrom('R', 'A', 'B', 'a', 'RESULT', 'USERS', 'x:y', 'a.b-c', '_', 'constructor', '__proto__', 'prototype', 'toString', 'hasOwnProperty', 'valueOf');
export const soupToken = fc.oneof(
  soupName.map((n) => `<${n}>`),
  soupName.map((n) => `</${n}>`),
  soupName.map((n) => `<${n}/>`),
  soupName.map((n) => `<${n} />`),
  soupName.map((n) => `<${n} a="1>2" b='<x/>'>`),
  soupName.map((n) => `</${n} >`),
  fc.constantFrom(
    '</>', '</ A>', '</', '<', '<<', '< ', '<1>', '<é>', '<Aé>', '<A/B>', '<A"', "<A '>'", 'x', ' ', '\r\n\t', '\r', '\n', '\t',
    '&', '&am', 'p;', '&amp;', '&lt;', '&#13;', '&#x1F600;', '&#0;', '&#xD800;', '&nbsp;', '&#', ';', '>', ']]>', 'é', '😀', '\ud800', '\u0000', '\ufeff',
    '<![CDATA[a&amp;<b>\r\n]]>', '<![CDATA[', '<![CDATA[]]>', '<!-- c -->', '<!--', '<!---->', '-->', '<?pi x?>', '<?xml version="1.0"?>', '<?', '?>', '<?a>b?>',
    '<!DOCTYPE r [<!ENTITY e "<b>v</b>">]>', '<!DOCTYPE r SYSTEM "a>b">', '<!doctype html>', '<!DOCTYPE', '<!ELEMENT r ANY>', '<!x>', '<!', '<![X[',
    '<!ENTITY xxe SYSTEM "file:///etc/passwd">', '&xxe;', '#text', '#comment', ':@',
  ),
);

/** A root holding markup soup, closed or not, with soup before and after it. */
export const soupDocument = fc
  .tuple(fc.array(soupToken, { maxLength: 3 }), soupName, fc.array(soupToken, { maxLength: 40 }), fc.boolean(), fc.array(soupToken, { maxLength: 3 }))
  .map(([before, root, inside, closed, trailing]) => `${before.join('')}<${root}>${inside.join('')}${closed ? `</${root}>` : ''}${trailing.join('')}`);

/** A tree of the shapes answers have: leaves with any value, nested lists. */
export const tree: fc.Arbitrary<XmlElement> = fc.letrec<{ node: XmlElement }>((tie) => ({
  node: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.tuple(goodName, anyValue).map(([name, value]) => element(name, value)),
    fc.tuple(goodName, fc.array(tie('node'), { maxLength: 5 })).map(([name, children]) => element(name, children)),
  ),
})).node;

/** A serialized tree with quirks put in: markup inserted and stretches cut out at random places. */
export const damagedDocument = fc
  .tuple(
    tree.map((t) => serialize(t)),
    fc.array(fc.tuple(fc.double({ min: 0, max: 1, noNaN: true }), fc.oneof(soupToken, fc.constant(''))), { maxLength: 4 }),
    fc.array(fc.tuple(fc.double({ min: 0, max: 1, noNaN: true }), fc.integer({ min: 1, max: 12 })), { maxLength: 3 }),
  )
  .map(([xml, inserts, cuts]) => {
    let out = xml;
    for (const [at, length] of cuts) {
      const from = Math.floor(at * out.length);
      out = out.slice(0, from) + out.slice(from + length);
    }
    for (const [at, token] of inserts) {
      const where = Math.floor(at * out.length);
      out = out.slice(0, where) + token + out.slice(where);
    }
    return out;
  });
