/**
 * The simulator's deliveries as one endless head-end stream. `planFleet` plans a fixed span;
 * to follow on past it, each further span of the same length is planned with the same seed
 * (so the same meters, with new anomalies) and stitched to the one before, so that the data
 * reads as one fleet that keeps running:
 *
 * - each span reaches back {@link OVERLAP_DAYS} days before its boundary, so the electricity
 *   day that straddles the boundary (sent the next morning, D+1) is delivered once, by the
 *   new span; readings at or before a meter's last sent reading are dropped, and water and
 *   temperature readings before the boundary too (the previous span sent them);
 * - registers continue: the new span's register is shifted to where the meter's last sent
 *   register stood, so a boundary is neither a meter change nor a jump in consumption;
 * - the new span's first billing period starts before the boundary, on days the previous span
 *   delivered with other values: its invoices are billed again from what was sent (with the
 *   injected overcharge where there is one), so an invoice is wrong only where a label says so;
 * - labels follow what is sent: an anomaly the previous span left open ends at the boundary
 *   (the new span draws its own), one in the overlap starts at the boundary at the earliest.
 *
 * Pure, lazy and deterministic: memory is per meter, the same options give the same stream.
 */
import {
  deliveries,
  planFleet,
  type Delivery,
  type ElectricityProfile,
  type FleetOptions,
  type FleetPlan,
  type Label,
  type SimMeter,
} from '@meterstream/simulator';
import type { BatchReading, Invoice } from '@meterstream/core';

const DAY = 86_400_000;
/** Daily sums kept per electricity meter, to bill a period again: a week and the days around it. */
const DAYS_KEPT = 16;

/** How far each follow-on span reaches back before its boundary (covers the D+1 electricity day and a DST day). */
export const OVERLAP_DAYS = 2;

export class FleetStream implements Iterable<Delivery> {
  /** The first span's plan (the history). */
  readonly plan: FleetPlan;
  readonly #follow: boolean;
  readonly #onLabels: ((labels: readonly Label[]) => void) | undefined;
  readonly #meters = new Map<string, SimMeter>();
  /** Time of each meter's last sent reading. */
  readonly #lastTs = new Map<string, number>();
  /** Each register meter's last sent value. */
  readonly #lastRegister = new Map<string, number>();
  /** Shift of each register meter's values in the current span. */
  #registerShift = new Map<string, number>();
  /** Sum of each electricity batch sent (one local day), newest last, per meter. */
  readonly #daySums = new Map<string, { from: number; sum: number }[]>();
  /** The current span's meters (their injections differ from span to span). */
  #spanMeters = new Map<string, SimMeter>();
  #labels: Label[] = [];
  #boundary = Number.NEGATIVE_INFINITY;

  /**
   * @param options the first span (the history), as for `planFleet`
   * @param follow plan further spans after it, without end
   * @param onLabels called with every label so far when a span is planned (before its first delivery)
   */
  constructor(options: FleetOptions, follow: boolean, onLabels?: (labels: readonly Label[]) => void) {
    this.plan = planFleet(options);
    this.#follow = follow;
    this.#onLabels = onLabels;
    for (const m of this.plan.meters) this.#meters.set(m.meterId, m);
  }

  /** The labels of the spans planned so far, adjusted to what is sent. */
  get labels(): readonly Label[] {
    return this.#labels;
  }

  *[Symbol.iterator](): Generator<Delivery> {
    const { options } = this.plan;
    for (let span = 0; ; span++) {
      const plan =
        span === 0
          ? this.plan
          : planFleet({ ...options, days: options.days + OVERLAP_DAYS, end: options.end + span * options.days * DAY });
      if (span > 0) {
        this.#boundary = options.end + (span - 1) * options.days * DAY;
        this.#registerShift = new Map();
        this.#spanMeters = new Map(plan.meters.map((m) => [m.meterId, m]));
        if (plan.meters.some((m, i) => m.meterId !== this.plan.meters[i].meterId))
          throw new Error('the simulator planned different meters for the same seed');
      }
      this.#addLabels(plan.labels);
      this.#onLabels?.(this.#labels);
      for (const d of deliveries(plan)) {
        const out = span === 0 ? this.#first(d) : this.#stitch(d);
        if (out !== null) yield out;
      }
      if (!this.#follow) return;
    }
  }

  #addLabels(labels: Label[]): void {
    const boundary = this.#boundary;
    if (boundary === Number.NEGATIVE_INFINITY) {
      this.#labels = [...labels];
      return;
    }
    this.#labels = this.#labels.map((l) => (l.end === null ? { ...l, end: boundary } : l));
    for (const l of labels) {
      // A billing period's label keeps its period (its invoice is billed again if need be).
      if (l.type === 'INVOICE_MISMATCH') this.#labels.push(l);
      else if (l.end === null || l.end > boundary)
        this.#labels.push(l.start < boundary ? { ...l, start: boundary } : l);
    }
  }

