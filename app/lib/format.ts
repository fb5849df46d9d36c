/** Dates as "2026-11-24 09:30 UTC": the same on server and browser, so hydration agrees. */
export function formatDateTime(iso: string | null): string {
  if (!iso) return "—";
  return `${iso.slice(0, 10)} ${iso.slice(11, 16)} UTC`;
}

/** The same instant where the viewer is: "2026-11-24 10:30 CET" (after hydration only). */
export function formatLocalDateTime(iso: string, timeZone?: string): string {
  const parts = partsOf(new Date(iso), "en-GB", {
    timeZone,
    year: "numeric",
    month: "2-digit",
    day: "2-digit",
    hour: "2-digit",
    minute: "2-digit",
    hourCycle: "h23",
    timeZoneName: "short",
  });
  return `${parts.year}-${parts.month}-${parts.day} ${parts.hour}:${parts.minute} ${parts.timeZoneName}`;
}

/**
 * The last millisecond of a calendar day (`2026-12-07`) where the person who picked it is
 * (an IANA zone from their browser), as an ISO instant; in UTC when the zone is unknown.
 */
export function endOfDayIn(day: string, timeZone: string | undefined): string {
  const [year, month, date] = day.split("-").map(Number) as [number, number, number];
  const utcEnd = Date.UTC(year, month - 1, date, 23, 59, 59, 999);
  // 2026-02-31 is no day (Date.UTC would roll it into March), nor is year 24 (it would be 1924).
  const back = new Date(utcEnd);
  if (year < 1000 || back.getUTCFullYear() !== year || back.getUTCMonth() !== month - 1 || back.getUTCDate() !== date) {
    throw new RangeError(`${day} is not a calendar day`);
  }
  if (!timeZone || !isTimeZone(timeZone)) return new Date(utcEnd).toISOString();
  // The zone's offset at that moment; once more at the corrected moment, for a DST change that day.
  let instant = utcEnd - offsetMs(utcEnd, timeZone);
  instant = utcEnd - offsetMs(instant, timeZone);
  return new Date(instant).toISOString();
}

function offsetMs(instant: number, timeZone: string): number {
  const parts = partsOf(new Date(instant), "en-US", {
    timeZone,
    hourCycle: "h23",
    year: "numeric",
    month: "numeric",
    day: "numeric",
    hour: "numeric",
    minute: "numeric",
    second: "numeric",
  });
  const field = (type: Intl.DateTimeFormatPartTypes) => Number(parts[type]);
  const asUtc = Date.UTC(field("year"), field("month") - 1, field("day"), field("hour"), field("minute"), field("second"));
  return asUtc - Math.floor(instant / 1000) * 1000;
}

function isTimeZone(timeZone: string): boolean {
  try {
    new Intl.DateTimeFormat("en-US", { timeZone });
    return true;
  } catch {
    return false;
  }
}

/** A date's fields as Intl writes them in a zone: `{ year: "2026", month: "12", … }`. */
function partsOf(date: Date, locale: string, options: Intl.DateTimeFormatOptions): Partial<Record<Intl.DateTimeFormatPartTypes, string>> {
  return Object.fromEntries(new Intl.DateTimeFormat(locale, options).formatToParts(date).map((part) => [part.type, part.value]));
}
