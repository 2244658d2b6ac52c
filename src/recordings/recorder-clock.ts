/**
 * The recorder's wall clock. The product names files by the local time a recording started
 * (`20110131\1111\1111-14-39-50.au`) and keeps zone-less local times in its database, while the API
 * speaks UNIX seconds (CALLLIST's RECORDINGTIME). The recorder's zone is configured
 * (RECORDINGS_TIME_ZONE): the gateway may run in another zone, or in UTC in a container. Luxon does
 * the zone arithmetic, daylight saving included.
 */
import { DateTime, IANAZone } from 'luxon';

/** A local time of the recorder, to the second. */
export interface WallClock {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
}

export class RecorderClock {
  readonly zone: string;

  /** `zone`: an IANA name (`America/Chicago`), `UTC`, or undefined for this machine's zone. */
  constructor(zone?: string) {
    const name = zone ?? Intl.DateTimeFormat().resolvedOptions().timeZone;
    if (!IANAZone.isValidZone(name)) throw new RangeError(`${JSON.stringify(zone)} is not a time zone (an IANA name such as America/Chicago, or UTC)`);
    this.zone = name;
  }

  /** The recorder's local time at a UNIX time. */
  wallClockAt(unixSeconds: number): WallClock {
    const t = DateTime.fromSeconds(Math.floor(unixSeconds), { zone: this.zone });
    return { year: t.year, month: t.month, day: t.day, hour: t.hour, minute: t.minute, second: t.second };
  }

  /**
   * The UNIX time of a local time of the recorder. A time that occurs twice (the hour repeated when
   * daylight saving ends) reads as one of its two instants, and one that never occurs (skipped) as
   * an instant near the gap, as Luxon resolves them: a second the recorder's own clock could not tell apart either.
   */
  unixTimeOf(wall: WallClock): number {
    return Math.floor(DateTime.fromObject(wall, { zone: this.zone }).toSeconds());
  }
}

const localTimePattern = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2}):(\d{2})(?:\.\d+)?$/;

/** `2011-01-31 14:39:50` (a zone-less database time, fractions ignored) as a wall clock, or undefined. */
export function parseLocalTime(text: string): WallClock | undefined {
  const m = localTimePattern.exec(text.trim());
  if (!m) return undefined;
  const [year, month, day, hour, minute, second] = m.slice(1).map(Number) as [number, number, number, number, number, number];
  if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 59) return undefined;
  return { year, month, day, hour, minute, second };
}

const pad = (n: number, width = 2): string => String(n).padStart(width, '0');

/** `2011-01-31 14:39:50`: a wall clock as SQL engines read a zone-less time. */
export function formatLocalTime(wall: WallClock): string {
  return `${pad(wall.year, 4)}-${pad(wall.month)}-${pad(wall.day)} ${pad(wall.hour)}:${pad(wall.minute)}:${pad(wall.second)}`;
}
