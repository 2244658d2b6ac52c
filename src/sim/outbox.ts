/**
 * The simulator's mail server: EMAIL and COMBINEDEMAIL compose real MIME messages and leave them
 * as .eml files in an outbox folder, where tests and people can open them, instead of sending them.
 * Attachments stream from disk through the MIME encoder into the file; none is held in memory.
 */
import fs from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createTransport } from 'nodemailer';
import { decodeWavToPcm16, pcm16ByteLength, readWavInfo, wavHeader } from '../audio/wav.js';
import { SAMPLE_RATE } from './audio.js';

export interface MailAddress {
  address: string;
  /** Display name, as in `Jane Doe <jane@example.com>`. */
  name?: string;
}

export interface OutboxMail {
  from: MailAddress;
  to: MailAddress;
  subject: string;
  text: string;
  attachment: { filename: string; contentType: string; content: NodeJS.ReadableStream | Readable };
  /** The Date header and the file's timestamp; the simulator's clock, when it has been advanced. */
  date?: Date;
}

/** Tells apart messages written in the same millisecond; file names sort in the order written. */
let messagesWritten = 0;

/**
 * Writes `mail` as `<outboxDir>/<timestamp>-<counter>.eml`. The file appears only once complete
 * (it is written under a temporary name and renamed), so a watcher never reads half a message.
 */
export async function writeEmail(outboxDir: string, mail: OutboxMail): Promise<{ path: string; bytes: number }> {
  const date = mail.date ?? new Date();
  const content = mail.attachment.content instanceof Readable ? mail.attachment.content : new Readable().wrap(mail.attachment.content);
  const stamp = date.toISOString().replace(/[-:.]/g, '');
  const file = path.join(outboxDir, `${stamp}-${String(++messagesWritten).padStart(6, '0')}.eml`);
  const temporary = `${file}.${randomBytes(6).toString('hex')}.tmp`;
  try {
    await fs.promises.mkdir(outboxDir, { recursive: true });
    const transport = createTransport({ streamTransport: true, buffer: false, newline: 'windows' });
    const info = await transport.sendMail({
      from: mail.from,
      to: mail.to,
      subject: mail.subject,
      text: mail.text,
      date,
      attachments: [{ filename: mail.attachment.filename, contentType: mail.attachment.contentType, content }],
    });
    if (!(info.message instanceof Readable)) throw new Error('nodemailer returned a buffered message where a stream was asked for');
    const out = fs.createWriteStream(temporary, { flags: 'wx' });
    await pipeline(info.message, out);
    await fs.promises.rename(temporary, file);
    return { path: file, bytes: out.bytesWritten };
  } catch (error) {
    // Whatever failed, the source must not stay open (a file descriptor, a transcoder process).
    content.destroy();
    await fs.promises.rm(temporary, { force: true });
    throw error;
  }
}

const DOT_ATOM = /^[A-Za-z0-9!#$%&'*+/=?^_`{|}~\u0080-\uffff-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~\u0080-\uffff-]+)*$/;
const DOMAIN_LABEL = /^[A-Za-z0-9\u0080-\uffff](?:[A-Za-z0-9\u0080-\uffff-]{0,61}[A-Za-z0-9\u0080-\uffff])?$/;

/**
 * Whether `s` is a deliverable-looking mailbox `local@domain.tld`: a dot-atom local part of at most
 * 64 characters, a domain of at least two DNS labels whose last is not numeric, 254 characters at
 * most, no spaces or control characters. Internationalised (UTF-8) addresses pass; quoted local
 * parts, IP-literal domains and display-name forms do not: no one types those into TOADDRESS.
 */
export function isValidEmailAddress(s: string): boolean {
  if (s.length > 254 || /[\p{Cc}\p{Cf}\p{Z}]/u.test(s)) return false;
  const at = s.indexOf('@');
  if (at !== s.lastIndexOf('@')) return false;
  const local = s.slice(0, at);
  const labels = s.slice(at + 1).split('.');
  if (local.length === 0 || local.length > 64 || !DOT_ATOM.test(local)) return false;
  if (labels.length < 2 || /^[0-9]+$/.test(labels[labels.length - 1]!)) return false;
  return labels.every((label) => DOMAIN_LABEL.test(label));
}

/**
 * One 16-bit PCM 8 kHz mono WAV made of `paths` played one after another, as a stream. The sizes
 * come from each file's header, so the combined header is exact before a sample is read. Throws
 * at once for a file that is not an 8 kHz mono WAV; the stream fails if a file changes under it.
 */
export function combinedWavStream(paths: readonly string[]): Readable {
  const parts = paths.map((file) => {
    const info = readWavInfo(file);
    if (info.sampleRate !== SAMPLE_RATE || info.channels !== 1) {
      throw new Error(`${file} is ${info.channels}-channel ${info.sampleRate} Hz audio; recordings combine only as ${SAMPLE_RATE} Hz mono`);
    }
    return { file, info, pcmBytes: pcm16ByteLength(info) };
  });
  const dataBytes = parts.reduce((sum, part) => sum + part.pcmBytes, 0);
  async function* combined(): AsyncGenerator<Buffer> {
    yield wavHeader(dataBytes, 'pcm16', SAMPLE_RATE, 1);
    for (const part of parts) {
      let streamed = 0;
      for await (const chunk of decodeWavToPcm16(part.file, part.info)) {
        streamed += chunk.length;
        yield chunk;
      }
      if (streamed !== part.pcmBytes) {
        throw new Error(`${part.file} gave ${streamed} bytes of audio where its header promised ${part.pcmBytes}`);
      }
    }
  }
  return Readable.from(combined(), { objectMode: false });
}
