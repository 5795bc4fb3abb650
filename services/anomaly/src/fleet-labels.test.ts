/**
 * The pure detectors against a labelled synthetic fleet (@meterstream/simulator): 1000 meters
 * over 14 days, replayed in delivery order the way the service would see them. Every injected
 * anomaly must be found, and nothing may fire where none was injected. The hourly litres come
 * from this file's own reading of the raw readings (register differences, interval volumes),
 * not from the simulator's internals.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { AlertType, BatchReading, Invoice, MeterReading, MeterReadingBatch } from '@meterstream/core';
import { deliveries, planFleet, priceDeliveries, type Label } from '@meterstream/simulator';
import type { AlertTransition } from './detectors/detector.js';
import { burst, type BurstState } from './detectors/burst.js';
import { frostRisk, type FrostState } from './detectors/frost-risk.js';
import { checkInvoiceAmount } from './detectors/invoice-amount.js';
import { checkInvoice } from './detectors/invoice-check.js';
import { meterSilent, type SilenceState } from './detectors/meter-silent.js';
import { nightFlow, type NightFlowState } from './detectors/night-flow.js';

const H = 3_600_000;
const END = Date.UTC(2026, 0, 20);
const TYPES: AlertType[] = ['NIGHT_FLOW', 'BURST', 'FROST_RISK', 'INVOICE_MISMATCH', 'METER_SILENT'];

/** A FIRING transition, attributed to a raw meter (the test sees raw IDs; the service would see pseudonyms). */
interface Firing {
  meterId: string;
  type: AlertType;
  episodeStart: number;
  at: number;
  invoiceId?: string;
  /** INVOICE_MISMATCH: what the check found wrong. */
  reason?: 'quantity' | 'amount';
  summary: string;
}

/** Per-meter detector state and what the reference needs of the readings seen so far. */
interface MeterState {
  night?: NightFlowState;
  burst?: BurstState;
  frost?: FrostState;
  silence: SilenceState;
  /** Last register reading of a water REGISTER meter. */
  register?: { ts: number; value: number };
  /** Electricity quarter hours, for invoice checks. */
  energy?: BatchReading[];
}

/** Reference: hourly litres of a water meter from one new reading (register differences spread over the hours they span; interval volumes as they are). */
function waterHours(
  state: MeterState,
  header: { unit: string; readingType: string; intervalSeconds: number },
  r: { ts: number; value: number },
): { hour: number; litres: number }[] {
  const toLitres = header.unit === 'M3' ? 1000 : 1;
  if (header.readingType === 'INTERVAL') {
    assert.equal(header.intervalSeconds, 3600, 'hourly interval water meters');
    assert.equal(r.ts % H, 0, 'interval readings on the hour');
    return [{ hour: r.ts, litres: r.value * toLitres }];
  }
  assert.equal(header.readingType, 'REGISTER');
  const prev = state.register;
  state.register = { ts: r.ts, value: r.value };
  if (prev === undefined || r.value < prev.value) return []; // first reading, or a meter change: no consumption known
  const litres = (r.value - prev.value) * toLitres;
  const hours: { hour: number; litres: number }[] = [];
  for (let hour = prev.ts; hour < r.ts; hour += H)
    hours.push({ hour, litres: Math.round(((litres * H) / (r.ts - prev.ts)) * 1e6) / 1e6 });
  return hours;
}

