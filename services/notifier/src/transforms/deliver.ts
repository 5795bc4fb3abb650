/**
 * One delivery of one alert state change to one sink: the first attempt, then retries with
 * exponential backoff (`backoffMs`, doubling, at most `maxBackoffMs`) while the failure is
 * retriable and the retry budget (`retries`) lasts. The outcome is a value: delivered, or
 * dead-lettered with the last failure's reason (`retries_exhausted:<reason>` after the budget,
 * the reason itself for a final refusal such as `http_400`).
 */
import { sleep, type Alert, type Logger } from '@meterstream/core';
import type { NotifierMetrics } from '../notifier-metrics.js';
import type { AlertSink } from '../sinks/sink.js';

export interface RetryPolicy {
  retries: number;
  backoffMs: number;
  maxBackoffMs: number;
}

export type DeliveryOutcome =
  | { outcome: 'delivered'; attempts: number }
  | { outcome: 'dead_lettered'; attempts: number; reason: string; detail: string };

/** The pause before retry number `retry` (1-based). */
export function backoff(policy: RetryPolicy, retry: number): number {
  return Math.min(policy.maxBackoffMs, policy.backoffMs * 2 ** (retry - 1));
}

export async function deliver(
  sink: AlertSink,
  alert: Alert,
  policy: RetryPolicy,
  deps: { metrics: NotifierMetrics; logger: Logger; signal?: AbortSignal; beat?: () => Promise<void> },
): Promise<DeliveryOutcome> {
  const end = deps.metrics.deliverySeconds.startTimer({ sink: sink.name });
  try {
    for (let attempt = 1; ; attempt++) {
      const r = await sink.send(alert, deps.signal);
      if (r.ok) {
        deps.metrics.deliveries.inc({ sink: sink.name, outcome: 'delivered' });
        return { outcome: 'delivered', attempts: attempt };
      }
      if (deps.signal?.aborted) throw new Error('notifier stopping: delivery abandoned, the batch is redelivered');
      if (!r.retriable || attempt > policy.retries) {
        const reason = r.retriable ? `retries_exhausted:${r.reason}` : r.reason;
        deps.metrics.deliveries.inc({ sink: sink.name, outcome: 'failed' });
        deps.logger.warn(
          {
            sink: sink.name,
            alert_id: alert.alertId,
            status: alert.status,
            attempts: attempt,
            reason,
            detail: r.detail,
          },
          'alert delivery failed for good: dead-lettered',
        );
        return { outcome: 'dead_lettered', attempts: attempt, reason, detail: r.detail };
      }
      deps.metrics.deliveries.inc({ sink: sink.name, outcome: 'retried' });
      deps.logger.info(
        { sink: sink.name, alert_id: alert.alertId, attempt, reason: r.reason },
        'alert delivery failed; retrying',
      );
      await sleep(backoff(policy, attempt), deps.signal);
      await deps.beat?.();
    }
  } finally {
    end();
  }
}
