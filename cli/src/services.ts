/**
 * The services of one process: one Kafka client, one ClickHouse client and one HTTP port for
 * whichever of the ingestor, aggregator and anomaly service run here. `meterstream all` and
 * each single-service command run them until a signal; the demo starts them beside its broker
 * and simulator and stops them in its own order.
 */
import {
  ErasedMeters,
  ErasureNotifier,
  applyTopicRetention,
  ownedTopicRetention,
  clickHouseReadiness,
  createClickHouse,
  createHttpServer,
  createKafka,
  createLogger,
  createRegistry,
  migrate,
  requirePseudonymKey,
  resolveBrokers,
  sharedPromise,
  stopOnSignals,
  type Kafka,
  type Logger,
  type MeterstreamConfig,
  type ReadinessCheck,
  type Stage,
} from '@meterstream/core';
import { Ingestor } from '@meterstream/ingestor';
import { Aggregator } from '@meterstream/aggregator';
import { AnomalyService } from '@meterstream/anomaly';
import { NotifierService } from '@meterstream/notifier';
import { accessOf, registerHttpRoutes } from './http-routes.js';

export type ServiceName = 'ingestor' | 'aggregator' | 'anomaly' | 'notifier';
export const ALL_SERVICES: readonly ServiceName[] = ['ingestor', 'aggregator', 'anomaly', 'notifier'];

/** Services started by {@link startServices}, consuming and serving HTTP. */
export interface RunningServices {
  logger: Logger;
  kafka: Kafka;
  brokers: string[];
  /** What Fastify listens on, e.g. `http://0.0.0.0:8080`. */
  address: string;
  /** The real HTTP port (differs from the configured one with `PORT=0`). */
  port: number;
  /**
   * Stops consuming (each stage drains its batch in flight and commits), then closes
   * ClickHouse and HTTP. Every call shares the first one's promise.
   */
  stop: () => Promise<void>;
}

export interface StartOptions {
  /** Brokers already resolved by the caller (the demo's local broker); default {@link resolveBrokers}. */
  brokers?: string[];
  /** The process logger; default one at the configured level. */
  logger?: Logger;
  /**
   * Called once HTTP listens, before the stages start (they may wait for Kafka and ClickHouse):
   * `/healthz` answers from here on, and `stop` can already drain what has started.
   */
  onListening?: (listening: { address: string; port: number; stop: () => Promise<void> }) => void;
}

/**
 * Starts the named services. Resolves once HTTP listens and every stage has started; if a
 * stage fails to start, what was started is stopped again before the error is thrown.
 */
export async function startServices(
  names: readonly ServiceName[],
  config: MeterstreamConfig,
  options: StartOptions = {},
): Promise<RunningServices> {
  const logger = options.logger ?? createLogger({ level: config.logLevel });
  const key = names.includes('ingestor') || names.includes('anomaly') ? requirePseudonymKey(config) : null;
  const registry = createRegistry(names.length === 1 ? names[0] : 'all');
  const brokers = options.brokers ?? (await resolveBrokers(config.kafka, logger));
  const kafka = createKafka(config.kafka, brokers, logger);
  const clickhouse = await createClickHouse(config.clickhouse);
  const migrated = await migrate(clickhouse, {
    database: config.clickhouse.database,
    retention: config.retention,
    cluster: config.clickhouse.cluster,
  });
  logger.info({ applied: migrated.applied, ttlChanged: migrated.ttlChanged }, 'ClickHouse schema ready');

  // Erasures through the data API reach the anomaly service's in-memory state in this process.
  const erasures = new ErasureNotifier();
  // Erased pseudonyms, refused by every stage here; an erasure blocks first and waits for the
  // writes in flight. Other processes can write only through a ClickHouse server.
  const erased = new ErasedMeters({
    clickhouse,
    database: config.clickhouse.database,
    registry,
    logger,
    refreshMs: config.erasure.refreshMs,
    localFenceMs: Math.max(config.erasure.fenceMs, 1_000),
    remoteFenceMs: config.clickhouse.url === null ? null : config.erasure.fenceMs,
    notifier: erasures,
  });
  await erased.start();
  const stages: Stage[] = [];
  const readiness: Record<string, ReadinessCheck> = { clickhouse: clickHouseReadiness(clickhouse) };
  if (names.includes('ingestor')) {
    const ingestor = new Ingestor({ config, pseudonymKey: key!, kafka, clickhouse, registry, logger, erased });
    Object.assign(readiness, ingestor.readiness());
    stages.push(ingestor);
  }
  if (names.includes('aggregator')) {
    const aggregator = new Aggregator({ config, kafka, clickhouse, registry, logger, erased });
    Object.assign(readiness, aggregator.readiness());
    stages.push(aggregator);
  }
  if (names.includes('anomaly')) {
    const anomaly = new AnomalyService({
      config,
      pseudonymKey: key!,
      kafka,
      clickhouse,
      registry,
      logger,
      erasures,
      erased,
    });
    Object.assign(readiness, anomaly.readiness());
    stages.push(anomaly);
  }
  let notifier: NotifierService | null = null;
  if (names.includes('notifier')) {
    notifier = new NotifierService({ config, kafka, clickhouse, registry, logger, erased });
    Object.assign(readiness, notifier.readiness());
    stages.push(notifier);
  }
  const liveness = Object.assign({}, ...stages.map((s) => s.liveness?.() ?? {})) as Record<string, () => boolean>;
  const http = createHttpServer({
    registry,
    logger,
    readiness,
    liveness,
    access: accessOf(config),
    rateLimitPerMinute: config.rateLimitPerMinute,
  });
  registerHttpRoutes(http, names, { config, clickhouse, erasures, erased, kafka, notifier });
  const address = await http.listen({ port: config.port, host: config.host });
  const bound = http.server.address();
  const port = typeof bound === 'object' && bound !== null ? bound.port : config.port;
  logger.info({ address, brokers }, 'HTTP listening');

  const stop = sharedPromise(async () => {
    for (const s of stages) await s.close();
    erased.close();
    await clickhouse.close();
    await http.close();
  });
  options.onListening?.({ address, port, stop });
  try {
    for (const s of stages) await s.start();
    // The topics exist now (the stages create what is missing): their retention is ours.
    const admin = kafka.admin();
    await admin.connect();
    try {
      await applyTopicRetention(admin, ownedTopicRetention(config), logger);
    } finally {
      await admin.disconnect();
    }
  } catch (err) {
    await stop().catch((e: unknown) => logger.error({ err: e }, 'stopping after a failed start'));
    throw err;
  }
  return { logger, kafka, brokers, address, port, stop };
}

/** Runs the named services until SIGTERM/SIGINT (`meterstream all|ingestor|aggregator|anomaly`). */
export async function runServices(names: readonly ServiceName[], config: MeterstreamConfig): Promise<void> {
  const logger = createLogger({ level: config.logLevel });
  await startServices(names, config, {
    logger,
    onListening: ({ address, stop }) => {
      // Printed for scripts and tests that started us with PORT=0.
      process.stdout.write(`meterstream: listening on ${address}\n`);
      stopOnSignals(
        async () => {
          await stop();
          logger.flush();
        },
        (msg, err) => (err ? logger.error({ err }, msg) : logger.info(msg)),
        config.shutdownTimeoutMs,
      );
    },
  });
  process.stdout.write('meterstream: ready\n');
}
