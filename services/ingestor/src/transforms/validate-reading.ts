/**
 * Validation of decoded readings. Pure: an outcome value per message, never an exception.
 * Reasons are short stable codes (metric label, DLQ header) plus a detail for people; neither
 * ever contains the meter ID.
 */
import {
  STORABLE_TIME,
  type MeterKind,
  type MeterReading,
  type MeterReadingBatch,
  type ReadingType,
  type Unit,
} from '@meterstream/core';

/** Why a message was refused: a bounded code and a human detail without personal data. */
export interface Rejection {
  reason: string;
  detail: string;
}

/** Limits of validation, from the ingestor config. */
export interface ValidationLimits {
  /** Largest number of readings in one batch. */
  maxBatchReadings: number;
  /** Latest acceptable reading time, as an offset from `now` (ms). */
  maxFutureMs: number;
  /**
   * Oldest acceptable reading time, as an age before `now` (ms): {@link correctionWindowMs} of
   * the raw retention. Older readings go to the DLQ as `beyond_retention`.
   */
  maxAgeMs: number;
}

const DAY_MS = 86_400_000;

/**
 * How old a reading may be: the raw retention (`METERSTREAM_RAW_TTL_DAYS`) minus a margin of a
 * day (half the retention when that is shorter than two days). Recomputing an hour reads every
 * stored reading that reaches it, and those expire by TTL from their own time: a correction
 * for an hour whose other readings are gone would recompute a partial row over the exact one.
 * The margin covers what a recompute reads before the reading's own hour (an interval reaches
 * back at most a day, since intervals divide a day), TTL merges that drop expired rows at an
 * unknown moment after they expire, and the time until the aggregator gets to the reading.
 * Longer correction windows need a longer raw retention.
 */
export function correctionWindowMs(rawTtlDays: number): number {
  const ttl = rawTtlDays * DAY_MS;
  return ttl - Math.min(DAY_MS, ttl / 2);
}

/** Earliest acceptable reading time: 2000-01-01T00:00:00Z, the first time the tables store. */
export const MIN_TS = STORABLE_TIME.from;

/** Units each kind may be measured in. */
const UNITS: Readonly<Record<MeterKind, readonly Unit[]>> = {
  ELECTRICITY_IMPORT: ['WH', 'KWH', 'MWH'],
  ELECTRICITY_EXPORT: ['WH', 'KWH', 'MWH'],
  HEAT: ['WH', 'KWH', 'MWH'],
  WATER: ['L', 'M3'],
  GAS: ['M3', 'WH', 'KWH', 'MWH'],
  TEMPERATURE: ['CELSIUS'],
};

/** Plausible physical range of a temperature sensor in a building, °C. */
const TEMPERATURE_RANGE = [-60, 100] as const;

const MAX_ID_LENGTH = 128;

/**
 * What no ID may hold: the C0 and C1 control characters (U+0000–U+001F, U+007F–U+009F), which
 * are never part of a head-end's meter or zone ID but are the separators of keys built from
 * IDs (U+001F joins tenant and meter ID in the pseudonym's input), and U+FFFD, which is what
 * invalid UTF-8 decodes to: two different invalid byte sequences would otherwise become the
 * same ID, and so the same pseudonym.
 */
const FORBIDDEN_IN_ID = /[\p{Cc}\uFFFD]/u;

function idProblem(name: string, id: string): string | null {
  const m = FORBIDDEN_IN_ID.exec(id);
  if (m === null) return null;
  return m[0] === '\uFFFD'
    ? `${name} is not valid UTF-8 (or holds U+FFFD)`
    : `${name} contains a control character (U+${m[0].codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')})`;
}

type Header = Pick<
  MeterReading,
  | 'meterId'
  | 'tenant'
  | 'kind'
  | 'unit'
  | 'readingType'
  | 'intervalSeconds'
  | 'zoneId'
  | 'priceArea'
  | 'registerModulus'
>;

function reject(reason: string, detail: string): Rejection {
  return { reason, detail };
}

