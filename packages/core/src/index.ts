/**
 * @meterstream/core: what every meterstream service shares. An explicit list, as fastify and
 * kafkajs keep theirs: what is not exported here is private to the package. Test support is
 * the one other entry point (`@meterstream/core/testing`).
 */
export { MeterError, ConfigError, isMeterError, type MeterErrorCode, type RecordContext } from './errors.js';
export {
  loadConfig,
  requirePseudonymKey,
  type AggregatorConfig,
  type AnomalyConfig,
  type ClickHouseConfig,
  type DetectorSettings,
  type FetchConfig,
  type IngestorConfig,
  type KafkaConfig,
  type MeterstreamConfig,
  type NotifierConfig,
  type RetentionConfig,
  type TopicRetentionConfig,
  type TopicsConfig,
} from './config.js';
export { VARIABLES, type Variable } from './config/settings.js';
export type { WebhookConfig } from './config/notifier-settings.js';
export type { ZoneInflows } from './config/zone-inflows.js';
export { parsePseudonymKey } from './config/parse.js';
export { DETECTOR_DEFAULTS } from './config/detectors.js';
export { renderConfigurationDoc } from './config/doc.js';
export { REPO_ROOT, repoPath } from './paths.js';
export { Pseudonymiser, pseudonymOf, type PseudonymiserOptions } from './pseudonym.js';
export { canonicalFactor, canonicalUnit, toCanonical } from './units.js';
export { EXIT_NOT_DRAINED, sharedPromise, sleep, stopOnSignals, type Stage } from './lifecycle.js';
export {
  AvroCodec,
  createAvroCodec,
  loadSchemaSet,
  type Alert,
  type AlertSeverity,
  type AlertStatus,
  type AlertType,
  type BatchReading,
  type CleanReading,
  type CleanReadingBatch,
  type HourlyBatch,
  type HourlyValue,
  type Invoice,
  type MeterKind,
  type MeterReading,
  type MeterReadingBatch,
  type Quality,
  type HourSource,
  type ReadingType,
  type RecordName,
  type SpotPrice,
  type Unit,
} from './avro/index.js';
export { clickHouseReadiness, createClickHouse, type ClickHouseClient } from './clickhouse/client.js';
export { urgently } from './clickhouse/engine-queue.js';
export { migrate, type MigrateOptions, type MigrateResult } from './clickhouse/migrations.js';
export {
  insertDeduplicationToken,
  insertTsv,
  isBadDataError,
  isRetriableClickHouseError,
  isStorableTime,
  sinkInsertOptions,
  STORABLE_TIME,
  tsvEscape,
  tsvMillis,
  tsvNullable,
  type InsertOptions,
  type InsertOrigin,
} from './clickhouse/insert.js';
export {
  assertKafkajsPatched,
  createKafka,
  ensureTopics,
  resolveBrokers,
  type Kafka,
  type TopicSpec,
} from './kafka/client.js';
export { applyTopicRetention, ownedTopicRetention, readTopicRetention } from './kafka/topic-retention.js';
export { createHttpServer, errorResponses, type HttpServerOptions, type ReadinessCheck } from './http/server.js';
export {
  Access,
  HttpError,
  authenticate,
  canAdmin,
  canRead,
  isAdmin,
  notFound,
  principalOf,
  requireAdmin,
  tenantCondition,
  tenantsOf,
  type Principal,
} from './http/access.js';
export { ADMIN_TOKEN_NAME, API_TOKEN_NAME, sha256Hex, type Credential, type Role } from './config/credentials.js';
export { createLogger, type Logger } from './telemetry/logger.js';
export { createRegistry, pipelineMetrics, type PipelineMetrics } from './telemetry/metrics.js';
export {
  TransactionalConsumer,
  type BatchHandler,
  type BatchOutput,
  type TransactionalConsumerOptions,
} from './kafka/transactional-consumer.js';
export {
  DLQ_HEADERS,
  deadLetterReason,
  deadLetterRecords,
  observeDeadLetters,
  type DeadLetter,
} from './kafka/dead-letter.js';
export { ENVELOPE_HEADERS, chunkBySize, recordBytes, splitToFit, tooLargeEnvelope } from './kafka/record-limits.js';
export { eraseMeter, meterTables, storedMeterRows } from './clickhouse/meter-data.js';
export { ErasureNotifier, type ErasureListener } from './erasure-notifier.js';
export {
  ErasedMeters,
  erasedRefusedCounter,
  refusingErased,
  withoutErased,
  type BlockRequest,
  type ErasedMetersOptions,
  type RefusingStage,
} from './erased-meters.js';
export { registerMeterDataRoutes, type OutsideCopy } from './http/meter-data.routes.js';
export type { ServiceDeps } from './service-deps.js';
