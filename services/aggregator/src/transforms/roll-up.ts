/**
 * The hourly roll-up of one meter's readings: a pure function of the distinct readings, so the
 * same readings always give the same rows whatever order or batches they came in (the basis
 * of the aggregator's exactness: recomputing an hour from its distinct readings is idempotent).
 *
 * - INTERVAL: the amount consumed in [ts, ts + interval); an interval straddling hours is split
 *   pro rata by the seconds it spends in each.
 * - REGISTER: consumption is the difference of consecutive registers, spread pro rata over the
 *   time between them. A falling register is a rollover when it wraps a power of ten from the
 *   top decile to the bottom one, otherwise a reset or meter change: no consumption is invented
 *   for that span, which stays uncovered (never negative consumption); both are counted.
 * - INSTANT (temperature): min, max and sum (mean = sum / samples) of the levels in the hour.
 *
 * Hours are UTC. min/max of INTERVAL and REGISTER hours are over the contributions to the hour.
 */

export const HOUR_MS = 3_600_000;

/** One meter's readings, sorted by time, distinct by time. */
export interface Series {
  readingType: 'INTERVAL' | 'REGISTER' | 'INSTANT';
  intervalSeconds: number;
  ts: ArrayLike<number>;
  value: ArrayLike<number>;
  /** Source offset of each reading (its latest delivery); a row's version is their max. */
  offset: ArrayLike<number>;
}

/** One hourly row. */
export interface HourRow {
  /** Start of the hour, epoch ms (UTC). */
  hour: number;
  sum: number;
  min: number;
  max: number;
  /** Readings (or register spans) that contributed. */
  samples: number;
  /** Earliest and latest contributing reading time. */
  firstTs: number;
  lastTs: number;
  /** Share of the hour covered by the readings (0..1); INSTANT: 1 when there is a sample. */
  coverage: number;
  /**
   * Highest source offset among the readings behind the row. Every reading that changes the
   * row arrives later on the same partition, hence with a higher offset: the version grows
   * with every change and only with a change, which is what ReplacingMergeTree needs.
   */
  version: number;
}

/** The result of a roll-up. */
export interface RollUp {
  rows: HourRow[];
  /** Falling registers read as rollovers / as resets or meter changes. */
  rollovers: number;
  resets: number;
}

class HourBuilder {
  readonly rows = new Map<number, HourRow>();

  /** Adds a contribution; `sample: false` only marks the hour as touched (a reset span). */
  add(
    hour: number,
    amount: number,
    coveredMs: number,
    firstTs: number,
    lastTs: number,
    version: number,
    sample = true,
  ): void {
    let r = this.rows.get(hour);
    if (r === undefined) {
      r = { hour, sum: 0, min: amount, max: amount, samples: 0, firstTs, lastTs, coverage: 0, version };
      this.rows.set(hour, r);
    }
    if (version > r.version) r.version = version;
    if (!sample) return;
    if (r.samples === 0) {
      r.min = amount;
      r.max = amount;
      r.firstTs = firstTs;
      r.lastTs = lastTs;
    }
    r.sum += amount;
    if (amount < r.min) r.min = amount;
    if (amount > r.max) r.max = amount;
    r.samples++;
    if (firstTs < r.firstTs) r.firstTs = firstTs;
    if (lastTs > r.lastTs) r.lastTs = lastTs;
    r.coverage += coveredMs / HOUR_MS;
  }

  /** Spreads `amount` over [from, to) pro rata across the hours it touches. */
  spread(
    from: number,
    to: number,
    amount: number,
    firstTs: number,
    lastTs: number,
    version: number,
    sample = true,
  ): void {
    const span = to - from;
    for (let h = Math.floor(from / HOUR_MS) * HOUR_MS; h < to; h += HOUR_MS) {
      const covered = Math.min(to, h + HOUR_MS) - Math.max(from, h);
      this.add(h, span === 0 ? amount : (amount * covered) / span, covered, firstTs, lastTs, version, sample);
    }
  }

  result(fromHour: number, toHour: number): HourRow[] {
    return [...this.rows.values()]
      .filter((r) => r.hour >= fromHour && r.hour < toHour)
      .sort((a, b) => a.hour - b.hour)
      .map((r) => ({ ...r, coverage: Math.min(1, Math.round(r.coverage * 1e9) / 1e9) }));
  }
}

/**
 * A falling register: the wrap modulus when it looks like a rollover (previous value in the
 * top tenth below a power of ten, next in the bottom tenth), else null.
 */
export function rolloverModulus(previous: number, next: number): number | null {
  if (previous <= 0) return null;
  const modulus = 10 ** Math.ceil(Math.log10(previous + 1));
  return previous >= 0.9 * modulus && next < 0.1 * modulus ? modulus : null;
}

/**
 * Rolls up a series into the hours [fromHour, toHour) (epoch ms, hour-aligned; default all).
 * Readings outside the range still matter (an interval or register span reaching into it).
 */
export function rollUp(series: Series, fromHour = -Infinity, toHour = Infinity): RollUp {
  const b = new HourBuilder();
  const { ts, value, offset } = series;
  let rollovers = 0;
  let resets = 0;
  if (series.readingType === 'INTERVAL') {
    const len = series.intervalSeconds * 1000;
    for (let i = 0; i < ts.length; i++) b.spread(ts[i], ts[i] + len, value[i], ts[i], ts[i], offset[i]);
  } else if (series.readingType === 'REGISTER') {
    for (let i = 1; i < ts.length; i++) {
      let delta = value[i] - value[i - 1];
      if (delta < 0) {
        const modulus = rolloverModulus(value[i - 1], value[i]);
        if (modulus !== null) {
          delta = modulus - value[i - 1] + value[i];
          rollovers++;
        } else {
          // Consumption across a reset is unknown: the span stays uncovered (coverage < 1),
          // but its hours are still touched, so a row that loses its consumption is rewritten.
          resets++;
          b.spread(ts[i - 1], ts[i], 0, ts[i - 1], ts[i], Math.max(offset[i - 1], offset[i]), false);
          continue;
        }
      }
      b.spread(ts[i - 1], ts[i], delta, ts[i - 1], ts[i], Math.max(offset[i - 1], offset[i]));
    }
  } else {
    for (let i = 0; i < ts.length; i++)
      b.add(Math.floor(ts[i] / HOUR_MS) * HOUR_MS, value[i], HOUR_MS, ts[i], ts[i], offset[i]);
  }
  return { rows: b.result(fromHour, toHour), rollovers, resets };
}
