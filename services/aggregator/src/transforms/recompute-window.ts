/**
 * Which hours a batch of new readings can change, and which stored readings recomputing them
 * needs. Pure. An hour's row is a function of the distinct readings that reach into it, so
 * recomputing every touched hour from `readings_raw` after the new readings are stored there
 * gives the exact row, whatever arrived before, twice, late or out of order.
 *
 * A consumption series (anything but temperature) is one series of every reading type: a new
 * interval changes the remainder of the register span around it, so every hour of that span;
 * a new register changes the spans on both sides of it. The windows are therefore bounded by
 * the stored registers around the new readings (`near`), and read from the registers around
 * those hours (`outer`), with the intervals that reach into those spans.
 */
import { HOUR_MS } from './roll-up.js';
import type { TouchedSeries } from '../workers/tasks.js';

/** Hours [fromHour, toHour) to recompute, from readings with ts in [readFrom, readTo). */
export interface RecomputeWindow {
  series: TouchedSeries;
  fromHour: number;
  toHour: number;
  readFrom: number;
  readTo: number;
}

/** The stored registers of a series strictly before and after a time range (null: none). */
export interface Neighbours {
  prev: number | null;
  next: number | null;
}

const DAY_MS = 86_400_000;
const floorHour = (t: number) => Math.floor(t / HOUR_MS) * HOUR_MS;
const ceilHour = (t: number) => Math.ceil(t / HOUR_MS) * HOUR_MS;

/** Where to look for the registers around a touched consumption series' new readings. */
export function nearRange(s: TouchedSeries): { before: number; after: number } {
  return { before: s.minTs, after: s.reach - 1 };
}

/**
 * The window of a touched series: its hours from the registers `near` its new readings, and
 * the stored readings those hours need given the registers `outer` to the hours (the spans
 * reaching into the first and last hour). Temperatures need neither.
 */
export function recomputeWindow(s: TouchedSeries, near?: Neighbours, outer?: Neighbours): RecomputeWindow {
  if (s.instant) {
    const fromHour = floorHour(s.minTs);
    const toHour = floorHour(s.maxTs) + HOUR_MS;
    return { series: s, fromHour, toHour, readFrom: fromHour, readTo: toHour };
  }
  const fromHour = floorHour(near?.prev ?? s.minTs);
  const toHour = Math.max(ceilHour(Math.max(near?.next ?? s.reach, s.reach)), fromHour + HOUR_MS);
  const len = s.intervalSeconds * 1000;
  // Intervals that reach into the first hour; with a register span reaching into it from
  // before, every interval inside that span (at most a day long: intervals divide a day).
  const outerPrev = outer?.prev ?? null;
  const readFrom = outerPrev === null ? fromHour - len : Math.min(fromHour - len, outerPrev - DAY_MS);
  return { series: s, fromHour, toHour, readFrom, readTo: (outer?.next ?? toHour) + 1 };
}
