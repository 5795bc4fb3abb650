import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AvroCodec, type Invoice } from '@meterstream/core';
import { Calendar } from './calendar.js';
import { gs1CheckDigit } from './ids.js';
import {
  deliveries,
  planFleet,
  priceDeliveries,
  ROLE_MIX,
  spotPrice,
  type Delivery,
  type FleetOptions,
  type FleetPlan,
  type MeterRole,
} from './index.js';

const H = 3_600_000;
const DAY = 86_400_000;
const END = Date.UTC(2026, 0, 20);
const small: FleetOptions = { seed: 7, meters: 200, days: 14, end: END, rates: { amountError: 0.05 } };

/** Deliveries of a plan, materialised once per plan. */
const cache = new WeakMap<FleetPlan, Delivery[]>();
function all(plan: FleetPlan): Delivery[] {
  let list = cache.get(plan);
  if (list === undefined) cache.set(plan, (list = [...deliveries(plan)]));
  return list;
}
const smallPlan = planFleet(small);

/** Every reading of a meter, in delivery order. */
const byMeter = new WeakMap<FleetPlan, Map<string, { ts: number; value: number }[]>>();
function readingsOf(plan: FleetPlan, meterId: string): { ts: number; value: number }[] {
  let index = byMeter.get(plan);
  if (index === undefined) {
    byMeter.set(plan, (index = new Map()));
    for (const d of all(plan)) {
      if (d.topic !== 'readings') continue;
      const list = index.get(d.key) ?? [];
      index.set(d.key, list);
      list.push(...('readings' in d.value ? d.value.readings : [d.value]));
    }
  }
  return index.get(meterId) ?? [];
}

test('determinism: the same options give the same plan and deliveries; another seed another fleet', () => {
  assert.deepEqual(planFleet(small), smallPlan);
  for (const granularity of ['reading', 'day'] as const) {
    const opts: FleetOptions = { seed: 3, meters: 40, days: 10, end: END, granularity };
    assert.deepEqual([...deliveries(planFleet(opts))], [...deliveries(planFleet(opts))]);
  }
  const other = planFleet({ ...small, seed: 8 });
  assert.notDeepEqual(
    other.meters.map((m) => m.meterId),
    smallPlan.meters.map((m) => m.meterId),
  );
});

test('deliveries are in time order, inside [start, end], and never sent before their data exists', () => {
  for (const plan of [smallPlan, planFleet({ ...small, meters: 60, granularity: 'day' })]) {
    let last = -Infinity;
    for (const d of all(plan)) {
      assert.ok(d.at >= last, `time order at ${new Date(d.at).toISOString()}`);
      last = d.at;
      assert.ok(d.at >= plan.start && d.at <= plan.options.end, 'inside the span');
      if (d.schema === 'Invoice') {
        assert.ok(d.at >= d.value.periodEnd, 'invoice after its period');
        continue;
      }
      const v = d.value;
      const step = v.intervalSeconds * 1000;
      for (const r of 'readings' in v ? v.readings : [v])
        assert.ok(r.ts + step <= d.at && r.ts >= plan.start, `${v.meterId}: reading at ${r.ts} sent at ${d.at}`);
    }
  }
});

