/**
 * A consumer's progress per partition of its topic: the next offset committed and the lag
 * gauge (`meterstream_kafka_consumer_lag_messages{topic,group,partition}`), which shows only
 * the partitions this member owns (a partition a rebalance took away is removed, not left at
 * its last value).
 *
 * Positions past records with nothing to process: kafkajs hands eachBatch no batch whose
 * records were all filtered out (a transaction's marker, an aborted transaction's records). It
 * moves its fetch position past them but, with autoCommit off, commits nothing, so a partition
 * that ends in such records would stay behind for good (lag never 0, the records read again
 * after every restart). {@link PartitionProgress.watch} commits that position, as Kafka Streams
 * commits its position (KAFKA-6607). Such a commit is not made once a rebalance came between
 * the fetch and the commit, and a batch's transaction waits for it ({@link
 * PartitionProgress.settled}), so it never lands after a later transaction's offsets.
 */
import type { Consumer } from 'kafkajs';
import type { Logger } from '../telemetry/logger.js';
import type { PipelineMetrics } from '../telemetry/metrics.js';

export class PartitionProgress {
  /** Next offset committed per partition since the last join, by a batch's transaction or here. */
  readonly #committed = new Map<number, bigint>();
  #owned = new Set<number>();
  /** Counts the joins: a commit decided before a rebalance is not made after it. */
  #joins = 0;
  #commits: Promise<void> = Promise.resolve();

  constructor(
    private readonly topic: string,
    private readonly group: string,
    private readonly metrics: PipelineMetrics,
    private readonly logger: Logger,
  ) {}

  /** The group gave this member `partitions`: the others' lag is no longer this member's to report. */
  assigned(partitions: readonly number[]): void {
    const now = new Set(partitions);
    for (const p of this.#owned) if (!now.has(p)) this.metrics.consumerLag.remove(this.#labels(p));
    this.#owned = now;
    this.#joins++;
    // After a join the group's committed offsets are the broker's word, not this member's memory
    // (a commit kafkajs skipped while its runner was down must not count as made).
    this.#committed.clear();
  }

  /** A batch's transaction committed `next` for `partition`, of a partition ending at `highWatermark`. */
  committed(partition: number, next: bigint, highWatermark: bigint): void {
    if (next > (this.#committed.get(partition) ?? -1n)) this.#committed.set(partition, next);
    if (!this.#owned.has(partition)) return;
    const lag = highWatermark - next;
    this.metrics.consumerLag.set(this.#labels(partition), lag > 0n ? Number(lag) : 0);
  }

  /**
   * Resolves once no commit of this class is in flight. A batch's transaction waits for it, so
   * a commit past a filtered fetch (retried by kafkajs for seconds) never lands after the
   * transaction of a later batch and moves the offset back.
   */
  settled(): Promise<void> {
    return this.#commits;
  }

  /** Commits the positions past filtered batches of `consumer` while `current()` says it is in use. */
  watch(consumer: Consumer, current: () => boolean): void {
    consumer.on(consumer.events.END_BATCH_PROCESS, (e) => {
      const { topic, partition, batchSize, firstOffset, lastOffset, highWatermark } = e.payload;
      // firstOffset null: nothing at or after the fetched offset (compacted away), not ours to skip.
      if (!current() || topic !== this.topic || batchSize !== 0 || firstOffset === null) return;
      this.#commitPast(consumer, partition, BigInt(lastOffset) + 1n, BigInt(highWatermark), this.#joins);
    });
  }

  #labels(partition: number) {
    return { topic: this.topic, group: this.group, partition: String(partition) };
  }

  #commitPast(consumer: Consumer, partition: number, next: bigint, highWatermark: bigint, joins: number): void {
    this.#commits = this.#commits.then(async () => {
      if (joins !== this.#joins || !this.#owned.has(partition)) return; // a rebalance came between
      if ((this.#committed.get(partition) ?? -1n) >= next) return;
      try {
        await consumer.commitOffsets([{ topic: this.topic, partition, offset: next.toString() }]);
        this.committed(partition, next, highWatermark);
        this.logger.debug({ partition, next }, 'committed past records with nothing to process');
      } catch (err) {
        // A rebalance took the partition, or the consumer is closing: the next owner reads them again.
        this.logger.debug({ partition, err: (err as Error).message }, 'position not committed');
      }
    });
  }
}
