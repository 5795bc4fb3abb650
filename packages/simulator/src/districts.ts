/**
 * Water districts (district metered areas) for the district water balance: each district has
 * one or two inflow (bulk) meters and its customers' household meters; what goes in is what
 * the customers use (their meters under-register it slightly), plus the district's background
 * leakage, plus labelled network leaks (a burst service pipe or mains leak: a constant flow
 * from a start hour to its repair). Decoys that must not alert: districts with a lot of
 * (metered) night use, one or two nights of unmetered authorised use (hydrant flushing), and
 * nights when a head-end loses a share of the customer meters (the balance rises, but coverage
 * says the night cannot be judged).
 *
 * Pure and deterministic from the seed; hourly values per meter (litres, coverage), so tests
 * can build the balance without the pipeline. `districtReadings` turns them into hourly
 * interval readings for the broker.
 */
import { Calendar, DAY, HOUR } from './calendar.js';
import { meterId } from './ids.js';
import { draw, hashNoise, prng } from './random.js';

/** Options of {@link planDistricts}. */
export interface DistrictOptions {
  seed: number;
  tenant: string;
  timeZone: string;
  /** First hour (epoch ms, whole hour) and number of days simulated. */
  start: number;
  days: number;
  districts: number;
  /** Customers per district, inclusive bounds. */
  customers: readonly [number, number];
  /** Share of districts with a labelled network leak. */
  leakShare: number;
  /** Leak flows (L/h), inclusive bounds: above the detector's threshold with background added. */
  leakLph: readonly [number, number];
  /** Leak length in days, inclusive bounds (long enough for the nights a detector confirms on). */
  leakDays: readonly [number, number];
}

export const DEFAULT_DISTRICT_OPTIONS: Omit<DistrictOptions, 'start'> = {
  seed: 1,
  tenant: 'divako',
  timeZone: 'Europe/Oslo',
  days: 42,
  districts: 24,
  customers: [80, 240],
  leakShare: 0.4,
  leakLph: [1800, 5000],
  leakDays: [5, 12],
};

/** A labelled network leak: constant flow over [start, end). */
export interface DistrictLeak {
  start: number;
  end: number;
  lph: number;
}

/** One simulated district. */
export interface SimDistrict {
  zoneId: string;
  /** Raw meter IDs: the district's inflow meters, and its customers'. */
  inflowMeters: string[];
  customers: string[];
  /** Leakage the district always has (L/h): below any sensible alert level. */
  backgroundLph: number;
  /** Metered night use of a large customer (a care home, a bakery), L/h; 0 in most districts. */
  nightUseLph: number;
  /** Local days with unmetered authorised use at night (hydrant flushing, 1 or 2 nights). */
  flushingDays: number[];
  /** Local days whose night hours miss a share of the customer meters (a head-end outage). */
  outageDays: number[];
  leaks: DistrictLeak[];
}

/** The ground truth: a leak a district balance detector should report. */
export interface DistrictLabel {
  type: 'ZONE_LOSS';
  tenant: string;
  zoneId: string;
  start: number;
  end: number;
}

export interface DistrictPlan {
  options: DistrictOptions;
  districts: SimDistrict[];
  labels: DistrictLabel[];
}

/** One meter's hour: litres and the share of the hour its readings cover. */
export interface DistrictMeterHour {
  meterId: string;
  hour: number;
  litres: number;
  coverage: number;
}

