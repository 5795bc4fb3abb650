/**
 * The ingestor: raw readings from Kafka → decoded, validated, pseudonymised →
 * `readings_raw` (ClickHouse) and `meter.readings.clean.v1`, bad input → DLQ with its reason.
 *
 * Exactly once: per partition batch, the rows go to ClickHouse first (idempotent:
 * ReplacingMergeTree keyed by reading, versioned by quality and the raw record's Kafka
 * timestamp, see transforms/reading-version.ts), then the clean
 * batches, the dead letters and the consumer offset are committed in one Kafka transaction.
 * A crash before the commit aborts the transaction; the batch is delivered again and produces
 * the same rows and the same records, which the aborted transaction never exposed to
 * read_committed consumers.
 */
import type { Batch, Message } from 'kafkajs';
import {
  AvroCodec,
  deadLetterRecords,
  observeDeadLetters,
  Pseudonymiser,
  TransactionalConsumer,
  ensureTopics,
  pipelineMetrics,
  sharedPromise,
  type Logger,
  type ReadinessCheck,
  type Stage,
  type ServiceDeps,
} from '@meterstream/core';
import { ReadingsRawSink } from './sinks/readings-raw.sink.js';
import { cleanRecords } from './sinks/clean-topic.sink.js';
import { refuseErased } from './transforms/refuse-erased.js';

import { prepareBatch, type PreparedBatch } from './transforms/prepare-batch.js';
import type { RefusedBatch } from './sinks/readings-raw.sink.js';
import type { SourceMessage } from './transforms/prepare-batch.js';
import { correctionWindowMs, type ValidationLimits } from './transforms/validate-reading.js';
import { ingestorMetrics, type IngestorMetrics } from './ingestor-metrics.js';

/** What the ingestor is built from. */
export interface IngestorDeps extends ServiceDeps {
  /** The pseudonym key (required: the ingestor is the privacy boundary). */
  pseudonymKey: Buffer;
  /** Partitions of the readings topic when the ingestor has to create it. */
  defaultPartitions?: number;
}

export class Ingestor implements Stage {
  readonly name = 'ingestor';
  readonly #deps: IngestorDeps;
  readonly #codec: AvroCodec;
  readonly #pseudonymiser: Pseudonymiser;
  readonly #sink: ReadingsRawSink;
  readonly #source: TransactionalConsumer;
  readonly #metrics: IngestorMetrics;
  readonly #abort = new AbortController();
  readonly #log: Logger;
  readonly #limits: ValidationLimits;
  readonly close: () => Promise<void>;

