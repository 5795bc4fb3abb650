/**
 * The demo's simulated fleet: sized and seeded so that every kind of anomaly certainly occurs,
 * and kept across restarts. The fleet's options and how far it was sent are saved in the demo
 * directory (`fleet.json`); the next start plans the same fleet and carries on from there, so
 * a restart neither re-sends the history nor draws a second fleet beside the first (whose
 * meters would all fall silent). Flags that change the fleet start a new one.
 */
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { planFleet, type AnomalyRates, type FleetOptions, type MeterRole } from '@meterstream/simulator';
import { simulateOptions, type SimulateDefaults, type SimulateFlags, type SimulateOptions } from './simulate-flags.js';

/** Anomaly rates of the demo: a few percent, and at least one meter of each type (see {@link demoRates}). */
export const DEMO_BASE_RATES: Readonly<AnomalyRates> = Object.freeze({
  leak: 0.05,
  burst: 0.04,
  frost: 0.1,
  invoiceError: 0.08,
  silent: 0.03,
});

/** The demo's defaults: 300 meters, 14 days of history, then live at 60x (a data hour per wall minute). */
export const DEMO_DEFAULTS: Readonly<Omit<SimulateDefaults, 'rates'>> = Object.freeze({
  meters: 300,
  days: 14,
  speed: 60,
  seed: 1,
  follow: true,
});

/**
 * {@link DEMO_BASE_RATES}, raised where a fleet of `meters` would otherwise get no meter of a
 * type. The planner gives round(rate x pool) meters each type, pools being the eligible meters
 * (water meters for leaks, water meters without a leak for bursts, rooms for frost, electricity
 * customers for invoice errors, meters without an anomaly for silence); a rate of at least
 * 1 / pool gives one. Role counts depend on the fleet size only, not on the seed.
 */
export function demoRates(meters: number): AnomalyRates {
  const roles = new Map<MeterRole, number>();
  for (const m of planFleet({
    seed: 0,
    meters,
    days: 1,
    end: 0,
    rates: { leak: 0, burst: 0, frost: 0, invoiceError: 0, silent: 0 },
  }).meters)
    roles.set(m.role, (roles.get(m.role) ?? 0) + 1);
  const water = (roles.get('household') ?? 0) + (roles.get('flat') ?? 0);
  const rooms = roles.get('technical-room') ?? 0;
  const electricity = roles.get('electricity') ?? 0;
  const atLeastOne = (base: number, pool: number) => (pool === 0 ? base : Math.min(1, Math.max(base, 1 / pool)));
  const leak = atLeastOne(DEMO_BASE_RATES.leak, water);
  const leaks = Math.round(leak * water);
  const burst = atLeastOne(DEMO_BASE_RATES.burst, water - leaks);
  const bursts = Math.round(burst * (water - leaks));
  const frost = atLeastOne(DEMO_BASE_RATES.frost, rooms);
  const invoiceError = atLeastOne(DEMO_BASE_RATES.invoiceError, electricity);
  const others = leaks + bursts + Math.round(frost * rooms) + Math.round(invoiceError * electricity);
  return { leak, burst, frost, invoiceError, silent: atLeastOne(DEMO_BASE_RATES.silent, meters - others) };
}

/** What `fleet.json` holds. */
export interface SavedFleet {
  fleet: Required<FleetOptions>;
  /** `at` of the newest delivery the broker acknowledged, or null. */
  sentUntil: number | null;
}

/** The demo's simulator options, and where to resume. */
export interface DemoFleet {
  options: SimulateOptions;
  /** Deliveries due before this were sent by an earlier start. */
  resumeFrom: number | null;
  /** Why a saved fleet was not continued, or null. */
  replaced: string | null;
  file: string;
}

export function fleetFile(demoDir: string): string {
  return join(demoDir, 'fleet.json');
}

function load(file: string): SavedFleet | null {
  try {
    const saved = JSON.parse(readFileSync(file, 'utf8')) as SavedFleet;
    return saved && typeof saved.fleet === 'object' && typeof saved.fleet.seed === 'number' ? saved : null;
  } catch {
    return null;
  }
}

/** Saves the fleet (atomically, 0600). */
export function saveFleet(file: string, saved: SavedFleet): void {
  const tmp = `${file}.tmp-${process.pid}`;
  writeFileSync(tmp, `${JSON.stringify(saved, null, 2)}\n`, { mode: 0o600 });
  renameSync(tmp, file);
}

/** The flags that shape the fleet and differ from the saved one's, by name. */
function changed(flags: SimulateFlags, saved: Required<FleetOptions>, timeZone: string): string[] {
  const out: string[] = [];
  const differs = (name: string, given: unknown, was: unknown) =>
    given !== undefined && given !== was && out.push(name);
  differs('--meters', flags.meters, saved.meters);
  differs('--days', flags.days, saved.days);
  differs('--end', flags.end, saved.end);
  differs('--seed', flags.seed, saved.seed);
  differs('--tenant', flags.tenant, saved.tenant);
  differs('--granularity', flags.granularity, saved.granularity);
  for (const [k, v] of Object.entries(flags.rates))
    differs(`rate ${k}`, v, (saved.rates as Partial<AnomalyRates>)[k as keyof AnomalyRates]);
  differs('METERSTREAM_TIME_ZONE', timeZone, saved.timeZone);
  return out;
}

/**
 * The fleet to run: the saved one when no flag changes it (carrying on where it stopped),
 * else a new one from the flags and the demo's defaults. Follows live unless `--speed 0`.
 */
export function demoFleet(flags: SimulateFlags, demoDir: string, now: number, timeZone: string): DemoFleet {
  const file = fleetFile(demoDir);
  const saved = load(file);
  const speedFlags = { ...flags, follow: (flags.speed ?? DEMO_DEFAULTS.speed) > 0 };
  const fresh = simulateOptions(
    speedFlags,
    { ...DEMO_DEFAULTS, rates: demoRates(flags.meters ?? DEMO_DEFAULTS.meters) },
    now,
    timeZone,
  );
  if (saved === null) return { options: fresh, resumeFrom: null, replaced: null, file };
  const differences = changed(flags, saved.fleet, timeZone);
  if (differences.length > 0)
    return { options: fresh, resumeFrom: null, replaced: `${differences.join(', ')} changed`, file };
  return { options: { ...fresh, fleet: saved.fleet }, resumeFrom: saved.sentUntil, replaced: null, file };
}
