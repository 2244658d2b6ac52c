/**
 * Differential test of the move to fast-xml-parser: every document below is parsed by the
 * hand-written lenient parser (the reference, a verbatim copy) and by the fast-xml-parser one, and
 * both must give the same tree, or both the same XmlSyntaxError. The documents are what the XML
 * property tests generate, plus generators of quirky documents, plus every captured example of the
 * repository: the string literals of the sources and tests holding markup, the XML of the product's
 * documents (`shared/spec`), and the simulator's answers and events for every catalog command.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import * as fc from 'fast-check';
import { commands, type ParamSpec } from '../../src/protocol/catalog.js';
import {
  buildEvent,
  buildRequest,
  buildResult,
  element,
  parseXmlThroughFastXmlParser,
  serialize,
  XmlSyntaxError,
  type ParseLimits,
  type XmlElement,
} from '../../src/protocol/xml.js';
import { answer } from '../../src/sim/dispatcher.js';
import type { RunningSimulator } from '../../src/sim/simulator.js';
import { startTestSimulator } from '../sim/harness.js';
import { referenceParseXml } from './reference-xml-parser.js';
import * as specExamples from './spec-examples.js';
import { specText } from './spec-examples.js';
import { anyInput, anyValue, carriableValue, goodName, headerPiece, params, requestId } from './xml-arbitraries.js';

/** The bounds every document is parsed under: the default ones, and tight ones that refuse many. */
const limitSets: readonly (ParseLimits | undefined)[] = [undefined, { maxDepth: 3, maxElements: 16 }];

type Outcome = { tree: XmlElement } | { syntaxError: string } | { otherError: string };

function outcome(parse: (input: string, limits?: ParseLimits) => XmlElement, input: string, limits: ParseLimits | undefined): Outcome {
  try {
    return { tree: parse(input, limits) };
  } catch (error) {
    return error instanceof XmlSyntaxError ? { syntaxError: error.message } : { otherError: String(error) };
  }
}

let compared = 0;

/** Both parsers agree on `input` under every limit set. */
function agree(input: string, label = ''): void {
  for (const limits of limitSets) {
    const expected = outcome(referenceParseXml, input, limits);
    const actual = outcome(parseXmlThroughFastXmlParser, input, limits);
    assert.deepEqual(actual, expected, `${label} ${JSON.stringify(input.length > 400 ? `${input.slice(0, 400)}...` : input)} ${JSON.stringify(limits)}`);
  }
  compared++;
}

function agreeOnAll(label: string, inputs: Iterable<string>): number {
  let count = 0;
  for (const input of inputs) {
    agree(input, label);
    count++;
  }
  return count;
}

// ---------------------------------------------------------------------------------------------
// Generated documents

/** Markup of every kind the lenient reading has a rule for, and names fast-xml-parser treats apart. */
const soupName = fc.constantFrom('R', 'A', 'B', 'a', 'RESULT', 'USERS', 'x:y', 'a.b-c', '_', 'constructor', '__proto__', 'prototype', 'toString', 'hasOwnProperty', 'valueOf');
const soupToken = fc.oneof(
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
const soupDocument = fc
  .tuple(fc.array(soupToken, { maxLength: 3 }), soupName, fc.array(soupToken, { maxLength: 40 }), fc.boolean(), fc.array(soupToken, { maxLength: 3 }))
  .map(([before, root, inside, closed, trailing]) => `${before.join('')}<${root}>${inside.join('')}${closed ? `</${root}>` : ''}${trailing.join('')}`);

/** A tree of the shapes answers have: leaves with any value, nested lists. */
const tree: fc.Arbitrary<XmlElement> = fc.letrec<{ node: XmlElement }>((tie) => ({
  node: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.tuple(goodName, anyValue).map(([name, value]) => element(name, value)),
    fc.tuple(goodName, fc.array(tie('node'), { maxLength: 5 })).map(([name, children]) => element(name, children)),
  ),
})).node;

/** A serialized tree with quirks put in: markup inserted and stretches cut out at random places. */
const damagedDocument = fc
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

