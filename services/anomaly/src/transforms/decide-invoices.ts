/**
 * Invoice decisions of one process, one at a time: the hourly and invoice consumers' batches
 * and the PENDING sweep all check invoices and decide their alerts from what the `alerts`
 * table says is published. Decided by two of them at once, the same invoice was published
 * twice. So decisions run one after the other ({@link InvoiceDecider.exclusive}), and invoices a
 * batch decided stay "in flight" until the batch's rows are written: the sweep leaves them to
 * the batch, whose transaction publishes them exactly once.
 */
import type { AlertOrigin, Emitted } from '../alerts.js';
import type { AnomalyMetrics } from '../anomaly-metrics.js';
import type { InvoiceCheck, InvoiceChecker, UncheckedInvoice } from './check-invoices.js';

export class InvoiceDecider {
  readonly #checker: InvoiceChecker;
  readonly #metrics: AnomalyMetrics;
  #lock: Promise<void> = Promise.resolve();
  /** Invoices decided by a batch whose rows are not written yet, by id (count of batches). */
  readonly #inFlight = new Map<string, number>();

  constructor(checker: InvoiceChecker, metrics: AnomalyMetrics) {
    this.#checker = checker;
    this.#metrics = metrics;
  }

  /**
   * A batch's decision: checks the invoices and decides their alerts; they stay in flight
   * until {@link released} ends it.
   */
  decide(
    invoices: readonly UncheckedInvoice[],
    origin: AlertOrigin,
    first: bigint,
  ): Promise<{ checks: InvoiceCheck[]; emitted: Emitted[] }> {
    return this.exclusive(async () => {
      const now = Date.now();
      const checks = await this.#checker.check(invoices, now);
      const emitted = await this.#checker.transitions(checks, origin, first, now);
      for (const c of checks) {
        this.#metrics.invoicesChecked.inc({ outcome: c.outcome });
        this.#inFlight.set(c.invoiceId, (this.#inFlight.get(c.invoiceId) ?? 0) + 1);
      }
      return { checks, emitted };
    });
  }

  /** Ends the checks' in-flight time once the batch's ClickHouse writes settled. */
  released<T extends { confirm: Promise<null> }>(checks: InvoiceCheck[], out: T): T {
    const release = () => {
      for (const c of checks) {
        const n = (this.#inFlight.get(c.invoiceId) ?? 1) - 1;
        if (n <= 0) this.#inFlight.delete(c.invoiceId);
        else this.#inFlight.set(c.invoiceId, n);
      }
    };
    out.confirm = out.confirm.finally(release);
    return out;
  }

  /** True while a batch that decided the invoice has not written its rows. */
  inFlight(invoiceId: string): boolean {
    return this.#inFlight.has(invoiceId);
  }

  /** Runs `fn` after every decision before it, alone. */
  exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#lock.then(fn);
    this.#lock = run.then(
      () => undefined,
      () => undefined,
    );
    return run;
  }
}
