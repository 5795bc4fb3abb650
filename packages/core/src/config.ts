/**
 * Configuration, resolved once at start-up from the environment into a frozen object.
 *
 * Every variable is declared once in `VARIABLES` (name, default, parser, meaning); the README's
 * configuration table is checked against this list in a test. A bad value, or a `METERSTREAM_*`
 * variable nobody declared (a typo), stops start-up with a `ConfigError` naming the variable.
 * Components never read `process.env`: they get this object, or the part of it they need.
 */
import { availableParallelism, hostname } from 'node:os';
import { dirname, join } from 'node:path';
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
  /** `erasure_audit`: days after the erasure. */
  auditDays: number;
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

/**
 * Detector thresholds (DOMAIN.md's defaults). Every one can be overridden per tenant with
 * `METERSTREAM_TENANT_DETECTORS`.
 */
export interface DetectorSettings {
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
}

/** The whole resolved configuration. */
export interface MeterstreamConfig {
  kafka: KafkaConfig;
  clickhouse: ClickHouseConfig;
  topics: TopicsConfig;
  retention: RetentionConfig;
  ingestor: IngestorConfig;
  aggregator: AggregatorConfig;
  anomaly: AnomalyConfig;
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
  /** Where `meterstream demo` keeps the key, tokens and fleet state it generates (0700 dir, 0600 files). */
  demoDir: string;
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
  {
    name: 'KAFKA_BROKERS',
    default: '(unset: local broker)',
    doc: 'Comma-separated host:port list of the Kafka cluster.',
  },
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
  {
    name: 'METERSTREAM_DEMO_DIR',
    default: '(`demo-keys/` beside the data dir)',
    doc: '`meterstream demo` only: where it keeps the pseudonym key, API tokens and simulated fleet state it generates (directory 0700, files 0600).',
  },
  {
    name: 'METERSTREAM_PSEUDONYM_KEY',
    default: '(required)',
    doc: 'HMAC key for pseudonyms, hex, at least 32 bytes. Keep it apart from the data.',
  },
  {
    name: 'METERSTREAM_API_TOKEN',
    default: '(unset: /v1 read routes refuse)',
    doc: 'Bearer token for the `/v1` read routes.',
  },
  {
    name: 'METERSTREAM_ADMIN_TOKEN',
    default: '(unset: export/erasure refuse)',
    doc: 'Bearer token for export and erasure.',
  },
  {
    name: 'SCHEMA_REGISTRY_URL',
    default: '(unset)',
    doc: 'Confluent-compatible schema registry; enables Confluent-framed messages.',
  },
  { name: 'PORT', default: '8080', doc: 'HTTP port of the service (0: any free port).' },
  { name: 'HOST', default: '0.0.0.0', doc: 'HTTP bind address.' },
  {
    name: 'METERSTREAM_INSTANCE_ID',
    default: '(host name)',
    doc: 'Stable instance name; keep it across restarts of the same instance (Kafka transactional id).',
  },
  { name: 'LOG_LEVEL', default: 'info', doc: 'pino log level (`fatal`..`trace`).' },
  { name: 'METERSTREAM_TOPIC_READINGS', default: 'meter.readings.v1', doc: 'Raw readings topic (input).' },
  { name: 'METERSTREAM_TOPIC_INVOICES', default: 'meter.invoices.v1', doc: 'Invoices topic (input).' },
  { name: 'METERSTREAM_TOPIC_CLEAN', default: 'meter.readings.clean.v1', doc: 'Pseudonymised, validated readings.' },
  { name: 'METERSTREAM_TOPIC_HOURLY', default: 'meter.hourly.v1', doc: 'Hourly rows.' },
  { name: 'METERSTREAM_TOPIC_ALERTS', default: 'meter.alerts.v1', doc: 'Alerts.' },
  {
    name: 'METERSTREAM_TOPIC_DLQ',
    default: 'meter.readings.dlq.v1',
    doc: 'Dead-letter topic: original bytes plus error headers.',
  },
  { name: 'METERSTREAM_RAW_TTL_DAYS', default: '90', doc: 'Retention of `readings_raw`, days after the reading time.' },
  {
    name: 'METERSTREAM_HOURLY_TTL_DAYS',
    default: '1096',
    doc: 'Retention of `readings_hourly`, days after the hour (3 years).',
  },
  { name: 'METERSTREAM_ALERTS_TTL_DAYS', default: '365', doc: 'Retention of `alerts`, days after the alert started.' },
  {
    name: 'METERSTREAM_INVOICE_CHECKS_TTL_YEARS',
    default: '5',
    doc: 'Retention of `invoice_checks`, years after the end of the fiscal year.',
  },
  { name: 'METERSTREAM_INGESTOR_GROUP_ID', default: 'meterstream-ingestor', doc: 'Consumer group of the ingestors.' },
  {
    name: 'METERSTREAM_MAX_BATCH_READINGS',
    default: '10000',
    doc: 'Largest `MeterReadingBatch` accepted; larger ones go to the DLQ.',
  },
  {
    name: 'METERSTREAM_MAX_FUTURE_SECONDS',
    default: '3600',
    doc: 'Readings further in the future than this go to the DLQ.',
  },
  {
    name: 'METERSTREAM_FETCH_MAX_BYTES',
    default: '16777216',
    doc: 'Bytes per Kafka fetch response (bounds memory per batch).',
  },
  { name: 'METERSTREAM_FETCH_MAX_BYTES_PER_PARTITION', default: '8388608', doc: 'Bytes per partition per fetch.' },
  { name: 'METERSTREAM_FETCH_MIN_BYTES', default: '1', doc: 'Bytes the broker waits for before answering a fetch.' },
  { name: 'METERSTREAM_FETCH_MAX_WAIT_MS', default: '500', doc: 'How long the broker may wait to fill a fetch.' },
  {
    name: 'METERSTREAM_BULK_FETCH_MIN_BYTES',
    default: '1',
    doc: "Bytes the aggregator and the anomaly service's hourly input wait for before a fetch is answered. Raise it (e.g. 262144) for fewer, larger batches against a ClickHouse server; with the embedded engine, larger statements delay the latency path.",
  },
  {
    name: 'METERSTREAM_BULK_FETCH_MAX_WAIT_MS',
    default: '500',
    doc: 'How long the broker may wait to fill such a fetch.',
  },
  {
    name: 'METERSTREAM_AGGREGATOR_GROUP_ID',
    default: 'meterstream-aggregator',
    doc: 'Consumer group of the aggregators.',
  },
  {
    name: 'METERSTREAM_AGGREGATOR_WORKERS',
    default: '(CPU cores)',
    doc: "Worker threads of the aggregator's roll-up pool.",
  },
  {
    name: 'METERSTREAM_AGGREGATOR_CONCURRENCY',
    default: '2',
    doc: 'Partition batches the aggregator processes at once.',
  },
  {
    name: 'METERSTREAM_INGESTOR_CONCURRENCY',
    default: '2',
    doc: 'Partition batches the ingestor processes at once (one transactional producer each).',
  },
  {
    name: 'METERSTREAM_AUDIT_TTL_DAYS',
    default: '1826',
    doc: 'Retention of `erasure_audit`, days after the erasure (5 years).',
  },
  {
    name: 'METERSTREAM_ANOMALY_GROUP_ID',
    default: 'meterstream-anomaly',
    doc: 'Consumer group prefix of the anomaly service (`-hourly`, `-temperature`, `-invoices`).',
  },
  {
    name: 'METERSTREAM_ANOMALY_CONCURRENCY',
    default: '2',
    doc: 'Partition batches the anomaly service processes at once per input topic.',
  },
  {
    name: 'METERSTREAM_TIME_ZONE',
    default: 'Europe/Oslo',
    doc: "Tenants' local time zone (night window, local days).",
  },
  { name: 'METERSTREAM_NIGHT_WINDOW', default: '02-05', doc: 'Local night window `HH-HH` for minimum night flow.' },
  {
    name: 'METERSTREAM_NIGHT_FLOW_WARNING_LPH',
    default: '12.5',
    doc: 'Minimum night flow (L/h) that makes a night leaky (0.5 % of Q3 = 2.5 m3/h).',
  },
  {
    name: 'METERSTREAM_NIGHT_FLOW_CRITICAL_LPH',
    default: '50',
    doc: 'Minimum night flow (L/h) that makes a leak CRITICAL.',
  },
  { name: 'METERSTREAM_NIGHT_FLOW_NIGHTS', default: '2', doc: 'Consecutive leaky nights before NIGHT_FLOW fires.' },
  {
    name: 'METERSTREAM_CONTINUOUS_FLOW_HOURS',
    default: '24',
    doc: 'Hours without a zero-flow hour that fire NIGHT_FLOW (continuous flow).',
  },
  { name: 'METERSTREAM_BURST_LPH', default: '500', doc: 'Flow (L/h) of a burst (20 % of Q3).' },
  {
    name: 'METERSTREAM_BURST_MINUTES',
    default: '30',
    doc: 'Minutes above the burst flow before BURST fires (CRITICAL).',
  },
  {
    name: 'METERSTREAM_FROST_WARNING_C',
    default: '5',
    doc: 'Room temperature (°C) at or below which FROST_RISK warns.',
  },
  {
    name: 'METERSTREAM_FROST_CRITICAL_C',
    default: '2',
    doc: 'Room temperature (°C) at or below which FROST_RISK is CRITICAL.',
  },
  {
    name: 'METERSTREAM_FROST_RESOLVE_C',
    default: '8',
    doc: 'Temperature (°C) at or above which FROST_RISK resolves (hysteresis).',
  },
  { name: 'METERSTREAM_FROST_TREND_HOURS', default: '2', doc: 'Hours of readings in the frost trend fit.' },
  {
    name: 'METERSTREAM_FROST_HORIZON_HOURS',
    default: '4',
    doc: 'Early frost warning when the trend reaches 0 °C within this many hours.',
  },
  {
    name: 'METERSTREAM_SILENCE_HOURS',
    default: '48',
    doc: 'Hours without a reading before METER_SILENT (or 3 x the usual gap, if longer).',
  },
  {
    name: 'METERSTREAM_INVOICE_TOLERANCE_ABS',
    default: '1',
    doc: "Invoice tolerance in the invoice's unit (the larger of this and the percentage applies).",
  },
  { name: 'METERSTREAM_INVOICE_TOLERANCE_PCT', default: '2', doc: 'Invoice tolerance in % of the metered quantity.' },
  {
    name: 'METERSTREAM_INVOICE_WAIT_DAYS',
    default: '10',
    doc: 'Days after the period end before incomplete data makes a check INSUFFICIENT_DATA.',
  },
  {
    name: 'METERSTREAM_TENANT_DETECTORS',
    default: '(unset)',
    doc: 'Per-tenant threshold overrides, JSON: `{"<tenant>": {"nightFlowWarningLph": 20, "timeZone": "Europe/Stockholm"}}` (keys as in `DetectorSettings`).',
  },
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
  if (!Number.isSafeInteger(n) || n < min || n > max)
    throw new ConfigError(name, `expected a number from ${min} to ${max}, got ${raw}`);
  return n;
}