test('detectors find every labelled anomaly of a 1000-meter, 14-day synthetic fleet, and nothing else', (t) => {
  const plan = planFleet({ seed: 20260120, meters: 1000, days: 14, end: END, rates: { amountError: 0.05 } });
  const night = nightFlow();
  const bursts = burst();
  const frost = frostRisk();
  const silence = meterSilent();
  const states = new Map<string, MeterState>();
  const firings: Firing[] = [];
  const invoiceOutcomes: Record<string, number> = {};
  // Spot prices by area and hour, as meter.prices.v1 carries them (each day published the day before).
  const prices = new Map<string, Map<number, number>>();
  const published: { at: number; area: string; hour: number; price: number }[] = [];
  for (const p of priceDeliveries(plan))
    published.push({ at: p.at, area: p.value.priceArea, hour: p.value.hour, price: p.value.price });
  let nextPrice = 0;

  const record = (meterId: string, transitions: AlertTransition[]) => {
    for (const tr of transitions)
      if (tr.status === 'FIRING')
        firings.push({ meterId, type: tr.type, episodeStart: tr.episodeStart, at: tr.at, summary: tr.summary });
  };
  const stateOf = (meterId: string): MeterState => {
    let s = states.get(meterId);
    if (s === undefined) states.set(meterId, (s = { silence: silence.initial() }));
    return s;
  };
  const deliveredAt = new Map<string, number[]>();
  let nextTick = plan.start + H;
  const tickUntil = (limit: number) => {
    for (; nextTick <= limit; nextTick += H) {
      for (const [meterId, s] of states) {
        const r = silence.step(s.silence, { now: nextTick });
        s.silence = r.state;
        record(meterId, r.transitions);
      }
    }
  };

  const readingsOf = (d: MeterReading | MeterReadingBatch): { ts: number; value: number }[] =>
    'readings' in d ? d.readings : [d];
  let count = 0;
  for (const d of deliveries(plan)) {
    count++;
    tickUntil(d.at - 1); // the clock reaches `at`; data sent at `at` is in before the tick at `at`
    for (; nextPrice < published.length && published[nextPrice].at <= d.at; nextPrice++) {
      const p = published[nextPrice];
      (prices.get(p.area) ?? prices.set(p.area, new Map()).get(p.area)!).set(p.hour, p.price);
    }
    if (d.schema === 'Invoice') {
      const inv: Invoice = d.value;
      const energy = stateOf(inv.meterId).energy ?? [];
      const inPeriod = energy.filter((r) => r.ts >= inv.periodStart && r.ts < inv.periodEnd);
      const result = checkInvoice({
        periodStart: inv.periodStart,
        periodEnd: inv.periodEnd,
        billedQuantity: inv.billedQuantity,
        unit: inv.unit,
        meteredSum: inPeriod.reduce((a, r) => a + r.value, 0),
        meteredUnit: 'KWH',
        coveredHours: inPeriod.length / 4,
        now: END,
      });
      if (result.outcome === 'MATCH' && inv.amount !== null && inv.priceArea !== null) {
        // The price-weighted check: the period's hours (sums of quarter hours) at the area's spot prices.
        const hours = new Map<number, number>();
        for (const r of inPeriod) hours.set(r.ts - (r.ts % H), (hours.get(r.ts - (r.ts % H)) ?? 0) + r.value);
        const amount = checkInvoiceAmount({
          periodStart: inv.periodStart,
          periodEnd: inv.periodEnd,
          amount: inv.amount,
          hours: [...hours].map(([hour, kwh]) => ({ hour, kwh })),
          prices: prices.get(inv.priceArea) ?? new Map(),
          now: END,
        });
        invoiceOutcomes[`amount ${amount.outcome}`] = (invoiceOutcomes[`amount ${amount.outcome}`] ?? 0) + 1;
        if (amount.outcome === 'MISMATCH')
          firings.push({
            meterId: inv.meterId,
            type: 'INVOICE_MISMATCH',
            episodeStart: inv.periodStart,
            at: d.at,
            invoiceId: inv.invoiceId,
            reason: 'amount',
            summary: `billed ${inv.amount}, expected ${amount.expected}`,
          });
      }
      invoiceOutcomes[result.outcome] = (invoiceOutcomes[result.outcome] ?? 0) + 1;
      if (result.outcome === 'MISMATCH') {
        firings.push({
          meterId: inv.meterId,
          type: 'INVOICE_MISMATCH',
          episodeStart: inv.periodStart,
          at: d.at,
          invoiceId: inv.invoiceId,
          reason: 'quantity',
          summary: `billed ${inv.billedQuantity}, metered ${result.metered}`,
        });
      }
      continue;
    }
    const header = d.value;
    const s = stateOf(header.meterId);
    // Silence is judged by delivery: the delivery's time, not its readings' (DOMAIN.md).
    const seen = silence.step(s.silence, { arrival: d.at });
    s.silence = seen.state;
    record(header.meterId, seen.transitions);
    (deliveredAt.get(header.meterId) ?? deliveredAt.set(header.meterId, []).get(header.meterId)!).push(d.at);
    for (const r of readingsOf(d.value)) {
      if (header.kind === 'WATER') {
        for (const hour of waterHours(s, header, r)) {
          const nf = night.step(s.night ?? night.initial(), hour);
          s.night = nf.state;
          record(header.meterId, nf.transitions);
          const b = bursts.step(s.burst ?? bursts.initial(), { ...hour, coverage: 1 });
          s.burst = b.state;
          record(header.meterId, b.transitions);
        }
      } else if (header.kind === 'TEMPERATURE') {
        const f = frost.step(s.frost ?? frost.initial(), { ts: r.ts, celsius: r.value });
        s.frost = f.state;
        record(header.meterId, f.transitions);
      } else if (header.kind === 'ELECTRICITY_IMPORT') {
        (s.energy ??= []).push({ ts: r.ts, value: r.value, quality: 'MEASURED' });
      }
    }
  }
  tickUntil(END); // the final tick: now = end

  // A firing explains a label when it is on the same meter and type and its episode starts
  // inside the label's window (detection delay allowed: night flow fires after the 2nd night,
  // silence after 48 h); invoices match by ID.
  const explains = (l: Label, f: Firing) =>
    l.meterId === f.meterId &&
    l.type === f.type &&
    (l.type === 'INVOICE_MISMATCH'
      ? f.invoiceId === l.invoiceId
      : f.episodeStart >= l.start && (l.end === null || f.episodeStart <= l.end));
  // A silence is due once nothing arrived for max(48 h, 3 x the meter's delivery interval): a
  // daily-batch meter that stopped 2.5 days before the end is not silent yet.
  const due = (l: Label) => {
    if (l.type !== 'METER_SILENT') return true;
    const at = deliveredAt.get(l.meterId) ?? [];
    const gaps = at
      .slice(1)
      .map((t, i) => t - at[i])
      .filter((g) => g > 0)
      .slice(-7)
      .sort((a, b) => a - b);
    const cadence =
      gaps.length === 0
        ? 0
        : gaps.length % 2
          ? gaps[gaps.length >> 1]
          : (gaps[(gaps.length >> 1) - 1] + gaps[gaps.length >> 1]) / 2;
    return at[at.length - 1] + Math.max(48 * H, 3 * cadence) < END;
  };
  const byMeter = new Map<string, Label[]>();
  for (const l of plan.labels) byMeter.set(l.meterId, [...(byMeter.get(l.meterId) ?? []), l]);

  const rows = TYPES.map((type) => {
    const labels = plan.labels.filter((l) => l.type === type);
    const missed = labels.filter((l) => !firings.some((f) => explains(l, f)) && due(l));
    const falsePositives = firings.filter(
      (f) => f.type === type && !(byMeter.get(f.meterId) ?? []).some((l) => explains(l, f)),
    );
    return {
      type,
      labels: labels.length,
      truePositives: labels.length - missed.length,
      falsePositives: falsePositives.length,
      missed,
      fp: falsePositives,
    };
  });
  t.diagnostic(
    `seed ${plan.options.seed}: ${plan.meters.length} meters, ${count} deliveries, invoice outcomes ${JSON.stringify(invoiceOutcomes)}`,
  );
  for (const r of rows)
    t.diagnostic(
      `${r.type}: labels ${r.labels}, true positives ${r.truePositives}, false positives ${r.falsePositives}`,
    );

  const iso = (ts: number | null) => (ts === null ? 'null' : new Date(ts).toISOString());
  for (const r of rows) {
    assert.ok(r.labels > 0, `${r.type}: the fleet has labels of every type`);
    assert.deepEqual(
      r.missed.map((l) => `${l.meterId} [${iso(l.start)}, ${iso(l.end)}) ${l.note}`),
      [],
      `${r.type}: every label is detected`,
    );
    assert.deepEqual(
      r.fp.map((f) => `${f.meterId} episode ${iso(f.episodeStart)} at ${iso(f.at)}: ${f.summary}`),
      [],
      `${r.type}: no firing without a label`,
    );
  }
  const silent = plan.labels.filter((l) => l.type === 'METER_SILENT');
  t.diagnostic(`METER_SILENT: ${silent.filter(due).length} of ${silent.length} labels due by the end`);
  assert.ok(silent.some(due), 'some silences are due by the end');
  assert.deepEqual(
    Object.keys(invoiceOutcomes).sort(),
    ['MATCH', 'MISMATCH', 'amount MATCH', 'amount MISMATCH'],
    'every invoice is judged (full coverage, every hour priced)',
  );
  // The price-weighted check: precision and recall on the invoices labelled with a wrong amount.
  const amountLabels = plan.labels.filter((l) => l.type === 'INVOICE_MISMATCH' && /quantity right/.test(l.note));
  const amountFirings = firings.filter((f) => f.reason === 'amount');
  const caught = amountLabels.filter((l) => amountFirings.some((f) => explains(l, f)));
  const right = amountFirings.filter((f) => amountLabels.some((l) => explains(l, f)));
  t.diagnostic(
    `INVOICE_MISMATCH by amount: labels ${amountLabels.length}, firings ${amountFirings.length}, recall ${caught.length / amountLabels.length}, precision ${right.length / Math.max(1, amountFirings.length)}`,
  );
  assert.ok(amountLabels.length > 0, 'the fleet has wrong amounts');
  assert.equal(caught.length, amountLabels.length, 'recall 1.0: every wrong amount is found by the amount check');
  assert.ok(right.length >= 0.99 * amountFirings.length, 'precision >= 0.99');
  assert.ok(
    firings.filter((f) => f.reason === 'quantity').every((f) => !amountLabels.some((l) => l.invoiceId === f.invoiceId)),
    'a wrong amount with the right quantity is not taken for a wrong quantity',
  );
});
