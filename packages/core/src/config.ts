/**
 * Configuration, resolved once at start-up from the environment into a frozen object.
 *
 * Every variable is declared once in `config/settings.ts` and `config/detector-settings.ts`
 * (section, parser and bounds, default, meaning); this file says where each value goes.
 * docs/configuration.md is generated from the declarations (`npm run docs:config`). A bad
 * value, or a `METERSTREAM_*` variable nobody declared (a typo), stops start-up with a
 * `ConfigError` naming the variable. Components never read `process.env`: they get this
 * object, or the part of it they need.
 */
import { availableParallelism, hostname } from 'node:os';
import { dirname, join } from 'node:path';
import { ConfigError } from './errors.js';
import { credentialsOf, type Credential } from './config/credentials.js';
import { detectorSettingsOf, tenantOverridesOf } from './config/detectors.js';
import type { ZoneLossSettings } from './config/detector-settings.js';
import { resolveVariables, type Env, type Values } from './config/resolve.js';
import type { WebhookConfig } from './config/notifier-settings.js';
import { SETTINGS } from './config/settings.js';
import { zoneInflowsOf, type ZoneInflows } from './config/zone-inflows.js';

/** Kafka connection settings. */
export interface KafkaConfig {
  /** Broker list; `null` means "start or reuse the project's local broker". */
  brokers: string[] | null;
  /** Client id sent to the brokers (shows in broker logs and quotas). */
  clientId: string;
  /** Use TLS to the brokers. */
  ssl: boolean;
  /** SASL settings, or `null` for none. */
  sasl: { mechanism: 'plain' | 'scram-sha-256' | 'scram-sha-512'; username: string; password: string } | null;
  /** Fetch sizes of every consumer (kafkajs consumer options of the same names). */
  fetch: FetchConfig;
  /**
   * Fetch settings of the consumers whose cost is per batch rather than per message (the
   * aggregator's recomputes, the anomaly service's hourly replays): they wait for fuller
   * fetches when configured so (by default the same as `fetch`: measured, larger statements on
   * the embedded engine delay the latency path more than fewer statements help it).
   */
  bulkFetch: FetchConfig;
}

/** Kafka fetch settings: memory per batch and how long the broker may wait to fill one. */
export interface FetchConfig {
  /** Upper bound of bytes per fetch response; bounds memory per batch. */
  maxBytes: number;
  /** Upper bound of bytes fetched per partition per request. */
  maxBytesPerPartition: number;
  /** Bytes the broker waits for before answering a fetch. */
  minBytes: number;
  /** How long the broker may wait to fill `minBytes` (ms): larger means fewer, larger inserts. */
  maxWaitTimeInMs: number;
}

/** ClickHouse connection settings. */
export interface ClickHouseConfig {
  /** HTTP(S) URL of a ClickHouse server; `null` means the embedded engine (chDB). */
  url: string | null;
  user: string;
  password: string;
  /** Database holding every meterstream table. */
  database: string;
  /**
   * Cluster name of a sharded, replicated ClickHouse (`ON CLUSTER`, Replicated local tables behind
   * Distributed ones), or `null` for a single node or the embedded engine.
   */
  cluster: string | null;
  /** Directory of the embedded engine's data (only used when `url` is null). */
  dataDir: string;
}

/** Kafka topic names (the design's defaults). */
export interface TopicsConfig {
  readings: string;
  invoices: string;
  /** Day-ahead spot prices per price area and hour (input of the price-weighted invoice check). */
  prices: string;
  clean: string;
  hourly: string;
  alerts: string;
  dlq: string;
  /** Dead letters of alert deliveries that failed for good (the notifier's). */
  alertsDlq: string;
}

/** Retention of each table, applied as ClickHouse TTL on every start. */
export interface RetentionConfig {
  /** `readings_raw`: days after the reading's time. */
  rawDays: number;
  /** `readings_hourly`: days after the hour. */
  hourlyDays: number;
  /** `alerts`: days after the alert started. */
  alertsDays: number;
  /** `invoice_checks`: whole years after the end of the fiscal (calendar) year of the period end. */
  invoiceChecksYears: number;
  /** `erasure_audit`: days after the erasure. */
  auditDays: number;
}

/** Kafka retention (days) of the topics meterstream writes, applied on every start. */
export interface TopicRetentionConfig {
  cleanDays: number;
  hourlyDays: number;
  alertsDays: number;
  /** The dead-letter topic holds records as received, raw meter IDs included. */
  dlqDays: number;
}

/** Ingestor settings. */
export interface IngestorConfig {
  /** Kafka consumer group of the ingestors. */
  groupId: string;
  /** Largest number of readings one `MeterReadingBatch` may carry. */
  maxBatchReadings: number;
  /** How far in the future (ms, against the ingestor's clock) a reading's time may lie. */
  maxFutureMs: number;
  /** Partition batches processed at once, each with its own transactional producer. */
  concurrency: number;
}

