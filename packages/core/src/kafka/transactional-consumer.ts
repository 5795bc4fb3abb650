/**
 * Consume-transform-produce with Kafka transactions: each partition batch is handed to a
 * handler that returns the records to produce; the records and the batch's next offset are
 * committed in ONE transaction (`sendOffsets`), so a crash anywhere either commits both or
 * neither. Side effects outside Kafka (ClickHouse inserts) happen in the handler before the
 * transaction and must be idempotent: after a crash the batch is delivered again.
 *
 * Memory is bounded by the fetch size: kafkajs fetches the next batch only after the handler
 * returned, so a slow sink holds back consumption instead of queueing (backpressure).
 *
 * Fencing: the transactional ids are stable per instance (`<group>-<instanceId>-<slot>`): a
 * restarted instance aborts whatever its previous incarnation left open. kafkajs 2.2.4 does not send the
 * consumer group generation with `TxnOffsetCommit` (KIP-447), so instances must have distinct,
 * stable instance ids.
 */
import { Partitioners, type Batch, type Consumer, type Kafka, type Message, type Producer } from 'kafkajs';
import type { FetchConfig } from '../config.js';
import { urgently } from '../clickhouse/engine-queue.js';
import { sharedPromise } from '../lifecycle.js';
import type { Logger } from '../telemetry/logger.js';
import type { PipelineMetrics } from '../telemetry/metrics.js';

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
  /** Largest total value bytes per produce request (stays under the broker's message.max.bytes). */
  maxRequestBytes?: number;
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
}

export class TransactionalConsumer {
  readonly #o: TransactionalConsumerOptions;
  readonly consumer: Consumer;
  /** One transactional producer per concurrent batch. */
  readonly producers: Producer[];
  readonly #idle: Producer[];
  #assigned = 0;
  #running = false;
  readonly close: () => Promise<void>;

  constructor(options: TransactionalConsumerOptions) {
    this.#o = options;
    this.consumer = options.kafka.consumer({
      groupId: options.groupId,
      readUncommitted: false,
      allowAutoTopicCreation: false,
      maxBytes: options.fetch.maxBytes,
      maxBytesPerPartition: options.fetch.maxBytesPerPartition,
      minBytes: options.fetch.minBytes,
      maxWaitTimeInMs: options.fetch.maxWaitTimeInMs,
      sessionTimeout: 30_000,
      heartbeatInterval: 3_000,
    });
    const slots = Math.max(1, options.concurrency ?? 1);
    this.producers = Array.from({ length: slots }, (_, slot) =>
      options.kafka.producer({
        transactionalId: `${options.groupId}-${options.instanceId}-${slot}`,
        idempotent: true,
        maxInFlightRequests: 1,
        transactionTimeout: 60_000,
        allowAutoTopicCreation: false,
        // The Java client's murmur2 partitioner; records with an explicit partition bypass it.
        createPartitioner: Partitioners.DefaultPartitioner,
      }),
    );
    this.#idle = [...this.producers];
    this.consumer.on(this.consumer.events.GROUP_JOIN, (e) => {
      const assignment = e.payload.memberAssignment[options.topic] ?? [];
      this.#assigned = assignment.length;
      options.logger.info({ topic: options.topic, partitions: assignment }, 'partitions assigned');
    });
    this.consumer.on(this.consumer.events.CRASH, (e) => {
      options.logger.error({ err: e.payload.error?.message, restart: e.payload.restart }, 'consumer crashed');
      // kafkajs gives up on a non-retriable error: say so through readiness (503), so an
      // orchestrator restarts the instance instead of it idling with its partitions.
      if (!e.payload.restart) this.#running = false;
    });
    this.close = sharedPromise(async () => {
      this.#running = false;
      // disconnect() waits for the batch in flight to finish and its transaction to commit.
      await this.consumer.disconnect();
      await Promise.all(this.producers.map((p) => p.disconnect()));
    });
  }

