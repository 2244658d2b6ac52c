/**
 * Where the gateway serves a recording's media: the REST media route of one recording, which
 * recording answers point to (`mediaUrl`), signed links open, and the WebAPI's PLAYBACKLINK can be
 * rewritten to. Spelled once here.
 */

/** `/api/v1/recordings/<id>/media`, the id percent-encoded. */
export function recordingMediaPath(recordId: string): string {
  return `/api/v1/recordings/${encodeURIComponent(recordId)}/media`;
}

/** The resources (by name) whose records are recordings, and so carry `mediaUrl`. */
export const recordingResourceNames: ReadonlySet<string> = new Set(['recordings', 'recording']);

export const mediaUrlSchema = {
  type: 'string',
  description:
    "The gateway's media route of this recording (GET, with a credential that has recordings:export; `format=` picks the format). " +
    'For an <audio> element or a download link, which cannot send a credential, ask POST /api/v1/recordings/{recordId}/links for a signed one.',
  examples: ['/api/v1/recordings/10122100/media'],
} as const;
