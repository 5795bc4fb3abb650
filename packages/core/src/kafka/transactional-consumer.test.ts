/**
 * The transactional consumer heals in-process, on the real broker: a handler error kafkajs
 * gives up on rebuilds the consumer (readiness says so meanwhile) and the batch is processed
 * again from the committed offset; a producer fenced by another with its transactional id is
 * replaced and the output is neither lost nor doubled; recovery that keeps failing past
 * `unhealthyAfterMs` turns `/healthz` 503 until a batch goes through again; a batch longer
 * than the session timeout heartbeats (no rebalance) and readiness says it waits for the sink;
 * a partition that ends in records with nothing to process (an aborted transaction and its
 * marker) is committed to its end.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Partitioners } from 'kafkajs';
import { createRegistry, pipelineMetrics } from '../telemetry/metrics.js';
import {
  createTopic,
  produce,
  readAll,
  capturingLogger,
  testConfig,
  testKafka,
  randomSuffix,
  waitFor,
  waitForGroupCaughtUp,
} from '../testing.js';
import { createHttpServer } from '../http/server.js';
import { TransactionalConsumer, type BatchHandler } from './transactional-consumer.js';

async function setup(handler: (out: string) => BatchHandler, unhealthyAfterMs?: number) {
  const kafka = testKafka();
  const input = `tc-in-${randomSuffix()}`;
  const output = `tc-out-${randomSuffix()}`;
  await createTopic(kafka, input, 1);
  await createTopic(kafka, output, 1);
  const registry = createRegistry('test');
  const metrics = pipelineMetrics(registry);
  const { logger } = capturingLogger();
  const groupId = `tc-group-${randomSuffix()}`;
  const consumer = new TransactionalConsumer({
    kafka,
    groupId,
    topic: input,
    instanceId: `i-${randomSuffix()}`,
    handler: handler(output),
    logger,
    metrics,
    fetch: testConfig().kafka.fetch,
    outputs: [output],
    restartBackoffMs: [200, 1_000],
    unhealthyAfterMs,
  });
  return { kafka, input, output, registry, consumer, groupId };
}

/** Copies every input value to the output topic. */
const copy =
  (out: string): BatchHandler =>
  async (batch) => ({
    records: [{ topic: out, messages: batch.messages.map((m) => ({ key: m.key, value: m.value })) }],
  });

test('a batch whose handler fails for good is retried by a rebuilt consumer, from the committed offset', async () => {
  let failures = 3;
  const seen: string[] = [];
  const { kafka, input, output, registry, consumer } = await setup((out) => async (batch, heartbeat) => {
    if (batch.messages.some((m) => String(m.value) === 'poison-until-healed') && failures > 0) {
      failures--;
      // Not a KafkaJS error: kafkajs retries it a few times, then crashes the consumer for good.
      throw Object.assign(new Error('sink refused the batch'), { retriable: false });
    }
    seen.push(...batch.messages.map((m) => String(m.value)));
    return copy(out)(batch, heartbeat);
  });
  await produce(kafka, input, [{ value: 'a' }, { value: 'b' }]);
  await consumer.start();
  try {
    await waitFor('a and b copied', async () => (await readAll(kafka, output)).length === 2);
    await produce(kafka, input, [{ value: 'poison-until-healed' }, { value: 'c' }]);
    await waitFor('the consumer restarting', async () => consumer.readiness() === 'consumer restarting', 60_000, 20);
    await waitFor(
      'poison and c copied after the rebuilds',
      async () => (await readAll(kafka, output)).length === 4,
      120_000,
    );
    const values = (await readAll(kafka, output)).map((r) => String(r.value));
    assert.deepEqual(values, ['a', 'b', 'poison-until-healed', 'c'], 'each record once, in order');
    assert.equal(failures, 0);
    await waitFor('ready again', async () => consumer.readiness() === true);
    assert.ok(consumer.alive);
    const restarts = (await registry.getSingleMetricAsString('meterstream_kafka_consumer_restarts_total')).match(
      /\} (\d+)/,
    );
    assert.ok(restarts && Number(restarts[1]) >= 1, 'the rebuilds are counted');
  } finally {
    await consumer.close();
  }
});

