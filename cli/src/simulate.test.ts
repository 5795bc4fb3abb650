/**
 * `meterstream simulate` as an operator runs it against the real broker: every planned
 * delivery arrives once, Avro-decodable, readings keyed by raw meter ID on the readings topic
 * and invoices on the invoices topic; the labels file holds the ground truth; progress lines
 * carry no meter ID; bad flags stop it with exit 78 naming the flag. The simulated clock:
 * history at once, live deliveries when the clock reaches them, a stop in between.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AvroCodec, repoPath, type Invoice, type MeterReading, type MeterReadingBatch } from '@meterstream/core';
import { readAll, testEnv, testKafka } from '@meterstream/core/testing';
import { deliveries, planFleet, type Delivery } from '@meterstream/simulator';
import type { TopicMessages } from 'kafkajs';
import { paceDeliveries } from './fleet-producer.js';

const H = 3_600_000;
const BIN = repoPath('bin', 'meterstream.mjs');

function simulate(
  args: string[],
  env: Record<string, string>,
): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, 'simulate', ...args], {
      env: { PATH: process.env.PATH ?? '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('exit', (code) => resolve({ code, out, err }));
  });
}

test('simulate --speed 0: every planned delivery once, Avro, keyed by raw meter ID, labels written', async (t) => {
  const env = testEnv({ LOG_LEVEL: 'warn' });
  const dir = mkdtempSync(join(tmpdir(), 'meterstream-simulate-'));
  const labelsFile = join(dir, 'labels.json');
  const fleet = { seed: 23, meters: 40, days: 10, end: Date.UTC(2026, 0, 20, 6) };
  const r = await simulate(
    [
      '--meters',
      '40',
      '--days',
      '10',
      '--seed',
      '23',
      '--end',
      '2026-01-20T06:30:00Z',
      '--speed',
      '0',
      '--leak-rate',
      '0.2',
      '--frost-rate',
      '0.5',
      '--labels',
      labelsFile,
    ],
    env,
  );
  assert.equal(r.code, 0, r.err);
  t.diagnostic(r.err.trim().split('\n').slice(-1)[0]);

  // The same plan, in the test: what should have been sent.
  const plan = planFleet({ ...fleet, timeZone: 'Europe/Oslo', rates: { leak: 0.2, frost: 0.5 } });
  const expected = { readings: new Map<string, Delivery[]>(), invoices: new Map<string, Delivery[]>() };
  for (const d of deliveries(plan)) {
    const byMeter = expected[d.topic];
    byMeter.set(d.key, [...(byMeter.get(d.key) ?? []), d]);
  }
  const count = (m: Map<string, Delivery[]>) => [...m.values()].reduce((a, l) => a + l.length, 0);
  const kafka = testKafka();
  const codec = new AvroCodec();
  const ids = new Set(plan.meters.map((m) => m.meterId));
  for (const topic of ['readings', 'invoices'] as const) {
    const records = await readAll(
      kafka,
      topic === 'readings' ? env.METERSTREAM_TOPIC_READINGS : env.METERSTREAM_TOPIC_INVOICES,
    );
    assert.equal(records.length, count(expected[topic]), `${topic}: as many messages as planned deliveries`);
    // Per meter (one key, one partition) in the planned order, decoding to the planned values.
    const got = new Map<string, { offset: bigint; value: unknown }[]>();
    for (const rec of records) {
      const key = rec.key!.toString('utf8');
      assert.ok(ids.has(key), `key ${key} is a raw meter ID of the fleet`);
      const decoded = codec.decode(rec.value!);
      if (topic === 'readings') assert.ok(decoded.schema === 'MeterReading' || decoded.schema === 'MeterReadingBatch');
      else assert.equal(decoded.schema, 'Invoice');
      assert.equal(
        (decoded.value as MeterReading | MeterReadingBatch | Invoice).meterId,
        key,
        'keyed by the meter in the value',
      );
      got.set(key, [...(got.get(key) ?? []), { offset: BigInt(rec.offset), value: decoded.value }]);
    }
    for (const [key, planned] of expected[topic]) {
      // Plain data on both sides (avsc decodes into record classes).
      const sent = (got.get(key) ?? [])
        .sort((a, b) => (a.offset < b.offset ? -1 : 1))
        .map((x) => JSON.parse(JSON.stringify(x.value)));
      assert.deepEqual(
        sent,
        JSON.parse(JSON.stringify(planned.map((d) => d.value))),
        `${topic} of one meter as planned`,
      );
    }
  }
  assert.ok(count(expected.invoices) > 0 && count(expected.readings) > 1000);

  // The ground truth, raw IDs and all, readable by its owner only.
  const labels = JSON.parse(readFileSync(labelsFile, 'utf8'));
  assert.deepEqual(labels.labels, plan.labels);
  assert.equal(labels.fleet.seed, 23);
  assert.ok(plan.labels.length > 0);
  assert.equal(statSync(labelsFile).mode & 0o777, 0o600);
  // Progress lines: counts and times, no meter ID.
  assert.match(r.err, /messages \(\d[\d,]* readings, \d+ invoices\), data time 2026-01-20 06:00Z, [\d,]+ msg\/s, done/);
  for (const id of ids) assert.ok(!r.err.includes(id) && !r.out.includes(id), 'no meter ID in the output');
  rmSync(dir, { recursive: true, force: true });
});

test('bad flags stop simulate with exit 78, naming the flag', () => {
  const cases: [string[], string][] = [
    [['--meters', 'ten'], '--meters'],
    [['--days', '0'], '--days'],
    [['--leak-rate', '1.5'], '--leak-rate'],
    [['--silent-rate', 'some'], '--silent-rate'],
    [['--end', 'yesterday'], '--end'],
    [['--granularity', 'hourly'], '--granularity'],
    [['--speed', 'fast'], '--speed'],
    [['--speed', '0', '--follow'], '--follow'],
    [['--meters'], '--meters'],
    [['--bogus', '1'], '--bogus'],
  ];
  for (const [args, flag] of cases) {
    // No broker: the flags are checked before anything connects.
    const r = spawnSync(process.execPath, [BIN, 'simulate', ...args], {
      env: { PATH: process.env.PATH ?? '' },
      encoding: 'utf8',
      timeout: 60_000,
    });
    assert.equal(r.status, 78, `${args.join(' ')}: ${r.stderr}`);
    assert.match(
      r.stderr,
      new RegExp(`configuration error: ${flag}\\b`),
      `${args.join(' ')} names ${flag}: ${r.stderr}`,
    );
  }
  const help = spawnSync(process.execPath, [BIN, 'simulate', '--help'], {
    env: { PATH: process.env.PATH ?? '' },
    encoding: 'utf8',
  });
  assert.equal(help.status, 0);
  assert.match(help.stdout, /--labels FILE[\s\S]*RAW meter\s+IDs/);
});

/** A reading due at `at`, as the simulator yields it. */
function reading(meterId: string, at: number): Delivery {
  const value: MeterReading = {
    meterId,
    tenant: 'default',
    kind: 'WATER',
    unit: 'L',
    readingType: 'INTERVAL',
    ts: at - H,
    intervalSeconds: 3600,
    value: 12.5,
    quality: 'MEASURED',
    zoneId: null,
    priceArea: null,
  };
  return { at, topic: 'readings', key: meterId, schema: 'MeterReading', value };
}

