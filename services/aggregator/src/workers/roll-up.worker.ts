/**
 * The aggregator's CPU work, in piscina worker threads: decoding clean batches into the series
 * they touch, and rolling series up into hourly rows. Buffers arrive and leave transferred
 * (moved, not copied); the main thread keeps Kafka, ClickHouse and the state.
 */
import { AvroCodec, canonicalUnit, type CleanReadingBatch } from '@meterstream/core';
import { rollUp, HOUR_MS, HOUR_SOURCES } from '../transforms/roll-up.js';
import type { DecodeTask, DecodeResult, RollUpTask, RollUpResult, TouchedSeries } from './tasks.js';

const codec = new AvroCodec();

/** Late-reading age buckets (upper bounds in hours), as labels of the metric. */
export const LATE_BUCKETS_H = [1, 24, 72, 240, 720, Infinity] as const;

function decode(task: DecodeTask): DecodeResult {
  const data = Buffer.from(task.data);
  const touched = new Map<string, TouchedSeries>();
  const late = new Array<number>(LATE_BUCKETS_H.length).fill(0);
  let readings = 0;
  const dead: DecodeResult['dead'] = [];
  for (let i = 0; i + 1 < task.bounds.length; i++) {
    if (task.bounds[i + 1] === task.bounds[i]) {
      dead.push({ index: i, reason: 'tombstone', detail: 'a record without a value (tombstone)' });
      continue;
    }
    let d: ReturnType<AvroCodec['decode']>;
    try {
      d = codec.decode(data.subarray(task.bounds[i], task.bounds[i + 1]));
    } catch (err) {
      // A record this version cannot read (e.g. a newer schema during a rolling upgrade).
      // The reason is the codec's error code, as the ingestor's (e.g. avro_magic, avro_unknown_schema).
      const code = (err as { code?: string }).code ?? 'METER_ERR_AVRO';
      const reason = code.replace(/^METER_ERR_/, '').toLowerCase();
      dead.push({ index: i, reason, detail: `${code}: ${(err as Error).message}`.slice(0, 500) });
      continue;
    }
    if (d.schema !== 'CleanReadingBatch') {
      dead.push({ index: i, reason: 'unexpected_record', detail: `${d.schema} on the clean topic` });
      continue;
    }
    const b: CleanReadingBatch = d.value;
    const key = `${b.tenant}\u001f${b.meter}\u001f${b.kind}`;
    let t = touched.get(key);
    const len = b.readingType === 'INTERVAL' ? b.intervalSeconds * 1000 : 1;
    for (const r of b.readings) {
      readings++;
      const ageH = (task.now - r.ts) / HOUR_MS;
      late[LATE_BUCKETS_H.findIndex((ub) => ageH <= ub)]++;
      if (t === undefined) {
        t = {
          tenant: b.tenant,
          meter: b.meter,
          kind: b.kind,
          unit: canonicalUnit(b.kind, b.unit),
          zoneId: b.zoneId,
          instant: b.readingType === 'INSTANT',
          minTs: r.ts,
          maxTs: r.ts,
          reach: r.ts + len,
          intervalSeconds: 0,
        };
        touched.set(key, t);
      }
      if (r.ts < t.minTs) t.minTs = r.ts;
      if (r.ts > t.maxTs) t.maxTs = r.ts;
      if (r.ts + len > t.reach) t.reach = r.ts + len;
    }
    if (t !== undefined && b.readingType === 'INTERVAL' && b.intervalSeconds > t.intervalSeconds)
      t.intervalSeconds = b.intervalSeconds;
  }
  return { touched: [...touched.values()], readings, late, dead };
}

function rollUpTask(task: RollUpTask): RollUpResult {
  const out = {
    series: [] as number[],
    hour: [] as number[],
    sum: [] as number[],
    min: [] as number[],
    max: [] as number[],
    samples: [] as number[],
    firstTs: [] as number[],
    lastTs: [] as number[],
    coverage: [] as number[],
    version: [] as number[],
    source: [] as number[],
    mismatch: [] as number[],
  };
  let resets = 0;
  let rollovers = 0;
  const mismatches = new Int32Array(task.meta.length);
  for (let s = 0; s < task.meta.length; s++) {
    const m = task.meta[s];
    sortSeries(task, m.start, m.end);
    const r = rollUp(
      {
        type: task.type.subarray(m.start, m.end),
        ts: task.ts.subarray(m.start, m.end),
        value: task.value.subarray(m.start, m.end),
        intervalSeconds: task.intervalSeconds.subarray(m.start, m.end),
        modulus: task.modulus.subarray(m.start, m.end),
        offset: task.offset.subarray(m.start, m.end),
      },
      m.fromHour,
      m.toHour,
      task.tolerance,
    );
    resets += r.resets;
    rollovers += r.rollovers;
    mismatches[s] = r.mismatches;
    for (const row of r.rows) {
      out.series.push(s);
      out.hour.push(row.hour);
      out.sum.push(row.sum);
      out.min.push(row.min);
      out.max.push(row.max);
      out.samples.push(row.samples);
      out.firstTs.push(row.firstTs);
      out.lastTs.push(row.lastTs);
      out.coverage.push(row.coverage);
      out.version.push(row.version);
      out.source.push(HOUR_SOURCES.indexOf(row.source));
      out.mismatch.push(row.mismatch ? 1 : 0);
    }
  }
  return {
    series: Int32Array.from(out.series),
    hour: Float64Array.from(out.hour),
    sum: Float64Array.from(out.sum),
    min: Float64Array.from(out.min),
    max: Float64Array.from(out.max),
    samples: Int32Array.from(out.samples),
    firstTs: Float64Array.from(out.firstTs),
    lastTs: Float64Array.from(out.lastTs),
    coverage: Float64Array.from(out.coverage),
    version: Float64Array.from(out.version),
    source: Uint8Array.from(out.source),
    mismatch: Uint8Array.from(out.mismatch),
    resets,
    rollovers,
    mismatches,
  };
}

/** Sorts readings [start, end) by time in place (ClickHouse's groupArray keeps no order). */
function sortSeries(task: RollUpTask, start: number, end: number): void {
  const ts = task.ts;
  let sorted = true;
  for (let i = start + 1; i < end && sorted; i++) sorted = ts[i - 1] <= ts[i];
  if (sorted) return;
  const idx = Array.from({ length: end - start }, (_, i) => start + i).sort((a, b) => ts[a] - ts[b]);
  for (const arr of [task.type, task.ts, task.value, task.intervalSeconds, task.modulus, task.offset]) {
    const copy = idx.map((i) => arr[i]);
    arr.set(copy, start);
  }
}

/** piscina entry point. */
export default function run(task: DecodeTask | RollUpTask): DecodeResult | RollUpResult {
  return task.op === 'decode' ? decode(task) : rollUpTask(task);
}
