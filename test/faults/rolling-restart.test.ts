/**
 * A rolling restart behind a real load balancer: two gateway processes behind haproxy (checking
 * /readyz, as an orchestrator's load balancer does), callers sending all the while over keep-alive
 * connections, each gateway stopped with SIGTERM and started again in turn. Not one request fails.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { startCoreProcess, type CoreProcess } from '../http/core-process.js';
import { startGatewayProgram, type GatewayProgram } from '../http/gateway-program.js';

const haproxy = '/usr/sbin/haproxy';

/** A port free now, for a process that must listen on a known one (haproxy's backends are written down). */
async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

const cleanups: (() => Promise<void> | void)[] = [];
after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

test('a rolling restart of two gateways behind haproxy under load costs no request', { skip: !fs.existsSync(haproxy) && 'haproxy is not installed', timeout: 120_000 }, async () => {
  const core: CoreProcess = await startCoreProcess([]);
  cleanups.push(() => core.stop());
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rolling-restart-'));
  cleanups.push(() => fs.rmSync(dir, { recursive: true, force: true }));
  const ports = [await freePort(), await freePort()];
  const front = await freePort();
  const start = (replica: number): Promise<GatewayProgram> =>
    startGatewayProgram({
      PORT: String(ports[replica]),
      CORE_HOST: core.host,
      CORE_PORT: String(core.port),
      CORE_EVENT_PORT: String(core.eventPort),
      GATEWAY_DATA_DIR: path.join(dir, `replica-${replica}`),
      // Longer than haproxy needs to see /readyz fail (two checks 200 ms apart).
      SHUTDOWN_DELAY_MS: '1000',
      RATE_LIMIT_MAX: '0',
    });
  const replicas = [await start(0), await start(1)];
  cleanups.push(() => {
    for (const replica of replicas) replica.child.kill('SIGKILL');
  });

  const config = path.join(dir, 'haproxy.cfg');
  fs.writeFileSync(
    config,
    [
      'global',
      '  maxconn 1000',
      'defaults',
      '  mode http',
      '  timeout connect 2s',
      '  timeout client 30s',
      '  timeout server 30s',
      '  option http-keep-alive',
      'frontend gateways',
      `  bind 127.0.0.1:${front}`,
      '  default_backend replicas',
      'backend replicas',
      '  balance roundrobin',
      '  option httpchk GET /readyz',
      '  http-check expect status 200',
      ...ports.map((port, i) => `  server replica${i} 127.0.0.1:${port} check inter 200 fall 1 rise 1`),
      '',
    ].join('\n'),
  );
  const balancer: ChildProcess = spawn(haproxy, ['-db', '-f', config], { stdio: ['ignore', 'ignore', 'pipe'] });
  let balancerLog = '';
  balancer.stderr!.on('data', (chunk: Buffer) => (balancerLog += chunk.toString()));
  cleanups.push(() => {
    balancer.kill('SIGKILL');
  });
  const url = `http://127.0.0.1:${front}`;
  // haproxy's first checks.
  for (let ready = false, deadline = Date.now() + 10_000; !ready; ) {
    assert.ok(Date.now() < deadline, `haproxy did not serve: ${balancerLog}`);
    ready = await fetch(`${url}/readyz`).then((r) => r.status === 200, () => false);
    if (!ready) await new Promise((r) => setTimeout(r, 100));
  }

  // Callers over keep-alive connections (fetch keeps them), as integrations run: every answer is checked.
  let running = true;
  let sent = 0;
  const failures: string[] = [];
  const caller = async (n: number): Promise<void> => {
    for (let i = 0; running; i++) {
      const requestId = (n * 1_000_000 + i + 1) % 2147483647;
      sent++;
      try {
        const response = await fetch(`${url}/webAPI.aspx?type=test&requestid=${requestId}`);
        const body = await response.text();
        if (response.status !== 200 || !body.includes(`<REQUESTID>${requestId}</REQUESTID>`) || !body.includes('API_OK')) {
          failures.push(`${response.status} ${body.slice(0, 200)}`);
        }
      } catch (error) {
        failures.push(String((error as Error).cause ?? error));
      }
    }
  };
  const callers = Array.from({ length: 8 }, (_, n) => caller(n));

  for (const replica of [0, 1]) {
    await new Promise((r) => setTimeout(r, 500));
    const stopping = replicas[replica]!;
    stopping.child.kill('SIGTERM');
    assert.equal(await stopping.exited, 0, stopping.log());
    replicas[replica] = await start(replica);
    // Back in haproxy's rotation before the other one goes.
    await new Promise((r) => setTimeout(r, 800));
  }
  await new Promise((r) => setTimeout(r, 500));
  running = false;
  await Promise.all(callers);

  assert.ok(sent > 500, `the load ran through both restarts (${sent} requests)`);
  assert.deepEqual(failures.slice(0, 5), [], `${failures.length} of ${sent} requests failed`);
});
