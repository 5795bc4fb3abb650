/**
 * Stored hourly water series (`readings_hourly FINAL`), for replaying NIGHT_FLOW and BURST
 * from before the hours a batch changed. One statement for all the meters of a batch.
 */
import type { ClickHouseClient } from '@meterstream/core';
import { seriesKey } from '../series-key.js';

/** One stored hour of a series. */
export interface StoredHour {
  hour: number;
  sum: number;
  max: number;
  samples: number;
  firstTs: number;
  lastTs: number;
  coverage: number;
  /** Where the hour's numbers came from (`UNKNOWN`: a row written before sources were kept). */
  source: string;
}

export class ReadingsHourlySource {
  constructor(
    private readonly client: ClickHouseClient,
    private readonly database: string,
  ) {}

  /** Hourly rows of the meters' water series from `from` (ms) on, ordered by hour, by {@link seriesKey}. */
  async water(meters: string[], from: number): Promise<Map<string, StoredHour[]>> {
    const rs = await this.client.query({
      query: `SELECT tenant, meter, kind, groupArray(h), groupArray(value_sum), groupArray(coverage),
                     groupArray(value_max), groupArray(samples), groupArray(f), groupArray(l), groupArray(source) FROM (
                SELECT tenant, meter, kind, toUnixTimestamp(hour) * 1000 AS h, value_sum, coverage, value_max, samples,
                       toUnixTimestamp64Milli(first_ts) AS f, toUnixTimestamp64Milli(last_ts) AS l, source
                FROM ${this.database}.readings_hourly FINAL
                WHERE meter IN {meters:Array(String)} AND kind = 'WATER' AND hour >= toDateTime({from:Int64}, 'UTC')
                ORDER BY tenant, meter, kind, h)
              GROUP BY tenant, meter, kind`,
      query_params: { meters: [...new Set(meters)], from: Math.max(0, Math.floor(from / 1000)) },
      format: 'JSONCompactEachRow',
      clickhouse_settings: { output_format_json_quote_64bit_integers: 0 },
    });
    const out = new Map<string, StoredHour[]>();
    for (const [tenant, meter, kind, h, sum, cov, max, samples, f, l, src] of await rs.json<
      [string, string, string, number[], number[], number[], number[], number[], number[], number[], string[]]
    >()) {
      out.set(
        seriesKey({ tenant, meter, kind }),
        h.map((hour, i) => ({
          hour,
          sum: sum[i],
          coverage: cov[i],
          max: max[i],
          samples: Number(samples[i]),
          firstTs: Number(f[i]),
          lastTs: Number(l[i]),
          source: src[i],
        })),
      );
    }
    return out;
  }
}
