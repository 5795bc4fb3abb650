/**
 * Plans a fleet: the meters (role mix, IDs, zones, habits), the billing periods, the injected
 * anomalies and their ground-truth labels. Pure: the same options give the same plan.
 *
 * Every anomaly is placed where a detector can see it before the data ends: a leak runs over
 * at least three whole nights, a burst lies in whole daytime hours, a room starts to cool at
 * least 12 hours before the end, a meter falls silent at least 3 days before it.
 */
import { Calendar, DAY, HOUR, MINUTE } from './calendar.js';
import { meterId } from './ids.js';
import { resolveOptions } from './options.js';
import { roomCelsius } from './profiles.js';
import { draw, hash32, prng, type Draw } from './random.js';
import type {
  ElectricityProfile,
  FleetOptions,
  FleetPlan,
  Injection,
  InvoicePeriod,
  Label,
  MeterRole,
  ResolvedFleetOptions,
  RoomProfile,
  SimMeter,
  WaterProfile,
} from './types.js';

/** Share of each role in a fleet. */
export const ROLE_MIX: Readonly<Record<MeterRole, number>> = Object.freeze({
  household: 0.45,
  flat: 0.15,
  'technical-room': 0.15,
  electricity: 0.25,
});

/** Temperature sensors report every 10 minutes. */
export const ROOM_INTERVAL_MS = 10 * MINUTE;

/** Price areas by time zone, with rough shares of metering points, and the invoice currency. */
export const MARKETS: Record<string, { areas: string[]; shares: number[]; currency: string }> = {
  'Europe/Oslo': { areas: ['NO1', 'NO2', 'NO3', 'NO4', 'NO5'], shares: [0.45, 0.2, 0.15, 0.08, 0.12], currency: 'NOK' },
  'Europe/Stockholm': { areas: ['SE1', 'SE2', 'SE3', 'SE4'], shares: [0.05, 0.1, 0.6, 0.25], currency: 'SEK' },
};

/** Invoice currency of a price area (NOK for NO*, SEK for SE*), or null. */
export function currencyOf(priceArea: string | null): string | null {
  for (const market of Object.values(MARKETS))
    if (priceArea !== null && market.areas.includes(priceArea)) return market.currency;
  return null;
}

/** Weekly billing periods on local midnights, from the first whole local day, each sent 2 days after it ends, none after `end`. */
export function invoicePeriods(calendar: Calendar, start: number, end: number): InvoicePeriod[] {
  const days = calendar.fullDays(start, end);
  const periods: InvoicePeriod[] = [];
  if (days.length === 0) return periods;
  for (let first = days[0]; ; first += 7) {
    const periodEnd = calendar.at(first + 7);
    const deliverAt = calendar.at(first + 9);
    if (periodEnd > end || deliverAt > end) break;
    periods.push({ periodStart: calendar.at(first), periodEnd, deliverAt });
  }
  return periods;
}

/** Invoice ID of a meter (by plan index) and billing period. */
export function invoiceIdOf(calendar: Calendar, meterIndex: number, periodStart: number): string {
  return `INV-${calendar.date(calendar.day(periodStart)).replaceAll('-', '')}-${String(meterIndex + 1).padStart(6, '0')}`;
}

/** Role of each meter: counts by largest remainder, order shuffled. */
function roles(n: number, d: Draw): MeterRole[] {
  const entries = Object.entries(ROLE_MIX) as [MeterRole, number][];
  const counts = entries.map(([role, share]) => ({
    role,
    count: Math.floor(share * n),
    rest: share * n - Math.floor(share * n),
  }));
  let missing = n - counts.reduce((a, c) => a + c.count, 0);
  for (const c of [...counts].sort((a, b) => b.rest - a.rest)) if (missing-- > 0) c.count++;
  return d.shuffle(counts.flatMap((c) => Array<MeterRole>(c.count).fill(c.role)));
}

const round1 = (x: number) => Math.round(x * 10) / 10;
const round2 = (x: number) => Math.round(x * 100) / 100;

