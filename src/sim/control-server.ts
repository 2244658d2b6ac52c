/**
 * The control port: an HTTP/JSON side door, off unless `--control-port` is given and bound to
 * loopback by default, through which tests (and people) take cores down, inject faults, move the
 * clock and read the requests the core received. It is not part of the product and is never
 * reachable through the API port, so no API client can switch the core off.
 *
 *   GET    /state                 cores, faults, clock offset, connections
 *   PUT    /cores/{ident}         {"up": false}
 *   POST   /faults                {"kind": "delay", "type": "CALLSTART", "delayMs": 500, "times": 1}
 *   DELETE /faults
 *   POST   /clock                 {"advanceMs": 60000}
 *   GET    /requests              the last requests received on the API port
 *   DELETE /events/subscribers    cut every connection to the event port (a flapping network)
 */
import http from 'node:http';
import type { Clock, CoreRoster } from './context.js';
import type { FaultPlan, FaultRule } from './faults.js';
import type { RequestLog } from './api-server.js';

export interface ControlTargets {
  cores: CoreRoster;
  faults: FaultPlan;
  clock: Clock;
  requests: RequestLog;
  connections: () => Promise<{ api: number; events: number }>;
  /** Cuts every connection to the event port; how many there were. */
  dropEventSubscribers: () => Promise<number>;
}

const maxBodyBytes = 64 * 1024;

async function readJson(req: http.IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > maxBodyBytes) throw new Error('body too large');
    chunks.push(chunk as Buffer);
  }
  if (size === 0) return {};
  const value: unknown = JSON.parse(Buffer.concat(chunks).toString('utf8'));
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error('expected a JSON object');
  return value as Record<string, unknown>;
}

export function createControlServer(targets: ControlTargets): http.Server {
  return http.createServer((req, res) => {
    const reply = (status: number, body: unknown): void => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    void (async () => {
      const url = new URL(req.url ?? '/', 'http://control');
      const method = req.method ?? 'GET';
      if (method === 'GET' && url.pathname === '/state') {
        return reply(200, {
          cores: targets.cores.idents.map((ident) => ({ ident, up: targets.cores.isUp(ident) })),
          faults: targets.faults.list(),
          clockOffsetMs: targets.clock.offset,
          connections: await targets.connections(),
        });
      }
      const core = /^\/cores\/(\d+)$/.exec(url.pathname);
      if (method === 'PUT' && core) {
        const body = await readJson(req);
        if (typeof body.up !== 'boolean') return reply(400, { error: 'body must be {"up": true|false}' });
        targets.cores.setUp(Number(core[1]), body.up);
        return reply(200, { ident: Number(core[1]), up: body.up });
      }
      if (url.pathname === '/faults' && method === 'POST') return reply(201, targets.faults.add((await readJson(req)) as unknown as FaultRule));
      if (url.pathname === '/faults' && method === 'DELETE') {
        targets.faults.clear();
        return reply(200, { faults: [] });
      }
      if (url.pathname === '/clock' && method === 'POST') {
        const body = await readJson(req);
        if (typeof body.advanceMs !== 'number' || !Number.isFinite(body.advanceMs)) return reply(400, { error: 'body must be {"advanceMs": number}' });
        targets.clock.advance(body.advanceMs);
        return reply(200, { clockOffsetMs: targets.clock.offset });
      }
      if (method === 'GET' && url.pathname === '/requests') return reply(200, targets.requests.list());
      if (method === 'DELETE' && url.pathname === '/events/subscribers') return reply(200, { dropped: await targets.dropEventSubscribers() });
      return reply(404, { error: `no ${method} ${url.pathname}` });
    })().catch((error: unknown) => reply(400, { error: error instanceof Error ? error.message : String(error) }));
  });
}
