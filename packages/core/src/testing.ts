/**
 * Test support shared by the packages' tests: random names (each test has its own topics,
 * group and database, as kafkajs's suite does), configs pointed at the test broker, and Kafka
 * helpers to produce and read back. Not used by production code.
 */
import { randomBytes } from 'node:crypto';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { Kafka, Partitioners, logLevel, type IHeaders, type KafkaMessage, type Message } from 'kafkajs';
import { loadConfig, type MeterstreamConfig } from './config.js';
import { VARIABLES } from './config/settings.js';
import { repoPath } from './paths.js';
import { createLogger, type Logger } from './telemetry/logger.js';

/** A short random suffix. */
export function randomSuffix(): string {
  return randomBytes(5).toString('hex');
}

/**
 * Midnight UTC `days` days before today. Test data that reaches ClickHouse is placed relative to
 * now: a fixed date would one day fall out of a table's retention (the TTLs count from the data's
 * own time) and fail the suite with no code change. cli/src/calendar-free.test.ts checks this.
 */
export function utcDaysAgo(days: number, now = Date.now()): number {
  const day = 86_400_000;
  return Math.floor(now / day) * day - days * day;
}

/** Test key (never a production key). */
export const TEST_KEY_HEX = 'a1'.repeat(32);

/** The brokers the test runner started, or a clear failure. */
export function testBrokers(): string {
  const b = process.env.KAFKA_BROKERS;
  if (!b) throw new Error('KAFKA_BROKERS is unset: run the tests with `npm test`, which starts the local broker');
  return b;
}

/** Environment variables of a service with its own topics, group, database and data dir. */
export function testEnv(extra: Record<string, string> = {}): Record<string, string> {
  const s = randomSuffix();
  // Every topic and consumer group of its own, including ones added later (prices, the alerts'
  // dead letters, the notifier's group): a test never reads what another test wrote.
  const own: Record<string, string> = {};
  for (const { name } of VARIABLES) {
    const topic = /^METERSTREAM_TOPIC_(\w+)$/.exec(name);
    const group = /^METERSTREAM_(\w+)_GROUP_ID$/.exec(name);
    if (topic) own[name] = `test-${topic[1].toLowerCase().replace(/_/g, '-')}-${s}`;
    else if (group) own[name] = `test-${group[1].toLowerCase().replace(/_/g, '-')}-${s}`;
  }
  return {
    ...own,
    KAFKA_BROKERS: testBrokers(),
    METERSTREAM_PSEUDONYM_KEY: TEST_KEY_HEX,
    METERSTREAM_DATA_DIR: mkdtempSync(join(tmpdir(), 'meterstream-test-')),
    CLICKHOUSE_DATABASE: `t_${s}`,
    METERSTREAM_TOPIC_READINGS: `test-readings-${s}`,
    METERSTREAM_TOPIC_INVOICES: `test-invoices-${s}`,
    METERSTREAM_TOPIC_CLEAN: `test-clean-${s}`,
    METERSTREAM_TOPIC_HOURLY: `test-hourly-${s}`,
    METERSTREAM_TOPIC_ALERTS: `test-alerts-${s}`,
    METERSTREAM_TOPIC_DLQ: `test-dlq-${s}`,
    METERSTREAM_INGESTOR_GROUP_ID: `test-ingestor-${s}`,
    METERSTREAM_AGGREGATOR_GROUP_ID: `test-aggregator-${s}`,
    METERSTREAM_ANOMALY_GROUP_ID: `test-anomaly-${s}`,
    METERSTREAM_INSTANCE_ID: `test-${s}`,
    METERSTREAM_FETCH_MAX_WAIT_MS: '100',
    METERSTREAM_BULK_FETCH_MAX_WAIT_MS: '100',
    LOG_LEVEL: 'info',
    ...extra,
  };
}

/** A resolved config of {@link testEnv}. */
export function testConfig(extra: Record<string, string> = {}): MeterstreamConfig {
  return loadConfig(testEnv(extra));
}

/** A logger whose lines are kept in memory, to scan them. */
export function capturingLogger(): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk, _enc, cb) {
      lines.push(String(chunk));
      if (process.env.TEST_LOGS) process.stderr.write(chunk);
      cb();
    },
  });
  return { logger: createLogger({ level: 'debug', destination }), lines };
}

/** A kafkajs client for the test's own producing and reading. */
export function testKafka(): Kafka {
  return new Kafka({ clientId: 'meterstream-test', brokers: testBrokers().split(','), logLevel: logLevel.NOTHING });
}

/**
 * Creates a topic, retrying while a freshly started broker is still settling (kafkajs's
 * `waitForLeaders` throws UNKNOWN_TOPIC_OR_PARTITION instead of waiting then).
 */
export async function createTopic(kafka: Kafka, topic: string, numPartitions: number): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    for (let attempt = 1; ; attempt++) {
      try {
        await admin.createTopics({ waitForLeaders: true, topics: [{ topic, numPartitions }] });
        const meta = await admin.fetchTopicMetadata({ topics: [topic] });
        if (meta.topics[0]?.partitions.length === numPartitions) return;
      } catch (err) {
        if (attempt >= 10) throw err;
      }
      await new Promise((r) => setTimeout(r, 500 * attempt));
    }
  } finally {
    await admin.disconnect();
  }
}

