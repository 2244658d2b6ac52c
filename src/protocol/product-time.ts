/**
 * Reading the product's times as ISO-8601. The core writes US-style local times
 * ("2/1/2011 11:49:32 AM", with " -05:00" in IMPORTUSER LIST), the SQL Server style in AGENTWINDOW
 * ("Feb 2 2011 4:53PM") and UNIX seconds elsewhere. A local time without an offset stays without
 * one in ISO form: the core does not say which zone it meant.
 */

const pad = (n: number, width = 2): string => String(n).padStart(width, '0');
const months = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];

const usStyle = /^(\d{1,2})\/(\d{1,2})\/(\d{4}) (\d{1,2}):(\d{2})(?::(\d{2}))? ?([AP]M)(?: ?([+-]\d{2}:\d{2}))?$/i;
const sqlServerStyle = /^([A-Za-z]{3}) +(\d{1,2}) +(\d{4}) +(\d{1,2}):(\d{2}) ?([AP]M)$/i;

function iso(year: number, month: number, day: number, hour12: number, minute: number, second: number, meridiem: string, offset = ''): string | undefined {
  if (month < 1 || month > 12 || day < 1 || day > 31 || hour12 < 1 || hour12 > 12 || minute > 59 || second > 59) return undefined;
  const hour = (hour12 % 12) + (meridiem.toUpperCase() === 'PM' ? 12 : 0);
  return `${pad(year, 4)}-${pad(month)}-${pad(day)}T${pad(hour)}:${pad(minute)}:${pad(second)}${offset}`;
}

/** The ISO-8601 form of a time the core wrote, or undefined when it is not one of its forms. */
export function productTimeToIso(text: string): string | undefined {
  const value = text.trim();
  const us = usStyle.exec(value);
  if (us) {
    const [, month, day, year, hour, minute, second, meridiem, offset] = us;
    return iso(Number(year), Number(month), Number(day), Number(hour), Number(minute), Number(second ?? 0), meridiem!, offset ?? '');
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
