/**
 * Which hours a batch of new readings can change, and which stored readings recomputing them
 * needs. Pure. An hour's row is a function of the distinct readings that reach into it, so
 * recomputing every touched hour from `readings_raw` after the new readings are stored there
 * gives the exact row, whatever arrived before, twice, late or out of order.
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

const floorHour = (t: number) => Math.floor(t / HOUR_MS) * HOUR_MS;
const ceilHour = (t: number) => Math.ceil(t / HOUR_MS) * HOUR_MS;

/**
 * The window of a touched series. Registers need their neighbours: the register before the
 * earliest new one and the one after the latest (`prev` / `next`, when stored), since the
 * consumption between them is spread over the hours in between.
 */
export function recomputeWindow(
  s: TouchedSeries,
  neighbours?: { prev: number | null; next: number | null },
): RecomputeWindow {
  if (s.readingType === 'INTERVAL') {
    const len = s.intervalSeconds * 1000;
    const fromHour = floorHour(s.minTs);
    // Any stored interval starting after fromHour - len reaches into the first hour.
    return {
      series: s,
      fromHour,
      toHour: ceilHour(s.maxTs + len),
      readFrom: fromHour - len + 1,
      readTo: ceilHour(s.maxTs + len),
    };
  }
  if (s.readingType === 'REGISTER') {
    const from = neighbours?.prev ?? s.minTs;
    const to = neighbours?.next ?? s.maxTs;
    return {
      series: s,
      fromHour: floorHour(from),
      toHour: Math.max(ceilHour(to), floorHour(from) + HOUR_MS),
      readFrom: from,
      readTo: to + 1,
    };
  }
  const fromHour = floorHour(s.minTs);
  const toHour = floorHour(s.maxTs) + HOUR_MS;
  return { series: s, fromHour, toHour, readFrom: fromHour, readTo: toHour };
}
