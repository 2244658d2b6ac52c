/**
 * An export's stream as the body of a reply, each chunk given back to its pool (chunk-pool.ts) once
 * the socket has written it.
 *
 * Fastify sends a stream by piping it into the response, which never tells when a chunk has been
 * written; `res.write`'s callback does. So the reply is taken over (hijacked) and written here,
 * with the headers Fastify holds for it. That happens at the first chunk: a source that fails
 * before it (a file gone between resolution and opening) is still answered by `beforeFirstByte`
 * with an ordinary reply.
 */
import type { FastifyReply } from 'fastify';
import type { Readable } from 'node:stream';
import { giveBack } from '../../audio/chunk-pool.js';

export interface MediaResponseEvents {
  /** A client that takes no byte for this long (the socket stays full) has its response ended. */
  stallTimeoutMs?: number;
  /** The response was ended for that. */
  stalled?(): void;
  /** The source failed before a byte was sent: the reply is still Fastify's to answer. */
  beforeFirstByte(error: Error): void;
  /** The source failed after the response began: it is cut off. */
  failedMidStream(error: Error): void;
  /** `bytes` more were handed to the response. */
  sent(bytes: number): void;
}

/**
 * Streams `source` as the reply's body with back-pressure. The caller returns `reply` from its
 * handler; the response ends with the source, and a response closed early destroys the source.
 */
export function sendMediaStream(reply: FastifyReply, source: Readable, events: MediaResponseEvents): void {
  const res = reply.raw;
  let started = false;

  const start = (): void => {
    started = true;
    reply.hijack();
    res.statusCode = reply.statusCode;
    for (const [name, value] of Object.entries(reply.getHeaders())) {
      if (value !== undefined) res.setHeader(name, value);
    }
  };

  // Paused on a full socket: a client that never reads again must not hold the file, the socket,
  // the buffers (or an ffmpeg) for ever.
  let stall: NodeJS.Timeout | undefined;
  const resume = (): void => {
    clearTimeout(stall);
    source.resume();
  };

  source.on('data', (chunk: Buffer) => {
    if (!started) start();
    events.sent(chunk.length);
    const more = res.write(chunk, (error) => {
      // A write that failed may not have been dispatched at all; its buffer is left to the GC.
      if (!error) giveBack(chunk);
    });
    if (!more) {
      source.pause();
      res.once('drain', resume);
      if (events.stallTimeoutMs !== undefined) {
        clearTimeout(stall);
        stall = setTimeout(() => {
          events.stalled?.();
          res.destroy();
        }, events.stallTimeoutMs);
      }
    }
  });
  source.once('end', () => {
    if (!started) start();
    res.end();
  });
  source.once('error', (error) => {
    if (!started) return events.beforeFirstByte(error);
    events.failedMidStream(error);
    res.destroy(error);
  });
  res.once('close', () => {
    clearTimeout(stall);
    res.removeListener('drain', resume);
    if (!source.destroyed) source.destroy();
  });
}
