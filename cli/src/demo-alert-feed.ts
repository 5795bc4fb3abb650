/**
 * The demo's live alert lines: a consumer of the alerts topic in a group of its own, printing
 * one line per alert state change (see alert-line.ts). It reads committed records only
 * (read_committed, the kafkajs default), so a line appears once the anomaly service's
 * transaction is committed, never for an alert that was aborted and published again. Its group
 * commits what it printed: a restarted demo goes on from there instead of repeating the past.
 * Decoupled from the anomaly service on purpose: the feed shows what any consumer of the
 * topic sees.
 */
import { AvroCodec, sharedPromise, type Kafka, type Logger, type MeterstreamConfig } from '@meterstream/core';
import { formatAlertLine } from './alert-line.js';

/** The feed's consumer group, beside the anomaly service's groups (so a test's prefix isolates it too). */
export const alertFeedGroupId = (config: MeterstreamConfig): string => `${config.anomaly.groupId}-demo-terminal`;

export interface AlertFeed {
  /** Leaves the group (committing what was printed); every call shares the first one's promise. */
  stop: () => Promise<void>;
}

/** Starts the feed on an existing alerts topic; resolves once the consumer runs. */
export async function startAlertFeed(options: {
  kafka: Kafka;
  config: MeterstreamConfig;
  logger: Logger;
  /** Receives each line, without its newline. */
  write: (line: string) => void;
}): Promise<AlertFeed> {
  const { config, logger, write } = options;
  const codec = new AvroCodec({ schemaRegistryUrl: config.schemaRegistryUrl ?? undefined });
  const consumer = options.kafka.consumer({
    groupId: alertFeedGroupId(config),
    readUncommitted: false,
    allowAutoTopicCreation: false,
    maxWaitTimeInMs: config.kafka.fetch.maxWaitTimeInMs,
  });
  const stop = sharedPromise(() => consumer.disconnect());
  try {
    await consumer.connect();
    await consumer.subscribe({ topic: config.topics.alerts, fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ topic, partition, message }) => {
        if (message.value === null) return;
        try {
          const decoded = await codec.decodeAsync(message.value);
          if (decoded.schema === 'Alert') write(formatAlertLine(decoded.value));
        } catch (err) {
          // Only the terminal misses it; the services read the topic themselves.
          logger.warn({ err, topic, partition, offset: message.offset }, 'demo alert feed: a record it cannot decode');
        }
      },
    });
  } catch (err) {
    await stop().catch(() => {});
    throw err;
  }
  return { stop };
}