function num(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw.trim());
  if (!/^-?\d+(\.\d+)?$/.test(raw.trim()) || !Number.isFinite(n))
    throw new ConfigError(name, `expected a number, got ${JSON.stringify(raw)}`);
  if (n < min || n > max) throw new ConfigError(name, `expected a number from ${min} to ${max}, got ${raw}`);
  return n;
}

function timeZone(name: string, tz: string): string {
  try {
    new Intl.DateTimeFormat('en', { timeZone: tz });
  } catch {
    throw new ConfigError(name, `not an IANA time zone: ${JSON.stringify(tz)}`);
  }
  return tz;
}

/** Limits of every detector setting, for the defaults and the per-tenant overrides alike. */
const DETECTOR_LIMITS: Record<Exclude<keyof DetectorSettings, 'timeZone'>, [number, number]> = {
  nightStartHour: [0, 23],
  nightEndHour: [1, 24],
  nightFlowWarningLph: [0, 1e6],
  nightFlowCriticalLph: [0, 1e6],
  nightFlowNights: [1, 30],
  continuousFlowHours: [1, 24 * 14],
  burstLph: [1, 1e7],
  burstMinutes: [1, 60],
  frostWarningC: [-50, 50],
  frostCriticalC: [-50, 50],
  frostResolveC: [-50, 50],
  frostTrendHours: [0.25, 48],
  frostHorizonHours: [0, 48],
  silenceHours: [1, 24 * 365],
  silenceIntervals: [1, 1000],
  invoiceToleranceAbs: [0, 1e9],
  invoiceTolerancePct: [0, 100],
  invoiceWaitDays: [0, 3650],
};

