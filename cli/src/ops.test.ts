/**
 * The operations files as an operator meets them: Debian's promtool checks and unit-tests the
 * Prometheus config and rules, Debian's docker-compose (v1) validates docker-compose.yml, and
 * the Grafana dashboard and provisioning agree with each other, with compose and with the
 * metrics the code really exports (a renamed metric fails here, not on a blank panel).
 *
 * The tools are not optional: without them these tests fail and say how to install them.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRegistry, repoPath } from '@meterstream/core';

const INSTALL_HINT =
  "install Debian's packages with `apt-get install -y --no-install-recommends prometheus docker-compose` (npm test does this when it runs as root or with passwordless sudo)";

interface RunResult {
  code: number | null;
  out: string;
  err: string;
}

/** Runs a command line tool; a missing tool fails the test with the install hint. */
function tool(
  cmd: string,
  args: string[],
  options: { env?: NodeJS.ProcessEnv; input?: string; hint?: string } = {},
): RunResult {
  const r = spawnSync(cmd, args, {
    cwd: repoPath(),
    env: options.env ?? process.env,
    input: options.input,
    encoding: 'utf8',
    timeout: 180_000,
    maxBuffer: 64 * 1024 * 1024,
  });
  if ((r.error as NodeJS.ErrnoException | undefined)?.code === 'ENOENT')
    assert.fail(`${cmd} is not installed: ${options.hint ?? INSTALL_HINT}`);
  if (r.error) throw r.error;
  return { code: r.status, out: r.stdout, err: r.stderr };
}

/**
 * Parses YAML with python3-yaml, which Debian's docker-compose depends on (the project has no
 * YAML parser of its own, and these files are read by Prometheus, Grafana and compose anyway).
 */
function parseYaml(text: string, what: string): any {
  const hint = `python3 with PyYAML (python3-yaml) parses the YAML files here; Debian's docker-compose brings both: ${INSTALL_HINT}`;
  const r = tool('python3', ['-c', 'import json, sys, yaml; json.dump(yaml.safe_load(sys.stdin), sys.stdout)'], {
    input: text,
    hint,
  });
  assert.equal(r.code, 0, `parsing ${what} as YAML failed (${hint}):\n${r.err}`);
  return JSON.parse(r.out);
}

function readYaml(...path: string[]): any {
  return parseYaml(readFileSync(repoPath(...path), 'utf8'), path.join('/'));
}

// ---------------------------------------------------------------------------------------------
// Metric names: what the code registers, and what the PromQL of the rules and dashboard uses.

/** `name: 'meterstream_...'` in every non-test TypeScript source, plus prom-client's default metrics. */
function exportedMetricNames(): Set<string> {
  const names = new Set<string>();
  const scan = (dir: string) => {
    for (const entry of readdirSync(dir)) {
      const p = join(dir, entry);
      if (statSync(p).isDirectory()) scan(p);
      else if (entry.endsWith('.ts') && !entry.endsWith('.test.ts') && !entry.endsWith('.d.ts')) {
        for (const m of readFileSync(p, 'utf8').matchAll(/\bname:\s*'(meterstream_[a-z0-9_]+)'/g)) names.add(m[1]);
      }
    }
  };
  for (const root of ['packages', 'services']) {
    for (const pkg of readdirSync(repoPath(root))) {
      const src = repoPath(root, pkg, 'src');
      if (statSync(repoPath(root, pkg)).isDirectory() && existsDir(src)) scan(src);
    }
  }
  scan(repoPath('cli', 'src'));
  return names;
}

function existsDir(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}

async function defaultMetricNames(): Promise<Set<string>> {
  const registry = createRegistry('ops-test');
  return new Set((await registry.getMetricsAsJSON()).map((m) => m.name));
}

/** Series Prometheus itself adds to every scrape target. */
const PROMETHEUS_SERIES = new Set(['up', 'scrape_duration_seconds', 'scrape_samples_scraped']);

