/**
 * Hourly rows (`meter.hourly.v1`) → NIGHT_FLOW, BURST, METER_SILENT and the invoices the rows
 * concern; one partition batch at a time, inside its Kafka transaction.
 *
 * - NIGHT_FLOW and BURST are level-triggered: the meter's stored hourly series from before the
 *   changed hours is replayed through the detectors and reconciled with what is published
 *   (`transforms/reconcile.ts`), so late and revised rows re-evaluate what they touch. BURST
 *   judges only hours without interval readings here; intervals are judged on their own
 *   intervals from the clean topic (`temperature.consumer.ts`).
 * - METER_SILENT is judged by delivery, not by event-time holes: each record bringing data newer
 *   than its meter's newest is a delivery, stamped with the partition's arrival clock (`detectors/arrival-clock.ts`), and
 *   silence is judged only when this consumer has caught up with the partition and no backfill
 *   is moving the clock (so a backfill, a catch-up or an outage is not a fleet of silent meters).
 * - Invoices overlapping the changed hours are checked again.
 */
import type { Batch } from 'kafkajs';
import type { AvroCodec, ClickHouseClient, HourlyBatch, InsertOptions, Logger } from '@meterstream/core';
import { isMeterError } from '@meterstream/core';
import type { AlertOrigin, Emitted } from './alerts.js';
import type { AnomalyMetrics } from './anomaly-metrics.js';
import type { AlertTransition } from './detectors/detector.js';
import {
  arrive,
  initialArrivalClock,
  judgementTime,
  settled,
  type ArrivalClockState,
} from './detectors/arrival-clock.js';
import type { SilenceState } from './detectors/meter-silent.js';
import type { TenantDetectors } from './params.js';
import { seriesKey } from './series-key.js';
import type { AlertBatchOutput, AlertsSink } from './sinks/alerts.sink.js';
import { DeadLetters, type DeadLetterTarget } from './transforms/dead-letters.js';
import type { InvoiceChecksSink } from './sinks/invoice-checks.sink.js';
import type { InvoiceChecksSource } from './sources/invoice-checks.source.js';
import type { ReadingsHourlySource } from './sources/readings-hourly.source.js';
import { StateStore } from './state/state-store.js';
import type { InvoiceCheck } from './transforms/check-invoices.js';
import type { InvoiceDecider } from './transforms/decide-invoices.js';
import { reconcile, type OpenEpisode } from './transforms/reconcile.js';
import { hourlyOrFiner } from './detectors/resolution.js';

const H = 3_600_000;
const LITRES: Record<string, number> = { L: 1, M3: 1000 };

/** State of one hourly series (tenant, meter, kind). */
interface SeriesState {
  zoneId: string | null;
  silence: SilenceState;
  /** Newest data time received of the series (ms): only newer data is a delivery. */
  newestTs?: number;
  /** Published, still-firing NIGHT_FLOW / BURST episodes by slot. */
  open: Record<string, OpenEpisode>;
  /** End of the newest hour the hourly detectors evaluated. */
  evaluatedUntil?: number;
}
/** The partition's arrival clock, under {@link WATERMARK} (`watermark`: as stored before the clock). */
interface WatermarkState {
  clock?: ArrivalClockState;
  watermark?: number;
}
type HourlyState = SeriesState | WatermarkState;
const WATERMARK = '~watermark';

/** What {@link HourlyConsumer} is built from. */
export interface HourlyConsumerDeps extends DeadLetterTarget {
  clickhouse: ClickHouseClient;
  database: string;
  /** The hourly topic: the detector state is kept under its name. */
  topic: string;
  codec: AvroCodec;
  logger: Logger;
  metrics: AnomalyMetrics;
  detectors: (tenant: string) => TenantDetectors;
  /** A district inflow meter: never judged by NIGHT_FLOW or BURST (`params.ts`); what it had published is resolved. */
  isInflow: (tenant: string, meter: string) => boolean;
  /** Sink options of the `anomaly_state` insert. */
  stateInsert: InsertOptions;
  readings: ReadingsHourlySource;
  storedChecks: InvoiceChecksSource;
  decider: InvoiceDecider;
  alerts: AlertsSink;
  checks: InvoiceChecksSink;
}