function checkDetectors(name: string, where: string, d: Partial<DetectorSettings>): void {
  const s = { ...d } as Record<string, unknown>;
  if (s.timeZone !== undefined) {
    if (typeof s.timeZone !== 'string') throw new ConfigError(name, `${where}timeZone must be a string`);
    timeZone(name, s.timeZone);
  }
  for (const [k, v] of Object.entries(s)) {
    if (k === 'timeZone') continue;
    const limits = DETECTOR_LIMITS[k as keyof typeof DETECTOR_LIMITS];
    if (limits === undefined) throw new ConfigError(name, `${where}unknown setting ${JSON.stringify(k)}`);
    if (typeof v !== 'number' || !Number.isFinite(v) || v < limits[0] || v > limits[1]) {
      throw new ConfigError(
        name,
        `${where}${k} must be a number from ${limits[0]} to ${limits[1]}, got ${JSON.stringify(v)}`,
      );
    }
  }
  if (d.nightStartHour !== undefined && d.nightEndHour !== undefined && d.nightStartHour >= d.nightEndHour) {
    throw new ConfigError(name, `${where}the night window must end after it starts`);
  }
  if (d.frostCriticalC !== undefined && d.frostWarningC !== undefined && d.frostCriticalC > d.frostWarningC) {
    throw new ConfigError(name, `${where}frostCriticalC must not be above frostWarningC`);
  }
  if (d.frostWarningC !== undefined && d.frostResolveC !== undefined && d.frostResolveC <= d.frostWarningC) {
    throw new ConfigError(name, `${where}frostResolveC must be above frostWarningC (hysteresis)`);
  }
}

