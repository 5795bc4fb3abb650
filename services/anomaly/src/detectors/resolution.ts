/**
 * What an hourly row's readings can show. The row carries no interval length, but its
 * contributions' times bound it: an interval reading covering the hour started within the hour
 * before it, and a register span reaching the hour ends at most an hour after it. A once-a-day
 * reading spread over 24 hours fails one of the two on every hour but its first, and tells
 * nothing of the night (DOMAIN.md, "Resolution limits what a detector can see").
 */

const H = 3_600_000;

/** The hourly row fields the judgement needs. */
export interface RowResolution {
  hour: number;
  samples: number;
  firstTs: number;
  lastTs: number;
  coverage: number;
}

/** True when the hour is covered by readings of 1 hour or finer. */
export function hourlyOrFiner(r: RowResolution): boolean {
  return r.samples > 0 && r.hour - r.firstTs < H && r.lastTs - r.hour <= H;
}

/** Mean length (ms) of the readings behind the hour: 15 minutes for quarter-hour intervals. */
export function meanReadingMs(r: RowResolution): number {
  return r.samples > 0 ? (r.coverage * H) / r.samples : Infinity;
}
