/**
 * Reading the product's times as ISO-8601. The core writes US-style local times
 * ("1/31/2011 2:39:49 PM", with an offset in IMPORTUSER LIST: "4/12/2017 3:51:30 PM-05:00"), the
 * SQL Server style in AGENTWINDOW ("Feb 2 2011 4:53PM") and UNIX seconds elsewhere. The original
 * text always stays what the core sent; this gives an ISO-8601 reading beside it where one is
 * certain. A local time without an offset stays without one: the core does not say which zone.
 */

const pad = (n: number, width = 2): string => String(n).padStart(width, '0');
const months = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];

const usStyle = /^(\d{1,2})\/(\d{1,2})\/(\d{4}) (\d{1,2}):(\d{2})(?::(\d{2}))? ?([AP]M)(?: ?([+-])(\d{2}):(\d{2}))?$/i;
const sqlServerStyle = /^([A-Za-z]{3}) +(\d{1,2}) +(\d{4}) +(\d{1,2}):(\d{2}) ?([AP]M)$/i;

function daysInMonth(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}

/**
 * Undefined for a date that does not exist, and for the product's "no time" (.NET's minimum date,
 * year 1).
 */
function iso(year: number, month: number, day: number, hour12: number, minute: number, second: number, meridiem: string, offset = ''): string | undefined {
  if (year <= 1 || month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return undefined;
  if (hour12 < 1 || hour12 > 12 || minute > 59 || second > 59) return undefined;
  const hour = (hour12 % 12) + (meridiem.toUpperCase() === 'PM' ? 12 : 0);
  return `${pad(year, 4)}-${pad(month)}-${pad(day)}T${pad(hour)}:${pad(minute)}:${pad(second)}${offset}`;
}

/** The ISO-8601 form of a time the core wrote, or undefined when it is not one of its forms. */
export function productTimeToIso(text: string): string | undefined {
  const value = text.trim();
  const us = usStyle.exec(value);
  if (us) {
    const [, month, day, year, hour, minute, second, meridiem, sign, offsetHours, offsetMinutes] = us;
    if (sign !== undefined && (Number(offsetHours) > 14 || Number(offsetMinutes) > 59)) return undefined;
    const offset = sign === undefined ? '' : `${sign}${offsetHours}:${offsetMinutes}`;
    return iso(Number(year), Number(month), Number(day), Number(hour), Number(minute), Number(second ?? 0), meridiem!, offset);
  }
  const sql = sqlServerStyle.exec(value);
  if (sql) {
    const [, monthName, day, year, hour, minute, meridiem] = sql;
    const month = months.indexOf(monthName!.toLowerCase()) + 1;
    return month === 0 ? undefined : iso(Number(year), month, Number(day), Number(hour), Number(minute), 0, meridiem!);
  }
  return undefined;
}

/** UNIX seconds as an ISO-8601 UTC time, or undefined when the text is not a plausible one. */
export function unixTimeToIso(text: string): string | undefined {
  if (!/^-?\d{1,12}$/.test(text.trim())) return undefined;
  const date = new Date(Number(text) * 1000);
  return Number.isNaN(date.getTime()) ? undefined : date.toISOString().replace('.000Z', 'Z');
}

/** An ISO-8601 date-time (or date) as UNIX seconds, or undefined. */
export function isoToUnixTime(text: string): number | undefined {
  if (!/^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?$/i.test(text.trim())) return undefined;
  const ms = Date.parse(text.trim());
  return Number.isNaN(ms) ? undefined : Math.floor(ms / 1000);
}