function detectorSettings(env: Env): DetectorSettings {
  const window = str(env, 'METERSTREAM_NIGHT_WINDOW', '02-05');
  const m = /^(\d{1,2})-(\d{1,2})$/.exec(window.trim());
  if (m === null)
    throw new ConfigError('METERSTREAM_NIGHT_WINDOW', `expected HH-HH local hours, got ${JSON.stringify(window)}`);
  const d: DetectorSettings = {
    timeZone: timeZone('METERSTREAM_TIME_ZONE', str(env, 'METERSTREAM_TIME_ZONE', 'Europe/Oslo')),
    nightStartHour: Number(m[1]),
    nightEndHour: Number(m[2]),
    nightFlowWarningLph: num(env, 'METERSTREAM_NIGHT_FLOW_WARNING_LPH', 12.5, 0, 1e6),
    nightFlowCriticalLph: num(env, 'METERSTREAM_NIGHT_FLOW_CRITICAL_LPH', 50, 0, 1e6),
    nightFlowNights: int(env, 'METERSTREAM_NIGHT_FLOW_NIGHTS', 2, 1, 30),
    continuousFlowHours: int(env, 'METERSTREAM_CONTINUOUS_FLOW_HOURS', 24, 1, 24 * 14),
    burstLph: num(env, 'METERSTREAM_BURST_LPH', 500, 1, 1e7),
    burstMinutes: int(env, 'METERSTREAM_BURST_MINUTES', 30, 1, 60),
    frostWarningC: num(env, 'METERSTREAM_FROST_WARNING_C', 5, -50, 50),
    frostCriticalC: num(env, 'METERSTREAM_FROST_CRITICAL_C', 2, -50, 50),
    frostResolveC: num(env, 'METERSTREAM_FROST_RESOLVE_C', 8, -50, 50),
    frostTrendHours: num(env, 'METERSTREAM_FROST_TREND_HOURS', 2, 0.25, 48),
    frostHorizonHours: num(env, 'METERSTREAM_FROST_HORIZON_HOURS', 4, 0, 48),
    silenceHours: num(env, 'METERSTREAM_SILENCE_HOURS', 48, 1, 24 * 365),
    silenceIntervals: 3,
    invoiceToleranceAbs: num(env, 'METERSTREAM_INVOICE_TOLERANCE_ABS', 1, 0, 1e9),
    invoiceTolerancePct: num(env, 'METERSTREAM_INVOICE_TOLERANCE_PCT', 2, 0, 100),
    invoiceWaitDays: num(env, 'METERSTREAM_INVOICE_WAIT_DAYS', 10, 0, 3650),
  };
  if (d.nightStartHour > 23 || d.nightEndHour > 24 || d.nightStartHour >= d.nightEndHour) {
    throw new ConfigError(
      'METERSTREAM_NIGHT_WINDOW',
      `expected a window inside one night (start < end <= 24), got ${JSON.stringify(window)}`,
    );
  }
  if (d.frostCriticalC > d.frostWarningC)
    throw new ConfigError(
      'METERSTREAM_FROST_CRITICAL_C',
      `must not be above METERSTREAM_FROST_WARNING_C (${d.frostWarningC})`,
    );
  if (d.frostResolveC <= d.frostWarningC)
    throw new ConfigError(
      'METERSTREAM_FROST_RESOLVE_C',
      `must be above METERSTREAM_FROST_WARNING_C (${d.frostWarningC}): the hysteresis`,
    );
  return d;
}

