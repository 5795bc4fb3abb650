/**
 * Configuration, resolved once at start-up from the environment into a frozen object.
 *
 * Every variable is declared once in `VARIABLES` (name, default, parser, meaning); the README's
 * configuration table is checked against this list in a test. A bad value, or a `METERSTREAM_*`
 * variable nobody declared (a typo), stops start-up with a `ConfigError` naming the variable.
 * Components never read `process.env`: they get this object, or the part of it they need.
 */
import { availableParallelism, hostname } from 'node:os';
import { ConfigError } from './errors.js';

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
  /** Directory of the embedded engine's data (only used when `url` is null). */
  dataDir: string;
}

/** Kafka topic names (the design's defaults). */
export interface TopicsConfig {
  readings: string;
  invoices: string;
  clean: string;
  hourly: string;
  alerts: string;
  dlq: string;
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
}

/** The whole resolved configuration. */
export interface MeterstreamConfig {
  kafka: KafkaConfig;
  clickhouse: ClickHouseConfig;
  topics: TopicsConfig;
  retention: RetentionConfig;
  ingestor: IngestorConfig;
  aggregator: AggregatorConfig;
  /** HMAC key for pseudonyms (>= 32 bytes), or `null` when none was given. */
  pseudonymKey: Buffer | null;
  /** Bearer token for `/v1` read routes; `null` disables them. */
  apiToken: string | null;
  /** Bearer token for export and erasure; `null` disables them. */
  adminToken: string | null;
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
}

type Env = Readonly<Record<string, string | undefined>>;

interface Variable {
  /** Environment variable name. */
  name: string;
  /** Default as written in the README (`(unset)` where absent means something). */
  default: string;
  /** One line for the README. */
  doc: string;
}

