/**
 * One partition batch in one Kafka transaction: the handler's records and the batch's next
 * offset commit together, after the handler's external write confirmed. The rules that keep it
 * from wedging (see `transactional-consumer.ts` for the whole picture):
 * - a transaction waits at most `transactionBudgetMs` for the write; then it is aborted, the
 *   write is awaited outside any transaction, and the records go in a fresh one;
 * - the batch heartbeats while it runs, and a heartbeat that meets a rebalance makes it abort
 *   instead of committing offsets another member may own now;
 * - a producer whose transaction failed is replaced (same transactional id, new epoch);
 * - every record is fitted to its topic's limit before it is sent.
 */
import type { Batch, Producer } from 'kafkajs';
import { urgently } from '../clickhouse/engine-queue.js';
import { fitRecords, chunkBySize } from './record-limits.js';
import type { BatchOutput, TransactionalConsumerOptions } from './transactional-consumer.js';

/** A producer slot: one transaction at a time; its producer is replaced when it breaks. */
export interface ProducerSlot {
  slot: number;
  producer: Producer;
}

/** What a batch transaction needs from its consumer. */
export interface BatchTransactionContext extends TransactionalConsumerOptions {
  /** The largest record `topic` takes. */
  budget: (topic: string) => number;
  /** Replaces the slot's producer with a fresh one. */
  replace: (slot: ProducerSlot) => Promise<void>;
  /** Told when the batch starts and stops waiting for its sink outside a transaction (readiness). */
  waitingForSink: (waiting: boolean) => void;
}

const HEARTBEAT_MS = 3_000;

/** Resolves `'timeout'` after `ms` unless `p` settles first; the timer never outlives the race. */
async function within<T>(p: Promise<T>, ms: number): Promise<T | 'timeout'> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), ms)));
  try {
    return await Promise.race([p, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** True when the group's committed offset of the partition reaches `next` (polled briefly). */
async function committedPast(ctx: BatchTransactionContext, partition: number, next: bigint): Promise<boolean> {
  const admin = ctx.kafka.admin();
  try {
    await admin.connect();
    for (let i = 0; i < 10; i++) {
      const [t] = await admin.fetchOffsets({ groupId: ctx.groupId, topics: [ctx.topic] });
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

/** Runs the handler on `batch` and commits its output with the batch's offset in one transaction. */
export async function runBatchTransaction(
  ctx: BatchTransactionContext,
  batch: Batch,
  heartbeat: () => Promise<void>,
  slot: ProducerSlot,
): Promise<void> {
  const { metrics, topic, groupId, logger: log } = ctx;
  let lost: unknown = null;
  const beat = setInterval(() => {
    heartbeat().catch((err: unknown) => (lost ??= err));
  }, HEARTBEAT_MS);
  try {
    const output = await (ctx.urgent ? urgently(() => ctx.handler(batch, heartbeat)) : ctx.handler(batch, heartbeat));
    // Settled before anything else can fail, so a rejection is never left unhandled.
    const confirmed = (output.confirm ?? Promise.resolve(null)).then(
      (replacement) => ({ ok: true as const, replacement }),
      (error: unknown) => ({ ok: false as const, error }),
    );
    let records = output.records;
    let committed = output.committed;
    let replaced = false;
    const budget = ctx.transactionBudgetMs ?? 20_000;
    for (;;) {
      let committing = false;
      let producerFault = true;
      const tx = await slot.producer.transaction().catch(async (err: unknown) => {
        await ctx.replace(slot);
        throw err;
      });
      try {
        const fitted = fitRecords(records, ctx.budget, ctx.dlqTopic, (t, bytes) =>
          log.error({ topic: t, bytes }, 'output record over the topic limit; sent to the DLQ as an envelope'),
        );
        for (const { topic: out, messages } of fitted) {
          for (const chunk of chunkBySize(messages, ctx.budget(out))) await tx.send({ topic: out, messages: chunk });
        }
        const result = await within(confirmed, budget);
        if (result === 'timeout') {
          metrics.transactionsAborted.inc({ topic, reason: 'sink_slow' });
          log.warn({ partition: batch.partition, budget_ms: budget }, 'sink slower than the transaction budget');
          await tx.abort();
          ctx.waitingForSink(true);
          await confirmed.finally(() => ctx.waitingForSink(false)); // the pipeline pauses here, outside any transaction
          continue;
        }
        if (!result.ok) {
          producerFault = false;
          throw result.error;
        }
        if (result.replacement !== null && !replaced) {
          log.warn({ partition: batch.partition }, 'sink changed the batch output; resending it in a new transaction');
          replaced = true;
          records = result.replacement.records;
          committed = result.replacement.committed ?? committed;
          await tx.abort();
          continue;
        }
        // A heartbeat that met a rebalance: these offsets may belong to another member now.
        if (lost !== null) {
          producerFault = false;
          throw lost;
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
        const aborted = await tx.abort().then(
          () => true,
          () => false,
        );
        await confirmed; // never leave the external write running behind a retry
        // A commit whose answer was lost (timeout, broker under load) may have committed: then
        // the group's offset is past the batch, and processing it again would duplicate it.
        if (committing && (await committedPast(ctx, batch.partition, BigInt(batch.lastOffset()) + 1n))) {
          log.warn(
            { partition: batch.partition, err: (err as Error).message },
            'commit reported an error but the broker has it; not processing the batch again',
          );
          await ctx.replace(slot);
          break;
        }
        metrics.transactionsAborted.inc({ topic, reason: 'error' });
        if (!aborted || producerFault) await ctx.replace(slot);
        throw err;
      }
    }
    committed?.();
  } finally {
    clearInterval(beat);
  }
}
