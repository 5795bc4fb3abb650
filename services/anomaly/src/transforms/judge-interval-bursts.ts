/**
 * BURST on the readings' own intervals: the WATER INTERVAL batches of one clean-topic batch are
 * grouped per meter; each meter's stored intervals from a day before its earliest new reading
 * to the end of its data are replayed through the pure detector and reconciled with its ledger
 * (`reconcile-bursts.ts`). Registers-only hours are judged on the hourly rows instead
 * (`hourly.consumer.ts`), so each hour has one judge and an episode is published once.
 */
import type { CleanReadingBatch } from '@meterstream/core';
import type { Emitted } from '../alerts.js';
import type { TenantDetectors } from '../params.js';
import { seriesKey } from '../series-key.js';
import type { WaterIntervalsSource } from '../sources/water-intervals.source.js';
import { reconcileBursts, replayBursts, type BurstLedger } from './reconcile-bursts.js';

/**
 * How far before a batch's earliest reading the replay starts: a burst that began earlier is
 * seen truncated (an open one is matched to its published episode, a closed one to the spans
 * of the published ones), so this only needs to cover a burst's usual length.
 */
export const BURST_LOOKBACK_MS = 24 * 3_600_000;

/** Where a meter's ledger is kept and how its zone is known. */
export interface LedgerAccess {
  get(key: string): { ledger: BurstLedger; zoneId: string | null };
  set(key: string, tenant: string, meter: string, ledger: BurstLedger, zoneId: string | null): void;
}

/** True for the batches this judges. */
export const isWaterIntervals = (b: CleanReadingBatch): boolean =>
  b.kind === 'WATER' && b.readingType === 'INTERVAL' && b.intervalSeconds > 0 && b.readings.length > 0;

export async function judgeIntervalBursts(
  batches: readonly CleanReadingBatch[],
  source: WaterIntervalsSource,
  detectors: (tenant: string) => TenantDetectors,
  ledgers: LedgerAccess,
  /** Meters never judged (district inflow meters): their published bursts are resolved. */
  unjudged: (tenant: string, meter: string) => boolean = () => false,
): Promise<Emitted[]> {
  const changed = new Map<string, { tenant: string; meter: string; zoneId: string | null; from: number; to: number }>();
  for (const b of batches) {
    const k = seriesKey(b);
    const c = changed.get(k) ?? { tenant: b.tenant, meter: b.meter, zoneId: null, from: Infinity, to: -Infinity };
    c.zoneId = b.zoneId ?? c.zoneId;
    for (const r of b.readings) {
      c.from = Math.min(c.from, r.ts);
      c.to = Math.max(c.to, r.ts + b.intervalSeconds * 1000);
    }
    changed.set(k, c);
  }
  if (changed.size === 0) return [];
  const from = new Map<string, number>();
  for (const c of changed.values())
    from.set(c.meter, Math.min(from.get(c.meter) ?? Infinity, c.from - BURST_LOOKBACK_MS));
  const stored = await source.spans(from);
  const emitted: Emitted[] = [];
  for (const [key, c] of changed) {
    const spans = stored.get(key) ?? [];
    if (spans.length === 0) continue; // erased meanwhile, or nothing stored: nothing to judge
    const st = ledgers.get(key);
    const zoneId = c.zoneId ?? st.zoneId;
    const episodes = unjudged(c.tenant, c.meter) ? [] : replayBursts(detectors(c.tenant).burst, spans);
    const end = spans.reduce((m, s) => Math.max(m, s.end), -Infinity);
    const r = reconcileBursts(st.ledger, episodes, c, end);
    if (r.transitions.length > 0 || zoneId !== st.zoneId) ledgers.set(key, c.tenant, c.meter, r.ledger, zoneId);
    for (const t of r.transitions) emitted.push({ subject: { tenant: c.tenant, meter: c.meter, zoneId }, t });
  }
  return emitted;
}
