#!/usr/bin/env node
// Smoke check that kafkajs (the project's client) works against a real broker for everything
// meterstream needs. Exits 0 when all checks pass, non-zero otherwise; stops by itself.
//
//   node scripts/kafka/local-kafka.mjs up            # prints KAFKA_BROKERS=127.0.0.1:19092
//   KAFKA_BROKERS=127.0.0.1:19092 node scripts/kafka/smoke.mjs
//
// Checks:
//   1. admin createTopics (3 partitions) + fetchTopicOffsets
//   2. consumer group with eachBatch and autoCommit: false (consume-transform-produce)
//   3. transactional producer (transactionalId, idempotent, maxInFlightRequests: 1):
//      transaction(), send, sendOffsets({ consumerGroupId, topics }), commit(); and an abort()
//   4. a read_committed consumer (readUncommitted: false) sees the committed messages only
//   5. committed group offsets visible with admin fetchOffsets (== end offsets)
//   6. a rebalance when a second consumer joins the group; both then process and commit
import { createRequire } from 'node:module';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const require = createRequire(resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', 'package.json'));
const { Kafka, logLevel, Partitioners } = require('kafkajs');

const BROKERS = (process.env.KAFKA_BROKERS || '')
  .split(',')
  .map((s) => s.trim())
  .filter(Boolean);
if (BROKERS.length === 0) {
  console.error('smoke: set KAFKA_BROKERS (e.g. from `node scripts/kafka/local-kafka.mjs up`)');
  process.exit(2);
}
const TOTAL_TIMEOUT_MS = Number(process.env.SMOKE_TIMEOUT_MS || 120000);
const RUN = `${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 6)}`;
const IN = `smoke-in-${RUN}`;
const OUT = `smoke-out-${RUN}`;
const GROUP = `smoke-proc-${RUN}`;
const VERIFY_GROUP = `smoke-verify-${RUN}`;
const N1 = 30; // first batch of input messages
const N2 = 12; // input produced after the rebalance

const t0 = Date.now();
const step = (msg) => console.log(`smoke [${((Date.now() - t0) / 1000).toFixed(1)}s] ${msg}`);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const warnings = [];
function assert(cond, msg) {
  if (!cond) throw new Error(`assertion failed: ${msg}`);
}
async function waitFor(what, fn, timeoutMs = 30000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

const kafka = new Kafka({
  clientId: 'meterstream-smoke',
  brokers: BROKERS,
  logLevel: logLevel.WARN,
  // no client-level `retry` here: it would also apply to the idempotent producers and make
  // kafkajs warn "Limiting retries for the idempotent producer may invalidate EoS guarantees"
  logCreator:
    () =>
    ({ namespace, level, label, log }) => {
      const { message, ...extra } = log;
      const line = `kafkajs ${label} [${namespace}] ${message} ${JSON.stringify(extra)}`;
      if (level <= logLevel.WARN) warnings.push(line);
      console.error(line);
    },
});

const clients = [];
function track(c) {
  clients.push(c);
  return c;
}

/** A consume-transform-produce worker: eachBatch + autoCommit:false + transactional producer. */
async function startWorker(name) {
  const consumer = track(
    kafka.consumer({
      groupId: GROUP,
      readUncommitted: false,
      sessionTimeout: 10000,
      rebalanceTimeout: 20000,
      heartbeatInterval: 500,
      maxWaitTimeInMs: 200,
      allowAutoTopicCreation: false,
    }),
  );
  const producer = track(
    kafka.producer({
      transactionalId: `smoke-tx-${RUN}-${name}`,
      idempotent: true,
      maxInFlightRequests: 1,
      allowAutoTopicCreation: false,
      createPartitioner: Partitioners.DefaultPartitioner,
    }),
  );
  const w = { name, consumer, producer, joins: [], processed: [] };
  consumer.on(consumer.events.GROUP_JOIN, (e) => {
    const parts = Object.values(e.payload.memberAssignment).flat();
    w.joins.push({ memberId: e.payload.memberId, isLeader: e.payload.isLeader, partitions: parts });
    step(`${name}: joined the group${e.payload.isLeader ? ' as leader' : ''}, partitions [${parts.join(',')}]`);
  });
  await producer.connect();
  await consumer.connect();
  await consumer.subscribe({ topics: [IN], fromBeginning: true });
  await consumer.run({
    autoCommit: false,
    eachBatchAutoResolve: false,
    eachBatch: async ({ batch, resolveOffset, heartbeat, isRunning, isStale }) => {
      if (!isRunning() || isStale() || batch.messages.length === 0) return;
      const txn = await producer.transaction();
      try {
        await txn.send({
          topic: OUT,
          messages: batch.messages.map((m) => ({
            key: m.key,
            value: `out:${m.value.toString()}`,
            headers: { src: `${batch.topic}/${batch.partition}/${m.offset}` },
          })),
        });
        await txn.sendOffsets({
          consumerGroupId: GROUP,
          topics: [
            {
              topic: batch.topic,
              partitions: [{ partition: batch.partition, offset: (BigInt(batch.lastOffset()) + 1n).toString() }],
            },
          ],
        });
        await txn.commit();
      } catch (e) {
        await txn.abort().catch(() => {});
        throw e;
      }
      for (const m of batch.messages) {
        w.processed.push(m.value.toString());
        resolveOffset(m.offset);
      }
      await heartbeat();
    },
  });
  return w;
}

async function endOffsets(admin, topic) {
  const offs = await admin.fetchTopicOffsets(topic);
  return new Map(offs.map((o) => [o.partition, Number(o.high)]));
}

async function committedOffsets(admin, groupId, topic) {
  const res = await admin.fetchOffsets({ groupId, topics: [topic] });
  const t = res.find((r) => r.topic === topic);
  return new Map((t ? t.partitions : []).map((p) => [p.partition, Number(p.offset)]));
}

async function offsetsCaughtUp(admin) {
  const end = await endOffsets(admin, IN);
  const com = await committedOffsets(admin, GROUP, IN);
  for (const [p, high] of end) if (com.get(p) !== high) return false;
  return { end, com };
}

async function main() {
  const admin = track(kafka.admin());
  await admin.connect();

  // 1. topics
  const created = await admin.createTopics({
    waitForLeaders: true,
    topics: [
      { topic: IN, numPartitions: 3, replicationFactor: 1 },
      { topic: OUT, numPartitions: 3, replicationFactor: 1 },
    ],
  });
  assert(created === true, 'createTopics returned true');
  const initial = await admin.fetchTopicOffsets(IN);
  assert(initial.length === 3, `fetchTopicOffsets lists 3 partitions (got ${initial.length})`);
  assert(
    initial.every((o) => o.high === '0' && o.low === '0'),
    'new topic offsets are 0',
  );
  const listed = await admin.listTopics();
  assert(listed.includes(IN) && listed.includes(OUT), 'listTopics lists the new topics');
  const md = await admin.fetchTopicMetadata({ topics: [IN] });
  assert(md.topics[0].partitions.length === 3, 'fetchTopicMetadata shows 3 partitions');
  step(`1. createTopics ${IN}, ${OUT} (3 partitions each), listTopics, fetchTopicMetadata, fetchTopicOffsets ok`);

  // input
  const plain = track(
    kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner, allowAutoTopicCreation: false }),
  );
  await plain.connect();
  await plain.send({
    topic: IN,
    acks: -1,
    messages: Array.from({ length: N1 }, (_, i) => ({ key: `meter-${i % 7}`, value: `r${i}` })),
  });
  const afterProduce = await endOffsets(admin, IN);
  assert([...afterProduce.values()].reduce((a, b) => a + b, 0) === N1, `fetchTopicOffsets sums to ${N1}`);
  assert([...afterProduce.values()].filter((v) => v > 0).length >= 2, 'keys spread over >= 2 partitions');
  step(`   produced ${N1} input messages, end offsets ${JSON.stringify([...afterProduce])}`);

  // 2+3. consume-transform-produce with transactions
  const w1 = await startWorker('c1');
  await waitFor(`c1 processed ${N1}`, () => w1.processed.length >= N1, 45000);
  step(
    `2/3. c1 (eachBatch, autoCommit:false) processed ${w1.processed.length} messages in transactions (send + sendOffsets + commit)`,
  );

  // 3b. an aborted transaction, then one more committed one (so the LSO moves past the abort)
  const aborter = track(
    kafka.producer({
      transactionalId: `smoke-tx-${RUN}-aborter`,
      idempotent: true,
      maxInFlightRequests: 1,
      createPartitioner: Partitioners.DefaultPartitioner,
      allowAutoTopicCreation: false,
    }),
  );
  await aborter.connect();
  const ta = await aborter.transaction();
  await ta.send({
    topic: OUT,
    messages: Array.from({ length: 6 }, (_, i) => ({ key: `meter-${i}`, value: `ABORTED-${i}` })),
  });
  await ta.abort();
  const tc = await aborter.transaction();
  await tc.send({
    topic: OUT,
    messages: Array.from({ length: 3 }, (_, i) => ({ key: `meter-${i}`, value: `after-abort-${i}` })),
  });
  await tc.commit();
  step('3b. aborted a transaction with 6 messages, then committed 3 more');

  // 5. committed offsets via admin
  const caught = await waitFor('committed offsets == end offsets', () => offsetsCaughtUp(admin), 20000);
  step(`5. admin fetchOffsets(${GROUP}) == end offsets ${JSON.stringify([...caught.com])}`);

  // 4. read_committed verifier
  const seen = [];
  const verifier = track(
    kafka.consumer({
      groupId: VERIFY_GROUP,
      readUncommitted: false,
      maxWaitTimeInMs: 200,
      allowAutoTopicCreation: false,
    }),
  );
  await verifier.connect();
  await verifier.subscribe({ topics: [OUT], fromBeginning: true });
  await verifier.run({
    eachMessage: async ({ message }) => {
      seen.push(message.value.toString());
    },
  });
  const expected = N1 + 3;
  await waitFor(`verifier sees ${expected} committed messages`, () => seen.length >= expected, 30000);
  await sleep(1500); // anything extra (aborted) would show up now
  const aborted = seen.filter((v) => v.startsWith('ABORTED'));
  assert(aborted.length === 0, `read_committed consumer saw aborted messages: ${aborted.join(',')}`);
  assert(seen.length === expected, `verifier saw ${seen.length} messages, expected ${expected}`);
  const outValues = new Set(seen.filter((v) => v.startsWith('out:')));
  for (let i = 0; i < N1; i++) assert(outValues.has(`out:r${i}`), `output has out:r${i}`);
  const endOut = await endOffsets(admin, OUT);
  const rawOut = [...endOut.values()].reduce((a, b) => a + b, 0);
  assert(rawOut > expected, `OUT log holds aborted records + markers (${rawOut} > ${expected})`);
  step(
    `4. read_committed consumer saw exactly the ${expected} committed messages, none of the 6 aborted (OUT end offsets sum ${rawOut})`,
  );

  // 6. rebalance: a second consumer joins the group
  const joinsBefore = w1.joins.length;
  const w2 = await startWorker('c2');
  await waitFor('rebalance (c1 rejoins, c2 joins)', () => w1.joins.length > joinsBefore && w2.joins.length > 0, 30000);
  // kafkajs' GROUP_JOIN payload has no generation id: wait until the latest assignments of the
  // two members add up to the 3 partitions without overlap (they converge on one generation).
  const split = () => {
    const a = w1.joins.at(-1).partitions;
    const b = w2.joins.at(-1).partitions;
    return a.length > 0 && b.length > 0 && a.length + b.length === 3 && new Set([...a, ...b]).size === 3;
  };
  await waitFor('the 3 partitions split between c1 and c2 without overlap', split, 30000);
  const p1 = w1.joins.at(-1).partitions;
  const p2 = w2.joins.at(-1).partitions;
  step(`6. rebalance: c1 [${p1}], c2 [${p2}] (c1 joined ${w1.joins.length} times)`);

  const before1 = w1.processed.length;
  await plain.send({
    topic: IN,
    acks: -1,
    messages: Array.from({ length: N2 }, (_, i) => ({ key: `meter-${i % 7}`, value: `s${i}` })),
  });
  await waitFor(
    `c1+c2 process ${N2} new messages`,
    () => w1.processed.length - before1 + w2.processed.length >= N2,
    30000,
  );
  const dupes = w2.processed.filter((v) => v.startsWith('r'));
  assert(dupes.length === 0, `c2 re-processed already committed input: ${dupes.join(',')}`);
  assert(w2.processed.length > 0, 'c2 processed messages after the rebalance');
  const caught2 = await waitFor(
    'committed offsets == end offsets after rebalance',
    () => offsetsCaughtUp(admin),
    20000,
  );
  const want = N1 + 3 + N2;
  await waitFor(`verifier sees ${want} committed messages`, () => seen.length >= want, 30000);
  await sleep(500);
  assert(
    seen.length === want && new Set(seen).size === want,
    `exactly-once output: ${seen.length} messages, ${new Set(seen).size} distinct, expected ${want}`,
  );
  const [desc] = (await admin.describeGroups([GROUP])).groups;
  assert(
    desc.state === 'Stable' && desc.members.length === 2,
    `describeGroups: ${desc.state} with ${desc.members.length} members`,
  );
  step(
    `   after rebalance c1 processed ${w1.processed.length - before1}, c2 ${w2.processed.length}; committed ${JSON.stringify([...caught2.com])}`,
  );

  // stop the clients before deleting the topics (else fetches log "does not host this topic-partition")
  for (const c of clients.filter((c) => c !== admin)) await c.disconnect();
  await admin.deleteTopics({ topics: [IN, OUT] }).catch((e) => step(`(deleteTopics failed: ${e.message})`));
}

const timer = setTimeout(() => {
  console.error(`smoke: FAILED: overall timeout ${TOTAL_TIMEOUT_MS} ms`);
  process.exit(1);
}, TOTAL_TIMEOUT_MS);

let failed = false;
try {
  await main();
} catch (e) {
  failed = true;
  console.error(`smoke: FAILED: ${e.stack || e}`);
}
for (const c of clients.reverse()) {
  await Promise.race([c.disconnect().catch(() => {}), sleep(10000)]);
}
clearTimeout(timer);
if (warnings.length) console.error(`smoke: ${warnings.length} kafkajs warning/error log line(s) (see above)`);
console.log(
  failed ? 'smoke: FAILED' : `smoke: OK against ${BROKERS.join(',')} in ${((Date.now() - t0) / 1000).toFixed(1)}s`,
);
process.exit(failed ? 1 : 0);
