/**
 * The messages a head-end and a billing system would send for a planned fleet, in the order
 * a live head-end streams them: by `at` (data time of sending), ties by meter. Households send
 * their register every hour, flats their hour's volume when it ends, rooms a temperature every
 * 10 minutes (or, with granularity 'day', one batch per meter and local day at local
 * midnight); electricity comes as one batch per local day at about 07:00 the next day (D+1);
 * invoices 2 days after their period ends. Lazy: memory is per meter, not per reading.
 */
import type { BatchReading, MeterReading } from '@meterstream/core';
import { Calendar, HOUR, MINUTE } from './calendar.js';
import { currencyOf, invoiceIdOf, ROOM_INTERVAL_MS } from './fleet.js';
import { spotPrice } from './prices.js';
import { electricityKwh, roomCelsius, WaterUse } from './profiles.js';
import { prng } from './random.js';
import type { Delivery, ElectricityProfile, FleetPlan, RoomProfile, SimMeter, WaterProfile } from './types.js';

/** One reading of a meter and when it is sent. */
interface Sample {
  ts: number;
  value: number;
  at: number;
}

/** The header fields of a meter's readings. */
function header(m: SimMeter) {
  return {
    meterId: m.meterId,
    tenant: m.tenant,
    kind: m.kind,
    unit: m.unit,
    readingType: m.readingType,
    intervalSeconds: m.intervalSeconds,
    zoneId: m.zoneId,
    priceArea: m.priceArea,
    // The simulated head-ends do not state their registers' capacity (MeterReading v3,
    // MeterReadingBatch v2): a fall is then a reset, never a guessed wrap.
    registerModulus: null,
  };
}

/** Sends samples one by one, or per local day as a batch at the day's end (never after `end`). */
function* send(plan: FleetPlan, m: SimMeter, calendar: Calendar, samples: Iterable<Sample>): Generator<Delivery> {
  const h = header(m);
  if (plan.options.granularity === 'reading') {
    for (const s of samples) {
      const value: MeterReading = {
        meterId: h.meterId,
        tenant: h.tenant,
        kind: h.kind,
        unit: h.unit,
        readingType: h.readingType,
        ts: s.ts,
        intervalSeconds: h.intervalSeconds,
        value: s.value,
        quality: 'MEASURED',
        zoneId: h.zoneId,
        priceArea: h.priceArea,
        registerModulus: h.registerModulus,
      };
      yield { at: s.at, topic: 'readings', key: m.meterId, schema: 'MeterReading', value };
    }
    return;
  }
  let day = Number.NaN;
  let readings: BatchReading[] = [];
  let lastAt = 0;
  const flush = (): Delivery => ({
    at: Math.max(lastAt, Math.min(calendar.at(day + 1), plan.options.end)),
    topic: 'readings',
    key: m.meterId,
    schema: 'MeterReadingBatch',
    value: { ...h, readings },
  });
  for (const s of samples) {
    const sDay = calendar.day(s.ts);
    if (sDay !== day && readings.length > 0) {
      yield flush();
      readings = [];
    }
    day = sDay;
    readings.push({ ts: s.ts, value: s.value, quality: 'MEASURED' });
    lastAt = s.at;
  }
  if (readings.length > 0) yield flush();
}

/** First reading time that is not reported (the end for a meter that never falls silent). */
function stopOf(m: SimMeter): number {
  return m.injection?.type === 'METER_SILENT' ? m.injection.from : Number.POSITIVE_INFINITY;
}

/** Households: the register (M3, 3 decimals) on every hour of [start, end]; flats: each hour's litres when it ends. */
function* waterSamples(plan: FleetPlan, m: SimMeter, calendar: Calendar): Generator<Sample> {
  const profile = m.profile as WaterProfile;
  const use = new WaterUse(profile, m.injection, calendar, prng(m.seed));
  const { end } = plan.options;
  const stop = stopOf(m);
  if (m.readingType === 'REGISTER') {
    let litres = profile.registerStartLitres;
    for (let t = plan.start; t <= end && t < stop; t += HOUR) {
      yield { ts: t, value: Math.round(litres) / 1000, at: t };
      litres += use.litres(t);
    }
  } else {
    for (let t = plan.start; t + HOUR <= end && t < stop; t += HOUR)
      yield { ts: t, value: Math.round(use.litres(t) * 10) / 10, at: t + HOUR };
  }
}

/** Rooms: a temperature every 10 minutes of [start, end). */
function* roomSamples(plan: FleetPlan, m: SimMeter): Generator<Sample> {
  const profile = m.profile as RoomProfile;
  const stop = stopOf(m);
  for (let t = plan.start; t < plan.options.end && t < stop; t += ROOM_INTERVAL_MS)
    yield { ts: t, value: roomCelsius(profile, m.seed, m.injection, t), at: t };
}

/**
 * Electricity: one batch of quarter hours per whole local day, sent between 06:00 and 07:00
 * local the next day; weekly invoices for the periods whose data the meter delivered.
 */