function waterProfile(role: 'household' | 'flat', d: Draw, calendar: Calendar, days: number[]): WaterProfile {
  const persons =
    role === 'household'
      ? d.weighted([1, 2, 3, 4, 5], [0.35, 0.33, 0.14, 0.13, 0.05])
      : d.weighted([1, 2, 3, 4], [0.45, 0.35, 0.12, 0.08]);
  let holiday: WaterProfile['holiday'] = null;
  if (days.length > 0 && d.chance(0.12)) {
    const first = d.pick(days);
    holiday = { from: calendar.at(first), to: calendar.at(first + d.int(2, 5)) };
  }
  return { role, persons, registerStartLitres: role === 'household' ? d.int(50_000, 2_500_000) : 0, holiday };
}

function roomProfile(d: Draw): RoomProfile {
  return {
    role: 'technical-room',
    meanC: round1(d.uniform(12.5, 16.5)),
    slowAmplitudeC: round2(d.uniform(0.5, 1.5)),
    slowPeriodHours: d.int(48, 120),
    slowPhase: round2(d.uniform(0, 2 * Math.PI)),
    dailyAmplitudeC: round2(d.uniform(0.2, 0.8)),
    dailyPhase: round2(d.uniform(0, 2 * Math.PI)),
  };
}

function electricityProfile(d: Draw): ElectricityProfile {
  return {
    role: 'electricity',
    baseKw: round2(d.uniform(0.4, 2)),
    morningKw: round2(d.uniform(0.5, 2)),
    eveningKw: round2(d.uniform(0.8, 3)),
    pricePerKwh: round2(d.uniform(0.9, 1.6)),
  };
}

function makeMeter(
  o: ResolvedFleetOptions,
  index: number,
  role: MeterRole,
  d: Draw,
  calendar: Calendar,
  days: number[],
  taken: Set<string>,
  zones: number,
  buildings: number,
): SimMeter {
  const id = meterId(role, d, taken);
  const seed = hash32(o.seed >>> 0, index);
  const base = { meterId: id, tenant: o.tenant, role, seed, injection: null };
  switch (role) {
    case 'household':
    case 'flat':
      return {
        ...base,
        kind: 'WATER',
        profile: waterProfile(role, d, calendar, days),
        priceArea: null,
        unit: role === 'household' ? 'M3' : 'L',
        readingType: role === 'household' ? 'REGISTER' : 'INTERVAL',
        intervalSeconds: role === 'household' ? 0 : 3600,
        zoneId: `zone-${String(d.int(1, zones)).padStart(2, '0')}`,
      };
    case 'technical-room':
      return {
        ...base,
        kind: 'TEMPERATURE',
        unit: 'CELSIUS',
        readingType: 'INSTANT',
        intervalSeconds: 0,
        profile: roomProfile(d),
        priceArea: null,
        zoneId: `building-${String(d.int(1, buildings)).padStart(3, '0')}`,
      };
    case 'electricity': {
      const market = MARKETS[o.timeZone];
      return {
        ...base,
        kind: 'ELECTRICITY_IMPORT',
        unit: 'KWH',
        readingType: 'INTERVAL',
        intervalSeconds: 900,
        profile: electricityProfile(d),
        zoneId: null,
        priceArea: market ? d.weighted(market.areas, market.shares) : null,
      };
    }
  }
}

/** The hours of [start, end) a predicate admits. */
function hoursWhere(start: number, end: number, ok: (t: number) => boolean): number[] {
  const out: number[] = [];
  for (let t = start; t < end; t += HOUR) if (ok(t)) out.push(t);
  return out;
}

/** A random `rate` share of `pool` (rounded), in random order. */
function choose(d: Draw, pool: number[], rate: number): number[] {
  return d.shuffle([...pool]).slice(0, Math.round(rate * pool.length));
}

