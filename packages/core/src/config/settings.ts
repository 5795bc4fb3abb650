/**
 * Every environment variable meterstream reads, declared once: section, parser and bounds,
 * typed default, doc line. `loadConfig` parses from these, the unknown-variable check and
 * docs/configuration.md are derived from them. The detector thresholds are in
 * `detector-settings.ts`.
 */
import { DETECTOR_VARIABLES } from './detector-settings.js';
import { NOTIFIER_VARIABLES } from './notifier-settings.js';
import { bearerToken, credentialList } from './credentials.js';
import { bool, brokerList, hexKey, httpUrl, int, matching, num, oneOf, text, topic } from './parse.js';
import { setting, type Setting } from './setting.js';
import { zoneInflowsJson } from './zone-inflows.js';

const MiB = 1024 * 1024;
const fetchBytes = int(1024, 1024 * MiB);

const SERVICE_VARIABLES = {
  KAFKA_BROKERS: setting({
    section: 'kafka',
    parser: brokerList(),
    default: null,
    shown: '(unset: the local broker)',
    doc: 'Comma-separated host:port list of the Kafka cluster.',
  }),
  KAFKA_CLIENT_ID: setting({ section: 'kafka', parser: text(), default: 'meterstream', doc: 'Kafka client id.' }),
  KAFKA_SSL: setting({ section: 'kafka', parser: bool(), default: false, doc: 'Connect to Kafka over TLS.' }),
  KAFKA_SASL_MECHANISM: setting({
    section: 'kafka',
    parser: oneOf(['plain', 'scram-sha-256', 'scram-sha-512']),
    default: null,
    shown: '(unset: no SASL)',
    doc: 'SASL mechanism.',
  }),
  KAFKA_SASL_USERNAME: setting({
    section: 'kafka',
    parser: text(),
    default: null,
    shown: '(unset)',
    doc: 'SASL user name (required with a mechanism).',
  }),
  KAFKA_SASL_PASSWORD: setting({
    section: 'kafka',
    parser: text(),
    default: null,
    shown: '(unset)',
    doc: 'SASL password (required with a mechanism).',
  }),
  METERSTREAM_FETCH_MAX_BYTES: setting({
    section: 'kafka',
    parser: fetchBytes,
    default: 16 * MiB,
    doc: 'Bytes per Kafka fetch response (bounds memory per batch).',
  }),
  METERSTREAM_FETCH_MAX_BYTES_PER_PARTITION: setting({
    section: 'kafka',
    parser: fetchBytes,
    default: 8 * MiB,
    doc: 'Bytes per partition per fetch.',
  }),
  METERSTREAM_FETCH_MIN_BYTES: setting({
    section: 'kafka',
    parser: int(1, 64 * MiB),
    default: 1,
    doc: 'Bytes the broker waits for before answering a fetch.',
  }),
  METERSTREAM_FETCH_MAX_WAIT_MS: setting({
    section: 'kafka',
    parser: int(0, 60_000),
    default: 500,
    doc: 'How long (ms) the broker may wait to fill a fetch.',
  }),
  METERSTREAM_BULK_FETCH_MIN_BYTES: setting({
    section: 'kafka',
    parser: int(1, 64 * MiB),
    default: 1,
    doc: "Bytes the aggregator and the anomaly service's hourly input wait for before a fetch is answered. Raise it (e.g. 262144) for fewer, larger batches against a ClickHouse server; with the embedded engine, larger statements delay the latency path.",
  }),
  METERSTREAM_BULK_FETCH_MAX_WAIT_MS: setting({
    section: 'kafka',
    parser: int(0, 60_000),
    default: 500,
    doc: 'How long (ms) the broker may wait to fill such a fetch.',
  }),
  CLICKHOUSE_URL: setting({
    section: 'clickhouse',
    parser: httpUrl(),
    default: null,
    shown: '(unset: embedded chDB)',
    doc: 'HTTP(S) URL of a ClickHouse server.',
  }),
  CLICKHOUSE_USER: setting({ section: 'clickhouse', parser: text(), default: 'default', doc: 'ClickHouse user.' }),
  CLICKHOUSE_PASSWORD: setting({ section: 'clickhouse', parser: text(), default: '', doc: 'ClickHouse password.' }),
  CLICKHOUSE_DATABASE: setting({
    section: 'clickhouse',
    parser: matching(/^[A-Za-z_][A-Za-z0-9_]{0,63}$/, 'letters, digits and underscore only', 'meterstream_2'),
    default: 'meterstream',
    doc: 'Database holding the tables.',
  }),
  CLICKHOUSE_CLUSTER: setting({
    section: 'clickhouse',
    parser: matching(/^[A-Za-z_][A-Za-z0-9_]{0,63}$/, 'letters, digits and underscore only', 'meterstream'),
    default: null,
    shown: '(unset: single node)',
    doc: 'Cluster name (`remote_servers`) of a sharded, replicated ClickHouse: migrations run `ON CLUSTER` and create `Replicated*` tables (`<table>_local`) behind `Distributed` tables sharded by pseudonym (docs/scaling.md). Needs `CLICKHOUSE_URL`.',
  }),
  METERSTREAM_DATA_DIR: setting({
    section: 'clickhouse',
    parser: text(),
    default: './data',
    doc: 'Data directory of the embedded ClickHouse engine.',
  }),
  METERSTREAM_PSEUDONYM_KEY: setting({
    section: 'service',
    parser: hexKey(),
    default: null,
    shown: '(required by the services that pseudonymise)',
    doc: 'HMAC key for pseudonyms. Keep it apart from the data (`openssl rand -hex 32`).',
  }),
  METERSTREAM_TOKENS: setting({
    section: 'service',
    parser: credentialList(),
    default: null,
    shown: '(unset: none besides the two below)',
    doc: 'The `/v1` tokens, as SHA-256 hashes (never the token): `[{"name": "oslo-dpo", "role": "admin", "tenants": ["oslo"], "sha256": "<hex>"}]`. Roles: `read` and `admin` (export, erasure, acknowledgements, silences) for the tenants listed; `operator-read` and `operator` for every tenant. The name is the actor in audits and the key of rate limits. Hash a token with `printf %s "$TOKEN" | sha256sum`; tokens must be at least 24 characters and all different (docs/privacy.md).',
  }),
  METERSTREAM_API_TOKEN: setting({
    section: 'service',
    parser: bearerToken(),
    default: null,
    shown: '(unset: no such token)',
    doc: 'Shorthand for one token named `api-token` with the role `operator-read`: reads every tenant. Hashed when read; must differ from every other token.',
  }),
  METERSTREAM_ADMIN_TOKEN: setting({
    section: 'service',
    parser: bearerToken(),
    default: null,
    shown: '(unset: no such token)',
    doc: 'Shorthand for one token named `admin-token` with the role `operator`: reads, exports and erases every tenant. Hashed when read; must differ from every other token.',
  }),
  SCHEMA_REGISTRY_URL: setting({
    section: 'service',
    parser: httpUrl(),
    default: null,
    shown: '(unset)',
    doc: 'Confluent-compatible schema registry; enables Confluent-framed messages.',
  }),
  PORT: setting({
    section: 'service',
    parser: int(0, 65535),
    default: 8080,
    doc: 'HTTP port of the service (0: any free port).',
  }),
  HOST: setting({ section: 'service', parser: text(), default: '0.0.0.0', doc: 'HTTP bind address.' }),
  METERSTREAM_INSTANCE_ID: setting({
    section: 'service',
    parser: matching(/^[A-Za-z0-9._-]{1,128}$/, 'letters, digits, dot, dash and underscore only', 'instance-2'),
    default: null,
    shown: '(host name)',
    doc: 'Stable instance name; keep it across restarts of the same instance (Kafka transactional id).',
  }),
  METERSTREAM_RATE_LIMIT_PER_MINUTE: setting({
    section: 'service',
    parser: int(0, 1_000_000),
    default: 600,
    doc: "Requests per minute one token may make to `/v1` (keyed by the token's name; requests without a known token by client address); over it: 429 with a JSON error and `retry-after`. 0: no limit.",
  }),
  METERSTREAM_ERASED_REFRESH_SECONDS: setting({
    section: 'service',
    parser: int(1, 3600),
    default: 5,
    doc: 'How often each process re-reads the erased (blocked) pseudonyms from ClickHouse (`meter_blocks`, `erasure_audit`); erasures made in the same process apply at once.',
  }),
  METERSTREAM_ERASURE_FENCE_SECONDS: setting({
    section: 'service',
    parser: int(0, 600),
    default: 20,
    doc: "With `CLICKHOUSE_URL` (stages may run in other processes), how long an erasure waits after blocking the pseudonym, beyond one refresh period, for other processes' batches in flight to finish before it deletes (the default transaction budget). Writes of this process are waited for exactly, up to this long.",
  }),
  METERSTREAM_SHUTDOWN_TIMEOUT_SECONDS: setting({
    section: 'service',
    parser: int(1, 600),
    default: 25,
    doc: "On SIGTERM/SIGINT, how long draining may take before the process exits anyway (exit code 75: not drained; what was not committed is redelivered). Keep it under the orchestrator's grace period.",
  }),
  LOG_LEVEL: setting({
    section: 'service',
    parser: oneOf(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']),
    default: 'info',
    doc: 'pino log level.',
  }),
  METERSTREAM_TOPIC_READINGS: setting({
    section: 'topics',
    parser: topic(),
    default: 'meter.readings.v1',
    doc: 'Raw readings topic (input).',
  }),
  METERSTREAM_TOPIC_INVOICES: setting({
    section: 'topics',
    parser: topic(),
    default: 'meter.invoices.v1',
    doc: 'Invoices topic (input).',
  }),
  METERSTREAM_TOPIC_PRICES: setting({
    section: 'topics',
    parser: topic(),
    default: 'meter.prices.v1',
    doc: 'Day-ahead spot prices per price area and hour, `SpotPrice` keyed by price area (input of the price-weighted invoice check).',
  }),
  METERSTREAM_TOPIC_CLEAN: setting({
    section: 'topics',
    parser: topic(),
    default: 'meter.readings.clean.v1',
    doc: 'Pseudonymised, validated readings.',
  }),
  METERSTREAM_TOPIC_HOURLY: setting({
    section: 'topics',
    parser: topic(),
    default: 'meter.hourly.v1',
    doc: 'Hourly rows.',
  }),
  METERSTREAM_TOPIC_ALERTS: setting({ section: 'topics', parser: topic(), default: 'meter.alerts.v1', doc: 'Alerts.' }),
  METERSTREAM_TOPIC_DLQ: setting({
    section: 'topics',
    parser: topic(),
    default: 'meter.readings.dlq.v1',
    doc: 'Dead-letter topic: original bytes plus error headers.',
  }),
  METERSTREAM_RAW_TTL_DAYS: setting({
    section: 'retention',
    parser: int(1, 36500),
    default: 90,
    doc: 'Retention of `readings_raw`, days after the reading time. Also the correction window: readings older than this minus a day go to the DLQ as `beyond_retention`; raise it to accept older corrections.',
  }),
  METERSTREAM_HOURLY_TTL_DAYS: setting({
    section: 'retention',
    parser: int(1, 36500),
    default: 1096,
    doc: 'Retention of `readings_hourly`, days after the hour (3 years).',
  }),
  METERSTREAM_ALERTS_TTL_DAYS: setting({
    section: 'retention',
    parser: int(1, 36500),
    default: 365,
    doc: 'Retention of `alerts`, days after the alert started.',
  }),
  METERSTREAM_INVOICE_CHECKS_TTL_YEARS: setting({
    section: 'retention',
    parser: int(1, 100),
    default: 5,
    doc: 'Retention of `invoice_checks`, years after the end of the fiscal year.',
  }),
  METERSTREAM_AUDIT_TTL_DAYS: setting({
    section: 'retention',
    parser: int(1, 36500),
    default: 1826,
    doc: 'Retention of `erasure_audit`, days after the erasure (5 years).',
  }),
  METERSTREAM_DLQ_RETENTION_DAYS: setting({
    section: 'retention',
    parser: int(1, 3650),
    default: 7,
    doc: 'Kafka retention of the dead-letter topic, days. It holds records as received, raw meter IDs included: keep it short.',
  }),
  METERSTREAM_CLEAN_RETENTION_DAYS: setting({
    section: 'retention',
    parser: int(1, 3650),
    default: 7,
    doc: 'Kafka retention of the clean readings topic, days (pseudonyms only; how far the aggregator can replay).',
  }),
  METERSTREAM_HOURLY_RETENTION_DAYS: setting({
    section: 'retention',
    parser: int(1, 3650),
    default: 7,
    doc: 'Kafka retention of the hourly rows topic, days (pseudonyms only).',
  }),
  METERSTREAM_ALERTS_RETENTION_DAYS: setting({
    section: 'retention',
    parser: int(1, 3650),
    default: 30,
    doc: "Kafka retention of the alerts topic and of the notifier's dead-letter topic, days (pseudonyms only; how long a notification pipeline may be down).",
  }),
  METERSTREAM_INGESTOR_GROUP_ID: setting({
    section: 'ingestor',
    parser: text(),
    default: 'meterstream-ingestor',
    doc: 'Consumer group of the ingestors.',
  }),
  METERSTREAM_MAX_BATCH_READINGS: setting({
    section: 'ingestor',
    parser: int(1, 1_000_000),
    default: 10_000,
    doc: 'Largest `MeterReadingBatch` accepted; larger ones go to the DLQ.',
  }),
  METERSTREAM_MAX_FUTURE_SECONDS: setting({
    section: 'ingestor',
    parser: int(0, 366 * 86400),
    default: 3600,
    doc: "Readings further in the future (against the ingestor's clock) than this go to the DLQ.",
  }),
  METERSTREAM_INGESTOR_CONCURRENCY: setting({
    section: 'ingestor',
    parser: int(1, 64),
    default: 2,
    doc: 'Partition batches the ingestor processes at once (one transactional producer each).',
  }),
  METERSTREAM_AGGREGATOR_GROUP_ID: setting({
    section: 'aggregator',
    parser: text(),
    default: 'meterstream-aggregator',
    doc: 'Consumer group of the aggregators.',
  }),
  METERSTREAM_AGGREGATOR_WORKERS: setting({
    section: 'aggregator',
    parser: int(1, 256),
    default: null,
    shown: '(CPU cores)',
    doc: "Worker threads of the aggregator's roll-up pool.",
  }),
  METERSTREAM_AGGREGATOR_CONCURRENCY: setting({
    section: 'aggregator',
    parser: int(1, 64),
    default: 2,
    doc: 'Partition batches the aggregator processes at once.',
  }),
  METERSTREAM_REGISTER_MISMATCH_UNITS: setting({
    section: 'aggregator',
    parser: num(0, 1e9),
    default: 1,
    doc: "Where a meter's intervals cover a register span, the register difference may disagree with the intervals' sum by this much (canonical units: L, kWh, m³ of gas) or by `METERSTREAM_REGISTER_MISMATCH_PERCENT`, whichever is larger, before the span counts as a mismatch.",
  }),
  METERSTREAM_REGISTER_MISMATCH_PERCENT: setting({
    section: 'aggregator',
    parser: num(0, 100),
    default: 2,
    doc: "Relative tolerance of the register/interval reconciliation, in percent of the intervals' sum.",
  }),
  METERSTREAM_ANOMALY_GROUP_ID: setting({
    section: 'anomaly',
    parser: text(),
    default: 'meterstream-anomaly',
    doc: 'Consumer group prefix of the anomaly service (`-hourly`, `-temperature`, `-invoices`).',
  }),
  METERSTREAM_ANOMALY_CONCURRENCY: setting({
    section: 'anomaly',
    parser: int(1, 64),
    default: 2,
    doc: 'Partition batches the anomaly service processes at once per input topic.',
  }),
  METERSTREAM_ZONE_INFLOWS: setting({
    section: 'anomaly',
    parser: zoneInflowsJson(),
    default: null,
    shown: '(unset: no zone has a water balance)',
    doc: 'The inflow (bulk) meters of each district: `{"<tenant>": {"<zone>": ["<meter ID>", …]}}`. A zone\'s other WATER meters are its customers (`GET /v1/zones/{zone}/balance`, `GET /v1/balances`; the ZONE_LOSS detector is not run by the service yet). Listed meters are never judged by NIGHT_FLOW or BURST (water flows through them day and night); what they had fired before is resolved. The IDs are pseudonymised at start-up with `METERSTREAM_PSEUDONYM_KEY`; a meter may feed one zone of its tenant.',
  }),
  METERSTREAM_DEMO_DIR: setting({
    section: 'demo',
    parser: text(),
    default: null,
    shown: '(`demo-keys/` beside the data dir)',
    doc: '`meterstream demo` only: where it keeps the pseudonym key, API tokens and simulated fleet state it generates (directory 0700, files 0600).',
  }),
};

/** Every variable meterstream reads, by name. */
export const SETTINGS = Object.freeze({ ...SERVICE_VARIABLES, ...NOTIFIER_VARIABLES, ...DETECTOR_VARIABLES });

/** A declared variable's name. */
export type VariableName = keyof typeof SETTINGS;

/** A declared variable with its name, as the docs and the unknown-variable check list them. */
export interface Variable extends Setting {
  /** Environment variable name. */
  name: VariableName;
}

/** Every variable meterstream reads, in declaration order. */
export const VARIABLES: readonly Variable[] = Object.freeze(
  Object.entries(SETTINGS).map(([name, s]) => Object.freeze({ name: name as VariableName, ...(s as Setting) })),
);
