/**
 * The "done when": `npm start` as a newcomer runs it shows alerts of several kinds,
 * prints where to look and how to authenticate, stops cleanly on Ctrl-C, and starts again on
 * the same data without sending the history twice or publishing an alert twice. Also: the
 * demo's credentials (0600, reused, the environment wins), its anomaly rates (every kind
 * certainly occurs), and the local broker (started and stopped by the demo, or reused and left
 * running).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { AvroCodec, ConfigError, loadConfig, repoPath, sha256Hex, type Alert, type AlertType } from '@meterstream/core';
import { readAll, testEnv, testKafka, waitFor } from '@meterstream/core/testing';
import { planFleet } from '@meterstream/simulator';
import { ALERT_LINE } from './alert-line.js';
import { ensureDemoCredentials } from './demo-credentials.js';
import { demoRates } from './demo-fleet.js';

const TYPES: AlertType[] = ['NIGHT_FLOW', 'BURST', 'FROST_RISK', 'INVOICE_MISMATCH', 'METER_SILENT'];

test('the demo rates give every kind of anomaly, whatever the fleet size and seed', () => {
  const end = Math.floor(Date.now() / 3_600_000) * 3_600_000;
  for (const meters of [20, 57, 300, 1000]) {
    for (const seed of [1, 2, 3]) {
      const plan = planFleet({ seed, meters, days: 14, end, rates: demoRates(meters) });
      const types = new Set(plan.labels.map((l) => l.type));
      assert.deepEqual(
        TYPES.filter((t) => !types.has(t)),
        [],
        `${meters} meters, seed ${seed}`,
      );
    }
  }
  // A handful of percent, not every meter, in the default fleet.
  const plan = planFleet({ seed: 1, meters: 300, days: 14, end, rates: demoRates(300) });
  assert.ok(plan.labels.length < 60, `${plan.labels.length} anomalies among 300 meters`);
});

test('demo credentials: created 0600 in the demo dir, reused on the next start; the environment wins', () => {
  const parent = mkdtempSync(join(tmpdir(), 'meterstream-demo-keys-'));
  const dir = join(parent, 'keys');
  const first = ensureDemoCredentials(loadConfig({ METERSTREAM_DEMO_DIR: dir }));
  assert.equal(statSync(dir).mode & 0o777, 0o700);
  for (const [name, s] of [
    ['pseudonym.key', first.pseudonymKey],
    ['api.token', first.apiToken],
    ['admin.token', first.adminToken],
  ] as const) {
    assert.equal(s.file, join(dir, name));
    assert.ok(s.created);
    assert.equal(statSync(s.file).mode & 0o777, 0o600, name);
  }
  assert.match(first.pseudonymKey.value, /^[0-9a-f]{64}$/);
  assert.ok(
    first.apiToken.value.length >= 24 &&
      first.adminToken.value.length >= 24 &&
      first.apiToken.value !== first.adminToken.value,
  );
  // The overlay is what the services get.
  const config = loadConfig(first.env);
  assert.deepEqual(
    config.credentials.map((c) => [c.name, c.sha256]),
    [
      ['api-token', sha256Hex(first.apiToken.value)],
      ['admin-token', sha256Hex(first.adminToken.value)],
    ],
  );

  const again = ensureDemoCredentials(loadConfig({ METERSTREAM_DEMO_DIR: dir }));
  assert.deepEqual(
    [again.pseudonymKey.value, again.apiToken.value, again.adminToken.value],
    [first.pseudonymKey.value, first.apiToken.value, first.adminToken.value],
  );
  assert.ok(!again.apiToken.created);

  const fromEnv = ensureDemoCredentials(
    loadConfig({ METERSTREAM_DEMO_DIR: dir, METERSTREAM_API_TOKEN: 'operator-token-0123456789' }),
  );
  assert.equal(fromEnv.apiToken.file, null);
  assert.equal(fromEnv.env.METERSTREAM_API_TOKEN, undefined, 'the environment keeps its own token');

  writeFileSync(join(dir, 'admin.token'), 'short\n');
  assert.throws(
    () => ensureDemoCredentials(loadConfig({ METERSTREAM_DEMO_DIR: dir })),
    (e: unknown) => e instanceof ConfigError && e.field === join(dir, 'admin.token'),
  );
  rmSync(parent, { recursive: true, force: true });
});

/** `meterstream demo`, spawned as `npm start` runs it (the test runner has built the code). */
interface DemoProcess {
  child: ChildProcess;
  ready: Promise<void>;
  exited: Promise<number | null>;
  stdout: () => string;
  output: () => string;
}

