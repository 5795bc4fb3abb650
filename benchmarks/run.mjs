#!/usr/bin/env node
// `npm run bench -- <name...>`: runs the named benchmarks (all when none is named) against the
// real local Kafka broker (started here when KAFKA_BROKERS is unset) and embedded ClickHouse.
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(fileURLToPath(import.meta.url), '..', '..');
const BENCHES = {
  ingest: './ingest.mjs',
  aggregate: './aggregate.mjs',
  anomaly: './anomaly.mjs',
  storage: './storage.mjs',
};
const names = process.argv.slice(2).length ? process.argv.slice(2) : Object.keys(BENCHES);
for (const n of names) {
  if (!BENCHES[n]) {
    console.error(`unknown benchmark ${n}; known: ${Object.keys(BENCHES).join(', ')}`);
    process.exit(2);
  }
}
let broker = null;
if (!process.env.KAFKA_BROKERS) {
  const { startLocalKafka } = await import('../scripts/kafka/local-kafka.mjs');
  broker = await startLocalKafka({
    dir: join(root, '.kafka', 'bench'),
    port: Number(process.env.KAFKA_BENCH_PORT || 19292),
  });
  process.env.KAFKA_BROKERS = broker.brokers;
}
try {
  for (const n of names) {
    const { run } = await import(BENCHES[n]);
    await run();
  }
} finally {
  if (broker) await broker.stop();
}
