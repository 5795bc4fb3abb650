/**
 * The readings_raw sink on embedded ClickHouse: the inbox view spreads batches into rows with
 * the right version, and rows ClickHouse refuses are isolated to the batch that carries them.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  createClickHouse,
  createLogger,
  createRegistry,
  loadConfig,
  migrate,
  pipelineMetrics,
  type CleanReadingBatch,
} from '@meterstream/core';
import { utcDaysAgo } from '@meterstream/core/testing';
import { ReadingsRawSink, inboxLine } from './readings-raw.sink.js';
import { readingVersion } from '../transforms/reading-version.js';

const config = loadConfig({ METERSTREAM_DATA_DIR: mkdtempSync(join(tmpdir(), 'meterstream-sink-')) });
const client = await createClickHouse(config.clickhouse);
after(() => client.close());
const logger = createLogger({ level: 'silent' });
const day0 = utcDaysAgo(10); // inside readings_raw's retention whatever today is

function batch(meter: string, values: number[], extra: Partial<CleanReadingBatch> = {}): CleanReadingBatch {
  return {
    tenant: 'default',
    meter,
    kind: 'WATER',
    unit: 'L',
    readingType: 'INTERVAL',
    intervalSeconds: 3600,
    zoneId: 'Z\t1',
    priceArea: null,
    readings: values.map((value, i) => ({
      ts: day0 + i * 3_600_000,
      value,
      quality: 'MEASURED' as const,
      offset: 100 + i,
      version: readingVersion('MEASURED', 1_000),
    })),
    registerModulus: null,
    ...extra,
  };
}

async function rows(db: string) {
  const rs = await client.query({
    query: `SELECT meter, toUnixTimestamp64Milli(ts) AS ts, value, quality, zone_id, source_partition, source_offset, version FROM ${db}.readings_raw FINAL ORDER BY meter, ts`,
    format: 'JSONEachRow',
    clickhouse_settings: { output_format_json_quote_64bit_integers: 0 },
  });
  return rs.json<{
    meter: string;
    ts: number;
    value: number;
    quality: string;
    zone_id: string;
    source_partition: number;
    source_offset: number;
    version: number;
  }>();
}

test('one inbox row per batch becomes one readings_raw row per reading, with quality-ranked versions', async () => {
  const db = 'sink_a';
  await migrate(client, { database: db, retention: config.retention });
  const sink = new ReadingsRawSink(
    client,
    db,
    pipelineMetrics(createRegistry('t')),
    logger,
    new AbortController().signal,
  );
  const b = batch('aa', [1.5, 2, 0]);
  b.readings[1].quality = 'CORRECTED';
  b.readings[1].version = readingVersion('CORRECTED', 1_001);
  b.readings[2].quality = 'ESTIMATED';
  b.readings[2].version = readingVersion('ESTIMATED', 1_002);
  assert.deepEqual(await sink.write([b, batch('bb', [7])], 2), []);
  const got = await rows(db);
  const fresh = 2 ** 47; // the new encoding's mark, above every old offset
  assert.deepEqual(
    got.map((r) => [r.meter, r.ts, r.value, r.quality, r.zone_id, r.source_partition, r.source_offset, r.version]),
    [
      ['aa', day0, 1.5, 'MEASURED', 'Z\t1', 2, 100, 2 ** 48 + fresh + 1_000],
      ['aa', day0 + 3_600_000, 2, 'CORRECTED', 'Z\t1', 2, 101, 2 * 2 ** 48 + fresh + 1_001],
      ['aa', day0 + 7_200_000, 0, 'ESTIMATED', 'Z\t1', 2, 102, fresh + 1_002],
      ['bb', day0, 7, 'MEASURED', 'Z\t1', 2, 100, 2 ** 48 + fresh + 1_000],
    ],
  );
});

test('rows stored with the old version encoding (rank * 2^48 + offset) compare right with new deliveries', async () => {
  const db = 'sink_c';
  await migrate(client, { database: db, retention: config.retention });
  // The previous release's path: the v1 inbox, whose view versions by rank and source offset.
  const old = (ts: number, value: number, rank: number, offset: number) =>
    client.insert({
      table: `${db}.readings_raw_inbox`,
      values: [
        {
          tenant: 'default',
          meter: 'mm',
          kind: 'WATER',
          unit: 'L',
          reading_type: 'INTERVAL',
          interval_seconds: 3600,
          zone_id: null,
          price_area: null,
          source_partition: 0,
          ts_ms: [ts],
          values: [value],
          quality_ranks: [rank],
          source_offsets: [offset],
        },
      ],
      format: 'JSONEachRow',
    });
  const offset = 2 ** 40; // far beyond any real partition's offsets
  await old(day0, 10, 1, offset); // MEASURED
  await old(day0 + 3_600_000, 20, 2, offset); // CORRECTED
  await old(day0 + 7_200_000, 30, 0, offset); // ESTIMATED
  const sink = new ReadingsRawSink(
    client,
    db,
    pipelineMetrics(createRegistry('t')),
    logger,
    new AbortController().signal,
  );
  const delivery = (i: number, value: number, quality: 'ESTIMATED' | 'MEASURED' | 'CORRECTED') => {
    const b = batch('mm', [value]);
    b.zoneId = null;
    b.readings[0] = { ts: day0 + i * 3_600_000, value, quality, offset: 1, version: readingVersion(quality, 0) };
    return b;
  };
  // After the upgrade: an estimate does not replace the old measured value; a measured value
  // does not replace the old correction; a measured value replaces the old estimate.
  await sink.write([delivery(0, 11, 'ESTIMATED'), delivery(1, 21, 'MEASURED'), delivery(2, 31, 'MEASURED')], 0);
  assert.deepEqual(
    (await rows(db)).map((r) => [r.value, r.quality]),
    [
      [10, 'MEASURED'],
      [20, 'CORRECTED'],
      [31, 'MEASURED'],
    ],
  );
  // A new delivery of the same quality replaces the old one (it is the later one).
  await sink.write([delivery(0, 12, 'MEASURED'), delivery(1, 22, 'CORRECTED')], 0);
  assert.deepEqual(
    (await rows(db)).map((r) => r.value),
    [12, 22, 31],
  );
});

test('a batch ClickHouse refuses is isolated: the others are stored, it is returned with the error', async () => {
  const db = 'sink_b';
  await migrate(client, { database: db, retention: config.retention });
  const sink = new ReadingsRawSink(
    client,
    db,
    pipelineMetrics(createRegistry('t')),
    logger,
    new AbortController().signal,
  );
  const broken = batch('cc', [1]);
  broken.readings[0].ts = Number.NaN; // validation never lets this through; here it stands for any row ClickHouse refuses
  assert.match(inboxLine(broken, 0), /\[NaN\]/);
  const good = ['dd', 'ee', 'ff', 'gg', 'hh'].map((m) => batch(m, [1, 2]));
  const refused = await sink.write([good[0], good[1], broken, good[2], good[3], good[4]], 0);
  assert.equal(refused.length, 1);
  assert.equal(refused[0].batch.meter, 'cc');
  assert.match(refused[0].error, /\S/);
  assert.deepEqual([...new Set((await rows(db)).map((r) => r.meter))], ['dd', 'ee', 'ff', 'gg', 'hh']);
});
