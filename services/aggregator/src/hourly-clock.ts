/**
 * The version of an hourly row: a hybrid logical clock read when the recompute's read of
 * `readings_raw` starts. A recompute that reads later sees every reading an earlier one saw
 * (readings are confirmed in `readings_raw` before their clean batch commits, and the table
 * only grows), so "read later" must mean "higher version", and ReplacingMergeTree then keeps the
 * row of the recompute that saw the most. Source offsets cannot say that: they order records
 * within one partition only, and restart when a topic is re-created.
 *
 *   version = max(last + 1, now_ms * 1024, highest stored version of the hours about to be read + 1)
 *
 * - `last + 1`: strictly increasing in this process, whatever the wall clock does.
 * - `now_ms * 1024`: comparable between processes and restarts, as far as their clocks agree
 *   (NTP keeps hosts within milliseconds); 1024 values per millisecond before it runs ahead.
 * - The stored versions (read before the readings): a row another process wrote before this
 *   read began came from a read that ended before it, so this recompute saw a superset and
 *   must win, whatever the two clocks say. This is the "receive" rule of a hybrid logical
 *   clock (Kulkarni et al., 2014).
 *
 * What remains: two processes recomputing one hour at the same moment, each unaware of the
 * other's row (a partition moving during a rebalance while its previous owner still finishes a
 * batch: kafkajs does not fence such zombies, KIP-447), with a reading confirmed between their
 * two reads and the earlier reader's clock ahead by more than the gap. Then the stale row can
 * win until the next recompute of that hour, which reads it back and outranks it.
 *
 * Below 2^53 until the year 2248: exact as a JS number, an Avro long and a ClickHouse UInt64.
 */
export class HourlyClock {
  #last = 0;

  constructor(private readonly now: () => number = Date.now) {}

  /** The version of a recompute whose read starts now, after `observed` (stored versions) were read. */
  tick(observed = 0): number {
    this.#last = Math.max(this.#last + 1, this.now() * 1024, observed + 1);
    return this.#last;
  }
}