/** Produces messages (plain producer, acks=all). */
export async function produce(kafka: Kafka, topic: string, messages: Message[]): Promise<void> {
  const producer = kafka.producer({
    allowAutoTopicCreation: false,
    createPartitioner: Partitioners.DefaultPartitioner,
  });
  await producer.connect();
  try {
    for (let i = 0; i < messages.length; i += 2000)
      await producer.send({ topic, messages: messages.slice(i, i + 2000), acks: -1 });
  } finally {
    await producer.disconnect();
  }
}

/** A record read back, with its partition. */
export interface ReadRecord {
  partition: number;
  offset: string;
  key: Buffer | null;
  value: Buffer | null;
  headers: IHeaders;
}

/**
 * Reads a topic from the beginning up to its current end (read_committed by default), with a
 * throw-away group; transaction markers take offsets, so "end" is reached when the consumer's
 * position passes the high watermark.
 */
export async function readAll(
  kafka: Kafka,
  topic: string,
  options: { readUncommitted?: boolean; timeoutMs?: number } = {},
): Promise<ReadRecord[]> {
  const admin = kafka.admin();
  await admin.connect();
  const ends = new Map<number, bigint>();
  try {
    // With read_committed the last stable offset is what is readable; use the high watermark
    // after all transactions have been committed or aborted by the producer under test.
    for (const p of await admin.fetchTopicOffsets(topic)) ends.set(p.partition, BigInt(p.high));
  } finally {
    await admin.disconnect();
  }
  const records: ReadRecord[] = [];
  const seen = new Set<string>();
  const pending = new Set([...ends].filter(([, high]) => high > 0n).map(([p]) => p));
  if (pending.size === 0) return records;
  const consumer = kafka.consumer({
    groupId: `test-reader-${randomSuffix()}`,
    readUncommitted: options.readUncommitted ?? false,
    maxWaitTimeInMs: 100,
  });
  await consumer.connect();
  await consumer.subscribe({ topics: [topic], fromBeginning: true });
  const done = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`readAll(${topic}) timed out; partitions not finished: ${[...pending]}`)),
      options.timeoutMs ?? 60_000,
    );
    // END_BATCH_PROCESS also fires for batches holding only transaction markers or aborted
    // records, so it tells when the position has passed the end seen at the start.
    consumer.on(consumer.events.END_BATCH_PROCESS, (e) => {
      const { partition, lastOffset } = e.payload;
      if (BigInt(lastOffset) + 1n >= ends.get(partition)!) pending.delete(partition);
      if (pending.size === 0) {
        clearTimeout(timer);
        resolve();
      }
    });
    void consumer.run({
      eachBatch: async ({ batch }) => {
        for (const m of batch.messages as KafkaMessage[]) {
          // A rebalance of this reader before its first auto-commit re-reads records: keep each
          // (partition, offset) once, so duplicates counted by a test are real ones in the topic.
          const id = `${batch.partition}:${m.offset}`;
          if (seen.has(id)) continue;
          seen.add(id);
          records.push({
            partition: batch.partition,
            offset: m.offset,
            key: m.key,
            value: m.value,
            headers: m.headers ?? {},
          });
        }
      },
    });
  });
  try {
    await done;
  } finally {
    await consumer.disconnect();
  }
  return records;
}

/** Polls `fn` until it returns a truthy value or the time runs out. */
export async function waitFor<T>(
  what: string,
  fn: () => Promise<T | null | undefined | false>,
  timeoutMs = 60_000,
  everyMs = 200,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** Waits until a consumer group has committed offsets up to the end of every partition of a topic. */
export async function waitForGroupCaughtUp(
  kafka: Kafka,
  groupId: string,
  topic: string,
  timeoutMs = 90_000,
): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    await waitFor(
      `group ${groupId} caught up on ${topic}`,
      async () => {
        const ends = await admin.fetchTopicOffsets(topic);
        const [committed] = await admin.fetchOffsets({ groupId, topics: [topic] });
        return ends.every((e) => {
          const c = committed.partitions.find((p) => p.partition === e.partition);
          return BigInt(e.high) === 0n || (c !== undefined && BigInt(c.offset) >= BigInt(e.high));
        });
      },
      timeoutMs,
    );
  } finally {
    await admin.disconnect();
  }
}

/**
 * The seed of a randomised test: `TEST_SEED` replays a failure, otherwise a fresh one. Printed
 * through `diagnostic` so every failing run says how to replay it.
 */
export function testSeed(diagnostic: (msg: string) => void): number {
  const seed = Number(process.env.TEST_SEED ?? Date.now() % 1_000_000);
  diagnostic(`seed ${seed} (TEST_SEED=${seed} replays it)`);
  return seed;
}

/** A `meterstream <command>` child process, as an operator starts it. */
export interface ServiceProcess {
  child: ChildProcess;
  /** Resolves when the process printed `meterstream: ready`; rejects if it exits first. */
  ready: Promise<void>;
  exited: Promise<number | null>;
  output: () => string;
}

/** Starts `meterstream <command>` with the test's environment on top of this process's. */
export function startService(command: string, env: Record<string, string>): ServiceProcess {
  const child = spawn(process.execPath, [repoPath('bin', 'meterstream.mjs'), command], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const ready = new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', () => out.includes('meterstream: ready') && resolve());
    void exited.then((code) => reject(new Error(`meterstream ${command} exited (${code}) before ready:\n${out}`)));
  });
  return { child, ready, exited, output: () => out };
}

export { withClickHouseFaults, type ClickHouseFaults, type FaultCounts } from './testing/clickhouse-faults.js';
export { cuttableKafkaNetwork, type KafkaNetwork } from './testing/kafka-network.js';
export { spawnChdbHttpFront, type ChdbHttpFront } from './testing/chdb-http-front.js';