test('role mix, zones, IDs and anomaly counts follow the options', () => {
  const plan = planFleet({ seed: 11, meters: 1000, days: 14, end: END, rates: { amountError: 0.05 } });
  const count = (role: MeterRole) => plan.meters.filter((m) => m.role === role).length;
  for (const [role, share] of Object.entries(ROLE_MIX) as [MeterRole, number][])
    assert.ok(Math.abs(count(role) - share * 1000) <= 1, `${role}: ${count(role)}`);
  assert.equal(new Set(plan.meters.map((m) => m.meterId)).size, 1000, 'unique meter IDs');
  for (const m of plan.meters) {
    if (m.role === 'electricity') {
      assert.match(m.meterId, /^707057500\d{9}$/);
      assert.equal(Number(m.meterId[17]), gs1CheckDigit(m.meterId.slice(0, 17)), 'GSRN check digit');
      assert.match(m.priceArea ?? '', /^NO[1-5]$/);
      assert.equal(m.zoneId, null);
    } else {
      assert.match(m.meterId, /^[A-Z]{3}\d{8}$/);
      assert.match(m.zoneId ?? '', m.kind === 'WATER' ? /^zone-\d{2}$/ : /^building-\d{3}$/);
    }
  }
  const labels = (type: string) => plan.labels.filter((l) => l.type === type).length;
  assert.equal(labels('NIGHT_FLOW'), Math.round(0.04 * 600));
  assert.equal(labels('FROST_RISK'), Math.round(0.05 * 150));
  const invoiceLabels = plan.labels.filter((l) => l.type === 'INVOICE_MISMATCH');
  const amountWrong = invoiceLabels.filter((l) => /quantity right/.test(l.note)).length;
  assert.equal(invoiceLabels.length - amountWrong, Math.round(0.05 * 250));
  // Amount errors go to 5 % of the electricity customers still free after the other anomalies.
  assert.ok(amountWrong >= 10 && amountWrong <= 12, `amount errors ${amountWrong}`);
  assert.ok(labels('BURST') >= 15 && labels('BURST') <= 18, `bursts ${labels('BURST')}`);
  assert.ok(labels('METER_SILENT') >= 25 && labels('METER_SILENT') <= 30, `silent ${labels('METER_SILENT')}`);
  assert.equal(new Set(plan.labels.map((l) => l.meterId)).size, plan.labels.length, 'at most one anomaly per meter');
  const none = planFleet({
    seed: 11,
    meters: 300,
    days: 14,
    end: END,
    rates: { leak: 0, burst: 0, frost: 0, invoiceError: 0, silent: 0, amountError: 0 },
  });
  assert.deepEqual(none.labels, []);
});

test('every delivered value encodes as Avro single-object and decodes back unchanged', () => {
  const codec = new AvroCodec();
  const plans = [
    planFleet({ ...small, meters: 40, days: 10 }),
    planFleet({ ...small, meters: 40, days: 10, granularity: 'day' }),
  ];
  const seen = new Set<string>();
  for (const plan of plans) {
    for (const d of all(plan)) {
      const decoded = codec.decode(codec.encodeSingleObject(d.schema, d.value));
      assert.equal(decoded.schema, d.schema);
      assert.deepEqual(JSON.parse(JSON.stringify(decoded.value)), d.value); // avsc decodes to record classes
      seen.add(d.schema);
    }
  }
  assert.deepEqual([...seen].sort(), ['Invoice', 'MeterReading', 'MeterReadingBatch']);
});

test('normal water use: a zero-flow hour every local day, no hour near the burst threshold; holidays keep reporting a flat register', () => {
  const cal = new Calendar('Europe/Oslo');
  let holidays = 0;
  for (const m of smallPlan.meters) {
    if (m.kind !== 'WATER' || m.injection !== null) continue;
    const rs = readingsOf(smallPlan, m.meterId);
    const hours =
      m.readingType === 'REGISTER'
        ? rs.slice(1).map((r, i) => ({ hour: rs[i].ts, litres: Math.round((r.value - rs[i].value) * 1e6) / 1e3 }))
        : rs.map((r) => ({ hour: r.ts, litres: r.value }));
    assert.equal(hours.length, 14 * 24);
    assert.ok(Math.max(...hours.map((h) => h.litres)) < 400, `${m.meterId}: hourly maximum`);
    for (const day of cal.fullDays(smallPlan.start, smallPlan.options.end)) {
      const min = Math.min(...hours.filter((h) => cal.day(h.hour) === day).map((h) => h.litres));
      assert.equal(min, 0, `${m.meterId}: a zero-flow hour on ${cal.date(day)}`);
    }
    const holiday = m.profile.role === 'household' || m.profile.role === 'flat' ? m.profile.holiday : null;
    if (holiday !== null) {
      const away = hours.filter((h) => h.hour >= holiday.from && h.hour < holiday.to);
      assert.ok(away.length >= 48 || holiday.to > smallPlan.options.end, 'readings keep coming while away');
      assert.ok(
        away.every((h) => h.litres === 0),
        `${m.meterId}: nothing used while away`,
      );
      holidays++;
    }
  }
  assert.ok(holidays > 0, 'some households go on holiday');
});

