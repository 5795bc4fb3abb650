/** Reads every declared variable from an environment: its parsed value, or its default when unset or empty. */
import { ConfigError } from '../errors.js';
import type { ValueOf } from './setting.js';
import { SETTINGS, VARIABLES, type VariableName } from './settings.js';

/** An environment: variable name → raw text. */
export type Env = Readonly<Record<string, string | undefined>>;

/** The value of every declared variable. */
export type Values = { readonly [K in VariableName]: ValueOf<(typeof SETTINGS)[K]> };

/**
 * Parses every declared variable. A `METERSTREAM_*` variable nobody declared (a typo) is refused
 * before anything else, naming it.
 */
export function resolveVariables(env: Env): Values {
  for (const name of Object.keys(env)) {
    if (name.startsWith('METERSTREAM_') && !Object.hasOwn(SETTINGS, name)) {
      throw new ConfigError(name, 'unknown variable (see docs/configuration.md)');
    }
  }
  const values: Record<string, unknown> = {};
  for (const v of VARIABLES) {
    const raw = env[v.name];
    values[v.name] = raw === undefined || raw === '' ? v.default : v.parser.parse(raw, v.name);
  }
  return values as Values;
}