function tenantDetectors(env: Env, defaults: DetectorSettings): Record<string, Partial<DetectorSettings>> {
  const name = 'METERSTREAM_TENANT_DETECTORS';
  const raw = optional(env, name);
  if (raw === null) return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch (err) {
    throw new ConfigError(name, `not JSON: ${(err as Error).message}`);
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed))
    throw new ConfigError(name, 'expected an object of tenant → settings');
  const out: Record<string, Partial<DetectorSettings>> = {};
  for (const [tenant, settings] of Object.entries(parsed)) {
    if (settings === null || typeof settings !== 'object' || Array.isArray(settings))
      throw new ConfigError(name, `tenant ${JSON.stringify(tenant)}: expected an object`);
    checkDetectors(name, `tenant ${JSON.stringify(tenant)}: `, settings as Partial<DetectorSettings>);
    checkDetectors(name, `tenant ${JSON.stringify(tenant)}: `, {
      ...defaults,
      ...(settings as Partial<DetectorSettings>),
    });
    out[tenant] = settings as Partial<DetectorSettings>;
  }
  return out;
}

function fetchConfig(
  env: Env,
  minName: string,
  minDefault: number,
  waitName: string,
  waitDefault: number,
): FetchConfig {
  return {
    maxBytes: int(env, 'METERSTREAM_FETCH_MAX_BYTES', 16 * 1024 * 1024, 1024, 1024 * 1024 * 1024),
    maxBytesPerPartition: int(
      env,
      'METERSTREAM_FETCH_MAX_BYTES_PER_PARTITION',
      8 * 1024 * 1024,
      1024,
      1024 * 1024 * 1024,
    ),
    minBytes: int(env, minName, minDefault, 1, 64 * 1024 * 1024),
    maxWaitTimeInMs: int(env, waitName, waitDefault, 0, 60_000),
  };
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
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')
    throw new ConfigError(name, `expected an http(s) URL, got ${parsed.protocol}`);
  return raw.replace(/\/+$/, '');
}

