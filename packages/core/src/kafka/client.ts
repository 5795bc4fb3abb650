/**
 * Kafka plumbing shared by the services: a kafkajs client from resolved config with its logs
 * routed to pino, topic creation, and the local broker for one-machine runs.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { Kafka, logLevel, type Admin, type LogEntry, type SASLOptions } from 'kafkajs';
import type { KafkaConfig } from '../config.js';
import { MeterError } from '../errors.js';
import { kafkajsLogLevel } from './kafkajs-log-level.js';
import { repoPath } from '../paths.js';
import type { Logger } from '../telemetry/logger.js';

export type { Kafka };

/** The marker of patches/kafkajs+2.2.4.patch in the producer's send path. */
const SEND_PATCH_MARKER = 'meterstream patch (patches/kafkajs+2.2.4.patch)';

/**
 * Refuses to run on an unpatched kafkajs. kafkajs 2.2.4 keeps a produce response per broker
 * across retries: when a broker is lost mid-send and its partitions move to a broker that had
 * already answered, those partitions are never sent and send() resolves, inside a transaction
 * too (records lost, offsets committed). The patch, applied by `npm ci` (patch-package), keeps
 * progress per partition; an install with --ignore-scripts leaves it out.
 */
export function assertKafkajsPatched(): void {
  const file = createRequire(import.meta.url).resolve('kafkajs/src/producer/sendMessages.js');
  if (!readFileSync(file, 'utf8').includes(SEND_PATCH_MARKER))
    throw new MeterError(
      'METER_ERR_KAFKA',
      `kafkajs is not patched (${file}): run \`npm ci\` with its install scripts (patch-package applies patches/kafkajs+2.2.4.patch)`,
    );
}

/** Creates a kafkajs client; `brokers` must be resolved (see {@link resolveBrokers}). */
export function createKafka(config: KafkaConfig, brokers: string[], logger: Logger): Kafka {
  assertKafkajsPatched();
  const log = logger.child({ component: 'kafkajs' });
  return new Kafka({
    clientId: config.clientId,
    brokers,
    ssl: config.ssl,
    sasl: (config.sasl ?? undefined) as SASLOptions | undefined,
    connectionTimeout: 10_000,
    requestTimeout: 60_000,
    // No client-level `retry`: idempotent producers inherit it and a bounded retry count
    // would weaken their exactly-once guarantee (kafkajs warns about it).
    logLevel: logLevel.INFO,
    // Routine consumer-group traffic (rebalances, rejoins, coordinator moves) is info or
    // debug, not the warnings kafkajs makes of it: see kafkajs-log-level.ts.
    logCreator: () => (entry: LogEntry) => {
      const { message, ...extra } = entry.log;
      const level = kafkajsLogLevel({
        level: entry.level,
        namespace: entry.namespace,
        message,
        error: (extra as { error?: unknown }).error,
      });
      if (level !== null) log[level]({ ns: entry.namespace, ...extra }, message);
    },
  });
}

/** The configured brokers, or the project's local broker (started when not running). */
export async function resolveBrokers(config: KafkaConfig, logger: Logger): Promise<string[]> {
  if (config.brokers !== null) return config.brokers;
  const local = (await import(pathToFileURL(repoPath('scripts', 'kafka', 'local-kafka.mjs')).href)) as {
    startLocalKafka: (opts?: object) => Promise<{ brokers: string }>;
  };
  logger.info('KAFKA_BROKERS is unset: using the local single-node broker');
  const { brokers } = await local.startLocalKafka();
  return [brokers];
}

/** A topic to create when missing. */
export interface TopicSpec {
  topic: string;
  numPartitions: number;
  configEntries?: { name: string; value: string }[];
}

/**
 * Creates the topics that do not exist; returns every topic's partition count. Retriable
 * broker errors (a broker still electing leaders after a start) are retried with backoff.
 */
export async function ensureTopics(admin: Admin, specs: TopicSpec[]): Promise<Map<string, number>> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await ensureTopicsOnce(admin, specs);
    } catch (err) {
      const retriable = (err as { retriable?: boolean }).retriable === true;
      if (!retriable || attempt >= 10) throw err;
      await new Promise((r) => setTimeout(r, 500 * attempt));
    }
  }
}

async function ensureTopicsOnce(admin: Admin, specs: TopicSpec[]): Promise<Map<string, number>> {
  const existing = new Set(await admin.listTopics());
  const missing = specs.filter((s) => !existing.has(s.topic));
  if (missing.length > 0) {
    await admin.createTopics({
      waitForLeaders: true,
      topics: missing.map((s) => ({ topic: s.topic, numPartitions: s.numPartitions, configEntries: s.configEntries })),
    });
  }
  const meta = await admin.fetchTopicMetadata({ topics: specs.map((s) => s.topic) });
  const counts = new Map<string, number>();
  for (const t of meta.topics) counts.set(t.name, t.partitions.length);
  for (const s of specs) {
    if (!counts.has(s.topic))
      throw new MeterError('METER_ERR_KAFKA', `topic ${s.topic} could not be created`, { retriable: true });
  }
  return counts;
}
