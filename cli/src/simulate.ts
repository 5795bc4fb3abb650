/**
 * `meterstream simulate`: the labelled fleet simulator as a standalone head-end, producing
 * Avro (single-object encoding) to any Kafka: readings keyed by raw meter ID on the readings
 * topic, invoices on the invoices topic. The history is sent at once, then, with a live part
 * (`--end` ahead, or `--follow`), deliveries follow the simulated clock. SIGINT/SIGTERM send
 * the batch in hand, disconnect and exit 0.
 */
import { createKafka, createLogger, loadConfig, resolveBrokers, stopOnSignals } from '@meterstream/core';
import { FLAGS_HELP, parseSimulateFlags, SIMULATE_DEFAULTS, simulateOptions } from './simulate-flags.js';
import { runSimulation } from './simulation.js';

type Env = Record<string, string | undefined>;

export const SIMULATE_USAGE = `usage: meterstream simulate [flags]

Produces a simulated fleet's readings and invoices (Avro single-object encoding) to
KAFKA_BROKERS (unset: the local broker), topics METERSTREAM_TOPIC_READINGS and
METERSTREAM_TOPIC_INVOICES, created when missing. Leaks, bursts, frost, wrong invoices and
silent meters are injected at the given rates. Without --follow it exits after the span.

flags:
${FLAGS_HELP}
  --follow             after the history keep producing live data, span after span (same
                       meters, new anomalies), until Ctrl-C

With --speed above 1 the data runs ahead of real time; the ingestor refuses readings more
than METERSTREAM_MAX_FUTURE_SECONDS (default 3600) ahead, so raise it for such runs.
Progress goes to stderr every few seconds.`;

/** Runs `meterstream simulate`; returns the exit code. */
export async function simulateCommand(args: string[], env: Env): Promise<number> {
  const flags = parseSimulateFlags(args);
  if (flags.help) {
    process.stdout.write(`${SIMULATE_USAGE}\n`);
    return 0;
  }
  const config = loadConfig(env);
  const options = simulateOptions(flags, SIMULATE_DEFAULTS, Date.now(), config.anomaly.detectors.timeZone);
  const say = (line: string) => process.stderr.write(`meterstream simulate: ${line}\n`);
  const logger = createLogger({ level: config.logLevel });
  const abort = new AbortController();
  let run: Promise<unknown> = Promise.resolve();
  stopOnSignals(
    async () => {
      abort.abort();
      await run;
      logger.flush();
    },
    (msg, err) => (err ? logger.error({ err }, msg) : say(msg)),
  );
  const brokers = await resolveBrokers(config.kafka, logger);
  const kafka = createKafka(config.kafka, brokers, logger);

  const { fleet } = options;
  say(
    `${fleet.meters} meters (seed ${fleet.seed}, tenant ${fleet.tenant}), ${fleet.days} days of history up to ${new Date(fleet.end).toISOString()}` +
      `${options.follow ? ', then following' : ''}; to ${brokers.join(',')} (${config.topics.readings}, ${config.topics.invoices})` +
      `${options.speed === 0 ? ', all at once' : `, live at ${options.speed}x`}`,
  );
  if (abort.signal.aborted) return 0;
  const sim = runSimulation({ kafka, config, options, signal: abort.signal, progress: say });
  run = sim.catch(() => {});
  await sim;
  logger.flush();
  return 0;
}
