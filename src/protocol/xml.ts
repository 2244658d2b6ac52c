/**
 * XML of the API: build requests, results and events, and parse what a core or a client sends.
 *
 * Everything built here is well-formed and escaped; element names are checked, so no value or name
 * can inject markup. Parsing is deliberately lenient because the product's own documents and real
 * outputs are not always well-formed: raw `&` (`Sales & Marketing`), a mismatched close
 * (`<AGENT_ID>2</USERID>`), inner elements never closed (`<USERS>` in IMPORTUSER LIST), a stray
 * `<` in text (`C:\Recordings\<`). The parser never expands entities beyond the predefined and
 * numeric ones, ignores DOCTYPE declarations and bounds depth and element count.
 *
 * Parsing goes through fast-xml-parser, behind a scan that applies the lenient rules (see
 * `wellFormedDocument`); building stays here (see `serialize`); the header of an answer on the hot
 * path is read by a bounded scan of its bytes (`leadingChildTexts`).
 */

import { XMLParser } from 'fast-xml-parser';

export interface XmlElement {
  name: string;
  /** Concatenated character data directly inside the element, whitespace kept. */
  text: string;
  children: XmlElement[];
}

export class XmlSyntaxError extends Error {
  override name = 'XmlSyntaxError';
}

/** An element name we accept to emit: ASCII, no namespace prefix, not starting with `xml` (reserved). */
const elementNamePattern = /^(?![Xx][Mm][Ll])[A-Za-z_][A-Za-z0-9_.-]*$/;

export function isXmlName(name: string): boolean {
  return elementNamePattern.test(name);
}

export function element(name: string, content: string | readonly XmlElement[] = ''): XmlElement {
  if (!isXmlName(name)) throw new XmlSyntaxError(`not a valid element name: ${JSON.stringify(name)}`);
  return typeof content === 'string'
    ? { name, text: content, children: [] }
    : { name, text: '', children: [...content] };
}

// Characters XML 1.0 cannot carry at all, even as references: C0 controls other than tab, LF, CR;
// lone surrogates; U+FFFE and U+FFFF. They are replaced by U+FFFD rather than dropped silently.
const unrepresentable = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/** Escape character data. `\r` becomes a reference so that it survives end-of-line normalisation. */
const needsEscape = /[&<>\r\u0000-\u0008\u000B\u000C\u000E-\u001F\uD800-\uDFFF\uFFFE\uFFFF]/;

export function escapeText(value: string): string {
  // Most values are plain: one scan instead of five replacements.
  if (!needsEscape.test(value)) return value;
  return value
    .replace(unrepresentable, '\uFFFD')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/\r/g, '&#13;');
}

const EOL = '\r\n';

// Building stays ours rather than fast-xml-parser's XMLBuilder. The product's layout is one tab per
// level with CRLF line ends: XMLBuilder's formatted output ends lines with LF, and a CRLF put in
// afterwards could not be told from an LF inside a value. Values must be escaped as the product
// needs (CR as `&#13;`, U+FFFD for what XML cannot carry, quotes left alone: XMLBuilder escapes
// quotes and passes control characters through), and names checked (XMLBuilder writes any key as a
// tag name unless given a hook). The request builder is a string concatenation on the WebAPI's hot
// path, with no tree to build first. Tests assert the bytes.

/**
 * Serialise with one tab per level and CRLF line ends, the layout of the product's own answers.
 * Leaves are written on one line; an element with children never carries text.
 */
export function serialize(root: XmlElement): string {
  const out: string[] = [];
  const write = (node: XmlElement, depth: number): void => {
    if (!isXmlName(node.name)) throw new XmlSyntaxError(`not a valid element name: ${JSON.stringify(node.name)}`);
    const indent = '\t'.repeat(depth);
    if (node.children.length === 0) {
      out.push(`${indent}<${node.name}>${escapeText(node.text)}</${node.name}>`);
      return;
    }
    out.push(`${indent}<${node.name}>`);
    for (const child of node.children) write(child, depth + 1);
    out.push(`${indent}</${node.name}>`);
  };
  write(root, 0);
  return out.join(EOL) + EOL;
}

