/**
 * Spot prices (`meter.prices.v1`) → `spot_prices`, and the invoices that waited for them: each
 * `SpotPrice` is checked and stored (what cannot be used goes to the DLQ with the reason, in the
 * batch's transaction), then the invoices PENDING for want of prices in the batch's areas whose
 * period the prices' hours overlap are checked again; their alerts go out in the same Kafka
 * transaction as the batch's offsets. The prices are stored before that check reads them: a
 * batch delivered again writes the same rows with the same versions, which changes nothing.
 */
import type { Batch } from 'kafkajs';
import type { AvroCodec, Logger, SpotPrice } from '@meterstream/core';
import type { AlertOrigin } from './alerts.js';
import type { AnomalyMetrics } from './anomaly-metrics.js';
import type { AlertBatchOutput, AlertsSink } from './sinks/alerts.sink.js';
import type { InvoiceChecksSink } from './sinks/invoice-checks.sink.js';
import { priceVersion, type SpotPricesSink, type VersionedPrice } from './sinks/spot-prices.sink.js';
import type { InvoiceChecksSource } from './sources/invoice-checks.source.js';
import { DeadLetters, type DeadLetterTarget } from './transforms/dead-letters.js';
import type { InvoiceDecider } from './transforms/decide-invoices.js';
import { priceProblem } from './transforms/validate-price.js';

const H = 3_600_000;

/** What {@link PricesConsumer} is built from. */
export interface PricesConsumerDeps extends DeadLetterTarget {
  codec: AvroCodec;
  logger: Logger;
  metrics: AnomalyMetrics;
  prices: SpotPricesSink;
  storedChecks: InvoiceChecksSource;
  decider: InvoiceDecider;
  alerts: AlertsSink;
  checks: InvoiceChecksSink;
}

export class PricesConsumer {
  readonly #d: PricesConsumerDeps;

  constructor(deps: PricesConsumerDeps) {
    this.#d = deps;
  }

  async handle(batch: Batch): Promise<AlertBatchOutput> {
    const { codec, metrics, decider } = this.#d;
    const first = BigInt(batch.firstOffset()!);
    const origin: AlertOrigin = { source: batch.topic, partition: batch.partition, offset: BigInt(batch.lastOffset()) };
    const end = metrics.detectorSeconds.startTimer({ detector: 'INVOICE_MISMATCH' });
    await codec.prepare(batch.messages.map((m) => m.value));
    const dead = new DeadLetters(batch);
    const prices: VersionedPrice[] = [];
    for (const m of batch.messages) {
      if (!m.value) {
        dead.reject(m, 'tombstone', 'the record has no value');
        continue;
      }
      let p: SpotPrice;
      try {
        const d = codec.decode(m.value);
        if (d.schema !== 'SpotPrice') {
          dead.reject(m, 'unexpected_record', `expected a SpotPrice, got ${d.schema}`);
          continue;
        }
        p = d.value;
      } catch (err) {
        dead.undecodable(m, err);
        continue;
      }
      const problem = priceProblem(p);
      if (problem !== null) {
        dead.reject(m, 'invalid_price', problem);
        continue;
      }
      prices.push({ ...p, version: priceVersion(Number(m.timestamp), BigInt(m.offset)) });
    }
    await this.#d.prices.write(prices, origin);

    let checks: Awaited<ReturnType<InvoiceDecider['decide']>> = { checks: [], emitted: [] };
    if (prices.length > 0) {
      let from = Infinity,
        to = -Infinity;
      for (const p of prices) ((from = Math.min(from, p.hour)), (to = Math.max(to, p.hour + H)));
      const waiting = await this.#d.storedChecks.stored({
        pendingPricesIn: [...new Set(prices.map((p) => p.priceArea))],
        from,
        to,
      });
      checks = await decider.decide(waiting, origin, first);
    }
    end();
    return decider.released(
      checks.checks,
      dead.into(
        this.#d.alerts.forBatch(checks.emitted, origin, [this.#d.checks.write(checks.checks, origin)]),
        this.#d,
      ),
    );
  }
}
