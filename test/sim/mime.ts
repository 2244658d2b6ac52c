/** Reading the simulator's outbox in tests: a small CRLF MIME reader, independent of the code writing it. */
import assert from 'node:assert/strict';

export interface MimePart {
  headers: Map<string, string>;
  body: string;
}

/** Headers (unfolded, names lower-cased) and body of a CRLF MIME entity. */
export function parseEntity(text: string): MimePart {
  const split = text.indexOf('\r\n\r\n');
  assert.ok(split > 0, 'no blank line after the headers');
  const headers = new Map<string, string>();
  for (const line of text.slice(0, split).replace(/\r\n[ \t]+/g, ' ').split('\r\n')) {
    const colon = line.indexOf(':');
    headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
  }
  return { headers, body: text.slice(split + 4) };
}

/** A multipart/mixed message: its headers and its parts, split on the boundary its Content-Type names. */
export function parseMultipart(text: string): { headers: Map<string, string>; parts: MimePart[] } {
  const message = parseEntity(text);
  const contentType = message.headers.get('content-type') ?? '';
  assert.match(contentType, /^multipart\/mixed;/i);
  const boundary = /boundary="?([^";]+)"?/i.exec(contentType)?.[1];
  assert.ok(boundary, 'no boundary');
  const sections = message.body.split(`--${boundary}`);
  assert.match(sections[sections.length - 1]!, /^--/, 'no closing boundary');
  const parts = sections.slice(1, -1).map((section) => parseEntity(section.replace(/^\r\n/, '').replace(/\r\n$/, '')));
  return { headers: message.headers, parts };
}
