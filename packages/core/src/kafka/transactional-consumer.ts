/**
 * Consume-transform-produce with Kafka transactions: each partition batch is handed to a
 * handler that returns the records to produce; the records and the batch's next offset are
 * committed in ONE transaction (`sendOffsets`), so a crash anywhere either commits both or
 * neither. Side effects outside Kafka (ClickHouse inserts) happen in the handler before the
 * transaction commits and must be idempotent: after a crash the batch is delivered again.
 *
 * Memory is bounded by the fetch size: kafkajs fetches the next batch only after the handler
 * returned, so a slow sink holds back consumption instead of queueing (backpressure).
 *
 * Self-healing. kafkajs gives up for good on a non-retriable error (MESSAGE_TOO_LARGE, a
 * producer left fenced or in a broken transaction state, a coordinator it cannot find) and
 * does not restart the consumer. Here every such crash is the consumer's own business: it
 * closes the consumer and its producers, waits (exponential backoff), builds them anew and
 * resumes from the group's committed offsets, in the same process. A producer whose
 * transaction failed is replaced at once. `alive` turns false only when recovery keeps
 * failing for `unhealthyAfterMs`, so an orchestrator restarts only what cannot heal.
 *
 * Bounded transactions: a transaction waits at most `transactionBudgetMs` for the handler's
 * external write; then it is aborted, the write is awaited outside any transaction (the
 * pipeline pauses), and the records go in a fresh one. Long batches heartbeat; a batch that
 * learns of a rebalance aborts instead of committing offsets it may no longer own. Fetches of
 * only transaction markers or aborted records, which kafkajs never hands to eachBatch, are
 * committed past (`partition-progress.ts`), so a partition that ends in them is not left behind.
 *
 * Fencing: the transactional ids are stable per instance (`<group>-<instanceId>-<slot>`): a
 * restarted instance aborts whatever its previous incarnation left open. kafkajs 2.2.4 does
 * not send the consumer group generation with `TxnOffsetCommit` (KIP-447), so instances must
 * have distinct, stable instance ids.
 */
import {
  Partitioners,
  type Batch,
  type Consumer,
  type ConsumerEvents,
  type Kafka,
  type Message,
  type Producer,
} from 'kafkajs';
import type { FetchConfig } from '../config.js';
import { sharedPromise, sleep } from '../lifecycle.js';
import type { Logger } from '../telemetry/logger.js';
import type { PipelineMetrics } from '../telemetry/metrics.js';
import { runBatchTransaction, type ProducerSlot } from './batch-transaction.js';
import { PartitionProgress } from './partition-progress.js';
import { DEFAULT_MAX_MESSAGE_BYTES, readMaxMessageBytes, recordBudget } from './record-limits.js';

/** What a handler wants produced for one batch. */
export interface BatchOutput {
  records: { topic: string; messages: Message[] }[];
  /**
   * The handler's write outside Kafka (ClickHouse), still running: the records are sent
   * meanwhile, and the transaction commits only after it resolved. It resolves to `null`, or
   * to replacement records when the write changed what must be produced (the transaction is
   * then aborted and the replacement sent in a new one). A rejection aborts the transaction.
   */
  confirm?: Promise<BatchOutput | null>;
  /** Called once the transaction committed (metrics and logs of what was produced). */
  committed?: () => void;
}

/** Processes one partition batch; throwing makes the batch be delivered again. */
export type BatchHandler = (batch: Batch, heartbeat: () => Promise<void>) => Promise<BatchOutput>;

/** Options of {@link TransactionalConsumer}. */
export interface TransactionalConsumerOptions {
  kafka: Kafka;
  groupId: string;
  topic: string;
  /** Stable per instance; the transactional id derives from it. */
  instanceId: string;
  handler: BatchHandler;
  logger: Logger;
  metrics: PipelineMetrics;
  fetch: FetchConfig;
  /**
   * Partition batches processed at once (kafkajs `partitionsConsumedConcurrently`); each has
   * its own transactional producer (`<group>-<instance>-<slot>`), since a producer runs one
   * transaction at a time. Default 1.
   */
  concurrency?: number;
  /**
   * Latency-sensitive: the handler's ClickHouse statements go before bulk work on the embedded
   * engine (see `clickhouse/engine-queue.ts`). Default false.
   */
  urgent?: boolean;
  /** Topics the handler produces to: their `max.message.bytes` is read from the broker at start. */
  outputs?: readonly string[];
  /**
   * The dead-letter topic: an output record still over its topic's limit goes there as a
   * bounded `too_large` envelope, so no record can fail a batch forever.
   */
  dlqTopic?: string;
  /** Longest wait of an open transaction for the handler's external write (ms). Default 20 000. */
  transactionBudgetMs?: number;
  /** First and longest pause before rebuilding a crashed consumer (ms). Default 1 000 and 30 000. */
  restartBackoffMs?: readonly [number, number];
  /** Failed recovery lasting this long makes `alive` false (ms). Default 300 000 (5 min). */
  unhealthyAfterMs?: number;
}

