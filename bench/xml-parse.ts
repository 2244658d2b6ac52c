/**
 * Whole-answer parsing, the hand-written parser (the differential test's reference) against the
 * fast-xml-parser one: a CALLLIST of 1000 SEARCHRESULTs as REST reads it, a CALLCOPYEVENT as the
 * event feed reads it, the TEST answer. Rounds alternate the two; the figures are medians.
 *
 *   node dist/bench/xml-parse.js [rounds]
 */
import { buildEvent, buildResult, element, parseXmlThroughFastXmlParser, type ParseLimits, type XmlElement } from '../src/protocol/xml.js';
import { callListRecord } from '../src/protocol/result-records.js';
import { referenceParseXml } from '../test/protocol/reference-xml-parser.js';
import { median } from './measure.js';

const rounds = Number(process.argv[2] ?? 15);

const searchResults = Array.from({ length: 1000 }, (_, k) =>
  element(
    'SEARCHRESULT',
    callListRecord.fields.map((field, j) =>
      element(field, field === 'PLAYBACKLINK' ? `HTTP://localhost:80/MediaPlayer/ExternalCallListPlayer?recordid=${k}&user=a` : j % 3 === 0 ? String(1000 + k * 31 + j) : `value ${k} of ${field}`),
    ),
  ),
);
const header = { requestType: 'CALLLIST', requestId: 1, resultType: 'API_OK', resultCode: 20, resultMessage: 'API_OK' };
const documents: [string, string, ParseLimits | undefined, number][] = [
  ['CALLLIST, 1000 SEARCHRESULT', buildResult(header, [element('CALLCOUNT', '1000'), ...searchResults]), { maxDepth: 64, maxElements: 400_000 }, 3],
  [
    'CALLCOPYEVENT',
    buildEvent({ eventClass: 'CALL', eventType: 'CALLSTART', module: 'Api', eventXref: 7 }, Array.from({ length: 20 }, (_, i) => [`FIELD${i}`, `value ${i}`])),
    { maxDepth: 8, maxElements: 256 },
    5000,
  ],
  ['TEST answer', buildResult({ ...header, requestType: 'TEST' }), undefined, 20000],
];

function timePerParse(parse: (input: string, limits?: ParseLimits) => XmlElement, xml: string, limits: ParseLimits | undefined, reps: number): number {
  const started = process.hrtime.bigint();
  for (let r = 0; r < reps; r++) parse(xml, limits);
  return Number(process.hrtime.bigint() - started) / 1e3 / reps;
}

for (const [label, xml, limits, reps] of documents) {
  for (let w = 0; w < 3; w++) {
    timePerParse(referenceParseXml, xml, limits, reps);
    timePerParse(parseXmlThroughFastXmlParser, xml, limits, reps);
  }
  const old: number[] = [];
  const now: number[] = [];
  for (let r = 0; r < rounds; r++) {
    old.push(timePerParse(referenceParseXml, xml, limits, reps));
    now.push(timePerParse(parseXmlThroughFastXmlParser, xml, limits, reps));
  }
  const [a, b] = [median(old), median(now)];
  const unit = a > 1000 ? ['ms', 1000] as const : ['µs', 1] as const;
  console.log(
    `${label} (${Buffer.byteLength(xml)} bytes): hand-written ${(a / unit[1]).toFixed(2)} ${unit[0]}, fast-xml-parser ${(b / unit[1]).toFixed(2)} ${unit[0]}, ratio ${(b / a).toFixed(1)}`,
  );
}
