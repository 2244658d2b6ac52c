/**
 * Reading an answer's header on the WebAPI's hot path: the bounded scan of its bytes
 * (`leadingChildTexts`, what core/connection.ts does) against parsing through fast-xml-parser, of
 * the whole answer or, as connection.ts falls back to, of its first 4096 bytes. Rounds alternate
 * the ways; the figures are medians.
 *
 *   node dist/bench/xml-header.js [rounds]
 */
import { buildResult, childText, element, leadingChildTexts, parseXml, resultHeaderNames } from '../src/protocol/xml.js';
import { callListRecord } from '../src/protocol/result-records.js';
import { median } from './measure.js';

const rounds = Number(process.argv[2] ?? 15);

const header = { requestType: 'CALLLIST', requestId: 1, resultType: 'API_OK', resultCode: 20, resultMessage: 'API_OK' };
const searchResults = Array.from({ length: 1000 }, (_, k) =>
  element('SEARCHRESULT', callListRecord.fields.map((field, j) => element(field, j % 3 === 0 ? String(1000 + k * 31 + j) : `value ${k} of ${field}`))),
);
const answers: [string, Buffer][] = [
  ['TEST answer', Buffer.from(buildResult({ ...header, requestType: 'TEST' }))],
  ['CALLLIST, 1000 SEARCHRESULT', Buffer.from(buildResult(header, [element('CALLCOUNT', '1000'), ...searchResults]))],
];

const hasWholeHeader = (texts: Map<string, string>): boolean =>
  texts.has('REQUESTTYPE') && texts.has('REQUESTID') && texts.has('RESULTTYPE') && texts.has('RESULTCODE') && texts.has('RESULTMSG');
const limits = (bytes: Buffer) => ({ maxDepth: 64, maxElements: Math.max(200_000, Math.ceil(bytes.length / 4)) });

type HeaderRead = (bytes: Buffer) => string | undefined;
const ways: [string, HeaderRead][] = [
  ['scan', (bytes) => leadingChildTexts(bytes, resultHeaderNames, hasWholeHeader).texts.get('RESULTCODE')],
  ['parse of the first 4096 bytes', (bytes) => childText(parseXml(bytes.subarray(0, 4096).toString('utf8'), limits(bytes)), 'RESULTCODE')],
  ['parse of the whole answer', (bytes) => childText(parseXml(bytes.toString('utf8'), limits(bytes)), 'RESULTCODE')],
];

function microsPerRead(read: HeaderRead, bytes: Buffer, reps: number): number {
  const started = process.hrtime.bigint();
  for (let r = 0; r < reps; r++) if (read(bytes) !== '20') throw new Error('wrong header');
  return Number(process.hrtime.bigint() - started) / 1e3 / reps;
}

for (const [label, bytes] of answers) {
  const applicable = ways.filter(([way]) => bytes.length > 4096 || way !== 'parse of the first 4096 bytes');
  const repsOf = (way: string): number => (way === 'parse of the whole answer' && bytes.length > 4096 ? 3 : 2000);
  for (let w = 0; w < 3; w++) for (const [way, read] of applicable) microsPerRead(read, bytes, repsOf(way));
  const figures = new Map<string, number[]>(applicable.map(([way]) => [way, []]));
  for (let r = 0; r < rounds; r++) for (const [way, read] of applicable) figures.get(way)!.push(microsPerRead(read, bytes, repsOf(way)));
  const scan = median(figures.get('scan')!);
  console.log(`${label} (${bytes.length} bytes): scan ${scan.toFixed(2)} µs`);
  for (const [way] of applicable.slice(1)) {
    const m = median(figures.get(way)!);
    console.log(`  ${way}: ${m.toFixed(2)} µs, ${(m / scan).toFixed(0)} times the scan`);
  }
}
