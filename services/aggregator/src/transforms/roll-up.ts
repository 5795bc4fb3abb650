/**
 * The hourly roll-up of one series (tenant, meter, kind): a pure function of its distinct
 * readings, of every reading type and already in the kind's canonical unit (`units.ts` in
 * core), so the same readings always give the same rows whatever order or batches they came
 * in (the basis of the aggregator's exactness: recomputing an hour is idempotent).
 *
 * - INTERVAL readings are consumption: the amount consumed in [ts, ts + interval), split pro
 *   rata by the seconds it spends in each hour.
 * - REGISTER readings give consumption as the difference of consecutive registers (a span),
 *   but only where no interval covers the span: the difference minus the intervals inside the
 *   span is spread over the span's uncovered time. A span the intervals cover entirely is a
 *   reconciliation: the intervals stand, and a difference that disagrees with their sum by more
 *   than the tolerance is a mismatch, counted and flagged on the span's hours. A span whose
 *   partial intervals already exceed its difference beyond the tolerance is a mismatch too.
 * - A falling register is a rollover only where the register's capacity (`modulus`) is known:
 *   consumption = modulus - previous + next. Otherwise it is a reset or meter change: counted,
 *   no consumption invented; the span's time stays uncovered (coverage < 1), though intervals
 *   inside it still count.
 * - INSTANT (temperature): min, max and sum (mean = sum / samples) of the levels in the hour.
 *
 * Hours are UTC. min/max of consumption hours are over the contributions to the hour.
 */

import type { HourSource as CoreHourSource } from '@meterstream/core';

export const HOUR_MS = 3_600_000;

/** Reading types as codes in the typed arrays between threads. */
export const READING_TYPE_CODES = { INTERVAL: 0, REGISTER: 1, INSTANT: 2 } as const;

/** Where an hour's numbers came from. */
export type HourSource = Exclude<CoreHourSource, 'UNKNOWN'>;
export const HOUR_SOURCES: readonly HourSource[] = ['INTERVALS', 'REGISTERS', 'MIXED', 'INSTANTS'];

/** One series' readings, sorted by time; distinct by (type, ts). Values in the canonical unit. */
export interface Series {
  /** READING_TYPE_CODES per reading. */
  type: ArrayLike<number>;
  ts: ArrayLike<number>;
  value: ArrayLike<number>;
  /** INTERVAL readings: seconds the value covers (0 otherwise). */
  intervalSeconds: ArrayLike<number>;
  /** REGISTER readings: the register's capacity in the canonical unit, NaN when unknown. */
  modulus: ArrayLike<number>;
  /** Version of each reading (its latest delivery); a row's version is the max behind it. */
  offset: ArrayLike<number>;
}

/** Tolerance of the register/interval reconciliation: max(units, percent % of the intervals). */
export interface MismatchTolerance {
  units: number;
  percent: number;
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
   * Highest version among the readings behind the row, including the intervals inside a
   * register span that reaches the hour (they decide the span's remainder): a reading that
   * changes the row is delivered later, so the version grows with every change.
   */
  version: number;
  source: HourSource;
  /** A register span reaching into the hour disagrees with the intervals covering it. */
  mismatch: boolean;
}

/** The result of a roll-up (counts are of register spans reaching into the requested hours). */
export interface RollUp {
  rows: HourRow[];
  rollovers: number;
  resets: number;
  mismatches: number;
}

interface Acc extends HourRow {
  intervals: boolean;
  registers: boolean;
  instants: boolean;
}

class HourBuilder {
  readonly rows = new Map<number, Acc>();

  /** The hour's row, created (empty) on first touch; touching raises its version. */
  touch(hour: number, version: number, ts: number): Acc {
    let r = this.rows.get(hour);
    if (r === undefined) {
      r = {
        hour,
        sum: 0,
        min: 0,
        max: 0,
        samples: 0,
        firstTs: ts,
        lastTs: ts,
        coverage: 0,
        version,
        source: 'REGISTERS',
        mismatch: false,
        intervals: false,
        registers: false,
        instants: false,
      };
      this.rows.set(hour, r);
    }
    if (version > r.version) r.version = version;
    return r;
  }

