// What an alert's evidence is, per type: which hourly series to read, over which window, and
// how to draw it — the levels and windows the detectors judged it by (from the alert's details
// where it carries them, else from the tenant's detector settings). Pure: no DOM, no fetch.
import { HOUR, num } from './dom.js';
import { nightBands } from './local-time.js';

const DAY = 24 * HOUR;
const MEASURED = '#1f5fa8';
const LEVEL = '#b3261e';
const SECOND = '#2b7a3b';

/** The tenant's detector settings: its overrides over the fleet-wide ones. */
export function detectorsFor(settings, tenant) {
  return { ...settings.detectors, ...(settings.tenants?.[tenant] ?? {}) };
}

const constant = (xs, y) => xs.map(() => y);

function lifecycleMarkers(a, fired, resolved = 'resolved') {
  const out = [{ t: Date.parse(a.startsAt), label: fired }];
  if (a.endsAt !== null) out.push({ t: Date.parse(a.endsAt), label: resolved });
  return out;
}

/** The hours [from, to) as epoch ms, and each series' value per hour (null where no row). */
function hourly(rows, from, to, value) {
  const byHour = new Map(rows.map((r) => [Date.parse(r.hour), r]));
  const xs = [];
  for (let t = Math.ceil(from / HOUR) * HOUR; t < to; t += HOUR) xs.push(t);
  return { xs, at: (f) => xs.map((t) => (byHour.has(t) ? f(byHour.get(t)) : null)), value };
}

function nightFlow(a, d) {
  const start = Date.parse(a.startsAt);
  const end = a.endsAt === null ? start : Date.parse(a.endsAt);
  const nights = a.details.nights ?? d.nightFlowNights;
  const continuous = a.details.hoursWithoutZeroFlow !== undefined;
  const back = continuous ? (a.details.hoursWithoutZeroFlow + 12) * HOUR : (nights + 1) * DAY;
  const from = start - Math.min(back, 10 * DAY);
  const to = Math.min(end, start + 10 * DAY) + DAY;
  const threshold = a.details.thresholdLph ?? d.nightFlowWarningLph;
  return {
    kind: 'WATER',
    from,
    to,
    chart(rows) {
      const s = hourly(rows, from, to);
      const bands = nightBands(from, to, d.timeZone, d.nightStartHour, d.nightEndHour);
      return {
        title: 'Hourly water flow',
        unit: 'L/h',
        timeZone: d.timeZone,
        xs: s.xs,
        series: [
          { label: 'Flow (L/h)', values: s.at((r) => r.valueSum), stroke: MEASURED },
          {
            label: `Leak threshold ${num(threshold)} L/h`,
            values: constant(s.xs, threshold),
            stroke: LEVEL,
            dash: [6, 4],
            table: false,
          },
        ],
        bands,
        markers: lifecycleMarkers(a, 'fired'),
        description:
          `Hourly flow of the meter from ${s.xs.length} hours around the alert; the ${bands.length} night windows ` +
          `(${d.nightStartHour}:00–${d.nightEndHour}:00 ${d.timeZone}) are shaded; a night whose lowest hour stays above ` +
          `the ${num(threshold)} L/h line is leaky, and ${nights} leaky nights in a row fire the alert.`,
      };
    },
  };
}

function burst(a, d) {
  const start = Date.parse(a.startsAt);
  const end = a.endsAt === null ? start : Date.parse(a.endsAt);
  const from = start - 2 * DAY;
  const to = Math.min(end, start + 10 * DAY) + DAY;
  return {
    kind: 'WATER',
    from,
    to,
    chart(rows) {
      const s = hourly(rows, from, to);
      return {
        title: 'Hourly water flow',
        unit: 'L/h',
        timeZone: d.timeZone,
        xs: s.xs,
        series: [
          { label: 'Flow (L/h)', values: s.at((r) => r.valueSum), stroke: MEASURED },
          {
            label: `Burst level ${num(d.burstLph)} L/h`,
            values: constant(s.xs, d.burstLph),
            stroke: LEVEL,
            dash: [6, 4],
            table: false,
          },
        ],
        bands: [],
        markers: lifecycleMarkers(a, 'fired'),
        description: `Hourly flow around the alert; above the ${num(d.burstLph)} L/h line for ${d.burstMinutes} minutes is a burst.`,
      };
    },
  };
}

