/**
 * The real scrape: `meterstream ingestor` started as an operator starts it, Debian's Prometheus
 * scraping its /metrics every second with the project's rules loaded. What a user then finds in
 * Prometheus is checked through its query API: the target is up, the readings just consumed are
 * counted, the process metrics are there, every rule of deploy/prometheus/rules.yml evaluates
 * without error on the real series, and no label carries a raw meter ID.
 *
 * Prometheus is not optional: without it this test fails and says how to install it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AvroCodec, repoPath, type MeterReadingBatch } from '@meterstream/core';
import {
  createTopic,
  produce,
  startService,
  testEnv,
  testKafka,
  waitFor,
  type ServiceProcess,
} from '@meterstream/core/testing';

const INSTALL_HINT =
  "install Debian's package with `apt-get install -y --no-install-recommends prometheus` (npm test does this when it runs as root or with passwordless sudo)";
const JOB = 'meterstream-ingestor';

/** A port that was free a moment ago (Prometheus is restarted on another one if it was taken meanwhile). */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Resolves with the promise's value, or rejects once `ms` have passed. */
async function within<T>(ms: number, what: string, promise: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>(
    (_, reject) => (timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms)),
  );
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Sends SIGTERM, waits a bounded time for the exit, then SIGKILL. */
async function stop(child: ChildProcess, exited: Promise<unknown>): Promise<void> {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  try {
    await within(30_000, 'exit after SIGTERM', exited);
  } catch {
    child.kill('SIGKILL');
    await exited;
  }
}

interface Prometheus {
  child: ChildProcess;
  exited: Promise<number | null>;
  url: string;
  output: () => string;
}

/** Starts Debian's prometheus on a free 127.0.0.1 port and waits until it is ready. */
async function startPrometheus(configFile: string, dataDir: string): Promise<Prometheus> {
  let lastError: unknown;
  for (let attempt = 1; attempt <= 3; attempt++) {
    const port = await freePort();
    const child = spawn(
      'prometheus',
      [
        `--config.file=${configFile}`,
        `--storage.tsdb.path=${join(dataDir, `tsdb-${attempt}`)}`,
        `--web.listen-address=127.0.0.1:${port}`,
        '--log.level=warn',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '';
    child.stdout!.on('data', (d) => (out += d));
    child.stderr!.on('data', (d) => (out += d));
    let spawnError: NodeJS.ErrnoException | undefined;
    child.once('error', (err) => (spawnError = err));
    const exited = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));
    const p: Prometheus = { child, exited, url: `http://127.0.0.1:${port}`, output: () => out };
    const deadline = Date.now() + 90_000;
    for (;;) {
      if (spawnError?.code === 'ENOENT') assert.fail(`prometheus is not installed: ${INSTALL_HINT}`);
      if (spawnError || child.exitCode !== null || child.signalCode !== null) {
        lastError = spawnError ?? new Error(`prometheus exited (${child.exitCode ?? child.signalCode}):\n${out}`);
        break;
      }
      try {
        if ((await fetch(`${p.url}/-/ready`)).ok) return p;
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline) {
        lastError = new Error(`prometheus not ready after 90 s:\n${out}`);
        break;
      }
      await new Promise((r) => setTimeout(r, 250));
    }
    await stop(child, exited);
  }
  throw lastError;
}

interface Sample {
  metric: Record<string, string>;
  value: [number, string];
}

async function query(prom: Prometheus, promql: string): Promise<Sample[]> {
  const res = await fetch(`${prom.url}/api/v1/query?query=${encodeURIComponent(promql)}`);
  const body = (await res.json()) as { status: string; data: { result: Sample[] }; error?: string };
  assert.equal(body.status, 'success', `${promql}: ${body.error}`);
  return body.data.result;
}