export type ParamEntries = Iterable<readonly [string, string]>;

/**
 * The elements that say which command a request is and which answer is its own. A core reads TYPE
 * or REQUESTTYPE (the manual's examples use both), so a second one would let a parameter choose
 * the command: none of them is ever a parameter.
 */
export const requestEnvelopeNames: ReadonlySet<string> = new Set(['TYPE', 'REQUESTTYPE', 'REQUESTID']);

/**
 * `<REQUEST><TYPE>..</TYPE><REQUESTID>..</REQUESTID>...</REQUEST>` followed by CRLF, laid out as
 * `serialize` lays it out. Written directly rather than through an element tree: every WebAPI call
 * builds one. Parameter names are checked and values escaped all the same.
 */
export function buildRequest(type: string, requestId: string | number, params: ParamEntries = []): string {
  let xml = `<REQUEST>${EOL}\t<TYPE>${escapeText(type)}</TYPE>${EOL}\t<REQUESTID>${escapeText(String(requestId))}</REQUESTID>${EOL}`;
  for (const [name, value] of params) {
    if (!isXmlName(name)) throw new XmlSyntaxError(`not a valid element name: ${JSON.stringify(name)}`);
    if (requestEnvelopeNames.has(name.toUpperCase())) throw new XmlSyntaxError(`${name} is the request's own, not a parameter`);
    xml += `\t<${name}>${escapeText(value)}</${name}>${EOL}`;
  }
  return `${xml}</REQUEST>${EOL}`;
}

/** The elements of a RESULT's standard header (TYPE stands in for REQUESTTYPE in some answers). */
export const resultHeaderNames: ReadonlySet<string> = new Set(['REQUESTTYPE', 'TYPE', 'REQUESTID', 'RESULTTYPE', 'RESULTCODE', 'RESULTMSG']);

export interface ResultHeader {
  requestType: string;
  requestId: string | number;
  resultType: string;
  resultCode: number;
  resultMessage: string;
}

/** A RESULT: the standard header in the order the product writes it, then the body. */
export function buildResult(header: ResultHeader, body: readonly XmlElement[] = []): string {
  return serialize(resultElement(header, body));
}

export function resultElement(header: ResultHeader, body: readonly XmlElement[] = []): XmlElement {
  return element('RESULT', [
    element('REQUESTTYPE', header.requestType),
    element('REQUESTID', String(header.requestId)),
    element('RESULTTYPE', header.resultType),
    element('RESULTCODE', String(header.resultCode)),
    element('RESULTMSG', header.resultMessage),
    ...body,
  ]);
}

export interface EventHeader {
  eventClass: string;
  eventType: string;
  module: string;
  eventXref: string | number;
}

/** A CALLCOPYEVENT as the Event Interface documents it. */
export function buildEvent(header: EventHeader, data: ParamEntries): string {
  const fields: XmlElement[] = [];
  for (const [name, value] of data) fields.push(element(name, value));
  return serialize(
    element('CALLCOPYEVENT', [
      element('EVENTCLASS', header.eventClass),
      element('EVENTTYPE', header.eventType),
      element('MODULE', header.module),
      element('EVENTXREF', String(header.eventXref)),
      element('EVENTDATA', fields),
    ]),
  );
}

// ---------------------------------------------------------------------------------------------
// Lenient parsing, through fast-xml-parser

export interface ParseLimits {
  maxDepth: number;
  maxElements: number;
}

const defaultLimits: ParseLimits = { maxDepth: 64, maxElements: 200_000 };

// Character classes by code unit, from a table: the scans run once per character of every answer.
const nameCodes = new Uint8Array(128); // 1: may start a name, 2: may continue one
for (let c = 0; c < 128; c++) {
  const start = (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c === 0x5f || c === 0x3a;
  nameCodes[c] = start ? 3 : (c >= 0x30 && c <= 0x39) || c === 0x2d || c === 0x2e ? 2 : 0;
}
const isNameStartCode = (c: number): boolean => c < 128 && (nameCodes[c]! & 1) !== 0;
const isNameCode = (c: number): boolean => c < 128 && (nameCodes[c]! & 2) !== 0;

const predefinedEntities: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };

