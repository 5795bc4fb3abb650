import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadConfig } from '../config.js';
import { ConfigError } from '../errors.js';
import { pseudonymOf } from '../pseudonym.js';

const KEY = '11'.repeat(32);
const env = (inflows: unknown) => ({
  METERSTREAM_PSEUDONYM_KEY: KEY,
  METERSTREAM_ZONE_INFLOWS: typeof inflows === 'string' ? inflows : JSON.stringify(inflows),
});
const refused = (pattern: RegExp, secret?: string) => (err: unknown) =>
  err instanceof ConfigError &&
  err.message.startsWith('METERSTREAM_ZONE_INFLOWS') &&
  pattern.test(err.message) &&
  (secret === undefined || !err.message.includes(secret));

test('inflow meters are held as the pseudonyms the ingestor gives them, never as raw IDs', () => {
  const config = loadConfig(env({ oslo: { Z1: ['BULK-0001', 'BULK-0002'] }, bergen: { Z1: ['BULK-0001'] } }));
  const key = Buffer.from(KEY, 'hex');
  assert.deepEqual(config.anomaly.zoneInflows, {
    oslo: { Z1: [pseudonymOf(key, 'oslo', 'BULK-0001'), pseudonymOf(key, 'oslo', 'BULK-0002')] },
    bergen: { Z1: [pseudonymOf(key, 'bergen', 'BULK-0001')] },
  });
  assert.ok(!JSON.stringify(config).includes('BULK-000'), 'no raw ID in the resolved configuration');
});

test('unset: no zone has inflow meters', () => {
  assert.deepEqual(loadConfig({}).anomaly.zoneInflows, {});
});

test('bad values are refused naming the variable, the tenant and the zone, never the meter ID', () => {
  assert.throws(() => loadConfig(env('{oops')), refused(/not JSON/));
  assert.throws(() => loadConfig(env([])), refused(/expected an object/));
  assert.throws(() => loadConfig(env({ oslo: ['M'] })), refused(/tenant "oslo"/));
  assert.throws(() => loadConfig(env({ oslo: { Z1: [] } })), refused(/zone "Z1".*non-empty/));
  assert.throws(() => loadConfig(env({ oslo: { '': ['M'] } })), refused(/a zone has/));
  assert.throws(() => loadConfig(env({ oslo: { Z1: [42] } })), refused(/meter #1/));
  assert.throws(() => loadConfig(env({ oslo: { Z1: ['SECRET-1\u0000'] } })), refused(/meter #1/, 'SECRET-1'));
  assert.throws(
    () => loadConfig(env({ oslo: { Z1: ['SECRET-1'], Z2: ['SECRET-2', 'SECRET-1'] } })),
    refused(/zone "Z2" meter #2: the same meter is already meter #1 of zone "Z1"/, 'SECRET-1'),
  );
});

test('inflow meters without a pseudonym key stop start-up, naming both variables', () => {
  assert.throws(
    () => loadConfig({ METERSTREAM_ZONE_INFLOWS: JSON.stringify({ oslo: { Z1: ['BULK-1'] } }) }),
    refused(/METERSTREAM_PSEUDONYM_KEY/),
  );
});
