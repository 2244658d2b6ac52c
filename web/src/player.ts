/**
 * The player: an <audio> element on a recording's media. An audio element cannot send an
 * Authorization header, so the page asks for a signed link first (POST
 * /api/v1/recordings/{recordId}/links, with its key) and plays that URL, which needs no other
 * credential and answers Range requests, so seeking fetches only what is played. A gateway without
 * that route (404) is asked for the media route itself, which it serves to a caller it lets in
 * without a credential (protected mode).
 *
 * A link expires; when the element fails on one (a seek after its expiry, say), the page asks for
 * a fresh link once and carries on from where it was.
 */
import { ApiError, describe, postJson } from './api.js';
import { byId } from './markup.js';

/** How long a link the page asks for stays valid: long enough to listen, short if it leaks. */
const linkSeconds = 600;

interface SignedLink {
  url: string;
  expiresAt: string;
  recordId: number | string;
  format: string;
}

export class Player {
  private readonly audio = byId<HTMLAudioElement>('player-audio');
  private readonly title = byId('player-title');
  private readonly message = byId('player-message');
  private readonly format = byId<HTMLSelectElement>('player-format');
  private current: { recordId: string; format: string; signed: boolean; renewed: boolean } | undefined;

  constructor() {
    this.audio.addEventListener('error', () => void this.recover());
    this.audio.addEventListener('playing', () => this.say(''));
    this.format.addEventListener('change', () => {
      if (this.current) void this.play(this.current.recordId);
    });
  }

  async play(recordId: string): Promise<void> {
    const format = this.format.value;
    this.current = { recordId, format, signed: false, renewed: false };
    this.title.textContent = `Recording ${recordId} (${format})`;
    this.say('Getting a link…');
    try {
      const { url, signed } = await this.mediaUrl(recordId, format);
      if (this.current?.recordId !== recordId || this.current.format !== format) return;
      this.current.signed = signed;
      this.audio.src = url;
      this.say('');
      await this.audio.play();
    } catch (error) {
      // play() refused without a gesture is not a failure: the controls are there.
      if (error instanceof DOMException && error.name === 'NotAllowedError') return this.say('Press play to listen.');
      this.say(describe(error));
    }
  }

  private async mediaUrl(recordId: string, format: string): Promise<{ url: string; signed: boolean }> {
    const id = encodeURIComponent(recordId);
    try {
      const link = await postJson<SignedLink>(`/api/v1/recordings/${id}/links`, { format, expiresIn: linkSeconds });
      return { url: link.url, signed: true };
    } catch (error) {
      if (error instanceof ApiError && error.noSuchRoute) return { url: `/api/v1/recordings/${id}/media?format=${encodeURIComponent(format)}`, signed: false };
      throw error;
    }
  }

  /** A failed element: renew a signed link once, at the same position; otherwise say so. */
  private async recover(): Promise<void> {
    const current = this.current;
    if (!current || !this.audio.getAttribute('src')) return;
    if (current.signed && !current.renewed) {
      current.renewed = true;
      const position = this.audio.currentTime;
      try {
        const { url } = await this.mediaUrl(current.recordId, current.format);
        if (this.current !== current) return;
        this.audio.src = url;
        this.audio.currentTime = position;
        await this.audio.play().catch(() => undefined);
        return;
      } catch (error) {
        return this.say(describe(error));
      }
    }
    const code = this.audio.error?.code;
    this.say(code === MediaError.MEDIA_ERR_SRC_NOT_SUPPORTED ? `This browser cannot play ${current.format}, or the recording could not be read.` : 'The recording could not be played.');
  }

  private say(text: string): void {
    this.message.textContent = text;
  }
}
