/**
 * `node bare-file-server.js FILE PORT`: the least a Node program does to send one file over HTTP,
 * every request answered with the whole of FILE read in 1 MiB chunks, nothing else: no routing, no
 * lookup, no access control. `bench:export` measures it beside nginx and the gateway's cache hit,
 * so that the share of nginx's throughput Node itself can reach (it has no sendfile: every byte is
 * read into the process and written out of it) is known apart from what the gateway adds.
 */
import fs from 'node:fs';
import http from 'node:http';

const [file, port] = process.argv.slice(2);
if (!file || !port) throw new Error('usage: bare-file-server FILE PORT');
const size = fs.statSync(file).size;
const chunk = 1024 * 1024;

http
  .createServer((_request, response) => {
    fs.open(file, 'r', (error, fd) => {
      if (error) {
        response.statusCode = 500;
        return response.end();
      }
      response.writeHead(200, { 'content-type': 'audio/mpeg', 'content-length': size });
      let position = 0;
      const next = (): void => {
        if (position >= size) {
          fs.close(fd, () => undefined);
          response.end();
          return;
        }
        const buffer = Buffer.allocUnsafe(Math.min(chunk, size - position));
        fs.read(fd, buffer, 0, buffer.length, position, (readError, got) => {
          if (readError || got === 0) {
            fs.close(fd, () => undefined);
            return response.destroy();
          }
          position += got;
          if (response.write(buffer.subarray(0, got))) next();
          else response.once('drain', next);
        });
      };
      next();
    });
  })
  .listen(Number(port), '127.0.0.1');
