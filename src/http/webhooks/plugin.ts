/**
 * `/api/v1/webhooks`: the REST surface of webhooks/ (subscriptions, their secrets, test events,
 * deliveries and redelivery), for callers with the scope `admin`. The rules live in webhooks/; this
 * adapts them to JSON bodies, schemas (which also make the OpenAPI document) and problem+json.
 */
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { ResultCode } from '../../protocol/result-codes.js';
import {
  deliveryIdPattern,
  keptDelivered,
  maxDescriptionLength,
  maxDeviceIdLength,
  maxSubscriptions,
  maxUrlLength,
  subscribableEventTypes,
  subscriptionIdPattern,
  type DeliveryStatus,
} from '../../webhooks/subscription.js';
import { WebhookError, type SubscriptionInput, type WebhookProblem, type Webhooks } from '../../webhooks/webhooks.js';
import { refusal } from '../access/plugin.js';
import { sendErrorProblem, sendProblem } from '../rest/problem.js';
import { problemSchemaRef } from '../rest/schemas.js';

export interface WebhookRoutesOptions {
  webhooks: Webhooks;
}

export const webhooksPath = '/api/v1/webhooks';

const problem = (description: string) => ({ description, content: { 'application/problem+json': { schema: problemSchemaRef } } });
const refusals = {
  401: problem('No credential, or one that is not valid.'),
  403: problem('The credential lacks the admin scope.'),
  503: problem("The webhooks' store (Redis) cannot be reached now; try again after Retry-After."),
};
const needsAdmin = '\n\nNeeds the scope `admin` (or `*`).';

const exampleWebhook = {
  id: 'wh_3uY0dQn7mB1xK2pL',
  url: 'https://crm.example.com/hooks/recordings',
  eventTypes: ['CALLSTOP', 'RECORDINGSTOPPED'],
  deviceId: null,
  description: 'Attach recordings to CRM tickets',
  enabled: true,
  disabledReason: null,
  createdAt: '2026-12-05T10:00:00.000Z',
  updatedAt: '2026-12-05T10:00:00.000Z',
  previousSecretExpiresAt: null,
};

const exampleDelivery = {
  id: 'dlv_Q2kR7pW1xN5mT8vB',
  eventId: 1795441799297000,
  eventType: 'RECORDINGSTOPPED',
  webhookId: 'msg_1795441799297000',
  status: 'retrying',
  attempts: 2,
  responseStatus: 503,
  lastError: 'the endpoint answered 503',
  nextAttemptAt: '2026-12-05T10:35:05.000Z',
  createdAt: '2026-12-05T10:00:00.000Z',
  updatedAt: '2026-12-05T10:05:05.000Z',
};

const webhookSchema = {
  type: 'object',
  required: ['id', 'url', 'eventTypes', 'deviceId', 'description', 'enabled', 'disabledReason', 'createdAt', 'updatedAt', 'previousSecretExpiresAt'],
  additionalProperties: false,
  properties: {
    id: { type: 'string', pattern: subscriptionIdPattern },
    url: { type: 'string', description: 'Where deliveries are POSTed.' },
    eventTypes: { type: 'array', items: { type: 'string', enum: subscribableEventTypes }, description: 'The event types delivered; empty: all. A gap is delivered whatever they are.' },
    deviceId: { type: ['string', 'null'], description: 'Only events of this device; null: every device.' },
    description: { type: 'string' },
    enabled: { type: 'boolean' },
    disabledReason: { type: ['string', 'null'], enum: ['gone', 'admin', null], description: 'Why it is off: its endpoint answered 410 Gone, or an administrator turned it off.' },
    createdAt: { type: 'string', format: 'date-time' },
    updatedAt: { type: 'string', format: 'date-time' },
    previousSecretExpiresAt: { type: ['string', 'null'], format: 'date-time', description: 'After a rotation, when the previous secret stops signing (deliveries carry both signatures until then).' },
  },
} as const;

const secretSchema = {
  type: 'string',
  pattern: '^whsec_[A-Za-z0-9+/=]{32,}$',
  description: 'The signing secret (Standard Webhooks): shown here only. Verify each delivery with it.',
} as const;