function startDemo(args: string[], env: Record<string, string>, cwd: string): DemoProcess {
  // `npm start` is `npm run build && node bin/meterstream.mjs demo`; the build is the test
  // runner's, so the bin is spawned directly, from a fresh working directory.
  const child = spawn(process.execPath, [repoPath('bin', 'meterstream.mjs'), 'demo', ...args], {
    cwd,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let all = '';
  child.stdout!.on('data', (d) => ((stdout += d), (all += d)));
  child.stderr!.on('data', (d) => (all += d));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const ready = new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', () => stdout.includes('meterstream: ready') && resolve());
    void exited.then((code) => reject(new Error(`meterstream demo exited (${code}) before ready:\n${all}`)));
  });
  return { child, ready, exited, stdout: () => stdout, output: () => all };
}

function within<T>(ms: number, what: string, p: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    p,
    new Promise<never>(
      (_, reject) => (timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms)),
    ),
  ]).finally(() => clearTimeout(timer));
}

/** Lines of the terminal that are JSON log records: the demo shows people none. */
function jsonLogLines(output: string): string[] {
  return output.split('\n').filter((line) => {
    try {
      const v: unknown = JSON.parse(line);
      return typeof v === 'object' && v !== null && 'level' in v;
    } catch {
      return false;
    }
  });
}

