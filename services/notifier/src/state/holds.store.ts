/**
 * Notifications held by silences (`alert_holds`): each alert state change a silence held, in
 * topic order per episode, `held` until the silences end, then `released` or `dropped`
 * (`transforms/release-plan.ts`). A newer version of a row replaces its state.
 */
import type { Alert, ClickHouseClient } from '@meterstream/core';
import { alertJson, alertOfJson, type AlertJson } from '../transforms/alert-json.js';
import type { HeldChange } from '../transforms/release-plan.js';
import { insertRows, iso, selectRows } from './rows.js';

export interface Held extends HeldChange {
  alert: Alert;
  sourcePartition: number;
  silenceId: string;
  heldAt: number;
}

interface HoldRow {
  alert: string;
  silence_id: string;
  source_partition: number;
  source_offset: number;
  held_at: number;
}

export class HoldsStore {
  constructor(
    private readonly clickhouse: ClickHouseClient,
    private readonly db: string,
  ) {}

  /** Every change still held, or only those of the given episodes. */
  async pending(dedupKeys?: readonly string[]): Promise<Held[]> {
    if (dedupKeys !== undefined && dedupKeys.length === 0) return [];
    const rows = await selectRows<HoldRow>(
      this.clickhouse,
      `SELECT alert, silence_id, source_partition, source_offset, toUnixTimestamp64Milli(held_at) AS held_at
       FROM {db:Identifier}.alert_holds FINAL
       WHERE state = 'held' ${dedupKeys ? 'AND dedup_key IN {keys:Array(String)}' : ''}
       ORDER BY dedup_key, source_offset`,
      { db: this.db, keys: [...new Set(dedupKeys ?? [])] },
    );
    return rows.map((r) => {
      const alert = alertOfJson(JSON.parse(r.alert) as AlertJson);
      return {
        alert,
        alertId: alert.alertId,
        status: alert.status,
        sourcePartition: Number(r.source_partition),
        sourceOffset: Number(r.source_offset),
        silenceId: r.silence_id,
        heldAt: Number(r.held_at),
      };
    });
  }

  /** The hold state of these alert state changes (`<alertId>:<status>` → state), in any state. */
  async states(alertIds: readonly string[]): Promise<Map<string, string>> {
    if (alertIds.length === 0) return new Map();
    const rows = await selectRows<{ alert_id: string; status: string; state: string }>(
      this.clickhouse,
      `SELECT alert_id, status, state FROM {db:Identifier}.alert_holds FINAL WHERE alert_id IN {ids:Array(String)}`,
      { db: this.db, ids: [...new Set(alertIds)] },
    );
    return new Map(rows.map((r) => [`${r.alert_id}:${r.status}`, r.state]));
  }

  /** Writes the changes with their new state (`held` when first held). */
  async put(changes: readonly Held[], state: 'held' | 'released' | 'dropped'): Promise<void> {
    const version = Date.now();
    await insertRows(
      this.clickhouse,
      this.db,
      'alert_holds',
      changes.map((h, i) => ({
        alert_id: h.alert.alertId,
        status: h.alert.status,
        dedup_key: h.alert.dedupKey,
        tenant: h.alert.tenant,
        meter: h.alert.meter,
        alert: JSON.stringify(alertJson(h.alert)),
        silence_id: h.silenceId,
        source_partition: h.sourcePartition,
        source_offset: h.sourceOffset,
        state,
        held_at: iso(h.heldAt),
        // Distinct within one write; a later write of the same change wins.
        version: version * 1000 + (state === 'held' ? 0 : 500) + (i % 500),
      })),
    );
  }
}
