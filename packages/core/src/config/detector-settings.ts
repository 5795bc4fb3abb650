/**
 * The detector thresholds (DOMAIN.md's defaults), declared once: the variable that sets the
 * fleet-wide value, the `DetectorSettings` field it fills, its bounds and default. Per-tenant
 * overrides (`METERSTREAM_TENANT_DETECTORS`) are checked against the same parsers.
 */
import { hourWindow, int, jsonObject, num, timeZone } from './parse.js';
import { setting } from './setting.js';

/** Bounds of the night window's ends, as per-tenant keys `nightStartHour` and `nightEndHour`. */
export const NIGHT_START_HOUR = int(0, 23);
export const NIGHT_END_HOUR = int(1, 24);

export const DETECTOR_VARIABLES = {
  METERSTREAM_TIME_ZONE: setting({
    section: 'detectors',
    parser: timeZone(),
    default: 'Europe/Oslo',
    doc: "Tenants' local time zone (night window, local days).",
    detector: 'timeZone',
  }),
  METERSTREAM_NIGHT_WINDOW: setting({
    section: 'detectors',
    parser: hourWindow(NIGHT_START_HOUR, NIGHT_END_HOUR),
    default: [2, 5],
    doc: 'Local night window `[start, end)` for minimum night flow.',
    detector: ['nightStartHour', 'nightEndHour'],
  }),
  METERSTREAM_NIGHT_FLOW_WARNING_LPH: setting({
    section: 'detectors',
    parser: num(0, 1e6),
    default: 12.5,
    doc: 'Minimum night flow (L/h) that makes a night leaky (0.5 % of Q3 = 2.5 m3/h).',
    detector: 'nightFlowWarningLph',
  }),
  METERSTREAM_NIGHT_FLOW_CRITICAL_LPH: setting({
    section: 'detectors',
    parser: num(0, 1e6),
    default: 50,
    doc: 'Minimum night flow (L/h) that makes a leak CRITICAL.',
    detector: 'nightFlowCriticalLph',
  }),
  METERSTREAM_NIGHT_FLOW_NIGHTS: setting({
    section: 'detectors',
    parser: int(1, 30),
    default: 2,
    doc: 'Consecutive leaky nights before NIGHT_FLOW fires.',
    detector: 'nightFlowNights',
  }),
  METERSTREAM_CONTINUOUS_FLOW_HOURS: setting({
    section: 'detectors',
    parser: int(1, 24 * 14),
    default: 24,
    doc: 'Hours without a zero-flow hour that fire NIGHT_FLOW (continuous flow).',
    detector: 'continuousFlowHours',
  }),
  METERSTREAM_BURST_LPH: setting({
    section: 'detectors',
    parser: num(1, 1e7),
    default: 500,
    doc: 'Flow (L/h) of a burst (20 % of Q3).',
    detector: 'burstLph',
  }),
  METERSTREAM_BURST_MINUTES: setting({
    section: 'detectors',
    parser: int(1, 60),
    default: 30,
    doc: 'Minutes above the burst flow before BURST fires (CRITICAL).',
    detector: 'burstMinutes',
  }),
  METERSTREAM_FROST_WARNING_C: setting({
    section: 'detectors',
    parser: num(-50, 50),
    default: 5,
    doc: 'Room temperature (°C) at or below which FROST_RISK warns.',
    detector: 'frostWarningC',
  }),
  METERSTREAM_FROST_CRITICAL_C: setting({
    section: 'detectors',
    parser: num(-50, 50),
    default: 2,
    doc: 'Room temperature (°C) at or below which FROST_RISK is CRITICAL; not above the warning level.',
    detector: 'frostCriticalC',
  }),
  METERSTREAM_FROST_RESOLVE_C: setting({
    section: 'detectors',
    parser: num(-50, 50),
    default: 8,
    doc: 'Temperature (°C) at or above which FROST_RISK resolves; above the warning level (hysteresis).',
    detector: 'frostResolveC',
  }),
  METERSTREAM_FROST_TREND_HOURS: setting({
    section: 'detectors',
    parser: num(0.25, 48),
    default: 2,
    doc: 'Hours of readings in the frost trend fit.',
    detector: 'frostTrendHours',
  }),
  METERSTREAM_FROST_HORIZON_HOURS: setting({
    section: 'detectors',
    parser: num(0, 48),
    default: 4,
    doc: 'Early frost warning when the trend reaches 0 °C within this many hours.',
    detector: 'frostHorizonHours',
  }),
  METERSTREAM_SILENCE_HOURS: setting({
    section: 'detectors',
    parser: num(1, 24 * 365),
    default: 48,
    doc: 'Hours without a reading before METER_SILENT, at least.',
    detector: 'silenceHours',
  }),
  METERSTREAM_SILENCE_INTERVALS: setting({
    section: 'detectors',
    parser: num(1, 1000),
    default: 3,
    doc: "METER_SILENT also waits this many times the meter's usual gap between readings, if longer.",
    detector: 'silenceIntervals',
  }),
  METERSTREAM_INVOICE_TOLERANCE_ABS: setting({
    section: 'detectors',
    parser: num(0, 1e9),
    default: 1,
    doc: "Invoice tolerance in the invoice's unit (the larger of this and the percentage applies).",
    detector: 'invoiceToleranceAbs',
  }),
  METERSTREAM_INVOICE_TOLERANCE_PCT: setting({
    section: 'detectors',
    parser: num(0, 100),
    default: 2,
    doc: 'Invoice tolerance in % of the metered quantity.',
    detector: 'invoiceTolerancePct',
  }),
  METERSTREAM_INVOICE_WAIT_DAYS: setting({
    section: 'detectors',
    parser: num(0, 3650),
    default: 10,
    doc: 'Days after the period end before incomplete data makes a check INSUFFICIENT_DATA.',
    detector: 'invoiceWaitDays',
  }),
  METERSTREAM_INVOICE_AMOUNT_TOLERANCE: setting({
    section: 'detectors',
    parser: num(0, 1e9),
    default: 1,
    doc: "Amount tolerance of the price-weighted invoice check in the invoice's currency (the larger of this and `METERSTREAM_INVOICE_TOLERANCE_PCT` % of the expected amount applies).",
    detector: 'invoiceAmountToleranceAbs',
  }),
  METERSTREAM_TARIFF_MARKUP_PER_KWH: setting({
    section: 'detectors',
    parser: num(-1e3, 1e3),
    default: 0,
    doc: "The retailer's markup per kWh on the hourly spot price, in the invoice's currency: expected amount = Σ hourly kWh × (spot + markup) + fixed fee. Set it per tenant (a tenant is a retailer's tariff).",
    detector: 'tariffMarkupPerKwh',
  }),
  METERSTREAM_TARIFF_FIXED_FEE: setting({
    section: 'detectors',
    parser: num(0, 1e6),
    default: 0,
    doc: "The retailer's fixed fee per invoice (billing period), in the invoice's currency.",
    detector: 'tariffFixedFee',
  }),
  METERSTREAM_ZONE_LOSS_LPH: setting({
    section: 'detectors',
    parser: num(0, 1e7),
    default: 1000,
    doc: "A district's night balance (inflow − customers, mean L/h over the night window) above which a night is lossy, if also above `METERSTREAM_ZONE_LOSS_PERCENT` of the night inflow: about twice the unavoidable real losses of a 300-connection district at 40 m pressure (docs/alerts.md); set it per tenant from the district's own level.",
    detector: 'zoneLossLph',
  }),
  METERSTREAM_ZONE_LOSS_PERCENT: setting({
    section: 'detectors',
    parser: num(0, 100),
    default: 25,
    doc: "The night balance must also exceed this share (%) of the district's night inflow (legitimate night use and meter under-registration stay below it).",
    detector: 'zoneLossPct',
  }),
  METERSTREAM_ZONE_LOSS_NIGHTS: setting({
    section: 'detectors',
    parser: int(1, 30),
    default: 3,
    doc: 'Consecutive lossy nights before ZONE_LOSS fires.',
    detector: 'zoneLossNights',
  }),
  METERSTREAM_ZONE_LOSS_MIN_COVERAGE: setting({
    section: 'detectors',
    parser: num(0, 1),
    default: 0.95,
    doc: "A night is judged only when every night hour has at least this share of the district's customer meters fully covered (and every inflow meter).",
    detector: 'zoneLossMinCoverage',
  }),
  METERSTREAM_TENANT_DETECTORS: setting({
    section: 'detectors',
    parser: jsonObject(),
    default: null,
    shown: '(unset: no overrides)',
    doc: 'Per-tenant overrides of the thresholds above, by tenant key (see above).',
  }),
};

/** The ZONE_LOSS thresholds (district water balance at night), part of `DetectorSettings`. */
export interface ZoneLossSettings {
  /** Night balance (mean L/h over the night window) above which a night is lossy. */
  zoneLossLph: number;
  /** The night balance must also be above this % of the night inflow. */
  zoneLossPct: number;
  /** Consecutive lossy nights before ZONE_LOSS fires. */
  zoneLossNights: number;
  /** Least share of customer meters fully covered in every night hour for a night to be judged. */
  zoneLossMinCoverage: number;
}
