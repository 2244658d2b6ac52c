/**
 * The subscription to the event port against a scripted event port on loopback: the EVENTS request
 * it sends, events framed however they arrive, what it skips, what makes it reconnect (and how
 * gently), and close().
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { CoreEventSubscription, type CoreEventsOptions } from '../../src/core/events.js';
import type { EventRecord, FeedEndReason, FeedListener, UpstreamState } from '../../src/core/event-feed.js';
import { MessageFramer } from '../../src/protocol/framing.js';
import { buildEvent, buildResult, childText, parseXml } from '../../src/protocol/xml.js';

/** An event port whose behaviour the test writes: `onRequest` answers each request of a connection. */
class ScriptedEventPort {
  readonly requests: string[] = [];
  readonly sockets = new Set<net.Socket>();
  accepted = 0;
  onRequest: (socket: net.Socket, xml: string) => void = (socket) => socket.write(subscribed());

  private constructor(private readonly server: net.Server) {}

  static async start(port = 0): Promise<ScriptedEventPort> {
    const server = net.createServer();
    const core = new ScriptedEventPort(server);
    server.on('connection', (socket) => {
      core.accepted++;
      core.sockets.add(socket);
      socket.on('close', () => core.sockets.delete(socket));
      socket.on('error', () => undefined);
      const framer = new MessageFramer();
      socket.on('data', (chunk: Buffer) => {
        for (const frame of framer.push(chunk)) {
          const xml = frame.bytes.toString('utf8');
          core.requests.push(xml);
          core.onRequest(socket, xml);
        }
      });
    });
    server.listen(port, '127.0.0.1');
    await once(server, 'listening');
    return core;
  }

  get port(): number {
    return (this.server.address() as net.AddressInfo).port;
  }

  /** Write to every subscriber. */
  broadcast(bytes: string | Buffer): void {
    for (const socket of this.sockets) socket.write(bytes);
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    this.server.close();
    if (this.server.listening) await once(this.server, 'close');
  }
}

function subscribed(code = 20, message = 'API_OK'): string {
  return buildResult({ requestType: 'EVENTS', requestId: 0, resultType: code === 20 ? 'API_OK' : 'API_EVENT_TYPE_INVALID', resultCode: code, resultMessage: message });
}

function callStart(deviceId: string, xref = 1): string {
  return buildEvent({ eventClass: 'CALL', eventType: 'CALLSTART', module: 'Api', eventXref: xref }, [['DEVICEID', deviceId], ['USER1', 'u']]);
}

class Collector implements FeedListener {
  readonly records: EventRecord[] = [];
  readonly states: UpstreamState[] = [];
  ended: FeedEndReason | undefined;
  private waiters: (() => void)[] = [];
  deliver(record: EventRecord): boolean {
    this.records.push(record);
    this.wake();
    return true;
  }
  gap(): void {}
  upstream(state: UpstreamState): void {
    this.states.push(state);
    this.wake();
  }
  end(reason: FeedEndReason): void {
    this.ended = reason;
  }
  private wake(): void {
    for (const wake of this.waiters.splice(0)) wake();
  }
  async until(ready: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!ready()) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no ${what} within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(left, 50));
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }
  get types(): string[] {
    return this.records.map((r) => r.type);
  }
}

const cleanups: (() => Promise<void>)[] = [];
after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

async function setUp(options: Partial<CoreEventsOptions> = {}, port?: ScriptedEventPort): Promise<{ core: ScriptedEventPort; subscription: CoreEventSubscription; listener: Collector }> {
  const core = port ?? (await ScriptedEventPort.start());
  const subscription = new CoreEventSubscription({
    host: '127.0.0.1',
    port: core.port,
    connectTimeoutMs: 2000,
    subscribeTimeoutMs: 2000,
    backoffInitialMs: 20,
    backoffMaxMs: 200,
    feed: { capacity: 100, maxBytes: 1e6, maxListeners: 10 },
    ...options,
  });
  cleanups.push(() => subscription.close(), () => core.close());
  const listener = new Collector();
  subscription.listen(listener);
  return { core, subscription, listener };
}