function frostRisk(a, d) {
  const start = Date.parse(a.startsAt);
  const end = a.endsAt === null ? start : Date.parse(a.endsAt);
  const from = start - 2 * DAY;
  const to = Math.min(end, start + 10 * DAY) + DAY;
  // The trend the detector fitted, at the change the details belong to (the resolve, once resolved).
  const anchor = a.status === 'RESOLVED' && a.endsAt !== null ? end : start;
  const { slopeCPerHour: slope, celsius } = a.details;
  return {
    kind: 'TEMPERATURE',
    from,
    to,
    chart(rows) {
      const s = hourly(rows, from, to);
      const series = [
        {
          label: 'Hourly mean (°C)',
          values: s.at((r) => (r.samples > 0 ? r.valueSum / r.samples : null)),
          stroke: MEASURED,
        },
        { label: 'Hourly low (°C)', values: s.at((r) => r.valueMin), stroke: SECOND, width: 1 },
        { label: 'Frost line 0 °C', values: constant(s.xs, 0), stroke: LEVEL, table: false },
        {
          label: `Warning level ${num(d.frostWarningC)} °C`,
          values: constant(s.xs, d.frostWarningC),
          stroke: LEVEL,
          dash: [6, 4],
          table: false,
        },
      ];
      let trendText = '';
      if (slope !== undefined && celsius !== undefined && slope < 0) {
        // The fitted line, from the fit's window to where it reaches 0 °C (or the horizon).
        const t0 = anchor - d.frostTrendHours * HOUR;
        const t1 = anchor + Math.min(-celsius / slope, d.frostHorizonHours * 2) * HOUR;
        const at = (t) => celsius + (slope * (t - anchor)) / HOUR;
        const ends = [Math.floor(t0 / HOUR) * HOUR, Math.ceil(t1 / HOUR) * HOUR].filter((t) => t >= from && t < to);
        series.push({
          label: `Trend ${num(slope, 2)} °C/h`,
          values: s.xs.map((t) => (ends.includes(t) ? at(t) : null)),
          stroke: '#8a4b00',
          dash: [2, 3],
          spanGaps: true,
          points: true,
          table: false,
        });
        trendText = ` The dotted line is the detector's linear fit (${num(slope, 2)} °C per hour).`;
      }
      return {
        title: 'Room temperature',
        unit: '°C',
        timeZone: d.timeZone,
        xs: s.xs,
        series,
        bands: [],
        markers: lifecycleMarkers(a, 'fired'),
        description:
          `Hourly mean and low temperature around the alert, with the frost line (0 °C) and the warning level ` +
          `(${num(d.frostWarningC)} °C); it resolves at ${num(d.frostResolveC)} °C and rising.${trendText}`,
      };
    },
  };
}

function meterSilent(a, d) {
  const start = Date.parse(a.startsAt);
  const limitH = a.details.limitHours ?? d.silenceHours;
  const cadenceH = a.details.cadenceHours || null;
  const last = start - limitH * HOUR;
  const end =
    a.endsAt === null ? start + Math.max(0, (a.details.silentHours ?? limitH) - limitH) * HOUR : Date.parse(a.endsAt);
  const from = last - 3 * DAY;
  const to = Math.min(end, start + 14 * DAY) + 12 * HOUR;
  return {
    kind: null,
    from,
    to,
    chart(rows) {
      const kinds = [...new Set(rows.map((r) => r.kind))];
      const kind = kinds.sort(
        (x, y) => rows.filter((r) => r.kind === y).length - rows.filter((r) => r.kind === x).length,
      )[0];
      const mine = rows.filter((r) => r.kind === kind);
      const s = hourly(mine, from, to);
      const markers = [{ t: last, label: 'last reading' }];
      if (cadenceH) markers.push({ t: last + cadenceH * HOUR, label: 'next expected' });
      markers.push({ t: start, label: `silent ${num(limitH)} h` });
      if (a.endsAt !== null) markers.push({ t: Date.parse(a.endsAt), label: 'reports again' });
      return {
        title: `Hourly ${kind ?? 'readings'}`,
        unit: mine[0]?.unit ?? '',
        timeZone: d.timeZone,
        xs: s.xs,
        series: [
          {
            label: `Hourly sum (${mine[0]?.unit ?? ''})`,
            values: s.at((r) => r.valueSum),
            stroke: MEASURED,
            points: true,
          },
        ],
        bands: [{ from: last, to: a.endsAt === null ? to : Date.parse(a.endsAt) }],
        markers,
        description:
          `The meter's hours before and after it fell silent; the shaded span has no data. ` +
          (cadenceH ? `It usually reports every ${num(cadenceH)} h; ` : '') +
          `silence beyond ${num(limitH)} h fires the alert.`,
      };
    },
  };
}

/**
 * The evidence of `alert`: `{ kind, from, to, chart(rows) }` for a chart of hourly rows, or
 * `{ bars }` for a comparison of quantities (invoices).
 */
export function evidenceOf(alert, settings) {
  const d = detectorsFor(settings, alert.tenant);
  switch (alert.type) {
    case 'NIGHT_FLOW':
      return nightFlow(alert, d);
    case 'BURST':
      return burst(alert, d);
    case 'FROST_RISK':
      return frostRisk(alert, d);
    case 'METER_SILENT':
      return meterSilent(alert, d);
    case 'INVOICE_MISMATCH': {
      const { billed = 0, metered = 0 } = alert.details;
      return {
        bars: [
          { label: 'Billed', value: billed },
          { label: 'Metered', value: metered },
        ],
        tolerance: `max(${num(d.invoiceToleranceAbs)} unit, ${num(d.invoiceTolerancePct)} %)`,
      };
    }
    default:
      return { bars: [] };
  }
}
