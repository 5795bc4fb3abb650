/**
 * The anomaly service: hourly rows, clean temperature readings, invoices and spot prices in;
 * alerts out on `meter.alerts.v1` and in the `alerts` table; every invoice check in
 * `invoice_checks`, every price in `spot_prices`.
 *
 * Four consume-transform-produce loops, one per input topic, each a {@link TransactionalConsumer}
 * (`hourly.consumer.ts`, `temperature.consumer.ts`, `invoices.consumer.ts`, `prices.consumer.ts`): a batch's alerts
 * and its consumer offset commit in one Kafka transaction, after ClickHouse confirmed the alert
 * rows and the detector state the batch leads to (`sinks/alerts.sink.ts`). Detector state is
 * kept per input partition in `anomaly_state` (`state/state-store.ts`), so a restart, a
 * rebalance or a redelivered batch neither loses an alert nor fires one twice.
 *
 * A timer polls `erasure_audit` (`sources/erasures.source.ts`), then re-checks PENDING invoices
 * (`invoice-sweep.ts`). This class only wires them together and runs their lifecycle.
 */
import type { Batch } from 'kafkajs';
import {
  AvroCodec,
  Pseudonymiser,
  TransactionalConsumer,
  ensureTopics,
  pipelineMetrics,
  sharedPromise,
  refusingErased,
  sinkInsertOptions,
  type BatchOutput,
  type Logger,
  type ReadinessCheck,
  type Stage,
  type ServiceDeps,
} from '@meterstream/core';
import { ALERT_COLUMNS } from './alerts.js';
import { anomalyMetrics } from './anomaly-metrics.js';
import { HourlyConsumer } from './hourly.consumer.js';
import { InvoiceSweep } from './invoice-sweep.js';
import { InvoicesConsumer } from './invoices.consumer.js';
import { PricesConsumer } from './prices.consumer.js';
import { inflowMeters, tenantDetectors } from './params.js';
import { AlertsSink } from './sinks/alerts.sink.js';
import { INVOICE_CHECK_COLUMNS, InvoiceChecksSink } from './sinks/invoice-checks.sink.js';
import { SPOT_PRICE_COLUMNS, SpotPricesSink } from './sinks/spot-prices.sink.js';
import { ErasuresSource } from './sources/erasures.source.js';
import { InvoiceChecksSource } from './sources/invoice-checks.source.js';
import { ReadingsHourlySource } from './sources/readings-hourly.source.js';
import { STATE_COLUMNS } from './state/state-store.js';
import { TemperatureConsumer } from './temperature.consumer.js';
import { InvoiceChecker } from './transforms/check-invoices.js';
import { InvoiceDecider } from './transforms/decide-invoices.js';

/** The anomaly service's inputs, in the order of its consumers. */
const INPUTS = ['hourly', 'temperature', 'invoices', 'prices'] as const;

export interface AnomalyDeps extends ServiceDeps {
  /** The pseudonym key: invoices carry raw meter IDs and are pseudonymised on arrival. */
  pseudonymKey: Buffer;
  /** Period of the erasure poll and PENDING-invoice sweep (ms); default 30 seconds. */
  sweepIntervalMs?: number;
}

export class AnomalyService implements Stage {
  readonly name = 'anomaly';
  readonly #deps: AnomalyDeps;
  readonly #log: Logger;
  readonly #alerts: AlertsSink;
  readonly #consumers: TransactionalConsumer[];
  readonly #erasures: ErasuresSource;
  readonly #sweep: InvoiceSweep;
  readonly #abort = new AbortController();
  #sweepTimer: NodeJS.Timeout | null = null;
  #sweeping: Promise<void> = Promise.resolve();
  readonly close: () => Promise<void>;

