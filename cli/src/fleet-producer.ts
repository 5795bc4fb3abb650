/**
 * Sends simulated deliveries to Kafka on a simulated clock: the clock starts at `clockStart`
 * and runs `speed` times as fast as the wall clock. Deliveries due before the clock go out at
 * once, in batches (the history backfill); later ones wait for the clock (live). One batch is
 * encoded and in flight at a time and the deliveries are pulled lazily, so memory stays flat
 * however long the run.
 */
import { Partitioners, type Message, type Producer, type TopicMessages } from 'kafkajs';
import { sleep, type AvroCodec, type Kafka } from '@meterstream/core';
import type { Delivery } from '@meterstream/simulator';

/** Counters of a run, for the progress line. */
export interface ProduceProgress {
  /** Kafka messages acknowledged. */
  messages: number;
  /** Readings in them (a batch counts its readings). */
  readings: number;
  invoices: number;
  /** `at` of the newest acknowledged delivery (data time reached), or null. */
  dataTime: number | null;
  /** Messages per second since the previous report. */
  rate: number;
  /** True once the clock, not the backlog, sets the pace. */
  live: boolean;
  /** True on the last report of the run. */
  done: boolean;
  /** True when the signal ended the run before the deliveries did. */
  stopped: boolean;
}

/** Where the messages go: one call per batch, resolving when the broker acknowledged it. */
export type SendBatch = (topicMessages: TopicMessages[]) => Promise<void>;

export interface PaceOptions {
  deliveries: Iterable<Delivery>;
  codec: AvroCodec;
  topics: { readings: string; invoices: string };
  send: SendBatch;
  /** Data time per wall time; 0 sends everything at once. */
  speed: number;
  /** Data time of the simulated clock when the run starts. */
  clockStart: number;
  /** Deliveries due before this were sent by an earlier run and are skipped. */
  skipBefore?: number;
  /** Stops the run after the batch in hand is sent. */
  signal: AbortSignal;
  /** Messages per batch; default 5000. */
  batchMessages?: number;
  /** Called at most every `progressEveryMs` while sending, and once at the end. */
  progress?: (p: ProduceProgress) => void;
  progressEveryMs?: number;
  /** Called after each acknowledged batch with its last delivery's `at`. */
  onSent?: (at: number) => void;
  /** Wall clock and sleep, replaceable in tests. */
  now?: () => number;
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
}

/** Runs the clock over the deliveries until they end or the signal stops it; returns the final counters. */
export async function paceDeliveries(o: PaceOptions): Promise<ProduceProgress> {
  const now = o.now ?? Date.now;
  const wait = o.sleep ?? sleep;
  const batchMessages = o.batchMessages ?? 5000;
  const everyMs = o.progressEveryMs ?? 5000;
  const wall0 = now();
  const clock = () => (o.speed === 0 ? Number.POSITIVE_INFINITY : o.clockStart + (now() - wall0) * o.speed);
  const p: ProduceProgress = {
    messages: 0,
    readings: 0,
    invoices: 0,
    dataTime: null,
    rate: 0,
    live: false,
    done: false,
    stopped: false,
  };
  let readings: Message[] = [];
  let invoices: Message[] = [];
  let batchReadings = 0;
  let lastAt = 0;
  let reportedAt = wall0;
  let reportedMessages = 0;

  const report = (force: boolean) => {
    const t = now();
    if (!o.progress || (!force && t - reportedAt < everyMs)) return;
    p.rate = t > reportedAt ? ((p.messages - reportedMessages) * 1000) / (t - reportedAt) : 0;
    reportedAt = t;
    reportedMessages = p.messages;
    o.progress({ ...p });
  };
  const flush = async () => {
    if (readings.length + invoices.length === 0) return;
    const batch: TopicMessages[] = [];
    if (readings.length > 0) batch.push({ topic: o.topics.readings, messages: readings });
    if (invoices.length > 0) batch.push({ topic: o.topics.invoices, messages: invoices });
    await o.send(batch);
    p.messages += readings.length + invoices.length;
    p.invoices += invoices.length;
    p.readings += batchReadings;
    p.dataTime = lastAt;
    readings = [];
    invoices = [];
    batchReadings = 0;
    o.onSent?.(lastAt);
    report(false);
  };

  for (const d of o.deliveries) {
    if (o.signal.aborted) break;
    if (o.skipBefore !== undefined && d.at < o.skipBefore) continue;
    if (d.at > clock()) {
      await flush();
      if (!p.live) {
        p.live = true;
        report(true);
      }
      while (!o.signal.aborted && d.at > clock()) await wait((d.at - clock()) / o.speed, o.signal);
      if (o.signal.aborted) break;
    }
    if (d.topic === 'invoices') {
      invoices.push({ key: d.key, value: o.codec.encodeSingleObject('Invoice', d.value) });
    } else if (d.schema === 'MeterReading') {
      readings.push({ key: d.key, value: o.codec.encodeSingleObject('MeterReading', d.value) });
      batchReadings += 1;
    } else {
      readings.push({ key: d.key, value: o.codec.encodeSingleObject('MeterReadingBatch', d.value) });
      batchReadings += d.value.readings.length;
    }
    lastAt = d.at;
    if (readings.length + invoices.length >= batchMessages) await flush();
  }
  await flush();
  p.done = true;
  p.stopped = o.signal.aborted;
  report(true);
  return p;
}

/** An idempotent producer (acks all, the default partitioner: keys land where the Java client puts them). */
export async function connectProducer(kafka: Kafka): Promise<{ send: SendBatch; disconnect: () => Promise<void> }> {
  const producer: Producer = kafka.producer({
    idempotent: true,
    maxInFlightRequests: 1,
    allowAutoTopicCreation: false,
    createPartitioner: Partitioners.DefaultPartitioner,
  });
  await producer.connect();
  return {
    send: async (topicMessages) => {
      await producer.sendBatch({ topicMessages, acks: -1 });
    },
    disconnect: () => producer.disconnect(),
  };
}
