/**
 * Invoices (`meter.invoices.v1`) → INVOICE_MISMATCH: each invoice is pseudonymised on arrival
 * (raw meter IDs stop here), checked against the metered hours, and stored in
 * `invoice_checks`; undecodable or uncheckable ones go to the DLQ with the reason, in the same
 * Kafka transaction as the batch's alerts.
 */
import type { Batch } from 'kafkajs';
import {
  deadLetterRecords,
  isMeterError,
  type AvroCodec,
  type DeadLetter,
  type Invoice,
  type Logger,
  type Pseudonymiser,
} from '@meterstream/core';
import type { AlertOrigin } from './alerts.js';
import type { AnomalyMetrics } from './anomaly-metrics.js';
import type { AlertBatchOutput, AlertsSink } from './sinks/alerts.sink.js';
import type { InvoiceChecksSink } from './sinks/invoice-checks.sink.js';
import type { UncheckedInvoice } from './transforms/check-invoices.js';
import type { InvoiceDecider } from './transforms/decide-invoices.js';
import { invoiceProblem } from './transforms/validate-invoice.js';

/** What {@link InvoicesConsumer} is built from. */
export interface InvoicesConsumerDeps {
  codec: AvroCodec;
  logger: Logger;
  metrics: AnomalyMetrics;
  pseudonyms: Pseudonymiser;
  /** The dead-letter topic. */
  dlq: string;
  decider: InvoiceDecider;
  alerts: AlertsSink;
  checks: InvoiceChecksSink;
}

export class InvoicesConsumer {
  readonly #d: InvoicesConsumerDeps;

  constructor(deps: InvoicesConsumerDeps) {
    this.#d = deps;
  }

  async handle(batch: Batch): Promise<AlertBatchOutput> {
    const { codec, logger, metrics, pseudonyms, decider } = this.#d;
    const first = BigInt(batch.firstOffset()!);
    const origin: AlertOrigin = { source: batch.topic, partition: batch.partition, offset: BigInt(batch.lastOffset()) };
    const end = metrics.detectorSeconds.startTimer({ detector: 'INVOICE_MISMATCH' });
    await codec.prepare(batch.messages.map((m) => m.value));
    const dead: DeadLetter[] = [];
    const invoices: UncheckedInvoice[] = [];
    for (const m of batch.messages) {
      const reject = (reason: string, detail: string) =>
        dead.push({
          message: { offset: m.offset, key: m.key ?? null, value: m.value ?? null, headers: m.headers },
          reason,
          detail,
        });
      if (!m.value) {
        reject('empty_value', 'the record has no value');
        continue;
      }
      let inv: Invoice;
      try {
        const d = codec.decode(m.value);
        if (d.schema !== 'Invoice') {
          reject('wrong_record', `expected an Invoice, got ${d.schema}`);
          continue;
        }
        inv = d.value;
      } catch (err) {
        reject(
          isMeterError(err) ? err.code.replace(/^METER_ERR_/, '').toLowerCase() : 'decode_error',
          (err as Error).message,
        );
        continue;
      }
      const problem = invoiceProblem(inv);
      if (problem !== null) {
        reject('invalid_invoice', problem);
        continue;
      }
      invoices.push({
        invoiceId: inv.invoiceId,
        tenant: inv.tenant,
        meter: pseudonyms.of(inv.tenant, inv.meterId),
        kind: inv.kind,
        periodStart: inv.periodStart,
        periodEnd: inv.periodEnd,
        billedQuantity: inv.billedQuantity,
        unit: inv.unit,
      });
    }
    const { checks, emitted } = await decider.decide(invoices, origin, first);
    end();
    if (dead.length > 0)
      logger.warn({ partition: batch.partition, dead: dead.map((d) => d.reason) }, 'invoices sent to the DLQ');
    return decider.released(
      checks,
      this.#d.alerts.forBatch(
        emitted,
        origin,
        [this.#d.checks.write(checks)],
        [{ topic: this.#d.dlq, messages: deadLetterRecords(dead, batch.topic, batch.partition) }],
      ),
    );
  }
}