function* electricityDeliveries(plan: FleetPlan, m: SimMeter, calendar: Calendar, index: number): Generator<Delivery> {
  const profile = m.profile as ElectricityProfile;
  const { end } = plan.options;
  const next = prng(m.seed);
  const stop = stopOf(m);
  const step = m.intervalSeconds * 1000;
  const periods = plan.invoicePeriods;
  const sums = periods.map(() => 0);
  // What each period costs at the hourly spot price plus the tariff's markup (the fee comes on top).
  const costs = periods.map(() => 0);
  const { tariff } = plan.options;
  let invoiced = 0;
  let covered = plan.start;
  const h = header(m);
  function* invoicesDue(until: number): Generator<Delivery> {
    for (
      ;
      invoiced < periods.length && periods[invoiced].deliverAt <= until && periods[invoiced].periodEnd <= covered;
      invoiced++
    ) {
      const p = periods[invoiced];
      const invoiceId = invoiceIdOf(calendar, index, p.periodStart);
      const wrong =
        m.injection?.type === 'INVOICE_MISMATCH' && m.injection.invoiceId === invoiceId ? m.injection : null;
      const factor = wrong?.reason === 'quantity' ? wrong.factor : 1;
      const billedQuantity = Math.round(sums[invoiced] * factor * 100) / 100;
      const currency = currencyOf(m.priceArea);
      // A wrong quantity is billed at the right prices; a wrong amount bills the right quantity.
      const amount = (costs[invoiced] * factor + tariff.fixedFee) * (wrong?.reason === 'amount' ? wrong.factor : 1);
      yield {
        at: p.deliverAt,
        topic: 'invoices',
        key: m.meterId,
        schema: 'Invoice',
        value: {
          invoiceId,
          tenant: m.tenant,
          meterId: m.meterId,
          kind: m.kind,
          periodStart: p.periodStart,
          periodEnd: p.periodEnd,
          billedQuantity,
          unit: m.unit,
          amount: currency === null ? null : Math.round(amount * 100) / 100,
          currency,
          priceArea: m.priceArea,
        },
      };
    }
  }
  for (const day of calendar.fullDays(plan.start, end)) {
    const dayStart = calendar.at(day);
    const dayEnd = calendar.at(day + 1);
    if (dayEnd > stop) break;
    const at = calendar.at(day + 1, 6 * HOUR) + Math.floor(next() * 60) * MINUTE;
    if (at > end) break;
    const readings: BatchReading[] = [];
    for (let ts = dayStart; ts < dayEnd; ts += step) {
      const value = electricityKwh(profile, calendar, ts, next);
      readings.push({ ts, value, quality: 'MEASURED' });
      const p = periods.findIndex((q) => ts >= q.periodStart && ts < q.periodEnd);
      if (p >= 0) {
        sums[p] += value;
        if (m.priceArea !== null) {
          const hour = ts - (ts % HOUR);
          costs[p] += value * (spotPrice(plan.options.seed, calendar, m.priceArea, hour) + tariff.markupPerKwh);
        }
      }
    }
    yield* invoicesDue(at);
    covered = dayEnd;
    yield { at, topic: 'readings', key: m.meterId, schema: 'MeterReadingBatch', value: { ...h, readings } };
  }
  yield* invoicesDue(end);
}

/** All deliveries of one meter, in `at` order. */
function meterDeliveries(plan: FleetPlan, m: SimMeter, index: number, calendar: Calendar): Generator<Delivery> {
  switch (m.role) {
    case 'household':
    case 'flat':
      return send(plan, m, calendar, waterSamples(plan, m, calendar));
    case 'technical-room':
      return send(plan, m, calendar, roomSamples(plan, m));
    case 'electricity':
      return electricityDeliveries(plan, m, calendar, index);
  }
}

/** A pending head of one meter's stream. */
interface Head {
  at: number;
  index: number;
  delivery: Delivery;
  rest: Generator<Delivery>;
}

const before = (a: Head, b: Head) => a.at < b.at || (a.at === b.at && a.index < b.index);

/** A binary min-heap of stream heads by (at, meter index). */
class HeadHeap {
  private readonly items: Head[] = [];
  get size(): number {
    return this.items.length;
  }
  push(head: Head): void {
    const a = this.items;
    let i = a.length;
    a.push(head);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(head, a[parent])) break;
      a[i] = a[parent];
      i = parent;
    }
    a[i] = head;
  }
  pop(): Head {
    const a = this.items;
    const top = a[0];
    const last = a.pop() as Head;
    const n = a.length;
    if (n > 0) {
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        if (l >= n) break;
        const c = l + 1 < n && before(a[l + 1], a[l]) ? l + 1 : l;
        if (!before(a[c], last)) break;
        a[i] = a[c];
        i = c;
      }
      a[i] = last;
    }
    return top;
  }
}

/**
 * Every delivery of the fleet, ordered by `at` (ties by meter order in the plan). Pure and
 * deterministic: the same plan always yields the same sequence. No delivery is later than
 * `options.end`.
 */
export function* deliveries(plan: FleetPlan): Generator<Delivery> {
  const calendar = new Calendar(plan.options.timeZone);
  const heap = new HeadHeap();
  const advance = (index: number, rest: Generator<Delivery>) => {
    const r = rest.next();
    if (!r.done) heap.push({ at: r.value.at, index, delivery: r.value, rest });
  };
  plan.meters.forEach((m, i) => advance(i, meterDeliveries(plan, m, i, calendar)));
  while (heap.size > 0) {
    const head = heap.pop();
    yield head.delivery;
    advance(head.index, head.rest);
  }
}
