/**
 * Injecting one fault of the soak into the running pipeline, ending it, and measuring how long
 * the pipeline took to recover: from the fault's end until `/readyz` answers 200 and every
 * consumer group has moved on (committed past where it stood when the fault ended, or has nothing
 * left to read).
 */
import { sleep, type Invoice, type MeterReading } from '@meterstream/core';
import { produce, utcDaysAgo } from '@meterstream/core/testing';
import { prng } from '@meterstream/simulator';
import type { ChaosPipeline } from './chaos-pipeline.js';
import type { Fault } from './fault-plan.js';

/** Dead letters the soak expects, by `<source topic> <reason>`. */
export type PoisonLedger = Map<string, number>;

/** Runs `fault` to its end. Poison records sent are added to `ledger`. */
export async function injectFault(p: ChaosPipeline, fault: Fault, seed: number, ledger: PoisonLedger): Promise<void> {
  switch (fault.kind) {
    case 'clickhouse_stall':
      p.faults.stall();
      await sleep(fault.ms);
      p.faults.release();
      return;
    case 'statement_failures':
      p.faults.failShare(fault.share, prng(seed));
      await sleep(fault.ms);
      p.faults.failShare(0);
      return;
    case 'network_cut':
      p.network.cut();
      await sleep(fault.ms);
      p.network.restore();
      return;
    case 'broker_restart':
      await p.stopBroker();
      await sleep(fault.ms);
      await p.startBroker();
      return;
    case 'poison':
      await sendPoison(p, ledger);
  }
}

/** A tombstone, garbage bytes and a valid record of the wrong type on each input topic. */
async function sendPoison(p: ChaosPipeline, ledger: PoisonLedger): Promise<void> {
  const { config, codec } = p;
  const day = utcDaysAgo(1);
  const reading: MeterReading = {
    meterId: 'POISON',
    tenant: 'default',
    kind: 'WATER',
    unit: 'L',
    readingType: 'INTERVAL',
    ts: day,
    intervalSeconds: 3600,
    value: 1,
    quality: 'MEASURED',
    zoneId: null,
    priceArea: null,
  };
  const invoice: Invoice = {
    invoiceId: 'POISON',
    tenant: 'default',
    meterId: 'POISON',
    kind: 'WATER',
    periodStart: day,
    periodEnd: day + 86_400_000,
    billedQuantity: 1,
    unit: 'L',
    amount: null,
    currency: null,
    priceArea: null,
  };
  const garbage = Buffer.from('not avro at all');
  const wrong = codec.encodeSingleObject('Invoice', invoice);
  // Topic, its wrong record, and how many consumer groups read it (each dead-letters it).
  const targets: [string, Buffer, number][] = [
    [config.topics.readings, wrong, 1],
    [config.topics.clean, wrong, 2],
    [config.topics.hourly, wrong, 1],
    [config.topics.invoices, codec.encodeSingleObject('MeterReading', reading), 1],
  ];
  for (const [topic, wrongRecord, readers] of targets) {
    for (;;) {
      try {
        await produce(p.kafka, topic, [
          { key: 'poison', value: null },
          { key: 'poison', value: garbage },
          { key: 'poison', value: wrongRecord },
        ]);
        break;
      } catch {
        await sleep(1000); // not sent: nothing to expect yet; send again
      }
    }
    for (const reason of ['tombstone', 'avro_magic', 'unexpected_record'])
      ledger.set(`${topic} ${reason}`, (ledger.get(`${topic} ${reason}`) ?? 0) + readers);
  }
}

/** Committed offsets of each group (summed over partitions), and whether it has read to the end. */
async function positions(p: ChaosPipeline): Promise<{ committed: number; caughtUp: boolean }[]> {
  const admin = p.kafka.admin();
  await admin.connect();
  try {
    return await Promise.all(
      p.groups.map(async ({ group, topic }) => {
        const ends = await admin.fetchTopicOffsets(topic);
        const [c] = await admin.fetchOffsets({ groupId: group, topics: [topic] });
        let committed = 0;
        let caughtUp = true;
        for (const e of ends) {
          const at = Math.max(0, Number(c.partitions.find((x) => x.partition === e.partition)?.offset ?? -1));
          committed += at;
          if (at < Number(e.high)) caughtUp = false;
        }
        return { committed, caughtUp };
      }),
    );
  } finally {
    await admin.disconnect();
  }
}

/**
 * Milliseconds from now (the fault's end) until the pipeline is ready and every group has moved
 * on; null if that did not happen within `limitMs`.
 */
export async function awaitRecovery(p: ChaosPipeline, limitMs: number): Promise<number | null> {
  const t0 = Date.now();
  let before: { committed: number }[] | null = null;
  let ready = false;
  while (Date.now() - t0 < limitMs) {
    try {
      before ??= await positions(p);
      ready ||= (await p.readyz()).status === 200;
      if (ready) {
        const now = await positions(p);
        if (now.every((g, i) => g.caughtUp || g.committed > before![i].committed)) return Date.now() - t0;
      }
    } catch {
      // The broker may still be coming back: ask again.
    }
    await sleep(500);
  }
  return null;
}

/** Waits until every group has read its topic to the end; false after `limitMs`. */
export async function awaitCaughtUp(p: ChaosPipeline, limitMs: number): Promise<boolean> {
  const t0 = Date.now();
  while (Date.now() - t0 < limitMs) {
    try {
      if ((await positions(p)).every((g) => g.caughtUp)) return true;
    } catch {
      // ask again
    }
    await sleep(1000);
  }
  return false;
}
