/**
 * The flags of `meterstream simulate` (and of `meterstream demo`, which runs the same
 * simulator): parsed strictly, each bad value a ConfigError naming the flag (exit 78, like a
 * bad environment variable).
 */
import { parseArgs } from 'node:util';
import { ConfigError } from '@meterstream/core';
import {
  DEFAULT_RATES,
  DEFAULT_TARIFF,
  type AnomalyRates,
  type FleetOptions,
  type Granularity,
} from '@meterstream/simulator';

const HOUR = 3_600_000;

/** The flags given on the command line, checked; absent ones are undefined. */
export interface SimulateFlags {
  meters?: number;
  days?: number;
  /** Hour-aligned UTC epoch ms (`--end` rounded down to the hour). */
  end?: number;
  speed?: number;
  seed?: number;
  granularity?: Granularity;
  tenant?: string;
  /** Only the rates given. */
  rates: Partial<AnomalyRates>;
  labels?: string;
  follow?: boolean;
  help?: boolean;
}

/** What a run of the simulator does. */
export interface SimulateOptions {
  /** The fleet, every field resolved. */
  fleet: Required<FleetOptions>;
  /** Data time per wall time; 0 sends everything at once. */
  speed: number;
  /** Keep producing after the span until stopped. */
  follow: boolean;
  /** Where to write the ground-truth labels, or null. */
  labelsFile: string | null;
}

/** Defaults a command applies to the flags it was not given. */
export interface SimulateDefaults {
  meters: number;
  days: number;
  speed: number;
  seed: number;
  follow: boolean;
  rates: AnomalyRates;
}

/** `meterstream simulate`'s defaults. */
export const SIMULATE_DEFAULTS: Readonly<SimulateDefaults> = Object.freeze({
  meters: 200,
  days: 14,
  speed: 1,
  seed: 1,
  follow: false,
  rates: DEFAULT_RATES,
});

const RATE_FLAGS: Record<string, keyof AnomalyRates> = {
  'leak-rate': 'leak',
  'burst-rate': 'burst',
  'frost-rate': 'frost',
  'invoice-error-rate': 'invoiceError',
  'silent-rate': 'silent',
};

const OPTIONS = {
  meters: { type: 'string' },
  days: { type: 'string' },
  end: { type: 'string' },
  speed: { type: 'string' },
  seed: { type: 'string' },
  granularity: { type: 'string' },
  tenant: { type: 'string' },
  labels: { type: 'string' },
  follow: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
  ...Object.fromEntries(Object.keys(RATE_FLAGS).map((f) => [f, { type: 'string' }])),
} as const;

/** The flags' help text, shared by `simulate --help` and `demo --help`. */
export const FLAGS_HELP = `  --meters N           fleet size (simulate: 200, demo: 300)
  --days N             days of history before --end (14)
  --end TIME           ISO 8601 end of the history, rounded down to the hour (the current hour)
  --speed X            data time per wall time once the history is sent: deliveries due
                       before the simulated clock go out at once (the backfill), later ones
                       live at X times real time; 0 sends everything at once, then
                       stops (simulate: 1, demo: 60)
  --seed N             the same seed gives the same meters and data (1)
  --granularity G      reading: one message per water/temperature reading; day: one
                       batch per meter and local day (reading)
  --tenant T           tenant of every meter (default)
  --leak-rate R, --burst-rate R, --frost-rate R, --invoice-error-rate R, --silent-rate R
                       share of the eligible meters given each anomaly, 0..1
  --labels FILE        write the ground truth (which meter has which anomaly, when) as
                       JSON, rewritten as --follow plans further days. It holds RAW meter
                       IDs: it is the operator's own answer key (mode 0600), not an output
                       of meterstream`;

function fail(flag: string, message: string): never {
  throw new ConfigError(`--${flag}`, message);
}

function integer(flag: string, raw: string, min: number, max: number): number {
  if (!/^\d+$/.test(raw.trim())) fail(flag, `expected a whole number, got ${JSON.stringify(raw)}`);
  const n = Number(raw);
  if (!Number.isSafeInteger(n) || n < min || n > max) fail(flag, `expected a number from ${min} to ${max}, got ${raw}`);
  return n;
}