/** Ctrl-C, and the exit code. */
async function interrupt(demo: DemoProcess): Promise<number | null> {
  demo.child.kill('SIGINT');
  return within(120_000, 'the demo to exit after SIGINT', demo.exited);
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- JSON of the API, checked field by field
async function getJson(url: string, token?: string): Promise<{ status: number; body: any }> {
  const res = await fetch(url, { headers: token ? { authorization: `Bearer ${token}` } : {} });
  return { status: res.status, body: await res.json() };
}

async function messagesIn(topic: string): Promise<number> {
  const admin = testKafka().admin();
  await admin.connect();
  try {
    return (await admin.fetchTopicOffsets(topic)).reduce((a, p) => a + Number(p.high), 0);
  } finally {
    await admin.disconnect();
  }
}

test('npm start: alerts of several kinds within minutes, live alert lines and no JSON logs on the terminal, a guide with URLs and token, Ctrl-C exits 0, a second start carries on', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'meterstream-demo-'));
  const env: Record<string, string> = {
    // Own topics, groups and database on the test broker (so no second broker is started).
    ...testEnv(),
    METERSTREAM_DATA_DIR: join(dir, 'data'),
    METERSTREAM_DEMO_DIR: join(dir, 'demo-keys'),
    PORT: '0',
    HOST: '127.0.0.1',
    // As a newcomer starts it: no key, no tokens, the demo's log level.
    METERSTREAM_PSEUDONYM_KEY: '',
    METERSTREAM_API_TOKEN: '',
    METERSTREAM_ADMIN_TOKEN: '',
    LOG_LEVEL: '',
  };
  let demo = startDemo([], env, dir);
  try {
    const started = Date.now();
    await within(180_000, 'the demo to print "meterstream: ready"', demo.ready);
    t.diagnostic(`ready after ${Date.now() - started} ms`);
    const out = demo.stdout();
    for (const line of out.split('\n')) if (line !== '' && !line.startsWith('{')) t.diagnostic(line);
    const base = /meterstream: listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(out)?.[1];
    assert.ok(base && !base.endsWith(':0'), `a real port in the output:\n${out}`);
    const token = readFileSync(join(dir, 'demo-keys', 'api.token'), 'utf8').trim();
    for (const path of ['/healthz', '/metrics', '/docs', '/v1/alerts', '/v1/zones'])
      assert.ok(out.includes(`${base}${path}`), `${path} printed`);
    assert.ok(
      out.includes(`curl -s -H 'Authorization: Bearer ${token}' '${base}/v1/alerts`),
      'a curl line with the token',
    );
    assert.ok(out.includes(readFileSync(join(dir, 'demo-keys', 'admin.token'), 'utf8').trim()), 'the admin token');
    assert.match(out, /pseudonym key in \.\/demo-keys\/pseudonym\.key/);
    assert.ok(out.includes(`${base}/console/#token=${encodeURIComponent(token)}`), 'the console link, signed in');
    assert.match(out, /Service logs \(JSON\) go to \.\/data\/logs\/meterstream\.log/);
    const hourly = new RegExp(`(${base.replaceAll('.', '\\.')}/v1/meters/[0-9a-f]{32}/hourly\\?\\S+)`).exec(out)?.[1];
    assert.ok(hourly, 'an hourly URL of a simulated meter, by pseudonym');

    // A line per alert state change, as the anomaly service commits them to the alerts topic.
    const alertLine = await waitFor(
      'an alert line on the terminal',
      async () =>
        demo
          .stdout()
          .split('\n')
          .find((line) => ALERT_LINE.test(line)),
      240_000,
      1000,
    );
    t.diagnostic(`first alert line after ${Date.now() - started} ms: ${alertLine}`);
    assert.match(alertLine, / [0-9a-f]{8}… /, 'a pseudonym prefix, not a meter ID');

    assert.equal((await getJson(`${base}/healthz`)).status, 200);
    assert.equal((await getJson(`${base}/v1/alerts`)).status, 401, 'the API wants the token');
    const seen = await waitFor(
      'alerts of three kinds',
      async () => {
        const { status, body } = await getJson(`${base}/v1/alerts?limit=1000`, token);
        const types = new Set((body.alerts as { type: string }[]).map((a) => a.type));
        return status === 200 && types.size >= 3 && types;
      },
      240_000,
      2000,
    );
    t.diagnostic(`alert types after ${Date.now() - started} ms: ${[...seen].join(', ')}`);
    const rows = await waitFor(
      'hourly rows of the printed meter',
      async () => (await getJson(hourly, token)).body.rows?.length,
      120_000,
      2000,
    );
    t.diagnostic(`${rows} hourly rows at the printed URL`);

    // The simulator's progress, a line every 15 s (counts and times only).
    const progress = await waitFor(
      "the simulator's progress line",
      async () =>
        demo
          .output()
          .split('\n')
          .find((line) => line.startsWith('meterstream demo: simulator: ')),
      60_000,
      1000,
    );
    t.diagnostic(progress);

    assert.equal(await interrupt(demo), 0, demo.output());
    // The terminal held the guide, the simulator's progress and alert lines; the logs went to the file.
    assert.deepEqual(jsonLogLines(demo.output()), [], 'no JSON log lines on the terminal');
    const logged = readFileSync(join(dir, 'data', 'logs', 'meterstream.log'), 'utf8')
      .split('\n')
      .filter((line) => line !== '')
      .map((line) => JSON.parse(line) as { level: number; msg: string; error?: string });
    assert.ok(logged.length > 0 && logged.every((l) => typeof l.level === 'number'), 'JSON log lines in the file');
    assert.ok(
      logged.some((l) => l.msg === 'HTTP listening'),
      'the services log to the file',
    );
    // Joining groups and coordinator moves are routine: no warning of them, in the file either.
    const groupWarnings = logged.filter(
      (l) => l.level >= 40 && /rebalanc|rejoin|re-join|coordinator/i.test(`${l.msg} ${l.error}`),
    );
    assert.deepEqual(groupWarnings, [], 'group rebalances are not warnings');
    const sentFirst = await messagesIn(env.METERSTREAM_TOPIC_READINGS);

    // The second start: same data, key and tokens; the fleet carries on.
    demo = startDemo([], env, dir);
    await within(180_000, 'the second start to print "meterstream: ready"', demo.ready);
    const again = demo.stdout();
    assert.match(again, /using \.\/demo-keys\/pseudonym\.key, \.\/demo-keys\/api\.token, \.\/demo-keys\/admin\.token/);
    assert.match(again, /continuing from/);
    assert.ok(again.includes(`Bearer ${token}`), 'the same token');
    const base2 = /meterstream: listening on (http:\/\/\S+)/.exec(again)![1];
    const kept = new Set(
      ((await getJson(`${base2}/v1/alerts?limit=1000`, token)).body.alerts as { type: string }[]).map((a) => a.type),
    );
    assert.ok(kept.size >= 3, 'the alerts are kept');
    await new Promise((r) => setTimeout(r, 15_000)); // let it run a little
    assert.equal(await interrupt(demo), 0, demo.output());
    assert.deepEqual(jsonLogLines(demo.output()), [], 'no JSON log lines on the terminal the second time either');

    const sentBoth = await messagesIn(env.METERSTREAM_TOPIC_READINGS);
    t.diagnostic(`readings messages: ${sentFirst} after the first run, ${sentBoth} after the second`);
    assert.ok(sentBoth - sentFirst < sentFirst / 2, 'the second start does not send the history again');
    const codec = new AvroCodec();
    const alerts = (await readAll(testKafka(), env.METERSTREAM_TOPIC_ALERTS)).map(
      (r) => codec.decode(r.value!).value as Alert,
    );
    assert.ok(alerts.length > 0);
    assert.equal(new Set(alerts.map((a) => a.alertId)).size, alerts.length, 'no alert published twice');
    rmSync(dir, { recursive: true, force: true }); // kept when the test fails, to look at
  } finally {
    if (demo.child.exitCode === null) demo.child.kill('SIGKILL');
  }
});

