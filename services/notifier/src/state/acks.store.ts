/**
 * Acknowledgements (`alert_acks`): who took an alert episode on, when, with a note. Keyed by
 * episode (`dedupKey`): an acknowledged episode stays acknowledged through its state changes.
 */
import type { ClickHouseClient } from '@meterstream/core';
import { insertRows, iso, selectRows } from './rows.js';

export interface AlertRef {
  alertId: string;
  dedupKey: string;
  tenant: string;
  meter: string;
  startsAt: number;
}

export interface Ack {
  by: string;
  at: number;
  note: string;
}

export class AcksStore {
  constructor(
    private readonly clickhouse: ClickHouseClient,
    private readonly db: string,
  ) {}

  /** The episode an id names: its `dedupKey`, or the `alertId` of one of its state changes. */
  async find(id: string): Promise<AlertRef | null> {
    const rows = await selectRows<{
      alert_id: string;
      dedup_key: string;
      tenant: string;
      meter: string;
      starts: number;
    }>(
      this.clickhouse,
      `SELECT alert_id, dedup_key, tenant, meter, toUnixTimestamp64Milli(starts_at) AS starts
       FROM {db:Identifier}.alerts WHERE dedup_key = {id:String} OR alert_id = {id:String}
       ORDER BY version DESC LIMIT 1`,
      { db: this.db, id },
    );
    if (rows.length === 0) return null;
    const r = rows[0];
    return { alertId: r.alert_id, dedupKey: r.dedup_key, tenant: r.tenant, meter: r.meter, startsAt: Number(r.starts) };
  }

  async ack(ref: AlertRef, ack: Ack): Promise<void> {
    await insertRows(this.clickhouse, this.db, 'alert_acks', [
      {
        dedup_key: ref.dedupKey,
        alert_id: ref.alertId,
        tenant: ref.tenant,
        meter: ref.meter,
        acked_by: ack.by,
        note: ack.note,
        acked_at: iso(ack.at),
        starts_at: iso(ref.startsAt),
      },
    ]);
  }
}
