/**
 * Every declared variable is parsed, bounded and documented from its one declaration: these
 * tests are generated from the declarations, so a new variable is covered without a new line.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadConfig } from '../config.js';
import { ConfigError } from '../errors.js';
import { DETECTOR_DEFAULTS, tenantKeysOf } from './detectors.js';
import { renderConfigurationDoc } from './doc.js';
import type { NumberParser } from './parse.js';
import { resolveVariables } from './resolve.js';
import { VARIABLES } from './settings.js';

const refusedNaming = (field: string) => (err: unknown) =>
  err instanceof ConfigError && err.field === field && err.message.startsWith(field);

const isNumberParser = (p: object): p is NumberParser => 'min' in p && 'max' in p;

for (const v of VARIABLES) {
  if (v.parser.refused === null) {
    test(`${v.name} takes any text`, () => {
      assert.equal(v.parser.allowed, 'any text');
      assert.equal(v.parser.parse(' any text at all ', v.name), ' any text at all ');
    });
    continue;
  }
  test(`${v.name}=${v.parser.refused} is refused naming exactly ${v.name}`, () => {
    assert.throws(() => loadConfig({ [v.name]: v.parser.refused! }), refusedNaming(v.name));
  });
  const p = v.parser;
  if (isNumberParser(p)) {
    test(`${v.name} is refused just outside its bounds and taken at them`, () => {
      assert.throws(() => loadConfig({ [v.name]: String(p.min - 1) }), refusedNaming(v.name));
      assert.throws(() => loadConfig({ [v.name]: String(p.max + 1) }), refusedNaming(v.name));
      for (const edge of [p.min, p.max]) {
        // An edge can break a rule between two settings (frost hysteresis); not the bounds.
        try {
          loadConfig({ [v.name]: String(edge) });
        } catch (err) {
          assert.ok(err instanceof ConfigError && !/expected a number/.test(err.message), `${v.name}=${edge}: ${err}`);
        }
      }
    });
  }
}

test('every declared variable lands in the resolved config', () => {
  // SASL needs all three variables: with them set, each one alone still changes the result.
  // CLICKHOUSE_CLUSTER needs a server URL; zone inflow meters are pseudonymised with the key.
  const base = {
    KAFKA_SASL_MECHANISM: 'plain',
    KAFKA_SASL_USERNAME: 'u',
    KAFKA_SASL_PASSWORD: 'p',
    CLICKHOUSE_URL: 'http://clickhouse:8123',
    METERSTREAM_PSEUDONYM_KEY: '11'.repeat(32),
  };
  const baseValues = resolveVariables(base);
  const baseConfig = loadConfig(base);
  for (const v of VARIABLES) {
    const other = v.parser.other(baseValues[v.name] as never);
    const changed = loadConfig({ ...base, [v.name]: other });
    assert.notDeepEqual(changed, baseConfig, `${v.name}=${other} changed nothing`);
  }
});

test('every declared variable is documented: its name, default, bounds and meaning', () => {
  const doc = renderConfigurationDoc();
  for (const v of VARIABLES) {
    assert.ok(v.doc.length > 0, `${v.name} has no doc line`);
    const row = doc.split('\n').find((line) => line.startsWith(`| \`${v.name}\` |`));
    assert.ok(row !== undefined, `${v.name} missing from the configuration reference`);
    assert.ok(row.includes(v.parser.allowed.replace(/\|/g, '\\|')), `${v.name}: bounds missing`);
    if (v.default === null) assert.ok(v.shown, `${v.name}: a null default must say what unset means`);
  }
});

test('the detector defaults are what loadConfig resolves with nothing set', () => {
  assert.deepEqual(DETECTOR_DEFAULTS, loadConfig({}).anomaly.detectors);
  assert.ok(Object.isFrozen(DETECTOR_DEFAULTS));
});

test('per-tenant overrides are held to the bounds of their variable', () => {
  for (const v of VARIABLES) {
    const p = v.parser;
    for (const key of tenantKeysOf(v.name)) {
      const env = (value: unknown) => ({ METERSTREAM_TENANT_DETECTORS: JSON.stringify({ t: { [key]: value } }) });
      const fleetWide = DETECTOR_DEFAULTS[key as keyof typeof DETECTOR_DEFAULTS];
      assert.deepEqual(loadConfig(env(fleetWide)).anomaly.tenants.t, { [key]: fleetWide });
      const outside = isNumberParser(p) ? p.max + 1 : 'parts' in p ? 1000 : p.refused;
      assert.throws(() => loadConfig(env(outside)), refusedNaming('METERSTREAM_TENANT_DETECTORS'), `${key}=${outside}`);
    }
  }
});

test('each DetectorSettings field is set by exactly one variable', () => {
  const keys = VARIABLES.flatMap((v) => tenantKeysOf(v.name)).sort();
  assert.deepEqual(keys, Object.keys(DETECTOR_DEFAULTS).sort());
});
