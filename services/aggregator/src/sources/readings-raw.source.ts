/**
 * Reads what recomputing hours needs from ClickHouse: the distinct stored readings of each
 * window (`readings_raw FINAL`), the register neighbours of new registers, and the hourly rows
 * already stored (their versions feed the hourly clock; their content marks revisions).
 */
import type { ClickHouseClient, ReadingType, Unit } from '@meterstream/core';
import type { RecomputeWindow } from '../transforms/recompute-window.js';
import type { TouchedSeries } from '../workers/tasks.js';

// Keys are validated upstream (tenant charset, hex pseudonyms, enum kinds); quoting is still
// escaped so a query can never be broken by a value.
const q = (s: string) => `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
const keyCond = (s: TouchedSeries) => `tenant = ${q(s.tenant)} AND meter = ${q(s.meter)} AND kind = ${q(s.kind)}`;
const ms = (t: number) => `fromUnixTimestamp64Milli(toInt64(${Math.round(t)}), 'UTC')`;
/** Big IN/OR lists exceed ClickHouse's default 256 KiB query size. */
const SETTINGS = { max_query_size: '67108864' };

/** One series' stored readings, column-wise, in time order (modulus 0: unknown). */
export interface StoredReadings {
  ts: number[];
  value: number[];
  offset: number[];
  readingType: ReadingType[];
  unit: Unit[];
  intervalSeconds: number[];
  modulus: number[];
}

export const seriesKey = (s: { tenant: string; meter: string; kind: string }) =>
  `${s.tenant}\u001f${s.meter}\u001f${s.kind}`;

export class ReadingsRawSource {
  constructor(
    private readonly client: ClickHouseClient,
    private readonly database: string,
  ) {}

  async #tsv(query: string): Promise<string[][]> {
    const rs = await this.client.query({ query, format: 'TabSeparated', clickhouse_settings: SETTINGS });
    const text = await rs.text();
    return text.length === 0
      ? []
      : text
          .replace(/\n$/, '')
          .split('\n')
          .map((l) => l.split('\t'));
  }

  /**
   * The stored REGISTER reading strictly before `before` and the first after `after` of each
   * series (both null when there is none).
   */
  async neighbours(
    series: { s: TouchedSeries; before: number; after: number }[],
  ): Promise<Map<string, { prev: number | null; next: number | null }>> {
    const out = new Map<string, { prev: number | null; next: number | null }>(
      series.map(({ s }) => [seriesKey(s), { prev: null, next: null }]),
    );
    // Most series have no registers at all (a hub's interval volumes): one look-up by the
    // primary key's prefix finds those that do, and only they take the per-series bounds below,
    // whose OR of conditions ClickHouse checks condition by condition.
    if (series.length === 0) return out;
    const registers = new Set(
      (
        await this.#tsv(
          `SELECT DISTINCT tenant, meter, kind FROM ${this.database}.readings_raw
           WHERE (tenant, meter, kind) IN (${seriesTuples(series.map((x) => x.s))}) AND reading_type = 'REGISTER'`,
        )
      ).map(([tenant, meter, kind]) => seriesKey({ tenant, meter, kind })),
    );
    const withRegisters = series.filter(({ s }) => registers.has(seriesKey(s)));
    if (withRegisters.length === 0) return out;
    const prevCond = withRegisters
      .map(({ s, before }) => `(${keyCond(s)} AND reading_type = 'REGISTER' AND ts < ${ms(before)})`)
      .join(' OR ');
    const nextCond = withRegisters
      .map(({ s, after }) => `(${keyCond(s)} AND reading_type = 'REGISTER' AND ts > ${ms(after)})`)
      .join(' OR ');
    const [prev, next] = await Promise.all([
      this.#tsv(
        `SELECT tenant, meter, kind, toUnixTimestamp64Milli(max(ts)) FROM ${this.database}.readings_raw WHERE ${prevCond} GROUP BY tenant, meter, kind`,
      ),
      this.#tsv(
        `SELECT tenant, meter, kind, toUnixTimestamp64Milli(min(ts)) FROM ${this.database}.readings_raw WHERE ${nextCond} GROUP BY tenant, meter, kind`,
      ),
    ]);
    for (const [tenant, meter, kind, t] of prev) out.get(seriesKey({ tenant, meter, kind }))!.prev = Number(t);
    for (const [tenant, meter, kind, t] of next) out.get(seriesKey({ tenant, meter, kind }))!.next = Number(t);
    return out;
  }

  /**
   * The distinct readings of every window, in time order per series. Windows with nearby time
   * ranges share one query (`(tenant, meter, kind) IN (...)` over the union of their ranges,
   * which uses the primary key); the extra readings a shared range brings in change no row of
   * a window, since a roll-up only emits the window's hours.
   */
  async readings(windows: RecomputeWindow[]): Promise<Map<string, StoredReadings>> {
    const out = new Map<string, StoredReadings>();
    for (const group of clusterWindows(windows, (w) => [w.readFrom, w.readTo])) {
      // One row per series with its readings as arrays: far less text than a row per reading,
      // and JSON.parse reads the arrays natively.
      const rows = await this.#tsv(
        `SELECT tenant, meter, kind, groupArray(t), groupArray(value), groupArray(source_offset),
                groupArray(reading_type), groupArray(unit), groupArray(interval_seconds), groupArray(modulus) FROM (
           SELECT tenant, meter, kind, toUnixTimestamp64Milli(ts) AS t, value, source_offset,
                  reading_type, unit, interval_seconds, ifNull(register_modulus, 0) AS modulus FROM ${this.database}.readings_raw FINAL
           WHERE (tenant, meter, kind) IN (${keyTuples(group.windows)}) AND ts >= ${ms(group.from)} AND ts < ${ms(group.to)}
           ORDER BY tenant, meter, kind, t)
         GROUP BY tenant, meter, kind`,
      );
      for (const [tenant, meter, kind, ts, value, offset, type, unit, seconds, modulus] of rows) {
        out.set(seriesKey({ tenant, meter, kind }), {
          ts: JSON.parse(ts) as number[],
          value: JSON.parse(value) as number[],
          offset: JSON.parse(offset) as number[],
          readingType: JSON.parse(type.replace(/'/g, '"')) as ReadingType[],
          unit: JSON.parse(unit.replace(/'/g, '"')) as Unit[],
          intervalSeconds: JSON.parse(seconds) as number[],
          modulus: JSON.parse(modulus) as number[],
        });
      }
    }
    return out;
  }

  /**
   * The stored row (FINAL's choice: the highest version) of each (series, hour) in the windows:
   * `${seriesKey}\u001f${hourMs}` → row. Read before the readings: its version feeds the hourly
   * clock (see hourly-clock.ts) and its content tells a revision from a rewrite.
   */
  async storedHours(windows: RecomputeWindow[]): Promise<Map<string, StoredHour>> {
    const out = new Map<string, StoredHour>();
    for (const group of clusterWindows(windows, (w) => [w.fromHour, w.toHour])) {
      const rows = await this.#tsv(
        `SELECT tenant, meter, kind, toUnixTimestamp(hour), max(version),
                argMax(tuple(value_sum, value_min, value_max, samples, coverage), version)
         FROM ${this.database}.readings_hourly
         WHERE (tenant, meter, kind) IN (${keyTuples(group.windows)}) AND hour >= toDateTime(${Math.floor(group.from / 1000)}, 'UTC') AND hour < toDateTime(${Math.ceil(group.to / 1000)}, 'UTC')
         GROUP BY tenant, meter, kind, hour`,
      );
      for (const [tenant, meter, kind, h, v, row] of rows) {
        const [sum, min, max, samples, coverage] = JSON.parse(`[${row.slice(1, -1)}]`) as number[];
        out.set(`${seriesKey({ tenant, meter, kind })}\u001f${Number(h) * 1000}`, {
          version: Number(v),
          sum,
          min,
          max,
          samples,
          coverage,
        });
      }
    }
    return out;
  }
}

/** A stored hourly row, as far as a revision is concerned. */
export interface StoredHour {
  version: number;
  sum: number;
  min: number;
  max: number;
  samples: number;
  coverage: number;
}

const seriesTuples = (series: { tenant: string; meter: string; kind: string }[]) =>
  [...new Set(series.map((s) => `(${q(s.tenant)}, ${q(s.meter)}, ${q(s.kind)})`))].join(', ');
const keyTuples = (windows: RecomputeWindow[]) => seriesTuples(windows.map((w) => w.series));

/** Windows whose ranges lie within this of each other share a query. */
const CLUSTER_GAP_MS = 2 * 86_400_000;

/** Groups windows by nearby time ranges (sorted sweep). */
export function clusterWindows(
  windows: RecomputeWindow[],
  range: (w: RecomputeWindow) => [number, number],
): { windows: RecomputeWindow[]; from: number; to: number }[] {
  const sorted = [...windows].sort((a, b) => range(a)[0] - range(b)[0]);
  const groups: { windows: RecomputeWindow[]; from: number; to: number }[] = [];
  for (const w of sorted) {
    const [from, to] = range(w);
    const last = groups[groups.length - 1];
    if (last !== undefined && from <= last.to + CLUSTER_GAP_MS) {
      last.windows.push(w);
      if (to > last.to) last.to = to;
    } else {
      groups.push({ windows: [w], from, to });
    }
  }
  return groups;
}
