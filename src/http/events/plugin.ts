/**
 * `GET /api/v1/events`: the XML core's CALLCOPYEVENTs as Server-Sent Events, in the JSON form of
 * protocol/event-json, filtered by class, type and device, resumable with Last-Event-ID. The format
 * of the stream is described in ./stream.ts.
 *
 * When the core's event port cannot be reached, the stream still opens (200) and says so with a
 * `status` event, then carries events once the subscription is back. A 503 would be final for a
 * browser: EventSource gives up for good on any status but 200, while an open stream lets it ride
 * out a core restart. 503 is kept for what a retry later does fix: the listener bound, shutdown.
 */
import { callerKey, refusal } from '../access/plugin.js';
import type { FastifyPluginAsync } from 'fastify';
import { findCommand, findParam } from '../../protocol/catalog.js';
import { eventSpecs } from '../../protocol/events.js';
import { eventIdPattern, restEventSelection, type EventsQuery } from './selection.js';
import { eventStreamType, type EventStreams } from './stream.js';
import { problemMediaType, sendErrorProblem, sendProblem } from '../rest/problem.js';
import { problemSchema } from '../rest/schemas.js';
import { ResultCode } from '../../protocol/result-codes.js';
import { maxTicketLength, type EventTickets } from '../../access/event-tickets.js';

export interface EventsPluginOptions {
  streams: EventStreams;
  /** Event tickets (POST /api/v1/events/tickets); without it, that route is not served. */
  tickets?: EventTickets | undefined;
}

export const eventsPath = '/api/v1/events';

/** The longest device filter: what the event port takes as EVENTVALUE. */
const maxDeviceIdLength = findParam(findCommand('EVENTS')!, 'EVENTVALUE')?.maxLength ?? 64;
const eventTypes = eventSpecs.map((spec) => spec.type);
const eventClasses = [...new Set(eventSpecs.map((spec) => spec.eventClass))];


export const eventsRouteSchema = {
  summary: 'Live events of the XML core (Server-Sent Events)',
  'x-scopes': ['events'],
  description:
    'A text/event-stream of the CALLCOPYEVENTs of the XML core as JSON: each message has the event type as its event name, ' +
    'an increasing id, and as data {id, type, eventClass, module, eventXref, receivedAt, times, data}. ' +
    'A `status` event tells whether the core\'s event port is up; a `gap` event says that events after Last-Event-ID ' +
    `are no longer held. Event types: ${eventTypes.join(', ')}.`,
  tags: ['events'],
  operationId: 'getEvents',
  produces: [eventStreamType],
  querystring: {
    type: 'object',
    additionalProperties: false,
    properties: {
      class: { type: 'string', enum: [...eventClasses, ...eventClasses.map((c) => c.toLowerCase())], description: 'Only events of this class.' },
      type: {
        type: 'string',
        maxLength: 512,
        pattern: '^[A-Za-z_]+( *, *[A-Za-z_]+)*$',
        description: `Only events of these types, comma-separated: ${eventTypes.join(', ')}.`,
      },
      deviceId: { type: 'string', minLength: 1, maxLength: maxDeviceIdLength, description: 'Only events of this device (DEVICEID).' },
      ticket: {
        type: 'string',
        maxLength: maxTicketLength,
        description:
          'An event ticket (POST /api/v1/events/tickets) instead of a credential, for EventSource, which cannot send one: good once, within its lifetime. ' +
          'EventSource reconnects with the same URL, which a used ticket no longer opens (403, and EventSource stops): get a new ticket and open the stream again with lastEventId.',
      },
      lastEventId: {
        type: 'string',
        pattern: eventIdPattern,
        description: 'Resume after this event id, for clients that cannot send the Last-Event-ID header (the header wins).',
      },
    },
  },
  headers: {
    type: 'object',
    properties: {
      'last-event-id': { type: 'string', pattern: eventIdPattern, description: 'Resume after this event id (sent by EventSource when it reconnects).' },
    },
  },
  response: {
    200: {
      description: 'The event stream; it stays open until the client or the gateway ends it.',
      content: {
        [eventStreamType]: {
          schema: { type: 'string' },
          example:
            'event: CALLSTART\nid: 1795441469000001\ndata: {"id":1795441469000001,"type":"CALLSTART","eventClass":"CALL","module":"Api","data":{"deviceId":"1111"}}\n\n',
        },
      },
    },
    // Media types named, or OpenAPI would give these the route's text/event-stream.
    400: { description: 'A filter names no event type, or a bad event id.', content: { [problemMediaType]: { schema: problemSchema } } },
    429: {
      description: 'This caller (its credential, or its address without one) has as many streams open as it may (EVENTS_MAX_PER_CREDENTIAL).',
      content: { [problemMediaType]: { schema: problemSchema } },
    },
    403: {
      description: 'The credential lacks the events scope, or the ticket is not valid, has expired or was used already.',
      content: { [problemMediaType]: { schema: problemSchema } },
    },
    503: {
      description: 'Too many listeners, or the gateway is shutting down. Retry after Retry-After seconds.',
      content: { [problemMediaType]: { schema: problemSchema } },
    },
  },
};

