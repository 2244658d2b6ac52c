import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import Fastify, { type FastifyInstance } from 'fastify';
import { ChunkPool } from '../../src/audio/chunk-pool.js';
import { sendMediaStream } from '../../src/http/media/media-response.js';

// Smaller than a socket's high-water mark, so that a write still waiting in the socket returns true
// and the source goes on reading; 25 MiB in all, more than the kernel's buffers hold on loopback,
// so that writes do wait on the reader.
const CHUNK = 4 * 1024;
const CHUNKS = 6400;

/** Chunk `i` of the test body: every byte says which chunk it belongs to. */
function chunkContent(i: number): number {
  return (i * 7 + 1) % 251;
}

/**
 * A source that fills buffers of `pool` as fast as it is read: a buffer given back too early
 * (before the socket wrote it) would be overwritten by a later chunk's bytes.
 */
class PooledSource extends Readable {
  next = 0;
  readonly memories = new Set<ArrayBufferLike>();

  constructor(
    private readonly pool: ChunkPool,
    private readonly failAt?: number,
  ) {
    super({ highWaterMark: CHUNK });
  }

  override _read(): void {
    if (this.next === this.failAt) {
      this.destroy(new Error(`chunk ${this.failAt} could not be read`));
    } else if (this.next === CHUNKS) {
      this.push(null);
    } else {
      this.fill();
    }
  }

  private fill(): void {
    const buffer = this.pool.take(CHUNK);
    this.memories.add(buffer.buffer);
    buffer.fill(chunkContent(this.next++));
    this.push(this.pool.lend(buffer, 0, CHUNK));
  }
}

function expectedBody(): Buffer {
  return Buffer.concat(Array.from({ length: CHUNKS }, (_, i) => Buffer.alloc(CHUNK, chunkContent(i))));
}

describe('sendMediaStream', () => {
  let app: FastifyInstance;
  let base: string;
  const sources: PooledSource[] = [];
  const events: string[] = [];

  before(async () => {
    app = Fastify();
    app.get<{ Querystring: { failAt?: string } }>('/media', async (request, reply) => {
      const failAt = request.query.failAt === undefined ? undefined : Number(request.query.failAt);
      const source = new PooledSource(new ChunkPool(), failAt);
      sources.push(source);
      reply.header('content-type', 'audio/wav').header('content-disposition', 'attachment; filename="a.wav"');
      let bytes = 0;
      sendMediaStream(reply, source, {
        sent: (n) => (bytes += n),
        beforeFirstByte: (error) => {
          events.push(`before: ${error.message}`);
          reply.removeHeader('content-disposition');
          void reply.code(500).header('content-type', 'text/plain').send('no media');
        },
        failedMidStream: (error) => events.push(`mid: ${error.message} after ${bytes}`),
      });
      return reply;
    });
    await app.listen({ port: 0, host: '127.0.0.1' });
    base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  });
  after(() => app.close());

  test('a slow reader gets every byte right while a few buffers carry the whole body', async () => {
    const response = await new Promise<http.IncomingMessage>((resolve) => http.get(`${base}/media`, resolve));
    assert.equal(response.statusCode, 200);
    assert.equal(response.headers['content-type'], 'audio/wav');
    assert.equal(response.headers['content-disposition'], 'attachment; filename="a.wav"');
    const received: Buffer[] = [];
    // Not reading at first, then slowly: the socket's buffers fill, writes are left pending in
    // the socket, and the source reads ahead meanwhile. A buffer given back before its write
    // completed would be filled with a later chunk while still waiting to be sent.
    response.pause();
    await new Promise((resolve) => setTimeout(resolve, 300));
    for await (const chunk of response) {
      received.push(chunk as Buffer);
      if (received.length % 16 === 0) await new Promise((resolve) => setTimeout(resolve, 5));
    }
    assert.ok(Buffer.concat(received).equals(expectedBody()), 'the body is the chunks in order, none overwritten');
    const source = sources.at(-1)!;
    assert.ok(source.memories.size < CHUNKS / 4, `${source.memories.size} buffers for ${CHUNKS} chunks`);
  });

  test('a source failing before its first byte is answered by the caller, without the media headers', async () => {
    const response = await fetch(`${base}/media?failAt=0`);
    assert.equal(response.status, 500);
    assert.equal(await response.text(), 'no media');
    assert.equal(response.headers.get('content-disposition'), null);
    assert.equal(events.at(-1), 'before: chunk 0 could not be read');
  });

  test('a source failing mid-stream cuts the response off', async () => {
    const response = await fetch(`${base}/media?failAt=50`);
    assert.equal(response.status, 200);
    await assert.rejects(response.arrayBuffer());
    assert.match(events.at(-1)!, /^mid: chunk 50 could not be read after \d+$/);
  });

  test('a caller going away destroys the source', async () => {
    const request = http.get(`${base}/media`);
    const [response] = (await once(request, 'response')) as [http.IncomingMessage];
    await once(response, 'readable');
    const source = sources.at(-1)!;
    request.destroy();
    if (!source.destroyed) await once(source, 'close');
    assert.ok(source.next < CHUNKS, `stopped at chunk ${source.next}`);
  });
});
