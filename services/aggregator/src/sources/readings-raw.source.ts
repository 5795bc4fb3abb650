/**
 * Reads what recomputing hours needs from ClickHouse: the distinct stored readings of each
 * window (`readings_raw FINAL`), the register neighbours of new registers, and the versions of
 * the hourly rows already stored (to mark revisions).
 */
import type { ClickHouseClient } from '@meterstream/core';
import type { RecomputeWindow } from '../transforms/recompute-window.js';
import type { TouchedSeries } from '../workers/tasks.js';

// Keys are validated upstream (tenant charset, hex pseudonyms, enum kinds); quoting is still
// escaped so a query can never be broken by a value.
const q = (s: string) => `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
const keyCond = (s: TouchedSeries) => `tenant = ${q(s.tenant)} AND meter = ${q(s.meter)} AND kind = ${q(s.kind)}`;
const ms = (t: number) => `fromUnixTimestamp64Milli(toInt64(${Math.round(t)}), 'UTC')`;
/** Big IN/OR lists exceed ClickHouse's default 256 KiB query size. */
const SETTINGS = { max_query_size: '67108864' };

export const seriesKey = (s: { tenant: string; meter: string; kind: string }) => `${s.tenant}\u001f${s.meter}\u001f${s.kind}`;

export class ReadingsRawSource {
  constructor(
    private readonly client: ClickHouseClient,
    private readonly database: string,
  ) {}

  async #tsv(query: string): Promise<string[][]> {
    const rs = await this.client.query({ query, format: 'TabSeparated', clickhouse_settings: SETTINGS });
    const text = await rs.text();
    return text.length === 0 ? [] : text.replace(/\n$/, '').split('\n').map((l) => l.split('\t'));
  }

  /**
   * For registers: the stored register strictly before `before` and the first after `after` of
   * each series (both null when there is none).
   */
  async neighbours(series: { s: TouchedSeries; before: number; after: number }[]): Promise<Map<string, { prev: number | null; next: number | null }>> {
    const out = new Map<string, { prev: number | null; next: number | null }>(series.map(({ s }) => [seriesKey(s), { prev: null, next: null }]));
    if (series.length === 0) return out;
    const prevCond = series.map(({ s, before }) => `(${keyCond(s)} AND ts < ${ms(before)})`).join(' OR ');
    const nextCond = series.map(({ s, after }) => `(${keyCond(s)} AND ts > ${ms(after)})`).join(' OR ');
    const [prev, next] = await Promise.all([
      this.#tsv(`SELECT tenant, meter, kind, toUnixTimestamp64Milli(max(ts)) FROM ${this.database}.readings_raw WHERE ${prevCond} GROUP BY tenant, meter, kind`),
      this.#tsv(`SELECT tenant, meter, kind, toUnixTimestamp64Milli(min(ts)) FROM ${this.database}.readings_raw WHERE ${nextCond} GROUP BY tenant, meter, kind`),
    ]);
    for (const [tenant, meter, kind, t] of prev) out.get(seriesKey({ tenant, meter, kind }))!.prev = Number(t);
    for (const [tenant, meter, kind, t] of next) out.get(seriesKey({ tenant, meter, kind }))!.next = Number(t);
    return out;
  }

  /** The distinct readings of every window, in time order per series. */
  async readings(windows: RecomputeWindow[]): Promise<Map<string, { ts: number[]; value: number[]; offset: number[] }>> {
    const out = new Map<string, { ts: number[]; value: number[]; offset: number[] }>();
    if (windows.length === 0) return out;
    const cond = windows.map((w) => `(${keyCond(w.series)} AND ts >= ${ms(w.readFrom)} AND ts < ${ms(w.readTo)})`).join(' OR ');
    const rows = await this.#tsv(
      `SELECT tenant, meter, kind, toUnixTimestamp64Milli(ts), value, source_offset FROM ${this.database}.readings_raw FINAL WHERE ${cond} ORDER BY tenant, meter, kind, ts`,
    );
    for (const [tenant, meter, kind, t, v, o] of rows) {
      const key = seriesKey({ tenant, meter, kind });
      let s = out.get(key);
      if (s === undefined) out.set(key, (s = { ts: [], value: [], offset: [] }));
      s.ts.push(Number(t));
      s.value.push(Number(v));
      s.offset.push(Number(o));
    }
    return out;
  }

  /** Highest stored version of each (series, hour) in the windows: `${seriesKey}\u001f${hourMs}` → version. */
  async storedVersions(windows: RecomputeWindow[]): Promise<Map<string, number>> {
    const out = new Map<string, number>();
    if (windows.length === 0) return out;
    const cond = windows.map((w) => `(${keyCond(w.series)} AND hour >= toDateTime(${w.fromHour / 1000}, 'UTC') AND hour < toDateTime(${w.toHour / 1000}, 'UTC'))`).join(' OR ');
    const rows = await this.#tsv(`SELECT tenant, meter, kind, toUnixTimestamp(hour), max(version) FROM ${this.database}.readings_hourly WHERE ${cond} GROUP BY tenant, meter, kind, hour`);
    for (const [tenant, meter, kind, h, v] of rows) out.set(`${seriesKey({ tenant, meter, kind })}\u001f${Number(h) * 1000}`, Number(v));
    return out;
  }
}