  /** True when the group's committed offset of the partition reaches `next` (polled briefly). */
  async #committedPast(partition: number, next: bigint): Promise<boolean> {
    const admin = this.#o.kafka.admin();
    try {
      await admin.connect();
      for (let i = 0; i < 10; i++) {
        const [t] = await admin.fetchOffsets({ groupId: this.#o.groupId, topics: [this.#o.topic] });
        const committed = t?.partitions.find((p) => p.partition === partition)?.offset;
        if (committed !== undefined && BigInt(committed) >= next) return true;
        await new Promise((r) => setTimeout(r, 500));
      }
      return false;
    } catch {
      return false;
    } finally {
      await admin.disconnect().catch(() => undefined);
    }
  }

  async #send(tx: Awaited<ReturnType<Producer['transaction']>>, records: BatchOutput['records']): Promise<void> {
    for (const { topic: out, messages } of records) {
      for (const chunk of chunkBySize(messages, this.#o.maxRequestBytes ?? 768 * 1024)) {
        await tx.send({ topic: out, messages: chunk });
      }
    }
  }

  /** True once the group gave this instance at least one partition. */
  get assigned(): boolean {
    return this.#running && this.#assigned > 0;
  }

  /** True after start and before close. */
  get running(): boolean {
    return this.#running;
  }

  async start(): Promise<void> {
    await Promise.all(this.producers.map((p) => p.connect()));
    await this.consumer.connect();
    await this.consumer.subscribe({ topics: [this.#o.topic], fromBeginning: true });
    this.#running = true;
    await this.consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: this.producers.length,
      eachBatch: async ({ batch, heartbeat, resolveOffset, isRunning, isStale }) => {
        if (!isRunning() || isStale() || batch.isEmpty()) return;
        // kafkajs never runs more batches at once than there are producers.
        const producer = this.#idle.pop()!;
        try {
          await this.#process(batch, heartbeat, producer);
        } finally {
          this.#idle.push(producer);
        }
        resolveOffset(batch.lastOffset());
      },
    });
  }

  async #process(batch: Batch, heartbeat: () => Promise<void>, producer: Producer): Promise<void> {
    const { metrics, topic, groupId } = this.#o;
    const end = metrics.batchDuration.startTimer({ topic });
    const log = this.#o.logger;
    const output = await (this.#o.urgent
      ? urgently(() => this.#o.handler(batch, heartbeat))
      : this.#o.handler(batch, heartbeat));
    // Settled before anything else can fail, so a rejection is never left unhandled.
    const confirmed = (output.confirm ?? Promise.resolve(null)).then(
      (replacement) => ({ ok: true as const, replacement }),
      (error: unknown) => ({ ok: false as const, error }),
    );
    let records = output.records;
    let committing = false;
    for (let attempt = 0; ; attempt++) {
      const tx = await producer.transaction();
      try {
        await this.#send(tx, records);
        const result = await confirmed;
        if (!result.ok) throw result.error;
        if (result.replacement !== null && attempt === 0) {
          log.warn({ partition: batch.partition }, 'sink changed the batch output; resending it in a new transaction');
          records = result.replacement.records;
          await tx.abort();
          continue;
        }
        const next = (BigInt(batch.lastOffset()) + 1n).toString();
        await tx.sendOffsets({
          consumerGroupId: groupId,
          topics: [{ topic, partitions: [{ partition: batch.partition, offset: next }] }],
        });
        committing = true;
        await tx.commit();
        log.debug({ partition: batch.partition, next }, 'transaction committed');
        break;
      } catch (err) {
        await tx.abort().catch(() => undefined);
        await confirmed; // never leave the external write running behind a retry
        // A commit whose answer was lost (timeout, broker under load) may have committed: then
        // the group's offset is past the batch, and processing it again would duplicate it.
        if (committing && (await this.#committedPast(batch.partition, BigInt(batch.lastOffset()) + 1n))) {
          log.warn(
            { partition: batch.partition, err: (err as Error).message },
            'commit reported an error but the broker has it; not processing the batch again',
          );
          break;
        }
        throw err;
      }
    }
    end();
    metrics.messagesConsumed.inc({ topic }, batch.messages.length);
    metrics.batchMessages.observe({ topic }, batch.messages.length);
    const lag = Number(BigInt(batch.highWatermark) - BigInt(batch.lastOffset()) - 1n);
    metrics.consumerLag.set({ topic, partition: String(batch.partition) }, Math.max(0, lag));
  }
}

/**
 * Splits messages into runs whose value bytes stay under `limit` (at least one per run) and
 * that hold at most `maxCount` messages: kafkajs groups a send's messages by partition in
 * quadratic time (`[...current, message]` per message), so long sends cost more than they carry.
 */
export function chunkBySize(messages: Message[], limit: number, maxCount = 1000): Message[][] {
  const chunks: Message[][] = [];
  let current: Message[] = [];
  let size = 0;
  for (const m of messages) {
    const n = (m.value === null || m.value === undefined ? 0 : m.value.length) + (m.key?.length ?? 0) + 64;
    if (current.length > 0 && (size + n > limit || current.length >= maxCount)) {
      chunks.push(current);
      current = [];
      size = 0;
    }
    current.push(m);
    size += n;
  }
  if (current.length > 0) chunks.push(current);
  return chunks;
}
