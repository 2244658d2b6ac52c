/**
 * `POST /api/v1/recordings/{recordId}/links`: a signed link to a recording's media, for a browser's
 * `<audio>`, `<video>` or download link, which cannot send a credential (access/media-links.ts). It
 * needs what the media route needs, `recordings:export`; the link then stands for the caller's
 * credential, for that recording in that format, until it expires. Its making is audited, and so is
 * each use, in the caller's name. The recording is not looked up here: a link to one that does not
 * exist answers 404 when it is used, as the media route would to the caller.
 */
import type { FastifyPluginAsync } from 'fastify';
import { defaultLinkLifetimeSeconds, maxLinkLifetimeSeconds, type MediaLinks } from '../../access/media-links.js';
import { exportMediaFormats, findCommand } from '../../protocol/catalog.js';
import { ResultCode } from '../../protocol/result-codes.js';
import { refusal } from '../access/plugin.js';
import { sendProblem } from './problem.js';
import { problemSchemaRef } from './schemas.js';

export interface LinkRoutesOptions {
  links: MediaLinks;
  /**
   * PLAYBACK_LINK_BASE (`https://gw.example.com`): links are absolute under it. Without it they are
   * relative (path and query), resolved against the gateway the caller called; a request's Host is
   * not used, as a proxy in front may not pass on the name the client knows.
   */
  publicBase?: string | undefined;
}

const formats = [...exportMediaFormats.map((f) => f.toLowerCase()), ...exportMediaFormats];

export const linkBodySchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    format: { type: 'string', enum: formats, default: 'wav', description: 'The media format, as the media route takes it (default wav).' },
    expiresIn: {
      type: 'integer',
      minimum: 1,
      maximum: maxLinkLifetimeSeconds,
      default: defaultLinkLifetimeSeconds,
      description: `Seconds the link works (default ${defaultLinkLifetimeSeconds}, at most ${maxLinkLifetimeSeconds}).`,
    },
  },
  examples: [{ format: 'mp3', expiresIn: 600 }],
} as const;

export const linkAnswerSchema = {
  type: 'object',
  required: ['url', 'expiresAt', 'recordId', 'format'],
  additionalProperties: false,
  properties: {
    url: {
      type: 'string',
      description:
        'The link: GET or HEAD it (Range works as on the media route) with no other credential until expiresAt. Relative to the gateway, or absolute under PLAYBACK_LINK_BASE when that is set. Treat it as a secret while it works.',
    },
    expiresAt: { type: 'string', format: 'date-time' },
    recordId: { type: 'integer' },
    format: { type: 'string' },
  },
} as const;

const problem = (description: string) => ({ description, content: { 'application/problem+json': { schema: problemSchemaRef } } });

const linkRouteSchema = {
  summary: 'A signed link to a recording, for an <audio> or download link.',
  description:
    'Answers a URL of GET /api/v1/recordings/{recordId}/media that works without a credential, for this recording in this format only, until it expires: for browsers, which cannot put a credential on <audio src>, <video src> or <a href>. ' +
    'The link is signed (HMAC-SHA256 with LINK_SIGNING_KEY): any gateway with the same key honours it; a changed or added parameter, or an expired link, is answered 403. ' +
    'Its making and each of its uses are audited in the name of the credential that asked for it.\n\nNeeds the scope `recordings:export` (or `*`).',
  'x-scopes': ['recordings:export'],
  tags: ['recordings'],
  operationId: 'postRecordingsByRecordIdLinks',
  params: {
    type: 'object',
    required: ['recordId'],
    additionalProperties: false,
    properties: { recordId: { type: 'integer', minimum: 0, maximum: Number.MAX_SAFE_INTEGER, description: 'RECORDID of the recording.', examples: [10122100] } },
  },
  body: linkBodySchema,
  response: {
    201: {
      description: 'The link.',
      content: {
        'application/json': {
          schema: linkAnswerSchema,
          example: {
            url: '/api/v1/recordings/10122100/media?format=mp3&expires=1795412560&signature=k3Jd8sQa.a2V5OmNybQ.Zq3...',
            expiresAt: '2026-11-23T05:42:40.000Z',
            recordId: 10122100,
            format: 'mp3',
          },
        },
      },
    },
    400: problem('The body is not { format, expiresIn } within their bounds.'),
    401: problem('No credential, or one that is not valid.'),
    403: problem('The credential lacks recordings:export.'),
    429: problem("Past the caller's rate limit."),
  },
};

export const linkRoutes: FastifyPluginAsync<LinkRoutesOptions> = async (app, { links, publicBase }) => {
  const exportSpec = findCommand('EXPORT');
  app.post<{ Params: { recordId: number }; Body: { format?: string; expiresIn?: number } }>(
    '/recordings/:recordId/links',
    {
      config: { access: 'rest' },
      // The body may be left out: every field has a default.
      preValidation: (request, _reply, done) => {
        request.body ??= {};
        done();
      },
      schema: linkRouteSchema,
    },
    (request, reply) => {
      const recordId = String(request.params.recordId);
      const format = (request.body?.format ?? 'wav').toLowerCase();
      const lifetimeSeconds = request.body?.expiresIn ?? defaultLinkLifetimeSeconds;
      const refused = refusal(request, 'recordings:export', { type: 'EXPORT', spec: exportSpec, params: new Map([['RECORDID', recordId], ['MEDIA_FORMAT', format]]) });
      if (refused) return sendProblem(reply, refused.status, { resultCode: ResultCode.API_COMMAND_NOT_ALLOWED, detail: refused.message });
      // A link is a credential of its own: made in the name of the one that asked, written as such.
      if (request.audit) request.audit.action = 'link';
      const principal = request.principal!;
      const link = links.create({ recordId, format, lifetimeSeconds, creator: { kind: principal.kind, name: principal.name } });
      const relative = `${link.path}?${link.query}`;
      return reply.code(201).send({
        url: publicBase ? `${publicBase}${relative}` : relative,
        expiresAt: link.expiresAt.toISOString(),
        recordId: request.params.recordId,
        format,
      });
    },
  );
};