/** A free port whose neighbour (the controller's) is free too. */
async function freePortPair(): Promise<number> {
  const free = (port: number) =>
    new Promise<boolean>((resolve) => {
      const srv = net.createServer().once('error', () => resolve(false));
      srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
    });
  for (;;) {
    const port = await new Promise<number>((resolve) => {
      const srv = net.createServer().listen(0, '127.0.0.1', () => {
        const p = (srv.address() as net.AddressInfo).port;
        srv.close(() => resolve(p));
      });
    });
    if (port < 65535 && (await free(port + 1))) return port;
  }
}

interface LocalKafka {
  startLocalKafka: (o: { dir: string; port: number }) => Promise<{ pid: number; stop: () => Promise<unknown> }>;
  localKafkaStatus: (o: { dir: string }) => { running: boolean; pid?: number };
  stopLocalKafka: (o: { dir: string }) => Promise<unknown>;
}

test('without KAFKA_BROKERS the demo starts the local broker and stops it, or reuses a running one and leaves it', async (t) => {
  // Its own broker directory and ports (KAFKA_LOCAL_DIR/PORT, as for `npm run kafka:up`), so
  // neither the developer's broker nor the test broker is touched.
  const dir = mkdtempSync(join(tmpdir(), 'meterstream-demo-broker-'));
  const port = await freePortPair();
  const kafkaDir = join(dir, 'kafka');
  const local = (await import(pathToFileURL(repoPath('scripts', 'kafka', 'local-kafka.mjs')).href)) as LocalKafka;
  const env = {
    KAFKA_BROKERS: '',
    KAFKA_LOCAL_DIR: kafkaDir,
    KAFKA_LOCAL_PORT: String(port),
    METERSTREAM_DATA_DIR: join(dir, 'data'),
    PORT: '0',
    HOST: '127.0.0.1',
  };
  const small = ['--meters', '20', '--days', '3', '--speed', '0'];
  let demo = startDemo(small, env, dir);
  let broker: { stop: () => Promise<unknown> } | null = null;
  try {
    await within(300_000, 'the demo with its own broker to be ready', demo.ready);
    assert.ok(
      demo.stdout().includes(`started the local Kafka broker at 127.0.0.1:${port}; it stops with the demo`),
      demo.stdout(),
    );
    assert.ok(local.localKafkaStatus({ dir: kafkaDir }).running);
    assert.equal(await interrupt(demo), 0, demo.output());
    assert.match(demo.stdout(), /local Kafka broker stopped/);
    assert.equal(local.localKafkaStatus({ dir: kafkaDir }).running, false, 'the broker the demo started is stopped');

    // A broker already running (`npm run kafka:up`): used, and still running after the demo.
    const running = await local.startLocalKafka({ dir: kafkaDir, port });
    broker = running;
    demo = startDemo(small, env, dir);
    await within(180_000, 'the demo on a running broker to be ready', demo.ready);
    assert.ok(
      demo.stdout().includes(`using the local Kafka broker already running at 127.0.0.1:${port}`),
      demo.stdout(),
    );
    assert.equal(await interrupt(demo), 0, demo.output());
    const after = local.localKafkaStatus({ dir: kafkaDir });
    assert.ok(after.running && after.pid === running.pid, 'a broker the demo did not start keeps running');
    t.diagnostic('started and stopped its own broker; left a running one running');
    await running.stop();
    broker = null;
    rmSync(dir, { recursive: true, force: true });
  } finally {
    if (demo.child.exitCode === null) demo.child.kill('SIGKILL');
    await broker?.stop();
    // A broker a failed assertion left behind.
    if (local.localKafkaStatus({ dir: kafkaDir }).running) await local.stopLocalKafka({ dir: kafkaDir });
  }
});
