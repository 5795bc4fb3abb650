/**
 * Invoices (`meter.invoices.v1`) → INVOICE_MISMATCH: each invoice is pseudonymised on arrival
 * (raw meter IDs stop here), checked against the metered hours, and stored in
 * `invoice_checks`; undecodable or uncheckable ones go to the DLQ with the reason, in the same
 * Kafka transaction as the batch's alerts.
 */
import type { Batch } from 'kafkajs';
import { type AvroCodec, type ErasedMeters, type Invoice, type Logger, type Pseudonymiser } from '@meterstream/core';
import type { AlertOrigin } from './alerts.js';
import type { AnomalyMetrics } from './anomaly-metrics.js';
import type { AlertBatchOutput, AlertsSink } from './sinks/alerts.sink.js';
import { DeadLetters, type DeadLetterTarget } from './transforms/dead-letters.js';
import type { InvoiceChecksSink } from './sinks/invoice-checks.sink.js';
import type { UncheckedInvoice } from './transforms/check-invoices.js';
import type { InvoiceDecider } from './transforms/decide-invoices.js';
import { invoiceProblem } from './transforms/validate-invoice.js';

/** What {@link InvoicesConsumer} is built from. */
export interface InvoicesConsumerDeps extends DeadLetterTarget {
  codec: AvroCodec;
  logger: Logger;
  metrics: AnomalyMetrics;
  pseudonyms: Pseudonymiser;
  decider: InvoiceDecider;
  alerts: AlertsSink;
  checks: InvoiceChecksSink;
  /** Invoices of erased meters are refused (counted, not dead-lettered: the DLQ would keep the raw ID). */
  erased?: Pick<ErasedMeters, 'has' | 'refused'>;
}

export class InvoicesConsumer {
  readonly #d: InvoicesConsumerDeps;

  constructor(deps: InvoicesConsumerDeps) {
    this.#d = deps;
  }

  async handle(batch: Batch): Promise<AlertBatchOutput> {
    const { codec, metrics, pseudonyms, decider } = this.#d;
    const first = BigInt(batch.firstOffset()!);
    const origin: AlertOrigin = { source: batch.topic, partition: batch.partition, offset: BigInt(batch.lastOffset()) };
    const end = metrics.detectorSeconds.startTimer({ detector: 'INVOICE_MISMATCH' });
    await codec.prepare(batch.messages.map((m) => m.value));
    const dead = new DeadLetters(batch);
    const invoices: UncheckedInvoice[] = [];
    for (const m of batch.messages) {
      if (!m.value) {
        dead.reject(m, 'tombstone', 'the record has no value');
        continue;
      }
      let inv: Invoice;
      try {
        const d = codec.decode(m.value);
        if (d.schema !== 'Invoice') {
          dead.reject(m, 'unexpected_record', `expected an Invoice, got ${d.schema}`);
          continue;
        }
        inv = d.value;
      } catch (err) {
        dead.undecodable(m, err);
        continue;
      }
      const problem = invoiceProblem(inv);
      if (problem !== null) {
        dead.reject(m, 'invalid_invoice', problem);
        continue;
      }
      const meter = pseudonyms.of(inv.tenant, inv.meterId);
      if (this.#d.erased?.has(meter)) {
        this.#d.erased.refused('invoices');
        continue;
      }
      invoices.push({
        invoiceId: inv.invoiceId,
        tenant: inv.tenant,
        meter,
        kind: inv.kind,
        periodStart: inv.periodStart,
        periodEnd: inv.periodEnd,
        billedQuantity: inv.billedQuantity,
        unit: inv.unit,
        amount: inv.amount,
        currency: inv.currency,
        priceArea: inv.priceArea,
      });
    }
    const { checks, emitted } = await decider.decide(invoices, origin, first);
    end();
    return decider.released(
      checks,
      dead.into(this.#d.alerts.forBatch(emitted, origin, [this.#d.checks.write(checks, origin)]), this.#d),
    );
  }
}
