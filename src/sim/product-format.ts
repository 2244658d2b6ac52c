/**
 * How the product writes times, paths and figures in its answers, so the simulator's output reads
 * like the real core's: US-style local times ("2/1/2011 11:49:32 AM"), the SQL Server style of
 * AGENTWINDOW ("Feb 2 2011 4:53PM"), Windows recording paths and the SYSTEMUPTIME sentence.
 */

const pad2 = (n: number): string => String(n).padStart(2, '0');

function hour12(date: Date): { hour: number; meridiem: 'AM' | 'PM' } {
  const h = date.getHours();
  return { hour: h % 12 === 0 ? 12 : h % 12, meridiem: h < 12 ? 'AM' : 'PM' };
}

/** "2/1/2011 11:49:32 AM" in local time; '' for no time. */
export function productTime(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return '';
  const d = new Date(ms);
  const { hour, meridiem } = hour12(d);
  return `${d.getMonth() + 1}/${d.getDate()}/${d.getFullYear()} ${hour}:${pad2(d.getMinutes())}:${pad2(d.getSeconds())} ${meridiem}`;
}

/**
 * "2011-08-09 15:18:43": a local date-time without zone, as the product's database holds a
 * recording's start (the same local time as the recording's file name). Built from the local
 * getters so that no database driver converts it between zones.
 */
export function databaseLocalTime(ms: number): string {
  const d = new Date(ms);
  const date = `${String(d.getFullYear()).padStart(4, '0')}-${pad2(d.getMonth() + 1)}-${pad2(d.getDate())}`;
  return `${date} ${pad2(d.getHours())}:${pad2(d.getMinutes())}:${pad2(d.getSeconds())}`;
}

/** "10/30/2006 4:05:38 PM -05:00": the date/time-offset form of IMPORTUSER LIST. */
export function productTimeWithOffset(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return '1/1/0001 12:00:00 AM +00:00';
  const offset = -new Date(ms).getTimezoneOffset();
  const sign = offset < 0 ? '-' : '+';
  const abs = Math.abs(offset);
  return `${productTime(ms)} ${sign}${pad2(Math.floor(abs / 60))}:${pad2(abs % 60)}`;
}

const months = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** "Feb 2 2011 4:53PM" (AGENTWINDOW LASTUPDATE). */
export function sqlServerTime(ms: number): string {
  const d = new Date(ms);
  const { hour, meridiem } = hour12(d);
  return `${months[d.getMonth()]} ${d.getDate()} ${d.getFullYear()} ${hour}:${pad2(d.getMinutes())}${meridiem}`;
}

/** "0 days, 18 hours, 24 minutes, 37 seconds." */
export function uptimeSentence(seconds: number): string {
  const s = Math.floor(seconds);
  return `${Math.floor(s / 86400)} days, ${Math.floor((s % 86400) / 3600)} hours, ${Math.floor((s % 3600) / 60)} minutes, ${s % 60} seconds.`;
}

/** The root the product reports recordings under (RECORDINGPATH, FILENAME). */
export const productRecordingRoot = 'C:\\Recordings\\';

/**
 * A device ID or alias as a single, harmless path component: device IDs are free text of up to 64
 * characters, and nothing a caller sends may name a folder outside the recordings root.
 */
export function pathComponent(value: string): string {
  const cleaned = value.replace(/[^A-Za-z0-9_.-]/g, '_').replace(/^\.+/, (dots) => '_'.repeat(dots.length));
  return cleaned === '' ? '_' : cleaned;
}

/**
 * The product's file name of a recording started at `startMs` on a device:
 * `YYYYMMDD\DEVICE\DEVICE-HH-MM-SS.wav` relative to the recording root, in local time. DEVICE is
 * the alias the device is signed on with, else the device ID (as in the manual's examples).
 * `suffix` tells apart two recordings of one device started in the same second.
 */
export function recordingRelativePath(device: string, startMs: number, suffix = 0): string[] {
  const d = new Date(startMs);
  const folder = pathComponent(device);
  const day = `${d.getFullYear()}${pad2(d.getMonth() + 1)}${pad2(d.getDate())}`;
  const stem = `${folder}-${pad2(d.getHours())}-${pad2(d.getMinutes())}-${pad2(d.getSeconds())}${suffix > 0 ? `-${suffix}` : ''}`;
  return [day, folder, `${stem}.wav`];
}

/** FILENAME as the product reports it. */
export function productFilename(parts: readonly string[]): string {
  return productRecordingRoot + parts.join('\\');
}
