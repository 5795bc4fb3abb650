/**
 * `meterstream demo` (`npm start`): everything on one machine in one process. The local Kafka
 * broker when KAFKA_BROKERS is unset (started here, or reused if already running), embedded
 * ClickHouse under METERSTREAM_DATA_DIR, the three services on one HTTP port, generated demo
 * credentials, and the fleet simulator: the last 14 days sent at once, then live at 60x.
 * Prints where to look. Ctrl-C stops the simulator, drains the services, closes ClickHouse and
 * HTTP, stops the broker if this demo started it, and exits 0.
 */
import { relative, resolve, sep } from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  createLogger,
  loadConfig,
  pseudonymOf,
  repoPath,
  requirePseudonymKey,
  sharedPromise,
  stopOnSignals,
  type Kafka,
  type MeterstreamConfig,
} from '@meterstream/core';
import { ensureDemoCredentials, type DemoCredentials, type DemoSecret } from './demo-credentials.js';
import { demoFleet, saveFleet, type DemoFleet } from './demo-fleet.js';
import { startAlertFeed } from './demo-alert-feed.js';
import { FleetStream } from './fleet-stream.js';
import { ALL_SERVICES, startServices } from './services.js';
import { FLAGS_HELP, parseSimulateFlags } from './simulate-flags.js';
import { runSimulation, writeLabels } from './simulation.js';

type Env = Record<string, string | undefined>;

export const DEMO_USAGE = `usage: meterstream demo [flags]      (npm start -- [flags])

Runs the local Kafka broker (unless KAFKA_BROKERS is set), embedded ClickHouse, the three
services on one port (PORT, default 8080) and a simulated fleet with leaks, bursts, frost,
wrong invoices and silent meters: 14 days of history at once, then live at 60x. Key and
tokens are created in METERSTREAM_DEMO_DIR (default demo-keys/ beside the data) unless set
in the environment. The next start continues the same fleet.

flags (as for meterstream simulate; a flag that changes the fleet starts a new one):
${FLAGS_HELP}`;

/**
 * The demo's defaults for variables the environment leaves unset: readings from the
 * simulator's clock accepted although it runs ahead of real time (at 60x, an hour of wall time
 * is 60 hours of data).
 */
const DEMO_ENV_DEFAULTS: Readonly<Record<string, string>> = Object.freeze({
  METERSTREAM_MAX_FUTURE_SECONDS: String(366 * 86_400),
});

/** The service log under the data directory, unless LOG_LEVEL asks for logs on the terminal. */
const demoLogFile = (config: MeterstreamConfig): string =>
  resolve(config.clickhouse.dataDir, 'logs', 'meterstream.log');

/** How often the simulator's progress line and its resume point are written. */
const PROGRESS_EVERY_MS = 15_000;

interface LocalKafkaModule {
  startLocalKafka: () => Promise<{ brokers: string; pid: number; stop: () => Promise<unknown> }>;
  localKafkaStatus: () => { running: boolean; pid?: number; brokers?: string };
}

const say = (line: string) => process.stdout.write(`meterstream demo: ${line}\n`);

