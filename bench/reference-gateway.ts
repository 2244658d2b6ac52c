/**
 * The reference of the WebAPI benchmark: the least a gateway can do. Fastify, a fixed number of
 * persistent connections to the core, a FIFO, one request in flight per connection, an answer
 * ended by its closing tag. No parameter rules, timeouts, logs or metrics. The full gateway's
 * distance from this is what its features cost.
 *   node reference-gateway.js <http-port> <core-port> [connections]
 */
import net from 'node:net';
import Fastify from 'fastify';
import { buildRequest } from '../src/protocol/xml.js';

const [httpPort, corePort, size] = process.argv.slice(2).map(Number) as [number, number, number | undefined];
type Pending = { xml: string; done: (answer: Buffer) => void };
const queue: Pending[] = [];
const idle: { socket: net.Socket; current?: Pending; chunks: Buffer[] }[] = [];

function pump(): void {
  while (queue.length > 0 && idle.length > 0) {
    const link = idle.pop()!;
    link.current = queue.shift()!;
    link.socket.write(link.current.xml);
  }
}

for (let i = 0; i < (size ?? 4); i++) {
  const link: (typeof idle)[number] = { socket: net.connect(corePort, '127.0.0.1'), chunks: [] };
  link.socket.setNoDelay(true);
  link.socket.on('data', (chunk: Buffer) => {
    link.chunks.push(chunk);
    if (!chunk.includes('</RESULT>')) return;
    const answer = Buffer.concat(link.chunks);
    link.chunks = [];
    link.current!.done(answer);
    idle.push(link);
    pump();
  });
  idle.push(link);
}

const app = Fastify({ logger: false });
app.get('/webAPI.aspx', (request, reply) => {
  const { type, requestid } = request.query as Record<string, string>;
  queue.push({ xml: buildRequest(String(type).toUpperCase(), String(requestid)), done: (answer) => reply.type('text/xml; charset=utf-8').send(answer) });
  pump();
});
await app.listen({ host: '127.0.0.1', port: httpPort });
process.stdout.write('listening\n');
