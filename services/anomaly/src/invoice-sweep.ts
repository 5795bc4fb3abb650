/**
 * The PENDING-invoice sweep. An invoice and its meter's last hours can pass each other between
 * the two topics, so an invoice checked before its data was complete stays PENDING; the sweep
 * checks such invoices again once their period has passed: decided when their data has come,
 * INSUFFICIENT_DATA when the wait ran out. Not a Kafka batch: what it decides is published at
 * least once (stable alert ids), through the alerts sink's own producer.
 */
import type { AlertOrigin } from './alerts.js';
import type { AnomalyMetrics } from './anomaly-metrics.js';
import type { AlertsSink } from './sinks/alerts.sink.js';
import type { InvoiceChecksSink } from './sinks/invoice-checks.sink.js';
import type { InvoiceChecksSource } from './sources/invoice-checks.source.js';
import type { InvoiceChecker } from './transforms/check-invoices.js';
import type { InvoiceDecider } from './transforms/decide-invoices.js';

/** How long a PENDING invoice must have gone unchecked before the sweep takes it. */
const SWEEP_GRACE_MS = 10_000;

export class InvoiceSweep {
  constructor(
    private readonly o: {
      stored: InvoiceChecksSource;
      checker: InvoiceChecker;
      decider: InvoiceDecider;
      alerts: AlertsSink;
      checks: InvoiceChecksSink;
      metrics: AnomalyMetrics;
    },
  ) {}

  /** One round: checks the PENDING invoices due, publishes what they now call for. */
  async run(): Promise<void> {
    const { stored, checker, decider, alerts, checks: sink, metrics } = this.o;
    await decider.exclusive(async () => {
      const now = Date.now();
      // Only invoices no batch has checked for a while nor holds right now: the batches decide
      // the rest themselves, exactly once.
      const pending = (await stored.stored({ pendingBefore: now, checkedBefore: now - SWEEP_GRACE_MS })).filter(
        (c) => !decider.inFlight(c.invoiceId),
      );
      if (pending.length === 0) return;
      const checks = (await checker.check(pending, now)).filter((c) => c.outcome !== 'PENDING');
      if (checks.length === 0) return;
      const origin: AlertOrigin = { source: 'sweep', partition: 0, offset: -1n };
      const emitted = await checker.transitions(checks, origin, 0n, now);
      await alerts.publish(emitted, origin);
      await sink.write(checks, origin);
      for (const c of checks) metrics.invoicesChecked.inc({ outcome: c.outcome });
    });
  }
}
