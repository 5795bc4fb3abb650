/**
 * The anomaly service: hourly rows, clean temperature readings and invoices in; alerts out on
 * `meter.alerts.v1` and in the `alerts` table; every invoice check in `invoice_checks`.
 *
 * Three consume-transform-produce loops, one per input topic, each a {@link TransactionalConsumer}:
 * a batch's alerts and its consumer offset commit in one Kafka transaction, after ClickHouse
 * confirmed the alert rows and the detector state the batch leads to. Detector state is kept
 * per input partition in `anomaly_state` ({@link StateStore}), so a restart, a rebalance or a
 * redelivered batch neither loses an alert nor fires one twice.
 *
 * - Hourly rows (`meter.hourly.v1`): NIGHT_FLOW and BURST are level-triggered — the meter's
 *   stored hourly series from before the changed hours is replayed through the detectors and
 *   reconciled with what is published (`reconcile.ts`), so late and revised rows re-evaluate
 *   what they touch. METER_SILENT steps each row's last reading time, and is judged against the
 *   partition's newest data time (so a pipeline outage or a catch-up is not a fleet of silent
 *   meters). Invoices overlapping the changed hours are checked again.
 * - Clean readings (`meter.readings.clean.v1`): TEMPERATURE readings step FROST_RISK one by one.
 * - Invoices (`meter.invoices.v1`): pseudonymised on arrival (raw IDs stop here), checked,
 *   stored; undecodable ones go to the DLQ with the reason.
 * A timer re-checks PENDING invoices: decided once their data is complete (at least once, with
 * stable alert ids, since it is not a Kafka batch), INSUFFICIENT_DATA once the wait ran out.
 */
import { Partitioners, type Batch, type Message, type Producer } from 'kafkajs';
import {
  AvroCodec,
  Pseudonymiser,
  TransactionalConsumer,
  deadLetterRecords,
  ensureTopics,
  insertTsv,
  isMeterError,
  pipelineMetrics,
  sharedPromise,
  sinkInsertOptions,
  type Alert,
  type CleanReadingBatch,
  type DeadLetter,
  type HourlyBatch,
  type InsertOptions,
  type Invoice,
  type Logger,
  type ReadinessCheck,
  type Stage,
  type ServiceDeps,
} from '@meterstream/core';
import { ALERT_COLUMNS, alertOf, alertTsv, type AlertOrigin, type AlertSubject } from './alerts.js';
import { anomalyMetrics, type AnomalyMetrics } from './anomaly-metrics.js';
import type { AlertTransition } from './detectors/detector.js';
import type { FrostState } from './detectors/frost-risk.js';
import type { SilenceState } from './detectors/meter-silent.js';
import { INVOICE_CHECK_COLUMNS, InvoiceChecker, type InvoiceCheck } from './invoices.js';
import { tenantDetectors, type TenantDetectors } from './params.js';
import { reconcile, type OpenEpisode } from './reconcile.js';
import { STATE_COLUMNS, StateStore, type PartitionState } from './state/state-store.js';

const H = 3_600_000;
/** How long a PENDING invoice must have gone unchecked before the sweep takes it. */
const SWEEP_GRACE_MS = 10_000;

export interface AnomalyDeps extends ServiceDeps {
  /** The pseudonym key: invoices carry raw meter IDs and are pseudonymised on arrival. */
  pseudonymKey: Buffer;
  /** Period of the PENDING-invoice sweep (ms); default 30 seconds. */
  sweepIntervalMs?: number;
}

/** State of one hourly series (tenant, meter, kind). */
interface SeriesState {
  zoneId: string | null;
  silence: SilenceState;
  /** Published, still-firing NIGHT_FLOW / BURST episodes by slot. */
  open: Record<string, OpenEpisode>;
  /** End of the newest hour the hourly detectors evaluated. */
  evaluatedUntil?: number;
}
/** The partition's newest data time, under {@link WATERMARK}. */
interface WatermarkState {
  watermark: number;
}
type HourlyState = SeriesState | WatermarkState;
const WATERMARK = '~watermark';