/** Runs the demo; resolves once everything runs (the process then lives until a signal). */
export async function demoCommand(args: string[], env: Env): Promise<number> {
  const flags = parseSimulateFlags(args);
  if (flags.help) {
    process.stdout.write(`${DEMO_USAGE}\n`);
    return 0;
  }
  const withDefaults: Env = { ...env };
  for (const [name, value] of Object.entries(DEMO_ENV_DEFAULTS)) if (!env[name]) withDefaults[name] = value;
  const credentials = ensureDemoCredentials(loadConfig(withDefaults));
  const config = loadConfig({ ...withDefaults, ...credentials.env });
  const fleet = demoFleet(flags, resolve(config.demoDir), Date.now(), config.anomaly.detectors.timeZone);
  reportCredentials(credentials);
  // The terminal is for people: the guide, the simulator's progress and the alert lines. The
  // services' JSON logs go to a file, or to stderr when LOG_LEVEL is set explicitly.
  const logFile = env.LOG_LEVEL ? null : demoLogFile(config);
  const logger =
    logFile === null
      ? createLogger({ level: config.logLevel, destination: process.stderr })
      : createLogger({ level: config.logLevel, file: logFile });
  const problem = (msg: string, err: unknown) => {
    logger.error({ err }, msg);
    if (logFile !== null) say(`${msg}: ${err instanceof Error ? err.message : String(err)} (see ${shown(logFile)})`);
  };

  const teardown = new Teardown(problem);
  stopOnSignals(
    async () => {
      await teardown.stop();
      logger.flush();
    },
    (msg, err) => (err ? problem(msg, err) : say(msg)),
  );
  try {
    const brokers = config.kafka.brokers === null ? [await localBroker(teardown)] : undefined;
    if (teardown.stopping) return 0;
    const services = await teardown.step(
      startServices(ALL_SERVICES, config, {
        brokers,
        logger,
        onListening: ({ address, stop }) => {
          process.stdout.write(`meterstream: listening on ${address}\n`);
          teardown.add(stop);
        },
      }),
    );
    if (teardown.stopping) return 0;
    const abort = new AbortController();
    const simulation = startSimulator(config, fleet, services.kafka, abort.signal);
    teardown.add(async () => {
      abort.abort();
      await simulation;
    });
    printGuide(config, credentials, fleet, simulation.stream, services.port, logFile);
    const feed = await teardown.step(
      startAlertFeed({
        kafka: services.kafka,
        config,
        logger,
        write: (line) => process.stdout.write(`${line}\n`),
      }),
    );
    if (teardown.stopping) {
      await feed.stop();
      return 0;
    }
    teardown.add(feed.stop);
    process.stdout.write('meterstream: ready\n');
    return 0;
  } catch (err) {
    // Nothing half-started is left behind: a broker this demo started is stopped again.
    await teardown.stop().catch(() => {});
    throw err;
  }
}

/**
 * What the demo has started, stopped in reverse order (simulator, services, broker). A stop
 * during start-up waits for the step in progress, so a broker half started is still stopped,
 * and the start-up begins nothing after it.
 */
class Teardown {
  readonly #stops: (() => Promise<void>)[] = [];
  readonly #log: (msg: string, err: unknown) => void;
  #step: Promise<unknown> = Promise.resolve();
  stopping = false;

  constructor(log: (msg: string, err: unknown) => void) {
    this.#log = log;
  }

  /** A start step that a stop waits for. */
  step<T>(p: Promise<T>): Promise<T> {
    this.#step = p;
    return p;
  }

  add(stop: () => Promise<void>): void {
    this.#stops.push(stop);
  }

  /** Runs every stop, even after one failed; rejects with the first failure. */
  readonly stop = sharedPromise(async () => {
    this.stopping = true;
    await this.#step.catch(() => {});
    let first: unknown = null;
    for (let stop = this.#stops.pop(); stop !== undefined; stop = this.#stops.pop()) {
      await stop().catch((err: unknown) => {
        this.#log('stopping', err);
        first ??= err;
      });
    }
    if (first !== null) throw first;
  });
}

/** The local broker: reused when it runs already (and then left running), else started and stopped with the demo. */
async function localBroker(teardown: Teardown): Promise<string> {
  const local = (await import(pathToFileURL(repoPath('scripts', 'kafka', 'local-kafka.mjs')).href)) as LocalKafkaModule;
  const before = local.localKafkaStatus();
  const broker = await teardown.step(local.startLocalKafka());
  if (before.running && before.pid === broker.pid) {
    say(
      `using the local Kafka broker already running at ${broker.brokers} (left running on exit; \`npm run kafka:down\` stops it)`,
    );
  } else {
    say(`started the local Kafka broker at ${broker.brokers}; it stops with the demo`);
    teardown.add(async () => {
      await broker.stop();
      say('local Kafka broker stopped');
    });
  }
  return broker.brokers;
}