export class HourlyConsumer {
  readonly #d: HourlyConsumerDeps;
  readonly #state: StateStore<HourlyState>;

  constructor(deps: HourlyConsumerDeps) {
    this.#d = deps;
    this.#state = new StateStore<HourlyState>({
      clickhouse: deps.clickhouse,
      database: deps.database,
      source: deps.topic,
      initial: () => ({ zoneId: null, silence: { lastArrival: null, gaps: [], firing: null }, open: {} }),
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
    const { codec, metrics, detectors, decider } = this.#d;
    const first = BigInt(batch.firstOffset()!);
    const last = BigInt(batch.lastOffset());
    const origin: AlertOrigin = { source: batch.topic, partition: batch.partition, offset: last };
    const ps = await this.#state.begin(batch.partition, first);
    const end = metrics.detectorSeconds.startTimer({ detector: 'hourly' });

    // Decode, step each delivery through the arrival clock and its meter's silence, in input
    // order, and group the rows per series.
    const series = new Map<string, HourlyBatch>();
    const dead = new DeadLetters(batch);
    const wm = ps.get(WATERMARK) as WatermarkState;
    let clock: ArrivalClockState =
      wm.clock ?? (wm.watermark !== undefined ? { frontier: wm.watermark, settledFrom: 0 } : initialArrivalClock());
    const emitted: Emitted[] = [];
    for (const m of batch.messages) {
      if (!m.value) {
        dead.reject(m, 'tombstone', 'a record without a value (tombstone)');
        continue;
      }
      let d;
      try {
        d = codec.decode(m.value);
      } catch (err) {
        dead.undecodable(m, err);
        continue;
      }
      if (d.schema !== 'HourlyBatch') {
        dead.reject(m, 'unexpected_record', `${d.schema} on the hourly topic`);
        continue;
      }
      const b = d.value;
      const k = seriesKey(b);
      const s = series.get(k);
      if (s === undefined) series.set(k, { ...b, rows: [...b.rows] });
      else s.rows.push(...b.rows);
      let newest = -Infinity;
      for (const r of b.rows) if (r.samples > 0) newest = Math.max(newest, r.lastTs);
      const det = detectors(b.tenant);
      const st = { ...(ps.get(k) as SeriesState) };
      st.zoneId = b.zoneId ?? st.zoneId;
      // Only data newer than the meter's newest is a delivery from it: a redelivery, a
      // correction or a republished row of known hours says nothing about whether it still sends.
      if (!(newest > (st.newestTs ?? -Infinity))) continue;
      st.newestTs = newest;
      const a = arrive(clock, { newest }, det.settings.silenceHours * H);
      clock = a.state;
      const step = det.silence.step(st.silence, {
        arrival: a.arrival,
        wall: Number(m.timestamp),
        learn: !a.backfill && settled(clock),
      });
      if (step.filled !== undefined) metrics.silencesFilled.inc();
      st.silence = step.state;
      ps.set(k, b.tenant, b.meter, st);
      for (const t of step.transitions)
        emitted.push({ subject: { tenant: b.tenant, meter: b.meter, zoneId: st.zoneId }, t });
    }
    if (clock.frontier !== null) ps.set(WATERMARK, '', '', { clock });

    const water: { key: string; b: HourlyBatch; from: number }[] = [];
    for (const [key, b] of series) {
      b.rows.sort((x, y) => x.hour - y.hour);
      const det = detectors(b.tenant);
      const st = ps.get(key) as SeriesState;
      if (b.zoneId !== null && b.zoneId !== st.zoneId) ps.set(key, b.tenant, b.meter, { ...st, zoneId: b.zoneId });
      if (b.kind === 'WATER' && LITRES[b.unit] !== undefined) {
        water.push({ key, b, from: b.rows[0].hour - det.lookbackMs });
        const coarse = b.rows.filter((r) => r.samples > 0 && !r.revision && !hourlyOrFiner(r)).length;
        if (coarse > 0) metrics.insufficientResolution.inc({ detector: 'NIGHT_FLOW' }, coarse);
      }
    }

    // NIGHT_FLOW and BURST: replay the stored series from before the changed hours.
    if (water.length > 0) {
      const stored = await this.#d.readings.water(
        water.map((w) => w.b.meter),
        water.reduce((m, w) => Math.min(m, w.from), Infinity),
      );
      for (const { key, b, from } of water) {
        const det = detectors(b.tenant);
        const factor = LITRES[b.unit];
        // A district inflow meter is never judged: an empty replay resolves what it had published
        // before it was configured as one.
        const rows = this.#d.isInflow(b.tenant, b.meter) ? [] : (stored.get(key) ?? []).filter((r) => r.hour >= from);
        let night = det.nightFlow.initial();
        let burst = det.burst.initial();
        const replayed: AlertTransition[] = [];
        for (const r of rows) {
          const n = det.nightFlow.step(night, { hour: r.hour, litres: r.sum * factor, coarse: !hourlyOrFiner(r) });
          night = n.state;
          replayed.push(...n.transitions);
          // Hours with interval readings are judged on the readings' own intervals (sub-hourly
          // bursts; temperature.consumer.ts); only register hours on the row.
          if (r.source === 'INTERVALS' || r.source === 'MIXED') continue;
          const u = det.burst.step(burst, { hour: r.hour, litres: r.sum * factor, coverage: r.coverage });
          burst = u.state;
          replayed.push(...u.transitions);
        }
        const st = ps.get(key) as SeriesState;
        const endOfData = rows.length > 0 ? rows[rows.length - 1].hour + H : b.rows[b.rows.length - 1].hour + H;
        const r = reconcile(st.open, replayed, ['NIGHT_FLOW', 'BURST'], endOfData, st.evaluatedUntil ?? -Infinity);
        ps.set(key, b.tenant, b.meter, {
          ...st,
          open: r.open,
          evaluatedUntil: Math.max(st.evaluatedUntil ?? -Infinity, endOfData),
        });
        for (const t of r.transitions)
          emitted.push({ subject: { tenant: b.tenant, meter: b.meter, zoneId: st.zoneId }, t });
      }
    }

