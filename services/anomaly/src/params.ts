/** The detectors of each tenant, built once from the defaults and the tenant's overrides. */
import type { AnomalyConfig, DetectorSettings } from '@meterstream/core';
import { burst, burstParams, type BurstInput, type BurstState } from './detectors/burst.js';
import type { Detector } from './detectors/detector.js';
import { frostParams, frostRisk, type FrostState } from './detectors/frost-risk.js';
import { amountCheckParams, type AmountCheckParams } from './detectors/invoice-amount.js';
import { invoiceCheckParams, type InvoiceCheckParams } from './detectors/invoice-check.js';
import { meterSilent, silenceParams } from './detectors/meter-silent.js';
import { nightFlow, nightFlowParams, type NightFlowInput, type NightFlowState } from './detectors/night-flow.js';

const H = 3_600_000;

/** A tenant's detectors and the settings they came from. */
export interface TenantDetectors {
  settings: DetectorSettings;
  nightFlow: Detector<NightFlowInput, NightFlowState>;
  burst: Detector<BurstInput, BurstState>;
  frost: Detector<{ ts: number; celsius: number }, FrostState>;
  silence: ReturnType<typeof meterSilent>;
  invoice: InvoiceCheckParams;
  /** The price-weighted check of an invoice's amount (tariff and tolerance). */
  amount: AmountCheckParams;
  /** How far before a changed hour the hourly detectors must replay to judge it. */
  lookbackMs: number;
}

export function detectorsOf(s: DetectorSettings): TenantDetectors {
  return {
    settings: s,
    nightFlow: nightFlow(nightFlowParams(s)),
    burst: burst(burstParams(s)),
    frost: frostRisk(frostParams(s)),
    silence: meterSilent(silenceParams(s)),
    invoice: invoiceCheckParams(s),
    amount: amountCheckParams(s),
    // N nights plus the day before the first, or the continuous-flow span, whichever is longer.
    lookbackMs: Math.max((s.nightFlowNights + 1) * 24 * H, (s.continuousFlowHours + 1) * H),
  };
}

/** Looks up (and caches) the detectors of a tenant. */
export function tenantDetectors(config: AnomalyConfig): (tenant: string) => TenantDetectors {
  const defaults = detectorsOf(config.detectors);
  const cache = new Map<string, TenantDetectors>();
  return (tenant) => {
    const overrides = config.tenants[tenant];
    if (overrides === undefined) return defaults;
    let d = cache.get(tenant);
    if (d === undefined) cache.set(tenant, (d = detectorsOf({ ...config.detectors, ...overrides })));
    return d;
  };
}

/**
 * Whether a meter is one of its tenant's district inflow (bulk) meters
 * (`METERSTREAM_ZONE_INFLOWS`): water flows through them day and night by design, so the
 * household detectors (NIGHT_FLOW, BURST) never judge them; the district balance does.
 */
export function inflowMeters(zoneInflows: AnomalyConfig['zoneInflows']): (tenant: string, meter: string) => boolean {
  const keys = new Set<string>();
  for (const [tenant, zones] of Object.entries(zoneInflows))
    for (const meters of Object.values(zones)) for (const m of meters) keys.add(`${tenant}\u001f${m}`);
  return (tenant, meter) => keys.has(`${tenant}\u001f${meter}`);
}
