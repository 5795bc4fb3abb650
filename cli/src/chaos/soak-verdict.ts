/**
 * What a finished soak is judged on, read from the pipeline's outputs after it has caught up:
 * the hourly rows against the reference, readings_raw against the distinct readings, the DLQ
 * against the poison sent, the alerts topic for any (alertId, status) published twice, and the
 * in-process recoveries the metrics counted.
 */
import { DLQ_HEADERS, type Alert } from '@meterstream/core';
import { readAll } from '@meterstream/core/testing';
import type { ChaosPipeline } from './chaos-pipeline.js';
import type { FleetFeed } from './fleet-feed.js';
import { hourlyVerdict, type HourlyVerdict, type StoredHour } from './hourly-verdict.js';
import type { PoisonLedger } from './inject-fault.js';

export interface SoakVerdict {
  hourly: HourlyVerdict;
  /** readings_raw FINAL rows, and the distinct readings sent. */
  raw: { stored: number; expected: number };
  /** DLQ records by `<source topic> <reason>`, and those the poison sent should have made. */
  dlq: { got: Map<string, number>; expected: PoisonLedger };
  /**
   * `duplicated`: (alertId, status) published more than once; of them `reopened` came after the
   * episode had been RESOLVED (a re-evaluation re-opened it under the same identity), the rest
   * are plain re-publications. `examples` say which and whether the records were identical.
   */
  alerts: { published: number; duplicated: number; reopened: number; examples: string[] };
  consumerRebuilds: number;
  transactionsAborted: number;
}

async function query<T>(p: ChaosPipeline, sql: string): Promise<T[]> {
  const rs = await p.clickhouse.query({
    query: sql,
    format: 'JSONEachRow',
    clickhouse_settings: { output_format_json_quote_64bit_integers: 0 },
  });
  return rs.json<T>();
}

async function metricSum(p: ChaosPipeline, name: string): Promise<number> {
  const m = p.registry.getSingleMetric(name);
  return m ? (await m.get()).values.reduce((n, v) => n + v.value, 0) : 0;
}

export async function soakVerdict(p: ChaosPipeline, feed: FleetFeed, ledger: PoisonLedger): Promise<SoakVerdict> {
  const db = p.config.clickhouse.database;
  const stored = await query<StoredHour>(
    p,
    `SELECT meter, kind, toUnixTimestamp(hour) * 1000 AS hour, value_sum, value_min, value_max, samples, coverage FROM ${db}.readings_hourly FINAL`,
  );
  const [{ n: raw }] = await query<{ n: number }>(p, `SELECT count() AS n FROM ${db}.readings_raw FINAL`);

  const got = new Map<string, number>();
  for (const r of await readAll(p.kafka, p.config.topics.dlq, { timeoutMs: 120_000 })) {
    const k = `${String(r.headers[DLQ_HEADERS.topic])} ${String(r.headers[DLQ_HEADERS.reason])}`;
    got.set(k, (got.get(k) ?? 0) + 1);
  }
  const seen = new Map<string, { value: Buffer; at: string }>();
  let published = 0;
  let duplicated = 0;
  let reopened = 0;
  const examples: string[] = [];
  const history = new Map<string, string[]>();
  for (const r of await readAll(p.kafka, p.config.topics.alerts, { timeoutMs: 120_000 })) {
    const a = p.codec.decode(r.value!).value as Alert;
    published++;
    const k = `${a.alertId} ${a.status}`;
    const at = `${r.partition}:${r.offset}`;
    const h = history.get(a.dedupKey) ?? [];
    h.push(`${a.status}/${a.severity}`);
    history.set(a.dedupKey, h);
    const first = seen.get(k);
    if (first) {
      duplicated++;
      if (h.slice(0, -1).some((x) => x.startsWith('RESOLVED'))) reopened++;
      if (examples.length < 5)
        examples.push(
          `${a.type} ${a.status} ${a.severity} at ${first.at} and ${at}: ${first.value.equals(r.value!) ? 'identical records' : 'records differ'}; the episode so far: ${h.join(' ')}`,
        );
    } else seen.set(k, { value: r.value!, at });
  }
  return {
    hourly: hourlyVerdict(p.pseudonymKey, feed.meters, stored),
    raw: { stored: raw, expected: feed.counts.distinct },
    dlq: { got, expected: ledger },
    alerts: { published, duplicated, reopened, examples },
    consumerRebuilds: await metricSum(p, 'meterstream_kafka_consumer_restarts_total'),
    transactionsAborted: await metricSum(p, 'meterstream_kafka_transactions_aborted_total'),
  };
}

/** True when the DLQ holds exactly the dead letters the poison should have made. */
export function dlqMatches(v: SoakVerdict): boolean {
  const keys = new Set([...v.dlq.got.keys(), ...v.dlq.expected.keys()]);
  return [...keys].every((k) => (v.dlq.got.get(k) ?? 0) === (v.dlq.expected.get(k) ?? 0));
}