/** Aggregator settings. */
export interface AggregatorConfig {
  /** Kafka consumer group of the aggregators. */
  groupId: string;
  /** Worker threads of the roll-up pool. */
  workers: number;
  /** Partition batches processed at once, each with its own transactional producer. */
  concurrency: number;
  /**
   * Register/interval reconciliation: a register span whose difference disagrees with the sum
   * of the intervals covering it by more than max(`units`, `percent` % of that sum) is a mismatch.
   */
  registerMismatch: { units: number; percent: number };
}

/**
 * Detector thresholds (DOMAIN.md's defaults). Every one can be overridden per tenant with
 * `METERSTREAM_TENANT_DETECTORS`.
 */
export interface DetectorSettings extends ZoneLossSettings {
  /** IANA time zone of the tenant's local night and days. */
  timeZone: string;
  /** Local night window [nightStartHour, nightEndHour). */
  nightStartHour: number;
  nightEndHour: number;
  /** Minimum night flow (L/h) above which a night counts as leaky (WARNING). */
  nightFlowWarningLph: number;
  /** Minimum night flow (L/h) above which a leak is CRITICAL. */
  nightFlowCriticalLph: number;
  /** Consecutive leaky nights before NIGHT_FLOW fires. */
  nightFlowNights: number;
  /** Hours without a zero-flow hour that count as continuous flow. */
  continuousFlowHours: number;
  /** Flow (L/h) above which water use is a burst. */
  burstLph: number;
  /** Minutes the burst flow must last. */
  burstMinutes: number;
  /** Room temperature (°C) at or below which FROST_RISK is a WARNING / CRITICAL. */
  frostWarningC: number;
  frostCriticalC: number;
  /** Temperature (°C) at or above which FROST_RISK resolves (hysteresis). */
  frostResolveC: number;
  /** Hours of the linear fit, and the horizon (hours) within which a fit reaching 0 °C warns. */
  frostTrendHours: number;
  frostHorizonHours: number;
  /** Silence (hours) before METER_SILENT, at least; or `silenceIntervals` x the usual gap. */
  silenceHours: number;
  silenceIntervals: number;
  /** Invoice tolerance: max(abs units, pct % of the metered quantity). */
  invoiceToleranceAbs: number;
  invoiceTolerancePct: number;
  /** Days after an invoice period's end until missing data makes it INSUFFICIENT_DATA. */
  invoiceWaitDays: number;
  /** Amount tolerance: max(this, `invoiceTolerancePct` % of the expected amount), in the invoice's currency. */
  invoiceAmountToleranceAbs: number;
  /** The retailer's markup per kWh on the hourly spot price, in the invoice's currency. */
  tariffMarkupPerKwh: number;
  /** The retailer's fixed fee per invoice (billing period), in the invoice's currency. */
  tariffFixedFee: number;
}

/** Anomaly service settings. */
export interface AnomalyConfig {
  /** Consumer group prefix of the anomaly service (one group per input topic). */
  groupId: string;
  /** Partition batches processed at once per input topic. */
  concurrency: number;
  /** The default thresholds. */
  detectors: DetectorSettings;
  /** Per-tenant overrides of the defaults. */
  tenants: Record<string, Partial<DetectorSettings>>;
  /** Per tenant and zone, the pseudonyms of the zone's inflow meters (`METERSTREAM_ZONE_INFLOWS`). */
  zoneInflows: ZoneInflows;
}

/** Notifier settings: where alert state changes are delivered, and how retries go. */
export interface NotifierConfig {
  /** Kafka consumer group of the notifiers. */
  groupId: string;
  /** Alertmanager base URL (API v2), or `null` for none. */
  alertmanagerUrl: string | null;
  /** Signed webhooks, each with its tenants and alert types. */
  webhooks: readonly WebhookConfig[];
  /** Retries of one delivery to one sink after its first attempt, before it is dead-lettered. */
  retries: number;
  /** First pause between retries (ms); doubles after each, up to `maxBackoffMs`. */
  backoffMs: number;
  /** Longest pause between retries (ms). */
  maxBackoffMs: number;
  /** Timeout of one HTTP attempt (ms). */
  timeoutMs: number;
  /** Period of the silence refresh and the release of held notifications (ms). */
  sweepMs: number;
}

