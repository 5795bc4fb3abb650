/**
 * The `npm start` fleet end to end, history and live: the demo's own fleet (`demo-fleet.ts`: 300
 * meters, 14 days, seed 1, the demo's anomaly rates, ending at the current hour) is sent as the
 * demo sends it (`FleetStream` following on, paced by `paceDeliveries` on a clock starting now):
 * the history at once, then 2 live data days at 2880x (1 wall minute), through the real
 * ingestor, aggregator and anomaly service. Scored per alert episode (every dedupKey on the
 * alerts topic, FIRING or only ever RESOLVED): an episode must be explained by a label of its
 * meter and type, and every labelled episode old enough to be seen by the last delivery must
 * have its alert. This is what issue 10 saw go wrong in `npm start` (silences "already over"
 * from the history backfill, a silent meter not reported).
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AvroCodec, createClickHouse, pseudonymOf, type Alert, type AlertType } from '@meterstream/core';
import { testConfig } from '@meterstream/core/testing';
import type { Delivery, Label } from '@meterstream/simulator';
import { dedupKeyOf } from '@meterstream/anomaly/alerts';
import { startPipeline, TEST_KEY as key } from '@meterstream/anomaly/test-pipeline';
import { demoFleet } from './demo-fleet.js';
import { connectProducer, paceDeliveries } from './fleet-producer.js';
import { FleetStream } from './fleet-stream.js';
import { parseSimulateFlags } from './simulate-flags.js';

const H = 3_600_000;
const DAY = 24 * H;
const SPEED = 2880;
const TYPES: AlertType[] = ['NIGHT_FLOW', 'BURST', 'FROST_RISK', 'INVOICE_MISMATCH', 'METER_SILENT'];
const clickhouse = await createClickHouse(testConfig().clickhouse);
after(() => clickhouse.close());

test('the npm start fleet, history plus 2 live days at speed: no alert without a label, an alert for every labelled episode', async (t) => {
  const pipeline = await startPipeline(
    clickhouse,
    // The demo's own default: live data runs ahead of the wall clock.
    { METERSTREAM_MAX_FUTURE_SECONDS: String(366 * 86_400) },
    3,
  );
  const { config, kafka } = pipeline;
  const now = Date.now();
  const fleet = demoFleet(
    parseSimulateFlags(['--speed', String(SPEED)]),
    mkdtempSync(join(tmpdir(), 'meterstream-demo-fleet-')),
    now,
    config.anomaly.detectors.timeZone,
  );
  assert.equal(fleet.options.follow, true);
  const end = fleet.options.fleet.end;
  const cut = end + 2 * DAY;
  const stream = new FleetStream(fleet.options.fleet, true);
  const deliveredAt = new Map<string, number[]>();
  const invoicedAt = new Map<string, number>();
  let lastAt = -Infinity;
  function* upToCut(): Generator<Delivery> {
    for (const d of stream) {
      if (d.at > cut) return;
      if (d.topic === 'readings') deliveredAt.set(d.key, [...(deliveredAt.get(d.key) ?? []), d.at]);
      else invoicedAt.set(d.value.invoiceId, d.at);
      lastAt = d.at;
      yield d;
    }
  }

  try {
    const producer = await connectProducer(kafka);
    let sent;
    try {
      sent = await paceDeliveries({
        deliveries: upToCut(),
        codec: new AvroCodec(),
        topics: { readings: config.topics.readings, invoices: config.topics.invoices },
        send: producer.send,
        speed: SPEED,
        clockStart: now,
        signal: new AbortController().signal,
      });
    } finally {
      await producer.disconnect();
    }
    t.diagnostic(
      `${fleet.options.fleet.meters} meters, history to ${new Date(end).toISOString()}, live to ${new Date(lastAt).toISOString()}: ${sent.messages} messages, ${sent.readings} readings, ${sent.invoices} invoices`,
    );
    await pipeline.settle();
    // The invoice sweep decides what the last rows completed: wait until the topic stops changing.
    let alerts: Alert[] = [];
    for (let previous = -1; alerts.length !== previous;) {
      previous = alerts.length;
      await new Promise((r) => setTimeout(r, 3000));
      await pipeline.settle();
      alerts = await pipeline.alerts();
    }

    const labels: readonly Label[] = stream.labels;
    const meterOf = new Map(stream.plan.meters.map((m) => [pseudonymOf(key, m.tenant, m.meterId), m.meterId]));
    const episodes = [...new Map(alerts.map((a) => [a.dedupKey, a])).values()];
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
    // What the data sent by the last delivery can show: a burst once its readings are in, frost
    // once the room has cooled, a leak after its second night, an invoice once its period's
    // D+1 electricity is in, a silence once nothing arrived for max(48 h, 3 x the meter's
    // delivery interval) plus one delivery interval of the fleet (detectors/arrival-clock.ts).
    const due = (l: Label): boolean => {
      switch (l.type) {
        case 'BURST':
          return (l.end ?? l.start + H) + 6 * H <= lastAt;
        case 'FROST_RISK':
          return l.start + DAY <= lastAt;
        case 'NIGHT_FLOW':
          return l.start + 3 * DAY <= lastAt;
        case 'INVOICE_MISMATCH':
          return (invoicedAt.get(l.invoiceId ?? '') ?? Infinity) + 2 * DAY <= lastAt;
        case 'METER_SILENT': {
          const at = deliveredAt.get(l.meterId) ?? [];
          const gaps = at
            .slice(1)
            .map((x, i) => x - at[i])
            .filter((g) => g > 0)
            .slice(-7)
            .sort((a, b) => a - b);
          const cadence = gaps.length === 0 ? 0 : gaps[gaps.length >> 1];
          return at.length > 0 && at[at.length - 1] + Math.max(48 * H, 3 * cadence) + cadence + 2 * H < lastAt;
        }
      }
    };
    const iso = (ts: number | null) => (ts === null ? 'open' : new Date(ts).toISOString());
    const labelled = new Set(labels.map((l) => l.meterId));
    const report = TYPES.map((type) => {
      const ls = labels.filter((l) => l.type === type);
      const eps = episodes.filter((a) => a.type === type);
      const dueLabels = ls.filter(due);
      const missed = dueLabels.filter((l) => !eps.some((a) => explains(l, a)));
      const unexplained = eps.filter((a) => !ls.some((l) => explains(l, a)));
      t.diagnostic(
        `${type}: ${ls.length} labels (${dueLabels.length} due), ${eps.length} episodes, missed ${missed.length}, unexplained ${unexplained.length}`,
      );
      return { type, dueLabels, missed, unexplained };
    });
    assert.deepEqual(
      episodes.filter((a) => !labelled.has(meterOf.get(a.meter) ?? '')).map((a) => `${a.type} ${a.summary}`),
      [],
      'no alert on a meter without a label',
    );
    // The history's silent meters deliver again when the live spans begin: their gaps arrive
    // filled, in one backfill, before anyone could act on them, and must publish nothing (the
    // issue's silences "already over"). A silence beginning live needs 48 h and more to be due.
    const filled = labels.filter((l) => l.type === 'METER_SILENT' && l.end !== null && l.end <= end);
    assert.ok(filled.length > 0, 'the history has silent meters');
    assert.deepEqual(
      episodes
        .filter((a) => filled.some((l) => explains(l, a)))
        .map((a) => `${meterOf.get(a.meter)} ${a.status} ${iso(a.startsAt)}`),
      [],
      'no silence published for a gap that arrived filled',
    );
    for (const r of report) {
      if (r.type !== 'METER_SILENT')
        assert.ok(r.dueLabels.length > 0, `${r.type}: the demo fleet has labelled episodes of this type`);
      assert.deepEqual(
        r.missed.map((l) => `${l.meterId} ${iso(l.start)}..${iso(l.end)} ${l.note}`),
        [],
        `${r.type}: every labelled episode is found`,
      );
      assert.deepEqual(
        r.unexplained.map((a) => `${meterOf.get(a.meter)} ${a.status} ${iso(a.startsAt)} ${a.summary}`),
        [],
        `${r.type}: no episode without a label`,
      );
    }
  } finally {
    await pipeline.close();
  }
});
