/**
 * The simulator's public data: options, the planned fleet with its injected anomalies and
 * ground-truth labels, and the deliveries a head-end would send. Plain JSON-able data.
 */
import type {
  AlertType,
  Invoice,
  MeterKind,
  MeterReading,
  MeterReadingBatch,
  ReadingType,
  SpotPrice,
  Unit,
} from '@meterstream/core';

/** Share of eligible meters that get each anomaly, each in [0, 1]. */
export interface AnomalyRates {
  /** NIGHT_FLOW: running toilet / leak, among households and flats. */
  leak: number;
  /** BURST: a burst pipe for 1-3 daytime hours, among households and flats without a leak. */
  burst: number;
  /** FROST_RISK: a technical room that cools towards 0 °C and recovers. */
  frost: number;
  /** INVOICE_MISMATCH: one invoice billed 10-40 % above the metered sum, among electricity customers with invoices. */
  invoiceError: number;
  /** INVOICE_MISMATCH (amount): one invoice whose quantity is right and whose amount is 10-40 % above its hours at spot price plus tariff, among the electricity customers without another anomaly; default 0. */
  amountError?: number;
  /** METER_SILENT: a meter that stops reporting, among meters without another anomaly. */
  silent: number;
}

/** How water and temperature readings are delivered: one `MeterReading` each, or one `MeterReadingBatch` per meter and local day. */
export type Granularity = 'reading' | 'day';

/** Options of `planFleet`. */
export interface FleetOptions {
  /** Seed of every random choice: the same options give the same fleet, byte for byte. */
  seed: number;
  /** Number of meters (integer >= 0). */
  meters: number;
  /** Length of the simulated span in days (integer >= 1); data covers [end - days, end). */
  days: number;
  /** UTC epoch ms, hour-aligned: the data ends here and no delivery is later. */
  end: number;
  /** Tenant of every meter; default `'default'`. */
  tenant?: string;
  /** IANA time zone of the fleet (diurnal profiles, nights, billing days); default the detectors' (`DETECTOR_DEFAULTS`). */
  timeZone?: string;
  /** Anomaly rates; missing ones take {@link DEFAULT_RATES}. */
  rates?: Partial<AnomalyRates>;
  /** Delivery of water and temperature readings; default `'reading'`. Electricity always comes as daily batches. */
  granularity?: Granularity;
  /** The retailer's tariff of every invoice's amount; default the detectors' (`DETECTOR_DEFAULTS`). */
  tariff?: Tariff;
}

/** A retailer's tariff: amount = Σ hourly kWh × (spot + markupPerKwh) + fixedFee. */
export interface Tariff {
  markupPerKwh: number;
  fixedFee: number;
}

/** {@link FleetOptions} with every default applied. */
export interface ResolvedFleetOptions {
  seed: number;
  meters: number;
  days: number;
  end: number;
  tenant: string;
  timeZone: string;
  rates: AnomalyRates;
  granularity: Granularity;
  tariff: Tariff;
}

/**
 * What a meter measures: a household's water register (M3, hourly), a flat's water interval
 * meter (L per hour), a technical room's temperature sensor (°C every 10 minutes) or an
 * electricity customer's metering point (kWh per quarter hour, daily batches at D+1).
 */
export type MeterRole = 'household' | 'flat' | 'technical-room' | 'electricity';

/** Consumption habits of a household or flat. */
export interface WaterProfile {
  role: 'household' | 'flat';
  /** People living there (scales the diurnal use). */
  persons: number;
  /** Register at the start of the span, in litres (0 for interval meters). */
  registerStartLitres: number;
  /** A few days away: no use at all, the meter keeps reporting. [from, to) on local midnights. */
  holiday: { from: number; to: number } | null;
}

/** A technical room's normal climate: a mean, a slow weather-driven wave and a daily wave. */
export interface RoomProfile {
  role: 'technical-room';
  meanC: number;
  slowAmplitudeC: number;
  slowPeriodHours: number;
  slowPhase: number;
  dailyAmplitudeC: number;
  dailyPhase: number;
}

/** An electricity customer's load shape and tariff. */
export interface ElectricityProfile {
  role: 'electricity';
  /** Load around the clock (kW). */
  baseKw: number;
  /** Extra load of the morning peak around 07:30 local (kW). */
  morningKw: number;
  /** Extra load of the evening peak around 19:00 local (kW). */
  eveningKw: number;
  /** Price per kWh of its invoices, in the invoice currency. */
  pricePerKwh: number;
}