/** The whole resolved configuration. */
export interface MeterstreamConfig {
  kafka: KafkaConfig;
  clickhouse: ClickHouseConfig;
  topics: TopicsConfig;
  retention: RetentionConfig;
  topicRetention: TopicRetentionConfig;
  ingestor: IngestorConfig;
  aggregator: AggregatorConfig;
  anomaly: AnomalyConfig;
  notifier: NotifierConfig;
  /** HMAC key for pseudonyms (>= 32 bytes), or `null` when none was given. */
  pseudonymKey: Buffer | null;
  /**
   * The `/v1` tokens, hashed (`METERSTREAM_TOKENS` and the two shorthands); none: every `/v1`
   * route refuses.
   */
  credentials: readonly Credential[];
  /** Confluent-compatible schema registry, or `null` to accept single-object encoding only. */
  schemaRegistryUrl: string | null;
  /** HTTP port (`0` picks a free one). */
  port: number;
  /** HTTP bind address. */
  host: string;
  /** Stable name of this instance; the ingestor's Kafka transactional id derives from it. */
  instanceId: string;
  /** pino log level. */
  logLevel: string;
  /** How long a SIGTERM drain may take before the process exits without draining (ms). */
  shutdownTimeoutMs: number;
  /** `/v1` requests per minute per token (0: unlimited). */
  rateLimitPerMinute: number;
  /** Erased pseudonyms: re-read period (ms) and the fence an erasure waits for writes in flight (ms). */
  erasure: { refreshMs: number; fenceMs: number };
  /** Where `meterstream demo` keeps the key, tokens and fleet state it generates (0700 dir, 0600 files). */
  demoDir: string;
}

function sasl(v: Values): KafkaConfig['sasl'] {
  const mechanism = v.KAFKA_SASL_MECHANISM;
  if (mechanism === null) return null;
  const username = v.KAFKA_SASL_USERNAME;
  const password = v.KAFKA_SASL_PASSWORD;
  if (username === null) throw new ConfigError('KAFKA_SASL_USERNAME', 'required when KAFKA_SASL_MECHANISM is set');
  if (password === null) throw new ConfigError('KAFKA_SASL_PASSWORD', 'required when KAFKA_SASL_MECHANISM is set');
  return { mechanism, username, password };
}

function clusterOf(v: Values): string | null {
  if (v.CLICKHOUSE_CLUSTER !== null && v.CLICKHOUSE_URL === null)
    throw new ConfigError('CLICKHOUSE_CLUSTER', 'needs CLICKHOUSE_URL (the embedded engine is one node)');
  return v.CLICKHOUSE_CLUSTER;
}

function deepFreeze<T>(o: T): T {
  if (o && typeof o === 'object' && !Buffer.isBuffer(o)) {
    for (const v of Object.values(o)) deepFreeze(v);
    Object.freeze(o);
  }
  return o;
}

/**
 * Resolves the configuration from an environment (default `process.env`).
 * Throws `ConfigError` naming the first bad variable.
 */
