/**
 * Silences (`alert_silences`) and their audit trail (`alert_silence_audit`: who created or
 * expired which silence, when, and what it was). Expiring writes a newer version of the
 * silence that ends now; nothing is deleted, so the list shows what was silenced and until when.
 */
import { randomUUID } from 'node:crypto';
import type { ClickHouseClient } from '@meterstream/core';
import type { Matcher, Silence } from '../transforms/match-silences.js';
import { insertRows, iso, selectRows } from './rows.js';

interface SilenceRow {
  silence_id: string;
  matchers: string;
  starts_at: number;
  ends_at: number;
  created_by: string;
  comment: string;
  created_at: number;
}

const ofRow = (r: SilenceRow): Silence => ({
  id: r.silence_id,
  matchers: JSON.parse(r.matchers) as Matcher[],
  startsAt: Number(r.starts_at),
  endsAt: Number(r.ends_at),
  createdBy: r.created_by,
  comment: r.comment,
  createdAt: Number(r.created_at),
});

export class SilencesStore {
  constructor(
    private readonly clickhouse: ClickHouseClient,
    private readonly db: string,
  ) {}

  /** Silences that end after `since` (default: all kept), newest first. */
  async list(since = 0): Promise<Silence[]> {
    const rows = await selectRows<SilenceRow>(
      this.clickhouse,
      `SELECT silence_id, matchers, toUnixTimestamp64Milli(starts_at) AS starts_at,
              toUnixTimestamp64Milli(ends_at) AS ends_at, created_by, comment,
              toUnixTimestamp64Milli(created_at) AS created_at
       FROM {db:Identifier}.alert_silences FINAL
       WHERE ends_at > {since:Int64} -- the alias above: milliseconds
       ORDER BY created_at DESC, silence_id`,
      { db: this.db, since },
    );
    return rows.map(ofRow);
  }

  async get(id: string): Promise<Silence | null> {
    const rows = await selectRows<SilenceRow>(
      this.clickhouse,
      `SELECT silence_id, matchers, toUnixTimestamp64Milli(starts_at) AS starts_at,
              toUnixTimestamp64Milli(ends_at) AS ends_at, created_by, comment,
              toUnixTimestamp64Milli(created_at) AS created_at
       FROM {db:Identifier}.alert_silences FINAL WHERE silence_id = {id:String}`,
      { db: this.db, id },
    );
    return rows.length === 0 ? null : ofRow(rows[0]);
  }

  async create(s: Omit<Silence, 'id' | 'createdAt'>, now = Date.now()): Promise<Silence> {
    const silence: Silence = { ...s, id: randomUUID(), createdAt: now };
    await this.#write(silence, now);
    await this.#audit(silence, 'create', s.createdBy, now);
    return silence;
  }

  /** Ends the silence now (a pending one never starts); returns it as it is afterwards. */
  async expire(s: Silence, actor: string, now = Date.now()): Promise<Silence> {
    const ended: Silence = { ...s, endsAt: Math.min(s.endsAt, now), startsAt: Math.min(s.startsAt, now) };
    await this.#write(ended, now);
    await this.#audit(ended, 'expire', actor, now);
    return ended;
  }

  async #write(s: Silence, now: number): Promise<void> {
    await insertRows(this.clickhouse, this.db, 'alert_silences', [
      {
        silence_id: s.id,
        matchers: JSON.stringify(s.matchers),
        starts_at: iso(s.startsAt),
        ends_at: iso(s.endsAt),
        created_by: s.createdBy,
        comment: s.comment,
        created_at: iso(s.createdAt),
        version: now,
      },
    ]);
  }

  async #audit(s: Silence, action: 'create' | 'expire', actor: string, now: number): Promise<void> {
    await insertRows(this.clickhouse, this.db, 'alert_silence_audit', [
      {
        silence_id: s.id,
        at: iso(now),
        actor,
        action,
        what: JSON.stringify({
          matchers: s.matchers,
          startsAt: iso(s.startsAt),
          endsAt: iso(s.endsAt),
          comment: s.comment,
        }),
      },
    ]);
  }

  /** The audit trail of one silence, oldest first. */
  async audit(id: string): Promise<{ at: number; actor: string; action: string; what: string }[]> {
    const rows = await selectRows<{ at: number; actor: string; action: string; what: string }>(
      this.clickhouse,
      `SELECT toUnixTimestamp64Milli(at) AS at, actor, action, what FROM {db:Identifier}.alert_silence_audit
       WHERE silence_id = {id:String} ORDER BY at, action`,
      { db: this.db, id },
    );
    return rows.map((r) => ({ ...r, at: Number(r.at) }));
  }
}