const TRANSACTION_TIMEOUT_MS = 60_000;
const HEARTBEAT_MS = 3_000;
/** A running consumer the broker has not answered (fetch or heartbeat) for this long is not ready. */
const SILENT_BROKER_MS = 10_000;
/** A rebuilt consumer that ran this long without crashing counts as healed. */
const HEALED_AFTER_MS = 30_000;

type Listener = [event: ConsumerEvents[keyof ConsumerEvents], listener: (e: never) => void];

export class TransactionalConsumer {
  readonly #o: TransactionalConsumerOptions;
  readonly #slots: number;
  #consumer: Consumer;
  /** One transactional producer per concurrent batch; a slot's producer is replaced when it breaks. */
  #slotsInUse: ProducerSlot[] = [];
  #idle: ProducerSlot[] = [];
  readonly #listeners: Listener[] = [];
  readonly #limits = new Map<string, number>();
  readonly #closing = new AbortController();
  #assigned = 0;
  #running = false;
  /** Last time the broker answered this consumer (a fetch or a heartbeat). */
  #contact = Date.now();
  /** Batches waiting for their sink outside a transaction (the budget passed). */
  #waitingForSink = 0;
  #backoff: number;
  #failingSince: number | null = null;
  #recovering: Promise<void> | null = null;
  /**
   * The rebuilt consumer crashed before its recovery had finished (e.g. "the coordinator is
   * loading" while it joins a broker that has just restarted): that recovery must go round again.
   */
  #crashedWhileRecovering = false;
  #healTimer: NodeJS.Timeout | undefined;
  readonly #progress: PartitionProgress;
  readonly close: () => Promise<void>;

