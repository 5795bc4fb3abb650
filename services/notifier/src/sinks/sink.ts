/**
 * The contract of every delivery target (Alertmanager, each signed webhook): which alerts it
 * wants, and one attempt to hand one over. Retries, dead letters, dedup and metrics are the
 * caller's (`transforms/deliver.ts`), so every sink is held to the same rules.
 */
import type { Alert } from '@meterstream/core';

/** The result of one attempt, as a value (`transforms/http-attempt.ts` classifies HTTP answers). */
export type Attempt =
  | { ok: true }
  | {
      ok: false;
      /** Worth trying again (timeouts, connection errors, 408, 429, 5xx). */
      retriable: boolean;
      /** Machine-readable reason: `timeout`, `connection`, `http_500`, ... */
      reason: string;
      /** Human-readable detail (never personal data: alerts carry pseudonyms only). */
      detail: string;
    };

/** A place alert state changes are delivered to. */
export interface AlertSink {
  /** Stable name: the metrics label, the delivery state key, the dead-letter header. */
  readonly name: string;
  /** Whether this sink gets the alert at all (per tenant, per type). */
  wants(alert: Alert): boolean;
  /** One attempt to deliver the alert; never throws. */
  send(alert: Alert, signal?: AbortSignal): Promise<Attempt>;
}