test('rooms stay between 10 and 20 °C; a frost episode goes cold and is back at 8 °C when its label ends', () => {
  const plan = planFleet({ ...small, rates: { frost: 0.3 }, granularity: 'day' });
  const frosts = plan.labels.filter((l) => l.type === 'FROST_RISK');
  assert.ok(frosts.length > 0);
  for (const m of plan.meters) {
    if (m.role !== 'technical-room') continue;
    const rs = readingsOf(plan, m.meterId);
    const label = frosts.find((l) => l.meterId === m.meterId);
    const normal = label
      ? rs.filter((r) => r.ts < label.start || (label.end !== null && r.ts >= label.end + 6 * H))
      : rs;
    for (const r of normal)
      assert.ok(r.value >= 10 && r.value <= 20, `${m.meterId}: ${r.value} °C at ${new Date(r.ts).toISOString()}`);
    if (label && m.injection?.type === 'FROST_RISK') {
      const coldest = Math.min(...rs.filter((r) => r.ts >= label.start).map((r) => r.value));
      assert.ok(coldest <= 4.2 && coldest >= 0.3, `${m.meterId}: coldest ${coldest}`);
      if (label.end !== null)
        assert.ok((rs.find((r) => r.ts === label.end)?.value ?? 0) >= 8, 'back at 8 °C at the label end');
    }
  }
});

test('silent meters stop at their label; electricity comes in daily batches at D+1; invoices bill the metered sum', () => {
  const cal = new Calendar('Europe/Oslo');
  for (const l of smallPlan.labels.filter((x) => x.type === 'METER_SILENT')) {
    const rs = readingsOf(smallPlan, l.meterId);
    assert.equal(rs.at(-1)?.ts, l.start, `${l.meterId}: the label starts at the last reading`);
    assert.ok(smallPlan.options.end - l.start >= 3 * DAY);
  }
  const invoices = all(smallPlan).filter((d): d is Delivery & { value: Invoice } => d.schema === 'Invoice');
  assert.ok(invoices.length > 0);
  for (const d of all(smallPlan)) {
    if (d.schema !== 'MeterReadingBatch' || d.value.kind !== 'ELECTRICITY_IMPORT') continue;
    const day = cal.day(d.value.readings[0].ts);
    assert.equal(d.value.readings.length, 96);
    assert.equal(d.value.readings[0].ts, cal.at(day));
    assert.ok(
      d.at >= cal.at(day + 1, 6 * H) && d.at < cal.at(day + 1, 7 * H),
      'sent between 06:00 and 07:00 the next day',
    );
  }
  for (const { value: inv, at } of invoices) {
    assert.equal(at, cal.at(cal.day(inv.periodEnd) + 2));
    assert.equal(inv.periodEnd - inv.periodStart, 7 * DAY);
    const metered = readingsOf(smallPlan, inv.meterId)
      .filter((r) => r.ts >= inv.periodStart && r.ts < inv.periodEnd)
      .reduce((a, r) => a + r.value, 0);
    const label = smallPlan.labels.find((l) => l.invoiceId === inv.invoiceId);
    // The amount: the period's quarter hours at their hour's spot price (no tariff by default).
    const hourly = readingsOf(smallPlan, inv.meterId)
      .filter((r) => r.ts >= inv.periodStart && r.ts < inv.periodEnd)
      .reduce((a, r) => a + r.value * spotPrice(small.seed, cal, inv.priceArea!, r.ts - (r.ts % H)), 0);
    const amountWrong = label !== undefined && /quantity right/.test(label.note);
    const quantityWrong = label !== undefined && !amountWrong;
    const factor = inv.amount! / hourly;
    if (amountWrong) assert.ok(factor >= 1.099 && factor <= 1.401, `${inv.invoiceId}: amount 10-40 % high`);
    else if (!quantityWrong) assert.ok(Math.abs(inv.amount! - hourly) <= 0.005 + 1e-9, `${inv.invoiceId}: amount`);
    assert.equal(inv.currency, 'NOK');
    if (quantityWrong) {
      assert.ok(
        inv.billedQuantity >= metered * 1.099 && inv.billedQuantity <= metered * 1.401,
        `${inv.invoiceId}: billed 10-40 % high`,
      );
    } else {
      assert.ok(
        Math.abs(inv.billedQuantity - metered) <= 0.005 + 1e-9,
        `${inv.invoiceId}: billed ${inv.billedQuantity}, metered ${metered}`,
      );
    }
  }
});

