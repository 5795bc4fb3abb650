/**
 * Stored WATER interval readings (`readings_raw FINAL`: one value per reading, its latest
 * version), in litres, for replaying BURST on the readings' own intervals. The ingestor writes
 * `readings_raw` before it commits the clean batch, so the readings of a clean batch are there
 * when the batch is read. One statement for all the meters of a batch, each from its own time.
 */
import { canonicalFactor, type ClickHouseClient, type Unit } from '@meterstream/core';
import type { BurstSpan } from '../detectors/burst.js';
import { seriesKey } from '../series-key.js';

export class WaterIntervalsSource {
  constructor(
    private readonly client: ClickHouseClient,
    private readonly database: string,
  ) {}

  /** Each meter's interval readings from its time (ms) on, ordered by time, by {@link seriesKey}. */
  async spans(from: ReadonlyMap<string, number>): Promise<Map<string, BurstSpan[]>> {
    const meters = [...from.keys()];
    const rs = await this.client.query({
      query: `SELECT tenant, meter, groupArray(t), groupArray(s), groupArray(v), groupArray(u) FROM (
                SELECT tenant, meter, toUnixTimestamp64Milli(ts) AS t, interval_seconds AS s, value AS v, unit AS u
                FROM ${this.database}.readings_raw FINAL
                WHERE meter IN {meters:Array(String)} AND kind = 'WATER' AND reading_type = 'INTERVAL'
                  AND toUnixTimestamp64Milli(ts) >= transform(meter, {meters:Array(String)}, {froms:Array(Int64)}, toInt64(0))
                ORDER BY tenant, meter, t)
              GROUP BY tenant, meter`,
      query_params: { meters, froms: meters.map((m) => Math.max(0, Math.floor(from.get(m)!))) },
      format: 'JSONCompactEachRow',
      clickhouse_settings: { output_format_json_quote_64bit_integers: 0 },
    });
    const out = new Map<string, BurstSpan[]>();
    for (const [tenant, meter, t, s, v, u] of await rs.json<[string, string, number[], number[], number[], Unit[]]>()) {
      const spans: BurstSpan[] = [];
      for (let i = 0; i < t.length; i++) {
        const start = Number(t[i]);
        if (s[i] > 0) spans.push({ start, end: start + s[i] * 1000, litres: v[i] * canonicalFactor('WATER', u[i]) });
      }
      out.set(seriesKey({ tenant, meter, kind: 'WATER' }), spans);
    }
    return out;
  }
}