  /** The first span passes as planned; only the stitching state is kept. */
  #first(d: Delivery): Delivery {
    if (d.topic === 'readings') {
      const m = this.#meters.get(d.key)!;
      const rs = d.schema === 'MeterReading' ? [d.value] : d.value.readings;
      const last = rs[rs.length - 1];
      this.#lastTs.set(d.key, last.ts);
      if (m.readingType === 'REGISTER') this.#lastRegister.set(d.key, last.value);
      if (m.role === 'electricity') this.#sent(m, rs);
    }
    return d;
  }

  #stitch(d: Delivery): Delivery | null {
    const boundary = this.#boundary;
    const at = Math.max(d.at, boundary);
    if (d.topic === 'invoices') {
      if (d.value.periodStart >= boundary) return { ...d, at };
      const value = this.#rebill(d.value);
      return value === null ? null : { ...d, at, value };
    }
    const m = this.#meters.get(d.key)!;
    const kept = this.#keep(m, d.schema === 'MeterReading' ? [d.value] : d.value.readings);
    if (kept.length === 0) return null;
    if (m.role === 'electricity') this.#sent(m, kept);
    if (d.schema === 'MeterReading') return { ...d, at, value: { ...d.value, value: kept[0].value } };
    return { ...d, at, value: { ...d.value, readings: kept } };
  }

  /** Notes an electricity batch sent (one local day, or what is left of it). */
  #sent(m: SimMeter, readings: readonly BatchReading[]): void {
    let sum = 0;
    for (const r of readings) sum += r.value;
    const days = this.#daySums.get(m.meterId) ?? [];
    days.push({ from: readings[0].ts, sum });
    if (days.length > DAYS_KEPT) days.shift();
    this.#daySums.set(m.meterId, days);
  }

  /** An invoice billed again from the days actually sent in its period, or null if none were. */
  #rebill(inv: Invoice): Invoice | null {
    const days = (this.#daySums.get(inv.meterId) ?? []).filter(
      (d) => d.from >= inv.periodStart && d.from < inv.periodEnd,
    );
    if (days.length === 0) return null;
    const m = this.#spanMeters.get(inv.meterId)!;
    const factor =
      m.injection?.type === 'INVOICE_MISMATCH' && m.injection.invoiceId === inv.invoiceId ? m.injection.factor : 1;
    const billedQuantity = Math.round(days.reduce((a, d) => a + d.sum, 0) * factor * 100) / 100;
    const price = (m.profile as ElectricityProfile).pricePerKwh;
    // The amount keeps its fixed part: amount - billed x price.
    const amount =
      inv.amount === null ? null : Math.round((inv.amount + (billedQuantity - inv.billedQuantity) * price) * 100) / 100;
    return { ...inv, billedQuantity, amount };
  }

  /** The readings of a meter still to send, registers shifted; updates the meter's state. */
  #keep(m: SimMeter, readings: readonly BatchReading[]): BatchReading[] {
    const boundary = this.#boundary;
    const register = m.readingType === 'REGISTER';
    const out: BatchReading[] = [];
    let lastTs = this.#lastTs.get(m.meterId) ?? Number.NEGATIVE_INFINITY;
    for (const r of readings) {
      let value = r.value;
      if (register && r.ts >= boundary) {
        let shift = this.#registerShift.get(m.meterId);
        if (shift === undefined) {
          const last = this.#lastRegister.get(m.meterId);
          shift = last === undefined ? 0 : last - r.value;
          this.#registerShift.set(m.meterId, shift);
        }
        value = Math.round((r.value + shift) * 1000) / 1000;
      }
      // Electricity's straddling day starts before the boundary; everything else the previous span sent.
      if (r.ts <= lastTs || (r.ts < boundary && m.role !== 'electricity')) continue;
      out.push(value === r.value ? r : { ...r, value });
      lastTs = r.ts;
      if (register) this.#lastRegister.set(m.meterId, value);
    }
    this.#lastTs.set(m.meterId, lastTs);
    return out;
  }
}