function checkHeader(h: Header): Rejection | null {
  if (h.meterId.length === 0 || h.meterId.length > MAX_ID_LENGTH)
    return reject('bad_meter_id', `meterId must have 1..${MAX_ID_LENGTH} characters`);
  const badMeterId = idProblem('meterId', h.meterId);
  if (badMeterId !== null) return reject('bad_meter_id', badMeterId);
  if (h.tenant.length === 0 || h.tenant.length > MAX_ID_LENGTH || !/^[A-Za-z0-9._-]+$/.test(h.tenant)) {
    return reject('bad_tenant', 'tenant must be 1..128 of letters, digits, dot, dash, underscore');
  }
  if (!UNITS[h.kind].includes(h.unit)) return reject('unit_mismatch', `unit ${h.unit} is not a unit of ${h.kind}`);
  if ((h.kind === 'TEMPERATURE') !== (h.readingType === 'INSTANT')) {
    return reject('reading_type_mismatch', `${h.kind} readings cannot be ${h.readingType}`);
  }
  if (h.readingType === 'INTERVAL') {
    if (!(h.intervalSeconds > 0 && h.intervalSeconds <= 86_400 && 86_400 % h.intervalSeconds === 0)) {
      return reject('bad_interval', `intervalSeconds ${h.intervalSeconds} must divide a day (e.g. 900, 3600)`);
    }
  } else if (h.intervalSeconds !== 0) {
    return reject('bad_interval', `intervalSeconds must be 0 for ${h.readingType} readings`);
  }
  if (h.zoneId !== null) {
    if (h.zoneId.length > MAX_ID_LENGTH) return reject('bad_zone', 'zoneId too long');
    const badZone = idProblem('zoneId', h.zoneId);
    if (badZone !== null) return reject('bad_zone', badZone);
  }
  if (h.priceArea !== null && !/^[A-Z]{2}\d{0,2}$/.test(h.priceArea))
    return reject('bad_price_area', 'priceArea must look like NO1 or SE4');
  const modulus = h.registerModulus ?? null;
  if (modulus !== null) {
    // Refused rather than ignored: a capacity on an interval or a level says the producer
    // misdescribes what it sends, as intervalSeconds on a register does (bad_interval).
    if (h.readingType !== 'REGISTER')
      return reject('bad_register_modulus', `registerModulus is only for REGISTER readings, not ${h.readingType}`);
    if (!Number.isSafeInteger(modulus) || modulus <= 0)
      return reject('bad_register_modulus', `registerModulus ${modulus} must be a positive integer`);
  }
  return null;
}

/** A stated register capacity must lie above the value: a register wraps to 0 on reaching it. */
function checkModulus(modulus: number | null | undefined, value: number): Rejection | null {
  if (modulus === null || modulus === undefined || value < modulus) return null;
  return reject('bad_register_modulus', `value ${value} is not below registerModulus ${modulus}`);
}

function checkValue(
  kind: MeterKind,
  readingType: ReadingType,
  ts: number,
  value: number,
  now: number,
  limits: ValidationLimits,
): Rejection | null {
  if (!Number.isFinite(value)) return reject('non_finite_value', `value ${value} is not a finite number`);
  if (!Number.isSafeInteger(ts) || ts < MIN_TS) return reject('ts_too_old', `ts ${ts} is before 2000-01-01`);
  if (ts < now - limits.maxAgeMs)
    return reject(
      'beyond_retention',
      `ts ${new Date(ts).toISOString()} is older than the raw retention allows for corrections (${limits.maxAgeMs / DAY_MS} days; METERSTREAM_RAW_TTL_DAYS)`,
    );
  if (ts > now + limits.maxFutureMs)
    return reject('ts_in_future', `ts ${new Date(ts).toISOString()} is more than ${limits.maxFutureMs / 1000}s ahead`);
  if (kind === 'TEMPERATURE') {
    if (value < TEMPERATURE_RANGE[0] || value > TEMPERATURE_RANGE[1])
      return reject('value_out_of_range', `temperature ${value} outside ${TEMPERATURE_RANGE.join('..')} °C`);
  } else if (value < 0) {
    // Consumption and registers never go below zero; export has its own kind.
    return reject('negative_value', `${readingType} value ${value} is negative`);
  }
  return null;
}

/** Validates one single reading; `null` means valid. */
export function validateReading(r: MeterReading, now: number, limits: ValidationLimits): Rejection | null {
  return (
    checkHeader(r) ??
    checkValue(r.kind, r.readingType, r.ts, r.value, now, limits) ??
    checkModulus(r.registerModulus, r.value)
  );
}

/** Validates a batch; one bad reading refuses the whole message (it goes to the DLQ whole). */
export function validateBatch(b: MeterReadingBatch, now: number, limits: ValidationLimits): Rejection | null {
  const header = checkHeader(b);
  if (header) return header;
  if (b.readings.length === 0) return reject('empty_batch', 'batch has no readings');
  if (b.readings.length > limits.maxBatchReadings)
    return reject('oversize_batch', `batch has ${b.readings.length} readings, limit ${limits.maxBatchReadings}`);
  for (let i = 0; i < b.readings.length; i++) {
    const r = b.readings[i];
    const bad =
      checkValue(b.kind, b.readingType, r.ts, r.value, now, limits) ?? checkModulus(b.registerModulus, r.value);
    if (bad) return { reason: bad.reason, detail: `readings[${i}]: ${bad.detail}` };
  }
  return null;
}
