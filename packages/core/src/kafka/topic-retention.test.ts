/**
 * The retention of the topics meterstream writes is set on the real broker from the
 * configuration, keeps each topic's own other settings, and is applied again when it changed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadConfig } from '../config.js';
import { capturingLogger, randomSuffix, testKafka, waitFor } from '../testing.js';
import { applyTopicRetention, ownedTopicRetention } from './topic-retention.js';

/** kafkajs `ConfigResourceTypes.TOPIC` (kafkajs is CommonJS: no named import of it from ESM). */
const TOPIC_RESOURCE = 2;

test('owned topics get the configured retention; their other settings stay; a change is applied on the next start', async () => {
  const s = randomSuffix();
  const env = {
    METERSTREAM_TOPIC_CLEAN: `ret-clean-${s}`,
    METERSTREAM_TOPIC_HOURLY: `ret-hourly-${s}`,
    METERSTREAM_TOPIC_ALERTS: `ret-alerts-${s}`,
    METERSTREAM_TOPIC_DLQ: `ret-dlq-${s}`,
    METERSTREAM_TOPIC_ALERTS_DLQ: `ret-alerts-dlq-${s}`,
  };
  const config = loadConfig(env);
  assert.equal(
    ownedTopicRetention(config).get(env.METERSTREAM_TOPIC_DLQ),
    7 * 86_400_000,
    'the DLQ is short by default',
  );
  assert.equal(
    ownedTopicRetention(config).get(env.METERSTREAM_TOPIC_ALERTS_DLQ),
    30 * 86_400_000,
    "the notifier's dead letters are kept as long as the alerts",
  );
  const kafka = testKafka();
  const admin = kafka.admin();
  await admin.connect();
  const { logger } = capturingLogger();
  const retentionOf = async (topic: string) => {
    const { resources } = await admin.describeConfigs({
      includeSynonyms: false,
      resources: [{ type: TOPIC_RESOURCE, name: topic, configNames: ['retention.ms', 'max.message.bytes'] }],
    });
    return Object.fromEntries(resources[0].configEntries.map((e) => [e.configName, e.configValue]));
  };
  // The broker applies an alteration from its metadata log, a moment after it answered.
  const settledRetention = (topic: string, ms: number) =>
    waitFor(
      `retention.ms=${ms} on ${topic}`,
      async () => {
        const c = await retentionOf(topic);
        return c['retention.ms'] === String(ms) && c;
      },
      15_000,
    );
  try {
    await admin.createTopics({
      waitForLeaders: true,
      topics: [
        {
          topic: env.METERSTREAM_TOPIC_DLQ,
          numPartitions: 1,
          configEntries: [{ name: 'max.message.bytes', value: '2000000' }],
        },
        { topic: env.METERSTREAM_TOPIC_CLEAN, numPartitions: 1 },
      ],
    });
    // Hourly and alerts do not exist: nothing to set there, and nothing is created.
    const changed = await applyTopicRetention(admin, ownedTopicRetention(config), logger);
    assert.deepEqual(changed.sort(), [env.METERSTREAM_TOPIC_CLEAN, env.METERSTREAM_TOPIC_DLQ].sort());
    assert.deepEqual(await settledRetention(env.METERSTREAM_TOPIC_DLQ, 7 * 86_400_000), {
      'retention.ms': String(7 * 86_400_000),
      'max.message.bytes': '2000000',
    });
    await settledRetention(env.METERSTREAM_TOPIC_CLEAN, 7 * 86_400_000);
    assert.deepEqual(await applyTopicRetention(admin, ownedTopicRetention(config), logger), [], 'idempotent');
    const longer = loadConfig({ ...env, METERSTREAM_DLQ_RETENTION_DAYS: '2' });
    assert.deepEqual(await applyTopicRetention(admin, ownedTopicRetention(longer), logger), [
      env.METERSTREAM_TOPIC_DLQ,
    ]);
    assert.deepEqual(await settledRetention(env.METERSTREAM_TOPIC_DLQ, 2 * 86_400_000), {
      'retention.ms': String(2 * 86_400_000),
      'max.message.bytes': '2000000',
    });
  } finally {
    await admin
      .deleteTopics({ topics: [env.METERSTREAM_TOPIC_DLQ, env.METERSTREAM_TOPIC_CLEAN] })
      .catch(() => undefined);
    await admin.disconnect();
  }
});
