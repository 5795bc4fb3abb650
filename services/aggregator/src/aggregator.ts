/**
 * The aggregator: clean readings → exact hourly rows in `readings_hourly` and on
 * `meter.hourly.v1`.
 *
 * Why the rows are exact, whatever Kafka does:
 * 1. The ingestor commits a clean batch only after its readings are in `readings_raw`, whose
 *    FINAL view holds exactly the distinct readings (duplicates once, corrections applied).
 * 2. For every clean batch the aggregator recomputes every hour the batch's readings reach,
 *    from all the stored readings that reach that hour (`recompute-window.ts`), with a pure
 *    roll-up (`roll-up.ts`). Recomputing is idempotent: a redelivered batch, a batch processed
 *    twice across a rebalance, or a replay after kill -9 writes the same rows again.
 * 3. A recompute that reads later sees every reading an earlier one saw, and the last recompute
 *    of an hour runs after its last reading was confirmed. The row's version is a hybrid logical
 *    clock taken when the recompute's read starts, above every stored version of its hours
 *    (`hourly-clock.ts`); `readings_hourly` is a ReplacingMergeTree by that version, so FINAL
 *    returns the row of the recompute that saw the most — whatever partition, topic incarnation
 *    or process the batches came through, and whatever order the rows were written in. The
 *    clean topic is partitioned by pseudonym, so a meter's recomputes normally run one after
 *    another on one aggregator.
 * 4. The hourly rows are published and the clean offsets committed in one Kafka transaction,
 *    after ClickHouse confirmed the rows.
 */
import { fileURLToPath } from 'node:url';
import { Piscina } from 'piscina';
import type { Batch, Message } from 'kafkajs';
import {
  AvroCodec,
  TransactionalConsumer,
  deadLetterRecords,
  observeDeadLetters,
  splitToFit,
  ensureTopics,
  pipelineMetrics,
  refusingErased,
  sharedPromise,
  type HourlyBatch,
  type HourlyValue,
  type Logger,
  type ReadinessCheck,
  type Stage,
  type ServiceDeps,
} from '@meterstream/core';
import { ReadingsRawSource, seriesKey, type StoredHour, type StoredReadings } from './sources/readings-raw.source.js';
import { HourlyClock } from './hourly-clock.js';
import { ReadingsHourlySink } from './sinks/readings-hourly.sink.js';
import { nearRange, recomputeWindow, type RecomputeWindow } from './transforms/recompute-window.js';
import { HOUR_SOURCES } from './transforms/roll-up.js';
import { rollUpTask } from './workers/roll-up-task.js';
import { aggregatorMetrics, type AggregatorMetrics } from './aggregator-metrics.js';
import type { DecodeResult, RollUpResult, TouchedSeries } from './workers/tasks.js';

/** What the aggregator is built from. */
export type AggregatorDeps = ServiceDeps;

/** One hourly row with its series header (what `readings_hourly` stores). */
export type HourlyRow = HourlyValue & Omit<HourlyBatch, 'rows'>;

const WORKER = fileURLToPath(new URL('./workers/roll-up.worker.js', import.meta.url));

export class Aggregator implements Stage {
  readonly name = 'aggregator';
  readonly #deps: AggregatorDeps;
  readonly #codec: AvroCodec;
  readonly #pool: Piscina;
  readonly #raw: ReadingsRawSource;
  readonly #sink: ReadingsHourlySink;
  readonly #source: TransactionalConsumer;
  readonly #metrics: AggregatorMetrics;
  readonly #abort = new AbortController();
  readonly #clock = new HourlyClock();
  readonly #log: Logger;
  readonly close: () => Promise<void>;

