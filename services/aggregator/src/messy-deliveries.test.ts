/**
 * Exactness when ordering cannot rest on the producer (issue 10, part 3), on the real broker and
 * embedded ClickHouse, ingestor and aggregator in this process. The random fleet of
 * `test-fleet.ts` (shuffled, duplicated, split, late, corrected) is delivered by head-ends that
 * key by meter ID, send keyless records (round-robin over the raw partitions) or re-key a meter
 * (two keys), with water volumes in L and m³; partitions are added to the raw and clean topics
 * between rounds; then every topic is deleted, re-created and replayed (the records keep their
 * Kafka timestamps, in one shuffled lot), and corrections of corrections follow. After each
 * phase every hourly row must equal the independent reference.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import type { Message } from 'kafkajs';
import { prng } from '@meterstream/simulator';
import {
  AvroCodec,
  createClickHouse,
  createRegistry,
  migrate,
  type ClickHouseClient,
  type MeterReading,
  type MeterReadingBatch,
} from '@meterstream/core';
import {
  capturingLogger,
  createTopic,
  produce,
  testConfig,
  testKafka,
  testSeed,
  waitFor,
  waitForGroupCaughtUp,
  TEST_KEY_HEX,
} from '@meterstream/core/testing';
import { Ingestor } from '@meterstream/ingestor';
import { Aggregator } from './aggregator.js';
import { assertHourlyExact, generateFleet, type MeterSpec } from './test-fleet.js';

const key = Buffer.from(TEST_KEY_HEX, 'hex');
const clickhouse: ClickHouseClient = await createClickHouse(testConfig().clickhouse);
after(() => clickhouse.close());

type Style = 'keyed' | 'keyless' | 'rekeyed';

test('hourly rows stay exact with keyless and re-keyed head-ends, mixed units, added partitions and a replay into re-created topics', async (t) => {
  const seed = testSeed((m) => t.diagnostic(m));
  const config = testConfig();
  const kafka = testKafka();
  const codec = new AvroCodec();
  const db = config.clickhouse.database;
  const { readings: raw, clean, hourly } = config.topics;
  await migrate(clickhouse, { database: db, retention: config.retention });
  await createTopic(kafka, raw, 3);
  const { logger } = capturingLogger();
  const registry = createRegistry('all');
  const start = async () => {
    const ingestor = new Ingestor({ config, pseudonymKey: key, kafka, clickhouse, registry, logger, codec });
    const aggregator = new Aggregator({ config, kafka, clickhouse, registry, logger, codec });
    await ingestor.start();
    await aggregator.start();
    return async () => {
      await aggregator.close();
      await ingestor.close();
    };
  };
  const settle = async () => {
    await waitForGroupCaughtUp(kafka, config.ingestor.groupId, raw);
    await waitForGroupCaughtUp(kafka, config.aggregator.groupId, clean);
  };

  const { meters, rounds } = generateFleet(codec, seed);
  const rnd = prng(seed + 1);
  const styles: Style[] = ['keyed', 'keyless', 'rekeyed'];
  const style = new Map(meters.map((m, i) => [m.meterId, styles[i % 3]]));
  const keyOf = (meterId: string, s: Style): string | null =>
    s === 'keyed' ? meterId : s === 'keyless' ? null : rnd() < 0.5 ? meterId : `head-end-2/${meterId}`;
  /** Water volumes in L are sent in m³ half of the time (one series, in litres). */
  const inMixedUnits = (value: Buffer): Buffer => {
    const d = codec.decode(value);
    if (d.schema !== 'MeterReading' && d.schema !== 'MeterReadingBatch') return value;
    if (d.value.kind !== 'WATER' || d.value.unit !== 'L' || rnd() < 0.5) return value;
    if (d.schema === 'MeterReading')
      return codec.encodeSingleObject('MeterReading', { ...d.value, unit: 'M3', value: d.value.value / 1000 });
    const readings = d.value.readings.map((r) => ({ ...r, value: r.value / 1000 }));
    return codec.encodeSingleObject('MeterReadingBatch', { ...d.value, unit: 'M3', readings });
  };
  /** Every record sent, with the Kafka timestamp it was sent with, for the replay. */
  const sent: Message[] = [];
  const send = async (round: { key: string; value: Buffer }[], keyless = false) => {
    const timestamp = String(Date.now());
    const messages = round.map((m) => ({
      key: keyless ? null : keyOf(m.key, style.get(m.key)!),
      value: inMixedUnits(m.value),
      timestamp,
    }));
    sent.push(...messages);
    await produce(kafka, raw, messages);
    await settle();
    // The next round's records are stamped strictly later.
    await waitFor('the clock to move on', async () => Date.now() > Number(timestamp), 1_000, 1);
  };

  let stop = await start();
  try {
    await send(rounds[0]);
    await send(rounds[1]);

    // Partitions added to the raw and clean topics mid-run (the services restart, as a
    // deployment does): meters move to other partitions, new offsets start at 0.
    await stop();
    const admin = kafka.admin();
    await admin.connect();
    try {
      await admin.createPartitions({
        topicPartitions: [
          { topic: raw, count: 5 },
          { topic: clean, count: 5 },
        ],
      });
    } finally {
      await admin.disconnect();
    }
    stop = await start();
    await send(rounds[2]);
    const first = await assertHourlyExact(clickhouse, db, key, meters);
    t.diagnostic(`after added partitions: ${first.checked} hourly rows exact`);
    assert.ok(first.checked > 1000);

    // A replay: the topics deleted and re-created (offsets start again at 0), every record sent
    // again keyless, in one shuffled lot, keeping its Kafka timestamp.
    await stop();
    await recreate(kafka, [raw, clean, hourly], [config.ingestor.groupId, config.aggregator.groupId]);
    await createTopic(kafka, raw, 4);
    stop = await start();
    const replay = sent.map((m) => ({ ...m, key: null })).sort(() => rnd() - 0.5);
    await produce(kafka, raw, replay);
    await settle();

    // Corrections of corrections after the replay: the later CORRECTED value wins.
    await send(correctAgain(codec, meters, rnd), true);
    const second = await assertHourlyExact(clickhouse, db, key, meters);
    t.diagnostic(`after the replay and new corrections: ${second.checked} hourly rows exact`);
    assert.ok(second.checked >= first.checked);
  } finally {
    await stop();
  }
});

