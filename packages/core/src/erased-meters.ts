/**
 * The erased (blocked) pseudonyms, which every stage refuses from the moment an erasure starts,
 * so that nothing in flight, no late delivery and no replay of a topic brings an erased meter
 * back (issue 12). One per process, passed to the stages as `ServiceDeps.erased` and to the
 * erasure route.
 *
 * - Shared through ClickHouse: an erasure writes a `meter_blocks` row before it deletes; every
 *   process re-reads the blocks (and `erasure_audit`, for erasures older than the table) every
 *   `refreshMs`. An un-block (re-registration of the meter for a new customer) is a newer row.
 * - In this process a block applies at once, and {@link ErasedMeters.quiesce} waits exactly for
 *   the writes that may have checked the set before it: each stage runs a batch's check and
 *   write inside {@link ErasedMeters.fence}.
 * - Refusals are counted per stage in `meterstream_erased_refused_total{stage}` (records refused:
 *   readings for the ingestor, Kafka records for the other stages). No pseudonym in a label.
 */
import type { ClickHouseClient } from '@clickhouse/client';
import { Counter, type Registry } from 'prom-client';
import type { Batch } from 'kafkajs';
import type { ErasureNotifier } from './erasure-notifier.js';
import { sleep } from './lifecycle.js';
import type { BatchOutput } from './kafka/transactional-consumer.js';
import type { Logger } from './telemetry/logger.js';

/** Stages that refuse erased meters (the metric's `stage` label). */
export type RefusingStage =
  'ingestor' | 'aggregator' | 'anomaly_hourly' | 'anomaly_temperature' | 'invoices' | 'notifier';

/** Who blocks or un-blocks, for the `meter_blocks` row. */
export interface BlockRequest {
  tenant: string;
  /** The token's name. */
  actor: string;
}

/** Options of {@link ErasedMeters}. */
export interface ErasedMetersOptions {
  clickhouse: ClickHouseClient;
  database: string;
  registry: Registry;
  logger: Logger;
  /** Re-read period of the blocks (ms). */
  refreshMs: number;
  /**
   * How long {@link ErasedMeters.quiesce} waits beyond one refresh period for writes of other
   * processes (ms); `null` when no other process can write the data (the embedded engine).
   */
  remoteFenceMs: number | null;
  /** Longest wait for this process's own writes in flight (ms). */
  localFenceMs: number;
  /** Told of every newly blocked pseudonym (in-memory meter state is dropped); optional. */
  notifier?: ErasureNotifier;
}

interface Write {
  done: Promise<void>;
}

const counters = new WeakMap<Registry, Counter<'stage'>>();

/** The `meterstream_erased_refused_total` counter of a registry (created once). */
export function erasedRefusedCounter(registry: Registry): Counter<'stage'> {
  let c = counters.get(registry);
  if (c === undefined) {
    c = new Counter({
      name: 'meterstream_erased_refused_total',
      help: 'Records about erased (blocked) meters refused by a stage: readings (ingestor) or Kafka records.',
      labelNames: ['stage'],
      registers: [registry],
    });
    counters.set(registry, c);
  }
  return c;
}

export class ErasedMeters {
  readonly #o: ErasedMetersOptions;
  readonly #refused: Counter<'stage'>;
  #blocked = new Set<string>();
  /** Local changes made while a reload ran: re-applied over its (possibly older) result. */
  #changedDuringReload: [string, boolean][] | null = null;
  readonly #writes = new Set<Write>();
  #timer: NodeJS.Timeout | null = null;
  #loaded = false;

  constructor(options: ErasedMetersOptions) {
    this.#o = options;
    this.#refused = erasedRefusedCounter(options.registry);
  }

  /** True when the pseudonym is erased and not un-blocked. */
  has(pseudonym: string): boolean {
    return this.#blocked.has(pseudonym);
  }

  /** How many pseudonyms are blocked. */
  get size(): number {
    return this.#blocked.size;
  }

  /** Counts `n` refused records of a stage. */
  refused(stage: RefusingStage, n = 1): void {
    if (n > 0) this.#refused.inc({ stage }, n);
  }

