/**
 * Properties of the lenient parser over generated and captured documents: what our builders write
 * reads back as it was built, byte for byte; any input either reads to a tree or is refused with
 * XmlSyntaxError for one of its three reasons, never anything else; the bounds are respected
 * exactly. The documents are what the XML property tests generate, markup soup and damaged trees,
 * hostile shapes, and every captured example of the repository: the string literals of the sources
 * and tests holding markup, the XML of the product's documents (`shared/spec`), and the simulator's
 * answers and events for every catalog command.
 *
 * Until fast-xml-parser took over parsing, these documents were the differential test between it
 * and the hand-written parser, which agreed on all of them.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import * as fc from 'fast-check';
import { commands, type ParamSpec } from '../../src/protocol/catalog.js';
import { buildEvent, buildRequest, buildResult, element, parseXml, serialize, XmlSyntaxError, type ParseLimits, type XmlElement } from '../../src/protocol/xml.js';
import { answer } from '../../src/sim/dispatcher.js';
import type { RunningSimulator } from '../../src/sim/simulator.js';
import { startTestSimulator } from '../sim/harness.js';
import * as specExamples from './spec-examples.js';
import { specText } from './spec-examples.js';
import {
  anyInput,
  anyValue,
  carriableValue,
  carried,
  damagedDocument,
  headerPiece,
  params,
  requestId,
  soupDocument,
  tree,
} from './xml-arbitraries.js';

/** The only reasons a document is refused. */
const refusal = /^(no XML element found|more than \d+ elements|nesting deeper than \d+)$/;

let parsed = 0;

/** `input` reads to a tree or is refused with XmlSyntaxError for one of its reasons, under `limits`. */
function readsOrIsRefused(input: string, limits?: ParseLimits): XmlElement | undefined {
  parsed++;
  try {
    return parseXml(input, limits);
  } catch (error) {
    assert.ok(error instanceof XmlSyntaxError, `${String(error)} for ${JSON.stringify(input.slice(0, 400))}`);
    assert.match(error.message, refusal);
    return undefined;
  }
}

function depthAndCount(root: XmlElement): { depth: number; openDepth: number; count: number } {
  let depth = 0;
  let openDepth = 0;
  let count = 0;
  const pending: [XmlElement, number][] = [[root, 1]];
  for (let next = pending.pop(); next !== undefined; next = pending.pop()) {
    const [node, level] = next;
    count++;
    depth = Math.max(depth, level);
    if (node.children.length > 0) openDepth = Math.max(openDepth, level);
    for (const c of node.children) pending.push([c, level + 1]);
  }
  return { depth, openDepth, count };
}

/** A tree as a peer reads it: each leaf's value as XML carries it. */
function carriedTree(node: XmlElement): XmlElement {
  return node.children.length === 0 ? element(node.name, carried(node.text)) : element(node.name, node.children.map(carriedTree));
}

/** A read tree without the layout whitespace between children. */
function withoutLayout(node: XmlElement): XmlElement {
  return node.children.length === 0 ? node : { name: node.name, text: '', children: node.children.map(withoutLayout) };
}

const anyLimits = fc.record({ maxDepth: fc.integer({ min: 1, max: 8 }), maxElements: fc.integer({ min: 1, max: 64 }) });
/** Every kind of generated document. */
const anyDocument = fc.oneof(
  anyInput,
  soupDocument,
  damagedDocument,
  tree.map((t) => serialize(t)),
  fc.tuple(fc.array(headerPiece, { maxLength: 10 }), fc.boolean()).map(([pieces, closed]) => `<RESULT>${pieces.join('')}${closed ? '</RESULT>' : ''}`),
);