/** Decode the predefined and numeric references; anything else stays literal (a raw `&`). */
export function decodeEntities(text: string): string {
  if (!text.includes('&')) return text;
  return text.replace(/&(#x[0-9A-Fa-f]{1,6}|#[0-9]{1,7}|[A-Za-z]{2,4});/g, (whole, ref: string) => {
    if (ref.startsWith('#')) {
      const code = ref[1] === 'x' ? parseInt(ref.slice(2), 16) : parseInt(ref.slice(1), 10);
      if (code > 0x10ffff || (code >= 0xd800 && code <= 0xdfff)) return whole;
      // A reference to a character XML cannot carry yields the replacement character, as escaping does.
      return String.fromCodePoint(code).replace(unrepresentable, '\uFFFD');
    }
    return predefinedEntities[ref] ?? whole;
  });
}

/**
 * Where a DOCTYPE ends: the first `>` outside quotes, comments and the internal subset (`[...]`),
 * whose entity values may hold markup (`<!ENTITY x "<b>1>2</b>">`). -1 if it never ends; like any
 * unterminated declaration it then runs to the end of the input, which keeps parsing linear.
 */
function endOfDoctype(input: string, from: number): number {
  let subset = 0;
  for (let k = from; k < input.length; k++) {
    const c = input[k];
    if (c === '"' || c === "'") {
      k = input.indexOf(c, k + 1);
    } else if (c === '<' && input.startsWith('<!--', k)) {
      k = input.indexOf('-->', k + 4);
      if (k !== -1) k += 2;
    } else if (c === '[') {
      subset++;
    } else if (c === ']') {
      if (subset > 0) subset--;
    } else if (c === '>' && subset === 0) {
      return k;
    }
    if (k === -1) return -1;
  }
  return -1;
}

/** Whether `name>` is spelt at `at` (compared code by code: startsWith is slower here). */
function closesAt(input: string, at: number, name: string): boolean {
  const length = name.length;
  for (let r = 0; r < length; r++) if (input.charCodeAt(at + r) !== name.charCodeAt(r)) return false;
  return input.charCodeAt(at + length) === 0x3e;
}

/**
 * fast-xml-parser reads the document `wellFormedDocument` hands it, always well-formed. Its options:
 * - preserveOrder: children in document order with the text between them; the other output merges
 *   same-named siblings and is built recursively (100k nested elements overflow the stack there).
 * - processEntities false: it expands no entity at all, not even the five: `decodeEntities` decodes
 *   the predefined and numeric references of each text node, as the header scan does. No DOCTYPE
 *   reaches it either (`wellFormedDocument` drops them), so no internal subset can define one.
 * - ignoreAttributes, trimValues false, parseTagValue false: text verbatim, attributes never read.
 * - commentPropName: `wellFormedDocument` writes an empty comment where it removed markup between
 *   two runs of text, which keeps them separate text nodes, each decoded alone as the lenient
 *   reading decodes them (`&am<!-- -->p;` is not `&`).
 * - jPath false: callbacks get the path as a matcher, not as a string built per text node.
 * - onDangerousProperty: names are kept as written (preserveOrder makes each an own property of its
 *   entry); the three it refuses outright are renamed by `wellFormedDocument`, restored by `treeOf`.
 * - maxNestedTags: depth is bounded before, by the caller's limit, where elements are known to end.
 * - entityDecoder: one that decodes nothing. With processEntities false it is never asked to decode,
 *   but without it every parse builds a decoder with the HTML entity tables (about a tenth of the
 *   time of parsing a TEST answer).
 */