/** Every variable meterstream reads, for the README and the unknown-variable check. */
export const VARIABLES: readonly Variable[] = Object.freeze([
  { name: 'KAFKA_BROKERS', default: '(unset: local broker)', doc: 'Comma-separated host:port list of the Kafka cluster.' },
  { name: 'KAFKA_CLIENT_ID', default: 'meterstream', doc: 'Kafka client id.' },
  { name: 'KAFKA_SSL', default: 'false', doc: 'Connect to Kafka over TLS (`true`/`false`).' },
  { name: 'KAFKA_SASL_MECHANISM', default: '(unset: no SASL)', doc: '`plain`, `scram-sha-256` or `scram-sha-512`.' },
  { name: 'KAFKA_SASL_USERNAME', default: '(unset)', doc: 'SASL user name (required with a mechanism).' },
  { name: 'KAFKA_SASL_PASSWORD', default: '(unset)', doc: 'SASL password (required with a mechanism).' },
  { name: 'CLICKHOUSE_URL', default: '(unset: embedded chDB)', doc: 'HTTP(S) URL of a ClickHouse server.' },
  { name: 'CLICKHOUSE_USER', default: 'default', doc: 'ClickHouse user.' },
  { name: 'CLICKHOUSE_PASSWORD', default: '(empty)', doc: 'ClickHouse password.' },
  { name: 'CLICKHOUSE_DATABASE', default: 'meterstream', doc: 'Database holding the tables.' },
  { name: 'METERSTREAM_DATA_DIR', default: './data', doc: 'Data directory of the embedded ClickHouse engine.' },
  { name: 'METERSTREAM_PSEUDONYM_KEY', default: '(required)', doc: 'HMAC key for pseudonyms, hex, at least 32 bytes. Keep it apart from the data.' },
  { name: 'METERSTREAM_API_TOKEN', default: '(unset: /v1 read routes refuse)', doc: 'Bearer token for the `/v1` read routes.' },
  { name: 'METERSTREAM_ADMIN_TOKEN', default: '(unset: export/erasure refuse)', doc: 'Bearer token for export and erasure.' },
  { name: 'SCHEMA_REGISTRY_URL', default: '(unset)', doc: 'Confluent-compatible schema registry; enables Confluent-framed messages.' },
  { name: 'PORT', default: '8080', doc: 'HTTP port of the service (0: any free port).' },
  { name: 'HOST', default: '0.0.0.0', doc: 'HTTP bind address.' },
  { name: 'METERSTREAM_INSTANCE_ID', default: '(host name)', doc: 'Stable instance name; keep it across restarts of the same instance (Kafka transactional id).' },
  { name: 'LOG_LEVEL', default: 'info', doc: 'pino log level (`fatal`..`trace`).' },
  { name: 'METERSTREAM_TOPIC_READINGS', default: 'meter.readings.v1', doc: 'Raw readings topic (input).' },
  { name: 'METERSTREAM_TOPIC_INVOICES', default: 'meter.invoices.v1', doc: 'Invoices topic (input).' },
  { name: 'METERSTREAM_TOPIC_CLEAN', default: 'meter.readings.clean.v1', doc: 'Pseudonymised, validated readings.' },
  { name: 'METERSTREAM_TOPIC_HOURLY', default: 'meter.hourly.v1', doc: 'Hourly rows.' },
  { name: 'METERSTREAM_TOPIC_ALERTS', default: 'meter.alerts.v1', doc: 'Alerts.' },
  { name: 'METERSTREAM_TOPIC_DLQ', default: 'meter.readings.dlq.v1', doc: 'Dead-letter topic: original bytes plus error headers.' },
  { name: 'METERSTREAM_RAW_TTL_DAYS', default: '90', doc: 'Retention of `readings_raw`, days after the reading time.' },
  { name: 'METERSTREAM_HOURLY_TTL_DAYS', default: '1096', doc: 'Retention of `readings_hourly`, days after the hour (3 years).' },
  { name: 'METERSTREAM_ALERTS_TTL_DAYS', default: '365', doc: 'Retention of `alerts`, days after the alert started.' },
  { name: 'METERSTREAM_INVOICE_CHECKS_TTL_YEARS', default: '5', doc: 'Retention of `invoice_checks`, years after the end of the fiscal year.' },
  { name: 'METERSTREAM_INGESTOR_GROUP_ID', default: 'meterstream-ingestor', doc: 'Consumer group of the ingestors.' },
  { name: 'METERSTREAM_MAX_BATCH_READINGS', default: '10000', doc: 'Largest `MeterReadingBatch` accepted; larger ones go to the DLQ.' },
  { name: 'METERSTREAM_MAX_FUTURE_SECONDS', default: '3600', doc: 'Readings further in the future than this go to the DLQ.' },
  { name: 'METERSTREAM_FETCH_MAX_BYTES', default: '16777216', doc: 'Bytes per Kafka fetch response (bounds memory per batch).' },
  { name: 'METERSTREAM_FETCH_MAX_BYTES_PER_PARTITION', default: '8388608', doc: 'Bytes per partition per fetch.' },
  { name: 'METERSTREAM_FETCH_MIN_BYTES', default: '1', doc: 'Bytes the broker waits for before answering a fetch.' },
  { name: 'METERSTREAM_FETCH_MAX_WAIT_MS', default: '500', doc: 'How long the broker may wait to fill a fetch.' },
  { name: 'METERSTREAM_AGGREGATOR_GROUP_ID', default: 'meterstream-aggregator', doc: 'Consumer group of the aggregators.' },
  { name: 'METERSTREAM_AGGREGATOR_WORKERS', default: '(CPU cores)', doc: 'Worker threads of the aggregator\'s roll-up pool.' },
  { name: 'METERSTREAM_AGGREGATOR_CONCURRENCY', default: '2', doc: 'Partition batches the aggregator processes at once.' },
  { name: 'METERSTREAM_INGESTOR_CONCURRENCY', default: '2', doc: 'Partition batches the ingestor processes at once (one transactional producer each).' },
]);

const KNOWN = new Set(VARIABLES.map((v) => v.name));

function str(env: Env, name: string, fallback: string): string {
  const v = env[name];
  return v === undefined || v === '' ? fallback : v;
}

function optional(env: Env, name: string): string | null {
  const v = env[name];
  return v === undefined || v === '' ? null : v;
}

function int(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (!/^-?\d+$/.test(raw.trim())) throw new ConfigError(name, `expected a whole number, got ${JSON.stringify(raw)}`);
  const n = Number(raw);
  if (!Number.isSafeInteger(n) || n < min || n > max) throw new ConfigError(name, `expected a number from ${min} to ${max}, got ${raw}`);
  return n;
}

function bool(env: Env, name: string, fallback: boolean): boolean {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (/^(true|1|yes)$/i.test(raw)) return true;
  if (/^(false|0|no)$/i.test(raw)) return false;
  throw new ConfigError(name, `expected true or false, got ${JSON.stringify(raw)}`);
}

