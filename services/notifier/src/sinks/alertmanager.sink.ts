/**
 * Prometheus Alertmanager, API v2 (`POST /api/v2/alerts`). Labels: `alertname` (the type),
 * `severity`, `tenant`, `zone`, `pseudonym`; annotations: `summary`, `alert_id`, `dedup_key`.
 *
 * meterstream publishes state changes, not a periodic evaluation as Prometheus does, so a
 * FIRING alert is not re-sent every minute. Alertmanager ends an alert without `endsAt` after
 * its `resolve_timeout` (5 min by default); a FIRING alert is therefore posted with an `endsAt`
 * `firingHorizonMs` ahead (30 days), and ends when its RESOLVED is posted with the real `endsAt`.
 * The labels of FIRING and RESOLVED are the same, which is how Alertmanager pairs them.
 */
import type { Alert } from '@meterstream/core';
import { alertLabels } from '../transforms/alert-json.js';
import { postJson } from '../transforms/http-attempt.js';
import type { AlertSink, Attempt } from './sink.js';

export interface AlertmanagerSinkOptions {
  /** Base URL, e.g. `http://alertmanager:9093`. */
  url: string;
  timeoutMs: number;
  /** How far ahead a FIRING alert's `endsAt` lies (ms). Default 30 days. */
  firingHorizonMs?: number;
  now?: () => number;
}

export class AlertmanagerSink implements AlertSink {
  readonly name = 'alertmanager';
  readonly #o: AlertmanagerSinkOptions;

  constructor(options: AlertmanagerSinkOptions) {
    this.#o = options;
  }

  wants(): boolean {
    return true;
  }

  /** The Alertmanager v2 `postableAlert` of a state change. */
  payload(a: Alert): object {
    const now = (this.#o.now ?? Date.now)();
    const endsAt =
      a.status === 'RESOLVED'
        ? (a.endsAt ?? now)
        : Math.max(now, a.startsAt) + (this.#o.firingHorizonMs ?? 30 * 86_400_000);
    return {
      labels: alertLabels(a),
      annotations: { summary: a.summary, alert_id: a.alertId, dedup_key: a.dedupKey },
      startsAt: new Date(a.startsAt).toISOString(),
      endsAt: new Date(endsAt).toISOString(),
    };
  }

  send(alert: Alert, signal?: AbortSignal): Promise<Attempt> {
    const body = JSON.stringify([this.payload(alert)]);
    return postJson(`${this.#o.url}/api/v2/alerts`, body, {}, this.#o.timeoutMs, signal);
  }
}
