/**
 * End to end on the real broker and embedded ClickHouse: a labelled synthetic fleet
 * (@meterstream/simulator, 1000 meters over 14 days: households with diurnal use and night-time
 * flushes, holidays, flats, pump rooms, electricity delivered in daily late batches, weekly
 * invoices with amounts at hourly spot prices; injected leaks, bursts, frost episodes, wrong
 * quantities and wrong amounts, and silent meters) goes
 * through the real ingestor, aggregator and anomaly service. Every injected episode must be
 * found and no meter may alert for a type it was not labelled with. Precision and recall per
 * type are printed.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createClickHouse, pseudonymOf, type Alert, type AlertType, type ClickHouseClient } from '@meterstream/core';
import { produce, testConfig, testSeed, waitFor } from '@meterstream/core/testing';
import { deliveries, planFleet, priceDeliveries, type Label } from '@meterstream/simulator';
import { dedupKeyOf } from './alerts.js';
import { startPipeline, TEST_KEY as key } from './test-pipeline.js';

const H = 3_600_000;
const TYPES: AlertType[] = ['NIGHT_FLOW', 'BURST', 'FROST_RISK', 'INVOICE_MISMATCH', 'METER_SILENT'];
const clickhouse: ClickHouseClient = await createClickHouse(testConfig().clickhouse);
after(() => clickhouse.close());

test('a labelled fleet of 1000 meters over 14 days: every injected episode found, no normal household alerts', async (t) => {
  const seed = testSeed((m) => t.diagnostic(m));
  const pipeline = await startPipeline(
    clickhouse,
    {
      METERSTREAM_INGESTOR_CONCURRENCY: '3',
      METERSTREAM_AGGREGATOR_CONCURRENCY: '3',
      METERSTREAM_ANOMALY_CONCURRENCY: '3',
      // The retailer's tariff, as the simulator bills it: per tenant.
      METERSTREAM_TENANT_DETECTORS: JSON.stringify({ default: { tariffMarkupPerKwh: 0.05, tariffFixedFee: 39 } }),
    },
    3,
  );
  const { config, kafka, codec, lines } = pipeline;

  const end = Math.floor(Date.now() / H) * H - H;
  const plan = planFleet({
    seed,
    meters: 1000,
    days: 14,
    end,
    granularity: 'day',
    rates: { amountError: 0.05 },
    tariff: { markupPerKwh: 0.05, fixedFee: 39 },
  });
  const readings: { key: string; value: Buffer; at: number }[] = [];
  const invoices: { key: string; value: Buffer; at: number }[] = [];
  let readingCount = 0;
  const deliveredAt = new Map<string, number[]>();
  for (const d of deliveries(plan)) {
    if (d.topic === 'readings') deliveredAt.set(d.key, [...(deliveredAt.get(d.key) ?? []), d.at]);
    const value = codec.encodeSingleObject(d.schema, d.value as never);
    (d.topic === 'readings' ? readings : invoices).push({ key: d.key, value, at: d.at });
    if (d.schema === 'MeterReadingBatch') readingCount += d.value.readings.length;
    else if (d.schema === 'MeterReading') readingCount += 1;
  }
  t.diagnostic(
    `${plan.meters.length} meters, ${readingCount} readings in ${readings.length} messages, ${invoices.length} invoices, ${plan.labels.length} labels`,
  );

  try {
    // As a head-end would, in time order, invoices on their own topic: the history up to 4 days
    // before the end at once (a backfill: silence is not judged on it), then the last days live,
    // one day's deliveries at a time, each processed before the next arrives.
    const live = end - 4 * 24 * H;
    const strip = (xs: typeof readings) => xs.map(({ key, value }) => ({ key, value }));
    await produce(kafka, config.topics.readings, strip(readings.filter((r) => r.at < live)));
    await pipeline.settle();
    for (let day = live; day < end + 24 * H; day += 24 * H) {
      await produce(kafka, config.topics.readings, strip(readings.filter((r) => r.at >= day && r.at < day + 24 * H)));
      await pipeline.settle();
    }
    // Spot prices (published the day before each day), then the invoices: checked on quantity and,
    // for electricity, on their amount at the hourly prices.
    await produce(
      kafka,
      config.topics.prices,
      [...priceDeliveries(plan)].map((p) => ({ key: p.key, value: codec.encodeSingleObject('SpotPrice', p.value) })),
    );
    await produce(kafka, config.topics.invoices, strip(invoices));
    await pipeline.settle();
    const outcomes = await waitFor(
      'every invoice decided',
      async () => {
        const rs = await clickhouse.query({
          query: `SELECT outcome, count() AS n FROM ${config.clickhouse.database}.invoice_checks FINAL GROUP BY outcome`,
          format: 'JSONEachRow',
          clickhouse_settings: { output_format_json_quote_64bit_integers: 0 },
        });
        const rows = await rs.json<{ outcome: string; n: number }>();
        return (
          rows.every((r) => r.outcome !== 'PENDING') && rows.reduce((s, r) => s + r.n, 0) === invoices.length && rows
        );
      },
      120_000,
    );
    t.diagnostic(`invoice checks: ${outcomes.map((r) => `${r.outcome} ${r.n}`).join(', ')}`);

    const alerts = await pipeline.alerts();
    const firing = [...new Map(alerts.filter((a) => a.status === 'FIRING').map((a) => [a.dedupKey, a])).values()];
    const meterOf = new Map(plan.meters.map((m) => [pseudonymOf(key, m.tenant, m.meterId), m.meterId]));
    const explains = (l: Label, a: Alert) =>
      meterOf.get(a.meter) === l.meterId &&
      a.type === l.type &&
      (l.type === 'INVOICE_MISMATCH'
        ? a.dedupKey ===
          dedupKeyOf(
            { tenant: l.tenant, meter: a.meter, zoneId: null },
            { type: 'INVOICE_MISMATCH', variant: l.invoiceId, episodeStart: l.start },
          )
        : a.startsAt >= l.start && (l.end === null || a.startsAt <= l.end));
    // A silence is due once nothing arrived for max(48 h, 3 x the meter's delivery interval)
    // (with 2 h to spare; this fleet delivers once a day): a daily-batch meter that stopped 2.5 days before the end is not
    // silent yet. Alerts on the others are still explained by their label.
    const due = (l: Label) => {
      if (l.type !== 'METER_SILENT') return true;
      const at = deliveredAt.get(l.meterId) ?? [];
      const gaps = at
        .slice(1)
        .map((t, i) => t - at[i])
        .filter((g) => g > 0)
        .slice(-7)
        .sort((a, b) => a - b);
      const cadence = gaps.length === 0 ? 0 : gaps[gaps.length >> 1];
      // (plus one delivery interval of the fleet: silence is judged once half the meters
      // delivered twice since; see detectors/arrival-clock.ts)
      return at[at.length - 1] + Math.max(48 * H, 3 * cadence) + cadence + 2 * H < end;
    };
    const silent = plan.labels.filter((l) => l.type === 'METER_SILENT');
    t.diagnostic(`METER_SILENT: ${silent.filter(due).length} of ${silent.length} labels due by the end`);
    const iso = (ts: number | null) => (ts === null ? 'open' : new Date(ts).toISOString());
    const report = TYPES.map((type) => {
      const labels = plan.labels.filter((l) => l.type === type);
      const fired = firing.filter((a) => a.type === type);
      const missed = labels.filter((l) => !fired.some((a) => explains(l, a)) && due(l));
      const unexplained = fired.filter((a) => !labels.some((l) => explains(l, a)));
      const recall = labels.length === 0 ? 1 : (labels.length - missed.length) / labels.length;
      const precision = fired.length === 0 ? 1 : (fired.length - unexplained.length) / fired.length;
      t.diagnostic(
        `${type}: ${labels.length} labels, ${fired.length} alerts, recall ${recall.toFixed(3)}, precision ${precision.toFixed(3)}`,
      );
      return { type, labels, fired, missed, unexplained };
    });
    for (const r of report) {
      assert.ok(r.labels.length > 0, `${r.type}: the fleet has episodes of this type`);
      assert.deepEqual(
        r.missed.map((l) => `${l.meterId} ${iso(l.start)}..${iso(l.end)} ${l.note}`),
        [],
        `${r.type}: every injected episode is found`,
      );
      assert.deepEqual(
        r.unexplained.map((a) => `${meterOf.get(a.meter)} ${iso(a.startsAt)} ${a.summary}`),
        [],
        `${r.type}: no alert without an injected episode`,
      );
      // No flapping: one episode per injection (night flow: its night and its continuous-flow variant).
      assert.ok(
        r.fired.length <= r.labels.length * (r.type === 'NIGHT_FLOW' ? 2 : 1),
        `${r.type}: ${r.fired.length} episodes for ${r.labels.length} injections`,
      );
    }
    // No raw meter ID in an alert or a log line.
    const alertText = alerts.map((a) => JSON.stringify(a)).join('\n');
    for (const m of plan.meters) {
      assert.ok(!alertText.includes(m.meterId), 'no raw meter ID in an alert');
      assert.ok(!lines.some((l) => l.includes(m.meterId)), 'no raw meter ID in a log line');
    }
  } finally {
    await pipeline.close();
  }
});
