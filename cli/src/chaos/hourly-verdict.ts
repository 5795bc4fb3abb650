/**
 * The soak's verdict on the hourly rows: every (meter, kind, hour) of the reference compared with
 * readings_hourly FINAL, counted instead of stopping at the first difference, so the report says
 * how many rows were lost, doubled or otherwise wrong. The reference is the aggregator's
 * independent one (`expectedHours` of its test fleet).
 */
import { pseudonymOf } from '@meterstream/core';
import { expectedHours, type MeterSpec } from '@meterstream/aggregator/test-fleet';

/** A stored hourly row, as read with FINAL. */
export interface StoredHour {
  meter: string;
  kind: string;
  /** Start of the hour, epoch ms. */
  hour: number;
  value_sum: number;
  value_min: number;
  value_max: number;
  samples: number;
  coverage: number;
}

export interface HourlyVerdict {
  checked: number;
  /** Reference rows missing, or holding fewer samples than the distinct readings give. */
  lost: number;
  /** Rows holding more samples, or a larger sum, than the distinct readings give. */
  doubled: number;
  /** Rows with the right samples and a wrong sum, minimum, maximum or coverage. */
  wrong: number;
  /** Stored rows the reference does not have (register reset spans with no consumption aside). */
  unexpected: number;
  /** A few of the differences, for the report. */
  examples: string[];
}

const near = (a: number, b: number) => Math.abs(a - b) < 1e-6 * Math.max(1, Math.abs(b));

export function hourlyVerdict(key: Buffer, meters: readonly MeterSpec[], stored: readonly StoredHour[]): HourlyVerdict {
  const got = new Map(stored.map((r) => [`${r.meter}|${r.kind}|${r.hour}`, r]));
  const v: HourlyVerdict = { checked: 0, lost: 0, doubled: 0, wrong: 0, unexpected: 0, examples: [] };
  const note = (what: string) => v.examples.length < 5 && v.examples.push(what);
  for (const m of meters) {
    const p = pseudonymOf(key, 'default', m.meterId);
    for (const [hour, e] of expectedHours(m)) {
      v.checked++;
      const k = `${p}|${m.kind}|${hour}`;
      const g = got.get(k);
      got.delete(k);
      const where = `${m.meterId} ${new Date(hour).toISOString()}`;
      if (!g || g.samples < e.samples) {
        v.lost++;
        note(`${where}: lost (samples ${g?.samples ?? 0} of ${e.samples})`);
      } else if (g.samples > e.samples || (e.sum > 0 && g.value_sum > e.sum && !near(g.value_sum, e.sum))) {
        v.doubled++;
        note(`${where}: doubled (samples ${g.samples} for ${e.samples}, sum ${g.value_sum} for ${e.sum})`);
      } else if (
        !near(g.value_sum, e.sum) ||
        !near(g.value_min, e.min) ||
        !near(g.value_max, e.max) ||
        Math.abs(g.coverage - e.coverage) >= 1e-4
      ) {
        v.wrong++;
        note(`${where}: sum ${g.value_sum} for ${e.sum}`);
      }
    }
  }
  for (const [k, r] of got)
    if (r.samples !== 0 || r.value_sum !== 0) {
      v.unexpected++;
      note(`unexpected row ${k}`);
    }
  return v;
}

/** True when nothing was lost, doubled, wrong or unexpected. */
export function isExact(v: HourlyVerdict): boolean {
  return v.lost + v.doubled + v.wrong + v.unexpected === 0;
}