/** Plans the districts, their leaks and decoys. */
export function planDistricts(options: DistrictOptions): DistrictPlan {
  const o = options;
  const d = draw(prng(o.seed ^ 0x2d15));
  const calendar = new Calendar(o.timeZone);
  const firstDay = calendar.day(o.start);
  const taken = new Set<string>();
  const districts: SimDistrict[] = [];
  const labels: DistrictLabel[] = [];
  for (let i = 0; i < o.districts; i++) {
    const zoneId = `dma-${String(i + 1).padStart(2, '0')}`;
    const inflowMeters = Array.from({ length: d.chance(0.3) ? 2 : 1 }, () => meterId('household', d, taken));
    const customers = Array.from({ length: d.int(o.customers[0], o.customers[1]) }, () =>
      meterId('household', d, taken),
    );
    const leaks: DistrictLeak[] = [];
    if (d.chance(o.leakShare)) {
      // Starts at a random hour after the first week (the detector has nights to learn nothing from).
      const startDay = firstDay + d.int(7, Math.max(7, o.days - o.leakDays[1] - 2));
      const start = calendar.at(startDay, d.int(0, 23) * HOUR);
      const end = start + d.int(o.leakDays[0], o.leakDays[1]) * DAY;
      const lph = Math.round(d.uniform(o.leakLph[0], o.leakLph[1]));
      leaks.push({ start, end, lph });
      labels.push({ type: 'ZONE_LOSS', tenant: o.tenant, zoneId, start, end });
    }
    const dayIn = () => firstDay + d.int(1, o.days - 2);
    const flushStart = d.chance(0.3) ? dayIn() : null;
    districts.push({
      zoneId,
      inflowMeters,
      customers,
      backgroundLph: Math.round(d.uniform(100, 500)),
      nightUseLph: d.chance(0.2) ? Math.round(d.uniform(1000, 4000)) : 0,
      flushingDays: flushStart === null ? [] : d.chance(0.5) ? [flushStart] : [flushStart, flushStart + 1],
      outageDays: d.chance(0.3) ? [dayIn()] : [],
      leaks,
    });
  }
  return { options: o, districts, labels };
}

/** Household use over the local day (L/h for an average home of ~2 people, ~300 L/day). */
const HOUSEHOLD_SHAPE = [2, 1.5, 1.5, 1.5, 2, 6, 18, 30, 24, 16, 12, 12, 14, 12, 10, 10, 12, 16, 22, 22, 18, 14, 8, 4];

/** Every meter-hour of a district, inflow meters first then customers, hour by hour. */
export function districtHours(plan: DistrictPlan, district: SimDistrict): DistrictMeterHour[] {
  const o = plan.options;
  const calendar = new Calendar(o.timeZone);
  const out: DistrictMeterHour[] = [];
  const seed = o.seed ^ (Number.parseInt(district.zoneId.slice(4), 10) * 0x9e37);
  for (let hour = o.start; hour < o.start + o.days * DAY; hour += HOUR) {
    const localHour = calendar.hour(hour);
    const localDay = calendar.day(hour);
    const night = localHour >= 1 && localHour < 5;
    let truth = 0;
    district.customers.forEach((id, c) => {
      const noise = hashNoise(seed + c, hour / HOUR);
      // Households differ (0.5x..1.5x); at night most hours are 0, some hold a flush.
      const scale = 1 + 0.5 * hashNoise(seed + c, 0);
      let used = night ? (noise > 0.6 ? 6 : 0) : Math.max(0, HOUSEHOLD_SHAPE[localHour] * scale * (1 + 0.4 * noise));
      if (c === 0) used += district.nightUseLph * (night ? 1 : 0.5);
      truth += used;
      const lost = district.outageDays.includes(localDay) && night && c % 4 === 0;
      const missing = lost || hashNoise(seed + c, hour / HOUR + 0.5) > 0.996;
      // Household meters under-register (about 2 %). A missing hour has no row, as in storage.
      if (!missing) out.push({ meterId: id, hour, litres: used * 0.98, coverage: 1 });
    });
    let inflow = truth + district.backgroundLph * (1 + 0.2 * hashNoise(seed, hour / HOUR));
    if (district.flushingDays.includes(localDay) && night) inflow += 3000;
    for (const leak of district.leaks) if (hour >= leak.start && hour < leak.end) inflow += leak.lph;
    const share = 1 / district.inflowMeters.length;
    for (const id of district.inflowMeters) out.push({ meterId: id, hour, litres: inflow * share, coverage: 1 });
  }
  return out;
}
