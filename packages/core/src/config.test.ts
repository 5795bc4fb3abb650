import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError } from './errors.js';
import { loadConfig, requirePseudonymKey } from './config.js';

test('defaults are the design defaults', () => {
  const c = loadConfig({});
  assert.equal(c.kafka.brokers, null);
  assert.equal(c.clickhouse.url, null);
  assert.equal(c.clickhouse.database, 'meterstream');
  assert.equal(c.topics.readings, 'meter.readings.v1');
  assert.equal(c.topics.dlq, 'meter.readings.dlq.v1');
  assert.equal(c.retention.rawDays, 90);
  assert.equal(c.port, 8080);
  assert.ok(Object.isFrozen(c) && Object.isFrozen(c.retention));
});

const bad: [Record<string, string>, string][] = [
  [{ PORT: 'eighty' }, 'PORT'],
  [{ PORT: '70000' }, 'PORT'],
  [{ METERSTREAM_RAW_TTL_DAYS: '0' }, 'METERSTREAM_RAW_TTL_DAYS'],
  [{ KAFKA_BROKERS: 'localhost' }, 'KAFKA_BROKERS'],
  [{ CLICKHOUSE_URL: 'ftp://x' }, 'CLICKHOUSE_URL'],
  [{ METERSTREAM_PSEUDONYM_KEY: 'abcd' }, 'METERSTREAM_PSEUDONYM_KEY'],
  [{ METERSTREAM_PSEUDONYM_KEY: 'zz'.repeat(32) }, 'METERSTREAM_PSEUDONYM_KEY'],
  [{ METERSTREAM_TOPIC_CLEAN: 'bad topic' }, 'METERSTREAM_TOPIC_CLEAN'],
  [{ KAFKA_SSL: 'maybe' }, 'KAFKA_SSL'],
  [{ KAFKA_SASL_MECHANISM: 'plain' }, 'KAFKA_SASL_USERNAME'],
  [{ METERSTREAM_RAW_TTL: '30' }, 'METERSTREAM_RAW_TTL'],
  [{ LOG_LEVEL: 'loud' }, 'LOG_LEVEL'],
  [{ METERSTREAM_API_TOKEN: 'short' }, 'METERSTREAM_API_TOKEN'],
  [{ METERSTREAM_TIME_ZONE: 'Europe/Atlantis' }, 'METERSTREAM_TIME_ZONE'],
  [{ METERSTREAM_NIGHT_WINDOW: '05-02' }, 'METERSTREAM_NIGHT_WINDOW'],
  [{ METERSTREAM_NIGHT_FLOW_WARNING_LPH: 'lots' }, 'METERSTREAM_NIGHT_FLOW_WARNING_LPH'],
  [{ METERSTREAM_FROST_RESOLVE_C: '4' }, 'METERSTREAM_FROST_RESOLVE_C'],
  [{ METERSTREAM_TENANT_DETECTORS: '{oops' }, 'METERSTREAM_TENANT_DETECTORS'],
  [{ METERSTREAM_TENANT_DETECTORS: '{"oslo":{"nightFlowWarningLph":"high"}}' }, 'METERSTREAM_TENANT_DETECTORS'],
  [{ METERSTREAM_TENANT_DETECTORS: '{"oslo":{"leakiness":3}}' }, 'METERSTREAM_TENANT_DETECTORS'],
  [{ METERSTREAM_TENANT_DETECTORS: '{"oslo":{"frostResolveC":3}}' }, 'METERSTREAM_TENANT_DETECTORS'],
];
for (const [env, field] of bad) {
  test(`bad ${Object.keys(env)[0]}=${Object.values(env)[0]} is refused naming ${field}`, () => {
    assert.throws(
      () => loadConfig(env),
      (err: unknown) => err instanceof ConfigError && err.field === field && err.message.startsWith(field),
    );
  });
}

test('services that pseudonymise refuse to start without a key', () => {
  assert.throws(
    () => requirePseudonymKey(loadConfig({})),
    (e: unknown) => e instanceof ConfigError && e.field === 'METERSTREAM_PSEUDONYM_KEY',
  );
  assert.equal(requirePseudonymKey(loadConfig({ METERSTREAM_PSEUDONYM_KEY: 'ab'.repeat(32) })).length, 32);
});

test('detector thresholds: DOMAIN.md defaults, overridable per tenant', () => {
  const c = loadConfig({
    METERSTREAM_TENANT_DETECTORS: '{"stockholm":{"timeZone":"Europe/Stockholm","nightFlowWarningLph":20}}',
  });
  assert.equal(c.anomaly.detectors.nightFlowWarningLph, 12.5);
  assert.equal(c.anomaly.detectors.nightStartHour, 2);
  assert.equal(c.anomaly.detectors.nightEndHour, 5);
  assert.equal(c.anomaly.detectors.timeZone, 'Europe/Oslo');
  assert.deepEqual(c.anomaly.tenants.stockholm, { timeZone: 'Europe/Stockholm', nightFlowWarningLph: 20 });
});
