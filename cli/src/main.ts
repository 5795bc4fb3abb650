/**
 * `meterstream <command>`: the one entry point. Reads the environment once, resolves the
 * configuration, wires the components and runs them until SIGTERM/SIGINT.
 */
import { parseArgs } from 'node:util';
import {
  ConfigError,
  createClickHouse,
  createHttpServer,
  createKafka,
  createLogger,
  createRegistry,
  isMeterError,
  loadConfig,
  migrate,
  pseudonymOf,
  requirePseudonymKey,
  resolveBrokers,
  stopOnSignals,
  type MeterstreamConfig,
  type ReadinessCheck,
  type Stage,
} from '@meterstream/core';
import { Ingestor } from '@meterstream/ingestor';
import { Aggregator, registerHourlyRoute } from '@meterstream/aggregator';
import { AnomalyService, registerAlertRoutes } from '@meterstream/anomaly';
import { registerMeterDataRoutes } from '@meterstream/core/http/meter-data.routes';
import { ensureDemoKey } from './demo-key.js';

const USAGE = `usage: meterstream <command>

commands:
  ingestor     consume raw readings, store them pseudonymised, publish clean batches
  aggregator   roll clean readings up into exact hourly rows
  anomaly      leak, burst, frost, invoice and silent-meter alerts
  all          every service in one process (one HTTP port)
  demo         'all' with a local Kafka broker, embedded ClickHouse and a demo key
  pseudonym --tenant T --meter M
               print a meter's pseudonym (needs METERSTREAM_PSEUDONYM_KEY)

Configuration comes from environment variables: see README.md.`;

type Env = Record<string, string | undefined>;

/** Runs a command; returns the exit code (services return only after a signal). */
export async function main(argv: string[], env: Env): Promise<number> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case 'pseudonym':
        return pseudonymCommand(rest, loadConfig(env));
      case 'ingestor':
      case 'aggregator':
      case 'anomaly':
        await runServices([command], loadConfig(env));
        return 0;
      case 'all':
        await runServices(['ingestor', 'aggregator', 'anomaly'], loadConfig(env));
        return 0;
      case 'demo': {
        const demoEnv = ensureDemoKey(env);
        await runServices(['ingestor', 'aggregator', 'anomaly'], loadConfig(demoEnv));
        return 0;
      }
      case undefined:
      case '-h':
      case '--help':
      case 'help':
        process.stdout.write(`${USAGE}\n`);
        return command === undefined ? 2 : 0;
      default:
        process.stderr.write(`meterstream: unknown command ${JSON.stringify(command)}\n${USAGE}\n`);
        return 2;
    }
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`meterstream: configuration error: ${err.message}\n`);
      return 78; // EX_CONFIG
    }
    process.stderr.write(`meterstream: ${isMeterError(err) ? `${err.code}: ` : ''}${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
    return 1;
  }
}

function pseudonymCommand(args: string[], config: MeterstreamConfig): number {
  const { values } = parseArgs({ args, options: { tenant: { type: 'string', default: 'default' }, meter: { type: 'string' } }, strict: true });
  if (!values.meter) throw new ConfigError('--meter', 'required');
  process.stdout.write(`${pseudonymOf(requirePseudonymKey(config), values.tenant!, values.meter)}\n`);
  return 0;
}

/**
 * Starts the named services on one Kafka client, one ClickHouse client and one HTTP port.
 * Shutdown order: stop consuming (each stage drains its batch in flight and commits), then
 * close ClickHouse, then HTTP.
 */
async function runServices(names: ('ingestor' | 'aggregator' | 'anomaly')[], config: MeterstreamConfig): Promise<void> {
  const logger = createLogger({ level: config.logLevel });
  const key = names.includes('ingestor') || names.includes('anomaly') ? requirePseudonymKey(config) : null;
  const registry = createRegistry(names.length === 1 ? names[0] : 'all');
  const brokers = await resolveBrokers(config.kafka, logger);
  const kafka = createKafka(config.kafka, brokers, logger);
  const clickhouse = await createClickHouse(config.clickhouse);
  const migrated = await migrate(clickhouse, { database: config.clickhouse.database, retention: config.retention });
  logger.info({ applied: migrated.applied, ttlChanged: migrated.ttlChanged }, 'ClickHouse schema ready');

  const stages: Stage[] = [];
  const readiness: Record<string, ReadinessCheck> = {
    clickhouse: async () => {
      const r = await clickhouse.ping();
      return r.success ? true : `ClickHouse unreachable: ${r.error.message}`;
    },
  };
  if (names.includes('ingestor')) {
    const ingestor = new Ingestor({ config, pseudonymKey: key!, kafka, clickhouse, registry, logger });
    Object.assign(readiness, ingestor.readiness());
    stages.push(ingestor);
  }
  if (names.includes('aggregator')) {
    const aggregator = new Aggregator({ config, kafka, clickhouse, registry, logger });
    Object.assign(readiness, aggregator.readiness());
    stages.push(aggregator);
  }
  if (names.includes('anomaly')) {
    const anomaly = new AnomalyService({ config, pseudonymKey: key!, kafka, clickhouse, registry, logger });
    Object.assign(readiness, anomaly.readiness());
    stages.push(anomaly);
  }
  const http = createHttpServer({ registry, logger, readiness });
  if (names.includes('aggregator')) registerHourlyRoute(http, { clickhouse, database: config.clickhouse.database, apiToken: config.apiToken });
  registerMeterDataRoutes(http, { clickhouse, database: config.clickhouse.database, adminToken: config.adminToken });
  if (names.includes('anomaly')) registerAlertRoutes(http, { clickhouse, database: config.clickhouse.database, apiToken: config.apiToken });
  const address = await http.listen({ port: config.port, host: config.host });
  logger.info({ address, brokers }, 'HTTP listening');
  // Printed for scripts and tests that started us with PORT=0.
  process.stdout.write(`meterstream: listening on ${address}\n`);

  stopOnSignals(
    async () => {
      for (const s of stages) await s.close();
      await clickhouse.close();
      await http.close();
      logger.flush();
    },
    (msg, err) => (err ? logger.error({ err }, msg) : logger.info(msg)),
  );
  for (const s of stages) await s.start();
  process.stdout.write('meterstream: ready\n');
}