describe('CoreEventSubscription', () => {
  test("subscribes with the manual's EVENTS request: REQUESTID 0, EVENTCLASS ALL, every device; only once listened to", async () => {
    const core = await ScriptedEventPort.start();
    const idle = new CoreEventSubscription({ host: '127.0.0.1', port: core.port, connectTimeoutMs: 1000, subscribeTimeoutMs: 1000, feed: { capacity: 10, maxBytes: 1e6, maxListeners: 10 } });
    await sleep(100);
    assert.equal(core.accepted, 0, 'no connection before the first listener');
    await idle.close();
    const { listener, subscription } = await setUp({}, core);
    await listener.until(() => listener.states.includes('up'), 'up');
    assert.deepEqual(listener.states, ['connecting', 'up']);
    const request = parseXml(core.requests[0]!);
    assert.equal(request.name, 'REQUEST');
    assert.equal(childText(request, 'TYPE'), 'EVENTS');
    assert.equal(childText(request, 'REQUESTID'), '0');
    assert.equal(childText(request, 'EVENTCLASS'), 'ALL');
    assert.equal(childText(request, 'EVENTVALUE'), '');
    // More listeners: still one connection.
    for (let i = 0; i < 5; i++) subscription.listen(new Collector());
    await sleep(100);
    assert.equal(core.accepted, 1);
    assert.equal(subscription.stats.connections, 1);
  });

  test('frames events however they arrive: split byte by byte, several in one chunk, without CRLF', async () => {
    const { core, listener } = await setUp();
    await listener.until(() => listener.states.includes('up'), 'up');
    const one = Buffer.from(callStart('1'));
    for (const byte of one) {
      core.broadcast(Buffer.from([byte]));
      await sleep(0);
    }
    core.broadcast(callStart('2').trimEnd() + callStart('3') + callStart('4'));
    await listener.until(() => listener.records.length === 4, 'four events');
    assert.deepEqual(listener.records.map((r) => r.deviceId), ['1', '2', '3', '4']);
    const ids = listener.records.map((r) => r.id);
    assert.deepEqual(ids, ids.map((_, i) => ids[0]! + i), 'ids increase by one');
    const json = JSON.parse(listener.records[0]!.json) as { id: number; type: string; data: Record<string, string> };
    assert.equal(json.id, ids[0]);
    assert.equal(json.type, 'CALLSTART');
    assert.deepEqual(json.data, { deviceId: '1', user1: 'u' });
  });

  test('skips what is not a readable event, counts it, and keeps the subscription', async () => {
    const { core, listener, subscription } = await setUp();
    const skipped: string[] = [];
    subscription.on('unreadable', (reason) => skipped.push(reason.message));
    await listener.until(() => listener.states.includes('up'), 'up');
    core.broadcast('this is not xml\r\n');
    core.broadcast('<CALLCOPYEVENT><EVENTTYPE>CALL START</EVENTTYPE></CALLCOPYEVENT>');
    core.broadcast('<CALLCOPYEVENT><EVENTTYPE>CALLSTART\nevent: forged</EVENTTYPE></CALLCOPYEVENT>');
    core.broadcast(`<CALLCOPYEVENT>${'<A>'.repeat(50)}</CALLCOPYEVENT>`);
    core.broadcast(subscribed());
    core.broadcast(buildEvent({ eventClass: 'RECORD', eventType: ' RECORDINGPAUSED', module: 'Api', eventXref: 0 }, [['DEVICEID', '1111']]));
    await listener.until(() => listener.records.length === 1, 'the readable event');
    assert.equal(listener.records[0]!.type, 'RECORDINGPAUSED');
    assert.equal(subscription.stats.unreadable, 5);
    assert.equal(skipped.length, 5);
    assert.equal(subscription.stats.connections, 1);
    assert.equal(subscription.upstream, 'up');
  });

  test('a message past maxMessageBytes costs the connection; the next one subscribes again', async () => {
    const { core, listener, subscription } = await setUp({ maxMessageBytes: 4096 });
    await listener.until(() => listener.states.includes('up'), 'up');
    core.broadcast(buildEvent({ eventClass: 'CALL', eventType: 'CALLSTART', module: 'Api', eventXref: 0 }, [['USER1', 'x'.repeat(5000)]]));
    await listener.until(() => subscription.stats.connections === 2 && subscription.upstream === 'up', 'a second subscription');
    assert.deepEqual(listener.states, ['connecting', 'up', 'down', 'up']);
    core.broadcast(callStart('after'));
    await listener.until(() => listener.records.length === 2, 'an event on the new connection');
    // First, the window in which the core's events reached nobody.
    assert.equal(listener.records[0]!.type, 'gap');
    const window = JSON.parse(listener.records[0]!.json) as { from: string; to: string };
    assert.ok(Date.parse(window.from) <= Date.parse(window.to));
    assert.equal(listener.records[1]!.deviceId, 'after');
  });

  test('a refused EVENTS or one never answered is a failure: down, then retried with backoff', async () => {
    const core = await ScriptedEventPort.start();
    core.onRequest = (socket) => socket.write(subscribed(30, 'EVENTCLASS is invalid'));
    const downs: string[] = [];
    const { listener, subscription } = await setUp({ backoffInitialMs: 50, backoffMaxMs: 400 }, core);
    subscription.on('down', (reason) => downs.push(reason.message));
    await listener.until(() => core.accepted >= 3, 'three attempts');
    assert.equal(subscription.upstream, 'down');
    assert.match(downs[0]!, /refused EVENTS: RESULTCODE 30 EVENTCLASS is invalid/);
    assert.equal(downs.length, 1, "'down' once per outage, not once per attempt");
    // Backoff: 25-50 ms, 50-100, 100-200, 200-400, then at most 400: a handful of attempts in a second.
    const before = core.accepted;
    await sleep(1000);
    assert.ok(core.accepted - before <= 6, `${core.accepted - before} attempts in a second`);

    core.onRequest = () => undefined;
    const silent = await setUp({ subscribeTimeoutMs: 100 }, await ScriptedEventPort.start());
    silent.core.onRequest = () => undefined;
    await silent.listener.until(() => silent.listener.states.includes('down'), 'down after the subscribe timeout');
    assert.equal(silent.subscription.stats.upstream, 'down');
    core.onRequest = (socket) => socket.write(subscribed());
    await listener.until(() => subscription.upstream === 'up', 'up once the core accepts');
  });

  test('no event port listening: down at once, and up when one starts on that port', async () => {
    const probe = await ScriptedEventPort.start();
    const port = probe.port;
    await probe.close();
    const subscription = new CoreEventSubscription({
      host: '127.0.0.1',
      port,
      connectTimeoutMs: 1000,
      subscribeTimeoutMs: 1000,
      backoffInitialMs: 20,
      backoffMaxMs: 100,
      feed: { capacity: 10, maxBytes: 1e6, maxListeners: 10 },
    });
    cleanups.push(() => subscription.close());
    const listener = new Collector();
    subscription.listen(listener);
    await listener.until(() => listener.states.includes('down'), 'down');
    const core = await ScriptedEventPort.start(port);
    cleanups.push(() => core.close());
    await listener.until(() => listener.states.at(-1) === 'up', 'up');
    core.broadcast(callStart('back'));
    await listener.until(() => listener.records.length === 1, 'an event');
  });

  test('close() while connected or backing off ends every listener and leaves no socket', async () => {
    const { core, listener, subscription } = await setUp();
    await listener.until(() => listener.states.includes('up'), 'up');
    await subscription.close();
    assert.equal(listener.ended, 'closing');
    await listener.until(() => core.sockets.size === 0, 'the core to see the close');
    assert.equal(subscription.listen(new Collector()), undefined, 'no listening after close');
    await sleep(100);
    assert.equal(core.accepted, 1, 'no reconnection after close');
  });
});