const fastXmlParser = new XMLParser({
  preserveOrder: true,
  processEntities: false,
  htmlEntities: false,
  ignoreAttributes: true,
  trimValues: false,
  parseTagValue: false,
  ignoreDeclaration: true,
  ignorePiTags: true,
  commentPropName: '#comment',
  jPath: false,
  onDangerousProperty: (name: string) => name,
  maxNestedTags: Number.MAX_SAFE_INTEGER,
  entityDecoder: {
    setExternalEntities: () => undefined,
    addInputEntities: () => undefined,
    reset: () => undefined,
    setXmlVersion: () => undefined,
    decode: (text: string) => text,
  },
});

/** Names fast-xml-parser refuses as tag names (prototype pollution), in start and close tags alike. */
const refusedNames: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype']);

/** A name as fast-xml-parser is handed it: a refused one as `#name` (no name of ours starts with `#`). */
const nameForParser = (name: string): string =>
  (name.length === 9 || name.length === 11) && refusedNames.has(name) ? `#${name}` : name;

/** Where removed markup separated two runs of text (see `commentPropName` above). */
const textSeparator = '<!---->';

/**
 * The document as the lenient reading sees it, rewritten as well-formed XML that fast-xml-parser
 * reads to the same tree. fast-xml-parser is lenient in its own ways, which are not the product's
 * (measured on 5.12): a close tag pops one element whatever it names, so `</RESULT>` after an
 * unclosed `<USERS>` leaves RESULT open and `</B>` in `<R><A>1</B></Z>` closes R; a `<` that starts
 * no tag is an element named ""; text left at the end of the input is dropped and an unclosed tag
 * at the end throws; `<!doctype` is an element; a DOCTYPE with an external entity throws; CR LF
 * becomes LF. So this scan decides where each element begins and ends, and hands over only: the
 * root, its start tags without attributes, a close tag for each element ended (unclosed ones closed
 * at the end), text with a stray `<` written `&lt;` and CR written `&#13;`, CDATA as escaped text,
 * and nothing of comments, processing instructions and DOCTYPE. Well-formed parts are copied as one
 * slice.
 *
 * The depth and element bounds are enforced here, before fast-xml-parser builds anything. Its
 * ordered reading is a loop (its other output recurses and overflows the stack at 100k nested
 * elements) with a nesting bound of its own, but that bound counts elements as it ends them, one per
 * close tag, not as the lenient reading does; only this scan knows where elements end. A hostile
 * document thus costs one linear pass and is refused before any tree exists.
 */