function url(env: Env, name: string): string | null {
  const raw = optional(env, name);
  if (raw === null) return null;
  let parsed: URL;
  try {
    parsed = new URL(raw);
  } catch {
    throw new ConfigError(name, `not a URL: ${JSON.stringify(raw)}`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new ConfigError(name, `expected an http(s) URL, got ${parsed.protocol}`);
  return raw.replace(/\/+$/, '');
}

function topic(env: Env, name: string, fallback: string): string {
  const t = str(env, name, fallback);
  if (!/^[A-Za-z0-9._-]{1,249}$/.test(t)) throw new ConfigError(name, `not a valid Kafka topic name: ${JSON.stringify(t)}`);
  return t;
}

function brokers(env: Env): string[] | null {
  const raw = optional(env, 'KAFKA_BROKERS');
  if (raw === null) return null;
  const list = raw.split(',').map((b) => b.trim()).filter(Boolean);
  for (const b of list) {
    if (!/^[^\s:]+:\d{1,5}$/.test(b)) throw new ConfigError('KAFKA_BROKERS', `expected host:port entries, got ${JSON.stringify(b)}`);
  }
  if (list.length === 0) throw new ConfigError('KAFKA_BROKERS', 'empty broker list');
  return list;
}

function sasl(env: Env): KafkaConfig['sasl'] {
  const mechanism = optional(env, 'KAFKA_SASL_MECHANISM');
  if (mechanism === null) return null;
  const m = mechanism.toLowerCase();
  if (m !== 'plain' && m !== 'scram-sha-256' && m !== 'scram-sha-512') {
    throw new ConfigError('KAFKA_SASL_MECHANISM', `expected plain, scram-sha-256 or scram-sha-512, got ${JSON.stringify(mechanism)}`);
  }
  const username = optional(env, 'KAFKA_SASL_USERNAME');
  const password = optional(env, 'KAFKA_SASL_PASSWORD');
  if (username === null) throw new ConfigError('KAFKA_SASL_USERNAME', 'required when KAFKA_SASL_MECHANISM is set');
  if (password === null) throw new ConfigError('KAFKA_SASL_PASSWORD', 'required when KAFKA_SASL_MECHANISM is set');
  return { mechanism: m, username, password };
}

/** Parses a hex pseudonym key; exported for the demo's key file. */
export function parsePseudonymKey(raw: string, field = 'METERSTREAM_PSEUDONYM_KEY'): Buffer {
  const hex = raw.trim();
  if (!/^([0-9a-fA-F]{2})+$/.test(hex)) throw new ConfigError(field, 'expected hex digits');
  const key = Buffer.from(hex, 'hex');
  if (key.length < 32) throw new ConfigError(field, `expected at least 32 bytes (64 hex digits), got ${key.length} bytes`);
  return key;
}

function token(env: Env, name: string): string | null {
  const t = optional(env, name);
  if (t !== null && t.length < 16) throw new ConfigError(name, 'a token needs at least 16 characters');
  return t;
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
  for (const name of Object.keys(env)) {
    if (name.startsWith('METERSTREAM_') && !KNOWN.has(name)) {
      throw new ConfigError(name, 'unknown variable (see the configuration table in README.md)');
    }
  }
  const pseudonymRaw = optional(env, 'METERSTREAM_PSEUDONYM_KEY');
  const config: MeterstreamConfig = {
    kafka: {
      brokers: brokers(env),
      clientId: str(env, 'KAFKA_CLIENT_ID', 'meterstream'),
      ssl: bool(env, 'KAFKA_SSL', false),
      sasl: sasl(env),
      fetch: {
        maxBytes: int(env, 'METERSTREAM_FETCH_MAX_BYTES', 16 * 1024 * 1024, 1024, 1024 * 1024 * 1024),
        maxBytesPerPartition: int(env, 'METERSTREAM_FETCH_MAX_BYTES_PER_PARTITION', 8 * 1024 * 1024, 1024, 1024 * 1024 * 1024),
        minBytes: int(env, 'METERSTREAM_FETCH_MIN_BYTES', 1, 1, 64 * 1024 * 1024),
        maxWaitTimeInMs: int(env, 'METERSTREAM_FETCH_MAX_WAIT_MS', 500, 0, 60_000),
      },
    },
    clickhouse: {
      url: url(env, 'CLICKHOUSE_URL'),
      user: str(env, 'CLICKHOUSE_USER', 'default'),
      password: str(env, 'CLICKHOUSE_PASSWORD', ''),
      database: str(env, 'CLICKHOUSE_DATABASE', 'meterstream'),
      dataDir: str(env, 'METERSTREAM_DATA_DIR', './data'),
    },
    topics: {
      readings: topic(env, 'METERSTREAM_TOPIC_READINGS', 'meter.readings.v1'),
      invoices: topic(env, 'METERSTREAM_TOPIC_INVOICES', 'meter.invoices.v1'),
      clean: topic(env, 'METERSTREAM_TOPIC_CLEAN', 'meter.readings.clean.v1'),
      hourly: topic(env, 'METERSTREAM_TOPIC_HOURLY', 'meter.hourly.v1'),
      alerts: topic(env, 'METERSTREAM_TOPIC_ALERTS', 'meter.alerts.v1'),
      dlq: topic(env, 'METERSTREAM_TOPIC_DLQ', 'meter.readings.dlq.v1'),
    },
    retention: {
      rawDays: int(env, 'METERSTREAM_RAW_TTL_DAYS', 90, 1, 36500),
      hourlyDays: int(env, 'METERSTREAM_HOURLY_TTL_DAYS', 1096, 1, 36500),
      alertsDays: int(env, 'METERSTREAM_ALERTS_TTL_DAYS', 365, 1, 36500),
      invoiceChecksYears: int(env, 'METERSTREAM_INVOICE_CHECKS_TTL_YEARS', 5, 1, 100),
    },
    ingestor: {
      groupId: str(env, 'METERSTREAM_INGESTOR_GROUP_ID', 'meterstream-ingestor'),
      maxBatchReadings: int(env, 'METERSTREAM_MAX_BATCH_READINGS', 10_000, 1, 1_000_000),
      maxFutureMs: int(env, 'METERSTREAM_MAX_FUTURE_SECONDS', 3600, 0, 366 * 86400) * 1000,
      concurrency: int(env, 'METERSTREAM_INGESTOR_CONCURRENCY', 2, 1, 64),
    },
    aggregator: {
      groupId: str(env, 'METERSTREAM_AGGREGATOR_GROUP_ID', 'meterstream-aggregator'),
      workers: int(env, 'METERSTREAM_AGGREGATOR_WORKERS', availableParallelism(), 1, 256),
      concurrency: int(env, 'METERSTREAM_AGGREGATOR_CONCURRENCY', 2, 1, 64),
    },
    pseudonymKey: pseudonymRaw === null ? null : parsePseudonymKey(pseudonymRaw),
    apiToken: token(env, 'METERSTREAM_API_TOKEN'),
    adminToken: token(env, 'METERSTREAM_ADMIN_TOKEN'),
    schemaRegistryUrl: url(env, 'SCHEMA_REGISTRY_URL'),
    port: int(env, 'PORT', 8080, 0, 65535),
    host: str(env, 'HOST', '0.0.0.0'),
    instanceId: str(env, 'METERSTREAM_INSTANCE_ID', hostname()),
    logLevel: str(env, 'LOG_LEVEL', 'info'),
  };
  if (!['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].includes(config.logLevel)) {
    throw new ConfigError('LOG_LEVEL', `expected fatal, error, warn, info, debug, trace or silent, got ${JSON.stringify(config.logLevel)}`);
  }
  if (!/^[A-Za-z0-9._-]{1,128}$/.test(config.instanceId)) {
    throw new ConfigError('METERSTREAM_INSTANCE_ID', 'letters, digits, dot, dash and underscore only');
  }
  if (!/^[A-Za-z_][A-Za-z0-9_]{0,63}$/.test(config.clickhouse.database)) {
    throw new ConfigError('CLICKHOUSE_DATABASE', 'letters, digits and underscore only');
  }
  return deepFreeze(config);
}

/** The key, or a ConfigError naming the variable: services that pseudonymise refuse to start without it. */
export function requirePseudonymKey(config: MeterstreamConfig): Buffer {
  if (config.pseudonymKey === null) {
    throw new ConfigError('METERSTREAM_PSEUDONYM_KEY', 'required (hex, at least 32 bytes); generate one with `openssl rand -hex 32` and keep it apart from the data');
  }
  return config.pseudonymKey;
}