describe('xml parsing: properties over generated documents', () => {
  test('serialize -> parse -> serialize is the identity; the tree read is the tree built, values as XML carries them', () => {
    fc.assert(
      fc.property(tree, (t) => {
        const xml = serialize(t);
        const root = parseXml(xml, { maxDepth: 64, maxElements: 1_000_000 });
        assert.equal(serialize(root), xml);
        assert.deepEqual(withoutLayout(root), carriedTree(t));
      }),
      { numRuns: 1000 },
    );
  });

  test('built requests, results and events read back with every value as XML carries it', () => {
    fc.assert(
      fc.property(anyValue, requestId, params(anyValue), (type, id, entries) => {
        const root = parseXml(buildRequest(type, id, entries));
        assert.deepEqual(root.children.map((c) => [c.name, c.text]), [['TYPE', carried(type)], ['REQUESTID', carried(String(id))], ...entries.map(([n, v]) => [n, carried(v)])]);
      }),
      { numRuns: 1000 },
    );
    fc.assert(
      fc.property(carriableValue, carriableValue, params(anyValue), (requestType, message, body) => {
        const result = buildResult({ requestType, requestId: 7, resultType: 'API_OK', resultCode: 20, resultMessage: message }, body.map(([n, v]) => element(n, v)));
        assert.equal(serialize(parseXml(result)), result);
        const event = buildEvent({ eventClass: 'CALL', eventType: requestType, module: 'Api', eventXref: message }, body);
        assert.equal(serialize(parseXml(event)), event);
      }),
      { numRuns: 500 },
    );
  });

  test('character data without markup is kept verbatim: CR, CR LF, controls, lone surrogates', () => {
    const plain = fc.string({ unit: fc.oneof(fc.constantFrom('\r', '\n', '\r\n', '\t', ' ', '>', ']]>', '\u0000', '\ud800', '\ufeff'), fc.string({ unit: 'binary', minLength: 1, maxLength: 1 })), maxLength: 40 });
    fc.assert(
      fc.property(plain.filter((s) => !s.includes('<') && !s.includes('&')), (text) => {
        assert.equal(parseXml(`<R>${text}</R>`).text, text);
      }),
      { numRuns: 1000 },
    );
  });

  test('any document reads to a tree or is refused with XmlSyntaxError for one of its reasons, nothing else', () => {
    fc.assert(fc.property(anyDocument, (input) => void readsOrIsRefused(input)), { numRuns: 10_000 });
  });

  test('the bounds hold: no element with children deeper than maxDepth, no more elements than maxElements', () => {
    fc.assert(
      fc.property(anyDocument, anyLimits, (input, limits) => {
        const root = readsOrIsRefused(input, limits);
        if (root === undefined) return;
        const { depth, openDepth, count } = depthAndCount(root);
        assert.ok(openDepth <= limits.maxDepth, `${openDepth} > ${limits.maxDepth}`);
        assert.ok(depth <= limits.maxDepth + 1, 'a self-closed element may sit one level below');
        assert.ok(count <= limits.maxElements, `${count} > ${limits.maxElements}`);
        // A document read under some bounds reads to the same tree under wider ones.
        assert.deepEqual(parseXml(input), root);
      }),
      { numRuns: 5000 },
    );
  });

  test('a serialized tree is refused exactly when it is deeper or larger than the bounds', () => {
    fc.assert(
      fc.property(tree, anyLimits, (t, limits) => {
        const { depth, count } = depthAndCount(t);
        const root = readsOrIsRefused(serialize(t), limits);
        assert.equal(root === undefined, depth > limits.maxDepth || count > limits.maxElements);
      }),
      { numRuns: 2000 },
    );
  });

  test('text before the root and anything after it change nothing', () => {
    const junk = fc.string({ maxLength: 20 }).map((s) => s.replaceAll('<', ''));
    fc.assert(
      fc.property(junk, tree, anyInput, (before, t, trailing) => {
        const xml = serialize(t);
        assert.deepEqual(parseXml(before + xml + trailing, { maxDepth: 64, maxElements: 1_000_000 }), parseXml(xml, { maxDepth: 64, maxElements: 1_000_000 }));
      }),
      { numRuns: 1000 },
    );
  });

  test('hostile shapes: deep nesting, many elements, long text, megabytes of one piece', () => {
    const shapes = [
      '<a>'.repeat(64), '<a>'.repeat(65), '<a>'.repeat(100_000), `${'<a>'.repeat(64)}<b/>`, `${'<a>'.repeat(64)}x${'</a>'.repeat(64)}`,
      `<R>${'<E/>'.repeat(199_999)}</R>`, `<R>${'<E/>'.repeat(200_000)}</R>`, `<R>${'x&amp;\r\n'.repeat(100_000)}</R>`,
      `<R>${'<A>1</B>'.repeat(10_000)}</R>`, `<R>${'<USERS><USER>'.repeat(30)}</R>`,
    ];
    for (const piece of ['<!DOCTYPE [>', '<!--', '<![CDATA[', '<?', '<a "', '</a', '<a ', '&#x', '<r>&', '<r><!DOCTYPE [>', '<r><', '<r></>', '<r><!---->']) {
      shapes.push(piece.repeat(Math.ceil(200_000 / piece.length)));
    }
    for (const input of shapes) {
      const started = performance.now();
      readsOrIsRefused(input);
      assert.ok(performance.now() - started < 2000, `${JSON.stringify(input.slice(0, 20))}... took ${performance.now() - started} ms`);
    }
    assert.equal(parseXml(`<R>${'x&amp;\r\n'.repeat(100_000)}</R>`).text, 'x&\r\n'.repeat(100_000));
    assert.equal(parseXml(`<R>${'<A>1</B>'.repeat(10_000)}</R>`).children.length, 10_000);
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
    if (file.endsWith('/xml-parse-properties.test.ts')) continue;
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

describe('xml parsing: every captured document', () => {
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

  test('the fixtures of spec-examples.ts read to a RESULT or a REQUEST', () => {
    const fixtures = Object.values(specExamples).filter((v): v is string => typeof v === 'string' && v.startsWith('<'));
    assert.ok(fixtures.length >= 7);
    for (const fixture of fixtures) assert.match(parseXml(fixture).name, /^(RESULT|REQUEST)$/);
  });

  test('every string literal holding markup in src/ and test/ reads or is refused for a reason', (t) => {
    const documents = literalDocuments();
    assert.ok(documents.length > 300, `${documents.length} literals`);
    for (const document of documents) readsOrIsRefused(document);
    t.diagnostic(`${documents.length} string literals`);
  });

  test('the XML of shared/spec reads or is refused for a reason', { skip: specText('README.md') === undefined && 'spec not available' }, (t) => {
    const documents = specDocuments();
    for (const document of documents) readsOrIsRefused(document);
    t.diagnostic(`${documents.length} documents from shared/spec`);
  });

  test("the simulator's answers and events read back byte for byte; the quirky IMPORTUSER LIST reads whole", async (t) => {
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
    const events: string[] = [];
    const unsubscribe = sim.context.events.subscribe((event) => events.push(event.xml));
    let answers = 0;
    for (const request of requests) {
      readsOrIsRefused(request);
      const xml = (await answer(request, sim.context)).xml;
      assert.equal(serialize(parseXml(xml)), xml);
      answers++;
    }
    unsubscribe();
    for (const event of events) assert.equal(serialize(parseXml(event)), event);
    assert.ok(events.length > 0, 'some commands published events');

    const list = (await answer(buildRequest('IMPORTUSER', 1, [['ACTION', 'LIST']]), quirkySim.context)).xml;
    assert.doesNotMatch(list, /<\/USERS>/, 'the production quirk: USERS never closed');
    const users = parseXml(list).children.find((c) => c.name === 'USERS')!;
    assert.ok(users.children.filter((c) => c.name === 'USER').length > 1);
    t.diagnostic(`${requests.length} requests, ${answers} answers, ${events.length} events`);
  });

  test('count', (t) => {
    t.diagnostic(`${parsed} documents read or refused`);
  });
});