const deliverySchema = {
  type: 'object',
  required: ['id', 'eventId', 'eventType', 'webhookId', 'status', 'attempts', 'responseStatus', 'lastError', 'nextAttemptAt', 'createdAt', 'updatedAt'],
  additionalProperties: false,
  properties: {
    id: { type: 'string', pattern: deliveryIdPattern },
    eventId: { type: ['integer', 'null'], description: 'The event id (as on /api/v1/events); null for a test event.' },
    eventType: { type: 'string' },
    webhookId: { type: 'string', description: 'The webhook-id header: the same on every attempt and redelivery of the message.' },
    status: { type: 'string', enum: ['pending', 'retrying', 'delivered', 'failed'], description: 'failed: dead-lettered after its last attempt (or a full queue).' },
    attempts: { type: 'integer', minimum: 0 },
    responseStatus: { type: ['integer', 'null'], description: 'The HTTP status of the last answer.' },
    lastError: { type: ['string', 'null'] },
    nextAttemptAt: { type: ['string', 'null'], format: 'date-time' },
    createdAt: { type: 'string', format: 'date-time' },
    updatedAt: { type: 'string', format: 'date-time' },
  },
} as const;

const fields = {
  url: { type: 'string', minLength: 1, maxLength: maxUrlLength, description: 'http(s) URL without credentials, resolving to public addresses only (unless WEBHOOK_ALLOW_PRIVATE=true).' },
  eventTypes: {
    type: 'array',
    uniqueItems: true,
    maxItems: subscribableEventTypes.length,
    items: { type: 'string', enum: subscribableEventTypes },
    description: `Event types to deliver (${subscribableEventTypes.join(', ')}); empty or left out: all.`,
  },
  deviceId: { type: ['string', 'null'], minLength: 1, maxLength: maxDeviceIdLength, description: 'Only events of this device (DEVICEID).' },
  description: { type: 'string', maxLength: maxDescriptionLength },
  enabled: { type: 'boolean', description: 'Off: nothing is queued or sent; deliveries already queued wait, and go out in order once it is on again.' },
} as const;

const idParams = {
  type: 'object',
  required: ['id'],
  additionalProperties: false,
  properties: { id: { type: 'string', pattern: subscriptionIdPattern, examples: [exampleWebhook.id] } },
} as const;

const json = (schema: object, example: unknown) => ({ content: { 'application/json': { schema, example } } });

const one = { type: 'object', required: ['webhook'], additionalProperties: false, properties: { webhook: webhookSchema } } as const;
const withSecret = { type: 'object', required: ['webhook', 'secret'], additionalProperties: false, properties: { webhook: webhookSchema, secret: secretSchema } } as const;
const aDelivery = { type: 'object', required: ['delivery'], additionalProperties: false, properties: { delivery: deliverySchema } } as const;
const exampleSecret = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';

