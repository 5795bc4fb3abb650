/**
 * Fuzzed messages through the real ingestor, on the local Kafka broker and embedded ClickHouse
 * (seeded: TEST_SEED replays a run): every input message ends either in the clean topic or in
 * the DLQ with its reason, never both, and readings_raw holds exactly the readings of the
 * messages that ended clean, each under the pseudonym of its own (tenant, meterId).
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  AvroCodec,
  createClickHouse,
  createRegistry,
  DLQ_HEADERS,
  migrate,
  pseudonymOf,
  type BatchReading,
  type ClickHouseClient,
  type Quality,
} from '@meterstream/core';
import {
  capturingLogger,
  createTopic,
  produce,
  readAll,
  testConfig,
  testKafka,
  testSeed,
  waitForGroupCaughtUp,
  TEST_KEY_HEX,
} from '@meterstream/core/testing';
import { Ingestor } from './ingestor.js';
import { MessageFuzzer, type FuzzMessage, type ReadingHeader } from './testing/fuzz-messages.js';
import { correctionWindowMs } from './transforms/validate-reading.js';

const key = Buffer.from(TEST_KEY_HEX, 'hex');
const CASES = 500;
const QUALITY_RANK: Record<Quality, number> = { ESTIMATED: 0, MEASURED: 1, CORRECTED: 2 };
const clickhouse: ClickHouseClient = await createClickHouse(testConfig().clickhouse);
after(() => clickhouse.close());

/** The header and readings a message must end clean with (its expectation, or an independent decode). */
function cleanForm(m: FuzzMessage, codec: AvroCodec): { header: ReadingHeader; readings: BatchReading[] } {
  if (m.expect.outcome === 'clean') return m.expect;
  const d = codec.decode(m.value!);
  if (d.schema === 'MeterReading') {
    const { ts, value, quality, ...header } = d.value;
    return { header, readings: [{ ts, value, quality }] };
  }
  if (d.schema !== 'MeterReadingBatch') throw new Error(`${d.schema} ended clean`);
  const { readings, ...header } = d.value;
  return { header, readings };
}

