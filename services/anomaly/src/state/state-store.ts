/**
 * Detector state that survives restarts, rebalances and aborted transactions, kept in
 * ClickHouse (`anomaly_state`) per input topic and partition.
 *
 * Why it is exact. A batch's alerts and its consumer offset commit in one Kafka transaction;
 * the state it leads to is written to ClickHouse just before (the transaction commits only
 * after ClickHouse confirmed). So a state row may belong to a batch whose transaction then
 * aborted; that batch is delivered again from an offset at or before the row's `offset`. Each
 * row therefore also carries the state the batch started from (`prev_state`, `prev_offset`):
 * restoring "the state before offset a" takes the newest row of each key, and uses its state
 * when `offset < a`, else its previous state. Replaying the batch from there gives the same
 * alerts a second time, and they are published once, by the attempt that commits.
 *
 * A partition is restored from ClickHouse the first time it is used, after a rebalance
 * ({@link StateStore.invalidate}) and when a batch starts at or before an offset this process
 * already applied (a redelivery). Otherwise the in-memory copy is current.
 */
import type { ClickHouseClient, InsertOptions, Logger } from '@meterstream/core';
import { insertTsv, tsvEscape } from '@meterstream/core';

interface Entry<S> {
  tenant: string;
  meter: string;
  /** Input offset the state is as of (-1: initial). */
  offset: bigint;
  state: S;
  version: bigint;
}

/** One partition's states during one batch: reads see the batch's own changes. */
export class PartitionState<S> {
  readonly #entries: Map<string, Entry<S>>;
  readonly #pending = new Map<string, { tenant: string; meter: string; state: S }>();
  readonly #initial: () => S;

  constructor(entries: Map<string, Entry<S>>, initial: () => S) {
    this.#entries = entries;
    this.#initial = initial;
  }

  /** The key's state (its initial state when never seen). */
  get(key: string): S {
    return this.#pending.get(key)?.state ?? this.#entries.get(key)?.state ?? this.#initial();
  }

  /** True when the key has a state (stored or staged). */
  has(key: string): boolean {
    return this.#pending.has(key) || this.#entries.has(key);
  }

  /** Stages a new state for the key; written when the batch flushes. */
  set(key: string, tenant: string, meter: string, state: S): void {
    this.#pending.set(key, { tenant, meter, state });
  }

