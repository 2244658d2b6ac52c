/**
 * Message boundaries in a TCP byte stream. A message ends with the closing tag of its root element
 * (`</REQUEST>`, `</RESULT>`, `</CALLCOPYEVENT>`), found by name: answers are pretty-printed,
 * split across chunks, several may share a chunk, the trailing CRLF is optional, and inner elements
 * are not always balanced, so neither line breaks nor tag counting can be trusted.
 *
 * The framer works on bytes: a multi-byte UTF-8 sequence never contains an ASCII byte, so searching
 * for `<`, `>` and tag names in raw bytes is safe whatever the chunk boundaries.
 */

export type Frame =
  /** A complete message: the bytes from the root's `<` to its closing `>`. */
  | { kind: 'message'; root: string; bytes: Buffer }
  /** Bytes that do not start an XML element, up to the end of their line. */
  | { kind: 'garbage'; bytes: Buffer };

export class FrameTooLargeError extends Error {
  override name = 'FrameTooLargeError';
  constructor(readonly limit: number) {
    super(`message exceeds ${limit} bytes without reaching its closing tag`);
  }
}

const LT = 0x3c;
const GT = 0x3e;
const SLASH = 0x2f;
const LF = 0x0a;
const QUESTION = 0x3f;
const BANG = 0x21;
const QUOTE = 0x22;
const APOSTROPHE = 0x27;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
/** Lower case: compared against lower-cased bytes. */
const COMMENT_OPEN = Buffer.from('<!--', 'latin1');
const DOCTYPE = Buffer.from('<!doctype', 'latin1');

const isSpace = (b: number): boolean => b === 0x20 || b === 0x09 || b === 0x0a || b === 0x0d;
const isNameStart = (b: number): boolean =>
  (b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a) || b === 0x5f || b === 0x3a;
const isNameChar = (b: number): boolean =>
  isNameStart(b) || (b >= 0x30 && b <= 0x39) || b === 0x2d || b === 0x2e;
const lower = (b: number): number => (b >= 0x41 && b <= 0x5a ? b + 0x20 : b);

export class MessageFramer {
  private buf: Buffer;
  private start = 0;
  private end = 0;
  /** Root of the message being read, once its start tag is complete. */
  private root: string | undefined;
  /** Where the search for the end of a line, a start tag or the closing tag resumes. */
  private scan = 0;
  /** Where the reading of an incomplete root name resumes. */
  private nameScan = 0;
  /** The root name last read from a start tag, and lower-cased for the search of its closing tag. */
  private lastRoot = '';
  private lastLowerRoot = '';

  constructor(readonly maxMessageBytes = 1024 * 1024) {
    this.buf = Buffer.allocUnsafe(Math.min(64 * 1024, maxMessageBytes + 16));
  }

  /** Bytes received that do not yet form a complete message. */
  get pendingBytes(): number {
    return this.end - this.start;
  }

  /** Add a chunk and return every message it completes. Throws FrameTooLargeError past the bound. */
  push(chunk: Buffer): Frame[] {
    this.append(chunk);
    const frames: Frame[] = [];
    for (;;) {
      const frame = this.next();
      if (!frame) break;
      frames.push(frame);
    }
    if (this.end - this.start > this.maxMessageBytes) throw new FrameTooLargeError(this.maxMessageBytes);
    return frames;
  }

  private append(chunk: Buffer): void {
    if (this.start > 0 && this.start === this.end) {
      this.start = this.end = this.scan = this.nameScan = 0;
    }
    if (this.end + chunk.length > this.buf.length) {
      const live = this.end - this.start;
      const needed = live + chunk.length;
      if (needed <= this.buf.length && this.start > 0) {
        this.buf.copy(this.buf, 0, this.start, this.end);
      } else {
        const grown = Buffer.allocUnsafe(Math.max(needed, this.buf.length * 2));
        this.buf.copy(grown, 0, this.start, this.end);
        this.buf = grown;
      }
      this.scan = Math.max(0, this.scan - this.start);
      this.nameScan = Math.max(0, this.nameScan - this.start);
      this.start = 0;
      this.end = live;
    }
    chunk.copy(this.buf, this.end);
    this.end += chunk.length;
  }

  private take(upTo: number): Buffer {
    // A message that arrived whole in one chunk is held to the same bound as one still pending.
    if (upTo - this.start > this.maxMessageBytes) throw new FrameTooLargeError(this.maxMessageBytes);
    const bytes = Buffer.allocUnsafe(upTo - this.start);
    this.buf.copy(bytes, 0, this.start, upTo);
    this.start = upTo;
    this.scan = upTo;
    this.nameScan = 0;
    this.root = undefined;
    return bytes;
  }

  /**
   * Just past the prolog, comment, processing instruction or DOCTYPE that starts at `at`, or -1 while
   * it is incomplete. Only bytes before `end` count: the buffer beyond holds stale data.
   */
  private declarationEnd(at: number): number {
    const comment = this.startsWith(at, COMMENT_OPEN);
    if (comment === undefined) return -1;
    if (comment) return this.after('-->', at + COMMENT_OPEN.length);
    if (this.buf[at + 1] === BANG) {
      const doctype = this.startsWith(at, DOCTYPE);
      if (doctype === undefined) return -1;
      if (doctype) return this.doctypeEnd(at + DOCTYPE.length);
    }
    return this.after('>', at + 2);
  }

