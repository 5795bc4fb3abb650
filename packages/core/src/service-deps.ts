/** What every service is built from (one of each per process, shared by the services in it). */
import type { Registry } from 'prom-client';
import type { Kafka } from 'kafkajs';
import type { AvroCodec } from './avro/index.js';
import type { ClickHouseClient } from './clickhouse/client.js';
import type { ErasedMeters } from './erased-meters.js';
import type { ErasureNotifier } from './erasure-notifier.js';
import type { MeterstreamConfig } from './config.js';
import type { Logger } from './telemetry/logger.js';

export interface ServiceDeps {
  config: MeterstreamConfig;
  kafka: Kafka;
  clickhouse: ClickHouseClient;
  registry: Registry;
  logger: Logger;
  /** Shared codec (one per process); built from config when absent. */
  codec?: AvroCodec;
  /**
   * Erasures made in this process (one notifier per process, also given to the data API's
   * erasure route). Absent: erasures are only learnt from `erasure_audit`.
   */
  erasures?: ErasureNotifier;
  /**
   * The erased pseudonyms, which the stages refuse (one per process, started by the process's
   * composition). Absent (unit tests of a stage alone): nothing is refused.
   */
  erased?: ErasedMeters;
}
