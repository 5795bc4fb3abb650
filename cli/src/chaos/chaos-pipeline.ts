/**
 * The pipeline a chaos soak runs: its own single-node broker (stopped and started by the soak,
 * same dir and port), the ingestor, aggregator and anomaly service in this process on one embedded
 * ClickHouse, wired as `meterstream all` wires them, except at the two seams the faults use:
 * ClickHouse through `withClickHouseFaults`, and the services' Kafka client through a cuttable
 * network (`cuttableKafkaNetwork`). The soak's own producing and reading go through a second
 * client the network faults do not touch.
 */
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Kafka, logLevel } from 'kafkajs';
import type { Registry } from 'prom-client';
import {
  AvroCodec,
  ErasureNotifier,
  clickHouseReadiness,
  createClickHouse,
  createHttpServer,
  createLogger,
  createRegistry,
  loadConfig,
  migrate,
  repoPath,
  type ClickHouseClient,
  type MeterstreamConfig,
} from '@meterstream/core';
import {
  createTopic,
  cuttableKafkaNetwork,
  withClickHouseFaults,
  type ClickHouseFaults,
  type KafkaNetwork,
} from '@meterstream/core/testing';
import { Ingestor } from '@meterstream/ingestor';
import { Aggregator } from '@meterstream/aggregator';
import { AnomalyService } from '@meterstream/anomaly';

type LocalKafka = {
  startLocalKafka(o: { dir: string; port: number }): Promise<{ brokers: string }>;
  stopLocalKafka(o: { dir: string }): Promise<boolean>;
};

export interface ChaosPipeline {
  config: MeterstreamConfig;
  pseudonymKey: Buffer;
  /** The soak's own client: producing, reading back, watching offsets. */
  kafka: Kafka;
  codec: AvroCodec;
  /** The real (unwrapped) ClickHouse client, for the verdict. */
  clickhouse: ClickHouseClient;
  registry: Registry;
  faults: ClickHouseFaults;
  network: KafkaNetwork;
  /** Stops the broker (SIGTERM, controlled shutdown). */
  stopBroker(): Promise<void>;
  /** Starts it again on the same dir and port. */
  startBroker(): Promise<void>;
  /** What `/readyz` answers now. */
  readyz(): Promise<{ status: number; checks: Record<string, string> }>;
  /** Each consumer group with the topic it reads. */
  groups: { group: string; topic: string }[];
  close(): Promise<void>;
}

/** Starts a fresh broker under `dir` on `port` and the services on it; state of an earlier soak is removed. */
export async function startChaosPipeline(o: { dir: string; port: number; logFile: string }): Promise<ChaosPipeline> {
  const dir = resolve(o.dir);
  const brokerDir = join(dir, 'kafka');
  const local = (await import(pathToFileURL(repoPath('scripts', 'kafka', 'local-kafka.mjs')).href)) as LocalKafka;
  await local.stopLocalKafka({ dir: brokerDir }); // one left over by an interrupted soak
  // A fresh broker and engine each soak; the broker's cached classpath stays (no mvn run).
  rmSync(join(brokerDir, 'data'), { recursive: true, force: true });
  rmSync(join(dir, 'clickhouse'), { recursive: true, force: true });
  const { brokers } = await local.startLocalKafka({ dir: brokerDir, port: o.port });

  const pseudonymKey = randomBytes(32);
  const config = loadConfig({
    KAFKA_BROKERS: brokers,
    METERSTREAM_PSEUDONYM_KEY: pseudonymKey.toString('hex'),
    METERSTREAM_DATA_DIR: join(dir, 'clickhouse'),
    METERSTREAM_INSTANCE_ID: 'chaos',
    METERSTREAM_FETCH_MAX_WAIT_MS: '100',
    METERSTREAM_BULK_FETCH_MAX_WAIT_MS: '100',
    LOG_LEVEL: 'info',
  });
  const logger = createLogger({ level: 'info', file: o.logFile });
  const network = cuttableKafkaNetwork();
  const client = (clientId: string, socketFactory?: KafkaNetwork['socketFactory']) =>
    new Kafka({
      clientId,
      brokers: brokers.split(','),
      connectionTimeout: 10_000,
      requestTimeout: 60_000,
      logLevel: logLevel.NOTHING,
      ...(socketFactory ? { socketFactory } : {}),
    });
  const kafka = client('chaos-soak');
  const services = client(config.kafka.clientId, network.socketFactory);
  const clickhouse = await createClickHouse(config.clickhouse);
  await migrate(clickhouse, { database: config.clickhouse.database, retention: config.retention });
  await createTopic(kafka, config.topics.readings, 3);
  await createTopic(kafka, config.topics.invoices, 3);

  const faults = withClickHouseFaults(clickhouse);
  const registry = createRegistry('all');
  const codec = new AvroCodec();
  const deps = { config, kafka: services, clickhouse: faults.client, registry, logger, codec };
  const ingestor = new Ingestor({ ...deps, pseudonymKey });
  const aggregator = new Aggregator(deps);
  const anomaly = new AnomalyService({ ...deps, pseudonymKey, erasures: new ErasureNotifier() });
  const http = createHttpServer({
    registry,
    logger,
    readiness: {
      clickhouse: clickHouseReadiness(faults.client),
      ...ingestor.readiness(),
      ...aggregator.readiness(),
      ...anomaly.readiness(),
    },
    liveness: { ...ingestor.liveness(), ...aggregator.liveness(), ...anomaly.liveness() },
    readinessTimeoutMs: 2_000,
  });
  await ingestor.start();
  await aggregator.start();
  await anomaly.start();
  const a = config.anomaly.groupId;
  return {
    config,
    pseudonymKey,
    kafka,
    codec,
    clickhouse,
    registry,
    faults,
    network,
    stopBroker: async () => void (await local.stopLocalKafka({ dir: brokerDir })),
    startBroker: async () => void (await local.startLocalKafka({ dir: brokerDir, port: o.port })),
    readyz: async () => {
      const r = await http.inject({ method: 'GET', url: '/readyz' });
      return { status: r.statusCode, checks: (r.json() as { checks: Record<string, string> }).checks };
    },
    groups: [
      { group: config.ingestor.groupId, topic: config.topics.readings },
      { group: config.aggregator.groupId, topic: config.topics.clean },
      { group: `${a}-hourly`, topic: config.topics.hourly },
      { group: `${a}-temperature`, topic: config.topics.clean },
      { group: `${a}-invoices`, topic: config.topics.invoices },
    ],
    close: async () => {
      faults.release();
      faults.failShare(0);
      network.restore();
      await anomaly.close();
      await aggregator.close();
      await ingestor.close();
      await http.close();
      await clickhouse.close();
      logger.flush();
      await local.stopLocalKafka({ dir: brokerDir });
    },
  };
}
