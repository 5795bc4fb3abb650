/**
 * Positions past records with nothing to process. kafkajs hands eachBatch no batch whose
 * records were all filtered out (a transaction's marker, an aborted transaction's records): it
 * moves its fetch position past them but, with autoCommit off, commits nothing. A partition that
 * ends in such records would stay behind for good (lag never 0, the records read again after
 * every restart), so {@link FilteredPositions.watch} commits that position, as Kafka Streams
 * commits its position (KAFKA-6607). The group generation goes with the commit: a member that
 * lost the partition is refused.
 */
import type { Consumer } from 'kafkajs';
import type { Logger } from '../telemetry/logger.js';
import type { PipelineMetrics } from '../telemetry/metrics.js';

export class FilteredPositions {
  /** Next offset committed per partition, by a batch's transaction or here. */
  readonly #committed = new Map<number, bigint>();
  #commits: Promise<void> = Promise.resolve();

  constructor(
    private readonly topic: string,
    private readonly metrics: PipelineMetrics,
    private readonly logger: Logger,
  ) {}

  /** A batch's transaction committed `next` for `partition`. */
  committed(partition: number, next: bigint): void {
    this.#committed.set(partition, next);
  }

  /** Commits the positions past filtered batches of `consumer` while `current()` says it is in use. */
  watch(consumer: Consumer, current: () => boolean): void {
    consumer.on(consumer.events.END_BATCH_PROCESS, (e) => {
      const { topic, partition, batchSize, firstOffset, lastOffset, highWatermark } = e.payload;
      // firstOffset null: nothing at or after the fetched offset (compacted away), not ours to skip.
      if (!current() || topic !== this.topic || batchSize !== 0 || firstOffset === null) return;
      this.#commit(consumer, partition, BigInt(lastOffset) + 1n, BigInt(highWatermark));
    });
  }

  #commit(consumer: Consumer, partition: number, next: bigint, highWatermark: bigint): void {
    const { topic, metrics, logger } = this;
    this.#commits = this.#commits.then(async () => {
      if ((this.#committed.get(partition) ?? -1n) >= next) return;
      try {
        await consumer.commitOffsets([{ topic, partition, offset: next.toString() }]);
        this.#committed.set(partition, next);
        metrics.consumerLag.set({ topic, partition: String(partition) }, Number(highWatermark - next));
        logger.debug({ partition, next }, 'committed past records with nothing to process');
      } catch (err) {
        // A rebalance took the partition, or the consumer is closing: the next owner reads them again.
        logger.debug({ partition, err: (err as Error).message }, 'position not committed');
      }
    });
  }
}
