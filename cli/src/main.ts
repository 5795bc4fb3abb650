/**
 * `meterstream <command>`: the one entry point. Reads the environment once, resolves the
 * configuration, wires the components and runs them until SIGTERM/SIGINT.
 */
import { parseArgs } from 'node:util';
import {
  ConfigError,
  isMeterError,
  loadConfig,
  pseudonymOf,
  requirePseudonymKey,
  type MeterstreamConfig,
} from '@meterstream/core';
import { demoCommand } from './demo.js';
import { ALL_SERVICES, runServices } from './services.js';
import { simulateCommand } from './simulate.js';

const USAGE = `usage: meterstream <command>

commands:
  ingestor     consume raw readings, store them pseudonymised, publish clean batches
  aggregator   roll clean readings up into exact hourly rows
  anomaly      leak, burst, frost, invoice and silent-meter alerts
  notifier     deliver alerts to Alertmanager and signed webhooks; acks and silences
  all          every service in one process (one HTTP port)
  demo         what \`npm start\` runs: 'all' with the local Kafka broker, embedded
               ClickHouse, generated key and tokens, and the fleet simulator
               (meterstream demo --help)
  simulate     produce a simulated fleet's readings and invoices, with injected
               anomalies, to Kafka (meterstream simulate --help)
  pseudonym --tenant T --meter M
               print a meter's pseudonym (needs METERSTREAM_PSEUDONYM_KEY)

Configuration comes from environment variables: see docs/configuration.md.`;

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
      case 'notifier':
        await runServices([command], loadConfig(env));
        return 0;
      case 'all':
        await runServices(ALL_SERVICES, loadConfig(env));
        return 0;
      case 'demo':
        return await demoCommand(rest, env);
      case 'simulate':
        return await simulateCommand(rest, env);
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
    process.stderr.write(
      `meterstream: ${isMeterError(err) ? `${err.code}: ` : ''}${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
    );
    return 1;
  }
}

function pseudonymCommand(args: string[], config: MeterstreamConfig): number {
  const { values } = parseArgs({
    args,
    options: { tenant: { type: 'string', default: 'default' }, meter: { type: 'string' } },
    strict: true,
  });
  if (!values.meter) throw new ConfigError('--meter', 'required');
  process.stdout.write(`${pseudonymOf(requirePseudonymKey(config), values.tenant!, values.meter)}\n`);
  return 0;
}
