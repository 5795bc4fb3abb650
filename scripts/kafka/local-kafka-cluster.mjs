// A REAL N-node Apache Kafka cluster on 127.0.0.1 (KRaft, every node a combined
// broker+controller, the N of them the voters of one static controller quorum), for tests that
// lose a broker. Built on local-kafka.mjs: the same jars, config files, storage format, start
// and readiness, one state dir per node. Plain Node ESM, node builtins only.
//
// CLI: node scripts/kafka/local-kafka.mjs up|down|status --nodes 3
//
// Module:
//   import { startLocalKafkaCluster } from './scripts/kafka/local-kafka-cluster.mjs';
//   const cluster = await startLocalKafkaCluster({ dir, basePort, nodes: 3 });
//   cluster.brokers          '127.0.0.1:p1,127.0.0.1:p2,127.0.0.1:p3'
//   cluster.nodes[i]         { id, port, controllerPort, pid, kill(), stop(), start() }
//   await cluster.stop()
//
// Node i (id i+1) listens on basePort+2i (clients) and basePort+2i+1 (controller). Topics get
// replication factor min(N, 3) by default, min.insync.replicas = that minus one (at least 1):
// with 3 nodes, acks=all writes and transactions go on while any one node is down.
//
// Environment (read only when the options leave them out):
//   KAFKA_CLUSTER_DIR       state dir (default <KAFKA_LOCAL_DIR or <repo>/.kafka>/cluster)
//   KAFKA_CLUSTER_PORT      base port (default 19392)
//   KAFKA_CLUSTER_HEAP      JVM heap flags per node (default "-Xms128m -Xmx384m")
//   KAFKA_LOCAL_START_TIMEOUT_MS readiness timeout (default 120000)
//
// State dir layout: classpath-<version>.txt, cluster.json ({ clusterId, nodes, basePort }),
// start.lock, node-<id>/ (each laid out as local-kafka.mjs's state dir).

import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import {
  HOST_ADDRESS as HOST,
  LocalKafkaError,
  acquireLock,
  checkJava,
  defaultDir,
  endNode,
  formatStorage,
  isAlive,
  isFormatted,
  kafkaVersion,
  log,
  metadataProbe,
  newClusterId,
  paths,
  portFree,
  readState,
  removeState,
  resolveClasspath,
  sleep,
  spawnNode,
  waitReady,
  writeConfigs,
} from './local-kafka.mjs';

const DEFAULT_BASE_PORT = 19392;

function options({ dir, basePort, nodes = 3, heap } = {}) {
  if (!Number.isInteger(nodes) || nodes < 1)
    throw new LocalKafkaError(`nodes must be a positive integer, not ${nodes}`);
  return {
    dir: resolve(dir || process.env.KAFKA_CLUSTER_DIR || join(defaultDir(), 'cluster')),
    basePort: Number(basePort || process.env.KAFKA_CLUSTER_PORT || DEFAULT_BASE_PORT),
    nodes,
    heap: heap || process.env.KAFKA_CLUSTER_HEAP || '-Xms128m -Xmx384m',
    timeoutMs: Number(process.env.KAFKA_LOCAL_START_TIMEOUT_MS || 120000),
  };
}

function layout({ dir, basePort, nodes }) {
  const members = Array.from({ length: nodes }, (_, i) => ({
    id: i + 1,
    port: basePort + 2 * i,
    controllerPort: basePort + 2 * i + 1,
    p: paths(join(dir, `node-${i + 1}`)),
  }));
  const voters = members.map((m) => `${m.id}@${HOST}:${m.controllerPort}`).join(',');
  return { members, voters, brokers: members.map((m) => `${HOST}:${m.port}`).join(',') };
}

/** The cluster id, kept in cluster.json: a cluster of another size or ports is a new cluster. */
function clusterId(dir, nodes, basePort) {
  const file = join(dir, 'cluster.json');
  try {
    const st = JSON.parse(readFileSync(file, 'utf8'));
    if (st.nodes === nodes && st.basePort === basePort && st.clusterId) return { id: st.clusterId, fresh: false };
  } catch {
    /* none yet */
  }
  const id = newClusterId();
  writeFileSync(file, JSON.stringify({ clusterId: id, nodes, basePort }, null, 2));
  return { id, fresh: true };
}

/** Waits until a node's metadata lists every node of the cluster. */
async function waitAllBrokers(port, nodes, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  let seen = 0;
  while (Date.now() < deadline) {
    seen = await metadataProbe(port).catch(() => 0);
    if (seen >= nodes) return;
    await sleep(200);
  }
  throw new LocalKafkaError(`the cluster's metadata lists ${seen} of ${nodes} brokers after ${timeoutMs} ms`);
}