  /** Every key of the partition with its current state. */
  *entries(): Generator<[string, S]> {
    for (const [k, e] of this.#entries) if (!this.#pending.has(k)) yield [k, e.state];
    for (const [k, p] of this.#pending) yield [k, p.state];
  }

  /** @internal */
  get pending() {
    return this.#pending;
  }
}

interface Restored<S> {
  entries: Map<string, Entry<S>>;
  /** Last input offset applied to `entries` (-1: none). */
  applied: bigint;
}

/** Insert columns of `anomaly_state`, for the sink options. */
export const STATE_COLUMNS = [
  'source',
  'partition',
  'key',
  'tenant',
  'meter',
  'offset',
  'state',
  'prev_offset',
  'prev_state',
  'version',
] as const;

export class StateStore<S> {
  readonly #client: ClickHouseClient;
  readonly #database: string;
  readonly #source: string;
  readonly #initial: () => S;
  readonly #insert: InsertOptions;
  readonly #log: Logger;
  readonly #partitions = new Map<number, Restored<S>>();
  #seq = 0n;

  constructor(opts: {
    clickhouse: ClickHouseClient;
    database: string;
    source: string;
    initial: () => S;
    insert: InsertOptions;
    logger: Logger;
  }) {
    this.#client = opts.clickhouse;
    this.#database = opts.database;
    this.#source = opts.source;
    this.#initial = opts.initial;
    this.#insert = opts.insert;
    this.#log = opts.logger;
  }

  /** Drops every in-memory state of a meter (an erasure). */
  forget(meter: string): void {
    for (const p of this.#partitions.values())
      for (const [k, e] of p.entries) if (e.meter === meter) p.entries.delete(k);
  }

  /** Forgets every in-memory partition (after a rebalance another instance may have moved on). */
  invalidate(): void {
    this.#partitions.clear();
  }

  /** The partition's states as of just before `firstOffset`, for one batch. */
  async begin(partition: number, firstOffset: bigint): Promise<PartitionState<S>> {
    let restored = this.#partitions.get(partition);
    if (restored === undefined || restored.applied >= firstOffset) {
      restored = await this.#restore(partition, firstOffset);
      this.#partitions.set(partition, restored);
    }
    return new PartitionState(restored.entries, this.#initial);
  }

  /**
   * Writes the batch's staged states (as of `lastOffset`) to ClickHouse and makes them the
   * partition's in-memory states. Call it inside the batch's confirm step.
   */
  async flush(partition: number, ps: PartitionState<S>, lastOffset: bigint): Promise<number> {
    const restored = this.#partitions.get(partition);
    if (restored === undefined) throw new Error(`partition ${partition} was not begun`);
    const now = BigInt(Date.now()) * 1000n;
    let body = '';
    const next: [string, Entry<S>][] = [];
    for (const [key, p] of ps.pending) {
      const before = restored.entries.get(key);
      let version = now + (this.#seq++ % 1000n);
      if (before !== undefined && version <= before.version) version = before.version + 1n;
      const prevState = before === undefined ? '' : JSON.stringify(before.state);
      body += `${tsvEscape(this.#source)}\t${partition}\t${tsvEscape(key)}\t${tsvEscape(p.tenant)}\t${tsvEscape(p.meter)}\t${lastOffset}\t${tsvEscape(JSON.stringify(p.state))}\t${before?.offset ?? -1n}\t${tsvEscape(prevState)}\t${version}\n`;
      next.push([key, { tenant: p.tenant, meter: p.meter, offset: lastOffset, state: p.state, version }]);
    }
    await insertTsv(this.#insert, body, next.length, {
      topic: this.#source,
      partition,
      firstOffset: restored.applied + 1n,
      lastOffset,
    });
    for (const [k, e] of next) restored.entries.set(k, e);
    restored.applied = lastOffset;
    return next.length;
  }

  async #restore(partition: number, firstOffset: bigint): Promise<Restored<S>> {
    const rs = await this.#client.query({
      query: `SELECT key, tenant, meter, offset, state, prev_offset, prev_state, version
              FROM ${this.#database}.anomaly_state FINAL
              WHERE source = {source:String} AND partition = {partition:UInt32}`,
      query_params: { source: this.#source, partition },
      format: 'JSONCompactEachRow',
    });
    const entries = new Map<string, Entry<S>>();
    let rewound = 0;
    for (const [key, tenant, meter, offset, state, prevOffset, prevState, version] of await rs.json<
      [string, string, string, string, string, string, string, string]
    >()) {
      const off = BigInt(offset);
      if (off < firstOffset) {
        entries.set(key, { tenant, meter, offset: off, state: JSON.parse(state) as S, version: BigInt(version) });
        continue;
      }
      // Written by an attempt of a batch being delivered again: start from what it started from.
      rewound++;
      const prev = BigInt(prevOffset);
      if (prev >= 0n && prev < firstOffset)
        entries.set(key, { tenant, meter, offset: prev, state: JSON.parse(prevState) as S, version: BigInt(version) });
      else if (prev >= firstOffset)
        this.#log.warn(
          { source: this.#source, partition, offset, firstOffset: String(firstOffset) },
          'state is ahead of the batch by more than one attempt; starting the key afresh',
        );
    }
    this.#log.info(
      { source: this.#source, partition, keys: entries.size, rewound, firstOffset: String(firstOffset) },
      'detector state restored',
    );
    return { entries, applied: -1n };
  }
}