test('spot prices: every hour of every full day for each area of the market, published the day before, with a daily shape', () => {
  const cal = new Calendar('Europe/Oslo');
  const prices = [...priceDeliveries(smallPlan)];
  const days = cal.fullDays(smallPlan.start, END);
  assert.equal(prices.length, days.reduce((n, d) => n + (cal.at(d + 1) - cal.at(d)) / H, 0) * 5);
  assert.deepEqual([...new Set(prices.map((p) => p.key))].sort(), ['NO1', 'NO2', 'NO3', 'NO4', 'NO5']);
  for (const p of prices) {
    assert.equal(p.key, p.value.priceArea);
    assert.equal(p.value.hour % H, 0);
    assert.ok(p.at < p.value.hour, 'published before the hour');
    assert.ok(p.value.price > 0 && p.value.price < 5);
  }
  // Evening peak above the night trough, every day and area; the south dearer than the north.
  const at = (area: string, day: number, hour: number) =>
    prices.find((p) => p.value.priceArea === area && p.value.hour === cal.at(day, hour * H))!.value.price;
  for (const day of days)
    for (const area of ['NO1', 'NO4']) assert.ok(at(area, day, 18) > 1.5 * at(area, day, 3), `${area} day ${day}`);
  const mean = (area: string) => {
    const xs = prices.filter((p) => p.value.priceArea === area).map((p) => p.value.price);
    return xs.reduce((a, b) => a + b, 0) / xs.length;
  };
  assert.ok(mean('NO1') > 2 * mean('NO4'));
  // Deterministic from the seed.
  assert.deepEqual([...priceDeliveries(planFleet(small))].slice(0, 50), prices.slice(0, 50));
});

test('local days follow DST: 92 and 100 quarter hours on the days clocks change', () => {
  const spring = planFleet({ seed: 5, meters: 40, days: 4, end: Date.UTC(2026, 2, 31, 12), rates: { silent: 0 } });
  const autumn = planFleet({ seed: 5, meters: 40, days: 4, end: Date.UTC(2026, 9, 27, 12), rates: { silent: 0 } });
  const sizes = (plan: FleetPlan) =>
    new Set(all(plan).flatMap((d) => (d.schema === 'MeterReadingBatch' ? [d.value.readings.length] : [])));
  assert.deepEqual(
    [...sizes(spring)].sort((a, b) => a - b),
    [92, 96],
  );
  assert.deepEqual(
    [...sizes(autumn)].sort((a, b) => a - b),
    [96, 100],
  );
});

test('bad options are refused with the field named', () => {
  assert.throws(() => planFleet({ ...small, end: END + 1 }), /FleetOptions\.end/);
  assert.throws(() => planFleet({ ...small, days: 0 }), /FleetOptions\.days/);
  assert.throws(() => planFleet({ ...small, timeZone: 'Mars/Olympus' }), /FleetOptions\.timeZone/);
  assert.throws(() => planFleet({ ...small, rates: { leak: 2 } }), /FleetOptions\.rates\.leak/);
  assert.throws(() => planFleet({ ...small, colour: 'red' } as FleetOptions), /FleetOptions\.colour/);
});