  constructor(deps: AnomalyDeps) {
    this.#deps = deps;
    const { config, clickhouse, registry } = deps;
    const db = config.clickhouse.database;
    const log = (this.#log = deps.logger.child({ service: 'anomaly' }));
    const codec = deps.codec ?? new AvroCodec({ schemaRegistryUrl: config.schemaRegistryUrl ?? undefined });
    const metrics = anomalyMetrics(registry);
    const detectors = tenantDetectors(config.anomaly);
    const pipeline = pipelineMetrics(registry);
    const sink = (table: string, columns: readonly string[]) =>
      sinkInsertOptions(clickhouse, db, table, columns, { metrics: pipeline, logger: log, signal: this.#abort.signal });

    this.#alerts = new AlertsSink({
      kafka: deps.kafka,
      codec,
      topic: config.topics.alerts,
      insert: sink('alerts', ALERT_COLUMNS),
      metrics,
      logger: log,
    });
    const checks = new InvoiceChecksSink(sink('invoice_checks', INVOICE_CHECK_COLUMNS));
    const storedChecks = new InvoiceChecksSource(clickhouse, db);
    const checker = new InvoiceChecker(clickhouse, db, detectors);
    const decider = new InvoiceDecider(checker, metrics);
    const stateInsert = sink('anomaly_state', STATE_COLUMNS);
    const dlq = config.topics.dlq;
    const isInflow = inflowMeters(config.anomaly.zoneInflows);
    const common = {
      clickhouse,
      database: db,
      codec,
      logger: log,
      metrics,
      detectors,
      isInflow,
      stateInsert,
      dlq,
      pipeline,
    };
    const hourly = new HourlyConsumer({
      ...common,
      topic: config.topics.hourly,
      readings: new ReadingsHourlySource(clickhouse, db),
      storedChecks,
      decider,
      alerts: this.#alerts,
      checks,
    });
    const temperature = new TemperatureConsumer({ ...common, topic: config.topics.clean, alerts: this.#alerts });
    const invoices = new InvoicesConsumer({
      codec,
      logger: log,
      metrics,
      erased: deps.erased,
      pseudonyms: new Pseudonymiser({ key: deps.pseudonymKey }),
      dlq,
      pipeline,
      decider,
      alerts: this.#alerts,
      checks,
    });
    const prices = new PricesConsumer({
      codec,
      logger: log,
      metrics,
      prices: new SpotPricesSink(sink('spot_prices', SPOT_PRICE_COLUMNS)),
      storedChecks,
      dlq,
      pipeline,
      decider,
      alerts: this.#alerts,
      checks,
    });
    this.#sweep = new InvoiceSweep({ stored: storedChecks, checker, decider, alerts: this.#alerts, checks, metrics });

    const consumer = (
      suffix: string,
      topic: string,
      handler: (b: Batch) => Promise<BatchOutput>,
      onJoin?: () => void,
      urgent = false,
    ) => {
      const c = new TransactionalConsumer({
        kafka: deps.kafka,
        groupId: `${config.anomaly.groupId}-${suffix}`,
        topic,
        instanceId: config.instanceId,
        logger: log.child({ input: suffix }),
        // Latency-sensitive inputs fetch as soon as anything is there; the hourly replays in bulk.
        metrics: pipeline,
        concurrency: config.anomaly.concurrency,
        fetch: urgent ? config.kafka.fetch : config.kafka.bulkFetch,
        handler,
        urgent,
        outputs: [config.topics.alerts],
        dlqTopic: config.topics.dlq,
      });
      if (onJoin) c.consumer.on(c.consumer.events.GROUP_JOIN, onJoin);
      return c;
    };
    // Erased meters' records are skipped, inside the fence an erasure waits on.
    this.#consumers = [
      consumer(
        'hourly',
        config.topics.hourly,
        refusingErased(deps.erased, 'anomaly_hourly', (b) => hourly.handle(b)),
        () => hourly.invalidate(),
      ),
      // Frost reacts per reading: its ClickHouse writes go first on the embedded engine.
      consumer(
        'temperature',
        config.topics.clean,
        refusingErased(deps.erased, 'anomaly_temperature', (b) => temperature.handle(b)),
        () => temperature.invalidate(),
        true,
      ),
      consumer('invoices', config.topics.invoices, (b) =>
        deps.erased ? deps.erased.fence(() => invoices.handle(b)) : invoices.handle(b),
      ),
      consumer('prices', config.topics.prices, (b) => prices.handle(b)),
    ];
    // An erased meter's state is dropped, so no later write brings it back.
    this.#erasures = new ErasuresSource({
      clickhouse,
      database: db,
      notifier: deps.erasures,
      forget: (pseudonym) => {
        hourly.forget(pseudonym);
        temperature.forget(pseudonym);
      },
    });
    this.close = sharedPromise(async () => {
      this.#erasures.close();
      this.#log.info('anomaly service stopping: finishing the batches in flight');
      if (this.#sweepTimer) clearInterval(this.#sweepTimer);
      await this.#sweeping;
      await Promise.all(this.#consumers.map((c) => c.close()));
      await this.#alerts.close();
      this.#abort.abort();
      this.#log.info('anomaly service stopped');
    });
  }

  readiness(): Record<string, ReadinessCheck> {
    return Object.fromEntries(
      this.#consumers.map((c, i) => [`anomaly.${INPUTS[i]}`, async () => c.readiness()] as const),
    );
  }

  /** False when a consumer's recovery keeps failing (`/healthz`). */
  liveness(): Record<string, () => boolean> {
    return Object.fromEntries(this.#consumers.map((c, i) => [`anomaly.${INPUTS[i]}`, () => c.alive] as const));
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
        { topic: config.topics.prices, numPartitions: 3 },
      ]);
      await ensureTopics(admin, [
        { topic: config.topics.alerts, numPartitions: counts.get(config.topics.hourly)! },
        { topic: config.topics.dlq, numPartitions: 3 },
      ]);
    } finally {
      await admin.disconnect();
    }
    await this.#alerts.start();
    await Promise.all(this.#consumers.map((c) => c.start()));
    const every = this.#deps.sweepIntervalMs ?? 30_000;
    this.#sweepTimer = setInterval(() => {
      this.#sweeping = this.#sweeping
        .then(() => this.#erasures.poll())
        .then(() => this.#sweep.run())
        .catch((err) => this.#log.warn({ err: (err as Error).message }, 'sweep failed; next round retries'));
    }, every);
    this.#sweepTimer.unref();
    this.#log.info(
      { topics: [config.topics.hourly, config.topics.clean, config.topics.invoices, config.topics.prices] },
      'anomaly service started',
    );
  }
}
