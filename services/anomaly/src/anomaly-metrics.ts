/** The anomaly service's Prometheus metrics (names `meterstream_anomaly_*`). */
import { Counter, Histogram, type Registry } from 'prom-client';

export interface AnomalyMetrics {
  alerts: Counter<'type' | 'severity' | 'status'>;
  detectorSeconds: Histogram<'detector'>;
  invoicesChecked: Counter<'outcome'>;
  lateTemperature: Counter;
  silencesFilled: Counter;
  silenceSkipped: Counter<'reason'>;
  insufficientResolution: Counter<'detector'>;
}

export function anomalyMetrics(registry: Registry): AnomalyMetrics {
  return {
    alerts: new Counter({
      name: 'meterstream_anomaly_alerts_total',
      help: 'Alert state changes published, by type, severity and status (FIRING/RESOLVED).',
      labelNames: ['type', 'severity', 'status'],
      registers: [registry],
    }),
    detectorSeconds: new Histogram({
      name: 'meterstream_anomaly_detector_seconds',
      help: 'Time to evaluate one input batch, by detector group.',
      labelNames: ['detector'],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [registry],
    }),
    invoicesChecked: new Counter({
      name: 'meterstream_anomaly_invoices_checked_total',
      help: 'Invoice checks, by outcome (MATCH, MISMATCH, PENDING, INSUFFICIENT_DATA).',
      labelNames: ['outcome'],
      registers: [registry],
    }),
    lateTemperature: new Counter({
      name: 'meterstream_anomaly_temperature_out_of_order_total',
      help: 'Temperature readings older than the newest already evaluated (kept in storage, not re-judged for frost).',
      registers: [registry],
    }),
    silencesFilled: new Counter({
      name: 'meterstream_anomaly_silences_filled_total',
      help: 'Gaps between deliveries longer than the silence limit that ended before they could be judged (backfill, catch-up): not published.',
      registers: [registry],
    }),
    silenceSkipped: new Counter({
      name: 'meterstream_anomaly_silence_judgements_skipped_total',
      help: 'Hourly batches after which silence was not judged, by reason (catching_up: input lag; backfill: a backfill moved the arrival clock).',
      labelNames: ['reason'],
      registers: [registry],
    }),
    insufficientResolution: new Counter({
      name: 'meterstream_anomaly_insufficient_resolution_hours_total',
      help: 'Hourly water rows a detector gave no verdict on because their readings are coarser than one hour (e.g. once a day), by detector.',
      labelNames: ['detector'],
      registers: [registry],
    }),
  };
}
