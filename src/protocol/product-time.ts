/**
 * Times as the product writes them, read back: US-style "1/31/2011 2:39:49 PM", in the core's local
 * time and without a zone, or with an offset as IMPORTUSER LIST writes them ("4/12/2017 3:51:30
 * PM-05:00"). The original text always stays what the core sent; this gives an ISO-8601 reading
 * beside it where one is certain.
 */

const productTimePattern = /^(\d{1,2})\/(\d{1,2})\/(\d{4}) (\d{1,2}):(\d{2}):(\d{2}) ?([AaPp][Mm])(?: ?([+-])(\d{2}):(\d{2}))?$/;

const pad = (n: number, width = 2): string => String(n).padStart(width, '0');

function daysInMonth(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}

/**
 * "2011-01-31T14:39:49" for "1/31/2011 2:39:49 PM" (a local time of the core, so no zone is
 * invented), "2017-04-12T15:51:30-05:00" when the text carries an offset. Undefined for text that is
 * not such a time, and for the product's "no time" (.NET's minimum date, year 1).
 */
export function productTimeToIso(text: string): string | undefined {
  const m = productTimePattern.exec(text.trim());
  if (!m) return undefined;
  const [month, day, year, hour12, minute, second] = m.slice(1, 7).map(Number) as [number, number, number, number, number, number];
  if (year <= 1 || month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return undefined;
  if (hour12 < 1 || hour12 > 12 || minute > 59 || second > 59) return undefined;
  const pm = m[7]!.toUpperCase() === 'PM';
  const hour = (hour12 % 12) + (pm ? 12 : 0);
  const local = `${pad(year, 4)}-${pad(month)}-${pad(day)}T${pad(hour)}:${pad(minute)}:${pad(second)}`;
  if (m[8] === undefined) return local;
  const offsetHours = Number(m[9]);
  const offsetMinutes = Number(m[10]);
  if (offsetHours > 14 || offsetMinutes > 59) return undefined;
  return `${local}${m[8]}${m[9]}:${m[10]}`;
}
