/**
 * One terminal line per alert state change, for the demo's live feed:
 *
 *     FIRING    NIGHT_FLOW        WARNING   zone-03       9f56cee4…  Night flow 24 L/h for 2 nights
 *
 * status, type, severity, zone, the pseudonym's first 8 characters, the summary. Columns are
 * padded to the longest value of each enum so the feed reads as a table. Alerts carry
 * pseudonyms only; the prefix is enough to tell meters apart on screen and to find one in the
 * API. Text from the data (zone, summary) has its control characters replaced, so a record
 * cannot move the cursor or split the line.
 */
import type { Alert } from '@meterstream/core';

const STATUS_WIDTH = 'RESOLVED'.length;
const TYPE_WIDTH = 'INVOICE_MISMATCH'.length;
const SEVERITY_WIDTH = 'CRITICAL'.length;
const ZONE_WIDTH = 'building-001'.length;
const PSEUDONYM_PREFIX = 8;

/** What a line of {@link formatAlertLine} looks like (for tests and scripts reading the terminal). */
export const ALERT_LINE =
  /^(FIRING|RESOLVED) +(NIGHT_FLOW|BURST|FROST_RISK|INVOICE_MISMATCH|METER_SILENT) +(INFO|WARNING|CRITICAL) +\S+ +\S+ +\S.*$/;

// C0 and C1 control characters, DEL included.
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/g;

/** The line of one alert record (no trailing newline). */
export function formatAlertLine(
  alert: Pick<Alert, 'status' | 'type' | 'severity' | 'zoneId' | 'meter' | 'summary'>,
): string {
  const zone = (alert.zoneId ?? '').replace(CONTROL, ' ').trim().replace(/\s+/g, '_') || '-';
  const meter = alert.meter.length > PSEUDONYM_PREFIX ? `${alert.meter.slice(0, PSEUDONYM_PREFIX)}…` : alert.meter;
  const summary = alert.summary.replace(CONTROL, ' ').replace(/\s+/g, ' ').trim();
  return [
    alert.status.padEnd(STATUS_WIDTH),
    alert.type.padEnd(TYPE_WIDTH),
    alert.severity.padEnd(SEVERITY_WIDTH),
    zone.padEnd(ZONE_WIDTH),
    meter,
    summary === '' ? '-' : summary,
  ].join('  ');
}