/** Plans a fleet from options (see {@link FleetOptions}); throws RangeError on bad options. */
export function planFleet(options: FleetOptions): FleetPlan {
  const o = resolveOptions(options);
  const calendar = new Calendar(o.timeZone);
  const start = o.end - o.days * DAY;
  const end = o.end;
  const d = draw(prng(o.seed));
  const days = calendar.fullDays(start, end);

  const mix = roles(o.meters, d);
  const waterCount = mix.filter((r) => r === 'household' || r === 'flat').length;
  const roomCount = mix.filter((r) => r === 'technical-room').length;
  const zones = Math.max(1, Math.round(waterCount / 60));
  const buildings = Math.max(1, Math.ceil(roomCount * 0.8));
  const taken = new Set<string>();
  const meters = mix.map((role, i) => makeMeter(o, i, role, d, calendar, days, taken, zones, buildings));
  const periods = invoicePeriods(calendar, start, end);

  const indices = (pred: (m: SimMeter) => boolean) => meters.flatMap((m, i) => (pred(m) ? [i] : []));
  const free = (i: number) => meters[i].injection === null;
  const inject = (i: number, injection: Injection) => (meters[i].injection = injection);

  // NIGHT_FLOW: starts in the day, with three whole nights (02:00-05:00, closed at 06:00) before the end.
  const leakStarts = hoursWhere(
    start,
    end,
    (t) => calendar.hour(t) >= 8 && calendar.hour(t) < 22 && calendar.at(calendar.day(t) + 3, 6 * HOUR) <= end,
  );
  const water = indices((m) => m.kind === 'WATER');
  if (leakStarts.length > 0) {
    for (const i of choose(d, water, o.rates.leak))
      inject(i, { type: 'NIGHT_FLOW', from: d.pick(leakStarts), litresPerHour: round1(d.uniform(15, 80)) });
  }
  // BURST: 1-3 whole hours between 10:00 and 16:00 local.
  const burstStarts = [1, 2, 3].map((hours) =>
    hoursWhere(start, end, (t) => calendar.hour(t) >= 10 && calendar.hour(t) + hours <= 16 && t + hours * HOUR <= end),
  );
  for (const i of choose(d, water.filter(free), o.rates.burst)) {
    const hours = d.int(1, 3);
    if (burstStarts[hours - 1].length > 0)
      inject(i, {
        type: 'BURST',
        from: d.pick(burstStarts[hours - 1]),
        hours,
        litresPerHour: Math.round(d.uniform(600, 2000)),
      });
  }
  // FROST_RISK: cooling starts at least 6 h after the start (a normal history) and 12 h before the end.
  const frostStarts = hoursWhere(start + 6 * HOUR, end - 12 * HOUR + 1, () => true);
  if (frostStarts.length > 0) {
    for (const i of choose(
      d,
      indices((m) => m.role === 'technical-room'),
      o.rates.frost,
    )) {
      inject(i, {
        type: 'FROST_RISK',
        from: d.pick(frostStarts),
        coolMs: d.int(24, 48) * ROOM_INTERVAL_MS,
        coldC: round1(d.uniform(0.5, 4)),
        holdMs: d.int(4, 24) * HOUR,
        warmMs: d.int(2, 5) * HOUR,
      });
    }
  }
  // INVOICE_MISMATCH: one of the customer's invoices billed 10-40 % high.
  if (periods.length > 0) {
    for (const i of choose(
      d,
      indices((m) => m.role === 'electricity'),
      o.rates.invoiceError,
    )) {
      const { periodStart } = d.pick(periods);
      inject(i, {
        type: 'INVOICE_MISMATCH',
        invoiceId: invoiceIdOf(calendar, i, periodStart),
        periodStart,
        factor: Math.round(d.uniform(1.1, 1.4) * 1000) / 1000,
        reason: 'quantity',
      });
    }
  }
  // METER_SILENT: stops at least 3 days after the start (a history to miss) and 3 days before the end.
  const silentStarts = hoursWhere(start + 3 * DAY, end - 3 * DAY + 1, () => true);
  if (silentStarts.length > 0) {
    for (const i of choose(d, meters.map((_, i) => i).filter(free), o.rates.silent))
      inject(i, { type: 'METER_SILENT', from: d.pick(silentStarts) });
  }

  // INVOICE_MISMATCH (amount): drawn last, so the fleets of earlier versions keep their other anomalies.
  if (periods.length > 0) {
    for (const i of choose(
      d,
      indices((m) => m.role === 'electricity' && m.injection === null && currencyOf(m.priceArea) !== null),
      o.rates.amountError ?? 0,
    )) {
      const { periodStart } = d.pick(periods);
      inject(i, {
        type: 'INVOICE_MISMATCH',
        invoiceId: invoiceIdOf(calendar, i, periodStart),
        periodStart,
        factor: Math.round(d.uniform(1.1, 1.4) * 1000) / 1000,
        reason: 'amount',
      });
    }
  }

  const labels = meters.flatMap((m) => (m.injection ? [labelOf(m, m.injection, calendar, start, end, periods)] : []));
  return { options: o, start, meters, labels, invoicePeriods: periods };
}

