/**
 * The ingestor end to end, on the real local Kafka broker and embedded ClickHouse:
 * single-object, Confluent and older-schema messages in; readings_raw, the clean topic and the
 * DLQ out; corrections and duplicates; and a privacy scan of everything it wrote.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import {
  AvroCodec,
  createClickHouse,
  createHttpServer,
  createRegistry,
  migrate,
  pseudonymOf,
  type ClickHouseClient,
  type MeterReading,
  type MeterReadingBatch,
} from '@meterstream/core';
import {
  capturingLogger,
  createTopic,
  produce,
  readAll,
  testConfig,
  testKafka,
  utcDaysAgo,
  waitForGroupCaughtUp,
  TEST_KEY_HEX,
} from '@meterstream/core/testing';
import { Ingestor } from './ingestor.js';
import { DLQ_HEADERS } from '@meterstream/core';

const key = Buffer.from(TEST_KEY_HEX, 'hex');
const HOUR = 3_600_000;
const day0 = utcDaysAgo(10); // inside readings_raw's retention whatever today is

// A tiny Confluent-compatible registry: serves the reader version of MeterReading as schema id 7
// (what `encodeConfluent` writes).
const codecForSchemas = new AvroCodec();
// One embedded engine per process: every test here uses its own database in it.
const clickhouse: ClickHouseClient = await createClickHouse(testConfig().clickhouse);
after(() => clickhouse.close());
let registry: Server;
let registryUrl: string;
before(async () => {
  const schema = codecForSchemas.schemas.reader('MeterReading').canonical;
  registry = createServer((req, res) => {
    if (req.url === '/schemas/ids/7') {
      res.setHeader('content-type', 'application/vnd.schemaregistry.v1+json');
      res.end(JSON.stringify({ schema }));
    } else {
      res.statusCode = 404;
      res.end(JSON.stringify({ error_code: 40403, message: 'Schema not found' }));
    }
  });
  await new Promise<void>((r) => registry.listen(0, '127.0.0.1', r));
  registryUrl = `http://127.0.0.1:${(registry.address() as AddressInfo).port}`;
});
after(() => registry.close());

function reading(meterId: string, ts: number, value: number, extra: Partial<MeterReading> = {}): MeterReading {
  return {
    meterId,
    tenant: 'oslo-vann',
    kind: 'WATER',
    unit: 'L',
    readingType: 'INTERVAL',
    ts,
    intervalSeconds: 3600,
    value,
    quality: 'MEASURED',
    zoneId: 'Z1',
    priceArea: null,
    ...extra,
  };
}

test('readings in every wire format land pseudonymised in readings_raw and the clean topic; bad input lands in the DLQ with its reason', async () => {
  const config = testConfig({ SCHEMA_REGISTRY_URL: registryUrl });
  const kafka = testKafka();
  const codec = new AvroCodec({ schemaRegistryUrl: registryUrl });
  await migrate(clickhouse, { database: config.clickhouse.database, retention: config.retention });
  await createTopic(kafka, config.topics.readings, 3);
  const { logger, lines } = capturingLogger();
  const metricsRegistry = createRegistry('ingestor');
  const ingestor = new Ingestor({
    config,
    pseudonymKey: key,
    kafka,
    clickhouse,
    registry: metricsRegistry,
    logger,
    codec,
  });

  // Meter IDs are 18-digit GSRN-like strings: the privacy scan looks for them everywhere.
  const meters = Array.from({ length: 20 }, (_, i) => `70705750000${String(1_000_000 + i * 7919).slice(-7)}`);
  const good: { key: string; value: Buffer }[] = [];
  const expected = new Map<string, number>(); // `${pseudonym}|${kind}|${ts}` → value
  const put = (r: MeterReading | (MeterReadingBatch & { ts?: never })) => {
    const list =
      'readings' in r ? r.readings.map((x) => ({ ts: x.ts, value: x.value })) : [{ ts: r.ts, value: r.value }];
    for (const x of list) expected.set(`${pseudonymOf(key, r.tenant, r.meterId)}|${r.kind}|${x.ts}`, x.value);
  };
  // 1. single readings, single-object encoding, current schema
  for (const [i, m] of meters.entries()) {
    for (let h = 0; h < 5; h++) {
      const r = reading(m, day0 + h * HOUR, i + h / 10);
      good.push({ key: m, value: codec.encodeSingleObject('MeterReading', r) });
      put(r);
    }
  }
  // 2. the older writer schema (v1, without zoneId/priceArea) resolved by the v2 reader
  const old = reading(meters[0], day0 + 10 * HOUR, 42);
  const { zoneId: _z, priceArea: _p, ...v1 } = old;
  good.push({ key: meters[0], value: codec.encodeSingleObject('MeterReading', v1 as MeterReading, 1) });
  put({ ...old, zoneId: null });
  // 3. Confluent framing, schema from the registry
  const confluent = reading(meters[1], day0 + 11 * HOUR, 43);
  good.push({ key: meters[1], value: codec.encodeConfluent(7, 'MeterReading', confluent) });
  put(confluent);
  // 4. daily quarter-hour electricity batches
  const batch: MeterReadingBatch = {
    meterId: meters[2],
    tenant: 'oslo-vann',
    kind: 'ELECTRICITY_IMPORT',
    unit: 'KWH',
    readingType: 'INTERVAL',
    intervalSeconds: 900,
    zoneId: null,
    priceArea: 'NO1',
    readings: Array.from({ length: 96 }, (_, i) => ({
      ts: day0 + i * 900_000,
      value: 0.25 + i / 1000,
      quality: 'MEASURED' as const,
    })),
  };
  good.push({ key: meters[2], value: codec.encodeSingleObject('MeterReadingBatch', batch) });
  put(batch);

  // The malformed table: each must reach the DLQ with this reason, nothing else lost.
  const valid = codec.encodeSingleObject('MeterReading', reading(meters[3], day0, 1));
  const unknownFp = Buffer.from(valid);
  unknownFp[2] ^= 0xff;
  const badEnum = codec.encodeSingleObject('MeterReading', reading(meters[3], day0, 1));
  const bad: [string, Buffer, string][] = [
    ['random bytes', randomBytes(40), 'avro_magic'],
    ['truncated body', valid.subarray(0, valid.length - 5), 'avro_truncated'],
    ['unknown fingerprint', unknownFp, 'avro_unknown_schema'],
    ['wrong magic', Buffer.concat([Buffer.from([0xc3, 0x02]), valid.subarray(2)]), 'avro_magic'],
    ['NaN value', codec.encodeSingleObject('MeterReading', reading(meters[3], day0, NaN)), 'non_finite_value'],
    [
      'unknown Confluent schema id',
      codec.encodeConfluent(99, 'MeterReading', reading(meters[3], day0, 1)),
      'schema_registry',
    ],
    ['empty batch', codec.encodeSingleObject('MeterReadingBatch', { ...batch, readings: [] }), 'empty_batch'],
    [
      'oversize batch',
      codec.encodeSingleObject('MeterReadingBatch', {
        ...batch,
        readings: Array.from({ length: config.ingestor.maxBatchReadings + 1 }, (_, i) => ({
          ts: day0 + i * 1000,
          value: 1,
          quality: 'MEASURED' as const,
        })),
        intervalSeconds: 1,
      }),
      'oversize_batch',
    ],
    [
      'water in kWh',
      codec.encodeSingleObject('MeterReading', reading(meters[3], day0, 1, { unit: 'KWH' })),
      'unit_mismatch',
    ],
  ];
  // Unknown enum symbol: the Unit enum has 6 symbols; write index 9 (zig-zag 18) in place.
  // Body layout: meterId, tenant, kind(enum) ... find the kind byte by encoding and patching.
  const patched = Buffer.from(badEnum);
  const kindPos = 10 + 1 + meters[3].length + 1 + 'oslo-vann'.length;
  assert.equal(patched[kindPos], 2 * 2, 'WATER is symbol 2 (zig-zag 4)');
  patched[kindPos] = 2 * 9;
  bad.push(['unknown enum symbol', patched, 'avro_decode']);

  // Interleave the bad among the good.
  const messages: { key: string | null; value: Buffer }[] = [];
  let b = 0;
  for (const [i, g] of good.entries()) {
    messages.push(g);
    if (i % 11 === 5 && b < bad.length) messages.push({ key: meters[3], value: bad[b++][1] });
  }
  while (b < bad.length) messages.push({ key: meters[3], value: bad[b++][1] });
  await produce(kafka, config.topics.readings, messages);

  await ingestor.start();
  try {
    const db = config.clickhouse.database;
    const count = async () =>
      Number(
        (
          await (
            await clickhouse.query({ query: `SELECT count() c FROM ${db}.readings_raw FINAL`, format: 'JSONEachRow' })
          ).json<{ c: string }>()
        )[0].c,
      );
    await waitForGroupCaughtUp(kafka, config.ingestor.groupId, config.topics.readings);
    assert.equal(await count(), expected.size, 'every good reading in readings_raw');

    // readings_raw: exactly the expected (pseudonym, ts) → value, nothing else.
    const rows = await (
      await clickhouse.query({
        query: `SELECT meter, kind, toUnixTimestamp64Milli(ts) AS ts, value, zone_id FROM ${db}.readings_raw FINAL`,
        format: 'JSONEachRow',
        clickhouse_settings: { output_format_json_quote_64bit_integers: 0 },
      })
    ).json<{ meter: string; kind: string; ts: number; value: number; zone_id: string | null }>();
    assert.equal(rows.length, expected.size);
    for (const r of rows)
      assert.equal(r.value, expected.get(`${r.meter}|${r.kind}|${r.ts}`), `value of ${r.meter} ${r.kind} at ${r.ts}`);
    const oldRow = rows.find((r) => r.meter === pseudonymOf(key, 'oslo-vann', meters[0]) && r.ts === day0 + 10 * HOUR);
    assert.equal(oldRow?.zone_id, null, 'v1 writer: zoneId resolved to its default');

    // DLQ: each bad message once, original bytes, reason and source headers.
    const dlq = await readAll(kafka, config.topics.dlq);
    assert.equal(dlq.length, bad.length);
    for (const [name, bytes, reason] of bad) {
      const d = dlq.find((x) => x.value?.equals(bytes));
      assert.ok(d, `${name}: in the DLQ with its original bytes`);
      assert.equal(String(d.headers[DLQ_HEADERS.reason]), reason, `${name}: reason`);
      assert.equal(String(d.headers[DLQ_HEADERS.topic]), config.topics.readings);
      assert.match(String(d.headers[DLQ_HEADERS.offset]), /^\d+$/);
      assert.match(String(d.headers[DLQ_HEADERS.partition]), /^\d+$/);
      assert.equal(d.key?.toString(), meters[3], 'DLQ key as received');
    }

    // Clean topic (read_committed): every good reading exactly once, keyed and partitioned by
    // pseudonym (each meter on one partition, whatever partitions its raw messages were on).
    const clean = await readAll(kafka, config.topics.clean);
    const seen = new Map<string, number>();
    const partitionOf = new Map<string, Set<number>>();
    for (const rec of clean) {
      const d = codec.decode(rec.value!);
      assert.equal(d.schema, 'CleanReadingBatch');
      if (d.schema !== 'CleanReadingBatch') continue;
      assert.equal(rec.key?.toString(), d.value.meter);
      partitionOf.set(d.value.meter, (partitionOf.get(d.value.meter) ?? new Set()).add(rec.partition));
      for (const r of d.value.readings) {
        const k: string = `${d.value.meter}|${d.value.kind}|${r.ts}`;
        seen.set(k, (seen.get(k) ?? 0) + 1);
        assert.equal(r.value, expected.get(k));
      }
    }
    assert.equal(seen.size, expected.size);
    for (const [meter, partitions] of partitionOf) assert.equal(partitions.size, 1, `${meter} on one clean partition`);
    const twice = [...seen].filter(([, n]) => n > 1);
    assert.deepEqual(
      twice,
      [],
      `each reading once in the clean topic; records: ${JSON.stringify(clean.map((r) => [r.partition, r.offset]))}`,
    );

    // /metrics through the real HTTP route.
    const http = createHttpServer({ registry: metricsRegistry, logger, readiness: ingestor.readiness() });
    const metrics = (await http.inject({ method: 'GET', url: '/metrics' })).body;
    assert.match(metrics, /meterstream_ingestor_readings_total\{service="ingestor"\} 198/);
    assert.match(
      metrics,
      new RegExp(
        `meterstream_dlq_messages_total\\{reason="avro_magic",source="${config.topics.readings}",service="ingestor"\\} 2`,
      ),
    );
    assert.match(metrics, /meterstream_clickhouse_insert_duration_seconds_count/);
    assert.equal((await http.inject({ method: 'GET', url: '/readyz' })).statusCode, 200);

    // Privacy: no raw meter ID in ClickHouse, the clean topic, the logs or /metrics.
    const dump = await (
      await clickhouse.query({ query: `SELECT * FROM ${db}.readings_raw`, format: 'TabSeparated' })
    ).text();
    const cleanBytes = Buffer.concat(
      clean.flatMap((r) => [r.key ?? Buffer.alloc(0), r.value ?? Buffer.alloc(0)]),
    ).toString('latin1');
    const logText = lines.join('');
    assert.ok(logText.includes('message sent to the DLQ'), 'the logs were captured');
    for (const m of meters) {
      for (const [where, text] of [
        ['ClickHouse', dump],
        ['clean topic', cleanBytes],
        ['logs', logText],
        ['/metrics', metrics],
      ] as const) {
        assert.ok(!text.includes(m), `raw meter ID found in ${where}`);
      }
    }
    await http.close();
  } finally {
    await ingestor.close();
  }
});

test('a correction replaces the value it corrects; duplicates and redeliveries change nothing', async () => {
  const config = testConfig();
  const kafka = testKafka();
  const codec = new AvroCodec();
  await migrate(clickhouse, { database: config.clickhouse.database, retention: config.retention });
  await createTopic(kafka, config.topics.readings, 1);
  const { logger } = capturingLogger();
  const m = '707057500000009999';
  const enc = (r: MeterReading) => ({ key: m, value: codec.encodeSingleObject('MeterReading', r) });
  await produce(kafka, config.topics.readings, [
    enc(reading(m, day0, 10)),
    enc(reading(m, day0 + HOUR, 20, { quality: 'ESTIMATED' })),
    enc(reading(m, day0, 10)), // producer-retry duplicate
    enc(reading(m, day0 + HOUR, 21)), // measured replaces estimated
    enc(reading(m, day0, 11, { quality: 'CORRECTED' })), // correction
    enc(reading(m, day0, 10)), // the original redelivered after its correction
    enc(reading(m, day0 + HOUR, 19, { quality: 'ESTIMATED' })), // a late estimate does not undo a measurement
  ]);
  const ingestor = new Ingestor({
    config,
    pseudonymKey: key,
    kafka,
    clickhouse,
    registry: createRegistry('ingestor'),
    logger,
    codec,
  });
  await ingestor.start();
  try {
    const db = config.clickhouse.database;
    await waitForGroupCaughtUp(kafka, config.ingestor.groupId, config.topics.readings);
    const rows = await (
      await clickhouse.query({
        query: `SELECT toUnixTimestamp64Milli(ts) ts, value, quality FROM ${db}.readings_raw FINAL ORDER BY ts`,
        format: 'JSONEachRow',
        clickhouse_settings: { output_format_json_quote_64bit_integers: 0 },
      })
    ).json();
    assert.deepEqual(rows, [
      { ts: day0, value: 11, quality: 'CORRECTED' },
      { ts: day0 + HOUR, value: 21, quality: 'MEASURED' },
    ]);
  } finally {
    await ingestor.close();
  }
});
