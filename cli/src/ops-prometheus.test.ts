/**
 * The Prometheus side of the operations files as an operator meets them: Debian's promtool
 * checks and unit-tests the config and rules, and the Grafana dashboard and provisioning agree
 * with each other and with the metrics the code really exports (a renamed metric fails here,
 * not on a blank panel). The tools are not optional: without them these tests fail and say how
 * to install them (npm test installs them when it can).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoPath } from '@meterstream/core';
import {
  tool,
  readYaml,
  exportedMetricNames,
  defaultMetricNames,
  namesInExpr,
  unknownMetrics,
  rules,
} from './test-ops.js';

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