test('Prometheus scrapes the real ingestor: up, counters of the readings consumed, process metrics, rules evaluate', async (t) => {
  const version = spawnSync('prometheus', ['--version'], { encoding: 'utf8' });
  if ((version.error as NodeJS.ErrnoException | undefined)?.code === 'ENOENT')
    assert.fail(`prometheus is not installed: ${INSTALL_HINT}`);
  t.diagnostic((version.stdout + version.stderr).split('\n')[0]);

  const env = testEnv({ PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'warn' });
  const promDir = mkdtempSync(join(tmpdir(), 'meterstream-prometheus-'));
  let service: ServiceProcess | undefined;
  let prom: Prometheus | undefined;
  try {
    // A small fleet's daily deliveries on the readings topic, before the ingestor starts.
    const kafka = testKafka();
    await createTopic(kafka, env.METERSTREAM_TOPIC_READINGS, 2);
    const codec = new AvroCodec();
    const day = Math.floor(Date.now() / 86_400_000 - 3) * 86_400_000; // a day three days ago, as a hub delivers
    const meterIds = Array.from({ length: 12 }, (_, i) => `70705750000${String(4200000 + i)}`);
    const messages = meterIds.map((meterId, i) => {
      const batch: MeterReadingBatch = {
        meterId,
        tenant: 'default',
        kind: 'ELECTRICITY_IMPORT',
        unit: 'KWH',
        readingType: 'INTERVAL',
        intervalSeconds: 3600,
        zoneId: null,
        priceArea: 'NO1',
        readings: Array.from({ length: 24 }, (_, h) => ({
          ts: day + h * 3_600_000,
          value: (i + h) / 10,
          quality: 'MEASURED' as const,
        })),
      };
      return { key: meterId, value: codec.encodeSingleObject('MeterReadingBatch', batch) };
    });
    const readings = messages.length * 24;
    await produce(kafka, env.METERSTREAM_TOPIC_READINGS, messages);

    const started = Date.now();
    service = startService('ingestor', env);
    await within(180_000, 'meterstream ingestor to print "ready"', service.ready);
    const address = /meterstream: listening on (http:\/\/\S+)/.exec(service.output())?.[1];
    assert.ok(address, `no listening address in the output:\n${service.output()}`);
    const target = new URL(address).host;
    t.diagnostic(`ingestor ready after ${Date.now() - started} ms at ${address}`);

    const configFile = join(promDir, 'prometheus.yml');
    writeFileSync(
      configFile,
      [
        'global:',
        '  scrape_interval: 1s',
        '  scrape_timeout: 1s',
        '  evaluation_interval: 1s',
        'rule_files:',
        `  - ${JSON.stringify(repoPath('deploy', 'prometheus', 'rules.yml'))}`,
        'scrape_configs:',
        `  - job_name: ${JOB}`,
        '    static_configs:',
        `      - targets: [${JSON.stringify(target)}]`,
        '',
      ].join('\n'),
    );
    prom = await startPrometheus(configFile, promDir);
    const p = prom;
    t.diagnostic(`prometheus ready at ${p.url}`);

    const up = await waitFor(
      `up{job="${JOB}"} == 1`,
      async () => {
        const r = await query(p, `up{job="${JOB}"}`);
        return r.length === 1 && r[0].value[1] === '1' ? r[0] : null;
      },
      90_000,
      500,
    );
    assert.equal(up.metric.instance, target);

    // The readings produced above, counted by the ingestor and seen through Prometheus.
    const ingested = await waitFor(
      `meterstream_ingestor_readings_total to reach ${readings}`,
      async () => {
        const r = await query(p, `sum(meterstream_ingestor_readings_total{job="${JOB}"})`);
        return r.length === 1 && Number(r[0].value[1]) >= readings ? Number(r[0].value[1]) : null;
      },
      180_000,
      500,
    );
    const consumed = await query(
      p,
      `meterstream_kafka_messages_consumed_total{job="${JOB}", topic="${env.METERSTREAM_TOPIC_READINGS}"}`,
    );
    assert.equal(consumed.length, 1, 'messages consumed from the readings topic are counted under its name');
    assert.ok(
      Number(consumed[0].value[1]) >= messages.length,
      `consumed ${consumed[0].value[1]} of ${messages.length} messages`,
    );
    assert.equal(consumed[0].metric.service, 'ingestor', 'every series carries the service label');

    const rss = await query(p, `meterstream_process_resident_memory_bytes{job="${JOB}"}`);
    assert.equal(rss.length, 1);
    assert.ok(Number(rss[0].value[1]) > 0);

    // Every rule of rules.yml has been evaluated on these series, and none failed.
    const rules = await waitFor(
      'every rule evaluated at least once',
      async () => {
        const res = await fetch(`${p.url}/api/v1/rules`);
        const body = (await res.json()) as {
          data: { groups: { rules: { name: string; health: string; lastError?: string; lastEvaluation: string }[] }[] };
        };
        const all = body.data.groups.flatMap((g) => g.rules);
        return all.length > 0 && all.every((r) => !r.lastEvaluation.startsWith('0001-')) ? all : null;
      },
      60_000,
      500,
    );
    const failed = rules.filter((r) => r.health === 'err').map((r) => `${r.name}: ${r.lastError}`);
    assert.deepEqual(failed, [], 'rules that fail to evaluate');
    const recorded = await waitFor(
      'the ingest rate recording rule',
      async () => {
        const r = await query(p, `job:meterstream_ingestor_readings:rate5m{job="${JOB}"}`);
        return r.length === 1 ? r : null;
      },
      60_000,
      500,
    );
    assert.equal(recorded[0].metric.job, JOB);

    // No label value anywhere in the scraped series is a raw meter ID.
    const res = await fetch(`${p.url}/api/v1/series?${new URLSearchParams({ 'match[]': `{job="${JOB}"}` })}`);
    const series = ((await res.json()) as { data: Record<string, string>[] }).data;
    assert.ok(series.length > 20, `only ${series.length} series scraped`);
    const leaked = series.filter((labels) => Object.values(labels).some((v) => meterIds.some((id) => v.includes(id))));
    assert.deepEqual(leaked, [], 'series whose labels carry a raw meter ID');

    t.diagnostic(
      `readings counted ${ingested} (produced ${readings}), ${series.length} series, ${rules.length} rules evaluated, ingestor RSS ${Math.round(Number(rss[0].value[1]) / 1e6)} MB`,
    );
  } finally {
    if (prom) await stop(prom.child, prom.exited);
    if (service) await stop(service.child, service.exited);
    rmSync(promDir, { recursive: true, force: true });
    rmSync(env.METERSTREAM_DATA_DIR, { recursive: true, force: true });
  }
});