describe('the fast-xml-parser parser reads what the property tests generate as the hand-written one does', () => {
  const runs = (n: number) => ({ numRuns: n });

  test('built requests, results and events, with values XML can carry and with any string', () => {
    fc.assert(fc.property(carriableValue, requestId, params(carriableValue), (type, id, entries) => agree(buildRequest(type, id, entries))), runs(1000));
    fc.assert(fc.property(anyValue, params(anyValue), (type, entries) => agree(buildRequest(type, 1, entries))), runs(1000));
    fc.assert(
      fc.property(carriableValue, carriableValue, params(anyValue), (requestType, message, body) => {
        agree(buildResult({ requestType, requestId: 7, resultType: 'API_OK', resultCode: 20, resultMessage: message }, body.map(([n, v]) => element(n, v))));
        agree(buildEvent({ eventClass: 'CALL', eventType: requestType, module: 'Api', eventXref: message }, body));
      }),
      runs(500),
    );
  });

  test('serialized trees, whole and damaged', () => {
    fc.assert(fc.property(tree, (t) => agree(serialize(t))), runs(1000));
    fc.assert(fc.property(damagedDocument, (xml) => agree(xml)), runs(3000));
  });

  test('any input at all', () => {
    fc.assert(fc.property(anyInput, (input) => agree(input)), runs(3000));
  });

  test('RESULT heads of regular and irregular children, closed or not', () => {
    fc.assert(
      fc.property(fc.array(headerPiece, { maxLength: 10 }), fc.boolean(), (pieces, closed) => agree(`<RESULT>${pieces.join('')}${closed ? '</RESULT>' : ''}`)),
      runs(2000),
    );
  });

  test('markup soup inside and around a root', () => {
    fc.assert(fc.property(soupDocument, (xml) => agree(xml)), runs(5000));
  });

  test('hostile shapes: deep nesting, many elements, long text, megabytes of one piece', () => {
    const inputs = [
      '<a>'.repeat(64), '<a>'.repeat(65), '<a>'.repeat(100_000), `${'<a>'.repeat(64)}<b/>`, `${'<a>'.repeat(64)}x${'</a>'.repeat(64)}`,
      `<R>${'<E/>'.repeat(199_999)}</R>`, `<R>${'<E/>'.repeat(200_000)}</R>`, `<R>${'x&amp;\r\n'.repeat(100_000)}</R>`,
      `<R>${'<A>1</B>'.repeat(10_000)}</R>`, `<R>${'<USERS><USER>'.repeat(30)}</R>`,
    ];
    for (const piece of ['<!DOCTYPE [>', '<!--', '<![CDATA[', '<?', '<a "', '</a', '<a ', '&#x', '<r>&', '<r><!DOCTYPE [>', '<r><', '<r></>', '<r><!---->']) {
      inputs.push(piece.repeat(Math.ceil(200_000 / piece.length)));
    }
    agreeOnAll('hostile', inputs);
  });
});

// ---------------------------------------------------------------------------------------------
// Captured documents

const repositoryRoot = fileURLToPath(new URL('../../../', import.meta.url));

function sourceFiles(dir: string): string[] {
  const files: string[] = [];
  for (const name of readdirSync(dir)) {
    const path = `${dir}/${name}`;
    if (name === 'node_modules' || name === 'client') continue;
    if (statSync(path).isDirectory()) files.push(...sourceFiles(path));
    else if (name.endsWith('.ts')) files.push(path);
  }
  return files;
}

const simpleEscapes: Record<string, string> = { n: '\n', r: '\r', t: '\t', b: '\b', f: '\f', v: '\v', 0: '\0' };

/**
 * The string literals of a TypeScript source, escapes resolved; a template's substitutions become
 * `1`. A plain scanner: a regular expression literal holding a quote may yield a stray "literal",
 * which is one more document to compare, never one fewer.
 */
function stringLiterals(source: string): string[] {
  const found: string[] = [];
  let i = 0;
  const n = source.length;
  while (i < n) {
    const c = source[i]!;
    if (c === '/' && source[i + 1] === '/') {
      i = source.indexOf('\n', i);
      if (i === -1) break;
      continue;
    }
    if (c === '/' && source[i + 1] === '*') {
      i = source.indexOf('*/', i + 2);
      if (i === -1) break;
      i += 2;
      continue;
    }
    if (c !== '"' && c !== "'" && c !== '`') {
      i++;
      continue;
    }
    let value = '';
    let j = i + 1;
    while (j < n && source[j] !== c) {
      const d = source[j]!;
      if (d === '\\') {
        const e = source[j + 1] ?? '';
        if (e === 'u' && source[j + 2] === '{') {
          const end = source.indexOf('}', j);
          value += String.fromCodePoint(parseInt(source.slice(j + 3, end), 16));
          j = end + 1;
        } else if (e === 'u') {
          value += String.fromCharCode(parseInt(source.slice(j + 2, j + 6), 16));
          j += 6;
        } else if (e === 'x') {
          value += String.fromCharCode(parseInt(source.slice(j + 2, j + 4), 16));
          j += 4;
        } else if (e === '\n') {
          j += 2;
        } else {
          value += simpleEscapes[e] ?? e;
          j += 2;
        }
      } else if (c === '`' && d === '$' && source[j + 1] === '{') {
        let depth = 1;
        j += 2;
        while (j < n && depth > 0) {
          if (source[j] === '{') depth++;
          else if (source[j] === '}') depth--;
          j++;
        }
        value += '1';
      } else if (d === '\n' && c !== '`') {
        break; // not a string after all (a quote in a regular expression or a comment)
      } else {
        value += d;
        j++;
      }
    }
    found.push(value);
    i = j + 1;
  }
  return found;
}

const hasMarkup = /<[A-Za-z_!?/]/;