  add(r: Acc, amount: number, coveredMs: number, firstTs: number, lastTs: number): void {
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

  result(fromHour: number, toHour: number): HourRow[] {
    return [...this.rows.values()]
      .filter((r) => r.hour >= fromHour && r.hour < toHour)
      .sort((a, b) => a.hour - b.hour)
      .map(({ intervals, registers, instants, ...r }) => ({
        ...r,
        coverage: Math.min(1, Math.round(r.coverage * 1e9) / 1e9),
        source: instants ? 'INSTANTS' : intervals && registers ? 'MIXED' : intervals ? 'INTERVALS' : 'REGISTERS',
      }));
  }
}

const floorHour = (t: number) => Math.floor(t / HOUR_MS) * HOUR_MS;

/** Time of [a, b) inside the sorted disjoint segments [starts[k], ends[k]). */
function coveredWithin(starts: number[], ends: number[], a: number, b: number): number {
  let lo = 0;
  let hi = ends.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (ends[mid] <= a) lo = mid + 1;
    else hi = mid;
  }
  let covered = 0;
  for (let k = lo; k < starts.length && starts[k] < b; k++) covered += Math.min(b, ends[k]) - Math.max(a, starts[k]);
  return covered;
}

/**
 * Rolls up a series into the hours [fromHour, toHour) (epoch ms, hour-aligned; default all).
 * Readings outside the range still matter (an interval or register span reaching into it).
 */
export function rollUp(
  series: Series,
  fromHour = -Infinity,
  toHour = Infinity,
  tolerance: MismatchTolerance = { units: 1, percent: 2 },
): RollUp {
  const b = new HourBuilder();
  const { type, ts, value, offset } = series;
  const ivs: number[] = [];
  const regs: number[] = [];
  for (let i = 0; i < ts.length; i++) {
    if (type[i] === READING_TYPE_CODES.INTERVAL) ivs.push(i);
    else if (type[i] === READING_TYPE_CODES.REGISTER) regs.push(i);
    else {
      const r = b.touch(floorHour(ts[i]), offset[i], ts[i]);
      b.add(r, value[i], HOUR_MS, ts[i], ts[i]);
      r.instants = true;
    }
  }

  // Intervals, and the time they cover as sorted disjoint segments.
  const ivEnd = ivs.map((i) => ts[i] + series.intervalSeconds[i] * 1000);
  const segStart: number[] = [];
  const segEnd: number[] = [];
  let maxLen = 0;
  ivs.forEach((i, k) => {
    const from = ts[i];
    const to = ivEnd[k];
    maxLen = Math.max(maxLen, to - from);
    for (let h = floorHour(from); h < to; h += HOUR_MS) {
      const covered = Math.min(to, h + HOUR_MS) - Math.max(from, h);
      const r = b.touch(h, offset[i], from);
      b.add(r, (value[i] * covered) / (to - from), covered, from, from);
      r.intervals = true;
    }
    if (segEnd.length > 0 && from <= segEnd[segEnd.length - 1]) {
      segEnd[segEnd.length - 1] = Math.max(segEnd[segEnd.length - 1], to);
    } else {
      segStart.push(from);
      segEnd.push(to);
    }
  });

  let rollovers = 0;
  let resets = 0;
  let mismatches = 0;
  let first = 0; // first interval that may reach the current span (starts after t0 - maxLen)
  for (let k = 1; k < regs.length; k++) {
    const p = regs[k - 1];
    const n = regs[k];
    const t0 = ts[p];
    const t1 = ts[n];
    const inWindow = t1 > fromHour && t0 < toHour;
    // The intervals inside the span: their amount there, and the highest version behind it.
    let version = Math.max(offset[p], offset[n]);
    let inside = 0;
    while (first < ivs.length && ts[ivs[first]] <= t0 - maxLen) first++;
    for (let j = first; j < ivs.length && ts[ivs[j]] < t1; j++) {
      const overlap = Math.min(t1, ivEnd[j]) - Math.max(t0, ts[ivs[j]]);
      if (overlap <= 0) continue;
      inside += (value[ivs[j]] * overlap) / (ivEnd[j] - ts[ivs[j]]);
      if (offset[ivs[j]] > version) version = offset[ivs[j]];
    }
    let delta = value[n] - value[p];
    if (delta < 0) {
      const modulus = series.modulus[p];
      if (Number.isFinite(modulus) && value[p] < modulus && value[n] < modulus) {
        delta = modulus - value[p] + value[n];
        if (inWindow) rollovers++;
      } else {
        // A reset or meter change: what was consumed across it is unknown; only its
        // intervals speak for it. Its hours are touched, so a row that loses consumption is
        // rewritten.
        if (inWindow) resets++;
        for (let h = floorHour(t0); h < t1; h += HOUR_MS) b.touch(h, version, t0);
        continue;
      }
    }
    const span = t1 - t0;
    const covered = coveredWithin(segStart, segEnd, t0, t1);
    const remainder = delta - inside;
    const tol = Math.max(tolerance.units, (tolerance.percent / 100) * Math.abs(inside));
    const mismatch = covered === span ? Math.abs(remainder) > tol : covered > 0 && remainder < -tol;
    if (mismatch && inWindow) mismatches++;
    const spread = Math.max(0, remainder);
    for (let h = floorHour(t0); h < t1; h += HOUR_MS) {
      const a = Math.max(t0, h);
      const z = Math.min(t1, h + HOUR_MS);
      const r = b.touch(h, version, a);
      if (mismatch) r.mismatch = true;
      const uncovered = z - a - (covered === 0 ? 0 : coveredWithin(segStart, segEnd, a, z));
      if (uncovered <= 0) continue;
      b.add(r, (spread * uncovered) / (span - covered), uncovered, t0, t1);
      r.registers = true;
    }
  }
  return { rows: b.result(fromHour, toHour), rollovers, resets, mismatches };
}