/** Starts the simulator in the background; the promise settles when it stops, never rejects. */
function startSimulator(
  config: MeterstreamConfig,
  fleet: DemoFleet,
  kafka: Kafka,
  signal: AbortSignal,
): Promise<void> & { stream: FleetStream } {
  const { options } = fleet;
  const labelsFile = options.labelsFile === null ? null : resolve(options.labelsFile);
  const stream = new FleetStream(
    options.fleet,
    options.follow,
    labelsFile === null ? undefined : (labels) => writeLabels(labelsFile, options, labels),
  );
  let sentUntil = fleet.resumeFrom;
  let savedAt = 0;
  const save = () => saveFleet(fleet.file, { fleet: options.fleet, sentUntil });
  save();
  const clockStart = Math.max(Date.now(), fleet.resumeFrom ?? 0);
  const run = runSimulation({
    kafka,
    config,
    options,
    stream,
    signal,
    clockStart,
    skipBefore: fleet.resumeFrom ?? undefined,
    progressEveryMs: PROGRESS_EVERY_MS,
    progress: (line) => process.stderr.write(`meterstream demo: simulator: ${line}\n`),
    onSent: (at) => {
      sentUntil = at;
      if (Date.now() - savedAt >= PROGRESS_EVERY_MS) {
        savedAt = Date.now();
        save();
      }
    },
  }).then(
    (p) => {
      save();
      if (!signal.aborted)
        say(
          `the simulator has sent its ${p.messages.toLocaleString('en-US')} messages; the services keep running (Ctrl-C stops)`,
        );
    },
    (err: unknown) => {
      save();
      say(`the simulator stopped: ${(err as Error).message}; the services keep running (Ctrl-C stops)`);
    },
  );
  return Object.assign(run, { stream });
}

/** A path as the user would type it: relative below the working directory, else absolute. */
function shown(file: string): string {
  const rel = relative(process.cwd(), file);
  return rel === '' || rel === '..' || rel.startsWith(`..${sep}`) || rel.startsWith(sep) ? file : `.${sep}${rel}`;
}

function reportCredentials(c: DemoCredentials): void {
  const secrets = [c.pseudonymKey, c.apiToken, c.adminToken].filter((s) => s.file !== null);
  const created = secrets.filter((s) => s.created).map((s) => shown(s.file!));
  const reused = secrets.filter((s) => !s.created).map((s) => shown(s.file!));
  if (created.length > 0)
    say(
      `created ${created.join(', ')} (mode 0600)${c.pseudonymKey.created ? '; keep the pseudonym key apart from the data' : ''}`,
    );
  if (reused.length > 0) say(`using ${reused.join(', ')}`);
}

function secretLine(label: string, s: DemoSecret, variable: string, what: string): string {
  return s.file === null
    ? `    ${label} from ${variable} (${what})`
    : `    ${label} ${s.value}   (${shown(s.file)}; ${what})`;
}

const iso = (t: number) => new Date(t).toISOString().replace(/\.000Z$/, 'Z');