export function loadConfig(env: Env = process.env): MeterstreamConfig {
  const v = resolveVariables(env);
  const detectors = detectorSettingsOf(v);
  const fetchBytes = {
    maxBytes: v.METERSTREAM_FETCH_MAX_BYTES,
    maxBytesPerPartition: v.METERSTREAM_FETCH_MAX_BYTES_PER_PARTITION,
  };
  const config: MeterstreamConfig = {
    kafka: {
      brokers: v.KAFKA_BROKERS,
      clientId: v.KAFKA_CLIENT_ID,
      ssl: v.KAFKA_SSL,
      sasl: sasl(v),
      fetch: {
        ...fetchBytes,
        minBytes: v.METERSTREAM_FETCH_MIN_BYTES,
        maxWaitTimeInMs: v.METERSTREAM_FETCH_MAX_WAIT_MS,
      },
      bulkFetch: {
        ...fetchBytes,
        minBytes: v.METERSTREAM_BULK_FETCH_MIN_BYTES,
        maxWaitTimeInMs: v.METERSTREAM_BULK_FETCH_MAX_WAIT_MS,
      },
    },
    clickhouse: {
      url: v.CLICKHOUSE_URL,
      user: v.CLICKHOUSE_USER,
      password: v.CLICKHOUSE_PASSWORD,
      database: v.CLICKHOUSE_DATABASE,
      cluster: clusterOf(v),
      dataDir: v.METERSTREAM_DATA_DIR,
    },
    topics: {
      readings: v.METERSTREAM_TOPIC_READINGS,
      invoices: v.METERSTREAM_TOPIC_INVOICES,
      prices: v.METERSTREAM_TOPIC_PRICES,
      clean: v.METERSTREAM_TOPIC_CLEAN,
      hourly: v.METERSTREAM_TOPIC_HOURLY,
      alerts: v.METERSTREAM_TOPIC_ALERTS,
      dlq: v.METERSTREAM_TOPIC_DLQ,
      alertsDlq: v.METERSTREAM_TOPIC_ALERTS_DLQ,
    },
    retention: {
      rawDays: v.METERSTREAM_RAW_TTL_DAYS,
      hourlyDays: v.METERSTREAM_HOURLY_TTL_DAYS,
      alertsDays: v.METERSTREAM_ALERTS_TTL_DAYS,
      invoiceChecksYears: v.METERSTREAM_INVOICE_CHECKS_TTL_YEARS,
      auditDays: v.METERSTREAM_AUDIT_TTL_DAYS,
    },
    topicRetention: {
      cleanDays: v.METERSTREAM_CLEAN_RETENTION_DAYS,
      hourlyDays: v.METERSTREAM_HOURLY_RETENTION_DAYS,
      alertsDays: v.METERSTREAM_ALERTS_RETENTION_DAYS,
      dlqDays: v.METERSTREAM_DLQ_RETENTION_DAYS,
    },
    ingestor: {
      groupId: v.METERSTREAM_INGESTOR_GROUP_ID,
      maxBatchReadings: v.METERSTREAM_MAX_BATCH_READINGS,
      maxFutureMs: v.METERSTREAM_MAX_FUTURE_SECONDS * 1000,
      concurrency: v.METERSTREAM_INGESTOR_CONCURRENCY,
    },
    aggregator: {
      groupId: v.METERSTREAM_AGGREGATOR_GROUP_ID,
      workers: v.METERSTREAM_AGGREGATOR_WORKERS ?? availableParallelism(),
      concurrency: v.METERSTREAM_AGGREGATOR_CONCURRENCY,
      registerMismatch: {
        units: v.METERSTREAM_REGISTER_MISMATCH_UNITS,
        percent: v.METERSTREAM_REGISTER_MISMATCH_PERCENT,
      },
    },
    anomaly: {
      groupId: v.METERSTREAM_ANOMALY_GROUP_ID,
      concurrency: v.METERSTREAM_ANOMALY_CONCURRENCY,
      detectors,
      tenants: tenantOverridesOf(v.METERSTREAM_TENANT_DETECTORS, detectors),
      zoneInflows: zoneInflowsOf(v.METERSTREAM_ZONE_INFLOWS, v.METERSTREAM_PSEUDONYM_KEY),
    },
    notifier: {
      groupId: v.METERSTREAM_NOTIFIER_GROUP_ID,
      alertmanagerUrl: v.METERSTREAM_ALERTMANAGER_URL,
      webhooks: v.METERSTREAM_WEBHOOKS,
      retries: v.METERSTREAM_NOTIFIER_RETRIES,
      backoffMs: v.METERSTREAM_NOTIFIER_BACKOFF_MS,
      maxBackoffMs: Math.max(30_000, v.METERSTREAM_NOTIFIER_BACKOFF_MS),
      timeoutMs: v.METERSTREAM_NOTIFIER_TIMEOUT_MS,
      sweepMs: v.METERSTREAM_NOTIFIER_SWEEP_SECONDS * 1000,
    },
    pseudonymKey: v.METERSTREAM_PSEUDONYM_KEY,
    credentials: credentialsOf(v.METERSTREAM_TOKENS, v.METERSTREAM_API_TOKEN, v.METERSTREAM_ADMIN_TOKEN),
    schemaRegistryUrl: v.SCHEMA_REGISTRY_URL,
    port: v.PORT,
    host: v.HOST,
    // Unset: the host name, held to the same rule as a configured id.
    instanceId:
      v.METERSTREAM_INSTANCE_ID ?? SETTINGS.METERSTREAM_INSTANCE_ID.parser.parse(hostname(), 'METERSTREAM_INSTANCE_ID'),
    logLevel: v.LOG_LEVEL,
    shutdownTimeoutMs: v.METERSTREAM_SHUTDOWN_TIMEOUT_SECONDS * 1000,
    rateLimitPerMinute: v.METERSTREAM_RATE_LIMIT_PER_MINUTE,
    erasure: {
      refreshMs: v.METERSTREAM_ERASED_REFRESH_SECONDS * 1000,
      fenceMs: v.METERSTREAM_ERASURE_FENCE_SECONDS * 1000,
    },
    demoDir: v.METERSTREAM_DEMO_DIR ?? join(dirname(v.METERSTREAM_DATA_DIR.replace(/\/+$/, '') || '/'), 'demo-keys'),
  };
  return deepFreeze(config);
}

/** The key, or a ConfigError naming the variable: services that pseudonymise refuse to start without it. */
export function requirePseudonymKey(config: MeterstreamConfig): Buffer {
  if (config.pseudonymKey === null) {
    throw new ConfigError(
      'METERSTREAM_PSEUDONYM_KEY',
      'required (hex, at least 32 bytes); generate one with `openssl rand -hex 32` and keep it apart from the data',
    );
  }
  return config.pseudonymKey;
}
