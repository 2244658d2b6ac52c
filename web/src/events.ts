/**
 * The live event feed: /api/v1/events through an EventSource. An EventSource cannot send an
 * Authorization header, so the page first asks for a ticket (POST /api/v1/events/tickets, with its
 * key) and opens the stream with it; a gateway without that route (404) is asked for the stream
 * directly, which it serves to a caller it lets in without a credential (protected mode).
 *
 * A ticket is good for one stream: the browser's own reconnection would present a spent one. So on
 * any error the stream is closed and opened again with a fresh ticket, resuming after the last
 * event seen (`lastEventId`: a new EventSource sends no Last-Event-ID header), after a delay that
 * doubles up to half a minute while it keeps failing.
 */
import { ApiError, describe, postJson } from './api.js';
import { byId, element, localTime } from './markup.js';

/** The event types of the Event Interface, each an SSE event name of the stream. */
const eventTypes = ['CALLSTART', 'CALLSTOP', 'RECORDINGSTARTED', 'RECORDINGSTOPPED', 'RECORDINGUPDATE', 'RECORDINGPAUSED', 'RECORDINGRESUMED'];
/** Events kept on the page; older ones are dropped from the list. */
const shownEvents = 200;
const retryFirstMs = 1000;
const retryMaxMs = 30_000;

interface GatewayEvent {
  id: number;
  type: string;
  eventXref?: string;
  receivedAt: string;
  data: Record<string, string | undefined>;
}

interface Ticket {
  ticket: string;
  expiresAt: string;
}

export interface EventFeedHooks {
  /** A recording ended or changed: its list may have news. */
  onRecording?: (event: GatewayEvent) => void;
  /** Play a recording the feed names. */
  onPlay?: (recordId: string) => void;
  /** The gateway's subscription to the core's event port changed (up, down, connecting). */
  onEventPort?: (state: string) => void;
}

export class EventFeed {
  private source: EventSource | undefined;
  private lastEventId: string | undefined;
  private retryMs = retryFirstMs;
  private retryTimer: number | undefined;
  /** Bumped by each open and stop, so that a stale attempt does nothing once it resolves. */
  private generation = 0;
  private readonly list = byId<HTMLOListElement>('events-list');
  private readonly state = byId('events-state');

  constructor(private readonly hooks: EventFeedHooks = {}) {}

  /** (Re)open the stream now, with a fresh ticket where the gateway gives them. */
  async start(): Promise<void> {
    this.stop();
    const generation = ++this.generation;
    this.say('connecting');
    let url: string;
    try {
      url = await this.streamUrl();
    } catch (error) {
      if (generation !== this.generation) return;
      if (error instanceof ApiError && (error.status === 401 || error.status === 403)) {
        // Asking again would be refused again: the page starts the feed anew once it has a key.
        this.say(error.status === 401 ? 'needs an API key' : `not connected: ${describe(error)}`);
        return;
      }
      this.say(`not connected: ${describe(error)}`);
      this.retryLater(generation);
      return;
    }
    if (generation !== this.generation) return;
    const source = new EventSource(url);
    this.source = source;
    source.addEventListener('open', () => {
      this.retryMs = retryFirstMs;
    });
    source.addEventListener('status', (message) => {
      const status = this.parse<{ eventPort?: string }>(message);
      this.say(status?.eventPort === 'up' ? 'connected' : `connected; the core's event port is ${status?.eventPort ?? 'unknown'}`);
      if (status?.eventPort) this.hooks.onEventPort?.(status.eventPort);
    });
    source.addEventListener('gap', (message) => {
      this.track(message);
      this.list.prepend(element('li', { className: 'gap', text: 'Some events were missed while the stream was away.' }));
    });
    for (const type of eventTypes) source.addEventListener(type, (message) => this.show(message));
    source.addEventListener('error', () => {
      if (generation !== this.generation) return;
      // Whatever the cause (a spent ticket, a restart, the network), a fresh stream with a fresh ticket.
      source.close();
      this.source = undefined;
      this.say('reconnecting');
      this.retryLater(generation);
    });
  }

  stop(): void {
    this.generation += 1;
    if (this.retryTimer !== undefined) window.clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    this.source?.close();
    this.source = undefined;
  }

  private retryLater(generation: number): void {
    const delay = this.retryMs;
    this.retryMs = Math.min(this.retryMs * 2, retryMaxMs);
    this.retryTimer = window.setTimeout(() => {
      if (generation === this.generation) void this.start();
    }, delay);
  }

  private async streamUrl(): Promise<string> {
    const resume = this.lastEventId ? `lastEventId=${encodeURIComponent(this.lastEventId)}` : '';
    try {
      const { ticket } = await postJson<Ticket>('/api/v1/events/tickets');
      return `/api/v1/events?ticket=${encodeURIComponent(ticket)}${resume ? `&${resume}` : ''}`;
    } catch (error) {
      // A gateway without tickets serves the stream to those it lets in without a credential.
      if (error instanceof ApiError && error.noSuchRoute) return `/api/v1/events${resume ? `?${resume}` : ''}`;
      throw error;
    }
  }

  private say(text: string): void {
    this.state.textContent = text;
  }

  private track(message: MessageEvent): void {
    if (message.lastEventId && /^\d{1,20}$/.test(message.lastEventId)) this.lastEventId = message.lastEventId;
  }

  private parse<T>(message: MessageEvent): T | undefined {
    try {
      return JSON.parse(String(message.data)) as T;
    } catch {
      return undefined;
    }
  }

  private show(message: MessageEvent): void {
    this.track(message);
    const event = this.parse<GatewayEvent>(message);
    if (!event) return;
    const data = event.data ?? {};
    const details = [
      data['deviceId'] ? `device ${data['deviceId']}` : '',
      data['agentId'] ? `agent ${data['agentId']}` : '',
      data['ani'] ? `from ${data['ani']}` : '',
      data['dnis'] ? `to ${data['dnis']}` : '',
      data['recordId'] ? `recording ${data['recordId']}` : '',
      event.eventXref ? `request ${event.eventXref}` : '',
    ].filter(Boolean);
    const item = element(
      'li',
      { className: 'event', attributes: { 'data-type': event.type } },
      element('time', { text: localTime(event.receivedAt), attributes: { datetime: event.receivedAt } }),
      ' ',
      element('strong', { text: event.type }),
      ' ',
      details.join(', '),
    );
    const recordId = data['recordId'];
    if (event.type === 'RECORDINGSTOPPED' && recordId && this.hooks.onPlay) {
      const play = this.hooks.onPlay;
      item.append(' ', element('button', { text: 'Play', attributes: { type: 'button', 'aria-label': `Play recording ${recordId}` } }));
      item.lastElementChild!.addEventListener('click', () => play(recordId));
    }
    this.list.prepend(item);
    while (this.list.childElementCount > shownEvents) this.list.lastElementChild?.remove();
    if (event.type === 'RECORDINGSTOPPED' || event.type === 'RECORDINGUPDATE') this.hooks.onRecording?.(event);
  }
}