/** A fake wall clock that sleeping advances. */
function fakeClock() {
  let wall = 1_000_000;
  return { now: () => wall, sleep: async (ms: number) => void (wall += Math.max(1, Math.ceil(ms))) };
}

test('the simulated clock: history at once, later deliveries when the clock reaches them', async () => {
  const t0 = Date.UTC(2026, 0, 20, 12);
  const sim = [
    reading('a', t0 - 3 * H),
    reading('b', t0 - 2 * H),
    reading('c', t0 - H),
    reading('d', t0 + H),
    reading('e', t0 + 2 * H),
  ];
  const clock = fakeClock();
  const start = clock.now();
  const sends: { wallMs: number; keys: string[] }[] = [];
  const send = async (batch: TopicMessages[]) =>
    void sends.push({ wallMs: clock.now() - start, keys: batch.flatMap((b) => b.messages.map((m) => String(m.key))) });
  // 3600x: one data hour per wall second.
  const p = await paceDeliveries({
    deliveries: sim,
    codec: new AvroCodec(),
    topics: { readings: 'r', invoices: 'i' },
    send,
    speed: 3600,
    clockStart: t0,
    signal: new AbortController().signal,
    batchMessages: 2,
    ...clock,
  });
  assert.deepEqual(sends, [
    { wallMs: 0, keys: ['a', 'b'] },
    { wallMs: 0, keys: ['c'] },
    { wallMs: 1000, keys: ['d'] },
    { wallMs: 2000, keys: ['e'] },
  ]);
  assert.equal(p.messages, 5);
  assert.equal(p.dataTime, t0 + 2 * H);
  assert.ok(p.live && p.done && !p.stopped);

  // Speed 0: all at once; `skipBefore` leaves out what an earlier run sent.
  sends.length = 0;
  await paceDeliveries({
    deliveries: sim,
    codec: new AvroCodec(),
    topics: { readings: 'r', invoices: 'i' },
    send,
    speed: 0,
    clockStart: t0,
    skipBefore: t0 - H,
    signal: new AbortController().signal,
    ...clock,
  });
  assert.deepEqual(
    sends.map((s) => s.keys),
    [['c', 'd', 'e']],
  );

  // A stop while waiting for the clock: what was due is sent, nothing after.
  sends.length = 0;
  const stop = new AbortController();
  const stopping = { now: clock.now, sleep: async (ms: number) => (stop.abort(), clock.sleep(ms)) };
  const stopped = await paceDeliveries({
    deliveries: sim,
    codec: new AvroCodec(),
    topics: { readings: 'r', invoices: 'i' },
    send,
    speed: 60,
    clockStart: t0,
    signal: stop.signal,
    ...stopping,
  });
  assert.deepEqual(
    sends.map((s) => s.keys),
    [['a', 'b', 'c']],
  );
  assert.ok(stopped.stopped && stopped.messages === 3);
});