test('a producer fenced by another with its transactional id is replaced; nothing lost or doubled', async () => {
  let fenced = false;
  let fence: (() => Promise<void>) | null = null;
  const { kafka, input, output, consumer } = await setup((out) => async (batch, heartbeat) => {
    // Before the first transaction of the second batch, another producer takes the id.
    if (!fenced && batch.messages.some((m) => String(m.value) === 'x2')) {
      fenced = true;
      await fence!();
    }
    return copy(out)(batch, heartbeat);
  });
  // The one slot's transactional id: a second producer with it fences the consumer's.
  const usurper = () =>
    kafka.producer({
      transactionalId: consumer.transactionalIds[0],
      idempotent: true,
      maxInFlightRequests: 1,
      createPartitioner: Partitioners.DefaultPartitioner,
    });
  fence = async () => {
    const p = usurper();
    await p.connect();
    const tx = await p.transaction(); // InitProducerId: the consumer's producer epoch is now stale
    await tx.abort().catch(() => undefined);
    await p.disconnect();
  };
  await produce(kafka, input, [{ value: 'x1' }]);
  await consumer.start();
  try {
    await waitFor('x1 copied', async () => (await readAll(kafka, output)).length === 1);
    await produce(kafka, input, [{ value: 'x2' }, { value: 'x3' }]);
    await waitFor('x2 and x3 copied', async () => (await readAll(kafka, output)).length >= 3, 120_000);
    await produce(kafka, input, [{ value: 'x4' }]);
    await waitFor('x4 copied', async () => (await readAll(kafka, output)).length >= 4, 60_000);
    const values = (await readAll(kafka, output)).map((r) => String(r.value));
    assert.deepEqual(values, ['x1', 'x2', 'x3', 'x4'], 'each record once, in order');
    assert.ok(fenced);
  } finally {
    await consumer.close();
  }
});

test('records with nothing to process at the end of a partition (an aborted transaction) are committed past', async () => {
  const { kafka, input, output, consumer, groupId } = await setup(copy);
  await produce(kafka, input, [{ value: 'kept' }]);
  await consumer.start();
  try {
    await waitFor('kept copied', async () => (await readAll(kafka, output)).length === 1);
    await waitForGroupCaughtUp(kafka, groupId, input, 30_000);
    // After the consumer went past 'kept': a fetch that holds only the aborted records and the
    // abort marker, which kafkajs never hands to eachBatch.
    const producer = kafka.producer({
      transactionalId: `tc-aborting-${randomSuffix()}`,
      idempotent: true,
      maxInFlightRequests: 1,
    });
    await producer.connect();
    const tx = await producer.transaction();
    await tx.send({ topic: input, messages: [{ value: 'aborted-1' }, { value: 'aborted-2' }] });
    await tx.abort();
    await producer.disconnect();
    await waitForGroupCaughtUp(kafka, groupId, input, 60_000);
    assert.deepEqual(
      (await readAll(kafka, output)).map((r) => String(r.value)),
      ['kept'],
      'the aborted records are not processed',
    );
  } finally {
    await consumer.close();
  }
});

test('recovery that keeps failing past the unhealthy window turns /healthz 503; the next batch that goes through heals it', async () => {
  let refusing = true;
  const { kafka, input, output, consumer } = await setup(
    (out) => async (batch, heartbeat) => {
      if (refusing) throw Object.assign(new Error('sink refuses everything'), { retriable: false });
      return copy(out)(batch, heartbeat);
    },
    3_000,
  );
  const { logger } = capturingLogger();
  const http = createHttpServer({
    registry: createRegistry('test'),
    logger,
    readiness: { consumer: async () => consumer.readiness() },
    liveness: { consumer: () => consumer.alive },
  });
  const status = async (url: string) => (await http.inject({ method: 'GET', url })).statusCode;
  await produce(kafka, input, [{ value: 'held' }]);
  await consumer.start();
  try {
    await waitFor('the consumer restarting', async () => consumer.readiness() === 'consumer restarting', 60_000, 20);
    assert.equal(await status('/healthz'), 200, 'healing, not dead, within the window');
    assert.equal(await status('/readyz'), 503);
    await waitFor(
      '/healthz 503 once recovery kept failing for 3 s',
      async () => (await status('/healthz')) === 503,
      60_000,
    );
    refusing = false;
    await waitFor('the held record copied', async () => (await readAll(kafka, output)).length === 1, 60_000);
    await waitFor('/healthz 200 again', async () => (await status('/healthz')) === 200, 60_000);
    await waitFor('/readyz 200 again', async () => (await status('/readyz')) === 200, 60_000);
  } finally {
    await consumer.close();
    await http.close();
  }
});

test('a batch longer than the session timeout heartbeats: no rebalance, its output once, readiness says it waits', async () => {
  const { kafka, input, output, consumer } = await setup((out) => async (batch, heartbeat) => ({
    ...(await copy(out)(batch, heartbeat)),
    // A sink that takes 40 s: past the 30 s session timeout and the 20 s transaction budget.
    confirm: new Promise((resolve) => setTimeout(() => resolve(null), 40_000)),
  }));
  let joins = 0;
  consumer.consumer.on(consumer.consumer.events.GROUP_JOIN, () => joins++);
  await produce(kafka, input, [{ value: 'slow' }]);
  await consumer.start();
  try {
    await waitFor(
      'readiness naming the sink',
      async () => consumer.readiness() === 'waiting for the sink (ClickHouse) beyond the transaction budget',
      60_000,
      50,
    );
    await waitFor('the slow record copied', async () => (await readAll(kafka, output)).length === 1, 90_000);
    await waitFor('ready again', async () => consumer.readiness() === true);
    assert.deepEqual(
      (await readAll(kafka, output)).map((r) => String(r.value)),
      ['slow'],
      'once, after the aborted first transaction',
    );
    assert.equal(joins, 1, 'the group never rebalanced');
  } finally {
    await consumer.close();
  }
});
