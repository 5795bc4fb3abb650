/**
 * Test support: the whole pipeline (ingestor, aggregator, anomaly service) in this process on
 * the test broker and one embedded ClickHouse, with a way to wait until every stage has
 * consumed everything produced so far.
 */
import {
  AvroCodec,
  ErasureNotifier,
  createRegistry,
  migrate,
  type Alert,
  type ClickHouseClient,
  type Kafka,
  type MeterReadingBatch,
  type MeterstreamConfig,
  type ReadinessCheck,
} from '@meterstream/core';
import {
  capturingLogger,
  createTopic,
  readAll,
  testConfig,
  testKafka,
  waitForGroupCaughtUp,
  TEST_KEY_HEX,
} from '@meterstream/core/testing';
import { Ingestor } from '@meterstream/ingestor';
import { Aggregator } from '@meterstream/aggregator';
import type { Registry } from 'prom-client';
import { AnomalyService } from './anomaly.js';

export const TEST_KEY = Buffer.from(TEST_KEY_HEX, 'hex');

export interface TestPipeline {
  config: MeterstreamConfig;
  kafka: Kafka;
  codec: AvroCodec;
  lines: string[];
  /** The process's erasure announcements, given to the anomaly service. */
  erasures: ErasureNotifier;
  anomaly: AnomalyService;
  /** The metrics of the ingestor and aggregator, and of the current anomaly service. */
  registries(): Registry[];
  /** The readiness checks `meterstream all` serves on /readyz, of the current instances. */
  readiness(): Record<string, ReadinessCheck>;
  /** Replaces the anomaly service with a fresh instance (a restart). */
  restartAnomaly(): Promise<void>;
  /** Resolves when every stage has consumed every input topic to its end. */
  settle(timeoutMs?: number): Promise<void>;
  /** Every alert record on the alerts topic. */
  alerts(): Promise<Alert[]>;
  close(): Promise<void>;
}

export async function startPipeline(
  clickhouse: ClickHouseClient,
  env: Record<string, string>,
  partitions: number,
): Promise<TestPipeline> {
  const config = testConfig(env);
  const kafka = testKafka();
  const codec = new AvroCodec();
  await migrate(clickhouse, { database: config.clickhouse.database, retention: config.retention });
  await createTopic(kafka, config.topics.readings, partitions);
  await createTopic(kafka, config.topics.invoices, partitions);
  await createTopic(kafka, config.topics.prices, partitions);
  const { logger, lines } = capturingLogger();
  const registry = createRegistry('all');
  const erasures = new ErasureNotifier();
  const ingestor = new Ingestor({ config, pseudonymKey: TEST_KEY, kafka, clickhouse, registry, logger, codec });
  const aggregator = new Aggregator({ config, kafka, clickhouse, registry, logger, codec });
  let anomalyRegistry = createRegistry('anomaly');
  const newAnomaly = () =>
    new AnomalyService({
      config,
      pseudonymKey: TEST_KEY,
      kafka,
      clickhouse,
      registry: (anomalyRegistry = createRegistry('anomaly')),
      logger,
      codec,
      erasures,
      sweepIntervalMs: 500,
    });
  await ingestor.start();
  await aggregator.start();
  const p: TestPipeline = {
    config,
    kafka,
    codec,
    lines,
    erasures,
    anomaly: newAnomaly(),
    registries: () => [registry, anomalyRegistry],
    readiness: () => ({ ...ingestor.readiness(), ...aggregator.readiness(), ...p.anomaly.readiness() }),
    async restartAnomaly() {
      await p.anomaly.close();
      p.anomaly = newAnomaly();
      await p.anomaly.start();
    },
    async settle(timeoutMs = 300_000) {
      const g = config.anomaly.groupId;
      await waitForGroupCaughtUp(kafka, config.ingestor.groupId, config.topics.readings, timeoutMs);
      await waitForGroupCaughtUp(kafka, config.aggregator.groupId, config.topics.clean, timeoutMs);
      await waitForGroupCaughtUp(kafka, `${g}-hourly`, config.topics.hourly, timeoutMs);
      await waitForGroupCaughtUp(kafka, `${g}-temperature`, config.topics.clean, timeoutMs);
      await waitForGroupCaughtUp(kafka, `${g}-invoices`, config.topics.invoices, timeoutMs);
      await waitForGroupCaughtUp(kafka, `${g}-prices`, config.topics.prices, timeoutMs);
    },
    async alerts() {
      return (await readAll(kafka, config.topics.alerts)).map((r) => codec.decode(r.value!).value as Alert);
    },
    async close() {
      await p.anomaly.close();
      await aggregator.close();
      await ingestor.close();
    },
  };
  await p.anomaly.start();
  return p;
}

/** A household's hourly litres by hour index: 40 L in the morning and evening hours, else 0. */
export const quiet = (i: number): number => ([7, 8, 18, 19, 20].includes(((i % 24) + 24) % 24) ? 40 : 0);

/** Hourly water litres per hour index from `day0` → one MeterReadingBatch per day and meter. */
export function hourlyWaterBatches(
  day0: number,
  meterId: string,
  litres: (hourIndex: number) => number,
  days = 6,
  zoneId = 'zone-7',
  quality: 'MEASURED' | 'CORRECTED' = 'MEASURED',
): MeterReadingBatch[] {
  const H = 3_600_000;
  const out: MeterReadingBatch[] = [];
  for (let d = 0; d < days; d++) {
    const readings = [];
    for (let h = 0; h < 24; h++) {
      const i = d * 24 + h;
      readings.push({ ts: day0 + i * H, value: litres(i), quality });
    }
    out.push({
      meterId,
      tenant: 'default',
      kind: 'WATER',
      unit: 'L',
      readingType: 'INTERVAL',
      intervalSeconds: 3600,
      zoneId,
      priceArea: null,
      readings,
    });
  }
  return out;
}
