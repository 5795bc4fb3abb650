/** Messages between the aggregator's main thread and its workers. */
import type { CleanReadingBatch, ReadingType } from '@meterstream/core';

/** Decode the values of a Kafka batch: `data` holds them back to back, `bounds[i]..bounds[i+1]` is value i. */
export interface DecodeTask {
  op: 'decode';
  data: ArrayBuffer;
  bounds: Int32Array;
  now: number;
}

/** A (tenant, meter, kind) the batch touched, with the time span of its new readings. */
export type TouchedSeries = Omit<CleanReadingBatch, 'readings' | 'priceArea'> & { minTs: number; maxTs: number };

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
  readingType: ReadingType;
  intervalSeconds: number;
  start: number;
  end: number;
  fromHour: number;
  toHour: number;
}

export interface RollUpTask {
  op: 'rollup';
  meta: SeriesMeta[];
  ts: Float64Array;
  value: Float64Array;
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
  resets: number;
  rollovers: number;
}
