/**
 * The notifier: alert state changes from `meter.alerts.v1` to the people who act on them —
 * Prometheus Alertmanager and signed webhooks per tenant and alert type — at least once per
 * sink, deduplicated by alertId and status, held while a silence matches and released when it
 * ends. A service of its own, so that delivery scales and fails apart from detection: a dead
 * webhook slows the notifier's consumer, never the anomaly service (docs/alerts.md).
 *
 * Wiring only: `alerts.consumer.ts` (the Kafka source, in a TransactionalConsumer),
 * `dispatcher.ts` (hold or deliver), `sinks/` (Alertmanager, webhooks), `state/` (ClickHouse
 * delivery state, holds, silences) and a sweep timer that releases what ended silences held.
 */
import {
  AvroCodec,
  TransactionalConsumer,
  deadLetterRecords,
  ensureTopics,
  observeDeadLetters,
  pipelineMetrics,
  refusingErased,
  sharedPromise,
  type Logger,
  type ReadinessCheck,
  type ServiceDeps,
  type Stage,
} from '@meterstream/core';
import type { Producer } from 'kafkajs';
import { AlertsConsumer, failedDeliveryLetters } from './alerts.consumer.js';
import { Dispatcher, type FailedDelivery } from './dispatcher.js';
import { notifierMetrics } from './notifier-metrics.js';
import { AlertmanagerSink } from './sinks/alertmanager.sink.js';
import type { AlertSink } from './sinks/sink.js';
import { WebhookSink } from './sinks/webhook.sink.js';
import { DeliveriesStore } from './state/deliveries.store.js';
import { HoldsStore } from './state/holds.store.js';
import { SilencesStore } from './state/silences.store.js';

export interface NotifierDeps extends ServiceDeps {
  /** Sinks to use instead of those of the configuration (tests). */
  sinks?: readonly AlertSink[];
}

/** The sinks of the configuration: Alertmanager when its URL is set, then each webhook. */
export function configuredSinks(config: ServiceDeps['config']): AlertSink[] {
  const n = config.notifier;
  return [
    ...(n.alertmanagerUrl === null ? [] : [new AlertmanagerSink({ url: n.alertmanagerUrl, timeoutMs: n.timeoutMs })]),
    ...n.webhooks.map((w) => new WebhookSink(w, n.timeoutMs)),
  ];
}

export class NotifierService implements Stage {
  readonly name = 'notifier';
  readonly #deps: NotifierDeps;
  readonly #log: Logger;
  readonly #codec: AvroCodec;
  readonly #consumer: TransactionalConsumer;
  readonly #dispatcher: Dispatcher;
  readonly #abort = new AbortController();
  readonly silences: SilencesStore;
  #producer: Producer | null = null;
  #timer: NodeJS.Timeout | null = null;
  #sweeping: Promise<void> = Promise.resolve();
  readonly close: () => Promise<void>;

  constructor(deps: NotifierDeps) {
    this.#deps = deps;
    const { config, clickhouse, registry } = deps;
    const db = config.clickhouse.database;
    const log = (this.#log = deps.logger.child({ service: 'notifier' }));
    const codec = (this.#codec =
      deps.codec ?? new AvroCodec({ schemaRegistryUrl: config.schemaRegistryUrl ?? undefined }));
    const pipeline = pipelineMetrics(registry);
    const sinks = deps.sinks ?? configuredSinks(config);
    if (sinks.length === 0)
      log.warn('no sink configured (METERSTREAM_ALERTMANAGER_URL, METERSTREAM_WEBHOOKS): alerts go nowhere');
    this.silences = new SilencesStore(clickhouse, db);
    this.#dispatcher = new Dispatcher({
      sinks,
      deliveries: new DeliveriesStore(clickhouse, db),
      holds: new HoldsStore(clickhouse, db),
      silences: this.silences,
      policy: config.notifier,
      metrics: notifierMetrics(registry),
      logger: log,
      signal: this.#abort.signal,
    });
    const dlq = config.topics.alertsDlq;
    const alerts = new AlertsConsumer({
      codec,
      dispatcher: this.#dispatcher,
      dlqTopic: dlq,
      budget: () => this.#consumer.budget(dlq),
      pipeline,
      logger: log,
    });
    this.#consumer = new TransactionalConsumer({
      kafka: deps.kafka,
      groupId: config.notifier.groupId,
      topic: config.topics.alerts,
      instanceId: config.instanceId,
      logger: log,
      metrics: pipeline,
      fetch: config.kafka.fetch,
      // Alerts of erased meters are not delivered (or recorded), inside the fence an erasure waits on.
      handler: (batch, heartbeat) => refusingErased(deps.erased, 'notifier', (b) => alerts.handle(b, heartbeat))(batch),
      outputs: [dlq],
      dlqTopic: dlq,
      // A delivery may retry for its whole budget before the batch's transaction opens.
      transactionBudgetMs: 20_000,
    });
    this.close = sharedPromise(async () => {
      log.info('notifier stopping: finishing the batch in flight');
      if (this.#timer) clearInterval(this.#timer);
      await this.#sweeping;
      await this.#consumer.close();
      this.#abort.abort();
      await this.#producer?.disconnect().catch(() => undefined);
      log.info('notifier stopped');
    });
  }

  readiness(): Record<string, ReadinessCheck> {
    return { notifier: async () => this.#consumer.readiness() };
  }

  liveness(): Record<string, () => boolean> {
    return { notifier: () => this.#consumer.alive };
  }

  /** Releases what ended silences held, now (also run every `sweepMs`). */
  sweep(): Promise<void> {
    this.#sweeping = this.#sweeping
      .then(() => this.#dispatcher.sweep())
      .then((failed) => this.#deadLetter(failed))
      .catch((err: unknown) =>
        this.#log.warn({ err: (err as Error).message }, 'release sweep failed; next round retries'),
      );
    return this.#sweeping;
  }

  /** Dead letters of released deliveries that failed for good (outside any consumer transaction). */
  async #deadLetter(failed: FailedDelivery[]): Promise<void> {
    if (failed.length === 0) return;
    const { config } = this.#deps;
    const records = failed.flatMap((f) =>
      deadLetterRecords(failedDeliveryLetters([f], this.#codec), config.topics.alerts, f.incoming.partition),
    );
    this.#producer ??= this.#deps.kafka.producer({
      idempotent: true,
      maxInFlightRequests: 1,
      allowAutoTopicCreation: false,
    });
    await this.#producer.connect();
    await this.#producer.send({ topic: config.topics.alertsDlq, messages: records, acks: -1 });
    observeDeadLetters(records, config.topics.alerts, pipelineMetrics(this.#deps.registry), this.#log);
  }

  async start(): Promise<void> {
    const { config, kafka } = this.#deps;
    const admin = kafka.admin();
    await admin.connect();
    try {
      await ensureTopics(admin, [
        { topic: config.topics.alerts, numPartitions: 3 },
        { topic: config.topics.alertsDlq, numPartitions: 3 },
      ]);
    } finally {
      await admin.disconnect();
    }
    await this.#consumer.start();
    this.#timer = setInterval(() => void this.sweep(), config.notifier.sweepMs);
    this.#timer.unref();
    this.#log.info({ topic: config.topics.alerts, dlq: config.topics.alertsDlq }, 'notifier started');
  }
}
