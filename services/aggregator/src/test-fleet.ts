/**
 * A random fleet and its deliveries for the aggregator's exactness tests, with an independent
 * reference computation of the hourly rows. Test support only.
 */
import assert from 'node:assert/strict';
import { prng } from '@meterstream/simulator';
import { utcDaysAgo } from '@meterstream/core/testing';
import {
  pseudonymOf,
  type AvroCodec,
  type ClickHouseClient,
  type MeterKind,
  type MeterReading,
  type MeterReadingBatch,
  type Quality,
  type ReadingType,
  type Unit,
} from '@meterstream/core';

const H = 3_600_000;

export interface MeterSpec {
  meterId: string;
  kind: MeterKind;
  unit: Unit;
  readingType: ReadingType;
  intervalSeconds: number;
  /** The distinct truth: ts → value (after corrections). */
  truth: Map<number, number>;
}

/** Independent reference: each hour from first principles, minute by minute where it helps. */
export function expectedHours(
  m: MeterSpec,
): Map<number, { sum: number; min: number; max: number; samples: number; coverage: number }> {
  const out = new Map<number, { sum: number; min: number; max: number; samples: number; coverage: number }>();
  const put = (hour: number, amount: number, coveredMs: number) => {
    const e = out.get(hour) ?? { sum: 0, min: Infinity, max: -Infinity, samples: 0, coverage: 0 };
    e.sum += amount;
    e.min = Math.min(e.min, amount);
    e.max = Math.max(e.max, amount);
    e.samples += 1;
    e.coverage += coveredMs / H;
    out.set(hour, e);
  };
  const points = [...m.truth].sort((a, b) => a[0] - b[0]);
  if (m.readingType === 'INSTANT') {
    for (const [ts, v] of points) put(ts - (ts % H), v, H);
  } else if (m.readingType === 'INTERVAL') {
    const len = m.intervalSeconds * 1000;
    for (const [ts, v] of points) {
      for (let hour = ts - (ts % H); hour < ts + len; hour += H) {
        const overlap = Math.min(ts + len, hour + H) - Math.max(ts, hour);
        put(hour, (v * overlap) / len, overlap);
      }
    }
  } else {
    for (let i = 1; i < points.length; i++) {
      const [t0, v0] = points[i - 1];
      const [t1, v1] = points[i];
      let delta = v1 - v0;
      // The spec: without a stated register capacity (these meters state none) any fall is a
      // reset or meter change, with no consumption, even one that looks like a wrap.
      if (delta < 0) continue;
      for (let hour = t0 - (t0 % H); hour < t1; hour += H) {
        const overlap = Math.min(t1, hour + H) - Math.max(t0, hour);
        put(hour, (delta * overlap) / (t1 - t0), overlap);
      }
    }
  }
  for (const e of out.values()) e.coverage = Math.min(1, e.coverage);
  return out;
}

/** A fleet of `size` meters (water interval, quarter-hour electricity, water registers, temperature) over two days, in three delivery rounds: most readings shuffled, the late rest, corrections; duplicates throughout. */
export function generateFleet(
  codec: AvroCodec,
  seed: number,
  size = 24,
): { meters: MeterSpec[]; rounds: { key: string; value: Buffer }[][] } {
  const rnd = prng(seed);
  const day0 = utcDaysAgo(7); // the seed decides the data; the days move with today, inside every retention
  const meters: MeterSpec[] = [];
  const rounds: { key: string; value: Buffer }[][] = [[], [], []];
  const send = (round: number, m: MeterSpec, readings: { ts: number; value: number; quality: Quality }[]) => {
    const header = {
      meterId: m.meterId,
      tenant: 'default',
      kind: m.kind,
      unit: m.unit,
      readingType: m.readingType,
      intervalSeconds: m.intervalSeconds,
      zoneId: null,
      priceArea: null,
    };
    // Split into singles and batches of random size.
    let i = 0;
    while (i < readings.length) {
      const n = rnd() < 0.4 ? 1 : 1 + Math.floor(rnd() * 30);
      const part = readings.slice(i, i + n);
      i += n;
      const value =
        part.length === 1 && rnd() < 0.7
          ? codec.encodeSingleObject('MeterReading', { ...header, ...part[0] } as MeterReading)
          : codec.encodeSingleObject('MeterReadingBatch', { ...header, readings: part } as MeterReadingBatch);
      rounds[round].push({ key: m.meterId, value });
      if (rnd() < 0.2) rounds[Math.min(2, round + (rnd() < 0.5 ? 0 : 1))].push({ key: m.meterId, value }); // a duplicate, now or later
    }
  };
  for (let i = 0; i < 24; i++) {
    const type = i % 4;
    const m: MeterSpec =
      type === 0
        ? {
            meterId: `W${i}`,
            kind: 'WATER',
            unit: 'L',
            readingType: 'INTERVAL',
            intervalSeconds: 3600,
            truth: new Map(),
          }
        : type === 1
          ? {
              meterId: `E${i}`,
              kind: 'ELECTRICITY_IMPORT',
              unit: 'KWH',
              readingType: 'INTERVAL',
              intervalSeconds: 900,
              truth: new Map(),
            }
          : type === 2
            ? {
                meterId: `R${i}`,
                kind: 'WATER',
                unit: 'L',
                readingType: 'REGISTER',
                intervalSeconds: 0,
                truth: new Map(),
              }
            : {
                meterId: `T${i}`,
                kind: 'TEMPERATURE',
                unit: 'CELSIUS',
                readingType: 'INSTANT',
                intervalSeconds: 0,
                truth: new Map(),
              };
    meters.push(m);
    const readings: { ts: number; value: number; quality: Quality }[] = [];
    if (m.readingType === 'INTERVAL') {
      const step = m.intervalSeconds * 1000;
      // Two days, with a random gap, and one odd 30-minute offset start for hour straddling.
      const offset = i % 3 === 0 ? 30 * 60_000 : 0;
      for (let ts = day0 + offset; ts < day0 + 48 * H; ts += step)
        if (rnd() > 0.05) readings.push({ ts, value: Math.round(rnd() * 1000) / 100, quality: 'MEASURED' });
    } else if (m.readingType === 'REGISTER') {
      let v = i % 8 === 2 ? 99_000 : 500;
      for (let ts = day0; ts < day0 + 48 * H; ts += (20 + Math.floor(rnd() * 80)) * 60_000) {
        v += Math.round(rnd() * 300);
        if (v >= 100_000) v -= 100_000; // rollover
        if (i % 8 === 6 && ts > day0 + 30 * H && ts < day0 + 32 * H && v > 100) v = 7; // a meter change
        readings.push({ ts, value: v, quality: 'MEASURED' });
      }
    } else {
      for (let ts = day0; ts < day0 + 48 * H; ts += (5 + Math.floor(rnd() * 40)) * 60_000)
        readings.push({ ts, value: Math.round((rnd() * 30 - 5) * 10) / 10, quality: 'MEASURED' });
    }
    for (const r of readings) m.truth.set(r.ts, r.value);
    // Round 0: most readings, shuffled; round 1: the rest, late; round 2: corrections.
    const shuffled = readings
      .map((r) => ({ r, k: rnd() }))
      .sort((a, b) => a.k - b.k)
      .map((x) => x.r);
    const cut = Math.floor(shuffled.length * 0.8);
    send(0, m, shuffled.slice(0, cut));
    send(
      1,
      m,
      shuffled.slice(cut).sort((a, b) => a.ts - b.ts),
    );
    if (m.readingType !== 'REGISTER') {
      const corrections = shuffled
        .filter(() => rnd() < 0.05)
        .map((r) => ({ ...r, value: Math.round(rnd() * 500) / 100, quality: 'CORRECTED' as const }));
      for (const c of corrections) m.truth.set(c.ts, c.value);
      send(2, m, corrections);
    }
  }
  for (const round of rounds) round.sort(() => rnd() - 0.5);
  return { meters, rounds };
}