  constructor(deps: AggregatorDeps) {
    this.#deps = deps;
    const { config, registry } = deps;
    this.#log = deps.logger.child({ service: 'aggregator' });
    this.#codec = deps.codec ?? new AvroCodec();
    this.#pool = new Piscina({
      filename: WORKER,
      minThreads: config.aggregator.workers,
      maxThreads: config.aggregator.workers,
      // Bounded: at most `concurrency` batches are in flight, each waits for its own tasks.
      maxQueue: config.aggregator.workers * 4,
    });
    const pipeline = pipelineMetrics(registry);
    this.#metrics = aggregatorMetrics(registry, this.#pool);
    this.#raw = new ReadingsRawSource(deps.clickhouse, config.clickhouse.database);
    this.#sink = new ReadingsHourlySink(
      deps.clickhouse,
      config.clickhouse.database,
      pipeline,
      this.#log,
      this.#abort.signal,
    );
    this.#source = new TransactionalConsumer({
      kafka: deps.kafka,
      groupId: config.aggregator.groupId,
      topic: config.topics.clean,
      instanceId: config.instanceId,
      logger: this.#log,
      metrics: pipeline,
      concurrency: config.aggregator.concurrency,
      // Per-batch work (recomputing hours): fuller fetches, fewer statements.
      fetch: config.kafka.bulkFetch,
      outputs: [config.topics.hourly],
      dlqTopic: config.topics.dlq,
      // Erased meters' records are skipped, inside the fence an erasure waits on.
      handler: refusingErased(deps.erased, 'aggregator', (batch) => this.#handle(batch)),
    });
    this.close = sharedPromise(async () => {
      this.#log.info('aggregator stopping: finishing the batch in flight');
      await this.#source.close();
      this.#abort.abort();
      await this.#pool.close();
      this.#log.info('aggregator stopped');
    });
  }

  /** The kafkajs consumer, for instrumentation events (benchmarks, tests). */
  get consumer(): TransactionalConsumer['consumer'] {
    return this.#source.consumer;
  }

  readiness(): Record<string, ReadinessCheck> {
    return { 'aggregator.consumer': async () => this.#source.readiness() };
  }

  /** False when the consumer's recovery keeps failing (`/healthz`). */
  liveness(): Record<string, () => boolean> {
    return { 'aggregator.consumer': () => this.#source.alive };
  }

  async start(): Promise<void> {
    const { config, kafka } = this.#deps;
    const admin = kafka.admin();
    await admin.connect();
    try {
      const counts = await ensureTopics(admin, [{ topic: config.topics.clean, numPartitions: 3 }]);
      const partitions = counts.get(config.topics.clean)!;
      await ensureTopics(admin, [
        { topic: config.topics.hourly, numPartitions: partitions },
        { topic: config.topics.dlq, numPartitions: partitions },
      ]);
    } finally {
      await admin.disconnect();
    }
    await this.#source.start();
    this.#log.info({ topic: config.topics.clean, workers: config.aggregator.workers }, 'aggregator started');
  }

  async #handle(batch: Batch) {
    const { config } = this.#deps;
    // 1. Decode in a worker: the series the batch touches.
    const values = batch.messages.map((m) => m.value ?? Buffer.alloc(0));
    const bounds = new Int32Array(values.length + 1);
    for (let i = 0; i < values.length; i++) bounds[i + 1] = bounds[i] + values[i].length;
    const data = new ArrayBuffer(bounds[values.length]);
    const view = new Uint8Array(data);
    for (let i = 0; i < values.length; i++) view.set(values[i], bounds[i]);
    const phase = this.#metrics.phase;
    let end = phase.startTimer({ phase: 'decode' });
    const decoded = (await this.#pool.run(
      { op: 'decode', data, bounds, now: Date.now() },
      { transferList: [data, bounds.buffer] },
    )) as DecodeResult;

    // 2. The hours to recompute and the stored readings they need.
    end();
    end = phase.startTimer({ phase: 'window' });
    const windows = await this.#windows(decoded.touched);
    end();
    end = phase.startTimer({ phase: 'read' });
    // The stored rows first: the version is taken after them and before the readings are read.
    const before = await this.#raw.storedHours(windows);
    let observed = 0;
    for (const h of before.values()) if (h.version > observed) observed = h.version;
    const version = this.#clock.tick(observed);
    const stored = await this.#raw.readings(windows);
    end();

    // 3. Roll up in the workers, the series split across them.
    end = phase.startTimer({ phase: 'rollup' });
    const rows = await this.#rollUp(windows, stored, before, version);
    end();

    // 4. ClickHouse, then (in the consumer) the transaction with the hourly records.
    this.#metrics.readings.inc(decoded.readings);
    decoded.late.forEach((n, i) => n > 0 && this.#metrics.lateReadings.inc({ age: this.#metrics.lateLabels[i] }, n));
    const { hourly, dlq } = config.topics;
    const encode = (b: HourlyBatch): Message => ({
      key: b.meter,
      // Partitioned by pseudonym like the clean topic, whatever its partition count.
      value: this.#codec.encodeSingleObject('HourlyBatch', b),
    });
    const halve = (b: HourlyBatch): [HourlyBatch, HourlyBatch] | null =>
      b.rows.length < 2
        ? null
        : [
            { ...b, rows: b.rows.slice(0, b.rows.length >> 1) },
            { ...b, rows: b.rows.slice(b.rows.length >> 1) },
          ];
    const budget = this.#source.budget(hourly);
    const messages = hourlyBatches(rows).flatMap((b) => splitToFit(b, encode, halve, budget));
    const dead = deadLetterRecords(
      decoded.dead.map((d) => ({ message: batch.messages[d.index], reason: d.reason, detail: d.detail })),
      batch.topic,
      batch.partition,
      this.#source.budget(dlq),
    );
    return {
      records: [
        { topic: hourly, messages },
        { topic: dlq, messages: dead },
      ].filter((r) => r.messages.length > 0),
      committed: () => observeDeadLetters(dead, batch.topic, pipelineMetrics(this.#deps.registry), this.#log),
      confirm: this.#sink
        .write(rows, {
          topic: batch.topic,
          partition: batch.partition,
          firstOffset: batch.firstOffset() ?? '',
          lastOffset: batch.lastOffset(),
        })
        .then(() => {
          this.#metrics.hours.inc(rows.length);
          this.#metrics.revised.inc(rows.filter((r) => r.revision).length);
          return null;
        }),
    };
  }

  /**
   * The recompute windows. Consumption series take two register look-ups: the registers around
   * the new readings give the hours whose rows changed (the spans they fall in); the registers
   * bracketing those hours complete the spans that reach into their first and last hour.
   */
  async #windows(touched: TouchedSeries[]): Promise<RecomputeWindow[]> {
    const consumption = touched.filter((s) => !s.instant);
    const near = await this.#raw.neighbours(consumption.map((s) => ({ s, ...nearRange(s) })));
    const inner = touched.map((s) => recomputeWindow(s, near.get(seriesKey(s))));
    const outer = await this.#raw.neighbours(
      inner.filter((w) => !w.series.instant).map((w) => ({ s: w.series, before: w.fromHour, after: w.toHour - 1 })),
    );
    return touched.map((s) => recomputeWindow(s, near.get(seriesKey(s)), outer.get(seriesKey(s))));
  }

  async #rollUp(
    windows: RecomputeWindow[],
    stored: Map<string, StoredReadings>,
    before: Map<string, StoredHour>,
    version: number,
  ): Promise<HourlyRow[]> {
    const parts = Math.max(1, Math.min(this.#deps.config.aggregator.workers, windows.length));
    const chunks: RecomputeWindow[][] = Array.from({ length: parts }, () => []);
    windows.forEach((w, i) => chunks[i % parts].push(w));
    const results = await Promise.all(
      chunks.map(async (chunk) => {
        const task = rollUpTask(chunk, stored, this.#deps.config.aggregator.registerMismatch);
        const result = (await this.#pool.run(task, {
          transferList: [task.type, task.ts, task.value, task.intervalSeconds, task.modulus, task.offset].map(
            (a) => a.buffer,
          ) as ArrayBuffer[],
        })) as RollUpResult;
        return { chunk, result };
      }),
    );
    const rows: HourlyRow[] = [];
    for (const { chunk, result: r } of results) {
      this.#metrics.registerResets.inc({ cause: 'reset' }, r.resets);
      this.#metrics.registerResets.inc({ cause: 'rollover' }, r.rollovers);
      r.mismatches.forEach((n, i) => n > 0 && this.#metrics.registerMismatches.inc({ kind: chunk[i].series.kind }, n));
      for (let i = 0; i < r.hour.length; i++) {
        const s = chunk[r.series[i]].series;
        const prior = before.get(`${seriesKey(s)}\u001f${r.hour[i]}`);
        rows.push({
          tenant: s.tenant,
          meter: s.meter,
          kind: s.kind,
          unit: s.unit,
          hour: r.hour[i],
          valueSum: r.sum[i],
          valueMin: r.min[i],
          valueMax: r.max[i],
          samples: r.samples[i],
          firstTs: r.firstTs[i],
          lastTs: r.lastTs[i],
          coverage: r.coverage[i],
          zoneId: s.zoneId,
          version,
          // A revision: a stored row of this hour said something else (not a rewrite of the same).
          revision:
            prior !== undefined &&
            (prior.sum !== r.sum[i] ||
              prior.min !== r.min[i] ||
              prior.max !== r.max[i] ||
              prior.samples !== r.samples[i] ||
              Math.abs(prior.coverage - r.coverage[i]) > 1e-6),
          source: HOUR_SOURCES[r.source[i]],
          registerMismatch: r.mismatch[i] === 1,
        });
      }
    }
    return rows;
  }
}

/** Groups rows into one `HourlyBatch` per series (one Kafka record per meter and kind). */
function hourlyBatches(rows: readonly HourlyRow[]): HourlyBatch[] {
  const out = new Map<string, HourlyBatch>();
  for (const r of rows) {
    const key = seriesKey(r);
    let b = out.get(key);
    if (b === undefined)
      out.set(key, (b = { tenant: r.tenant, meter: r.meter, kind: r.kind, unit: r.unit, zoneId: r.zoneId, rows: [] }));
    b.rows.push({
      hour: r.hour,
      valueSum: r.valueSum,
      valueMin: r.valueMin,
      valueMax: r.valueMax,
      samples: r.samples,
      firstTs: r.firstTs,
      lastTs: r.lastTs,
      coverage: r.coverage,
      version: r.version,
      revision: r.revision,
      source: r.source,
      registerMismatch: r.registerMismatch,
    });
  }
  return [...out.values()];
}