interface TemperatureState {
  zoneId: string | null;
  lastTs: number;
  frost: FrostState;
}

type Emitted = { subject: AlertSubject; t: AlertTransition };

const seriesKey = (s: { tenant: string; meter: string; kind: string }) => `${s.tenant}\u001f${s.meter}\u001f${s.kind}`;
const LITRES: Record<string, number> = { L: 1, M3: 1000 };

export class AnomalyService implements Stage {
  readonly name = 'anomaly';
  readonly #deps: AnomalyDeps;
  readonly #log: Logger;
  readonly #codec: AvroCodec;
  readonly #pseudonyms: Pseudonymiser;
  readonly #metrics: AnomalyMetrics;
  readonly #detectors: (tenant: string) => TenantDetectors;
  readonly #alertsInsert: InsertOptions;
  readonly #invoices: InvoiceChecker;
  readonly #hourlyState: StateStore<HourlyState>;
  readonly #temperatureState: StateStore<TemperatureState>;
  readonly #consumers: TransactionalConsumer[];
  readonly #sweepProducer: Producer;
  readonly #abort = new AbortController();
  #sweepTimer: NodeJS.Timeout | null = null;
  #sweeping: Promise<void> = Promise.resolve();
  /** Invoice decisions run one at a time (see #decideInvoices). */
  #invoiceLock: Promise<void> = Promise.resolve();
  /** Invoices decided by a batch whose rows are not written yet, by id (count of batches). */
  readonly #inFlight = new Map<string, number>();
  /** Erasures up to this time (ms) are applied to the in-memory state. */
  #erasedSince = Date.now() - 86_400_000;
  readonly close: () => Promise<void>;

