/**
 * The recordings list: GET /api/v1/recordings with the CALLLIST filters of the search form, newest
 * first, one page at a time; "More" follows the answer's `next` link, which carries the filters and
 * a cursor, so the pages join without repeats or gaps while calls are being recorded.
 */
import { describe, getJson } from './api.js';
import { byId, clockDuration, element, localTime } from './markup.js';

interface Recording {
  recordId: number | null;
  recordingTimeIso?: string | null;
  duration?: number | null;
  deviceId?: string;
  deviceAlias?: string;
  agentFirstName?: string;
  agentLastName?: string;
  callDirection?: string;
  ani?: string;
  dnis?: string;
  [field: string]: unknown;
}

interface RecordingsPage {
  recordings: Recording[];
  next: string | null;
}

const recordingsPath = '/api/v1/recordings';
/** The filters of the form that go to the route as they are (after trimming). */
const textFilters = ['deviceId', 'deviceAlias', 'sysUser', 'crmUser', 'group', 'gate', 'ani', 'dnis'];
const directions: Record<string, string> = { I: 'in', O: 'out' };

export class RecordingList {
  private readonly form = byId<HTMLFormElement>('search-form');
  private readonly body = byId<HTMLTableSectionElement>('recordings-body');
  private readonly message = byId('recordings-message');
  private readonly more = byId<HTMLButtonElement>('recordings-more');
  private readonly news = byId('recordings-news');
  private next: string | null = null;
  /** Bumped by each search, so that a page arriving late for an older search is dropped. */
  private search = 0;

  constructor(private readonly play: (recordId: string) => void) {
    this.form.addEventListener('submit', (event) => {
      event.preventDefault();
      void this.refresh();
    });
    this.form.addEventListener('reset', () => window.setTimeout(() => void this.refresh()));
    byId('recordings-show-new').addEventListener('click', () => void this.refresh());
    this.more.addEventListener('click', () => {
      if (this.next) void this.load(this.next, false, this.search);
    });
  }

  /** A recording was saved since the list was read (the live feed says so): offer to read it again. */
  recordingSaved(): void {
    this.news.hidden = false;
  }

  /** The first page for what the form says now. */
  refresh(): Promise<void> {
    this.search += 1;
    this.news.hidden = true;
    let query: URLSearchParams;
    try {
      query = this.query();
    } catch (error) {
      this.message.textContent = describe(error);
      return Promise.resolve();
    }
    return this.load(`${recordingsPath}?${query.toString()}`, true, this.search);
  }

  private query(): URLSearchParams {
    const data = new FormData(this.form);
    const query = new URLSearchParams();
    const text = (name: string): string => String(data.get(name) ?? '').trim();
    for (const name of textFilters) if (text(name)) query.set(name, text(name));
    const userField = text('userField');
    if (/^user([1-9]|1[0-5])$/.test(userField) && text('userValue')) query.set(userField, text('userValue'));
    for (const [field, name] of [['from', 'callDateStart'], ['to', 'callDateEnd']] as const) {
      // datetime-local is the viewer's local time; the route takes ISO-8601 with a zone.
      const value = text(field);
      if (!value) continue;
      const date = new Date(value);
      if (Number.isNaN(date.getTime())) throw new Error(`${field === 'from' ? 'From' : 'To'}: not a date and time.`);
      query.set(name, date.toISOString().replace(/\.\d{3}Z$/, 'Z'));
    }
    query.set('limit', /^\d{1,3}$/.test(text('limit')) ? text('limit') : '25');
    return query;
  }

  private async load(url: string, fresh: boolean, search: number): Promise<void> {
    this.more.disabled = true;
    this.message.textContent = 'Loading…';
    try {
      const page = await getJson<RecordingsPage>(url);
      if (search !== this.search) return;
      if (fresh) this.body.replaceChildren();
      for (const recording of page.recordings) this.body.append(this.row(recording));
      // Only a link into this same route is followed.
      this.next = page.next && page.next.startsWith(`${recordingsPath}?`) ? page.next : null;
      this.more.hidden = this.next === null;
      const shown = this.body.childElementCount;
      this.message.textContent = shown === 0 ? 'No recordings match.' : `${shown} recording${shown === 1 ? '' : 's'} shown${this.next ? '; more are available' : ''}.`;
    } catch (error) {
      if (search !== this.search) return;
      if (fresh) this.body.replaceChildren();
      this.more.hidden = true;
      this.message.textContent = describe(error);
    } finally {
      this.more.disabled = false;
    }
  }

  private row(recording: Recording): HTMLTableRowElement {
    const recordId = recording.recordId === null ? '' : String(recording.recordId);
    const agent = [recording.agentFirstName, recording.agentLastName].filter(Boolean).join(' ');
    const cell = (text: string | undefined | null): HTMLTableCellElement => element('td', { text: text ?? '' });
    const play = element('button', { text: 'Play', attributes: { type: 'button', 'aria-label': `Play recording ${recordId}` } });
    play.disabled = recordId === '';
    play.addEventListener('click', () => this.play(recordId));
    return element(
      'tr',
      { attributes: { 'data-record-id': recordId } },
      element('th', { text: recordId, attributes: { scope: 'row' } }),
      cell(localTime(recording.recordingTimeIso)),
      cell(clockDuration(recording.duration)),
      cell(recording.deviceAlias ? `${recording.deviceId ?? ''} (${recording.deviceAlias})` : recording.deviceId),
      cell(agent),
      cell(directions[recording.callDirection ?? ''] ?? recording.callDirection),
      cell(recording.ani),
      cell(recording.dnis),
      element('td', {}, play),
    );
  }
}