  /** Loads the blocks, then re-reads them every `refreshMs`. */
  async start(): Promise<void> {
    await this.reload();
    this.#timer = setInterval(() => {
      this.reload().catch((err: unknown) =>
        this.#o.logger.warn({ err: (err as Error).message }, 'reading the erased meters failed; next round retries'),
      );
    }, this.#o.refreshMs);
    this.#timer.unref();
  }

  close(): void {
    if (this.#timer !== null) clearInterval(this.#timer);
    this.#timer = null;
  }

  /** Re-reads the blocks: the newest of a pseudonym's erasures, blocks and un-blocks decides. */
  async reload(): Promise<void> {
    this.#changedDuringReload ??= [];
    let rows: { pseudonym: string }[];
    try {
      const rs = await this.#o.clickhouse.query({
        query: `SELECT pseudonym FROM (
                  SELECT pseudonym, argMax(blocked, at) AS b FROM (
                    SELECT pseudonym, toUInt8(1) AS blocked, erased_at AS at FROM {db:Identifier}.erasure_audit
                    UNION ALL
                    SELECT pseudonym, blocked, at FROM {db:Identifier}.meter_blocks
                  ) GROUP BY pseudonym
                ) WHERE b = 1`,
        query_params: { db: this.#o.database },
        format: 'JSONEachRow',
      });
      rows = await rs.json<{ pseudonym: string }>();
    } catch (err) {
      this.#changedDuringReload = null;
      throw err;
    }
    const next = new Set(rows.map((r) => r.pseudonym));
    for (const [p, blocked] of this.#changedDuringReload) {
      if (blocked) next.add(p);
      else next.delete(p);
    }
    this.#changedDuringReload = null;
    const fresh = this.#loaded ? [...next].filter((p) => !this.#blocked.has(p)) : [];
    this.#blocked = next;
    this.#loaded = true;
    // Erased in another process: in-memory state of the meter goes now, before its rows are deleted.
    for (const p of fresh) this.#o.notifier?.announce(p);
  }

  /**
   * Blocks a pseudonym: recorded in `meter_blocks` first (the other processes' stages refuse it
   * from their next refresh), then refused here at once and announced to this process's
   * in-memory meter state.
   */
  async block(pseudonym: string, request: BlockRequest): Promise<void> {
    await this.#record(pseudonym, 1, request, 'erasure');
    this.#set(pseudonym, true);
    this.#o.notifier?.announce(pseudonym);
  }

  /** Tells this process's in-memory meter state to drop the meter (again, once writes in flight ended). */
  announce(pseudonym: string): void {
    this.#o.notifier?.announce(pseudonym);
  }

  /** Un-blocks a pseudonym (audited as a `meter_blocks` row with the actor). */
  async unblock(pseudonym: string, request: BlockRequest): Promise<void> {
    await this.#record(pseudonym, 0, request, 'unblock');
    this.#set(pseudonym, false);
  }

  /**
   * Runs one batch of a stage: `work` checks the set and returns its output, whose `confirm`
   * (the stage's external write) is still running. The batch counts as in flight until `work`
   * failed or `confirm` settled, so {@link quiesce} can wait for it.
   */
  async fence<T extends { confirm?: Promise<unknown> }>(work: () => Promise<T>): Promise<T> {
    let release!: () => void;
    const write: Write = { done: new Promise<void>((r) => (release = r)) };
    this.#writes.add(write);
    const end = () => {
      this.#writes.delete(write);
      release();
    };
    try {
      const out = await work();
      if (out.confirm === undefined) end();
      else out.confirm.then(end, end);
      return out;
    } catch (err) {
      end();
      throw err;
    }
  }

  /**
   * Waits until no write that may have checked the set before now can still land: this
   * process's batches in flight (exactly, up to `localFenceMs`) and, when other processes may
   * write (a ClickHouse server), one refresh period plus `remoteFenceMs`. False when this
   * process's writes outlasted `localFenceMs`.
   */
  async quiesce(signal?: AbortSignal): Promise<boolean> {
    const pending = [...this.#writes].map((w) => w.done);
    let timer: NodeJS.Timeout | undefined;
    const drained = await Promise.race([
      Promise.all(pending).then(() => true),
      new Promise<boolean>((r) => (timer = setTimeout(() => r(false), this.#o.localFenceMs))),
    ]);
    clearTimeout(timer);
    if (this.#o.remoteFenceMs !== null) await sleep(this.#o.refreshMs + this.#o.remoteFenceMs, signal);
    return drained;
  }

  #set(pseudonym: string, blocked: boolean): void {
    if (blocked) this.#blocked.add(pseudonym);
    else this.#blocked.delete(pseudonym);
    this.#changedDuringReload?.push([pseudonym, blocked]);
  }

  async #record(
    pseudonym: string,
    blocked: 0 | 1,
    request: BlockRequest,
    reason: 'erasure' | 'unblock',
  ): Promise<void> {
    await recordMeterBlock(this.#o.clickhouse, this.#o.database, pseudonym, blocked, request, reason);
  }
}

/** Writes one `meter_blocks` row: a block (erasure) or an un-block, with who asked. */
export async function recordMeterBlock(
  client: ClickHouseClient,
  database: string,
  pseudonym: string,
  blocked: 0 | 1,
  request: BlockRequest,
  reason: 'erasure' | 'unblock',
): Promise<void> {
  await client.insert({
    table: `${database}.meter_blocks`,
    values: [
      {
        pseudonym,
        tenant: request.tenant,
        blocked,
        at: new Date().toISOString().replace('T', ' ').replace('Z', ''),
        actor: request.actor,
        reason,
      },
    ],
    format: 'JSONEachRow',
  });
}

/**
 * The batch without the records of erased meters, for topics keyed by pseudonym (clean, hourly,
 * alerts: meterstream writes them so), or `null` when nothing is left. The view keeps the
 * batch's offsets (`firstOffset`, `lastOffset`, `offsetLag` read the fetched records), so the
 * consumer commits past the refused records. Refusals are counted for `stage`.
 */
export function withoutErased(batch: Batch, erased: ErasedMeters | undefined, stage: RefusingStage): Batch | null {
  if (erased === undefined || erased.size === 0) return batch;
  const kept = batch.messages.filter((m) => m.key === null || !erased.has(m.key.toString()));
  if (kept.length === batch.messages.length) return batch;
  erased.refused(stage, batch.messages.length - kept.length);
  if (kept.length === 0) return null;
  return Object.create(batch, { messages: { value: kept, enumerable: true } }) as Batch;
}

/**
 * A batch handler that refuses erased meters, for topics keyed by pseudonym: `handle` runs
 * inside the fence on the batch without their records; a batch with nothing left produces
 * `empty()`. Without an erased set, `handle` itself.
 */
export function refusingErased(
  erased: ErasedMeters | undefined,
  stage: RefusingStage,
  handle: (batch: Batch) => Promise<BatchOutput>,
  empty: () => BatchOutput = () => ({ records: [] }),
): (batch: Batch) => Promise<BatchOutput> {
  if (erased === undefined) return handle;
  return (batch) =>
    erased.fence(async () => {
      const kept = withoutErased(batch, erased, stage);
      return kept === null ? empty() : handle(kept);
    });
}
