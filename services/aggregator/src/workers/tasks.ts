/** Messages between the aggregator's main thread and its workers. */
import type { MeterKind, Unit } from '@meterstream/core';
import type { MismatchTolerance } from '../transforms/roll-up.js';

/** Decode the values of a Kafka batch: `data` holds them back to back, `bounds[i]..bounds[i+1]` is value i. */
export interface DecodeTask {
  op: 'decode';
  data: ArrayBuffer;
  bounds: Int32Array;
  now: number;
}

/**
 * A (tenant, meter, kind) the batch touched, of every reading type, with the time span of its
 * new readings.
 */
export interface TouchedSeries {
  tenant: string;
  meter: string;
  kind: MeterKind;
  /** The kind's canonical unit, which the hourly rows are stated in. */
  unit: Unit;
  zoneId: string | null;
  /** Temperature levels (INSTANT): hours of their own, no spans. */
  instant: boolean;
  minTs: number;
  maxTs: number;
  /** The new readings change nothing at or after this time (interval ends, register + 1 ms). */
  reach: number;
  /** Longest interval among the new readings (0 when none). */
  intervalSeconds: number;
}

export interface DecodeResult {
  touched: TouchedSeries[];
  readings: number;
  /** Readings per age bucket (see LATE_BUCKETS_H). */
  late: number[];
  /** Records that cannot be read, by their index in the task: they go to the DLQ. */
  dead: { index: number; reason: string; detail: string }[];
}

/** One series of a roll-up task: readings [start, end) of the arrays, hours [fromHour, toHour). */
export interface SeriesMeta {
  start: number;
  end: number;
  fromHour: number;
  toHour: number;
}

/** Readings column-wise, values and moduli already in the canonical unit. */
export interface RollUpTask {
  op: 'rollup';
  meta: SeriesMeta[];
  tolerance: MismatchTolerance;
  /** READING_TYPE_CODES. */
  type: Uint8Array;
  ts: Float64Array;
  value: Float64Array;
  intervalSeconds: Float64Array;
  /** Register capacity, NaN when unknown. */
  modulus: Float64Array;
  offset: Float64Array;
}

/** Hourly rows, column-wise; `series[i]` indexes the task's `meta`. */
export interface RollUpResult {
  series: Int32Array;
  hour: Float64Array;
  sum: Float64Array;
  min: Float64Array;
  max: Float64Array;
  samples: Int32Array;
  firstTs: Float64Array;
  lastTs: Float64Array;
  coverage: Float64Array;
  version: Float64Array;
  /** Index into HOUR_SOURCES. */
  source: Uint8Array;
  mismatch: Uint8Array;
  resets: number;
  rollovers: number;
  /** Register/interval mismatches per series of the task (indexes `meta`). */
  mismatches: Int32Array;
}