/** The guide printed once everything runs. */
function printGuide(
  config: MeterstreamConfig,
  c: DemoCredentials,
  fleet: DemoFleet,
  stream: FleetStream,
  port: number,
  logFile: string | null,
): void {
  const host =
    config.host === '0.0.0.0' || config.host === '::'
      ? '127.0.0.1'
      : config.host.includes(':')
        ? `[${config.host}]`
        : config.host;
  const base = `http://${host}:${port}`;
  const { options } = fleet;
  const plan = stream.plan;
  // One household with a leak (else any water meter), by its pseudonym: the API never sees raw IDs.
  const leaking = new Set(plan.labels.filter((l) => l.type === 'NIGHT_FLOW').map((l) => l.meterId));
  const water = plan.meters.filter((m) => m.kind === 'WATER');
  const example = water.find((m) => leaking.has(m.meterId)) ?? water[0] ?? plan.meters[0];
  const now = Math.floor(Date.now() / 3_600_000) * 3_600_000;
  const token = c.apiToken.file === null ? '$METERSTREAM_API_TOKEN' : c.apiToken.value;
  const lines = [
    '',
    `meterstream demo is running: ingestor, aggregator and anomaly service on ${base}`,
    '',
    '  Look here (alerts appear within a minute or two, as the history is processed):',
    // The read token rides in the fragment, which the browser never sends: the page moves it
    // into the tab's sessionStorage and out of the address bar (docs/console.md).
    ...(c.apiToken.file === null
      ? [`    ${base}/console/    the console (sign in with METERSTREAM_API_TOKEN)`]
      : [
          `    ${base}/console/#token=${encodeURIComponent(c.apiToken.value)}`,
          '                 the console: alerts and their evidence, districts, meter hours (signed in with the API token)',
        ]),
    `    ${base}/healthz     alive`,
    `    ${base}/metrics     Prometheus metrics`,
    `    ${base}/docs        the API (OpenAPI, Swagger UI)`,
    `    ${base}/v1/alerts   leaks (NIGHT_FLOW), BURST, FROST_RISK, INVOICE_MISMATCH, METER_SILENT`,
    `    ${base}/v1/zones    firing alerts per water district and building`,
  ];
  if (example !== undefined) {
    const kind = example.kind;
    lines.push(
      `    ${base}/v1/meters/${pseudonymOf(requirePseudonymKey(config), example.tenant, example.meterId)}/hourly?kind=${kind}&from=${iso(now - 7 * 86_400_000)}&to=${iso(now + 7 * 86_400_000)}`,
    );
    lines.push(
      `                 one ${leaking.has(example.meterId) ? 'leaking ' : ''}${kind === 'WATER' ? 'water meter' : 'meter'}'s hourly rows, by its pseudonym`,
    );
  }
  lines.push(
    '',
    '  The /v1 routes need a bearer token:',
    secretLine('API token:  ', c.apiToken, 'METERSTREAM_API_TOKEN', 'read routes'),
    secretLine('admin token:', c.adminToken, 'METERSTREAM_ADMIN_TOKEN', 'export and erasure'),
    c.pseudonymKey.file === null
      ? '    pseudonym key from METERSTREAM_PSEUDONYM_KEY'
      : `    pseudonym key in ${shown(c.pseudonymKey.file)} (mode 0600)`,
    '',
    '  Try:',
    `    curl -s -H 'Authorization: Bearer ${token}' '${base}/v1/alerts?status=FIRING&limit=10'`,
    '',
    `  Simulated fleet: ${options.fleet.meters} meters (seed ${options.fleet.seed}), history ${iso(plan.start)} .. ${iso(options.fleet.end)}` +
      (fleet.resumeFrom === null ? ' sent at once' : `, continuing from ${iso(fleet.resumeFrom)}`) +
      (options.speed > 0
        ? `, then live at ${options.speed}x (data time runs ahead of the clock).`
        : ', then stops (--speed 0).'),
    `  Its progress goes to stderr every ${PROGRESS_EVERY_MS / 1000} s; data in ${shown(resolve(config.clickhouse.dataDir))}, fleet state in ${shown(fleet.file)}.`,
    logFile === null
      ? `  Service logs (JSON, LOG_LEVEL=${config.logLevel}) go to stderr.`
      : `  Service logs (JSON) go to ${shown(logFile)}; set LOG_LEVEL to have them on the terminal.`,
    '  Ctrl-C stops everything; the next start continues where this one stopped.',
    '',
  );
  if (fleet.replaced !== null)
    lines.push(
      `  (A new simulated fleet: ${fleet.replaced}. The previous fleet's meters will be reported silent.)`,
      '',
    );
  lines.push('  Alerts as the anomaly service publishes them (status, type, severity, zone, pseudonym, summary):', '');
  process.stdout.write(`${lines.join('\n')}\n`);
}