const schemas = {
  create: {
    summary: 'Subscribe a URL to the events',
    description:
      'Events of the types asked for (all when none is named) are POSTed to the URL as JSON, the same object the event stream sends as data, signed per Standard Webhooks ' +
      '(webhook-id, webhook-timestamp, webhook-signature). Delivered at least once, in order, retried on WEBHOOK_RETRY_SCHEDULE, then dead-lettered. ' +
      `The answer holds the signing secret, shown this once. At most ${maxSubscriptions} webhooks.${needsAdmin}`,
    'x-scopes': ['admin'],
    tags: ['webhooks'],
    operationId: 'postWebhooks',
    body: { type: 'object', required: ['url'], additionalProperties: false, properties: fields, examples: [{ url: exampleWebhook.url, eventTypes: exampleWebhook.eventTypes, description: exampleWebhook.description }] },
    response: {
      201: { description: 'Made; its secret is shown here only.', headers: { location: { type: 'string' } }, ...json(withSecret, { webhook: exampleWebhook, secret: exampleSecret }) },
      400: problem('The body is not valid.'),
      409: problem(`${maxSubscriptions} webhooks are kept already.`),
      422: problem('The URL is refused: not http(s), with credentials, or resolving to a loopback, private or link-local address.'),
      ...refusals,
    },
  },
  list: {
    summary: 'The webhooks',
    description: `Every webhook, oldest first, without secrets.${needsAdmin}`,
    'x-scopes': ['admin'],
    tags: ['webhooks'],
    operationId: 'getWebhooks',
    response: {
      200: { description: 'The webhooks.', ...json({ type: 'object', required: ['webhooks'], additionalProperties: false, properties: { webhooks: { type: 'array', items: webhookSchema } } }, { webhooks: [exampleWebhook] }) },
      ...refusals,
    },
  },
  get: {
    summary: 'One webhook',
    description: `The webhook, without its secret.${needsAdmin}`,
    'x-scopes': ['admin'],
    tags: ['webhooks'],
    operationId: 'getWebhooksById',
    params: idParams,
    response: { 200: { description: 'The webhook.', ...json(one, { webhook: exampleWebhook }) }, 404: problem('No such webhook.'), ...refusals },
  },
  update: {
    summary: 'Change a webhook',
    description:
      'Changes the fields given. `enabled: false` turns it off (deliveries queued wait); `enabled: true` turns it on again, after an administrator or a 410 Gone turned it off: ' +
      `what waited is delivered, in order. A new URL is checked as on creation.${needsAdmin}`,
    'x-scopes': ['admin'],
    tags: ['webhooks'],
    operationId: 'patchWebhooksById',
    params: idParams,
    body: { type: 'object', minProperties: 1, additionalProperties: false, properties: fields, examples: [{ enabled: true }] },
    response: {
      200: { description: 'The webhook as changed.', ...json(one, { webhook: exampleWebhook }) },
      400: problem('The body is not valid.'),
      404: problem('No such webhook.'),
      422: problem('The URL is refused.'),
      ...refusals,
    },
  },
  remove: {
    summary: 'Remove a webhook',
    description: `Removes the webhook with its queued and past deliveries; an attempt in flight may still arrive.${needsAdmin}`,
    'x-scopes': ['admin'],
    tags: ['webhooks'],
    operationId: 'deleteWebhooksById',
    params: idParams,
    response: { 204: { description: 'Removed.', type: 'null' }, 404: problem('No such webhook.'), ...refusals },
  },
  rotate: {
    summary: "Rotate a webhook's secret",
    description:
      'Makes a new secret, shown this once. The previous one goes on signing for WEBHOOK_SECRET_OVERLAP_MS (24 hours by default): meanwhile deliveries carry two signatures ' +
      `(\`v1,<new> v1,<old>\`), so a receiver verifying with either accepts them while it switches.${needsAdmin}`,
    'x-scopes': ['admin'],
    tags: ['webhooks'],
    operationId: 'postWebhooksByIdSecret',
    params: idParams,
    response: { 200: { description: 'The new secret.', ...json(withSecret, { webhook: { ...exampleWebhook, previousSecretExpiresAt: '2026-12-06T10:00:00.000Z' }, secret: exampleSecret }) }, 404: problem('No such webhook.'), ...refusals },
  },
  test: {
    summary: 'Send a test event',
    description: `Queues a \`webhook.test\` event at the tail of the webhook's queue; it is signed, retried and listed like any delivery.${needsAdmin}`,
    'x-scopes': ['admin'],
    tags: ['webhooks'],
    operationId: 'postWebhooksByIdTest',
    params: idParams,
    response: {
      202: { description: 'Queued.', ...json(aDelivery, { delivery: { ...exampleDelivery, eventId: null, eventType: 'webhook.test', webhookId: 'msg_test_p0Q4', status: 'pending', attempts: 0, responseStatus: null, lastError: null } }) },
      404: problem('No such webhook.'),
      409: problem('The webhook is turned off.'),
      ...refusals,
    },
  },
  deliveries: {
    summary: "A webhook's deliveries",
    description:
      `Newest first: those still queued (pending, retrying), the last ${keptDelivered} delivered and the dead-lettered (failed; the last 1000). ` +
      `Each says its attempts, the last HTTP status and error, and when it is attempted next.${needsAdmin}`,
    'x-scopes': ['admin'],
    tags: ['webhooks'],
    operationId: 'getWebhooksByIdDeliveries',
    params: idParams,
    querystring: {
      type: 'object',
      additionalProperties: false,
      properties: {
        status: { type: 'string', enum: ['pending', 'retrying', 'delivered', 'failed'], description: 'Only deliveries in this state.' },
        limit: { type: 'integer', minimum: 1, maximum: 1000, default: 100, description: 'At most this many (default 100).' },
      },
    },
    response: {
      200: { description: 'The deliveries.', ...json({ type: 'object', required: ['deliveries'], additionalProperties: false, properties: { deliveries: { type: 'array', items: deliverySchema } } }, { deliveries: [exampleDelivery] }) },
      400: problem('A bad status or limit.'),
      404: problem('No such webhook.'),
      ...refusals,
    },
  },
  redeliver: {
    summary: 'Deliver a message again',
    description:
      `Queues a delivered or dead-lettered message again at the tail of the queue, as a new delivery with the same webhook-id (receivers deduplicate by it).${needsAdmin}`,
    'x-scopes': ['admin'],
    tags: ['webhooks'],
    operationId: 'postWebhooksByIdDeliveriesByDeliveryIdRedeliver',
    params: {
      type: 'object',
      required: ['id', 'deliveryId'],
      additionalProperties: false,
      properties: { id: idParams.properties.id, deliveryId: { type: 'string', pattern: deliveryIdPattern, examples: [exampleDelivery.id] } },
    },
    response: {
      202: { description: 'Queued again.', ...json(aDelivery, { delivery: { ...exampleDelivery, id: 'dlv_Z9yX8wV7uT6sR5qP', status: 'pending', attempts: 0, responseStatus: null, lastError: null } }) },
      404: problem('No such webhook or delivery.'),
      409: problem('The delivery is still queued.'),
      ...refusals,
    },
  },
};

