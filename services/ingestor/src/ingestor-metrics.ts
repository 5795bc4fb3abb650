/** Metrics only the ingestor has (the pipeline ones live in @meterstream/core). */
import { Counter, Histogram, type Registry } from 'prom-client';

export interface IngestorMetrics {
  decoded: Counter<'schema'>;
  invalid: Counter<'reason'>;
  readings: Counter;
  batchReadings: Histogram;
}

const cache = new WeakMap<Registry, IngestorMetrics>();

export function ingestorMetrics(registry: Registry): IngestorMetrics {
  let m = cache.get(registry);
  if (m) return m;
  m = {
    decoded: new Counter({
      name: 'meterstream_ingestor_messages_decoded_total',
      help: 'Messages decoded, by record.',
      labelNames: ['schema'],
      registers: [registry],
    }),
    invalid: new Counter({
      name: 'meterstream_ingestor_messages_invalid_total',
      help: 'Messages refused (decode or validation), by reason.',
      labelNames: ['reason'],
      registers: [registry],
    }),
    readings: new Counter({
      name: 'meterstream_ingestor_readings_total',
      help: 'Valid readings ingested (a batch counts its readings).',
      registers: [registry],
    }),
    batchReadings: new Histogram({
      name: 'meterstream_ingestor_batch_readings',
      help: 'Valid readings per Kafka batch.',
      buckets: [1, 10, 100, 1000, 10000, 50000, 200000, 1000000],
      registers: [registry],
    }),
  };
  cache.set(registry, m);
  return m;
}
