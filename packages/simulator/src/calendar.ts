/**
 * Local time in the fleet's time zone (DST aware: a local day has 23, 24 or 25 hours), from
 * the platform's time zone database through `Intl`. Local days are numbered like epoch days
 * (day 0 = 1970-01-01 local), so day arithmetic is integer arithmetic.
 */

/** Milliseconds per minute. */
export const MINUTE = 60_000;
/** Milliseconds per hour. */
export const HOUR = 3_600_000;
/** Milliseconds per 24 hours (a local day may have 23 or 25 hours: use `Calendar.at`). */
export const DAY = 86_400_000;

/** Offsets are looked up per quarter hour: every real zone's transitions fall on one. */
const SLOT = 15 * MINUTE;

const mod = (a: number, n: number) => ((a % n) + n) % n;

/** Local clock arithmetic for one IANA time zone. */
export class Calendar {
  private readonly parts: Intl.DateTimeFormat;
  private readonly offsets = new Map<number, number>();

  /** Throws RangeError for a time zone the platform does not know. */
  constructor(readonly timeZone: string) {
    this.parts = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
    });
  }

  /** UTC offset (local minus UTC, ms) in force at `ts`. */
  offset(ts: number): number {
    const slot = Math.floor(ts / SLOT);
    let off = this.offsets.get(slot);
    if (off === undefined) {
      const at = slot * SLOT;
      const p: Record<string, number> = {};
      for (const part of this.parts.formatToParts(new Date(at)))
        if (part.type !== 'literal') p[part.type] = Number(part.value);
      off = Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute) - at;
      this.offsets.set(slot, off);
    }
    return off;
  }

  /** Local day number of `ts`. */
  day(ts: number): number {
    return Math.floor((ts + this.offset(ts)) / DAY);
  }

  /** Local hour of day of `ts`, 0-23. */
  hour(ts: number): number {
    return Math.floor(mod(ts + this.offset(ts), DAY) / HOUR);
  }

  /** Local time of day of `ts` in fractional hours, [0, 24). */
  hourOfDay(ts: number): number {
    return mod(ts + this.offset(ts), DAY) / HOUR;
  }

  /** The instant the local clock shows `msOfDay` on local day `day` (a time skipped by DST maps just past the gap). */
  at(day: number, msOfDay = 0): number {
    const target = day * DAY + msOfDay;
    const guess = target - this.offset(target);
    return target - this.offset(guess);
  }

  /** `YYYY-MM-DD` of local day `day`. */
  date(day: number): string {
    return new Date(day * DAY).toISOString().slice(0, 10);
  }

  /** `YYYY-MM-DD HH:MM` local, for human-readable notes. */
  format(ts: number): string {
    return new Date(ts + this.offset(ts)).toISOString().slice(0, 16).replace('T', ' ');
  }

  /** Local days lying wholly inside [from, to), in order. */
  fullDays(from: number, to: number): number[] {
    const days: number[] = [];
    let d = this.day(from);
    if (this.at(d) < from) d++;
    for (; this.at(d + 1) <= to; d++) days.push(d);
    return days;
  }
}