function decimal(flag: string, raw: string, min: number, max: number): number {
  if (!/^\d+(\.\d+)?$/.test(raw.trim())) fail(flag, `expected a number, got ${JSON.stringify(raw)}`);
  const n = Number(raw);
  if (n < min || n > max) fail(flag, `expected a number from ${min} to ${max}, got ${raw}`);
  return n;
}

/** Parses the flags; a bad flag or value is a ConfigError naming the flag. */
export function parseSimulateFlags(args: string[]): SimulateFlags {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({ args, options: OPTIONS, strict: true, allowPositionals: false }));
  } catch (err) {
    // node:util's messages name the option, e.g. "Unknown option '--bogus'".
    const message = (err as Error).message;
    const flag = /'(-{1,2}[^' ]+)/.exec(message)?.[1] ?? /(--?[A-Za-z][\w-]*)/.exec(message)?.[1];
    if (flag !== undefined) throw new ConfigError(flag, message.split('. ')[0]);
    throw new ConfigError('arguments', message);
  }
  const str = (k: string) => values[k] as string | undefined;
  const flags: SimulateFlags = { rates: {} };
  if (values.help) flags.help = true;
  if (values.follow) flags.follow = true;
  if (str('meters') !== undefined) flags.meters = integer('meters', str('meters')!, 1, 1_000_000);
  if (str('days') !== undefined) flags.days = integer('days', str('days')!, 1, 3660);
  if (str('seed') !== undefined) flags.seed = integer('seed', str('seed')!, 0, 2 ** 31 - 1);
  if (str('speed') !== undefined) flags.speed = decimal('speed', str('speed')!, 0, 1e7);
  const end = str('end');
  if (end !== undefined) {
    // Date.parse accepts plain words on some platforms' fallbacks; insist on an ISO date.
    const t = /^\d{4}-\d{2}-\d{2}/.test(end) ? Date.parse(end) : Number.NaN;
    if (!Number.isFinite(t))
      fail('end', `expected an ISO 8601 time such as 2026-05-01T00:00Z, got ${JSON.stringify(end)}`);
    flags.end = Math.floor(t / HOUR) * HOUR;
  }
  const granularity = str('granularity');
  if (granularity !== undefined) {
    if (granularity !== 'reading' && granularity !== 'day')
      fail('granularity', `expected reading or day, got ${JSON.stringify(granularity)}`);
    flags.granularity = granularity;
  }
  const tenant = str('tenant');
  if (tenant !== undefined) {
    if (!/^\S{1,200}$/.test(tenant)) fail('tenant', 'expected 1 to 200 characters without spaces');
    flags.tenant = tenant;
  }
  const labels = str('labels');
  if (labels !== undefined) {
    if (labels === '') fail('labels', 'expected a file name');
    flags.labels = labels;
  }
  for (const [flag, key] of Object.entries(RATE_FLAGS)) {
    const raw = str(flag);
    if (raw !== undefined) flags.rates[key] = decimal(flag, raw, 0, 1);
  }
  return flags;
}

/** The current hour, as the default end of the history. */
export function currentHour(now: number): number {
  return Math.floor(now / HOUR) * HOUR;
}

/** Options of one run: the flags given, else `defaults`; `timeZone` is the tenants' (config). */
export function simulateOptions(
  flags: SimulateFlags,
  defaults: SimulateDefaults,
  now: number,
  timeZone: string,
): SimulateOptions {
  const speed = flags.speed ?? defaults.speed;
  const follow = flags.follow ?? defaults.follow;
  if (follow && speed === 0) fail('follow', 'needs a --speed above 0 (--speed 0 sends the span at once and exits)');
  return {
    fleet: {
      seed: flags.seed ?? defaults.seed,
      meters: flags.meters ?? defaults.meters,
      days: flags.days ?? defaults.days,
      end: flags.end ?? currentHour(now),
      tenant: flags.tenant ?? 'default',
      timeZone,
      rates: { ...defaults.rates, ...flags.rates },
      granularity: flags.granularity ?? 'reading',
      tariff: DEFAULT_TARIFF,
    },
    speed,
    follow,
    labelsFile: flags.labels ?? null,
  };
}
