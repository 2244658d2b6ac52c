/** The baseline of the WebAPI benchmark: the smallest Fastify server, on the port given as argument. */
import Fastify from 'fastify';

const app = Fastify({ logger: false });
app.get('/', async () => 'hello world');
await app.listen({ host: '127.0.0.1', port: Number(process.argv[2] ?? 0) });
process.stdout.write('listening\n');
