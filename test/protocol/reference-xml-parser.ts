/**
 * TEMPORARY: the hand-written lenient parser of src/protocol/xml.ts, copied verbatim as the
 * reference of the differential test while fast-xml-parser takes over parsing. Deleted with it.
 */
import { XmlSyntaxError, type XmlElement } from '../../src/protocol/xml.js';

// Characters XML 1.0 cannot carry at all, even as references: C0 controls other than tab, LF, CR;
// lone surrogates; U+FFFE and U+FFFF. They are replaced by U+FFFD rather than dropped silently.
const unrepresentable = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

// ---------------------------------------------------------------------------------------------
// Lenient parsing

interface ParseLimits {
  maxDepth: number;
  maxElements: number;
}

const defaultLimits: ParseLimits = { maxDepth: 64, maxElements: 200_000 };

// Character classes by code unit, from a table: the parser's loops run once per character of every answer.
const nameCodes = new Uint8Array(128); // 1: may start a name, 2: may continue one
for (let c = 0; c < 128; c++) {
  const start = (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c === 0x5f || c === 0x3a;
  nameCodes[c] = start ? 3 : (c >= 0x30 && c <= 0x39) || c === 0x2d || c === 0x2e ? 2 : 0;
}
const isNameStartCode = (c: number): boolean => c < 128 && (nameCodes[c]! & 1) !== 0;
const isNameCode = (c: number): boolean => c < 128 && (nameCodes[c]! & 2) !== 0;

const predefinedEntities: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };

/** Decode the predefined and numeric references; anything else stays literal (a raw `&`). */
function decodeEntities(text: string): string {
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
 * Parse one XML document leniently and return its root element. Text before the root, a prolog,
 * comments, DOCTYPE and anything after the root closes are ignored. Throws XmlSyntaxError only
 * when there is no root element at all or a limit is exceeded.
 */
export function referenceParseXml(input: string, limits: ParseLimits = defaultLimits): XmlElement {
  const stack: XmlElement[] = [];
  let root: XmlElement | undefined;
  let elements = 0;
  let i = 0;
  const n = input.length;

  const appendText = (raw: string, decode: boolean): void => {
    const top = stack[stack.length - 1];
    if (top) top.text += decode ? decodeEntities(raw) : raw;
  };

  while (i < n) {
    const lt = input.indexOf('<', i);
    if (lt === -1) {
      appendText(input.slice(i), true);
      break;
    }
    if (lt > i) appendText(input.slice(i, lt), true);
    i = lt;
    const next = input.charCodeAt(i + 1);
    if (next === 0x21 /* ! */) {
      if (input.startsWith('<!--', i)) {
        const end = input.indexOf('-->', i + 4);
        i = end === -1 ? n : end + 3;
        continue;
      }
      if (input.startsWith('<![CDATA[', i)) {
        const end = input.indexOf(']]>', i + 9);
        appendText(input.slice(i + 9, end === -1 ? n : end), false);
        i = end === -1 ? n : end + 3;
        continue;
      }
    }
    if (next === 0x3f /* ? */ || next === 0x21) {
      // Prolog, processing instruction or DOCTYPE: skipped, never interpreted.
      const end = input.slice(i, i + 9).toUpperCase() === '<!DOCTYPE' ? endOfDoctype(input, i + 9) : input.indexOf('>', i + 2);
      i = end === -1 ? n : end + 1;
      continue;
    }
    if (next === 0x2f /* / */) {
      // The common case first: the close of the innermost element, `</NAME>`.
      const top = stack[stack.length - 1];
      if (top && closesAt(input, i + 2, top.name)) {
        i += top.name.length + 3;
        stack.pop();
        if (stack.length === 0) break;
        continue;
      }
      let j = i + 2;
      while (j < n && isNameCode(input.charCodeAt(j))) j++;
      const name = input.slice(i + 2, j);
      const gt = input.charCodeAt(j) === 0x3e ? j : input.indexOf('>', j);
      if (name === '' || gt === -1) {
        appendText(input.slice(i, gt === -1 ? n : gt + 1), true);
        i = gt === -1 ? n : gt + 1;
        continue;
      }
      i = gt + 1;
      // A close before the root opens is text before the root: ignored.
      if (stack.length === 0) continue;
      let match = -1;
      for (let k = stack.length - 1; k >= 0; k--) {
        if (stack[k]!.name === name) {
          match = k;
          break;
        }
      }
      if (match === -1) {
        // A close that matches nothing open (`<AGENT_ID>2</USERID>`) closes the innermost element,
        // but never the root: only a close naming the root ends the document.
        if (stack.length > 1) stack.pop();
      } else {
        // pop() rather than a length assignment, which V8 runs far slower.
        while (stack.length > match) stack.pop();
      }
      if (stack.length === 0) break;
      continue;
    }
    if (!isNameStartCode(next)) {
      // A `<` that starts no tag is text.
      appendText('<', false);
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
    i = k < n ? k + 1 : n;
    const node: XmlElement = { name, text: '', children: [] };
    if (++elements > limits.maxElements) throw new XmlSyntaxError(`more than ${limits.maxElements} elements`);
    const parent = stack[stack.length - 1];
    if (parent) parent.children.push(node);
    else if (!root) root = node;
    else break; // a second top-level element: the document already ended
    if (!selfClosing) {
      stack.push(node);
      if (stack.length > limits.maxDepth) throw new XmlSyntaxError(`nesting deeper than ${limits.maxDepth}`);
    } else if (stack.length === 0) {
      break;
    }
  }
  if (!root) throw new XmlSyntaxError('no XML element found');
  return root;
}

