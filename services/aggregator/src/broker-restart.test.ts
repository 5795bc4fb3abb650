/**
 * The broker restarted mid-stream, three times, under one `meterstream all` (issue 9: in one of
 * four runs on the old code, every consumer died with "Failed to find group coordinator" and only
 * the rows written before the outage ever appeared). Each time: SIGTERM to the broker while the
 * fleet's readings are in flight, 20 s down, started again on the same dir and port. `/readyz`
 * must say 503 while the broker is down and 200 at the end; the same process runs throughout;
 * every hourly row equals the reference; no alert state change is published twice.
 *
 * The test starts its own single-node broker (scripts/kafka/local-kafka.mjs), not the shared one.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Kafka, logLevel, type Message } from 'kafkajs';
import { AvroCodec, createClickHouse, loadConfig, repoPath, sleep, type Alert } from '@meterstream/core';
import {
  TEST_KEY_HEX,
  createTopic,
  produce,
  readAll,
  startService,
  testEnv,
  testSeed,
  waitFor,
  type ServiceProcess,
} from '@meterstream/core/testing';
import { assertHourlyExact, generateFleet } from './test-fleet.js';

const PORT = 19510;
const DIR = repoPath('.kafka', 'broker-restart-test');
const RESTARTS = 3;
const DOWN_MS = 20_000;
/** Bound of every wait for the pipeline; a wedged pipeline fails the test with its output. */
const DEADLINE_MS = 180_000;

type LocalKafka = {
  startLocalKafka(o: { dir: string; port: number }): Promise<{ brokers: string }>;
  stopLocalKafka(o: { dir: string }): Promise<boolean>;
};
let local: LocalKafka;
let brokers: string;
let kafka: Kafka;
const key = Buffer.from(TEST_KEY_HEX, 'hex');

before(async () => {
  local = (await import(pathToFileURL(repoPath('scripts', 'kafka', 'local-kafka.mjs')).href)) as LocalKafka;
  await local.stopLocalKafka({ dir: DIR }); // one left over by an interrupted run
  rmSync(join(DIR, 'data'), { recursive: true, force: true }); // a fresh broker; the cached classpath stays
  ({ brokers } = await local.startLocalKafka({ dir: DIR, port: PORT }));
  kafka = new Kafka({ clientId: 'broker-restart-test', brokers: [brokers], logLevel: logLevel.NOTHING });
});

after(async () => {
  await local?.stopLocalKafka({ dir: DIR });
});

/** Produces, sending again while the broker is away (duplicates are part of the fleet's delivery). */
async function produceThrough(topic: string, messages: Message[]): Promise<void> {
  await waitFor('produced', () => produce(kafka, topic, messages).then(() => true), DEADLINE_MS, 1000);
}

/** True while `group` has not committed every record of `topic`. */
async function behind(group: string, topic: string): Promise<boolean> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const ends = await admin.fetchTopicOffsets(topic);
    const [c] = await admin.fetchOffsets({ groupId: group, topics: [topic] });
    return ends.some(
      (e) => BigInt(c.partitions.find((p) => p.partition === e.partition)?.offset ?? -1) < BigInt(e.high),
    );
  } finally {
    await admin.disconnect();
  }
}

/** `/readyz` of the child, or 0 when it does not answer. */
async function readyz(port: number): Promise<number> {
  try {
    return (await fetch(`http://127.0.0.1:${port}/readyz`, { signal: AbortSignal.timeout(8_000) })).status;
  } catch {
    return 0;
  }
}

/** Waits until `group` has committed past the last record of every partition of `topic` (see broker-loss.test.ts). */
async function pastLastRecord(run: ServiceProcess, group: string, topic: string): Promise<void> {
  const last = new Map<number, bigint>();
  for (const r of await readAll(kafka, topic))
    if (!last.has(r.partition) || BigInt(r.offset) > last.get(r.partition)!) last.set(r.partition, BigInt(r.offset));
  const admin = kafka.admin();
  await admin.connect();
  try {
    await waitFor(
      `${group} past the last record of ${topic}`,
      async () => {
        if (run.child.exitCode !== null) throw new Error(`meterstream all exited:\n${run.output().slice(-6000)}`);
        const [c] = await admin.fetchOffsets({ groupId: group, topics: [topic] });
        return [...last].every(([p, o]) => BigInt(c.partitions.find((x) => x.partition === p)?.offset ?? -1) > o);
      },
      DEADLINE_MS,
      500,
    );
  } finally {
    await admin.disconnect();
  }
}