test(`${CASES} fuzzed messages through the ingestor: each in the clean topic or the DLQ with a reason; readings_raw holds exactly the clean readings under their own pseudonyms`, async (t) => {
  const seed = testSeed((msg) => t.diagnostic(msg));
  const config = testConfig({ METERSTREAM_MAX_BATCH_READINGS: '100' });
  const { maxBatchReadings, maxFutureMs } = config.ingestor;
  const kafka = testKafka();
  const codec = new AvroCodec();
  const db = config.clickhouse.database;
  await migrate(clickhouse, { database: db, retention: config.retention });
  // One partition: the offset of a message is its index here.
  await createTopic(kafka, config.topics.readings, 1);
  const maxAgeMs = correctionWindowMs(config.retention.rawDays);
  const fuzzer = new MessageFuzzer({ seed, codec, now: Date.now(), maxBatchReadings, maxFutureMs, maxAgeMs });
  const input: FuzzMessage[] = [];
  for (let cases = 0; cases < CASES;) {
    if (input.length % 4 === 0) input.push(fuzzer.good());
    else for (const m of fuzzer.next()) (input.push(m), cases++);
  }
  // In sends of at most ~512 KiB: one request holds one record batch, and the broker caps its size.
  for (let from = 0; from < input.length;) {
    let to = from;
    for (let bytes = 0; to < input.length && (to === from || bytes < 512 * 1024); to++)
      bytes += (input[to].value?.length ?? 0) + (input[to].key?.length ?? 0) + 64;
    await produce(
      kafka,
      config.topics.readings,
      input.slice(from, to).map((m) => ({ key: m.key, value: m.value })),
    );
    from = to;
  }

  const ingestor = new Ingestor({
    config,
    pseudonymKey: key,
    kafka,
    clickhouse,
    registry: createRegistry('ingestor'),
    logger: capturingLogger().logger,
    codec,
  });
  await ingestor.start();
  try {
    await waitForGroupCaughtUp(kafka, config.ingestor.groupId, config.topics.readings);
  } finally {
    await ingestor.close();
  }

  const problems: string[] = [];
  const dead = new Map<number, string>();
  for (const rec of await readAll(kafka, config.topics.dlq)) {
    const i = Number(String(rec.headers[DLQ_HEADERS.offset]));
    const reason = String(rec.headers[DLQ_HEADERS.reason] ?? '');
    if (!/^[a-z_]+$/.test(reason)) problems.push(`DLQ record of ${i} without a reason`);
    if (dead.has(i)) problems.push(`${i} twice in the DLQ`);
    if (!(rec.value === null ? input[i].value === null : rec.value.equals(input[i].value ?? Buffer.alloc(0))))
      problems.push(`DLQ record of ${i} does not hold the message's bytes`);
    dead.set(i, reason);
  }
  const cleanMeters = new Map<number, Set<string>>();
  for (const rec of await readAll(kafka, config.topics.clean)) {
    const d = codec.decode(rec.value!);
    if (d.schema !== 'CleanReadingBatch') throw new Error(`${d.schema} on the clean topic`);
    for (const r of d.value.readings) {
      if (!cleanMeters.has(r.offset)) cleanMeters.set(r.offset, new Set());
      cleanMeters.get(r.offset)!.add(d.value.meter);
    }
  }
  // The rows readings_raw must hold: ReplacingMergeTree keeps one per (tenant, meter, kind, ts),
  // the best quality and then the latest offset. Readings older than its retention (the ingestor
  // takes them from 2000 on, for the clean topic and the hourly roll-ups) may be dropped by its
  // TTL at once: those near or beyond the horizon are left out of the comparison.
  const horizon = Date.now() - (config.retention.rawDays - 1) * 86_400_000;
  const expected = new Map<string, { offset: number; value: number; rank: number }>();
  input.forEach((m, i) => {
    const reason = dead.get(i);
    const what = `${i} (${m.mutation})`;
    if (reason !== undefined && cleanMeters.has(i)) problems.push(`${what}: both clean and in the DLQ`);
    if (reason === undefined && !cleanMeters.has(i)) problems.push(`${what}: neither clean nor in the DLQ`);
    if (m.expect.outcome === 'clean' && reason !== undefined) problems.push(`${what}: refused (${reason})`);
    if (m.expect.outcome === 'dlq' && reason === undefined) problems.push(`${what}: clean, expected the DLQ`);
    if (m.expect.outcome === 'dlq' && reason !== undefined && (m.expect.reason ?? reason) !== reason)
      problems.push(`${what}: refused with ${reason}, expected ${m.expect.reason}`);
    if (reason !== undefined || !cleanMeters.has(i)) return;
    const { header, readings } = cleanForm(m, codec);
    const meter = pseudonymOf(key, header.tenant, header.meterId);
    if ([...cleanMeters.get(i)!].some((x) => x !== meter)) problems.push(`${what}: clean under another pseudonym`);
    for (const r of readings) {
      if (r.ts < horizon) continue;
      const k = `${header.tenant}|${meter}|${header.kind}|${r.ts}`;
      const rank = QUALITY_RANK[r.quality];
      const had = expected.get(k);
      if (!had || rank > had.rank || (rank === had.rank && i > had.offset))
        expected.set(k, { offset: i, value: r.value === 0 ? 0 : r.value, rank });
    }
  });
  t.diagnostic(`${input.length} messages: ${dead.size} in the DLQ, ${cleanMeters.size} clean`);
  assert.equal(dead.size + cleanMeters.size, input.length, 'DLQ count + clean count = input count');

  const rows = await (
    await clickhouse.query({
      query: `SELECT tenant, meter, kind, toUnixTimestamp64Milli(ts) AS ts, value, source_offset FROM ${db}.readings_raw FINAL`,
      format: 'JSONEachRow',
      clickhouse_settings: { output_format_json_quote_64bit_integers: 0 },
    })
  ).json<{ tenant: string; meter: string; kind: string; ts: number; value: number; source_offset: number }>();
  for (const row of rows) {
    if (row.ts < horizon) continue;
    const k = `${row.tenant}|${row.meter}|${row.kind}|${row.ts}`;
    const want = expected.get(k);
    if (!want) problems.push(`readings_raw row ${k} from offset ${row.source_offset} was never sent clean`);
    else if (want.offset !== row.source_offset || want.value !== row.value)
      problems.push(
        `readings_raw row ${k}: offset ${row.source_offset} value ${row.value}, expected ${JSON.stringify(want)}`,
      );
  }
  const stored = new Set(rows.map((row) => `${row.tenant}|${row.meter}|${row.kind}|${row.ts}`));
  for (const [k, want] of expected) {
    if (!stored.has(k)) problems.push(`readings_raw lacks ${k} of ${want.offset} (${input[want.offset].mutation})`);
  }
  assert.deepEqual(problems.slice(0, 20), [], `${problems.length} problems; replay with TEST_SEED=${seed}`);
});
