/**
 * A signed webhook: each alert state change of its tenants and types is POSTed as JSON
 * `{version, deliveryId, alert}`, signed with the webhook's secret (`transforms/signature.ts`).
 * `X-Meterstream-Delivery` (`<alertId>:<status>`) is the same on every retry and redelivery of
 * one state change: a receiver deduplicates on it, since delivery is at least once.
 */
import type { Alert, WebhookConfig } from '@meterstream/core';
import { alertJson } from '../transforms/alert-json.js';
import { postJson } from '../transforms/http-attempt.js';
import { DELIVERY_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER, signature } from '../transforms/signature.js';
import type { AlertSink, Attempt } from './sink.js';

export class WebhookSink implements AlertSink {
  readonly name: string;
  readonly #hook: WebhookConfig;
  readonly #timeoutMs: number;
  readonly #now: () => number;

  constructor(hook: WebhookConfig, timeoutMs: number, now: () => number = Date.now) {
    this.name = `webhook:${hook.name}`;
    this.#hook = hook;
    this.#timeoutMs = timeoutMs;
    this.#now = now;
  }

  wants(alert: Alert): boolean {
    const { tenants, types } = this.#hook;
    return (tenants === null || tenants.includes(alert.tenant)) && (types === null || types.includes(alert.type));
  }

  send(alert: Alert, signal?: AbortSignal): Promise<Attempt> {
    const deliveryId = `${alert.alertId}:${alert.status}`;
    const body = JSON.stringify({ version: 1, deliveryId, alert: alertJson(alert) });
    // Signed at each attempt: a retry carries a fresh timestamp.
    const timestamp = Math.floor(this.#now() / 1000);
    const headers = {
      [TIMESTAMP_HEADER]: String(timestamp),
      [SIGNATURE_HEADER]: signature(this.#hook.secret, timestamp, body),
      [DELIVERY_HEADER]: deliveryId,
      'user-agent': 'meterstream-notifier/1',
    };
    return postJson(this.#hook.url, body, headers, this.#timeoutMs, signal);
  }
}