function literalDocuments(): string[] {
  const documents = new Set<string>();
  for (const file of [...sourceFiles(`${repositoryRoot}src`), ...sourceFiles(`${repositoryRoot}test`)]) {
    if (file.endsWith('/xml-differential.test.ts')) continue;
    for (const literal of stringLiterals(readFileSync(file, 'utf8'))) if (hasMarkup.test(literal)) documents.add(literal);
  }
  return [...documents];
}

const specFiles = ['README.md', '000_72b7aa82246178b8.txt', '001_57ccc04c13c08c5f.txt', '002_b1b18aa58e2cfde7.txt', '003_29d300dd020d52e2.txt', '004_53ca9ed835ad5a1b.txt'];

/** The XML of the product's documents: whole files, fenced blocks, root-level elements, and the text from each line holding markup on. */
function specDocuments(): string[] {
  const documents = new Set<string>();
  for (const file of specFiles) {
    const text = specText(file);
    if (text === undefined) continue;
    documents.add(text);
    for (const [, block] of text.matchAll(/```[^\n]*\n([\s\S]*?)```/g)) documents.add(block!);
    for (const [whole] of text.matchAll(/^[ \t]*<([A-Za-z_][\w.-]*)>[\s\S]*?^[ \t]*<\/\1>/gm)) documents.add(whole);
    const rows = text.split('\n');
    rows.forEach((row, k) => {
      if (hasMarkup.test(row)) documents.add(rows.slice(k, k + 40).join('\n'));
    });
  }
  return [...documents];
}

/** A value of the right type for a parameter, from what the seeded store holds where it can. */
function sampleValue(param: ParamSpec, device: string): string {
  if (param.name === 'DEVICEID') return device;
  switch (param.type) {
    case 'int32':
    case 'int64':
      return param.unixTime ? '1500000000' : '1';
    case 'flag':
      return 'Y';
    case 'enum':
      return param.values?.[0] ?? '';
    case 'text':
      return param.list ? '1,2,3' : 'Sales & Marketing <1>';
  }
}

describe('the fast-xml-parser parser reads every captured document as the hand-written one does', () => {
  let sim: RunningSimulator;
  let quirkySim: RunningSimulator;
  before(async () => {
    sim = await startTestSimulator({ seed: true });
    quirkySim = await startTestSimulator({ seed: true, fieldQuirks: true });
  });
  after(async () => {
    await sim.close();
    await quirkySim.close();
  });

  test('the fixtures of spec-examples.ts', () => {
    const fixtures = Object.values(specExamples).filter((v): v is string => typeof v === 'string');
    assert.ok(fixtures.length >= 8);
    agreeOnAll('fixture', fixtures);
  });

  test('every string literal holding markup in src/ and test/', (t) => {
    const count = agreeOnAll('literal', literalDocuments());
    assert.ok(count > 300, `${count} literals`);
    t.diagnostic(`${count} string literals`);
  });

  test('the XML of shared/spec', { skip: specText('README.md') === undefined && 'spec not available' }, (t) => {
    const count = agreeOnAll('spec', specDocuments());
    t.diagnostic(`${count} documents from shared/spec`);
  });

  test("the simulator's answers to every catalog command, to every request of the sources and the spec, and its events", async (t) => {
    const requests: string[] = [];
    let id = 1;
    for (const command of commands) {
      requests.push(buildRequest(command.type, id++, []));
      // Devices of the seeded store, so that call commands run (and publish events).
      for (const device of ['1111', '7010']) {
        const filled = command.params.map((p) => [p.name, sampleValue(p, device)] as const);
        for (const action of command.actions ?? [undefined]) {
          requests.push(buildRequest(command.type, id++, action === undefined ? filled : filled.map(([n, v]) => [n, n === 'ACTION' ? action : v] as const)));
        }
        // Only the required parameters and DEVICEID, which more often passes the checks and reaches the handler.
        requests.push(buildRequest(command.type, id++, filled.filter(([n]) => command.required.includes(n) || n === 'DEVICEID')));
      }
    }
    for (const document of [...literalDocuments(), ...specDocuments()]) {
      if (/^\s*<(REQUEST|[A-Z]+)>/.test(document) && document.length < 20_000) requests.push(document);
    }
    const answers: string[] = [];
    const events: string[] = [];
    for (const running of [sim, quirkySim]) {
      const unsubscribe = running.context.events.subscribe((event) => events.push(event.xml));
      for (const request of requests) answers.push((await answer(request, running.context)).xml);
      unsubscribe();
    }
    const count = agreeOnAll('request', requests) + agreeOnAll('answer', answers) + agreeOnAll('event', events);
    assert.ok(answers.some((a) => a.includes('<SEARCHRESULT>')), 'some CALLLIST answered results');
    assert.ok(events.length > 0, 'some commands published events');
    t.diagnostic(`${requests.length} requests, ${answers.length} answers, ${events.length} events`);
    assert.ok(count > 0);
  });

  test('count', (t) => {
    t.diagnostic(`${compared} documents compared, each under ${limitSets.length} limit sets`);
  });
});
