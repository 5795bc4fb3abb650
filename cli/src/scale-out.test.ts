/**
 * Scaled out over one shared ClickHouse (issue 14): two ingestor, two aggregator and two anomaly
 * processes (`meterstream <service>`, each its own instance id) over CLICKHOUSE_URL and the real
 * broker. ClickHouse is the embedded engine in a process of its own behind the test-only HTTP
 * front (packages/core/src/testing/chdb-http-front.ts), so this is also the end-to-end test of
 * the product's HTTP path. Instances are killed (SIGKILL) and restarted while the fleet's
 * delivery rounds arrive. At the end every hourly row equals the independent reference, and no
 * alert state change is on the alerts topic twice.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AvroCodec, createClickHouse, loadConfig, type Alert } from '@meterstream/core';
import type { Kafka } from 'kafkajs';
import {
  TEST_KEY_HEX,
  createTopic,
  produce,
  readAll,
  spawnChdbHttpFront,
  startService,
  testEnv,
  testKafka,
  testSeed,
  waitFor,
  waitForGroupCaughtUp,
  type ServiceProcess,
} from '@meterstream/core/testing';
import { assertHourlyExact, generateFleet } from '@meterstream/aggregator/test-fleet';

const SERVICES = ['ingestor', 'aggregator', 'anomaly'] as const;
const CAUGHT_UP_MS = 120_000;

/**
 * Waits until `group` has consumed `topic`, a topic written only in Kafka transactions (the
 * clean and hourly topics): its committed offset of every partition passes the partition's last
 * readable record. Not the high watermark: a transaction ends with a marker no consumer commits
 * past on its own, and a SIGKILLed producer's open transaction is aborted by its successor, so
 * aborted records and markers may end a partition. Upstream must be caught up first, so that
 * the records to wait for are all committed (readAll reads up to the last stable offset).
 */
async function waitForTransactionalTopicConsumed(kafka: Kafka, group: string, topic: string): Promise<void> {
  const last = new Map<number, bigint>();
  for (const r of await readAll(kafka, topic, { timeoutMs: CAUGHT_UP_MS }))
    if (!last.has(r.partition) || BigInt(r.offset) > last.get(r.partition)!) last.set(r.partition, BigInt(r.offset));
  const admin = kafka.admin();
  await admin.connect();
  try {
    await waitFor(
      `${group} on ${topic}`,
      async () => {
        const [c] = await admin.fetchOffsets({ groupId: group, topics: [topic] });
        return [...last].every(([p, o]) => BigInt(c.partitions.find((x) => x.partition === p)?.offset ?? '-1') > o);
      },
      CAUGHT_UP_MS,
      500,
    );
  } finally {
    await admin.disconnect();
  }
}

test(
  '2 ingestors, 2 aggregators, 2 anomaly services over CLICKHOUSE_URL, killed and restarted: hourly rows exact, no alert twice',
  { timeout: 330_000 },
  async (t) => {
    const seed = testSeed((m) => t.diagnostic(m));
    const front = await spawnChdbHttpFront(mkdtempSync(join(tmpdir(), 'meterstream-shared-')));
    const env = testEnv({
      CLICKHOUSE_URL: front.url,
      PORT: '0',
      LOG_LEVEL: 'warn',
      METERSTREAM_AGGREGATOR_WORKERS: '1',
      METERSTREAM_INGESTOR_CONCURRENCY: '1',
      // Small fetches: many batches, so a kill lands between them.
      METERSTREAM_FETCH_MAX_BYTES_PER_PARTITION: '4096',
      METERSTREAM_FETCH_MAX_BYTES: '12288',
    });
    const config = loadConfig(env);
    const kafka = testKafka();
    const codec = new AvroCodec();
    await createTopic(kafka, config.topics.readings, 4);
    const { meters, rounds } = generateFleet(codec, seed, 24);

    const running = new Map<string, ServiceProcess>();
    const start = (service: (typeof SERVICES)[number], instance: string) => {
      const p = startService(service, {
        ...env,
        METERSTREAM_INSTANCE_ID: `${env.METERSTREAM_INSTANCE_ID}-${instance}`,
      });
      running.set(instance, p);
      return p.ready;
    };
    const kill = async (instance: string) => {
      const p = running.get(instance)!;
      p.child.kill('SIGKILL');
      await p.exited;
    };
    try {
      // The ingestors first: they create the schema (the others find it done) and the clean topic.
      await Promise.all([start('ingestor', 'ingestor-a'), start('ingestor', 'ingestor-b')]);
      await Promise.all(
        ['a', 'b'].flatMap((x) => [start('aggregator', `aggregator-${x}`), start('anomaly', `anomaly-${x}`)]),
      );

      // Each round lands while instances die and come back under their own ids (transactional ids).
      const plan = [
        ['ingestor-a', 'aggregator-b'],
        ['aggregator-a', 'anomaly-b'],
        ['ingestor-b', 'anomaly-a'],
      ];
      for (const [i, round] of rounds.entries()) {
        await produce(kafka, config.topics.readings, round);
        await new Promise((r) => setTimeout(r, 300 + Math.random() * 700));
        for (const instance of plan[i]) {
          await kill(instance);
          await start(instance.replace(/-[ab]$/, '') as (typeof SERVICES)[number], instance);
        }
      }

      const g = config.anomaly.groupId;
      await waitForGroupCaughtUp(kafka, config.ingestor.groupId, config.topics.readings, CAUGHT_UP_MS);
      await waitForTransactionalTopicConsumed(kafka, config.aggregator.groupId, config.topics.clean);
      await waitForTransactionalTopicConsumed(kafka, `${g}-hourly`, config.topics.hourly);
      await waitForTransactionalTopicConsumed(kafka, `${g}-temperature`, config.topics.clean);

      for (const [instance, p] of running) {
        p.child.kill('SIGTERM');
        assert.equal(await p.exited, 0, `${instance} drains and exits 0 on SIGTERM:\n${p.output()}`);
      }

      const clickhouse = await createClickHouse(config.clickhouse);
      try {
        const { checked } = await assertHourlyExact(
          clickhouse,
          config.clickhouse.database,
          Buffer.from(TEST_KEY_HEX, 'hex'),
          meters,
        );
        t.diagnostic(`${checked} hourly rows checked`);
        assert.ok(checked > 500);
      } finally {
        await clickhouse.close();
      }

      const alerts = (await readAll(kafka, config.topics.alerts)).map((r) => codec.decode(r.value!).value as Alert);
      t.diagnostic(`${alerts.length} alert state changes`);
      assert.ok(alerts.length > 0, "the fleet's room temperatures raise alerts");
      const seen = new Set<string>();
      for (const a of alerts) {
        const k = `${a.alertId}/${a.status}`;
        assert.ok(!seen.has(k), `${a.type} ${k} published twice`);
        seen.add(k);
      }
    } finally {
      for (const p of running.values()) if (p.child.exitCode === null) p.child.kill('SIGKILL');
      await Promise.all([...running.values()].map((p) => p.exited));
      await front.close();
    }
  },
);