const statusOf: Record<WebhookProblem, { status: number; resultCode: number }> = {
  'not-found': { status: 404, resultCode: ResultCode.API_INVALID_REQUEST_TYPE },
  invalid: { status: 400, resultCode: ResultCode.API_INVALID_MESSAGE_FORMAT },
  'target-refused': { status: 422, resultCode: ResultCode.API_INVALID_MESSAGE_FORMAT },
  limit: { status: 409, resultCode: ResultCode.API_TOO_MANY_CLIENTS },
  conflict: { status: 409, resultCode: ResultCode.API_ERROR_INVALID_ACTION },
};

type Id = { Params: { id: string } };

export const webhookRoutes: FastifyPluginAsync<WebhookRoutesOptions> = async (app, { webhooks }) => {
  app.setErrorHandler(sendErrorProblem);
  // The answers are shaped by webhooks/ (views without secrets): serialized as they are.
  app.setSerializerCompiler(() => (data) => JSON.stringify(data));

  /** Refuses a caller without admin, or answers with what `act` gives; its refusals as problems. */
  const admin =
    <T extends object>(act: (request: FastifyRequest<T>, reply: FastifyReply) => Promise<unknown>) =>
    async (request: FastifyRequest<T>, reply: FastifyReply): Promise<unknown> => {
      const refused = refusal(request as FastifyRequest, 'admin');
      if (refused) return sendProblem(reply, refused.status, { resultCode: ResultCode.API_COMMAND_NOT_ALLOWED, detail: refused.message });
      try {
        return await act(request, reply);
      } catch (error) {
        if (error instanceof WebhookError) return sendProblem(reply, statusOf[error.kind].status, { resultCode: statusOf[error.kind].resultCode, detail: error.message });
        request.log.error({ err: error }, 'a webhooks request failed');
        return sendProblem(reply.header('retry-after', '5'), 503, { resultCode: ResultCode.API_ERROR_UNKNOWN, detail: "The webhooks' store cannot be reached now; try again later." });
      }
    };
  const options = <S>(schema: S) => ({ schema, config: { access: 'rest' as const } });

  app.post<{ Body: SubscriptionInput }>(
    webhooksPath,
    options(schemas.create),
    admin<{ Body: SubscriptionInput }>(async (request, reply) => {
      const made = await webhooks.create(request.body);
      return reply.code(201).header('location', `${webhooksPath}/${made.webhook.id}`).send(made);
    }),
  );
  app.get(webhooksPath, options(schemas.list), admin(async () => ({ webhooks: await webhooks.list() })));
  app.get<Id>(`${webhooksPath}/:id`, options(schemas.get), admin<Id>(async (request) => ({ webhook: await webhooks.get(request.params.id) })));
  app.patch<Id & { Body: Partial<SubscriptionInput> }>(
    `${webhooksPath}/:id`,
    options(schemas.update),
    admin<Id & { Body: Partial<SubscriptionInput> }>(async (request) => ({ webhook: await webhooks.update(request.params.id, request.body) })),
  );
  app.delete<Id>(
    `${webhooksPath}/:id`,
    options(schemas.remove),
    admin<Id>(async (request, reply) => {
      await webhooks.remove(request.params.id);
      return reply.code(204).send();
    }),
  );
  app.post<Id>(`${webhooksPath}/:id/secret`, options(schemas.rotate), admin<Id>(async (request) => webhooks.rotateSecret(request.params.id)));
  app.post<Id>(
    `${webhooksPath}/:id/test`,
    options(schemas.test),
    admin<Id>(async (request, reply) => reply.code(202).send({ delivery: await webhooks.sendTest(request.params.id) })),
  );
  type Listing = Id & { Querystring: { status?: DeliveryStatus; limit?: number } };
  app.get<Listing>(
    `${webhooksPath}/:id/deliveries`,
    options(schemas.deliveries),
    admin<Listing>(async (request) => ({ deliveries: await webhooks.deliveries(request.params.id, { status: request.query.status, limit: request.query.limit ?? 100 }) })),
  );
  type Redelivery = { Params: { id: string; deliveryId: string } };
  app.post<Redelivery>(
    `${webhooksPath}/:id/deliveries/:deliveryId/redeliver`,
    options(schemas.redeliver),
    admin<Redelivery>(async (request, reply) => reply.code(202).send({ delivery: await webhooks.redeliver(request.params.id, request.params.deliveryId) })),
  );
};