/** Generator parameters of one meter's normal behaviour. */
export type MeterProfile = WaterProfile | RoomProfile | ElectricityProfile;

/** One injected anomaly with its parameters (times are UTC epoch ms). */
export type Injection =
  | { type: 'NIGHT_FLOW'; /** First hour of the leak; it runs until the end. */ from: number; litresPerHour: number }
  | { type: 'BURST'; /** First burst hour. */ from: number; hours: number; litresPerHour: number }
  | {
      type: 'FROST_RISK';
      /** Cooling starts. */ from: number;
      coolMs: number;
      coldC: number;
      holdMs: number;
      warmMs: number;
    }
  | {
      type: 'INVOICE_MISMATCH';
      invoiceId: string;
      periodStart: number;
      /** billed = metered x factor (quantity), or amount = hours at spot price and tariff x factor (amount). */ factor: number;
      /** What is wrong: the billed quantity, or (quantity right) the amount. */
      reason: 'quantity' | 'amount';
    }
  | { type: 'METER_SILENT'; /** First reading time that is never reported. */ from: number };

/** One simulated meter. */
export interface SimMeter {
  /** Raw meter ID: an 18-digit GSRN for electricity, a manufacturer code and serial otherwise. */
  meterId: string;
  tenant: string;
  role: MeterRole;
  kind: MeterKind;
  unit: Unit;
  readingType: ReadingType;
  /** 0 unless INTERVAL. */
  intervalSeconds: number;
  /** Water district (`zone-01`...) for water meters, building (`building-001`...) for rooms, null for electricity. */
  zoneId: string | null;
  /** Electricity price area (NO1..NO5, SE1..SE4), null for others. */
  priceArea: string | null;
  /** Seed of this meter's value stream. */
  seed: number;
  profile: MeterProfile;
  /** The anomaly injected into this meter, if any (at most one per meter). */
  injection: Injection | null;
}

/**
 * Ground truth of one injected anomaly. [start, end) is the window in which the anomaly is
 * present in the data; `end` null means it lasts until the end of the data.
 * - NIGHT_FLOW: leak start, null.
 * - BURST: first burst hour, end of the last.
 * - FROST_RISK: cooling starts, first reading back at >= 8 °C (null if not before the end).
 * - INVOICE_MISMATCH: the invoice's billing period; `invoiceId` names it.
 * - METER_SILENT: the last reading's time, null.
 */
export interface Label {
  type: AlertType;
  meterId: string;
  tenant: string;
  start: number;
  end: number | null;
  invoiceId?: string;
  /** Human-readable description, local times. */
  note: string;
}

/** A weekly billing period [periodStart, periodEnd) on local midnights, and when its invoices are sent. */
export interface InvoicePeriod {
  periodStart: number;
  periodEnd: number;
  deliverAt: number;
}

/** A planned fleet: everything `deliveries` needs, and the labels to score detectors against. */
export interface FleetPlan {
  options: ResolvedFleetOptions;
  /** Start of the data (UTC ms): `end - days`. */
  start: number;
  meters: SimMeter[];
  labels: Label[];
  /** Billing periods of the electricity customers (every customer is billed for each). */
  invoicePeriods: InvoicePeriod[];
}

/** Fields common to every delivery. */
interface DeliveryBase {
  /** Data time at which a head-end (or the billing system) sends it, UTC ms. */
  at: number;
  /** Raw meter ID, the Kafka key. */
  key: string;
}

/** One message for Kafka: `topic` is the logical topic (`meter.readings.v1` / `meter.invoices.v1`). */
export type Delivery =
  | (DeliveryBase & { topic: 'readings'; schema: 'MeterReading'; value: MeterReading })
  | (DeliveryBase & { topic: 'readings'; schema: 'MeterReadingBatch'; value: MeterReadingBatch })
  | (DeliveryBase & { topic: 'invoices'; schema: 'Invoice'; value: Invoice });

/** A spot price for `meter.prices.v1` (`priceDeliveries`), keyed by its price area. */
export type PriceDelivery = DeliveryBase & { topic: 'prices'; schema: 'SpotPrice'; value: SpotPrice };
