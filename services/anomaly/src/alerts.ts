/**
 * From a detector's transition to the design's `Alert` record, the `alerts` table row and the
 * Kafka message. Identities are deterministic, so the same episode always gets the same
 * `dedupKey` (what notification pipelines deduplicate on) and the same state change the same
 * `alertId` — a replayed batch reproduces them exactly.
 */
import { createHash } from 'node:crypto';
import { tsvEscape, tsvMillis, tsvNullable, type Alert, type InsertOrigin } from '@meterstream/core';
import type { AlertTransition } from './detectors/detector.js';

/** Where an alert belongs. */
export interface AlertSubject {
  tenant: string;
  /** Pseudonym. */
  meter: string;
  zoneId: string | null;
}

/** A detector's transition and the meter it belongs to: one alert state change to publish. */
export interface Emitted {
  subject: AlertSubject;
  t: AlertTransition;
}

/** The input batch that produced an alert (for recognising a redelivered batch's own writes). */
export interface AlertOrigin {
  source: string;
  partition: number;
  /** Last offset of the batch. */
  offset: bigint;
}

/**
 * The input batch of an insert made for it, for the insert's deduplication token: a retry of
 * the same rows after a lost answer is a no-op on the server. `part` tells the batch's inserts
 * into different tables apart.
 */
export function insertOriginOf(origin: AlertOrigin, part?: string): InsertOrigin {
  return {
    topic: origin.source,
    partition: origin.partition,
    firstOffset: origin.offset,
    lastOffset: origin.offset,
    part,
  };
}

function digest(parts: (string | number)[]): string {
  return createHash('sha256').update(parts.join('\u001f')).digest('hex').slice(0, 32);
}

/** The episode's identity: one per (tenant, meter, type, variant, episode start). */
export function dedupKeyOf(
  subject: AlertSubject,
  t: Pick<AlertTransition, 'type' | 'variant' | 'episodeStart'>,
): string {
  return digest([subject.tenant, subject.meter, t.type, t.variant ?? '', t.episodeStart]);
}

/** The `Alert` record of a transition. */
export function alertOf(subject: AlertSubject, t: AlertTransition): Alert {
  const dedupKey = dedupKeyOf(subject, t);
  const details: Record<string, number> = {};
  for (const [k, v] of Object.entries(t.details)) if (Number.isFinite(v)) details[k] = v;
  return {
    alertId: digest([dedupKey, t.status, t.severity]),
    dedupKey,
    type: t.type,
    status: t.status,
    severity: t.severity,
    tenant: subject.tenant,
    meter: subject.meter,
    zoneId: subject.zoneId,
    // Avro longs: whole milliseconds, whatever arithmetic a detector did on the times.
    startsAt: Math.round(t.episodeStart),
    endsAt: t.status === 'RESOLVED' ? Math.round(t.at) : null,
    summary: t.summary,
    details,
  };
}

const RANK = { FIRING: 0, RESOLVED: 2 } as const;

/** ReplacingMergeTree version of an alert row: the later change wins, a resolve beats a fire. */
export function alertVersion(a: Alert, at: number): bigint {
  return BigInt(Math.round(at)) * 4n + BigInt(RANK[a.status] + (a.severity === 'CRITICAL' ? 1 : 0));
}

/** Columns of the `alerts` insert, in the order of {@link alertTsv}. */
export const ALERT_COLUMNS = [
  'alert_id',
  'dedup_key',
  'type',
  'status',
  'severity',
  'tenant',
  'meter',
  'zone_id',
  'starts_at',
  'ends_at',
  'summary',
  'details',
  'version',
  'source',
  'partition',
  'source_offset',
] as const;

/** One TabSeparated `alerts` row. */
export function alertTsv(a: Alert, at: number, origin: AlertOrigin): string {
  // Map literal; keys are the detectors' own names (letters and digits only, kept so).
  const details = `{${Object.entries(a.details)
    .map(([k, v]) => `'${k.replace(/[^A-Za-z0-9_]/g, '')}':${v}`)
    .join(',')}}`;
  return `${a.alertId}\t${a.dedupKey}\t${a.type}\t${a.status}\t${a.severity}\t${tsvEscape(a.tenant)}\t${a.meter}\t${tsvNullable(a.zoneId)}\t${tsvMillis(a.startsAt)}\t${a.endsAt === null ? '\\N' : tsvMillis(a.endsAt)}\t${tsvEscape(a.summary)}\t${details}\t${alertVersion(a, at)}\t${tsvEscape(origin.source)}\t${origin.partition}\t${origin.offset}\n`;
}