function wellFormedDocument(input: string, limits: ParseLimits): string {
  const open: string[] = [];
  let out = '';
  let copied = -1; // input before this index is in `out` (or dropped); -1 until the root begins
  let elements = 0;
  let i = 0;
  const n = input.length;
  const rewrite = (from: number, to: number, replacement: string): void => {
    out += input.slice(copied, from) + replacement;
    copied = to;
  };

  while (i < n) {
    const lt = input.indexOf('<', i);
    if (lt === -1) break;
    i = lt;
    const inRoot = open.length > 0;
    const next = input.charCodeAt(i + 1);
    if (next === 0x21 /* ! */) {
      if (input.startsWith('<!--', i)) {
        const end = input.indexOf('-->', i + 4);
        const after = end === -1 ? n : end + 3;
        if (inRoot) rewrite(i, after, textSeparator);
        i = after;
        continue;
      }
      if (input.startsWith('<![CDATA[', i)) {
        const end = input.indexOf(']]>', i + 9);
        const after = end === -1 ? n : end + 3;
        if (inRoot) {
          const data = input.slice(i + 9, end === -1 ? n : end).replaceAll('&', '&amp;').replaceAll('<', '&lt;');
          rewrite(i, after, textSeparator + data + textSeparator);
        }
        i = after;
        continue;
      }
    }
    if (next === 0x3f /* ? */ || next === 0x21) {
      // Prolog, processing instruction or DOCTYPE: skipped, never interpreted.
      const end = input.slice(i, i + 9).toUpperCase() === '<!DOCTYPE' ? endOfDoctype(input, i + 9) : input.indexOf('>', i + 2);
      const after = end === -1 ? n : end + 1;
      if (inRoot) rewrite(i, after, textSeparator);
      i = after;
      continue;
    }
    if (next === 0x2f /* / */) {
      // The common case first: the close of the innermost element, `</NAME>`, copied as written.
      const top = open[open.length - 1];
      if (top !== undefined && closesAt(input, i + 2, top)) {
        const end = i + top.length + 3;
        const written = nameForParser(top);
        if (written !== top) rewrite(i, end, `</${written}>`);
        i = end;
        open.pop();
        if (open.length === 0) break;
        continue;
      }
      let j = i + 2;
      while (j < n && isNameCode(input.charCodeAt(j))) j++;
      const name = input.slice(i + 2, j);
      const gt = input.charCodeAt(j) === 0x3e ? j : input.indexOf('>', j);
      if (name === '' || gt === -1) {
        // Not a close tag: text, `<` and all.
        const after = gt === -1 ? n : gt + 1;
        if (inRoot) rewrite(i, after, input.slice(i, after).replaceAll('<', '&lt;'));
        i = after;
        continue;
      }
      const after = gt + 1;
      // A close before the root opens is text before the root: ignored.
      if (!inRoot) {
        i = after;
        continue;
      }
      let match = open.lastIndexOf(name);
      // A close that matches nothing open (`<AGENT_ID>2</USERID>`) closes the innermost element,
      // but never the root: only a close naming the root ends the document.
      if (match === -1) match = open.length > 1 ? open.length - 1 : open.length;
      let closes = '';
      while (open.length > match) closes += `</${nameForParser(open.pop()!)}>`;
      // A close that closes nothing still separates the text on either side of it.
      rewrite(i, after, closes || textSeparator);
      i = after;
      if (open.length === 0) break;
      continue;
    }
    if (!isNameStartCode(next)) {
      // A `<` that starts no tag is text.
      if (inRoot) rewrite(i, i + 1, '&lt;');
      i += 1;
      continue;
    }
    let j = i + 1;
    while (j < n && isNameCode(input.charCodeAt(j))) j++;
    const name = input.slice(i + 1, j);
    // Skip attributes, honouring quotes so that a `>` inside a value does not end the tag.
    let k = j;
    let quote = 0;
    while (k < n) {
      const c = input.charCodeAt(k);
      if (quote !== 0) {
        if (c === quote) quote = 0;
      } else if (c === 0x22 || c === 0x27) {
        quote = c;
      } else if (c === 0x3e) {
        break;
      }
      k++;
    }
    const selfClosing = k < n && input.charCodeAt(k - 1) === 0x2f;
    const after = k < n ? k + 1 : n;
    if (++elements > limits.maxElements) throw new XmlSyntaxError(`more than ${limits.maxElements} elements`);
    if (!inRoot) {
      if (copied !== -1) break; // a second top-level element: the document already ended
      copied = i;
    }
    // Copied as written when it is exactly `<NAME>` or `<NAME/>`; rewritten without attributes otherwise.
    const written = nameForParser(name);
    if (written !== name || k === n || k !== (selfClosing ? j + 1 : j)) rewrite(i, after, selfClosing ? `<${written}/>` : `<${written}>`);
    i = after;
    if (!selfClosing) {
      open.push(name);
      if (open.length > limits.maxDepth) throw new XmlSyntaxError(`nesting deeper than ${limits.maxDepth}`);
    } else if (open.length === 0) {
      break;
    }
  }
  if (copied === -1) throw new XmlSyntaxError('no XML element found');
  // The root closed at `i`, or the input ended with elements open: they close at its end.
  out += input.slice(copied, open.length === 0 ? i : n);
  while (open.length > 0) out += `</${nameForParser(open.pop()!)}>`;
  return out.includes('\r') ? out.replaceAll('\r', '&#13;') : out;
}

/** An entry of fast-xml-parser's ordered output: one key, an element's name or a node kind. */
type OrderedEntry = Record<string, OrderedEntry[] | string>;

