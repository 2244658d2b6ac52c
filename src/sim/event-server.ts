/**
 * The event port (5621): a client sends the EVENTS request, receives its RESULT, and from then on
 * every CALLCOPYEVENT of the class it asked for (ALL, CALL or RECORD), for the device named in
 * EVENTVALUE when it named one. A new EVENTS request on the same connection replaces the
 * subscription. A subscriber that stops reading is disconnected rather than buffered without bound.
 */
import net from 'node:net';
import { checkParams, isValidRequestId } from '../protocol/catalog.js';
import type { SubscriptionClass } from '../protocol/events.js';
import { FrameTooLargeError, MessageFramer } from '../protocol/framing.js';
import { ResultCode } from '../protocol/result-codes.js';
import { XmlSyntaxError, childText, element, parseXml, type XmlElement } from '../protocol/xml.js';
import type { CommandOutcome, SimContext } from './context.js';
import { knownCommand, renderResult, type CommandSet, type RequestHeader } from './dispatcher.js';
import type { PublishedEvent } from './event-bus.js';

export interface EventServerLimits {
  maxClients: number;
  maxMessageBytes: number;
  /** Bytes of events a subscriber may leave unread before it is dropped. */
  maxUnreadBytes: number;
  /** A subscription request left incomplete this long closes the connection. */
  incompleteMessageTimeoutMs: number;
}

interface Subscription {
  eventClass: SubscriptionClass;
  deviceId: string;
}

function decodeSubscription(text: string, commandSet: CommandSet): { header: RequestHeader; outcome: CommandOutcome; subscription?: Subscription } {
  let root: XmlElement;
  try {
    root = parseXml(text);
  } catch (error) {
    const reason = error instanceof XmlSyntaxError ? error.message : 'unreadable';
    return { header: { type: '', requestId: '' }, outcome: { code: ResultCode.API_INVALID_MESSAGE_FORMAT, message: `The request is not valid XML: ${reason}` } };
  }
  const rootName = root.name.toUpperCase();
  const type = (childText(root, 'TYPE') ?? childText(root, 'REQUESTTYPE') ?? (rootName !== 'REQUEST' ? rootName : '')).trim().toUpperCase().slice(0, 64);
  const requestId = (childText(root, 'REQUESTID') ?? '').trim().slice(0, 64);
  const header = { type, requestId };
  const fail = (code: number, message: string) => ({ header, outcome: { code, message } });
  const spec = knownCommand(type, commandSet);
  if (!isValidRequestId(requestId, spec?.minRequestId ?? 1)) {
    return fail(ResultCode.API_REQUESTID_INVALID, 'REQUESTID must be an integer from 0 to 2147483647');
  }
  if (spec?.servedBy !== 'event-port') {
    return spec
      ? fail(ResultCode.API_INVALID_REQUEST_TYPE, `The event port serves EVENTS only; send ${type} to the API port`)
      : fail(ResultCode.API_UNKNOWN_MESSAGE_TYPE, `Unknown message type ${type}`);
  }
  const params = new Map([
    ['EVENTCLASS', (childText(root, 'EVENTCLASS') ?? '').trim().toUpperCase() || 'ALL'],
    ['EVENTVALUE', (childText(root, 'EVENTVALUE') ?? '').trim()],
  ]);
  const [problem] = checkParams(spec, params);
  if (problem) {
    return fail(problem.param === 'EVENTCLASS' ? ResultCode.API_EVENT_TYPE_INVALID : ResultCode.API_INVALID_MESSAGE_FORMAT, problem.problem);
  }
  const eventClass = params.get('EVENTCLASS') as SubscriptionClass;
  return {
    header,
    outcome: {
      code: ResultCode.API_OK,
      message: 'API_OK',
      body: [element('EVENTXREF', '0'), element('EVENTCLASS', eventClass), element('EVENTTYPE', '')],
    },
    subscription: { eventClass, deviceId: params.get('EVENTVALUE')! },
  };
}

export function createEventServer(ctx: SimContext, limits: EventServerLimits): net.Server {
  const server = net.createServer({ noDelay: true }, (socket) => {
    socket.on('error', () => socket.destroy());
    server.getConnections((error, count) => {
      if (!error && count > limits.maxClients) {
        socket.end(renderResult({ type: '', requestId: '' }, { code: ResultCode.API_TOO_MANY_CLIENTS, message: `More than ${limits.maxClients} clients are connected` }, ctx));
        return;
      }
      serveSubscriber(socket, ctx, limits);
    });
  });
  return server;
}

function serveSubscriber(socket: net.Socket, ctx: SimContext, limits: EventServerLimits): void {
  const framer = new MessageFramer(limits.maxMessageBytes);
  let unsubscribe: (() => void) | undefined;
  let incompleteTimer: NodeJS.Timeout | undefined;

  const deliver = (subscription: Subscription) => (event: PublishedEvent): void => {
    if (subscription.eventClass !== 'ALL' && subscription.eventClass !== event.eventClass) return;
    if (subscription.deviceId && subscription.deviceId !== event.deviceId) return;
    if (socket.writableLength > limits.maxUnreadBytes) {
      socket.destroy();
      return;
    }
    socket.write(event.xml);
  };

  socket.on('data', (chunk: Buffer) => {
    let frames;
    try {
      frames = framer.push(chunk);
    } catch (error) {
      // Whatever else goes wrong with one client's bytes ends that connection, never the process.
      if (!(error instanceof FrameTooLargeError)) {
        socket.destroy();
        return;
      }
      socket.end(renderResult({ type: '', requestId: '' }, { code: ResultCode.API_INVALID_MESSAGE_FORMAT, message: `The message exceeds ${limits.maxMessageBytes} bytes` }, ctx));
      return;
    }
    clearTimeout(incompleteTimer);
    if (framer.pendingBytes > 0) {
      incompleteTimer = setTimeout(() => socket.destroy(), limits.incompleteMessageTimeoutMs);
      incompleteTimer.unref();
    }
    for (const frame of frames) {
      if (frame.kind === 'garbage') {
        socket.write(renderResult({ type: '', requestId: '' }, { code: ResultCode.API_INVALID_MESSAGE_FORMAT, message: 'The request is not XML' }, ctx));
        continue;
      }
      const { header, outcome, subscription } = decodeSubscription(frame.bytes.toString('utf8'), ctx.options);
      socket.write(renderResult(header, outcome, ctx));
      if (subscription) {
        unsubscribe?.();
        unsubscribe = ctx.events.subscribe(deliver(subscription));
      }
    }
  });
  socket.on('close', () => {
    clearTimeout(incompleteTimer);
    unsubscribe?.();
  });
}
