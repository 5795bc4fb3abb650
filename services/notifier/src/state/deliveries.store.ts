/**
 * Delivery state (`alert_deliveries`): per (sink, alertId, status), whether the notifier
 * delivered or dead-lettered it. Written after the sinks answered and before the batch's
 * offset commits; read before sending, so a batch delivered again after a crash or restart
 * skips what was finished. A crash between a send and this write sends that one again: at
 * least once, and the receiver deduplicates on `X-Meterstream-Delivery`.
 */
import type { Alert, ClickHouseClient } from '@meterstream/core';
import { insertRows, iso, selectRows } from './rows.js';

export interface Finished {
  outcome: 'delivered' | 'dead_lettered';
  reason: string;
}

export interface DeliveryRow {
  sink: string;
  alert: Alert;
  outcome: 'delivered' | 'dead_lettered';
  reason: string;
  attempts: number;
}

export const deliveryKey = (sink: string, alertId: string, status: string): string =>
  `${sink}\u001f${alertId}\u001f${status}`;

export class DeliveriesStore {
  constructor(
    private readonly clickhouse: ClickHouseClient,
    private readonly db: string,
  ) {}

  /** What is finished among these alerts, by {@link deliveryKey}. */
  async finished(alertIds: readonly string[]): Promise<Map<string, Finished>> {
    const out = new Map<string, Finished>();
    if (alertIds.length === 0) return out;
    const rows = await selectRows<{ sink: string; alert_id: string; status: string } & Finished>(
      this.clickhouse,
      `SELECT sink, alert_id, status, outcome, reason FROM {db:Identifier}.alert_deliveries FINAL
       WHERE alert_id IN {ids:Array(String)}`,
      { db: this.db, ids: [...new Set(alertIds)] },
    );
    for (const r of rows) out.set(deliveryKey(r.sink, r.alert_id, r.status), { outcome: r.outcome, reason: r.reason });
    return out;
  }

  /** Whether a FIRING of each episode was delivered to any sink. */
  async firingDelivered(dedupKeys: readonly string[]): Promise<Set<string>> {
    if (dedupKeys.length === 0) return new Set();
    const rows = await selectRows<{ dedup_key: string }>(
      this.clickhouse,
      `SELECT DISTINCT dedup_key FROM {db:Identifier}.alert_deliveries FINAL
       WHERE dedup_key IN {keys:Array(String)} AND status = 'FIRING' AND outcome = 'delivered'`,
      { db: this.db, keys: [...new Set(dedupKeys)] },
    );
    return new Set(rows.map((r) => r.dedup_key));
  }

  async record(rows: readonly DeliveryRow[]): Promise<void> {
    const now = Date.now();
    await insertRows(
      this.clickhouse,
      this.db,
      'alert_deliveries',
      rows.map((r) => ({
        sink: r.sink,
        alert_id: r.alert.alertId,
        status: r.alert.status,
        dedup_key: r.alert.dedupKey,
        tenant: r.alert.tenant,
        meter: r.alert.meter,
        outcome: r.outcome,
        reason: r.reason,
        attempts: r.attempts,
        starts_at: iso(r.alert.startsAt),
        finished_at: iso(now),
      })),
    );
  }
}