/** Metric names (`meterstream_*`, Prometheus' own) and recording-rule names (`a:b:c`) in a PromQL expression. */
function namesInExpr(expr: string): { metrics: string[]; recorded: string[] } {
  const withoutStrings = expr.replace(/"(?:[^"\\]|\\.)*"/g, '""');
  const tokens = withoutStrings.match(/[a-zA-Z_:][a-zA-Z0-9_:]*/g) ?? [];
  return {
    metrics: tokens.filter((t) => !t.includes(':') && (t.startsWith('meterstream_') || PROMETHEUS_SERIES.has(t))),
    recorded: tokens.filter((t) => /^[a-z_]+:[a-z0-9_]+:[a-z0-9_]+$/.test(t)),
  };
}

/** The names that match no exported metric (histogram series `_bucket`/`_sum`/`_count` count as their metric). */
function unknownMetrics(used: Iterable<string>, known: Set<string>): string[] {
  const ok = (n: string) =>
    known.has(n) ||
    PROMETHEUS_SERIES.has(n) ||
    ['_bucket', '_sum', '_count'].some((s) => n.endsWith(s) && known.has(n.slice(0, -s.length)));
  return [...new Set(used)].filter((n) => !ok(n)).sort();
}

interface Rule {
  alert?: string;
  record?: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

function rules(): Rule[] {
  const doc = readYaml('deploy', 'prometheus', 'rules.yml') as { groups: { name: string; rules: Rule[] }[] };
  return doc.groups.flatMap((g) => g.rules);
}

// ---------------------------------------------------------------------------------------------
// Prometheus

test('promtool accepts the Prometheus config and the rules it loads', () => {
  const config = tool('promtool', ['check', 'config', 'deploy/prometheus/prometheus.yml']);
  assert.equal(config.code, 0, `promtool check config failed:\n${config.out}${config.err}`);
  assert.match(config.out + config.err, /SUCCESS: 1 rule files found/);

  const checked = tool('promtool', ['check', 'rules', 'deploy/prometheus/rules.yml']);
  assert.equal(checked.code, 0, `promtool check rules failed:\n${checked.out}${checked.err}`);
  const found = /SUCCESS: (\d+) rules found/.exec(checked.out + checked.err);
  assert.ok(found, checked.out + checked.err);
  assert.equal(Number(found[1]), rules().length);
});

test('every alert has a duration, a severity, a summary and a runbook-like description', (t) => {
  const alerts = rules().filter((r) => r.alert);
  const names = alerts.map((a) => a.alert);
  for (const wanted of [
    'MeterstreamTargetDown',
    'MeterstreamConsumerLagGrowing',
    'MeterstreamDeadLetters',
    'MeterstreamClickHouseInsertErrors',
    'MeterstreamNoReadings',
    'MeterstreamAlertStorm',
  ]) {
    assert.ok(names.includes(wanted), `rules.yml has no alert ${wanted}`);
  }
  for (const a of alerts) {
    assert.match(a.for ?? '', /^\d+[smh]$/, `${a.alert}: needs a for: duration`);
    assert.ok(
      ['warning', 'critical'].includes(a.labels?.severity ?? ''),
      `${a.alert}: severity must be warning or critical, got ${a.labels?.severity}`,
    );
    assert.ok((a.annotations?.summary ?? '').length > 10, `${a.alert}: needs a summary`);
    assert.ok((a.annotations?.description ?? '').length > 80, `${a.alert}: needs a description that says what to do`);
  }
  t.diagnostic(`${alerts.length} alerts, ${rules().length - alerts.length} recording rules`);
});

test('rules use only metrics the code exports, recorded series that rules.yml records, and scraped job names', async (t) => {
  const known = new Set([...exportedMetricNames(), ...(await defaultMetricNames())]);
  const all = rules();
  const recordedHere = new Set(all.filter((r) => r.record).map((r) => r.record!));
  const used: string[] = [];
  for (const r of all) {
    const { metrics, recorded } = namesInExpr(r.expr);
    used.push(...metrics);
    for (const name of recorded)
      assert.ok(
        recordedHere.has(name),
        `${r.alert ?? r.record} uses ${name}, which no rule records (the alert could never fire)`,
      );
  }
  assert.ok(used.length > 10, `found only ${used.length} metric names in rules.yml: the extraction is broken`);
  assert.deepEqual(unknownMetrics(used, known), [], 'rules.yml uses metrics the code does not export');

  const scraped = new Set(
    (readYaml('deploy', 'prometheus', 'prometheus.yml').scrape_configs as { job_name: string }[]).map(
      (s) => s.job_name,
    ),
  );
  const jobs = all.flatMap((r) => [...r.expr.matchAll(/job="([^"]+)"/g)].map((m) => m[1]));
  assert.ok(jobs.length >= 3);
  for (const job of jobs)
    assert.ok(scraped.has(job), `rules.yml names job ${job}, which prometheus.yml does not scrape`);
  t.diagnostic(`${new Set(used).size} metric names checked against ${known.size} exported ones`);
});

test('the metric check itself catches a metric the code does not export', async () => {
  const known = new Set([...exportedMetricNames(), ...(await defaultMetricNames())]);
  assert.ok(known.has('meterstream_ingestor_readings_total'));
  assert.ok(known.has('meterstream_process_resident_memory_bytes'));
  const { metrics } = namesInExpr(
    'sum by (job) (rate(meterstream_ingestor_readings_totl[5m])) > 0 and histogram_quantile(0.9, rate(meterstream_clickhouse_insert_duration_seconds_bucket{table="x"}[1m]))',
  );
  assert.deepEqual(unknownMetrics(metrics, known), ['meterstream_ingestor_readings_totl']);
});

test('promtool test rules: the alerts fire on synthetic series and stay quiet otherwise', (t) => {
  const r = tool('promtool', ['test', 'rules', 'deploy/prometheus/rules.test.yml']);
  assert.equal(r.code, 0, `promtool test rules failed:\n${r.out}${r.err}`);
  assert.match(r.out + r.err, /SUCCESS/);

  // Which alerts the unit tests show firing and quiet.
  const suite = readYaml('deploy', 'prometheus', 'rules.test.yml') as {
    tests: { alert_rule_test?: { alertname: string; exp_alerts?: unknown[] }[] }[];
  };
  const firing = new Set<string>();
  const quiet = new Set<string>();
  for (const c of suite.tests.flatMap((x) => x.alert_rule_test ?? []))
    ((c.exp_alerts ?? []).length > 0 ? firing : quiet).add(c.alertname);
  for (const a of rules().filter((x) => x.alert))
    assert.ok(firing.has(a.alert!), `rules.test.yml never shows ${a.alert} firing`);
  for (const a of [
    'MeterstreamDeadLetters',
    'MeterstreamNoReadings',
    'MeterstreamAlertStorm',
    'MeterstreamConsumerLagGrowing',
  ]) {
    assert.ok(quiet.has(a), `rules.test.yml never shows ${a} staying quiet`);
  }
  t.diagnostic(`alerts shown firing: ${firing.size}, shown quiet: ${quiet.size}`);
});

test('the rule unit tests fail when the DLQ or no-readings alert is broken', () => {
  const dir = mkdtempSync(join(tmpdir(), 'meterstream-rules-'));
  try {
    const original = readFileSync(repoPath('deploy', 'prometheus', 'rules.yml'), 'utf8');
    // Only the test groups of these two alerts (JSON is YAML to promtool): the full suite's
    // day-long series take seconds per run.
    const suite = readYaml('deploy', 'prometheus', 'rules.test.yml') as {
      tests: { alert_rule_test?: { alertname: string }[] }[];
    };
    suite.tests = suite.tests.filter((x) =>
      (x.alert_rule_test ?? []).some((c) => ['MeterstreamDeadLetters', 'MeterstreamNoReadings'].includes(c.alertname)),
    );
    assert.ok(suite.tests.length >= 2);
    writeFileSync(join(dir, 'rules.test.yml'), JSON.stringify(suite));
    writeFileSync(join(dir, 'rules.yml'), original);
    const intact = tool('promtool', ['test', 'rules', join(dir, 'rules.test.yml')]);
    assert.equal(intact.code, 0, `the extracted rule tests fail on the intact rules:\n${intact.out}${intact.err}`);
    const sabotage = [
      {
        alert: 'MeterstreamDeadLetters',
        from: 'expr: job_reason:meterstream_dlq_messages:rate5m > 0',
        to: 'expr: job_reason:meterstream_dlq_messages:rate5m > 1000',
      },
      {
        alert: 'MeterstreamNoReadings',
        from: 'sum by (job) (rate(meterstream_ingestor_readings_total[15m])) == 0',
        to: 'sum by (job) (rate(meterstream_ingestor_readings_total[15m])) < 0',
      },
    ];
    for (const s of sabotage) {
      assert.ok(original.includes(s.from), `rules.yml no longer contains ${JSON.stringify(s.from)}; update this test`);
      writeFileSync(join(dir, 'rules.yml'), original.replace(s.from, s.to));
      const r = tool('promtool', ['test', 'rules', join(dir, 'rules.test.yml')]);
      assert.notEqual(r.code, 0, `promtool test rules passed with a broken ${s.alert}`);
      assert.match(r.out + r.err, new RegExp(`alertname: ${s.alert}`));
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

// ---------------------------------------------------------------------------------------------
// docker-compose

const SECRETS = {
  METERSTREAM_PSEUDONYM_KEY: '5e'.repeat(32),
  METERSTREAM_API_TOKEN: 'api-token-for-the-compose-test',
  METERSTREAM_ADMIN_TOKEN: 'admin-token-for-the-compose-test',
  CLICKHOUSE_PASSWORD: 'clickhouse-password-for-the-compose-test',
};

/**
 * `docker-compose config` with only the given variables: a developer's own `.env` must not
 * make the test pass or fail, so an empty env file replaces it.
 */
function composeConfig(vars: Record<string, string>, extra: string[] = [], file = 'docker-compose.yml'): RunResult {
  const dir = mkdtempSync(join(tmpdir(), 'meterstream-compose-'));
  try {
    writeFileSync(join(dir, 'empty.env'), '');
    return tool('docker-compose', ['-f', file, '--env-file', join(dir, 'empty.env'), 'config', ...extra], {
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: dir, ...vars },
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Variables of the configuration reference (docs/configuration.md). */
function documentedVariables(): Set<string> {
  const reference = readFileSync(repoPath('docs', 'configuration.md'), 'utf8');
  return new Set([...reference.matchAll(/^\| `([A-Z][A-Z0-9_]*)` \|/gm)].map((m) => m[1]));
}

const SERVICES = ['ingestor', 'aggregator', 'anomaly'] as const;

test('docker-compose validates docker-compose.yml: the stack, its wiring and the opt-in simulator', (t) => {
  const r = composeConfig(SECRETS);
  assert.equal(r.code, 0, `docker-compose config failed:\n${r.err}`);
  const config = parseYaml(r.out, 'docker-compose config output');
  const services = config.services as Record<string, any>;
  for (const name of ['kafka', 'clickhouse', ...SERVICES, 'prometheus', 'grafana', 'simulator'])
    assert.ok(services[name], `no service ${name}`);

  // Debian's docker-compose 1.29 prints services of every profile with their `profiles` key.
  assert.deepEqual(services.simulator.profiles, ['simulator']);
  assert.deepEqual(services.simulator.command, ['simulate', '--follow', '--speed', '1']);
  assert.equal(services.simulator.environment.KAFKA_BROKERS, 'kafka:9092');
  for (const name of Object.keys(services).filter((n) => n !== 'simulator'))
    assert.equal(services[name].profiles, undefined, `${name} must start by default`);
  const profiles = composeConfig(SECRETS, ['--profiles']);
  assert.equal(profiles.code, 0, profiles.err);
  assert.deepEqual(profiles.out.trim().split('\n'), ['simulator']);

  // Kafka in KRaft mode, reachable as kafka:9092; ClickHouse; both with health checks.
  assert.match(services.kafka.image, /^apache\/kafka:/);
  assert.match(String(services.kafka.environment.KAFKA_PROCESS_ROLES), /broker/);
  assert.match(String(services.kafka.environment.KAFKA_PROCESS_ROLES), /controller/);
  assert.match(services.kafka.environment.KAFKA_ADVERTISED_LISTENERS, /PLAINTEXT:\/\/kafka:9092/);
  assert.match(services.clickhouse.image, /^clickhouse\/clickhouse-server:/);
  for (const name of ['kafka', 'clickhouse'])
    assert.ok(services[name].healthcheck?.test, `${name} needs a health check`);

  const documented = documentedVariables();
  assert.ok(
    documented.has('KAFKA_BROKERS') && documented.has('METERSTREAM_PSEUDONYM_KEY'),
    'could not read the tables of docs/configuration.md',
  );
  const repo = repoPath();
  for (const name of SERVICES) {
    const s = services[name];
    assert.equal(s.build.context, repo, `${name} is built from the repository's Dockerfile`);
    assert.deepEqual(s.command, [name]);
    assert.equal(s.environment.KAFKA_BROKERS, 'kafka:9092');
    assert.equal(s.environment.CLICKHOUSE_URL, 'http://clickhouse:8123');
    assert.equal(s.environment.METERSTREAM_API_TOKEN, SECRETS.METERSTREAM_API_TOKEN);
    assert.equal(s.environment.METERSTREAM_ADMIN_TOKEN, SECRETS.METERSTREAM_ADMIN_TOKEN);
    assert.equal(s.environment.CLICKHOUSE_PASSWORD, SECRETS.CLICKHOUSE_PASSWORD);
    assert.match(s.healthcheck.test.join(' '), /node -e .*fetch\(.*\/healthz/);
    assert.equal(s.depends_on.clickhouse.condition, 'service_healthy');
    // A service refuses to start on a METERSTREAM_* variable it does not know.
    for (const v of Object.keys(s.environment))
      assert.ok(documented.has(v), `${name} sets ${v}, which docs/configuration.md does not list`);
    // Replicas get distinct transactional ids from their container host names (see the file's header).
    assert.equal(
      s.environment.METERSTREAM_INSTANCE_ID,
      undefined,
      `${name}: a fixed METERSTREAM_INSTANCE_ID breaks --scale`,
    );
  }
  // The key goes only where meter IDs are pseudonymised.
  assert.equal(services.ingestor.environment.METERSTREAM_PSEUDONYM_KEY, SECRETS.METERSTREAM_PSEUDONYM_KEY);
  assert.equal(services.anomaly.environment.METERSTREAM_PSEUDONYM_KEY, SECRETS.METERSTREAM_PSEUDONYM_KEY);
  assert.equal(services.aggregator.environment.METERSTREAM_PSEUDONYM_KEY, undefined);

  // Prometheus and Grafana mount the files under deploy/, where their configs expect them.
  const mounts = (name: string) =>
    new Map((services[name].volumes as string[]).map((v) => v.split(':')).map(([src, dst]) => [dst, src]));
  assert.equal(mounts('prometheus').get('/etc/prometheus'), repoPath('deploy', 'prometheus'));
  assert.ok((services.prometheus.command as string[]).includes('--config.file=/etc/prometheus/prometheus.yml'));
  assert.equal(mounts('grafana').get('/etc/grafana/provisioning'), repoPath('deploy', 'grafana', 'provisioning'));
  const provider = readYaml('deploy', 'grafana', 'provisioning', 'dashboards', 'meterstream.yml').providers[0];
  assert.equal(
    mounts('grafana').get(provider.options.path),
    repoPath('deploy', 'grafana', 'dashboards'),
    'the dashboards provider reads where compose mounts the dashboards',
  );

  // Named volumes for every stateful service, all declared.
  for (const name of ['kafka', 'clickhouse', 'prometheus', 'grafana']) {
    const named = (services[name].volumes as string[])
      .map((v) => v.split(':')[0])
      .filter((src) => !src.startsWith('/'));
    assert.equal(named.length, 1, `${name} keeps its data in a named volume`);
    assert.ok(named[0] in config.volumes, `volume ${named[0]} is not declared`);
  }
  t.diagnostic(`services: ${Object.keys(services).sort().join(', ')}`);
});

test('docker-compose refuses to start without the pseudonym key and names it', () => {
  const { METERSTREAM_PSEUDONYM_KEY: _omitted, ...rest } = SECRETS;
  const r = composeConfig(rest);
  assert.notEqual(r.code, 0, 'docker-compose config succeeded without METERSTREAM_PSEUDONYM_KEY');
  assert.match(r.err, /METERSTREAM_PSEUDONYM_KEY/);
});

test('the scrape config targets the compose services on the port they listen on', () => {
  const r = composeConfig(SECRETS);
  assert.equal(r.code, 0, r.err);
  const services = parseYaml(r.out, 'docker-compose config output').services as Record<string, any>;
  const scrape = readYaml('deploy', 'prometheus', 'prometheus.yml').scrape_configs as {
    job_name: string;
    dns_sd_configs?: { names: string[]; port: number }[];
  }[];
  for (const name of SERVICES) {
    const job = scrape.find((s) => s.job_name === `meterstream-${name}`);
    assert.ok(job, `prometheus.yml has no job meterstream-${name}`);
    const sd = job.dns_sd_configs?.[0];
    assert.ok(sd, `meterstream-${name} should discover every replica through DNS`);
    assert.deepEqual(sd.names, [name]);
    assert.equal(String(sd.port), services[name].environment.PORT);
  }
});

// ---------------------------------------------------------------------------------------------
// Grafana

test('the Grafana dashboard: every panel queries the provisioned Prometheus, on metrics the code exports', async (t) => {
  const dashboard = JSON.parse(readFileSync(repoPath('deploy', 'grafana', 'dashboards', 'meterstream.json'), 'utf8'));
  const datasource = readYaml('deploy', 'grafana', 'provisioning', 'datasources', 'prometheus.yml').datasources[0];
  assert.equal(datasource.type, 'prometheus');
  assert.equal(datasource.url, 'http://prometheus:9090');
  assert.ok(dashboard.uid && dashboard.title);

  const panels = dashboard.panels as any[];
  assert.ok(panels.length >= 10);
  const known = new Set([...exportedMetricNames(), ...(await defaultMetricNames())]);
  const used: string[] = [];
  const ids = new Set<number>();
  for (const p of panels) {
    assert.ok(!ids.has(p.id), `panel id ${p.id} is used twice`);
    ids.add(p.id);
    assert.equal(
      p.datasource?.uid,
      datasource.uid,
      `panel "${p.title}" must use the provisioned datasource ${datasource.uid}`,
    );
    assert.ok(Array.isArray(p.targets) && p.targets.length > 0, `panel "${p.title}" has no query`);
    for (const target of p.targets) {
      assert.ok(typeof target.expr === 'string' && target.expr.length > 0, `panel "${p.title}" has an empty query`);
      if (target.datasource) assert.equal(target.datasource.uid, datasource.uid);
      const { metrics, recorded } = namesInExpr(target.expr);
      assert.ok(metrics.length + recorded.length > 0, `panel "${p.title}": no metric in ${target.expr}`);
      used.push(...metrics);
    }
  }
  assert.deepEqual(unknownMetrics(used, known), [], 'the dashboard queries metrics the code does not export');

  // The panels the operators asked for stay on the dashboard.
  for (const metric of [
    'meterstream_ingestor_readings_total',
    'meterstream_kafka_messages_consumed_total',
    'meterstream_kafka_consumer_lag_messages',
    'meterstream_dlq_messages_total',
    'meterstream_clickhouse_insert_duration_seconds_bucket',
    'meterstream_clickhouse_insert_errors_total',
    'meterstream_aggregator_pool_utilization_ratio',
    'meterstream_aggregator_pool_queue_tasks',
    'meterstream_aggregator_hours_emitted_total',
    'meterstream_aggregator_hours_revised_total',
    'meterstream_anomaly_alerts_total',
    'meterstream_anomaly_detector_seconds_bucket',
    'meterstream_anomaly_invoices_checked_total',
    'meterstream_process_resident_memory_bytes',
    'meterstream_process_cpu_seconds_total',
  ]) {
    assert.ok(used.includes(metric), `no panel shows ${metric}`);
  }

  // Panels do not overlap on the 24-column grid.
  const boxes = panels.map((p) => ({ title: p.title, ...p.gridPos }));
  for (const [i, a] of boxes.entries()) {
    assert.ok(a.x >= 0 && a.w > 0 && a.x + a.w <= 24 && a.h > 0, `panel "${a.title}" lies outside the grid`);
    for (const b of boxes.slice(i + 1)) {
      const overlap = a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h;
      assert.ok(!overlap, `panels "${a.title}" and "${b.title}" overlap`);
    }
  }
  t.diagnostic(`${panels.length} panels, ${new Set(used).size} distinct metrics`);
});

test('docker-compose validates docker-compose.cluster.yml: 2 shards x 2 replicas, 3 Keepers, 3 brokers, services x 2', () => {
  const r = composeConfig(SECRETS, [], 'docker-compose.cluster.yml');
  assert.equal(r.code, 0, `docker-compose config failed:\n${r.err}`);
  const services = parseYaml(r.out, 'docker-compose config output').services as Record<string, any>;
  const named = (prefix: string) =>
    Object.keys(services)
      .filter((n) => n.startsWith(prefix))
      .sort();

  // Kafka: three KRaft brokers, every topic and internal topic with 3 replicas.
  assert.deepEqual(
    named('kafka-').filter((n) => n !== 'kafka-topics'),
    ['kafka-1', 'kafka-2', 'kafka-3'],
  );
  for (const b of ['kafka-1', 'kafka-2', 'kafka-3']) {
    const env = services[b].environment;
    assert.equal(env.KAFKA_CONTROLLER_QUORUM_VOTERS, '1@kafka-1:9093,2@kafka-2:9093,3@kafka-3:9093');
    assert.equal(String(env.KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR), '3');
    assert.equal(String(env.KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR), '3');
    assert.equal(env.KAFKA_ADVERTISED_LISTENERS, `PLAINTEXT://${b}:9092`);
  }
  assert.match(services['kafka-topics'].command.join(' '), /--replication-factor 3/);

  // ClickHouse: the cluster in remote_servers is CLICKHOUSE_CLUSTER, its shards are the servers'
  // macros, each server mounts the cluster and macros files.
  const xml = readFileSync(repoPath('deploy', 'clickhouse-cluster', 'config.d', 'cluster.xml'), 'utf8');
  const cluster = /<remote_servers>\s*<(\w+)>/.exec(xml)![1];
  const shards = [...xml.matchAll(/<shard>([\s\S]*?)<\/shard>/g)].map((m) =>
    [...m[1].matchAll(/<host>([^<]+)<\/host>/g)].map((h) => h[1]).sort(),
  );
  const servers = named('clickhouse-');
  assert.equal(servers.length, 4);
  const byShard = new Map<string, string[]>();
  const replicas = new Set<string>();
  for (const s of servers) {
    const env = services[s].environment;
    byShard.set(env.CLICKHOUSE_SHARD, [...(byShard.get(env.CLICKHOUSE_SHARD) ?? []), s].sort());
    replicas.add(env.CLICKHOUSE_REPLICA);
    assert.equal(services[s].hostname, s);
    const mounts = (services[s].volumes as (string | { source: string; target: string })[]).map((v) =>
      typeof v === 'string' ? v : `${v.source}:${v.target}`,
    );
    for (const f of ['cluster.xml', 'macros.xml'])
      assert.ok(
        mounts.some((m) => m.includes(`deploy/clickhouse-cluster/config.d/${f}:/etc/clickhouse-server/config.d/`)),
        `${s} mounts ${f}`,
      );
  }
  assert.equal(replicas.size, 4, 'replica names are unique over the cluster');
  assert.deepEqual(
    [...byShard.values()].sort(),
    shards.sort(),
    'remote_servers shards = the servers grouped by {shard}',
  );
  assert.deepEqual(
    shards.map((s) => s.length),
    [2, 2],
  );

  // Keeper: three nodes whose ids and names are the Raft configuration and the servers' client list.
  const keeperXml = readFileSync(repoPath('deploy', 'clickhouse-cluster', 'keeper.xml'), 'utf8');
  const raft = [...keeperXml.matchAll(/<id>(\d+)<\/id><hostname>([^<]+)<\/hostname>/g)].map((m) => `${m[1]}@${m[2]}`);
  const keepers = named('keeper-');
  assert.deepEqual(
    keepers.map((k) => `${services[k].environment.KEEPER_SERVER_ID}@${services[k].hostname}`),
    raft,
  );
  assert.deepEqual(
    [...xml.matchAll(/<node><host>([^<]+)<\/host>/g)].map((m) => m[1]),
    keepers,
  );

  // Every service twice, in cluster mode, against a server of the cluster.
  for (const name of SERVICES) {
    const s = services[name];
    assert.equal(s.deploy?.replicas, 2, `${name} runs twice`);
    assert.equal(s.environment.CLICKHOUSE_CLUSTER, cluster);
    assert.ok(servers.includes(new URL(s.environment.CLICKHOUSE_URL).hostname), `${name}: CLICKHOUSE_URL`);
    assert.equal(s.environment.KAFKA_BROKERS, 'kafka-1:9092,kafka-2:9092,kafka-3:9092');
    assert.equal(s.environment.METERSTREAM_INSTANCE_ID, undefined, `${name}: each replica keeps its host name as id`);
  }
});
