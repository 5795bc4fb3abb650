// Baseline: kafkajs consuming the pre-loaded topic with no processing at all (eachBatch, large
// fetches, a fresh group, no commits), the client's ceiling for the ingestor. Clock: first
// fetch request → the last message seen. Prints a JSON result line.
import { Kafka, logLevel } from 'kafkajs';
import { rssSampler } from './lib.mjs';

const topic = process.env.BENCH_TOPIC;
const messages = Number(process.env.BENCH_MESSAGES);
const readings = Number(process.env.BENCH_READINGS);
// As the ingestor's defaults (16 MiB per partition), and room for every partition in one fetch.
const maxBytesPerPartition = Number(process.env.BENCH_KAFKAJS_MAX_BYTES_PER_PARTITION || 16 * 2 ** 20);
const rss = rssSampler();
const kafka = new Kafka({
  clientId: 'bench-kafkajs',
  brokers: process.env.KAFKA_BROKERS.split(','),
  logLevel: logLevel.NOTHING,
});
const consumer = kafka.consumer({
  groupId: `${topic}-kafkajs-${Date.now()}`,
  maxBytes: maxBytesPerPartition * 4,
  maxBytesPerPartition,
});
let first = null;
let seen = 0;
let bytes = 0;
let done;
const finished = new Promise((r) => (done = r));
consumer.on(consumer.events.FETCH_START, () => (first ??= process.hrtime.bigint()));
await consumer.connect();
await consumer.subscribe({ topic, fromBeginning: true });
await consumer.run({
  autoCommit: false,
  partitionsConsumedConcurrently: 3,
  eachBatch: async ({ batch }) => {
    seen += batch.messages.length;
    for (const m of batch.messages) bytes += m.value?.length ?? 0;
    if (seen >= messages) done(process.hrtime.bigint());
  },
});
const end = await finished;
const seconds = Number(end - first) / 1e9;
const peak = rss.stop();
await consumer.disconnect();
console.log(
  JSON.stringify({
    seconds,
    messages: seen,
    msgPerSec: seen / seconds,
    readingsPerSec: readings / seconds,
    mbPerSec: bytes / 2 ** 20 / seconds,
    peakRssBytes: peak,
  }),
);
process.exit(0);