/** Ground truth of one injection (see {@link Label} for each type's window). */
function labelOf(
  m: SimMeter,
  inj: Injection,
  calendar: Calendar,
  start: number,
  end: number,
  periods: InvoicePeriod[],
): Label {
  const base = { type: inj.type, meterId: m.meterId, tenant: m.tenant };
  const when = (ts: number) => calendar.format(ts);
  switch (inj.type) {
    case 'NIGHT_FLOW':
      return {
        ...base,
        start: inj.from,
        end: null,
        note: `running toilet or leak: +${inj.litresPerHour} L/h every hour from ${when(inj.from)} local`,
      };
    case 'BURST':
      return {
        ...base,
        start: inj.from,
        end: inj.from + inj.hours * HOUR,
        note: `burst: +${inj.litresPerHour} L/h for ${inj.hours} h from ${when(inj.from)} local`,
      };
    case 'FROST_RISK': {
      const profile = m.profile as RoomProfile;
      // Back at >= 8 °C: the first reading on the sensor's grid after the cold spell.
      let back: number | null = null;
      const warmFrom = inj.from + inj.coolMs + inj.holdMs;
      for (
        let ts = start + Math.ceil((warmFrom - start) / ROOM_INTERVAL_MS) * ROOM_INTERVAL_MS;
        ts < end;
        ts += ROOM_INTERVAL_MS
      ) {
        if (roomCelsius(profile, m.seed, inj, ts) >= 8) {
          back = ts;
          break;
        }
      }
      return {
        ...base,
        start: inj.from,
        end: back,
        note: `heating failure: cools to ${inj.coldC} °C over ${inj.coolMs / HOUR} h from ${when(inj.from)} local, cold for ${inj.holdMs / HOUR} h, back to normal over ${inj.warmMs / HOUR} h`,
      };
    }
    case 'INVOICE_MISMATCH': {
      const period = periods.find((p) => p.periodStart === inj.periodStart) as InvoicePeriod;
      return {
        ...base,
        start: period.periodStart,
        end: period.periodEnd,
        invoiceId: inj.invoiceId,
        note: `invoice ${inj.invoiceId} billed ${Math.round((inj.factor - 1) * 1000) / 10} % above the metered ${inj.reason === 'amount' ? 'hours at spot price and tariff (quantity right)' : 'quantity'}`,
      };
    }
    case 'METER_SILENT': {
      let last: number;
      if (m.role === 'electricity') {
        // The last daily batch delivered is the last whole local day before the meter stopped.
        let day = calendar.day(inj.from);
        while (calendar.at(day + 1) > inj.from) day--;
        last = calendar.at(day + 1) - m.intervalSeconds * 1000;
      } else {
        last = inj.from - (m.role === 'technical-room' ? ROOM_INTERVAL_MS : HOUR);
      }
      return { ...base, start: last, end: null, note: `stops reporting: last reading ${when(last)} local` };
    }
  }
}