function topic(env: Env, name: string, fallback: string): string {
  const t = str(env, name, fallback);
  if (!/^[A-Za-z0-9._-]{1,249}$/.test(t))
    throw new ConfigError(name, `not a valid Kafka topic name: ${JSON.stringify(t)}`);
  return t;
}

function brokers(env: Env): string[] | null {
  const raw = optional(env, 'KAFKA_BROKERS');
  if (raw === null) return null;
  const list = raw
    .split(',')
    .map((b) => b.trim())
    .filter(Boolean);
  for (const b of list) {
    if (!/^[^\s:]+:\d{1,5}$/.test(b))
      throw new ConfigError('KAFKA_BROKERS', `expected host:port entries, got ${JSON.stringify(b)}`);
  }
  if (list.length === 0) throw new ConfigError('KAFKA_BROKERS', 'empty broker list');
  return list;
}

function sasl(env: Env): KafkaConfig['sasl'] {
  const mechanism = optional(env, 'KAFKA_SASL_MECHANISM');
  if (mechanism === null) return null;
  const m = mechanism.toLowerCase();
  if (m !== 'plain' && m !== 'scram-sha-256' && m !== 'scram-sha-512') {
    throw new ConfigError(
      'KAFKA_SASL_MECHANISM',
      `expected plain, scram-sha-256 or scram-sha-512, got ${JSON.stringify(mechanism)}`,
    );
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
  if (key.length < 32)
    throw new ConfigError(field, `expected at least 32 bytes (64 hex digits), got ${key.length} bytes`);
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
  const detectors = detectorSettings(env);
  const config: MeterstreamConfig = {
    kafka: {
      brokers: brokers(env),
      clientId: str(env, 'KAFKA_CLIENT_ID', 'meterstream'),
      ssl: bool(env, 'KAFKA_SSL', false),
      sasl: sasl(env),
      fetch: fetchConfig(env, 'METERSTREAM_FETCH_MIN_BYTES', 1, 'METERSTREAM_FETCH_MAX_WAIT_MS', 500),
      bulkFetch: fetchConfig(env, 'METERSTREAM_BULK_FETCH_MIN_BYTES', 1, 'METERSTREAM_BULK_FETCH_MAX_WAIT_MS', 500),
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
      auditDays: int(env, 'METERSTREAM_AUDIT_TTL_DAYS', 1826, 1, 36500),
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
    anomaly: {
      groupId: str(env, 'METERSTREAM_ANOMALY_GROUP_ID', 'meterstream-anomaly'),
      concurrency: int(env, 'METERSTREAM_ANOMALY_CONCURRENCY', 2, 1, 64),
      detectors,
      tenants: tenantDetectors(env, detectors),
    },
    pseudonymKey: pseudonymRaw === null ? null : parsePseudonymKey(pseudonymRaw),
    apiToken: token(env, 'METERSTREAM_API_TOKEN'),
    adminToken: token(env, 'METERSTREAM_ADMIN_TOKEN'),
    schemaRegistryUrl: url(env, 'SCHEMA_REGISTRY_URL'),
    port: int(env, 'PORT', 8080, 0, 65535),
    host: str(env, 'HOST', '0.0.0.0'),
    instanceId: str(env, 'METERSTREAM_INSTANCE_ID', hostname()),
    logLevel: str(env, 'LOG_LEVEL', 'info'),
    demoDir: str(
      env,
      'METERSTREAM_DEMO_DIR',
      join(dirname(str(env, 'METERSTREAM_DATA_DIR', './data').replace(/\/+$/, '') || '/'), 'demo-keys'),
    ),
  };
  if (!['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].includes(config.logLevel)) {
    throw new ConfigError(
      'LOG_LEVEL',
      `expected fatal, error, warn, info, debug, trace or silent, got ${JSON.stringify(config.logLevel)}`,
    );
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
    throw new ConfigError(
      'METERSTREAM_PSEUDONYM_KEY',
      'required (hex, at least 32 bytes); generate one with `openssl rand -hex 32` and keep it apart from the data',
    );
  }
  return config.pseudonymKey;
}
