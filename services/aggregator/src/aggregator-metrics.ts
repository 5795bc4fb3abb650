/** Metrics only the aggregator has (the pipeline ones live in @meterstream/core). */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { Piscina } from 'piscina';

export interface AggregatorMetrics {
  readings: Counter;
  hours: Counter;
  revised: Counter;
  lateReadings: Counter<'age'>;
  lateLabels: readonly string[];
  registerResets: Counter<'cause'>;
  registerMismatches: Counter<'kind'>;
  phase: Histogram<'phase'>;
}

/** Label of each late-reading bucket (see LATE_BUCKETS_H in the worker). */
const LATE_LABELS = ['le_1h', 'le_1d', 'le_3d', 'le_10d', 'le_30d', 'older'] as const;

const cache = new WeakMap<Registry, AggregatorMetrics>();

export function aggregatorMetrics(registry: Registry, pool: Piscina): AggregatorMetrics {
  let m = cache.get(registry);
  if (m) return m;
  m = {
    readings: new Counter({
      name: 'meterstream_aggregator_readings_total',
      help: 'Clean readings rolled up.',
      registers: [registry],
    }),
    hours: new Counter({
      name: 'meterstream_aggregator_hours_emitted_total',
      help: 'Hourly rows written and published (new or revised).',
      registers: [registry],
    }),
    revised: new Counter({
      name: 'meterstream_aggregator_hours_revised_total',
      help: 'Hourly rows that replaced an earlier version.',
      registers: [registry],
    }),
    lateReadings: new Counter({
      name: 'meterstream_aggregator_readings_by_age_total',
      help: 'Readings by age (processing time minus reading time).',
      labelNames: ['age'],
      registers: [registry],
    }),
    lateLabels: LATE_LABELS,
    phase: new Histogram({
      name: 'meterstream_aggregator_phase_seconds',
      help: 'Time per batch in each phase (decode, window, read, rollup).',
      labelNames: ['phase'],
      buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10],
      registers: [registry],
    }),
    registerResets: new Counter({
      name: 'meterstream_aggregator_register_falls_total',
      help: 'Falling registers, read as a reset/meter change (no consumption invented) or a rollover of a known capacity (per recompute).',
      labelNames: ['cause'],
      registers: [registry],
    }),
    registerMismatches: new Counter({
      name: 'meterstream_aggregator_register_interval_mismatch_total',
      help: "Register spans whose difference disagrees with the meter's intervals beyond the tolerance (per recompute).",
      labelNames: ['kind'],
      registers: [registry],
    }),
  };
  new Gauge({
    name: 'meterstream_aggregator_pool_utilization_ratio',
    help: 'Worker pool utilisation (piscina).',
    registers: [registry],
    collect() {
      this.set(pool.utilization);
    },
  });
  new Gauge({
    name: 'meterstream_aggregator_pool_queue_tasks',
    help: 'Tasks waiting for a worker.',
    registers: [registry],
    collect() {
      this.set(pool.queueSize);
    },
  });
  cache.set(registry, m);
  return m;
}
