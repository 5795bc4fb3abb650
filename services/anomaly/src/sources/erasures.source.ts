/**
 * Erasures, for the components that keep per-meter state in memory: they drop an erased
 * meter's state, so no later write of theirs brings it back. Erasures in this process arrive
 * at once through the process's {@link ErasureNotifier}; those of other processes are read from
 * `erasure_audit` (shared through ClickHouse) on each {@link ErasuresSource.poll}.
 */
import type { ClickHouseClient, ErasureNotifier } from '@meterstream/core';

export class ErasuresSource {
  readonly #client: ClickHouseClient;
  readonly #database: string;
  readonly #forget: (pseudonym: string) => void;
  readonly #unsubscribe: () => void;
  /** Erasures up to this time (ms) have been applied. */
  #since = Date.now() - 86_400_000;

  constructor(opts: {
    clickhouse: ClickHouseClient;
    database: string;
    /** Erasures of this process; absent: only `erasure_audit` is read. */
    notifier?: ErasureNotifier;
    /** Drops the meter's in-memory state. */
    forget: (pseudonym: string) => void;
  }) {
    this.#client = opts.clickhouse;
    this.#database = opts.database;
    this.#forget = opts.forget;
    this.#unsubscribe = opts.notifier?.subscribe(opts.forget) ?? (() => undefined);
  }

  /** Applies the erasures audited since the last poll (those of other processes included). */
  async poll(): Promise<void> {
    const rs = await this.#client.query({
      query: `SELECT DISTINCT pseudonym, toUnixTimestamp64Milli(erased_at) AS at FROM ${this.#database}.erasure_audit
              WHERE erased_at >= fromUnixTimestamp64Milli(toInt64({since:Int64}), 'UTC')`,
      query_params: { since: this.#since },
      format: 'JSONEachRow',
      clickhouse_settings: { output_format_json_quote_64bit_integers: 0 },
    });
    for (const r of await rs.json<{ pseudonym: string; at: number }>()) {
      this.#forget(r.pseudonym);
      this.#since = Math.max(this.#since, Number(r.at));
    }
  }

  /** Stops listening to the process's erasures. */
  close(): void {
    this.#unsubscribe();
  }
}
