/**
 * Clean readings (`meter.readings.clean.v1`) → FROST_RISK and BURST, one partition batch at a
 * time, inside its Kafka transaction.
 *
 * - FROST_RISK: each TEMPERATURE reading steps the room's frost detector, in time order;
 *   duplicates and late readings say nothing about the room now and are skipped.
 * - BURST on the WATER interval readings' own intervals (a burst of 30 minutes shows only in
 *   sub-hourly data): level-triggered, late, out-of-order and corrected readings re-evaluate
 *   what they touch (`transforms/judge-interval-bursts.ts`).
 */
import type { Batch } from 'kafkajs';
import type { AvroCodec, ClickHouseClient, CleanReadingBatch, InsertOptions, Logger } from '@meterstream/core';
import type { AlertOrigin, Emitted } from './alerts.js';
import type { AnomalyMetrics } from './anomaly-metrics.js';
import type { FrostState } from './detectors/frost-risk.js';
import type { TenantDetectors } from './params.js';
import { seriesKey } from './series-key.js';
import type { AlertBatchOutput, AlertsSink } from './sinks/alerts.sink.js';
import { DeadLetters, type DeadLetterTarget } from './transforms/dead-letters.js';
import { StateStore, type PartitionState } from './state/state-store.js';
import { WaterIntervalsSource } from './sources/water-intervals.source.js';
import { emptyLedger, type BurstLedger } from './transforms/reconcile-bursts.js';
import { isWaterIntervals, judgeIntervalBursts } from './transforms/judge-interval-bursts.js';

/** State of a clean series: a room's frost detector, or a water meter's published bursts (`open`, `known`). */
interface TemperatureState extends Partial<BurstLedger> {
  zoneId: string | null;
  lastTs: number;
  frost: FrostState;
}

/** What {@link TemperatureConsumer} is built from. */
export interface TemperatureConsumerDeps extends DeadLetterTarget {
  clickhouse: ClickHouseClient;
  database: string;
  /** The clean readings topic: the detector state is kept under its name. */
  topic: string;
  codec: AvroCodec;
  logger: Logger;
  metrics: AnomalyMetrics;
  detectors: (tenant: string) => TenantDetectors;
  /** A district inflow meter: never judged by BURST (`params.ts`); bursts it had published are resolved. */
  isInflow: (tenant: string, meter: string) => boolean;
  /** Sink options of the `anomaly_state` insert. */
  stateInsert: InsertOptions;
  alerts: AlertsSink;
}

export class TemperatureConsumer {
  readonly #d: TemperatureConsumerDeps;
  readonly #state: StateStore<TemperatureState>;
  readonly #water: WaterIntervalsSource;

  constructor(deps: TemperatureConsumerDeps) {
    this.#d = deps;
    this.#water = new WaterIntervalsSource(deps.clickhouse, deps.database);
    this.#state = new StateStore<TemperatureState>({
      clickhouse: deps.clickhouse,
      database: deps.database,
      source: deps.topic,
      initial: () => ({ zoneId: null, lastTs: -Infinity, frost: { recent: [], firing: null } }),
      insert: deps.stateInsert,
      logger: deps.logger,
    });
  }

  /** After a rebalance: another instance may have moved the partitions on. */
  invalidate(): void {
    this.#state.invalidate();
  }

  /** Drops an erased meter's state. */
  forget(pseudonym: string): void {
    this.#state.forget(pseudonym);
  }

  async handle(batch: Batch): Promise<AlertBatchOutput> {
    const { codec, metrics, detectors } = this.#d;
    const first = BigInt(batch.firstOffset()!);
    const last = BigInt(batch.lastOffset());
    const origin: AlertOrigin = { source: batch.topic, partition: batch.partition, offset: last };
    let ps: PartitionState<TemperatureState> | null = null;
    const end = metrics.detectorSeconds.startTimer({ detector: 'FROST_RISK' });
    const emitted: Emitted[] = [];
    const dead = new DeadLetters(batch);
    const water: CleanReadingBatch[] = [];
    for (const m of batch.messages) {
      if (!m.value) {
        dead.reject(m, 'tombstone', 'a record without a value (tombstone)');
        continue;
      }
      let b: CleanReadingBatch;
      try {
        const d = codec.decode(m.value);
        if (d.schema !== 'CleanReadingBatch') {
          dead.reject(m, 'unexpected_record', `${d.schema} on the clean topic`);
          continue;
        }
        b = d.value;
      } catch (err) {
        dead.undecodable(m, err);
        continue;
      }
      if (isWaterIntervals(b)) water.push(b);
      if (b.kind !== 'TEMPERATURE') continue;
      ps ??= await this.#state.begin(batch.partition, first);
      const key = seriesKey(b);
      const det = detectors(b.tenant).frost;
      const st = ps.get(key);
      let { frost, lastTs } = st;
      const zoneId = b.zoneId ?? st.zoneId;
      const readings = [...b.readings].sort((x, y) => x.ts - y.ts);
      for (const r of readings) {
        if (r.ts <= lastTs) {
          if (r.ts < lastTs) metrics.lateTemperature.inc();
          continue; // a duplicate, or late: says nothing about the room now
        }
        const step = det.step(frost, { ts: r.ts, celsius: r.value });
        frost = step.state;
        lastTs = r.ts;
        for (const t of step.transitions) emitted.push({ subject: { tenant: b.tenant, meter: b.meter, zoneId }, t });
      }
      if (lastTs !== st.lastTs) ps.set(key, b.tenant, b.meter, { zoneId, lastTs, frost });
    }
    end();
    if (water.length > 0) {
      const endBursts = metrics.detectorSeconds.startTimer({ detector: 'BURST' });
      const state = (ps ??= await this.#state.begin(batch.partition, first));
      emitted.push(
        ...(await judgeIntervalBursts(
          water,
          this.#water,
          detectors,
          {
            get: (key) => {
              const s = state.get(key);
              return { ledger: { open: s.open ?? {}, known: s.known ?? emptyLedger().known }, zoneId: s.zoneId };
            },
            set: (key, tenant, meter, ledger, zoneId) =>
              state.set(key, tenant, meter, { ...state.get(key), ...ledger, zoneId }),
          },
          this.#d.isInflow,
        )),
      );
      endBursts();
    }
    return dead.into(
      this.#d.alerts.forBatch(emitted, origin, ps === null ? [] : [this.#state.flush(batch.partition, ps, last)]),
      this.#d,
    );
  }
}