/** The text of a text node: CRs `wellFormedDocument` wrote as `&#13;` back first, the one reference most answers hold. */
function characterData(raw: string): string {
  return decodeEntities(raw.includes('&#13;') ? raw.replaceAll('&#13;', '\r') : raw);
}

/** fast-xml-parser's ordered output as our tree, without recursion (depth is the caller's limit). */
function treeOf(document: OrderedEntry[]): XmlElement {
  const rootEntry = document[0];
  const rootKey = rootEntry === undefined ? undefined : Object.keys(rootEntry)[0];
  if (rootEntry === undefined || rootKey === undefined) throw new XmlSyntaxError('no XML element found');
  const nameOf = (key: string): string => (key.charCodeAt(0) === 0x23 ? key.slice(1) : key);
  const root: XmlElement = { name: nameOf(rootKey), text: '', children: [] };
  const pending: [OrderedEntry[], XmlElement][] = [[rootEntry[rootKey] as OrderedEntry[], root]];
  for (let next = pending.pop(); next !== undefined; next = pending.pop()) {
    const [entries, parent] = next;
    for (const entry of entries) {
      for (const key in entry) {
        const value = entry[key]!;
        if (key === '#text') {
          parent.text += characterData(value as string);
        } else if (key !== '#comment') {
          const node: XmlElement = { name: nameOf(key), text: '', children: [] };
          parent.children.push(node);
          pending.push([value as OrderedEntry[], node]);
        }
        break;
      }
    }
  }
  return root;
}

/**
 * Parse one XML document leniently and return its root element. Text before the root, a prolog,
 * comments, DOCTYPE and anything after the root closes are ignored. Throws XmlSyntaxError only
 * when there is no root element at all or a limit is exceeded.
 */
export function parseXml(input: string, limits: ParseLimits = defaultLimits): XmlElement {
  const document = wellFormedDocument(input, limits);
  let ordered: OrderedEntry[];
  try {
    ordered = fastXmlParser.parse(document) as OrderedEntry[];
  } catch (error) {
    // `wellFormedDocument` hands over well-formed XML only: this is a defect, reported as the one error parsing has.
    throw new XmlSyntaxError(`fast-xml-parser refused the document: ${(error as Error).message}`, { cause: error });
  }
  return treeOf(ordered);
}

/** What `leadingChildTexts` read. */
export interface LeadingTexts {
  /** Upper-cased name to decoded text, for the names asked for, first occurrence only. */
  texts: Map<string, string>;
  /** The scan reached the root's end: a name missing from `texts` is absent from the document. */
  complete: boolean;
  /** Every child the scan passed has one of the names asked for: with `complete`, the root holds nothing else. */
  onlyNamed: boolean;
}

/**
 * The texts of the root's leading children, read straight from the bytes while the root begins with
 * plain `<NAME>text</NAME>` children, as the header of every answer does. The scan stops at the first
 * child that is anything else (attributes, nested elements, a mismatched close, a comment), at the
 * root's end, or once `enough` returns true (then reaching the root's end if it comes next, so that
 * a caller knows an answer that is all header without parsing it). It is not a parser and must not grow into one: when it
 * stops early without what the caller needs, parseXml is the authority. It stays because the hot
 * path reads every answer's header (bench/xml-header.ts: parseXml takes about 19 times as long on a
 * TEST answer, and 200 times on the first 4096 bytes of a long CALLLIST).
 */