test(`broker stopped (SIGTERM) for 20 s mid-stream, ${RESTARTS} times, under one meterstream all: not ready while down, ready after, rows exact, no alert twice`, async (t) => {
  const seed = testSeed((m) => t.diagnostic(m));
  const env = testEnv({
    KAFKA_BROKERS: brokers,
    // Small fetches: many batches and transactions, so the stop lands among them.
    METERSTREAM_FETCH_MAX_BYTES_PER_PARTITION: '4096',
    METERSTREAM_FETCH_MAX_BYTES: '12288',
    METERSTREAM_AGGREGATOR_WORKERS: '1',
    PORT: '0',
    LOG_LEVEL: 'warn',
  });
  const config = loadConfig(env);
  await createTopic(kafka, config.topics.readings, 3);
  await createTopic(kafka, config.topics.invoices, 3);
  const { meters, rounds } = generateFleet(new AvroCodec(), seed);
  // The fleet in RESTARTS + 1 parts, in order (a correction never overtakes what it corrects).
  const all = rounds.flat();
  const parts = Array.from({ length: RESTARTS + 1 }, (_, i) =>
    all.slice(Math.floor((i * all.length) / (RESTARTS + 1)), Math.floor(((i + 1) * all.length) / (RESTARTS + 1))),
  );

  const run = startService('all', env);
  try {
    await run.ready;
    const port = Number(/listening on http:\/\/[^:]+:(\d+)/.exec(run.output())?.[1]);
    assert.ok(port > 0, 'the child printed its port');
    const pid = run.child.pid;
    let notReadyWhileDown = 0;
    let midStream = 0;
    for (let i = 0; i < RESTARTS; i++) {
      await produceThrough(config.topics.readings, parts[i]);
      // Mid-stream: the ingestor has not yet committed the part just produced.
      // Asked until the broker answers: just after a restart the group's coordinator is loading.
      const lag = await waitFor(
        'the ingestor group offsets',
        async () => ({ behind: await behind(config.ingestor.groupId, config.topics.readings) }),
        DEADLINE_MS,
        500,
      );
      if (lag.behind) midStream++;
      await local.stopLocalKafka({ dir: DIR });
      const up = Date.now() + DOWN_MS;
      let sawNotReady = false;
      while (Date.now() < up) {
        if ((await readyz(port)) === 503) sawNotReady = true;
        await sleep(1_000);
      }
      t.diagnostic(`restart ${i + 1}: /readyz 503 while down: ${sawNotReady}`);
      if (sawNotReady) notReadyWhileDown++;
      await local.startLocalKafka({ dir: DIR, port: PORT });
      assert.equal(run.child.exitCode, null, `the process survived restart ${i + 1}:\n${run.output().slice(-6000)}`);
    }
    await produceThrough(config.topics.readings, parts[RESTARTS]);
    const a = config.anomaly.groupId;
    await pastLastRecord(run, config.ingestor.groupId, config.topics.readings);
    await pastLastRecord(run, config.aggregator.groupId, config.topics.clean);
    await pastLastRecord(run, `${a}-temperature`, config.topics.clean);
    await pastLastRecord(run, `${a}-hourly`, config.topics.hourly);
    await waitFor('/readyz 200 at the end', async () => (await readyz(port)) === 200, DEADLINE_MS, 500);
    assert.equal(notReadyWhileDown, RESTARTS, '/readyz said 503 during every outage');
    assert.ok(midStream > 0, 'at least one stop landed mid-stream');
    t.diagnostic(`${midStream} of ${RESTARTS} stops landed with the ingestor behind`);
    assert.equal(run.child.pid, pid);
    assert.equal(run.child.exitCode, null, 'the same process ran throughout');

    // No alert state change published twice (an episode a correction re-opens after RESOLVED
    // is a new episode with new ids: see transforms/reconcile.ts).
    const history = new Map<string, string[]>();
    const seen = new Set<string>();
    for (const r of await readAll(kafka, config.topics.alerts)) {
      const alert = new AvroCodec().decode(r.value!).value as Alert;
      const h = history.get(alert.dedupKey) ?? [];
      const k = `${alert.alertId} ${alert.status}`;
      assert.ok(!seen.has(k), `${alert.type} ${alert.status} ${alert.severity} published twice (${h.join(' ')})`);
      seen.add(k);
      h.push(alert.status);
      history.set(alert.dedupKey, h);
    }
    t.diagnostic(`${seen.size} alert state changes, none published twice`);
  } finally {
    run.child.kill('SIGTERM');
  }
  assert.equal(await run.exited, 0, `SIGTERM drains and exits 0:\n${run.output().slice(-6000)}`);

  const clickhouse = await createClickHouse(config.clickhouse);
  try {
    const { checked } = await assertHourlyExact(clickhouse, config.clickhouse.database, key, meters);
    t.diagnostic(`${checked} hourly rows checked`);
    assert.ok(checked > 1000);
  } finally {
    await clickhouse.close();
  }
});
