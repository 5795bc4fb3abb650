/** An alert state change as JSON for people's systems: the Avro record with ISO 8601 times. */
import type { Alert } from '@meterstream/core';

export interface AlertJson {
  alertId: string;
  dedupKey: string;
  type: string;
  status: string;
  severity: string;
  tenant: string;
  /** The meter's pseudonym. */
  meter: string;
  zoneId: string | null;
  startsAt: string;
  endsAt: string | null;
  summary: string;
  details: Record<string, number>;
}

export function alertJson(a: Alert): AlertJson {
  return {
    alertId: a.alertId,
    dedupKey: a.dedupKey,
    type: a.type,
    status: a.status,
    severity: a.severity,
    tenant: a.tenant,
    meter: a.meter,
    zoneId: a.zoneId,
    startsAt: new Date(a.startsAt).toISOString(),
    endsAt: a.endsAt === null ? null : new Date(a.endsAt).toISOString(),
    summary: a.summary,
    details: a.details,
  };
}

/** The inverse of {@link alertJson} (held notifications are stored as JSON). */
export function alertOfJson(j: AlertJson): Alert {
  return {
    ...j,
    type: j.type as Alert['type'],
    status: j.status as Alert['status'],
    severity: j.severity as Alert['severity'],
    startsAt: Date.parse(j.startsAt),
    endsAt: j.endsAt === null ? null : Date.parse(j.endsAt),
  };
}

/** The label set silences match on, the same as the Alertmanager labels. */
export function alertLabels(a: Alert): Record<string, string> {
  return {
    alertname: a.type,
    severity: a.severity.toLowerCase(),
    tenant: a.tenant,
    zone: a.zoneId ?? '',
    pseudonym: a.meter,
  };
}
