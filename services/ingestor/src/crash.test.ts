/**
 * kill -9 of the ingestor mid-stream, several times, then a clean run to the end: every
 * reading is in the clean topic exactly once (read_committed) and in readings_raw exactly once
 * (FINAL). The ingestor runs as the real `meterstream ingestor` process, as in production.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AvroCodec, createClickHouse, pseudonymOf, type MeterReading, type MeterReadingBatch } from '@meterstream/core';
import {
  TEST_KEY_HEX,
  createTopic,
  produce,
  readAll,
  testEnv,
  testKafka,
  waitForGroupCaughtUp,
  startService,
  utcDaysAgo,
} from '@meterstream/core/testing';

const key = Buffer.from(TEST_KEY_HEX, 'hex');
const day0 = utcDaysAgo(10); // inside readings_raw's retention whatever today is

test('kill -9 at random moments, then restart: every reading exactly once in the clean topic and readings_raw', async () => {
  const env = testEnv({
    // Small fetches: many batches, many transactions, so the kills land mid-stream.
    METERSTREAM_FETCH_MAX_BYTES_PER_PARTITION: '4096',
    METERSTREAM_FETCH_MAX_BYTES: '12288',
    PORT: '0',
    LOG_LEVEL: 'warn',
  });
  const kafka = testKafka();
  const codec = new AvroCodec();
  await createTopic(kafka, env.METERSTREAM_TOPIC_READINGS, 3);

  // 300 meters: single hourly water readings and daily quarter-hour electricity batches.
  const expected = new Set<string>();
  const messages: { key: string; value: Buffer }[] = [];
  const meters = (from: number, to: number) => {
    const added: { key: string; value: Buffer }[] = [];
    for (let i = from; i < to; i++) {
      const meterId = `7070575${String(10_000_000_000 + i).slice(-11)}`;
      const p = pseudonymOf(key, 'default', meterId);
      for (let h = 0; h < 10; h++) {
        const r: MeterReading = {
          meterId,
          tenant: 'default',
          kind: 'WATER',
          unit: 'L',
          readingType: 'INTERVAL',
          ts: day0 + h * 3_600_000,
          intervalSeconds: 3600,
          value: (i * 7 + h) % 13,
          quality: 'MEASURED',
          zoneId: null,
          priceArea: null,
        };
        added.push({ key: meterId, value: codec.encodeSingleObject('MeterReading', r) });
        expected.add(`${p}|WATER|${r.ts}`);
      }
      const b: MeterReadingBatch = {
        meterId,
        tenant: 'default',
        kind: 'ELECTRICITY_IMPORT',
        unit: 'KWH',
        readingType: 'INTERVAL',
        intervalSeconds: 900,
        zoneId: null,
        priceArea: 'NO1',
        readings: Array.from({ length: 96 }, (_, q) => ({
          ts: day0 + q * 900_000,
          value: q / 100,
          quality: 'MEASURED' as const,
        })),
      };
      added.push({ key: meterId, value: codec.encodeSingleObject('MeterReadingBatch', b) });
      for (const r of b.readings) expected.add(`${p}|ELECTRICITY_IMPORT|${r.ts}`);
    }
    messages.push(...added);
    return added;
  };
  meters(0, 300);
  await produce(kafka, env.METERSTREAM_TOPIC_READINGS, messages);

  const admin = kafka.admin();
  await admin.connect();
  const committedTotal = async () => {
    const [c] = await admin.fetchOffsets({
      groupId: env.METERSTREAM_INGESTOR_GROUP_ID,
      topics: [env.METERSTREAM_TOPIC_READINGS],
    });
    return c.partitions.reduce((n, p) => n + Math.max(0, Number(p.offset)), 0);
  };
  let killedMidStream = 0;
  try {
    // Three kills; on a loaded machine a kill can land after the end of the stream, so while none
    // has landed mid-stream more meters arrive before the next round (at most three more).
    for (let round = 0, next = 300; round < 3 || (killedMidStream === 0 && round < 6); round++) {
      if (round >= 3) {
        await produce(kafka, env.METERSTREAM_TOPIC_READINGS, meters(next, next + 150));
        next += 150;
      }
      const run = startService('ingestor', env);
      await run.ready;
      // A random moment while it consumes: once a random share of the stream is committed,
      // or after a random delay, whichever comes first.
      const target = messages.length * (0.1 + Math.random() * 0.6);
      const deadline = Date.now() + 200 + Math.random() * 1500;
      while (Date.now() < deadline && (await committedTotal()) < target) await new Promise((r) => setTimeout(r, 10));
      run.child.kill('SIGKILL');
      await run.exited;
      const done = await committedTotal();
      if (done < messages.length) killedMidStream++;
    }
    assert.ok(killedMidStream > 0, 'at least one kill landed before the end of the stream');

    const last = startService('ingestor', env);
    await last.ready;
    await waitForGroupCaughtUp(kafka, env.METERSTREAM_INGESTOR_GROUP_ID, env.METERSTREAM_TOPIC_READINGS, 120_000);
    last.child.kill('SIGTERM');
    assert.equal(await last.exited, 0, `SIGTERM drains and exits 0:\n${last.output()}`);
  } finally {
    await admin.disconnect();
  }

  // Clean topic, read_committed: each reading exactly once.
  const counts = new Map<string, number>();
  for (const rec of await readAll(kafka, env.METERSTREAM_TOPIC_CLEAN, { timeoutMs: 120_000 })) {
    const d = codec.decode(rec.value!);
    if (d.schema !== 'CleanReadingBatch') throw new Error(`unexpected ${d.schema}`);
    for (const r of d.value.readings) {
      const k = `${d.value.meter}|${d.value.kind}|${r.ts}`;
      counts.set(k, (counts.get(k) ?? 0) + 1);
    }
  }
  const duplicated = [...counts].filter(([, n]) => n > 1).length;
  const missing = [...expected].filter((k) => !counts.has(k)).length;
  assert.equal(duplicated, 0, 'no reading twice in the clean topic');
  assert.equal(missing, 0, 'no reading missing from the clean topic');
  assert.equal(counts.size, expected.size);

  // readings_raw, after the ingestor is gone (one embedded engine per data directory).
  const clickhouse = await createClickHouse({
    url: null,
    user: 'default',
    password: '',
    database: env.CLICKHOUSE_DATABASE,
    dataDir: env.METERSTREAM_DATA_DIR,
  });
  try {
    const rs = await clickhouse.query({
      query: `SELECT count() AS n, uniqExact(meter, kind, ts) AS distinct FROM ${env.CLICKHOUSE_DATABASE}.readings_raw FINAL`,
      format: 'JSONEachRow',
      clickhouse_settings: { output_format_json_quote_64bit_integers: 0 },
    });
    const [{ n, distinct }] = await rs.json<{ n: number; distinct: number }>();
    assert.equal(n, expected.size);
    assert.equal(distinct, expected.size);
  } finally {
    await clickhouse.close();
  }
});
