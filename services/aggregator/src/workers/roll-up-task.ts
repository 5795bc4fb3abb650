/**
 * Builds a worker's roll-up task from recompute windows and their stored readings: every
 * reading type of a series side by side, values and register capacities in the kind's
 * canonical unit (L, kWh; see `units.ts` in core), so one meter's L and m³ readings add up.
 */
import { canonicalFactor } from '@meterstream/core';
import { READING_TYPE_CODES, type MismatchTolerance } from '../transforms/roll-up.js';
import { seriesKey, type StoredReadings } from '../sources/readings-raw.source.js';
import type { RecomputeWindow } from '../transforms/recompute-window.js';
import type { RollUpTask } from './tasks.js';

export function rollUpTask(
  windows: readonly RecomputeWindow[],
  stored: ReadonlyMap<string, StoredReadings>,
  tolerance: MismatchTolerance,
): RollUpTask {
  let n = 0;
  for (const w of windows) n += stored.get(seriesKey(w.series))?.ts.length ?? 0;
  const task: RollUpTask = {
    op: 'rollup',
    meta: [],
    tolerance: { units: tolerance.units, percent: tolerance.percent },
    type: new Uint8Array(n),
    ts: new Float64Array(n),
    value: new Float64Array(n),
    intervalSeconds: new Float64Array(n),
    modulus: new Float64Array(n),
    offset: new Float64Array(n),
  };
  let at = 0;
  for (const w of windows) {
    const s = stored.get(seriesKey(w.series));
    const len = s?.ts.length ?? 0;
    if (s) {
      task.ts.set(s.ts, at);
      task.offset.set(s.offset, at);
      task.intervalSeconds.set(s.intervalSeconds, at);
      const kind = w.series.kind;
      for (let i = 0; i < len; i++) {
        const f = canonicalFactor(kind, s.unit[i]);
        task.type[at + i] = READING_TYPE_CODES[s.readingType[i]];
        task.value[at + i] = s.value[i] * f;
        // A stored capacity of 0 (NULL in readings_raw) is unknown.
        task.modulus[at + i] = s.modulus[i] > 0 ? s.modulus[i] * f : NaN;
      }
    }
    task.meta.push({ start: at, end: at + len, fromHour: w.fromHour, toHour: w.toHour });
    at += len;
  }
  return task;
}
