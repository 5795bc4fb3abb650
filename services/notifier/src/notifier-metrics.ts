/**
 * The notifier's metrics. Labels are bounded: the sink's configured name and an outcome, never
 * a tenant's meter or pseudonym.
 */
import { Counter, Histogram, type Registry } from 'prom-client';

export interface NotifierMetrics {
  /** `outcome`: delivered, retried (one per retry), failed (dead-lettered), duplicate (already delivered). */
  deliveries: Counter<'sink' | 'outcome'>;
  /** From the first attempt to the outcome, retries included. */
  deliverySeconds: Histogram<'sink'>;
  /** Notifications held by a silence, then released or dropped (`action`). */
  holds: Counter<'action'>;
}

const cache = new WeakMap<Registry, NotifierMetrics>();

export function notifierMetrics(registry: Registry): NotifierMetrics {
  const existing = cache.get(registry);
  if (existing) return existing;
  const m: NotifierMetrics = {
    deliveries: new Counter({
      name: 'meterstream_notifier_deliveries_total',
      help: 'Alert deliveries per sink by outcome: delivered, retried (each retry), failed (dead-lettered), duplicate (skipped: delivered before).',
      labelNames: ['sink', 'outcome'],
      registers: [registry],
    }),
    deliverySeconds: new Histogram({
      name: 'meterstream_notifier_delivery_seconds',
      help: 'Time from the first attempt of a delivery to its outcome, retries included.',
      labelNames: ['sink'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120],
      registers: [registry],
    }),
    holds: new Counter({
      name: 'meterstream_notifier_holds_total',
      help: 'Alert state changes held by a silence, and released or dropped when the silences ended.',
      labelNames: ['action'],
      registers: [registry],
    }),
  };
  cache.set(registry, m);
  return m;
}