  constructor(options: TransactionalConsumerOptions) {
    this.#o = options;
    this.#slots = Math.max(1, options.concurrency ?? 1);
    this.#backoff = (options.restartBackoffMs ?? [1_000, 30_000])[0];
    this.#progress = new PartitionProgress(options.topic, options.groupId, options.metrics, options.logger);
    this.#consumer = this.#newConsumer();
    this.close = sharedPromise(async () => {
      this.#closing.abort();
      this.#setRunning(false);
      clearTimeout(this.#healTimer);
      await this.#recovering;
      // disconnect() waits for the batch in flight to finish and its transaction to commit.
      await this.#consumer.disconnect();
      await Promise.all(this.#slotsInUse.map((s) => s.producer.disconnect().catch(() => undefined)));
    });
  }

  /**
   * Instrumentation events of the consumer, kept across rebuilds: `consumer.on(...)` listens
   * to the current kafkajs consumer and to every one that replaces it.
   */
  get consumer(): Pick<Consumer, 'on' | 'events'> {
    return {
      events: this.#consumer.events,
      on: ((event: Listener[0], listener: Listener[1]) => {
        this.#listeners.push([event, listener]);
        return this.#consumer.on(event as never, listener as never);
      }) as Consumer['on'],
    };
  }

  /** The transactional ids of the producer slots (`<group>-<instance>-<slot>`). */
  get transactionalIds(): string[] {
    return Array.from({ length: this.#slots }, (_, slot) => `${this.#o.groupId}-${this.#o.instanceId}-${slot}`);
  }

  /** True once the group gave this instance at least one partition and it runs. */
  get assigned(): boolean {
    return this.#running && this.#assigned > 0;
  }

  /** True after start and before close, while the consumer runs (false while it is rebuilt). */
  get running(): boolean {
    return this.#running;
  }

  /** False when recovery has kept failing for `unhealthyAfterMs`: the process cannot heal itself. */
  get alive(): boolean {
    const limit = this.#o.unhealthyAfterMs ?? 300_000;
    return this.#failingSince === null || Date.now() - this.#failingSince < limit;
  }

  /** Why the consumer is not ready, or `true`. */
  readiness(): true | string {
    if (this.#recovering !== null || (!this.#running && this.#failingSince !== null)) return 'consumer restarting';
    if (!this.#running) return 'consumer not running';
    const silent = Date.now() - this.#contact;
    if (silent > SILENT_BROKER_MS) return `no answer from the broker for ${Math.round(silent / 1000)} s`;
    if (this.#waitingForSink > 0) return 'waiting for the sink (ClickHouse) beyond the transaction budget';
    return this.#assigned > 0 ? true : 'no partitions assigned yet';
  }

  /** The largest record (bytes, headers included) `topic` takes; read from the broker at start. */
  budget(topic: string): number {
    return recordBudget(this.#limits.get(topic) ?? DEFAULT_MAX_MESSAGE_BYTES);
  }

  async start(): Promise<void> {
    const outputs = [...new Set([...(this.#o.outputs ?? []), ...(this.#o.dlqTopic ? [this.#o.dlqTopic] : [])])];
    if (outputs.length > 0) {
      const admin = this.#o.kafka.admin();
      await admin.connect();
      try {
        for (const [t, n] of await readMaxMessageBytes(admin, outputs)) this.#limits.set(t, n);
      } finally {
        await admin.disconnect();
      }
    }
    await this.#boot();
  }

  #newConsumer(): Consumer {
    const o = this.#o;
    const consumer = o.kafka.consumer({
      groupId: o.groupId,
      readUncommitted: false,
      allowAutoTopicCreation: false,
      maxBytes: o.fetch.maxBytes,
      maxBytesPerPartition: o.fetch.maxBytesPerPartition,
      minBytes: o.fetch.minBytes,
      maxWaitTimeInMs: o.fetch.maxWaitTimeInMs,
      sessionTimeout: 30_000,
      heartbeatInterval: HEARTBEAT_MS,
      // Every crash is handled here (rebuild with backoff), never half by kafkajs.
      retry: { restartOnFailure: async () => false },
    });
    consumer.on(consumer.events.GROUP_JOIN, (e) => {
      const assignment = e.payload.memberAssignment[o.topic] ?? [];
      this.#assigned = assignment.length;
      if (consumer === this.#consumer) this.#progress.assigned(assignment);
      o.logger.info({ topic: o.topic, partitions: assignment }, 'partitions assigned');
      clearTimeout(this.#healTimer);
      this.#healTimer = setTimeout(() => {
        if (consumer === this.#consumer && this.#running) this.#healed();
      }, HEALED_AFTER_MS);
      this.#healTimer.unref();
    });
    const contact = () => {
      if (consumer === this.#consumer) this.#contact = Date.now();
    };
    this.#progress.watch(consumer, () => consumer === this.#consumer);
    consumer.on(consumer.events.FETCH, contact);
    consumer.on(consumer.events.HEARTBEAT, contact);
    consumer.on(consumer.events.CRASH, (e) => {
      if (consumer !== this.#consumer || this.#closing.signal.aborted) return;
      const error = e.payload.error as Error;
      o.logger.error({ topic: o.topic, err: error?.message, error: error?.name }, 'consumer crashed; rebuilding it');
      this.#setRunning(false);
      o.metrics.consumerRestarts.inc({ topic: o.topic, group: o.groupId, error: error?.name ?? 'Error' });
      this.#failingSince ??= Date.now();
      this.#scheduleRecovery();
    });
    for (const [event, listener] of this.#listeners) consumer.on(event as never, listener as never);
    return consumer;
  }

  #newProducer(slot: number): Producer {
    const o = this.#o;
    return o.kafka.producer({
      transactionalId: this.transactionalIds[slot],
      idempotent: true,
      maxInFlightRequests: 1,
      transactionTimeout: TRANSACTION_TIMEOUT_MS,
      allowAutoTopicCreation: false,
      // The Java client's murmur2 partitioner; records with an explicit partition bypass it.
      createPartitioner: Partitioners.DefaultPartitioner,
    });
  }

  #setRunning(running: boolean): void {
    this.#running = running;
    this.#o.metrics.consumerRunning.set({ topic: this.#o.topic, group: this.#o.groupId }, running ? 1 : 0);
  }

  #healed(): void {
    if (this.#failingSince !== null) this.#o.logger.info({ topic: this.#o.topic }, 'consumer healed');
    this.#failingSince = null;
    this.#backoff = (this.#o.restartBackoffMs ?? [1_000, 30_000])[0];
  }

  async #boot(): Promise<void> {
    this.#slotsInUse = Array.from({ length: this.#slots }, (_, slot) => ({ slot, producer: this.#newProducer(slot) }));
    this.#idle = [...this.#slotsInUse];
    await Promise.all(this.#slotsInUse.map((s) => s.producer.connect()));
    const consumer = this.#consumer;
    await consumer.connect();
    await consumer.subscribe({ topics: [this.#o.topic], fromBeginning: true });
    this.#contact = Date.now();
    this.#setRunning(true);
    await consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: this.#slots,
      eachBatch: async ({ batch, heartbeat, resolveOffset, isRunning, isStale }) => {
        if (!isRunning() || isStale() || batch.isEmpty()) return;
        // kafkajs never runs more batches at once than there are producers.
        const slot = this.#idle.pop()!;
        try {
          await this.#process(batch, heartbeat, slot);
        } finally {
          this.#idle.push(slot);
        }
        resolveOffset(batch.lastOffset());
      },
    });
  }

  /**
   * Starts a recovery, or, when one is in flight, makes it go round again: a crash of the new
   * consumer reported while its recovery is still finishing would otherwise be dropped, and the
   * consumer stay down for good (found by the chaos soak: a broker restart, the rebuilt consumer
   * joining while the coordinator was still loading).
   */
  #scheduleRecovery(): void {
    if (this.#recovering !== null) {
      this.#crashedWhileRecovering = true;
      return;
    }
    this.#recovering = this.#recover().finally(() => {
      this.#recovering = null;
      if (this.#crashedWhileRecovering && !this.#closing.signal.aborted) {
        this.#crashedWhileRecovering = false;
        this.#scheduleRecovery();
      }
    });
  }

  /** Rebuilds the consumer and its producers after a crash, with backoff, until it runs again. */
  async #recover(): Promise<void> {
    const [, longest] = this.#o.restartBackoffMs ?? [1_000, 30_000];
    const log = this.#o.logger;
    for (;;) {
      const wait = this.#backoff;
      this.#backoff = Math.min(longest, this.#backoff * 2);
      await sleep(wait, this.#closing.signal);
      if (this.#closing.signal.aborted) return;
      try {
        await this.#consumer.disconnect().catch(() => undefined);
        await Promise.all(this.#slotsInUse.map((s) => s.producer.disconnect().catch(() => undefined)));
        this.#consumer = this.#newConsumer();
        this.#crashedWhileRecovering = false; // only crashes of this consumer count from here
        await this.#boot();
        if (this.#crashedWhileRecovering) {
          this.#crashedWhileRecovering = false;
          throw new Error('the rebuilt consumer crashed while starting');
        }
        log.info({ topic: this.#o.topic, after_ms: wait }, 'consumer rebuilt; resuming from the committed offsets');
        return;
      } catch (err) {
        this.#setRunning(false);
        log.warn({ topic: this.#o.topic, err: (err as Error).message }, 'rebuilding the consumer failed; retrying');
      }
    }
  }

  /** Processes one batch in one transaction, with the slot's producer (replaced when it breaks). */
  async #process(batch: Batch, heartbeat: () => Promise<void>, slot: ProducerSlot): Promise<void> {
    const { metrics, topic } = this.#o;
    const end = metrics.batchDuration.startTimer({ topic });
    await this.#progress.settled();
    await runBatchTransaction(
      {
        ...this.#o,
        budget: (t) => this.budget(t),
        waitingForSink: (waiting) => (this.#waitingForSink += waiting ? 1 : -1),
        replace: async (s) => {
          await s.producer.disconnect().catch(() => undefined);
          s.producer = this.#newProducer(s.slot);
          // The same transactional id: initTransactions fences the old epoch and aborts what it left open.
          await s.producer.connect().catch(() => undefined); // kafkajs connects again on first use
        },
      },
      batch,
      heartbeat,
      slot,
    );
    end();
    this.#progress.committed(batch.partition, BigInt(batch.lastOffset()) + 1n, BigInt(batch.highWatermark));
    this.#healed();
    metrics.messagesConsumed.inc({ topic }, batch.messages.length);
    metrics.batchMessages.observe({ topic }, batch.messages.length);
  }
}

export { chunkBySize } from './record-limits.js';
