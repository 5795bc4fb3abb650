/**
 * Prometheus metrics shared by the services. Names follow `meterstream_<thing>_<unit>`;
 * labels are bounded (service, topic, partition, kind, reason, table) — never a meter ID or
 * pseudonym. Each service gets a registry passed in; `collectDefaultMetrics` adds process RSS,
 * event-loop lag and GC.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** A registry with the process metrics and the default `service` label. */
export function createRegistry(service: string): Registry {
  const registry = new Registry();
  registry.setDefaultLabels({ service });
  collectDefaultMetrics({ register: registry, prefix: 'meterstream_' });
  return registry;
}

/** Metrics of Kafka consumption and ClickHouse writes, common to every consuming service. */
export interface PipelineMetrics {
  messagesConsumed: Counter<'topic'>;
  consumerLag: Gauge<'topic' | 'group' | 'partition'>;
  eventTimeLag: Gauge<'topic'>;
  batchMessages: Histogram<'topic'>;
  batchDuration: Histogram<'topic'>;
  rowsInserted: Counter<'table'>;
  insertDuration: Histogram<'table'>;
  insertErrors: Counter<'table' | 'retriable'>;
  dlqMessages: Counter<'reason' | 'source'>;
  /** 1 while a consumer runs its partitions, 0 while it is down or recovering. */
  consumerRunning: Gauge<'topic' | 'group'>;
  /** Consumers restarted by the service after kafkajs gave up on them, by error name. */
  consumerRestarts: Counter<'topic' | 'group' | 'error'>;
  /** Transactions aborted and retried in a fresh one because a sink outlasted the budget. */
  transactionsAborted: Counter<'topic' | 'reason'>;
}

/** Creates the pipeline metrics once per registry (second call returns the same metrics). */
export function pipelineMetrics(registry: Registry): PipelineMetrics {
  const existing = cache.get(registry);
  if (existing) return existing;
  const m: PipelineMetrics = {
    messagesConsumed: new Counter({
      name: 'meterstream_kafka_messages_consumed_total',
      help: 'Kafka messages consumed.',
      labelNames: ['topic'],
      registers: [registry],
    }),
    consumerLag: new Gauge({
      name: 'meterstream_kafka_consumer_lag_messages',
      help: 'Messages behind the partition high watermark after the last batch, per partition this member owns.',
      labelNames: ['topic', 'group', 'partition'],
      registers: [registry],
    }),
    eventTimeLag: new Gauge({
      name: 'meterstream_event_time_lag_seconds',
      help: 'Age of the newest reading time in the last batch (now - reading time).',
      labelNames: ['topic'],
      registers: [registry],
    }),
    batchMessages: new Histogram({
      name: 'meterstream_kafka_batch_messages',
      help: 'Messages per processed Kafka batch.',
      labelNames: ['topic'],
      buckets: [1, 10, 100, 1000, 5000, 20000, 100000, 500000],
      registers: [registry],
    }),
    batchDuration: new Histogram({
      name: 'meterstream_kafka_batch_duration_seconds',
      help: 'Time to process one Kafka batch, decode to offset commit.',
      labelNames: ['topic'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    }),
    rowsInserted: new Counter({
      name: 'meterstream_clickhouse_rows_inserted_total',
      help: 'Rows inserted into ClickHouse.',
      labelNames: ['table'],
      registers: [registry],
    }),
    insertDuration: new Histogram({
      name: 'meterstream_clickhouse_insert_duration_seconds',
      help: 'Duration of one ClickHouse insert.',
      labelNames: ['table'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    }),
    insertErrors: new Counter({
      name: 'meterstream_clickhouse_insert_errors_total',
      help: 'Failed ClickHouse inserts.',
      labelNames: ['table', 'retriable'],
      registers: [registry],
    }),
    dlqMessages: new Counter({
      name: 'meterstream_dlq_messages_total',
      help: 'Messages sent to the dead-letter topic, by reason code and source topic.',
      labelNames: ['reason', 'source'],
      registers: [registry],
    }),
    consumerRunning: new Gauge({
      name: 'meterstream_kafka_consumer_running',
      help: '1 while the consumer runs its partitions, 0 while it is down or being restarted.',
      labelNames: ['topic', 'group'],
      registers: [registry],
    }),
    consumerRestarts: new Counter({
      name: 'meterstream_kafka_consumer_restarts_total',
      help: 'Consumers (with their transactional producers) recreated after a crash, by error name.',
      labelNames: ['topic', 'group', 'error'],
      registers: [registry],
    }),
    transactionsAborted: new Counter({
      name: 'meterstream_kafka_transactions_aborted_total',
      help: 'Kafka transactions aborted and retried in a fresh one, by reason.',
      labelNames: ['topic', 'reason'],
      registers: [registry],
    }),
  };
  cache.set(registry, m);
  return m;
}

const cache = new WeakMap<Registry, PipelineMetrics>();
