/**
 * PLAYBACK_LINK_BASE: CALLLIST's PLAYBACKLINK points at the product's own web player, which a
 * caller outside the product's network cannot reach. With the setting, each SEARCHRESULT's
 * PLAYBACKLINK becomes a signed link of the gateway's media route for its RECORDID, for a caller
 * that may export (the link stands for its credential); for any other caller the core's link is
 * left as it is, since it would not be allowed to play it through the gateway. Nothing else of the
 * answer changes: the bytes around each PLAYBACKLINK's text are the core's, as the WebAPI promises.
 */
import type { MediaLinks, LinkCreator } from '../../access/media-links.js';

export interface PlaybackLinkOptions {
  links: MediaLinks;
  /** `https://gw.example.com` (no trailing slash). */
  base: string;
  lifetimeSeconds: number;
  format: string;
}

// One SEARCHRESULT at a time, so each link takes the RECORDID of its own result. The answer is read
// as latin1, one character per byte, so that what is not replaced goes back byte for byte.
const searchResultPattern = /<SEARCHRESULT>[\s\S]*?<\/SEARCHRESULT>/g;
const recordIdPattern = /<RECORDID>\s*([0-9]{1,18})\s*<\/RECORDID>/;
const playbackLinkPattern = /<PLAYBACKLINK>[^<]*<\/PLAYBACKLINK>|<PLAYBACKLINK\s*\/>/;

/** The answer with each PLAYBACKLINK a signed link made by `creator`; the same buffer when none is. */
export function rewritePlaybackLinks(answer: Buffer, options: PlaybackLinkOptions, creator: LinkCreator): Buffer {
  const text = answer.toString('latin1');
  if (!text.includes('<PLAYBACKLINK')) return answer;
  let changed = false;
  const rewritten = text.replace(searchResultPattern, (result) => {
    const recordId = recordIdPattern.exec(result)?.[1];
    if (recordId === undefined || !playbackLinkPattern.test(result)) return result;
    const link = options.links.create({ recordId, format: options.format, lifetimeSeconds: options.lifetimeSeconds, creator });
    // The query's `&` must be `&amp;` in XML text; nothing else of a link needs escaping.
    const url = `${options.base}${link.path}?${link.query}`.replaceAll('&', '&amp;');
    changed = true;
    return result.replace(playbackLinkPattern, `<PLAYBACKLINK>${url}</PLAYBACKLINK>`);
  });
  return changed ? Buffer.from(rewritten, 'latin1') : answer;
}