    // METER_SILENT: judged only once caught up (less waits behind this batch than it held) and
    // with no backfill moving the clock, so what fires is a silence still going on.
    const caughtUp = Number(batch.offsetLag()) <= batch.messages.length;
    if (clock.frontier !== null && !caughtUp) metrics.silenceSkipped.inc({ reason: 'catching_up' });
    else if (clock.frontier !== null && !settled(clock)) metrics.silenceSkipped.inc({ reason: 'backfill' });
    else if (clock.frontier !== null) {
      const previous: (number | null | undefined)[] = [];
      for (const [key, s] of ps.entries())
        if (key !== WATERMARK && 'silence' in s) previous.push(s.silence.previousArrival);
      const now = judgementTime(previous) ?? -Infinity;
      for (const [key, s] of ps.entries()) {
        if (key === WATERMARK || !('silence' in s)) continue;
        const [tenant, meter] = key.split('\u001f');
        const step = detectors(tenant).silence.step(s.silence, { now });
        if (step.transitions.length === 0) continue;
        ps.set(key, tenant, meter, { ...s, silence: step.state });
        for (const t of step.transitions) emitted.push({ subject: { tenant, meter, zoneId: s.zoneId }, t });
      }
    }

    // Invoices whose period the changed hours overlap.
    const billable = [...series.values()].filter((b) => b.kind !== 'TEMPERATURE');
    let checks: InvoiceCheck[] = [];
    if (billable.length > 0) {
      // (loops, not Math.min(...rows): a catch-up batch holds more rows than the call stack takes)
      let from = Infinity,
        to = -Infinity;
      for (const b of billable) for (const r of b.rows) ((from = Math.min(from, r.hour)), (to = Math.max(to, r.hour)));
      const touched = await this.#d.storedChecks.stored({ meters: billable.map((b) => b.meter), from, to: to + H });
      const kinds = new Set(billable.map((b) => `${b.meter}\u001f${b.kind}`));
      const decided = await decider.decide(
        touched.filter((c) => kinds.has(`${c.meter}\u001f${c.kind}`)),
        origin,
        first,
      );
      checks = decided.checks;
      emitted.push(...decided.emitted);
    }
    end();
    return decider.released(
      checks,
      dead.into(
        this.#d.alerts.forBatch(emitted, origin, [
          this.#state.flush(batch.partition, ps, last),
          this.#d.checks.write(checks, origin),
        ]),
        this.#d,
      ),
    );
  }
}
