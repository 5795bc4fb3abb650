/**
 * The simulator as an endless stream: without `follow` it is exactly the planned span; with it,
 * later spans continue the same fleet as a head-end would — no reading twice, no gap, registers
 * that never fall, invoices that bill what was sent — across span boundaries and a DST change.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { deliveries, planFleet, type Delivery, type FleetOptions } from '@meterstream/simulator';
import { FleetStream } from './fleet-stream.js';

const H = 3_600_000;
const DAY = 24 * H;
// Europe/Oslo changes to summer time on 2026-03-29: the third span crosses it.
const END = Date.UTC(2026, 2, 20, 5);
const FLEET: FleetOptions = {
  seed: 11,
  meters: 60,
  days: 14,
  end: END,
  timeZone: 'Europe/Oslo',
  rates: { leak: 0.1, burst: 0.1, frost: 0.3, invoiceError: 0.3, silent: 0.1 },
};

test('without follow, the stream is the planned span, labels included', () => {
  const stream = new FleetStream(FLEET, false);
  const planned = [...deliveries(planFleet(FLEET))];
  const streamed = [...stream];
  assert.equal(streamed.length, planned.length);
  assert.deepEqual(streamed, planned);
  assert.deepEqual(stream.labels, planFleet(FLEET).labels);
});

/** The first deliveries of a following stream, up to data time `until`. */
function take(stream: FleetStream, until: number): Delivery[] {
  const out: Delivery[] = [];
  for (const d of stream) {
    if (d.at > until) break;
    out.push(d);
  }
  return out;
}

test('following: three spans read as one fleet that keeps running', () => {
  let labelCalls = 0;
  const stream = new FleetStream(FLEET, true, () => labelCalls++);
  const until = END + 2 * 14 * DAY - H; // within the third span
  const got = take(stream, until);
  const plan = stream.plan;
  assert.equal(labelCalls, 3, 'a label update per span planned');
  const silent = new Set(stream.labels.filter((l) => l.type === 'METER_SILENT').map((l) => l.meterId));
  const mismatched = new Set(stream.labels.filter((l) => l.type === 'INVOICE_MISMATCH').map((l) => l.invoiceId));

  // Sent in time order.
  for (let i = 1; i < got.length; i++) assert.ok(got[i].at >= got[i - 1].at, `delivery ${i} goes back in time`);

  // Per meter: readings strictly after each other, and what each role sends.
  const series = new Map<string, { ts: number; value: number }[]>();
  const invoices = new Map<string, { start: number; end: number; billed: number; id: string }[]>();
  for (const d of got) {
    if (d.topic === 'invoices') {
      const list = invoices.get(d.key) ?? [];
      list.push({
        start: d.value.periodStart,
        end: d.value.periodEnd,
        billed: d.value.billedQuantity,
        id: d.value.invoiceId,
      });
      invoices.set(d.key, list);
      continue;
    }
    const rs = d.schema === 'MeterReading' ? [d.value] : d.value.readings;
    const list = series.get(d.key) ?? [];
    for (const r of rs) list.push({ ts: r.ts, value: r.value });
    series.set(d.key, list);
  }
  const step = { household: H, flat: H, 'technical-room': 10 * 60_000, electricity: 15 * 60_000 } as const;
  let checkedBoundaries = 0;
  for (const m of plan.meters) {
    const s = series.get(m.meterId) ?? [];
    assert.ok(s.length > 0, `${m.role} ${m.meterId} sent nothing`);
    for (let i = 1; i < s.length; i++) {
      assert.ok(
        s[i].ts > s[i - 1].ts,
        `${m.role} ${m.meterId}: reading at ${new Date(s[i].ts).toISOString()} repeats or goes back`,
      );
      if (m.readingType === 'REGISTER')
        assert.ok(
          s[i].value >= s[i - 1].value,
          `${m.meterId}: the register falls at ${new Date(s[i].ts).toISOString()} (${s[i - 1].value} -> ${s[i].value})`,
        );
      if (!silent.has(m.meterId))
        assert.equal(
          s[i].ts - s[i - 1].ts,
          step[m.role],
          `${m.role} ${m.meterId}: a gap at ${new Date(s[i].ts).toISOString()}`,
        );
    }
    // Data reaches past both boundaries.
    if (!silent.has(m.meterId) && m.role !== 'electricity') {
      assert.ok(
        s[s.length - 1].ts >= until - step[m.role] - H,
        `${m.role} ${m.meterId} stops at ${new Date(s[s.length - 1].ts).toISOString()}`,
      );
      checkedBoundaries++;
    }
  }
  assert.ok(checkedBoundaries > 20);

  // Invoices bill exactly what was sent (except the labelled wrong ones), periods never overlap.
  let checked = 0;
  for (const [meterId, list] of invoices) {
    const s = series.get(meterId) ?? [];
    for (let i = 0; i < list.length; i++) {
      const inv = list[i];
      if (i > 0) assert.ok(inv.start >= list[i - 1].end, `${meterId}: invoice periods overlap`);
      if (mismatched.has(inv.id)) continue;
      const metered = s.filter((r) => r.ts >= inv.start && r.ts < inv.end).reduce((a, r) => a + r.value, 0);
      assert.ok(Math.abs(metered - inv.billed) < 0.011, `${inv.id}: billed ${inv.billed}, sent ${metered}`);
      checked++;
    }
  }
  assert.ok(checked > 10, `${checked} invoices checked`);
  // The second span's first billing period starts before its boundary, on days the first span sent.
  assert.ok(
    [...invoices.values()].some((list) => list.some((inv) => inv.start > END - 7 * DAY && inv.start < END)),
    'later spans bill too',
  );

  // Labels: the first span's as planned (open ones closed at the boundary), later ones within their span.
  const first = plan.labels;
  for (const l of first) {
    const now = stream.labels.find((x) => x.meterId === l.meterId && x.type === l.type && x.start === l.start);
    assert.ok(now, `label ${l.type} of the first span kept`);
    assert.equal(now.end, l.end ?? END);
  }
  assert.ok(stream.labels.length > first.length, 'later spans inject new anomalies');
  const invoiceIds = new Set([...invoices.values()].flatMap((list) => list.map((inv) => inv.id)));
  for (const l of stream.labels.slice(first.length)) {
    if (l.type === 'INVOICE_MISMATCH')
      assert.ok(
        invoiceIds.has(l.invoiceId!) || l.start > until - 9 * DAY,
        `the wrong invoice ${l.invoiceId} was not sent`,
      );
    else assert.ok(l.start >= END, `${l.type} label starts before its span`);
  }
});