export const eventTicketsPath = '/api/v1/events/tickets';

const ticketRouteSchema = {
  summary: 'A ticket that opens the event stream once, for EventSource',
  description:
    'EventSource cannot send a credential, and a key or token never goes in a URL: ask for a ticket with the credential, then open ' +
    '`GET /api/v1/events?ticket=<ticket>` (with any other filter). The ticket opens one stream, once, within 30 seconds, in the name and with the stream share of the credential that asked for it. ' +
    'It is signed with LINK_SIGNING_KEY: any gateway with that key verifies it; that it was used is recorded in Redis with REDIS_URL (one stream across the replicas), else by the gateway that opened the stream.' +
    '\n\nNeeds the scope `events` (or `*`).',
  'x-scopes': ['events'],
  tags: ['events'],
  operationId: 'postEventsTickets',
  response: {
    201: {
      description: 'The ticket.',
      content: {
        'application/json': {
          schema: {
            type: 'object',
            required: ['ticket', 'expiresAt'],
            additionalProperties: false,
            properties: {
              ticket: { type: 'string', maxLength: maxTicketLength, description: 'Put it in the stream URL as ticket=, percent-encoded (it holds only URL-safe characters).' },
              expiresAt: { type: 'string', format: 'date-time' },
            },
          },
          example: { ticket: 'k3Jd8sQa.eyJuIjoiY3JtIiwiayI6ImtleSIs....Zq3', expiresAt: '2026-11-23T05:33:10.000Z' },
        },
      },
    },
    401: { description: 'No credential, or one that is not valid.', content: { [problemMediaType]: { schema: problemSchema } } },
    403: { description: 'The credential lacks the events scope.', content: { [problemMediaType]: { schema: problemSchema } } },
  },
};

export const eventsPlugin: FastifyPluginAsync<EventsPluginOptions> = async (app, { streams, tickets }) => {
  app.setErrorHandler(sendErrorProblem);
  if (tickets) {
    app.post(eventTicketsPath, { schema: ticketRouteSchema, config: { access: 'rest' } }, (request, reply) => {
      const refused = refusal(request, 'events');
      if (refused) return sendProblem(reply, refused.status, { resultCode: ResultCode.API_COMMAND_NOT_ALLOWED, detail: refused.message });
      const { ticket, expiresAt } = tickets.issue(request.principal!);
      return reply.code(201).send({ ticket, expiresAt: expiresAt.toISOString() });
    });
  }
  app.get<{ Querystring: EventsQuery }>(eventsPath, { schema: eventsRouteSchema, config: { access: 'events' } }, (request, reply) => {
    const refused = refusal(request, 'events', { type: 'EVENTS', spec: findCommand('EVENTS'), params: new Map() });
    if (refused) return sendProblem(reply, refused.status, { resultCode: ResultCode.API_COMMAND_NOT_ALLOWED, detail: refused.message });
    const selection = restEventSelection(request.query, request.headers['last-event-id']);
    if ('problem' in selection) {
      return sendProblem(reply, 400, { resultCode: ResultCode.API_INVALID_MESSAGE_FORMAT, detail: selection.problem });
    }
    return streams.serve(
      reply,
      selection,
      (reason) =>
        reason === 'caller'
          ? sendProblem(reply.header('retry-after', '5'), 429, {
              resultCode: ResultCode.API_TOO_MANY_CLIENTS,
              detail: 'This caller has as many event streams open as it may; close one first.',
            })
          : sendProblem(reply.header('retry-after', '5'), 503, {
              resultCode: ResultCode.API_TOO_MANY_CLIENTS,
              detail: 'The gateway serves no more event streams now; try again later.',
            }),
      callerKey(request),
    );
  });
};
