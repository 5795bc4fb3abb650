/** @meterstream/core: what every meterstream service shares. */
export * from './errors.js';
export * from './config.js';
export * from './paths.js';
export * from './pseudonym.js';
export * from './lifecycle.js';
export * from './avro/index.js';
export * from './clickhouse/client.js';
export { urgently } from './clickhouse/engine-queue.js';
export * from './clickhouse/migrations.js';
export * from './clickhouse/insert.js';
export * from './kafka/client.js';
export * from './http/server.js';
export * from './telemetry/logger.js';
export * from './telemetry/metrics.js';
export * from './kafka/transactional-consumer.js';
export * from './kafka/dead-letter.js';
export { erasures, eraseMeter } from './clickhouse/meter-data.js';
export { registerMeterDataRoutes } from './http/meter-data.routes.js';
