/** The records meterstream reads and writes, as TypeScript values (one interface per Avro record). */
/** Namespace of every meterstream record. */
export const AVRO_NAMESPACE = 'meterstream.v1';

/** The records meterstream reads and writes, by short name (the schema's `name`). */
export const RECORD_NAMES = [
  'MeterReading',
  'MeterReadingBatch',
  'Invoice',
  'Alert',
  'CleanReadingBatch',
  'HourlyBatch',
  'SpotPrice',
] as const;
export type RecordName = (typeof RECORD_NAMES)[number];

export type MeterKind = 'ELECTRICITY_IMPORT' | 'ELECTRICITY_EXPORT' | 'WATER' | 'HEAT' | 'GAS' | 'TEMPERATURE';
export type Unit = 'WH' | 'KWH' | 'MWH' | 'L' | 'M3' | 'CELSIUS';
export type ReadingType = 'INTERVAL' | 'REGISTER' | 'INSTANT';
export type Quality = 'MEASURED' | 'ESTIMATED' | 'CORRECTED';
export type HourSource = 'UNKNOWN' | 'INTERVALS' | 'REGISTERS' | 'MIXED' | 'INSTANTS';
export type AlertType = 'NIGHT_FLOW' | 'BURST' | 'FROST_RISK' | 'INVOICE_MISMATCH' | 'METER_SILENT';
export type AlertStatus = 'FIRING' | 'RESOLVED';
export type AlertSeverity = 'INFO' | 'WARNING' | 'CRITICAL';

/** `meterstream.v1.MeterReading`. Timestamps are epoch milliseconds (numbers, not `Date`). */
export interface MeterReading {
  meterId: string;
  tenant: string;
  kind: MeterKind;
  unit: Unit;
  readingType: ReadingType;
  ts: number;
  intervalSeconds: number;
  value: number;
  quality: Quality;
  zoneId: string | null;
  priceArea: string | null;
  /**
   * REGISTER readings: the value at which the register wraps to 0, in `unit` (e.g. 100000 for a
   * 5-digit m³ register), when the head-end states it (MeterReading v3 / MeterReadingBatch v2).
   * Null or absent: unknown (always null when written by an older version).
   */
  registerModulus?: number | null;
}

/** One value of a `MeterReadingBatch`. */
export interface BatchReading {
  ts: number;
  value: number;
  quality: Quality;
}

/** `meterstream.v1.MeterReadingBatch`: one meter's header once, then its readings. */
export interface MeterReadingBatch {
  meterId: string;
  tenant: string;
  kind: MeterKind;
  unit: Unit;
  readingType: ReadingType;
  intervalSeconds: number;
  zoneId: string | null;
  priceArea: string | null;
  /**
   * REGISTER readings: the value at which the register wraps to 0, in `unit` (e.g. 100000 for a
   * 5-digit m³ register), when the head-end states it (MeterReading v3 / MeterReadingBatch v2).
   * Null or absent: unknown (always null when written by an older version).
   */
  registerModulus?: number | null;
  readings: BatchReading[];
}

/** One value of a `CleanReadingBatch`, with the Kafka offset of the raw record it came from. */
export interface CleanReading {
  ts: number;
  value: number;
  quality: Quality;
  offset: number;
  /**
   * Its version in `readings_raw` (quality rank, then the raw record's Kafka timestamp; see
   * services/ingestor/src/transforms/reading-version.ts). 0 when the batch was written as v1.
   */
  version: number;
}

/** `meterstream.v1.CleanReadingBatch`: validated readings of one pseudonymised meter. */
export interface CleanReadingBatch {
  tenant: string;
  /** Pseudonym (lowercase hex), never the raw meter ID. */
  meter: string;
  kind: MeterKind;
  unit: Unit;
  readingType: ReadingType;
  intervalSeconds: number;
  zoneId: string | null;
  priceArea: string | null;
  /** REGISTER readings: the value the register wraps at (in `unit`), when stated; null or absent: unknown (always null when written as v1). */
  registerModulus?: number | null;
  readings: CleanReading[];
}

/** `meterstream.v1.Invoice`. `periodEnd` is exclusive. */
export interface Invoice {
  invoiceId: string;
  tenant: string;
  meterId: string;
  kind: MeterKind;
  periodStart: number;
  periodEnd: number;
  billedQuantity: number;
  unit: Unit;
  amount: number | null;
  currency: string | null;
  priceArea: string | null;
}

/** `meterstream.v1.Alert`. `meter` is a pseudonym. */
export interface Alert {
  alertId: string;
  dedupKey: string;
  type: AlertType;
  status: AlertStatus;
  severity: AlertSeverity;
  tenant: string;
  meter: string;
  zoneId: string | null;
  startsAt: number;
  endsAt: number | null;
  summary: string;
  details: Record<string, number>;
}

/** `meterstream.v1.SpotPrice`: the day-ahead price of one price area and hour (topic meter.prices.v1). */
export interface SpotPrice {
  /** Price area, e.g. NO1..NO5, SE1..SE4. */
  priceArea: string;
  /** Start of the hour (UTC), epoch ms. */
  hour: number;
  /** Price per kWh in `currency` (taxes and fees excluded; may be negative). */
  price: number;
  /** ISO 4217 code. */
  currency: string;
}

/** One hour of a `HourlyBatch`. */
export interface HourlyValue {
  /** Start of the hour (UTC), epoch ms. */
  hour: number;
  valueSum: number;
  valueMin: number;
  valueMax: number;
  samples: number;
  firstTs: number;
  lastTs: number;
  coverage: number;
  version: number;
  revision: boolean;
  /** Where the numbers came from (UNKNOWN: a row written as v1). */
  source: HourSource;
  /** A register span reaching into the hour disagrees with the intervals covering it. */
  registerMismatch: boolean;
}

/** `meterstream.v1.HourlyBatch`: new or revised hourly rows of one meter and kind (topic meter.hourly.v1). */
export interface HourlyBatch {
  tenant: string;
  /** Pseudonym. */
  meter: string;
  kind: MeterKind;
  unit: Unit;
  zoneId: string | null;
  rows: HourlyValue[];
}

/** The value type of each record. */
export interface RecordValues {
  HourlyBatch: HourlyBatch;
  MeterReading: MeterReading;
  MeterReadingBatch: MeterReadingBatch;
  Invoice: Invoice;
  Alert: Alert;
  CleanReadingBatch: CleanReadingBatch;
  SpotPrice: SpotPrice;
}