  constructor(deps: IngestorDeps) {
    this.#deps = deps;
    const { config, registry } = deps;
    this.#limits = {
      maxBatchReadings: config.ingestor.maxBatchReadings,
      maxFutureMs: config.ingestor.maxFutureMs,
      maxAgeMs: correctionWindowMs(config.retention.rawDays),
    };
    this.#log = deps.logger.child({ service: 'ingestor' });
    this.#codec =
      deps.codec ??
      new AvroCodec({ schemaRegistryUrl: config.schemaRegistryUrl ?? undefined, metricsRegistry: registry });
    this.#pseudonymiser = new Pseudonymiser({ key: deps.pseudonymKey });
    const pipeline = pipelineMetrics(registry);
    this.#metrics = ingestorMetrics(registry);
    this.#sink = new ReadingsRawSink(
      deps.clickhouse,
      config.clickhouse.database,
      pipeline,
      this.#log,
      this.#abort.signal,
    );
    this.#source = new TransactionalConsumer({
      kafka: deps.kafka,
      groupId: config.ingestor.groupId,
      topic: config.topics.readings,
      instanceId: config.instanceId,
      logger: this.#log,
      metrics: pipeline,
      fetch: config.kafka.fetch,
      concurrency: config.ingestor.concurrency,
      // Every downstream latency starts here: its inserts go first on the embedded engine.
      urgent: true,
      outputs: [config.topics.clean],
      dlqTopic: config.topics.dlq,
      // Inside the erased set's fence: an erasure waits for the batch's ClickHouse write.
      handler: (batch) => (deps.erased ? deps.erased.fence(() => this.#handle(batch)) : this.#handle(batch)),
    });
    this.close = sharedPromise(async () => {
      this.#log.info('ingestor stopping: finishing the batch in flight');
      await this.#source.close();
      this.#abort.abort();
      this.#log.info('ingestor stopped');
    });
  }

  /** The kafkajs consumer, for instrumentation events (benchmarks, tests). */
  get consumer(): TransactionalConsumer['consumer'] {
    return this.#source.consumer;
  }

  /** Readiness checks for `/readyz`. */
  readiness(): Record<string, ReadinessCheck> {
    return {
      'ingestor.consumer': async () => this.#source.readiness(),
    };
  }

  /** False when the consumer's recovery keeps failing (`/healthz`). */
  liveness(): Record<string, () => boolean> {
    return { 'ingestor.consumer': () => this.#source.alive };
  }

  async start(): Promise<void> {
    const { config, kafka } = this.#deps;
    const admin = kafka.admin();
    await admin.connect();
    try {
      const topics = config.topics;
      const counts = await ensureTopics(admin, [
        { topic: topics.readings, numPartitions: this.#deps.defaultPartitions ?? 3 },
      ]);
      // The clean topic is partitioned by pseudonym, so its partition count is free; the raw
      // topic's is a sensible default for a new one.
      const partitions = counts.get(topics.readings)!;
      await ensureTopics(admin, [
        { topic: topics.clean, numPartitions: partitions },
        { topic: topics.dlq, numPartitions: partitions },
      ]);
    } finally {
      await admin.disconnect();
    }
    await this.#source.start();
    this.#log.info({ topic: config.topics.readings }, 'ingestor started');
  }

  async #handle(batch: Batch) {
    const { config } = this.#deps;
    if (this.#codec.schemas && config.schemaRegistryUrl !== null) {
      await this.#codec.prepare(batch.messages.map((m) => m.value));
    }
    const prepared = prepareBatch(batch.messages, {
      codec: this.#codec,
      pseudonymiser: this.#pseudonymiser,
      limits: this.#limits,
      now: Date.now(),
    });
    this.#deps.erased?.refused('ingestor', refuseErased(prepared, this.#deps.erased));
    // The ClickHouse insert runs (in the engine's threads) while the clean records are
    // encoded and sent; the transaction commits only after ClickHouse confirmed.
    const write = this.#sink.write(prepared.clean, batch.partition, batch.topic);
    const { clean, dlq } = config.topics;
    const output = (p: PreparedBatch) => {
      const dead = deadLetterRecords(p.dead, batch.topic, batch.partition, this.#source.budget(dlq));
      return {
        records: [
          {
            topic: clean,
            messages: cleanRecords(p.clean, this.#codec, this.#source.budget(clean)),
          },
          { topic: dlq, messages: dead },
        ].filter((r) => r.messages.length > 0),
        committed: () => this.#observe(p, batch.topic, dead),
      };
    };
    return {
      ...output(prepared),
      confirm: write.then((refused) => {
        if (refused.length === 0) return null;
        dropRefused(prepared, refused, batch.messages);
        return output(prepared);
      }),
    };
  }

  #observe(p: PreparedBatch, topic: string, dead: Message[]): void {
    const m = this.#metrics;
    m.decoded.inc({ schema: 'MeterReading' }, p.accepted.single);
    m.decoded.inc({ schema: 'MeterReadingBatch' }, p.accepted.batch);
    m.readings.inc(p.accepted.readings);
    m.batchReadings.observe(p.accepted.readings);
    for (const d of p.dead) m.invalid.inc({ reason: d.reason });
    observeDeadLetters(dead, topic, pipelineMetrics(this.#deps.registry), this.#log);
    if (p.maxTs !== null)
      pipelineMetrics(this.#deps.registry).eventTimeLag.set({ topic }, (Date.now() - p.maxTs) / 1000);
  }
}

/**
 * Moves the messages behind the clean batches ClickHouse refused to the dead letters, and
 * their readings out of the clean output (readings_raw and the clean topic stay in step).
 */
function dropRefused(p: PreparedBatch, refused: RefusedBatch[], messages: readonly SourceMessage[]): void {
  const offsets = new Map<number, string>();
  for (const r of refused) for (const x of r.batch.readings) offsets.set(x.offset, r.error);
  for (const m of messages) {
    const error = offsets.get(Number(m.offset));
    if (error !== undefined) p.dead.push({ message: m, reason: 'clickhouse_rejected', detail: error.slice(0, 500) });
  }
  for (const group of p.clean) group.readings = group.readings.filter((r) => !offsets.has(r.offset));
  p.clean = p.clean.filter((g) => g.readings.length > 0);
  p.accepted.readings = p.clean.reduce((n, g) => n + g.readings.length, 0);
}
