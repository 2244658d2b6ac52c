/**
 * The recordings share, read by the product's file naming: a recording started on a device at a
 * local time is `<root>\YYYYMMDD\<DEVICE>\<DEVICE>-HH-MM-SS.<ext>` (the manual's
 * `C:\Recordings\20110131\1111\1111-14-39-50.au`), DEVICE being the alias the device was signed on
 * with, else its ID (`DESK1\DESK1-17-03-14.wav`). CALLLIST gives a recording's DEVICEID,
 * DEVICEALIAS and RECORDINGTIME, so this source needs nothing but the core and the share: it serves
 * recordings made before the gateway listened to the event port.
 *
 * CALLLIST filters on the device, the call's data and USER1..USER15, which UNIQUEFIELD may name
 * directly (newest first: the manual's "most recent record" for non-unique fields); it cannot filter
 * on RECORDID, so an IDENT list is found by reading CALLLIST newest first, a page at a time, up to a
 * bound. Only an unambiguous file is accepted: two files of one device in one second (`-1`, `.au`
 * and `.wav`) are refused rather than guessed between.
 */
import type { RecordingFiles } from '../media/recording-files.js';
import { CallList, callListFilterColumns, storableFilterValue, type CallListEntry } from './call-list.js';
import type { RecorderClock } from './recorder-clock.js';
import { recordIdPattern, type FoundRecording, type LookupContext, type RecordingSource, type RecordingSourceStatus } from './recording.js';

export interface ShareSourceOptions {
  files: RecordingFiles;
  callList: CallList;
  clock: RecorderClock;
  /** Recordings read from CALLLIST at most to find an IDENT list. */
  scanLimit: number;
  /** CALLCOUNT of each page of that scan. */
  pageSize: number;
}

const pad = (n: number, width = 2): string => String(n).padStart(width, '0');
const escapeRegExp = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** Folder listings of one lookup: a MULTIEXPORT of a busy day reads each folder once. */
type Listings = Map<string, Promise<string[]>>;

export class ShareSource implements RecordingSource {
  readonly name = 'share' as const;
  readonly authoritative = false;
  readonly lookupColumns: ReadonlySet<string> = new Set(['ident', 'recording_time', ...callListFilterColumns.keys()]);

  constructor(private readonly options: ShareSourceOptions) {}

  status(): RecordingSourceStatus {
    const roots = this.options.files.productRoots;
    return {
      name: this.name,
      active: roots.length > 0,
      detail:
        roots.length > 0
          ? `CALLLIST and the product's file naming under ${roots.join(', ')} (time zone ${this.options.clock.zone}; IDENT among the newest ${this.options.scanLimit} recordings)`
          : 'no recordings root is mapped (RECORDINGS_PATH_MAP)',
    };
  }

  async usable(): Promise<boolean> {
    return this.options.files.mapped;
  }

  async findByColumn(column: string, value: string, context: LookupContext): Promise<FoundRecording | undefined> {
    if (column === 'ident') return (await this.findByIdents([value], context)).get(value);
    let entries: CallListEntry[];
    if (column === 'recording_time') {
      if (!/^[0-9]{1,12}$/.test(value)) return undefined;
      entries = await this.options.callList.query({ count: 1, start: Number(value), end: Number(value) }, context);
    } else {
      const param = callListFilterColumns.get(column);
      if (!param || !storableFilterValue(param, value)) return undefined;
      entries = await this.options.callList.query({ filters: [[param, value]], count: 1 }, context);
    }
    return entries[0] && this.locate(entries[0], new Map());
  }

  async findByIdents(idents: readonly string[], context: LookupContext): Promise<Map<string, FoundRecording>> {
    const wanted = new Set(idents.filter((i) => recordIdPattern.test(i)));
    const entries: CallListEntry[] = [];
    if (wanted.size > 0) {
      const { scanLimit, pageSize } = this.options;
      await this.options.callList.scan(pageSize, scanLimit, context, (entry) => {
        if (wanted.delete(entry.recordId)) entries.push(entry);
        return wanted.size > 0;
      });
    }
    const listings: Listings = new Map();
    const found = new Map<string, FoundRecording>();
    for (const recording of await Promise.all(entries.map((e) => this.locate(e, listings)))) found.set(recording.recordId, recording);
    return found;
  }

  /** The recording with its file, or with `unlocated` saying which file was looked for. */
  private async locate(entry: CallListEntry, listings: Listings): Promise<FoundRecording> {
    const recording: FoundRecording = {
      recordId: entry.recordId,
      filename: '',
      durationSeconds: entry.durationSeconds,
      recordingTime: entry.recordingTime,
      fields: entry.fields,
      source: this.name,
    };
    if (entry.recordingTime === undefined) return { ...recording, unlocated: 'CALLLIST gives it no RECORDINGTIME' };
    const t = this.options.clock.wallClockAt(entry.recordingTime);
    const day = `${pad(t.year, 4)}${pad(t.month)}${pad(t.day)}`;
    const time = `${pad(t.hour)}-${pad(t.minute)}-${pad(t.second)}`;
    const devices = [...new Set([entry.deviceAlias, entry.deviceId].filter((d) => d !== '').map((d) => d.toLowerCase()))];
    const matches: string[] = [];
    for (const root of this.options.files.productRoots) {
      const rootPrefix = root.replace(/[\\/]+$/, '') + '\\';
      const folders = (await this.listing(listings, rootPrefix + day)).filter((name) => devices.includes(name.toLowerCase()));
      for (const folder of folders) {
        const file = new RegExp(`^${escapeRegExp(folder)}-${time}(?:-[0-9]{1,4})?\\.[A-Za-z0-9]{1,8}$`, 'i');
        for (const name of await this.listing(listings, `${rootPrefix}${day}\\${folder}`)) {
          if (file.test(name)) matches.push(`${rootPrefix}${day}\\${folder}\\${name}`);
        }
      }
    }
    const pattern = `${day}\\${devices.join('|') || '?'}\\<device>-${time}.*`;
    if (matches.length === 1) return { ...recording, filename: matches[0]! };
    if (matches.length === 0) return { ...recording, unlocated: `no file ${pattern} in the recordings share` };
    return { ...recording, unlocated: `${matches.length} files could be it (${matches.join(', ')}), so none is taken` };
  }

  private listing(listings: Listings, folder: string): Promise<string[]> {
    let names = listings.get(folder);
    if (!names) {
      names = this.options.files.list(folder);
      listings.set(folder, names);
    }
    return names;
  }

  async close(): Promise<void> {}
}