  /**
   * A DOCTYPE ends at the first `>` outside quotes, comments and the internal subset (`[...]`),
   * whose entity values may hold markup (`<!ENTITY x "a>b<RESULT/>">`).
   */
  private doctypeEnd(from: number): number {
    const buf = this.buf;
    let subset = 0;
    for (let k = from; k < this.end; k++) {
      const b = buf[k]!;
      if (b === QUOTE || b === APOSTROPHE) {
        const after = this.after(b === QUOTE ? '"' : "'", k + 1);
        if (after === -1) return -1;
        k = after - 1;
      } else if (b === LT) {
        const comment = this.startsWith(k, COMMENT_OPEN);
        if (comment === undefined) return -1;
        if (!comment) continue;
        const after = this.after('-->', k + COMMENT_OPEN.length);
        if (after === -1) return -1;
        k = after - 1;
      } else if (b === OPEN_BRACKET) {
        subset++;
      } else if (b === CLOSE_BRACKET) {
        if (subset > 0) subset--;
      } else if (b === GT && subset === 0) {
        return k + 1;
      }
    }
    return -1;
  }

  /** Just past the first `needle` from `from` that lies wholly in the bytes received, or -1. */
  private after(needle: string, from: number): number {
    const at = this.buf.indexOf(needle, from);
    return at === -1 || at + needle.length > this.end ? -1 : at + needle.length;
  }

  /** Whether the bytes at `at` spell `pattern` (ASCII, any case); undefined until enough have arrived to tell. */
  private startsWith(at: number, pattern: Buffer): boolean | undefined {
    for (let r = 0; r < pattern.length; r++) {
      if (at + r >= this.end) return undefined;
      if (lower(this.buf[at + r]!) !== pattern[r]) return false;
    }
    return true;
  }

  /** The root name in bytes `from` to `to`: the previous message's when the bytes spell it again, as they nearly always do. */
  private rootName(from: number, to: number): string {
    const last = this.lastRoot;
    let same = last.length === to - from;
    for (let r = 0; same && r < last.length; r++) same = this.buf[from + r] === last.charCodeAt(r);
    if (!same) {
      this.lastRoot = this.buf.toString('latin1', from, to);
      this.lastLowerRoot = this.lastRoot.toLowerCase();
    }
    return this.lastRoot;
  }

  private next(): Frame | undefined {
    const buf = this.buf;
    if (!this.root) {
      // Skip what may precede a root: whitespace, a UTF-8 BOM, prolog, comments, DOCTYPE.
      let i = this.start;
      for (;;) {
        while (i < this.end && isSpace(buf[i]!)) i++;
        if (i + 2 < this.end && buf[i] === 0xef && buf[i + 1] === 0xbb && buf[i + 2] === 0xbf) {
          i += 3;
          continue;
        }
        if (i + 1 < this.end && buf[i] === LT && (buf[i + 1] === QUESTION || buf[i + 1] === BANG)) {
          const after = this.declarationEnd(i);
          if (after === -1) {
            this.start = i;
            return undefined;
          }
          i = after;
          continue;
        }
        break;
      }
      this.start = i;
      if (i >= this.end) return undefined;
      if (buf[i] !== LT || (i + 1 < this.end && !isNameStart(buf[i + 1]!))) {
        // Not XML: hand the line back so the peer can answer it, and resynchronise after it.
        // Resume where the last search stopped, so a line trickling in byte by byte stays linear.
        const nl = buf.indexOf(LF, Math.max(i, this.scan));
        if (nl === -1 || nl >= this.end) {
          this.scan = this.end;
          return undefined;
        }
        return { kind: 'garbage', bytes: this.take(nl + 1) };
      }
      let j = Math.max(i + 1, this.nameScan);
      while (j < this.end && isNameChar(buf[j]!)) j++;
      if (j >= this.end) {
        this.nameScan = j;
        return undefined;
      }
      // A loop rather than Buffer#indexOf: the `>` is a few bytes on, nearer than a native call's cost.
      let gt = Math.max(j, this.scan);
      while (gt < this.end && buf[gt] !== GT) gt++;
      if (gt >= this.end) {
        this.scan = this.end;
        return undefined;
      }
      const root = this.rootName(i + 1, j);
      if (buf[gt - 1] === SLASH) {
        return { kind: 'message', root, bytes: this.take(gt + 1) };
      }
      this.root = root;
      this.scan = gt + 1;
    }
    const root = this.root;
    // The root of the message being read is the last one rootName read.
    const lowerRoot = this.lastLowerRoot;
    // Look for `</root` + optional whitespace + `>`, ASCII case-insensitively. A plain loop over the
    // bytes: Buffer#indexOf costs a native call per `<`, more than the scan itself.
    const end = this.end;
    const first = lowerRoot.charCodeAt(0);
    for (let at = this.scan; at < end; at++) {
      if (buf[at] !== LT) continue;
      if (at + 2 >= end) {
        // Keep a trailing `<` or `</` in view: the next chunk may complete it.
        this.scan = at;
        return undefined;
      }
      if (buf[at + 1] !== SLASH || lower(buf[at + 2]!) !== first) continue;
      let k = at + 3;
      let matched = true;
      for (let r = 1; r < lowerRoot.length; r++, k++) {
        if (k >= end) {
          this.scan = at;
          return undefined;
        }
        if (lower(buf[k]!) !== lowerRoot.charCodeAt(r)) {
          matched = false;
          break;
        }
      }
      if (!matched) continue;
      while (k < end && isSpace(buf[k]!)) k++;
      if (k >= end) {
        this.scan = at;
        return undefined;
      }
      if (buf[k] === GT) return { kind: 'message', root, bytes: this.take(k + 1) };
    }
    this.scan = end;
    return undefined;
  }
}

/** Frame a whole byte string at once (tests, files). */
export function frameAll(bytes: Buffer, maxMessageBytes?: number): Frame[] {
  return new MessageFramer(maxMessageBytes).push(bytes);
}