export function leadingChildTexts(bytes: Buffer, names: ReadonlySet<string>, enough: (texts: Map<string, string>) => boolean): LeadingTexts {
  const texts = new Map<string, string>();
  const n = bytes.length;
  let onlyNamed = true;
  const stop = (complete: boolean): LeadingTexts => ({ texts, complete, onlyNamed });
  if (bytes[0] !== 0x3c) return stop(false);
  let i = 1;
  while (i < n && isNameCode(bytes[i]!)) i++;
  if (i === 1 || bytes[i] !== 0x3e) return stop(false);
  const rootLength = i - 1;
  i++;
  for (;;) {
    while (i < n && bytes[i] !== 0x3c) i++;
    if (i + 1 >= n) return stop(false);
    if (bytes[i + 1] === 0x2f) {
      // A close: only the root's own ends the scan cleanly.
      return stop(closesRootAt(bytes, i + 2, rootLength));
    }
    const nameStart = i + 1;
    let j = nameStart;
    while (j < n && isNameCode(bytes[j]!)) j++;
    if (j === nameStart || !isNameStartCode(bytes[nameStart]!) || bytes[j] !== 0x3e) return stop(false);
    const nameLength = j - nameStart;
    const textStart = j + 1;
    let lt = textStart;
    while (lt < n && bytes[lt] !== 0x3c) lt++;
    if (lt + nameLength + 2 >= n || bytes[lt + 1] !== 0x2f || bytes[lt + 2 + nameLength] !== 0x3e) return stop(false);
    for (let r = 0; r < nameLength; r++) if (bytes[nameStart + r] !== bytes[lt + 2 + r]) return stop(false);
    // Names are compared as bytes, upper-cased: decoding every child's name would cost more than the scan.
    const wanted = nameOfBytes(bytes, nameStart, nameLength, names);
    i = lt + nameLength + 3;
    if (wanted === undefined) {
      onlyNamed = false;
    } else if (!texts.has(wanted)) {
      texts.set(wanted, textOfBytes(bytes, textStart, lt));
      if (enough(texts)) {
        while (i < n && bytes[i] !== 0x3c) i++;
        return stop(i + 1 < n && bytes[i + 1] === 0x2f && closesRootAt(bytes, i + 2, rootLength));
      }
    }
  }
}

/** The name among `names` (upper case) that the bytes spell in any case, if any. */
function nameOfBytes(bytes: Buffer, at: number, length: number, names: ReadonlySet<string>): string | undefined {
  search: for (const name of names) {
    if (name.length !== length) continue;
    for (let r = 0; r < length; r++) {
      const b = bytes[at + r]!;
      if ((b >= 0x61 && b <= 0x7a ? b - 0x20 : b) !== name.charCodeAt(r)) continue search;
    }
    return name;
  }
  return undefined;
}

/** Whether the root's name (bytes 1 to `length`) is spelled again at `at`, followed by `>`. */
function closesRootAt(bytes: Buffer, at: number, length: number): boolean {
  for (let r = 0; r < length; r++) if (bytes[at + r] !== bytes[1 + r]) return false;
  return bytes[at + length] === 0x3e;
}

/**
 * The text of an element, from its bytes. Header values are short printable ASCII ("API_OK",
 * "20"): those are built here, sparing a call into Buffer's native decoder for each of them;
 * anything else is decoded as UTF-8 with its entities.
 */
function textOfBytes(bytes: Buffer, start: number, end: number): string {
  if (end - start <= 32) {
    let text = '';
    for (let k = start; k < end; k++) {
      const b = bytes[k]!;
      if (b < 0x20 || b > 0x7e || b === 0x26) return decodeEntities(bytes.toString('utf8', start, end));
      text += String.fromCharCode(b);
    }
    return text;
  }
  return decodeEntities(bytes.toString('utf8', start, end));
}

/** The first child with this name, compared case-insensitively (cores and clients vary in case). */
export function child(parent: XmlElement, name: string): XmlElement | undefined {
  const upper = name.toUpperCase();
  for (const c of parent.children) {
    if (c.name.length === name.length && (c.name === name || c.name.toUpperCase() === upper)) return c;
  }
  return undefined;
}

/** The elements at a path below a root (`DEVICES/DEVICE`, a catalog result list), names in any case. */
export function elementsAt(root: XmlElement, pathSpec: string): XmlElement[] {
  let level: XmlElement[] = [root];
  for (const name of pathSpec.split('/')) {
    const upper = name.toUpperCase();
    level = level.flatMap((el) => el.children.filter((c) => c.name.toUpperCase() === upper));
  }
  return level;
}

export function childText(parent: XmlElement, name: string): string | undefined {
  return child(parent, name)?.text;
}
