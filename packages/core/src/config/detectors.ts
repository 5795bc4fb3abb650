/**
 * The detector thresholds resolved from their declarations: the fleet-wide settings, the
 * per-tenant overrides checked against the same parsers, and `DETECTOR_DEFAULTS`, what the
 * thresholds are when nothing is configured (the one copy the detectors use).
 */
import type { DetectorSettings } from '../config.js';
import { ConfigError } from '../errors.js';
import { DETECTOR_VARIABLES } from './detector-settings.js';
import type { HourWindowParser, NumberParser, TimeZoneParser } from './parse.js';
import { resolveVariables, type Values } from './resolve.js';
import type { DetectorTarget } from './setting.js';

type DetectorKey = keyof DetectorSettings;

/** Each `DetectorSettings` field is set by exactly one declared variable: a missing one fails to compile. */
type Targets = { [K in keyof typeof DETECTOR_VARIABLES]: NonNullable<(typeof DETECTOR_VARIABLES)[K]['detector']> };
type Covered<T> = T extends readonly (infer U)[] ? U : T;
type Uncovered = Exclude<DetectorKey, Covered<Targets[keyof Targets]>>;
const everyFieldDeclared: [Uncovered] extends [never] ? true : Uncovered = true;
void everyFieldDeclared;

/** A per-tenant key: the variable that sets its fleet-wide value, and its check. */
interface TenantKey {
  variable: keyof typeof DETECTOR_VARIABLES;
  check(value: unknown, name: string, what: string): unknown;
}

const TENANT_KEYS = new Map<string, TenantKey>();
for (const [name, s] of Object.entries(DETECTOR_VARIABLES)) {
  const variable = name as keyof typeof DETECTOR_VARIABLES;
  const target: DetectorTarget | undefined = s.detector;
  if (target === undefined) continue;
  if (typeof target === 'string') {
    TENANT_KEYS.set(target, { variable, check: (s.parser as NumberParser | TimeZoneParser).check });
  } else {
    const parts = (s.parser as HourWindowParser).parts;
    target.forEach((key, i) => TENANT_KEYS.set(key, { variable, check: parts[i].check }));
  }
}

/** The per-tenant key(s) of a detector variable, for the docs. */
export function tenantKeysOf(variable: string): string[] {
  return [...TENANT_KEYS].filter(([, k]) => k.variable === variable).map(([key]) => key);
}

/** The fleet-wide thresholds from the resolved variables, with the rules that span two variables. */
export function detectorSettingsOf(v: Values): DetectorSettings {
  const d: Record<string, unknown> = {};
  for (const [name, s] of Object.entries(DETECTOR_VARIABLES)) {
    const target: DetectorTarget | undefined = s.detector;
    const value = v[name as keyof typeof DETECTOR_VARIABLES];
    if (typeof target === 'string') d[target] = value;
    else if (target !== undefined) target.forEach((key, i) => (d[key] = (value as readonly number[])[i]));
  }
  const settings = d as unknown as DetectorSettings;
  if (settings.frostCriticalC > settings.frostWarningC)
    throw new ConfigError(
      'METERSTREAM_FROST_CRITICAL_C',
      `must not be above METERSTREAM_FROST_WARNING_C (${settings.frostWarningC})`,
    );
  if (settings.frostResolveC <= settings.frostWarningC)
    throw new ConfigError(
      'METERSTREAM_FROST_RESOLVE_C',
      `must be above METERSTREAM_FROST_WARNING_C (${settings.frostWarningC}): the hysteresis`,
    );
  return settings;
}

function checkCombined(name: string, where: string, d: DetectorSettings): void {
  if (d.nightStartHour >= d.nightEndHour)
    throw new ConfigError(name, `${where}the night window must end after it starts`);
  if (d.frostCriticalC > d.frostWarningC)
    throw new ConfigError(name, `${where}frostCriticalC must not be above frostWarningC`);
  if (d.frostResolveC <= d.frostWarningC)
    throw new ConfigError(name, `${where}frostResolveC must be above frostWarningC (hysteresis)`);
}

/**
 * The per-tenant overrides of `METERSTREAM_TENANT_DETECTORS`: every key checked against its
 * variable's bounds, and each tenant's settings (overrides over `defaults`) against the rules
 * that span two settings.
 */
export function tenantOverridesOf(
  raw: Record<string, unknown> | null,
  defaults: DetectorSettings,
): Record<string, Partial<DetectorSettings>> {
  const name = 'METERSTREAM_TENANT_DETECTORS';
  const out: Record<string, Partial<DetectorSettings>> = {};
  for (const [tenant, settings] of Object.entries(raw ?? {})) {
    const where = `tenant ${JSON.stringify(tenant)}: `;
    if (settings === null || typeof settings !== 'object' || Array.isArray(settings))
      throw new ConfigError(name, `${where}expected an object`);
    for (const [k, value] of Object.entries(settings)) {
      const key = TENANT_KEYS.get(k);
      if (key === undefined) throw new ConfigError(name, `${where}unknown setting ${JSON.stringify(k)}`);
      key.check(value, name, `${where}${k}`);
    }
    const overrides = settings as Partial<DetectorSettings>;
    checkCombined(name, where, { ...defaults, ...overrides });
    out[tenant] = overrides;
  }
  return out;
}

/** The thresholds when nothing is configured: every declaration's default. */
export const DETECTOR_DEFAULTS: Readonly<DetectorSettings> = Object.freeze(detectorSettingsOf(resolveVariables({})));