  constructor(deps: AnomalyDeps) {
    this.#deps = deps;
    const { config, clickhouse, registry } = deps;
    const db = config.clickhouse.database;
    this.#log = deps.logger.child({ service: 'anomaly' });
    this.#codec = deps.codec ?? new AvroCodec({ schemaRegistryUrl: config.schemaRegistryUrl ?? undefined });
    this.#pseudonyms = new Pseudonymiser({ key: deps.pseudonymKey });
    this.#metrics = anomalyMetrics(registry);
    this.#detectors = tenantDetectors(config.anomaly);
    const pipeline = pipelineMetrics(registry);
    const sink = (table: string, columns: readonly string[]) =>
      sinkInsertOptions(clickhouse, db, table, columns, {
        metrics: pipeline,
        logger: this.#log,
        signal: this.#abort.signal,
      });
    this.#alertsInsert = sink('alerts', ALERT_COLUMNS);
    this.#invoices = new InvoiceChecker(clickhouse, db, this.#detectors, sink('invoice_checks', INVOICE_CHECK_COLUMNS));
    const stateInsert = sink('anomaly_state', STATE_COLUMNS);
    this.#hourlyState = new StateStore<HourlyState>({
      clickhouse,
      database: db,
      source: config.topics.hourly,
      initial: () => ({ zoneId: null, silence: { lastSeen: null, usualGapMs: null, firing: null }, open: {} }),
      insert: stateInsert,
      logger: this.#log,
    });
    this.#temperatureState = new StateStore<TemperatureState>({
      clickhouse,
      database: db,
      source: config.topics.clean,
      initial: () => ({ zoneId: null, lastTs: -Infinity, frost: { recent: [], firing: null } }),
      insert: stateInsert,
      logger: this.#log,
    });
    const consumer = (
      suffix: string,
      topic: string,
      handler: (b: Batch) => Promise<{ records: { topic: string; messages: Message[] }[]; confirm: Promise<null> }>,
      onJoin?: () => void,
      urgent = false,
    ) => {
      const c = new TransactionalConsumer({
        kafka: deps.kafka,
        groupId: `${config.anomaly.groupId}-${suffix}`,
        topic,
        instanceId: config.instanceId,
        logger: this.#log.child({ input: suffix }),
        // Latency-sensitive inputs fetch as soon as anything is there; the hourly replays in bulk.
        metrics: pipeline,
        concurrency: config.anomaly.concurrency,
        fetch: urgent ? config.kafka.fetch : config.kafka.bulkFetch,
        handler,
        urgent,
      });
      if (onJoin) c.consumer.on(c.consumer.events.GROUP_JOIN, onJoin);
      return c;
    };
    this.#consumers = [
      consumer(
        'hourly',
        config.topics.hourly,
        (b) => this.#onHourly(b),
        () => this.#hourlyState.invalidate(),
      ),
      // Frost reacts per reading: its ClickHouse writes go first on the embedded engine.
      consumer(
        'temperature',
        config.topics.clean,
        (b) => this.#onClean(b),
        () => this.#temperatureState.invalidate(),
        true,
      ),
      consumer('invoices', config.topics.invoices, (b) => this.#onInvoices(b)),
    ];
    this.#sweepProducer = deps.kafka.producer({
      idempotent: true,
      maxInFlightRequests: 1,
      allowAutoTopicCreation: false,
      createPartitioner: Partitioners.DefaultPartitioner,
    });
    // An erasure in this process: drop the meter's state, so no later write brings it back.
    const forget = (pseudonym: string) => {
      this.#hourlyState.forget(pseudonym);
      this.#temperatureState.forget(pseudonym);
    };
    const unsubscribe = deps.erasures?.subscribe(forget);
    this.close = sharedPromise(async () => {
      unsubscribe?.();
      this.#log.info('anomaly service stopping: finishing the batches in flight');
      if (this.#sweepTimer) clearInterval(this.#sweepTimer);
      await this.#sweeping;
      await Promise.all(this.#consumers.map((c) => c.close()));
      await this.#sweepProducer.disconnect();
      this.#abort.abort();
      this.#log.info('anomaly service stopped');
    });
  }

  readiness(): Record<string, ReadinessCheck> {
    return {
      'anomaly.consumers': async () => (this.#consumers.every((c) => c.running) ? true : 'consumers not running yet'),
    };
  }

  async start(): Promise<void> {
    const { config, kafka } = this.#deps;
    const admin = kafka.admin();
    await admin.connect();
    try {
      const counts = await ensureTopics(admin, [
        { topic: config.topics.hourly, numPartitions: 3 },
        { topic: config.topics.clean, numPartitions: 3 },
        { topic: config.topics.invoices, numPartitions: 3 },
      ]);
      await ensureTopics(admin, [
        { topic: config.topics.alerts, numPartitions: counts.get(config.topics.hourly)! },
        { topic: config.topics.dlq, numPartitions: 3 },
      ]);
    } finally {
      await admin.disconnect();
    }
    await this.#sweepProducer.connect();
    await Promise.all(this.#consumers.map((c) => c.start()));
    const every = this.#deps.sweepIntervalMs ?? 30_000;
    this.#sweepTimer = setInterval(() => {
      this.#sweeping = this.#sweeping
        .then(() => this.#forgetErased())
        .then(() => this.#sweep())
        .catch((err) => this.#log.warn({ err: (err as Error).message }, 'sweep failed; next round retries'));
    }, every);
    this.#sweepTimer.unref();
    this.#log.info(
      { topics: [config.topics.hourly, config.topics.clean, config.topics.invoices] },
      'anomaly service started',
    );
  }

  // ---- outputs -------------------------------------------------------------------------

  /** Alert records for the transaction, and the `alerts` rows for ClickHouse. */
  #emit(emitted: Emitted[], origin: AlertOrigin): { messages: Message[]; body: string; alerts: Alert[] } {
    const messages: Message[] = [];
    const alerts: Alert[] = [];
    let body = '';
    for (const { subject, t } of emitted) {
      const a = alertOf(subject, t);
      alerts.push(a);
      messages.push({ key: a.meter, value: this.#codec.encodeSingleObject('Alert', a) });
      body += alertTsv(a, t.at, origin);
    }
    return { messages, body, alerts };
  }

  #counted(alerts: Alert[]): void {
    for (const a of alerts) this.#metrics.alerts.inc({ type: a.type, severity: a.severity, status: a.status });
  }

  #output(
    emitted: Emitted[],
    origin: AlertOrigin,
    writes: Promise<unknown>[],
    extra: Message[] = [],
    extraTopic?: string,
  ) {
    const { messages, body, alerts } = this.#emit(emitted, origin);
    const records: { topic: string; messages: Message[] }[] = [];
    if (messages.length > 0) records.push({ topic: this.#deps.config.topics.alerts, messages });
    if (extra.length > 0 && extraTopic) records.push({ topic: extraTopic, messages: extra });
    return {
      records,
      confirm: Promise.all([insertTsv(this.#alertsInsert, body, emitted.length), ...writes]).then(() => {
        this.#counted(alerts);
        if (alerts.length > 0)
          this.#log.info(
            {
              alerts: alerts.map((a) => `${a.type}:${a.status}:${a.severity}`),
              origin: `${origin.source}/${origin.partition}@${origin.offset}`,
            },
            'alerts published',
          );
        return null;
      }),
    };
  }

  // ---- hourly rows ----------------------------------------------------------------------

  async #onHourly(batch: Batch) {
    const first = BigInt(batch.firstOffset()!);
    const last = BigInt(batch.lastOffset());
    const origin: AlertOrigin = { source: batch.topic, partition: batch.partition, offset: last };
    const ps = await this.#hourlyState.begin(batch.partition, first);
    const end = this.#metrics.detectorSeconds.startTimer({ detector: 'hourly' });

    // Decode and group the rows per series.
    const series = new Map<string, HourlyBatch>();
    for (const m of batch.messages) {
      if (!m.value) continue;
      let d;
      try {
        d = this.#codec.decode(m.value);
      } catch (err) {
        this.#log.warn(
          { partition: batch.partition, offset: m.offset, err: isMeterError(err) ? err.code : (err as Error).message },
          'undecodable hourly record skipped',
        );
        continue;
      }
      if (d.schema !== 'HourlyBatch') continue;
      const b = d.value;
      const k = seriesKey(b);
      const s = series.get(k);
      if (s === undefined) series.set(k, { ...b, rows: [...b.rows] });
      else s.rows.push(...b.rows);
    }

    const wm = ps.get(WATERMARK) as WatermarkState;
    let watermark = 'watermark' in wm ? wm.watermark : -Infinity;
    const emitted: Emitted[] = [];
    const water: { key: string; b: HourlyBatch; from: number }[] = [];
    for (const [key, b] of series) {
      b.rows.sort((x, y) => x.hour - y.hour);
      const det = this.#detectors(b.tenant);
      let st = ps.get(key) as SeriesState;
      st = { ...st, zoneId: b.zoneId ?? st.zoneId };
      const subject = { tenant: b.tenant, meter: b.meter, zoneId: st.zoneId };
      for (const r of b.rows) {
        if (r.samples === 0) continue;
        watermark = Math.max(watermark, r.lastTs);
        const step = det.silence.step(st.silence, { reading: r.lastTs });
        st.silence = step.state;
        for (const t of step.transitions) emitted.push({ subject, t });
      }
      ps.set(key, b.tenant, b.meter, st);
      if (b.kind === 'WATER' && LITRES[b.unit] !== undefined)
        water.push({ key, b, from: b.rows[0].hour - det.lookbackMs });
    }
    if (watermark > -Infinity) ps.set(WATERMARK, '', '', { watermark });

    // NIGHT_FLOW and BURST: replay the stored series from before the changed hours.
    if (water.length > 0) {
      const stored = await this.#hourlySeries(
        water.map((w) => w.b.meter),
        water.reduce((m, w) => Math.min(m, w.from), Infinity),
      );
      for (const { key, b, from } of water) {
        const det = this.#detectors(b.tenant);
        const factor = LITRES[b.unit];
        const rows = (stored.get(key) ?? []).filter((r) => r.hour >= from);
        let night = det.nightFlow.initial();
        let burst = det.burst.initial();
        const replayed: AlertTransition[] = [];
        for (const r of rows) {
          const n = det.nightFlow.step(night, { hour: r.hour, litres: r.sum * factor });
          night = n.state;
          const u = det.burst.step(burst, { hour: r.hour, litres: r.sum * factor, coverage: r.coverage });
          burst = u.state;
          replayed.push(...n.transitions, ...u.transitions);
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

    // METER_SILENT: every series of the partition against the partition's newest data time.
    if (watermark > -Infinity) {
      for (const [key, s] of ps.entries()) {
        if (key === WATERMARK || !('silence' in s)) continue;
        const [tenant, meter] = key.split('\u001f');
        const step = this.#detectors(tenant).silence.step(s.silence, { now: watermark });
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
      const touched = await this.#invoices.stored({ meters: billable.map((b) => b.meter), from, to: to + H });
      const kinds = new Set(billable.map((b) => `${b.meter}\u001f${b.kind}`));
      const decided = await this.#decideInvoices(
        touched.filter((c) => kinds.has(`${c.meter}\u001f${c.kind}`)),
        origin,
        first,
      );
      checks = decided.checks;
      emitted.push(...decided.emitted);
    }
    end();
    return this.#released(
      checks,
      this.#output(emitted, origin, [this.#hourlyState.flush(batch.partition, ps, last), this.#invoices.write(checks)]),
    );
  }

  /**
   * Checks invoices and decides their alerts, one decider at a time in this process; the
   * invoices stay "in flight" (the sweep leaves them alone) until the batch's rows are written.
   * Without this, the sweep and a batch deciding the same invoice at once both published it.
   */
  async #decideInvoices(
    invoices: Parameters<InvoiceChecker['check']>[0],
    origin: AlertOrigin,
    first: bigint,
  ): Promise<{ checks: InvoiceCheck[]; emitted: Emitted[] }> {
    return this.#exclusive(async () => {
      const now = Date.now();
      const checks = await this.#invoices.check(invoices, now);
      const emitted = await this.#invoices.transitions(checks, origin, first, now);
      for (const c of checks) {
        this.#metrics.invoicesChecked.inc({ outcome: c.outcome });
        this.#inFlight.set(c.invoiceId, (this.#inFlight.get(c.invoiceId) ?? 0) + 1);
      }
      return { checks, emitted };
    });
  }

  /** Ends the checks' in-flight time once the batch's ClickHouse writes settled. */
  #released<T extends { confirm: Promise<null> }>(checks: InvoiceCheck[], out: T): T {
    const release = () => {
      for (const c of checks) {
        const n = (this.#inFlight.get(c.invoiceId) ?? 1) - 1;
        if (n <= 0) this.#inFlight.delete(c.invoiceId);
        else this.#inFlight.set(c.invoiceId, n);
      }
    };
    out.confirm = out.confirm.finally(release);
    return out;
  }

  /** Runs invoice decisions one at a time. */
  #exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#invoiceLock.then(fn);
    this.#invoiceLock = run.then(
      () => undefined,
      () => undefined,
    );
    return run;
  }

  /** Hourly rows (hour, sum, coverage) of water series from `from` on, by series key. */
  async #hourlySeries(
    meters: string[],
    from: number,
  ): Promise<Map<string, { hour: number; sum: number; coverage: number }[]>> {
    const { clickhouse, config } = this.#deps;
    const rs = await clickhouse.query({
      query: `SELECT tenant, meter, kind, groupArray(h), groupArray(value_sum), groupArray(coverage) FROM (
                SELECT tenant, meter, kind, toUnixTimestamp(hour) * 1000 AS h, value_sum, coverage
                FROM ${config.clickhouse.database}.readings_hourly FINAL
                WHERE meter IN {meters:Array(String)} AND kind = 'WATER' AND hour >= toDateTime({from:Int64}, 'UTC')
                ORDER BY tenant, meter, kind, h)
              GROUP BY tenant, meter, kind`,
      query_params: { meters: [...new Set(meters)], from: Math.max(0, Math.floor(from / 1000)) },
      format: 'JSONCompactEachRow',
      clickhouse_settings: { output_format_json_quote_64bit_integers: 0 },
    });
    const out = new Map<string, { hour: number; sum: number; coverage: number }[]>();
    for (const [tenant, meter, kind, h, sum, cov] of await rs.json<
      [string, string, string, number[], number[], number[]]
    >()) {
      out.set(
        seriesKey({ tenant, meter, kind }),
        h.map((hour, i) => ({ hour, sum: sum[i], coverage: cov[i] })),
      );
    }
    return out;
  }

  // ---- temperature ----------------------------------------------------------------------

  async #onClean(batch: Batch) {
    const first = BigInt(batch.firstOffset()!);
    const last = BigInt(batch.lastOffset());
    const origin: AlertOrigin = { source: batch.topic, partition: batch.partition, offset: last };
    let ps: PartitionState<TemperatureState> | null = null;
    const end = this.#metrics.detectorSeconds.startTimer({ detector: 'FROST_RISK' });
    const emitted: Emitted[] = [];
    for (const m of batch.messages) {
      if (!m.value) continue;
      let b: CleanReadingBatch;
      try {
        const d = this.#codec.decode(m.value);
        if (d.schema !== 'CleanReadingBatch') continue;
        b = d.value;
      } catch (err) {
        this.#log.warn(
          { partition: batch.partition, offset: m.offset, err: (err as Error).message },
          'undecodable clean record skipped',
        );
        continue;
      }
      if (b.kind !== 'TEMPERATURE') continue;
      ps ??= await this.#temperatureState.begin(batch.partition, first);
      const key = seriesKey(b);
      const det = this.#detectors(b.tenant).frost;
      const st = ps.get(key);
      let { frost, lastTs } = st;
      const zoneId = b.zoneId ?? st.zoneId;
      const readings = [...b.readings].sort((x, y) => x.ts - y.ts);
      for (const r of readings) {
        if (r.ts <= lastTs) {
          if (r.ts < lastTs) this.#metrics.lateTemperature.inc();
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
    return this.#output(emitted, origin, ps === null ? [] : [this.#temperatureState.flush(batch.partition, ps, last)]);
  }

  // ---- invoices -------------------------------------------------------------------------

  async #onInvoices(batch: Batch) {
    const { config } = this.#deps;
    const first = BigInt(batch.firstOffset()!);
    const origin: AlertOrigin = { source: batch.topic, partition: batch.partition, offset: BigInt(batch.lastOffset()) };
    const end = this.#metrics.detectorSeconds.startTimer({ detector: 'INVOICE_MISMATCH' });
    await this.#codec.prepare(batch.messages.map((m) => m.value));
    const dead: DeadLetter[] = [];
    const invoices: Omit<InvoiceCheck, 'meteredQuantity' | 'coverage' | 'outcome'>[] = [];
    for (const m of batch.messages) {
      const reject = (reason: string, detail: string) =>
        dead.push({
          message: { offset: m.offset, key: m.key ?? null, value: m.value ?? null, headers: m.headers },
          reason,
          detail,
        });
      if (!m.value) {
        reject('empty_value', 'the record has no value');
        continue;
      }
      let inv: Invoice;
      try {
        const d = this.#codec.decode(m.value);
        if (d.schema !== 'Invoice') {
          reject('wrong_record', `expected an Invoice, got ${d.schema}`);
          continue;
        }
        inv = d.value;
      } catch (err) {
        reject(
          isMeterError(err) ? err.code.replace(/^METER_ERR_/, '').toLowerCase() : 'decode_error',
          (err as Error).message,
        );
        continue;
      }
      const problem = invoiceProblem(inv);
      if (problem !== null) {
        reject('invalid_invoice', problem);
        continue;
      }
      invoices.push({
        invoiceId: inv.invoiceId,
        tenant: inv.tenant,
        meter: this.#pseudonyms.of(inv.tenant, inv.meterId),
        kind: inv.kind,
        periodStart: inv.periodStart,
        periodEnd: inv.periodEnd,
        billedQuantity: inv.billedQuantity,
        unit: inv.unit,
      });
    }
    const { checks, emitted } = await this.#decideInvoices(invoices, origin, first);
    end();
    if (dead.length > 0)
      this.#log.warn({ partition: batch.partition, dead: dead.map((d) => d.reason) }, 'invoices sent to the DLQ');
    return this.#released(
      checks,
      this.#output(
        emitted,
        origin,
        [this.#invoices.write(checks)],
        deadLetterRecords(dead, batch.topic, batch.partition),
        config.topics.dlq,
      ),
    );
  }

  /**
   * Erasures made by another process (the audit table is shared): their meters' in-memory state
   * is dropped, so this service never writes it back. In-process erasures arrive at once
   * through `deps.erasures`; this covers the rest within one sweep period.
   */
  async #forgetErased(): Promise<void> {
    const since = this.#erasedSince;
    const rs = await this.#deps.clickhouse.query({
      query: `SELECT DISTINCT pseudonym, toUnixTimestamp64Milli(erased_at) AS at FROM ${this.#deps.config.clickhouse.database}.erasure_audit
              WHERE erased_at >= fromUnixTimestamp64Milli(toInt64({since:Int64}), 'UTC')`,
      query_params: { since },
      format: 'JSONEachRow',
      clickhouse_settings: { output_format_json_quote_64bit_integers: 0 },
    });
    for (const r of await rs.json<{ pseudonym: string; at: number }>()) {
      this.#hourlyState.forget(r.pseudonym);
      this.#temperatureState.forget(r.pseudonym);
      this.#erasedSince = Math.max(this.#erasedSince, Number(r.at));
    }
  }

  /**
   * PENDING invoices, checked again: decided when their data has come (an invoice and its last
   * hours can pass each other between the two topics), INSUFFICIENT_DATA when the wait ran out.
   */
  async #sweep(): Promise<void> {
    await this.#exclusive(async () => {
      const now = Date.now();
      // Only invoices no batch has checked for a while nor holds right now: the batches decide
      // the rest themselves, exactly once.
      const pending = (await this.#invoices.stored({ pendingBefore: now, checkedBefore: now - SWEEP_GRACE_MS })).filter(
        (c) => !this.#inFlight.has(c.invoiceId),
      );
      if (pending.length === 0) return;
      const checks = (await this.#invoices.check(pending, now)).filter((c) => c.outcome !== 'PENDING');
      if (checks.length === 0) return;
      // Not a Kafka batch: published at least once, with stable alert ids.
      const origin: AlertOrigin = { source: 'sweep', partition: 0, offset: -1n };
      const emitted = await this.#invoices.transitions(checks, origin, 0n, now);
      const { messages, body, alerts } = this.#emit(emitted, origin);
      if (messages.length > 0)
        await this.#sweepProducer.send({ topic: this.#deps.config.topics.alerts, messages, acks: -1 });
      await insertTsv(this.#alertsInsert, body, emitted.length);
      await this.#invoices.write(checks);
      this.#counted(alerts);
      for (const c of checks) this.#metrics.invoicesChecked.inc({ outcome: c.outcome });
    });
  }
}

/** Why an invoice cannot be checked, or null. */
function invoiceProblem(inv: Invoice): string | null {
  if (!(inv.periodEnd > inv.periodStart)) return 'periodEnd must be after periodStart';
  if (inv.periodEnd - inv.periodStart > 400 * 86_400_000) return 'period longer than 400 days';
  if (!Number.isFinite(inv.billedQuantity) || inv.billedQuantity < 0)
    return 'billedQuantity must be a finite, non-negative number';
  if (inv.unit === 'CELSIUS' || inv.kind === 'TEMPERATURE') return 'temperature is not billed';
  if (inv.invoiceId.length === 0 || inv.invoiceId.length > 200) return 'invoiceId must have 1 to 200 characters';
  return null;
}