/** Compares readings_hourly FINAL with the reference; returns the number of rows checked. */
export async function assertHourlyExact(
  clickhouse: ClickHouseClient,
  db: string,
  key: Buffer,
  meters: MeterSpec[],
): Promise<{ checked: number; rows: { meter: string; kind: string; hour: number; version: number }[] }> {
  const rs = await clickhouse.query({
    query: `SELECT meter, kind, toUnixTimestamp(hour) * 1000 AS hour, value_sum, value_min, value_max, samples, coverage, version FROM ${db}.readings_hourly FINAL`,
    format: 'JSONEachRow',
    clickhouse_settings: { output_format_json_quote_64bit_integers: 0 },
  });
  const rows = await rs.json<{
    meter: string;
    kind: string;
    hour: number;
    value_sum: number;
    value_min: number;
    value_max: number;
    samples: number;
    coverage: number;
    version: number;
  }>();
  const got = new Map(rows.map((r) => [`${r.meter}|${r.kind}|${r.hour}`, r]));
  let checked = 0;
  for (const m of meters) {
    const p = pseudonymOf(key, 'default', m.meterId);
    for (const [hour, e] of expectedHours(m)) {
      const g = got.get(`${p}|${m.kind}|${hour}`);
      const where = `${m.meterId} ${m.readingType} at ${new Date(hour).toISOString()}`;
      // Say whether the hour's readings are stored (a stale or missing row) or were lost on the way in.
      const stored = async () => {
        const raw = await clickhouse.query({
          query: `SELECT count() AS n, groupArray(toUnixTimestamp64Milli(ts)) AS times, groupArray(value) AS vals,
                    max(ingested_at) AS lastIngest FROM ${db}.readings_raw FINAL
                  WHERE meter = {m:String} AND ts >= fromUnixTimestamp64Milli({from:Int64}, 'UTC')
                    AND ts < fromUnixTimestamp64Milli({to:Int64}, 'UTC')`,
          query_params: { m: p, from: hour, to: hour + 3_600_000 },
          format: 'JSONEachRow',
        });
        return `readings_raw in the hour: ${JSON.stringify(await raw.json())}`;
      };
      if (!g) assert.fail(`${where}: row missing (${await stored()})`);
      if (!(Math.abs(g.value_sum - e.sum) < 1e-6 * Math.max(1, Math.abs(e.sum)))) {
        assert.fail(
          `${where}: sum ${g.value_sum} != ${e.sum} (row samples ${g.samples} vs ${e.samples}, version ${g.version}; ${await stored()})`,
        );
      }
      assert.ok(Math.abs(g.value_min - e.min) < 1e-6 && Math.abs(g.value_max - e.max) < 1e-6, `${where}: min/max`);
      assert.equal(g.samples, e.samples, `${where}: samples`);
      assert.ok(Math.abs(g.coverage - e.coverage) < 1e-4, `${where}: coverage ${g.coverage} != ${e.coverage}`);
      got.delete(`${p}|${m.kind}|${hour}`);
      checked++;
    }
  }
  // Rows left over may only be register reset spans (touched, no consumption).
  for (const [k, r] of got) assert.ok(r.samples === 0 && r.value_sum === 0, `unexpected row ${k}`);

  return { checked, rows };
}