/**
 * Start (or reuse) an N-node cluster; nodes that are not running are started.
 * @returns {Promise<{brokers: string, version: string, nodes: Array<{id: number, port: number,
 *   controllerPort: number, pid: number, kill: () => Promise<void>, stop: () => Promise<void>,
 *   start: () => Promise<void>}>, stop: () => Promise<void>}>}
 */
export async function startLocalKafkaCluster(opts = {}) {
  const o = options(opts);
  mkdirSync(o.dir, { recursive: true });
  const { members, voters, brokers } = layout(o);
  const replicationFactor = Math.min(o.nodes, 3);
  const minInsync = Math.max(1, replicationFactor - 1);
  const version = kafkaVersion();
  const java = checkJava();
  const cp = resolveClasspath(o.dir, version);

  /** Writes the node's configs, formats it on first use, and spawns it unless it runs. */
  const launch = async (m, id) => {
    mkdirSync(m.p.dir, { recursive: true });
    const prev = readState(m.p);
    if (prev && isAlive(prev.pid)) return { pid: prev.pid, sinceOffset: null };
    if (prev) removeState(m.p);
    for (const pt of [m.port, m.controllerPort]) {
      if (!(await portFree(pt))) {
        throw new LocalKafkaError(
          `port ${HOST}:${pt} of node ${m.id} is in use by another process; pick another basePort`,
        );
      }
    }
    writeConfigs(m.p, {
      port: m.port,
      controllerPort: m.controllerPort,
      nodeId: m.id,
      voters,
      replicationFactor,
      minInsync,
    });
    if (!isFormatted(m.p)) {
      mkdirSync(m.p.data, { recursive: true });
      formatStorage(m.p, java, cp, id);
    }
    const pid = await spawnNode({
      p: m.p,
      java,
      cp,
      heap: o.heap,
      state: { port: m.port, controllerPort: m.controllerPort, version },
    });
    return { pid, sinceOffset: 0 };
  };

  const nodes = members.map((m) => {
    const node = {
      id: m.id,
      port: m.port,
      controllerPort: m.controllerPort,
      pid: 0,
      /** SIGKILL: the node crashes, as a machine that loses power. */
      kill: () => endNode(m.p, { signal: 'SIGKILL' }).then(() => undefined),
      /** SIGTERM: a controlled shutdown. */
      stop: () => endNode(m.p, { timeoutMs: 30000 }).then(() => undefined),
      /** Starts the node again (its data kept) and waits until it serves. */
      start: async () => {
        const { pid, sinceOffset } = await launch(m, clusterId(o.dir, o.nodes, o.basePort).id);
        node.pid = pid;
        await waitReady({ p: m.p, pid, port: m.port, sinceOffset, timeoutMs: o.timeoutMs });
      },
    };
    return node;
  });
  const stop = () => stopLocalKafkaCluster(o).then(() => undefined);

  const release = acquireLock(paths(o.dir));
  try {
    const cid = clusterId(o.dir, o.nodes, o.basePort);
    if (cid.fresh && members.some((m) => isFormatted(m.p))) {
      throw new LocalKafkaError(`${o.dir} holds nodes of another cluster (other size or ports); remove it first`);
    }
    // All nodes first: a node is ready only once a majority of the quorum runs.
    const started = [];
    for (const m of members) started.push(await launch(m, cid.id));
    try {
      await Promise.all(
        members.map((m, i) => {
          const { pid, sinceOffset } = started[i];
          nodes[i].pid = pid;
          return waitReady({ p: m.p, pid, port: m.port, sinceOffset, timeoutMs: o.timeoutMs });
        }),
      );
      await waitAllBrokers(members[0].port, o.nodes, o.timeoutMs);
    } catch (e) {
      await stop().catch(() => {});
      throw e;
    }
    log(`cluster of ${o.nodes} nodes up: ${brokers} (replication factor ${replicationFactor}, min ISR ${minInsync})`);
    return { brokers, version, nodes, stop };
  } finally {
    release();
  }
}

/** Stops every node of the cluster (controlled shutdowns, in parallel). */
export async function stopLocalKafkaCluster(opts = {}) {
  const o = options(opts);
  const stopped = await Promise.all(layout(o).members.map((m) => endNode(m.p)));
  return stopped.some(Boolean);
}

/** @returns {{running: boolean, pid?: string, brokers?: string, version?: string}} running: every node runs */
export function localKafkaClusterStatus(opts = {}) {
  const o = options(opts);
  const { members, brokers } = layout(o);
  const states = members.map((m) => readState(m.p)).map((st) => (st && isAlive(st.pid) ? st : null));
  if (!existsSync(o.dir) || states.some((st) => st === null)) return { running: false };
  return { running: true, pid: states.map((st) => st.pid).join(','), brokers, version: states[0].version };
}
