/**
 * Whether an alert state change can be delivered and recorded; one that cannot goes to the
 * notifier's DLQ with the reason. Avro already holds the enums and types; what it lets through
 * and the stores cannot take is a time outside the tables' range (a DateTime64 of eleven digits
 * fails its insert, a time past year 275760 fails `toISOString`), which would fail the batch
 * on every delivery of it and stop the partition.
 */
import { isStorableTime, type Alert } from '@meterstream/core';

/** Why the alert cannot be handled, or null. */
export function alertProblem(a: Alert): string | null {
  if (!isStorableTime(a.startsAt)) return 'startsAt must be whole milliseconds from 2000 to 2099';
  if (a.endsAt !== null && !isStorableTime(a.endsAt)) return 'endsAt must be whole milliseconds from 2000 to 2099';
  return null;
}