/** Deletes topics and the groups' offsets on them, and waits until the topics are gone. */
async function recreate(kafka: ReturnType<typeof testKafka>, topics: string[], groups: string[]): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    await admin.deleteTopics({ topics });
    await waitFor('topics deleted', async () => {
      const left = new Set(await admin.listTopics());
      return topics.every((x) => !left.has(x));
    });
    await admin.deleteGroups(groups).catch(() => undefined); // a group without offsets left is fine
  } finally {
    await admin.disconnect();
  }
}

/** New CORRECTED values for some readings that may already be corrected; updates the truth. */
function correctAgain(codec: AvroCodec, meters: MeterSpec[], rnd: () => number): { key: string; value: Buffer }[] {
  const out: { key: string; value: Buffer }[] = [];
  for (const m of meters) {
    if (m.readingType === 'REGISTER') continue;
    const picked = [...m.truth.keys()].filter(() => rnd() < 0.04);
    const readings = picked.map((ts) => ({ ts, value: Math.round(rnd() * 700) / 100, quality: 'CORRECTED' as const }));
    if (readings.length === 0) continue;
    for (const r of readings) m.truth.set(r.ts, r.value);
    const header = {
      meterId: m.meterId,
      tenant: 'default',
      kind: m.kind,
      unit: m.unit,
      readingType: m.readingType,
      intervalSeconds: m.intervalSeconds,
      zoneId: null,
      priceArea: null,
    };
    if (readings.length === 1)
      out.push({
        key: m.meterId,
        value: codec.encodeSingleObject('MeterReading', { ...header, ...readings[0] } as MeterReading),
      });
    else
      out.push({
        key: m.meterId,
        value: codec.encodeSingleObject('MeterReadingBatch', { ...header, readings } as MeterReadingBatch),
      });
  }
  return out;
}
