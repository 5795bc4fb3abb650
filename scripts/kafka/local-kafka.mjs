#!/usr/bin/env node
// Runs a REAL single-node Apache Kafka broker (combined broker+controller, KRaft mode) on
// 127.0.0.1, from the Apache Kafka jars on Maven Central resolved with `mvn` (see pom.xml
// beside this file, which pins the version). Plain Node ESM, node builtins only.
//
// CLI:
//   node scripts/kafka/local-kafka.mjs up      start in the background (or reuse a running one);
//                                              prints exactly one line: KAFKA_BROKERS=127.0.0.1:<port>
//   node scripts/kafka/local-kafka.mjs down    stop it (SIGTERM, then SIGKILL after a timeout)
//   node scripts/kafka/local-kafka.mjs status  "running ..." (exit 0) or "not running" (exit 3)
//
//   node scripts/kafka/local-kafka.mjs up|down|status --nodes 3
//                                              the same for a 3-node KRaft cluster (local-kafka-cluster.mjs)
//
// Module:
//   import { startLocalKafka, stopLocalKafka } from './scripts/kafka/local-kafka.mjs';
//   const { brokers, pid, stop } = await startLocalKafka({ dir, port });
//   (a cluster: startLocalKafkaCluster in ./local-kafka-cluster.mjs, built on the exports below)
//
// Environment:
//   KAFKA_LOCAL_DIR             state dir (default <repo>/.kafka)
//   KAFKA_LOCAL_PORT            broker port (default 19092); the controller uses port+1
//   KAFKA_LOCAL_CONTROLLER_PORT controller port override
//   KAFKA_LOCAL_HEAP            JVM heap flags (default "-Xms256m -Xmx1g")
//   KAFKA_LOCAL_START_TIMEOUT_MS readiness timeout (default 120000)
//   KAFKA_VERSION               override the version pinned in pom.xml (for trying versions;
//                               use a separate KAFKA_LOCAL_DIR per version)
//   JAVA_HOME / MVN             which java / mvn to use
//
// State dir layout: classpath-<version>.txt (cached mvn result), server.properties,
// log4j2.properties + log4j.properties, data/ (KRaft log dirs + meta.properties),
// broker.pid, broker.json, broker.log (stdout+stderr of the JVM; previous one kept as broker.log.1).

import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  readSync,
  renameSync,
  rmSync,
  statSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import net from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = dirname(fileURLToPath(import.meta.url));
const REPO_ROOT = resolve(HERE, '..', '..');
const POM = join(HERE, 'pom.xml');
const DEFAULT_PORT = 19092;
const HOST = '127.0.0.1';

export const HOST_ADDRESS = HOST;
export const log = (msg) => process.stderr.write(`[local-kafka] ${msg}\n`);
export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

export class LocalKafkaError extends Error {}

export function defaultDir() {
  return resolve(process.env.KAFKA_LOCAL_DIR || join(REPO_ROOT, '.kafka'));
}

/** The files of one node's state dir. */
export function paths(dir) {
  return {
    dir,
    data: join(dir, 'data'),
    props: join(dir, 'server.properties'),
    log4j2: join(dir, 'log4j2.properties'),
    log4j1: join(dir, 'log4j.properties'),
    pid: join(dir, 'broker.pid'),
    state: join(dir, 'broker.json'),
    log: join(dir, 'broker.log'),
    lock: join(dir, 'start.lock'),
  };
}

/** The Kafka version: KAFKA_VERSION env, else <kafka.version> in pom.xml. */
export function kafkaVersion() {
  if (process.env.KAFKA_VERSION) return process.env.KAFKA_VERSION.trim();
  const m = readFileSync(POM, 'utf8').match(/<kafka\.version>\s*([^<\s]+)\s*<\/kafka\.version>/);
  if (!m) throw new LocalKafkaError(`no <kafka.version> in ${POM}`);
  return m[1];
}

// ---------------------------------------------------------------- tools

function javaBin() {
  return process.env.JAVA_HOME ? join(process.env.JAVA_HOME, 'bin', 'java') : 'java';
}

export function checkJava() {
  const java = javaBin();
  const r = spawnSync(java, ['-version'], { encoding: 'utf8' });
  if (r.error || r.status !== 0) {
    throw new LocalKafkaError(
      `java not found or not working (${java}): ${r.error ? r.error.message : r.stderr}\n` +
        'Install a Java 17+ runtime (Debian: apt-get install -y openjdk-17-jre-headless) or set JAVA_HOME.',
    );
  }
  const m = `${r.stderr}${r.stdout}`.match(/version "(\d+)(?:\.(\d+))?/);
  const major = m ? (m[1] === '1' ? Number(m[2]) : Number(m[1])) : 0;
  if (major && major < 17) {
    throw new LocalKafkaError(`java ${major} found (${java}); the Kafka broker needs Java 17+ (set JAVA_HOME).`);
  }
  return java;
}

/** Classpath for the broker; cached per version in the state dir so mvn runs only once. */
export function resolveClasspath(dir, version) {
  const file = join(dir, `classpath-${version}.txt`);
  if (existsSync(file)) {
    const cp = readFileSync(file, 'utf8').trim();
    if (cp && cp.split(':').every((j) => existsSync(j))) return cp;
    log(`cached classpath ${file} refers to missing jars; resolving again`);
  }
  const mvn = process.env.MVN || 'mvn';
  const probe = spawnSync(mvn, ['-v'], { encoding: 'utf8' });
  if (probe.error || probe.status !== 0) {
    throw new LocalKafkaError(
      `mvn not found or not working (${mvn}): ${probe.error ? probe.error.message : probe.stderr}\n` +
        'Install Maven 3.8+ (Debian: apt-get install -y maven); it resolves the Kafka jars from Maven Central.',
    );
  }
  const tmp = `${file}.tmp-${process.pid}`;
  const args = [
    '-q',
    '-B',
    '-f',
    POM,
    'dependency:build-classpath',
    `-Dmdep.outputFile=${tmp}`,
    `-Dkafka.version=${version}`,
  ];
  if (/^[0-3]\./.test(version)) args.push('-P', 'kafka3');
  log(`resolving Apache Kafka ${version} with mvn (first time only) ...`);
  const r = spawnSync(mvn, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  if (r.error || r.status !== 0 || !existsSync(tmp)) {
    rmSync(tmp, { force: true });
    throw new LocalKafkaError(
      `mvn could not resolve org.apache.kafka:kafka_2.13:${version} (exit ${r.status}):\n` +
        `${mvnErrors(`${r.stdout || ''}${r.stderr || ''}`)}`,
    );
  }
  renameSync(tmp, file);
  return readFileSync(file, 'utf8').trim();
}

// ---------------------------------------------------------------- config files

/**
 * Writes the node's server.properties and log4j files. The defaults are the single-node broker;
 * a cluster passes its node id, the voters of its controller quorum (`id@host:port,...`) and
 * its replication (replicationFactor for every topic, minInsync for min.insync.replicas).
 */
export function writeConfigs(p, { port, controllerPort, nodeId = 1, voters, replicationFactor = 1, minInsync = 1 }) {
  const props = [
    '# generated by scripts/kafka/local-kafka.mjs on every start; edits are overwritten',
    'process.roles=broker,controller',
    `node.id=${nodeId}`,
    `controller.quorum.voters=${voters ?? `${nodeId}@${HOST}:${controllerPort}`}`,
    `listeners=PLAINTEXT://${HOST}:${port},CONTROLLER://${HOST}:${controllerPort}`,
    `advertised.listeners=PLAINTEXT://${HOST}:${port}`,
    'listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT',
    'controller.listener.names=CONTROLLER',
    'inter.broker.listener.name=PLAINTEXT',
    `log.dirs=${p.data}`,
    'num.partitions=1',
    `default.replication.factor=${replicationFactor}`,
    `min.insync.replicas=${minInsync}`,
    `offsets.topic.replication.factor=${replicationFactor}`,
    'offsets.topic.num.partitions=3',
    `transaction.state.log.replication.factor=${replicationFactor}`,
    `transaction.state.log.min.isr=${minInsync}`,
    'transaction.state.log.num.partitions=3',
    `share.coordinator.state.topic.replication.factor=${replicationFactor}`,
    `share.coordinator.state.topic.min.isr=${minInsync}`,
    'group.initial.rebalance.delay.ms=0',
    'auto.create.topics.enable=false',
    'delete.topic.enable=true',
    'num.network.threads=2',
    'num.io.threads=4',
    'num.recovery.threads.per.data.dir=1',
    'log.retention.hours=24',
    'log.segment.bytes=67108864',
    'log.retention.check.interval.ms=300000',
    '',
  ].join('\n');
  writeFileSync(p.props, props);
  // Kafka 4.x (log4j2) and 3.x (log4j 1 / reload4j): everything to stdout -> broker.log.
  writeFileSync(
    p.log4j2,
    [
      'status = warn',
      'shutdownHook = disable', // keep logging during the broker's controlled shutdown
      'appender.stdout.type = Console',
      'appender.stdout.name = STDOUT',
      'appender.stdout.layout.type = PatternLayout',
      'appender.stdout.layout.pattern = [%d] %p %m (%c)%n',
      'rootLogger.level = INFO',
      'rootLogger.appenderRef.stdout.ref = STDOUT',
      'logger.request.name = kafka.request.logger',
      'logger.request.level = WARN',
      'logger.zk.name = org.apache.zookeeper',
      'logger.zk.level = WARN',
      'logger.authorizer.name = kafka.authorizer.logger',
      'logger.authorizer.level = WARN',
      '',
    ].join('\n'),
  );
  writeFileSync(
    p.log4j1,
    [
      'log4j.rootLogger=INFO, stdout',
      'log4j.appender.stdout=org.apache.log4j.ConsoleAppender',
      'log4j.appender.stdout.layout=org.apache.log4j.PatternLayout',
      'log4j.appender.stdout.layout.ConversionPattern=[%d] %p %m (%c)%n',
      'log4j.logger.kafka.request.logger=WARN',
      'log4j.logger.kafka.authorizer.logger=WARN',
      '',
    ].join('\n'),
  );
}

function jvmArgs(p, cp, heapFlags) {
  const heap = (heapFlags || process.env.KAFKA_LOCAL_HEAP || '-Xms256m -Xmx1g').split(/\s+/).filter(Boolean);
  return [
    ...heap,
    '-XX:+UseG1GC',
    '-XX:MaxGCPauseMillis=20',
    '-Djava.awt.headless=true',
    `-Dlog4j2.configurationFile=${p.log4j2}`,
    `-Dlog4j.configuration=file:${p.log4j1}`,
    `-Dkafka.logs.dir=${p.dir}`,
    '-cp',
    cp,
  ];
}

// ---------------------------------------------------------------- storage format

export function isFormatted(p) {
  return existsSync(join(p.data, 'meta.properties'));
}

/** A Kafka Uuid, as `kafka-storage random-uuid`: the nodes of one cluster share it. */
export function newClusterId() {
  // As Kafka's Uuid.randomUuid: never one starting with '-', which the storage tool's argument
  // parser would take for an option (`-t -xyz…`: "expected one argument", one format in 64).
  for (;;) {
    const id = randomBytes(16).toString('base64url');
    if (!id.startsWith('-')) return id;
  }
}

/** Formats the node's KRaft log dir (static quorum: `controller.quorum.voters`, no --initial-controllers). */
export function formatStorage(p, java, cp, clusterId = newClusterId()) {
  const tried = [];
  for (const cls of ['kafka.tools.StorageTool', 'org.apache.kafka.tools.StorageTool']) {
    const r = spawnSync(java, [...jvmArgs(p, cp), cls, 'format', '-t', clusterId, '-c', p.props], { encoding: 'utf8' });
    const out = `${r.stdout || ''}${r.stderr || ''}`;
    if (r.status === 0) {
      log(`formatted KRaft storage (cluster id ${clusterId}) with ${cls}`);
      return;
    }
    if (/Could not find or load main class|ClassNotFoundException/.test(out)) {
      tried.push(cls);
      continue;
    }
    throw new LocalKafkaError(`formatting KRaft storage failed (${cls}, exit ${r.status}):\n${tail(out, 30)}`);
  }
  throw new LocalKafkaError(`no KRaft storage tool class in the classpath (tried ${tried.join(', ')})`);
}

// ---------------------------------------------------------------- process helpers

function mvnErrors(text) {
  const errs = text
    .split('\n')
    .filter(
      (l) =>
        /\[ERROR\]\s*\S/.test(l) && !/Re-run Maven|For more information|\[ERROR\] \[Help|full debug logging/.test(l),
    );
  return (errs.length ? errs.slice(0, 12).join('\n') : tail(text, 40)).replace(/\x1b\[[0-9;]*m/g, '');
}

function tail(text, n = 40) {
  return text.split('\n').slice(-n).join('\n');
}

function tailFile(file, n = 40) {
  if (!existsSync(file)) return '(no broker log)';
  const size = statSync(file).size;
  const len = Math.min(size, 64 * 1024);
  const buf = Buffer.alloc(len);
  const fd = openSync(file, 'r');
  try {
    readSync(fd, buf, 0, len, size - len);
  } finally {
    closeSync(fd);
  }
  return tail(buf.toString('utf8').trimEnd(), n);
}

export function isAlive(pid) {
  if (!pid) return false;
  try {
    process.kill(pid, 0);
  } catch (e) {
    return e.code === 'EPERM';
  }
  // guard against a reused pid: it must be our broker JVM (where /proc exists)
  try {
    const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    if (!cmd.includes('kafka.Kafka')) return false;
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    if (/\) Z /.test(stat)) return false; // zombie
  } catch {
    // no /proc: trust kill(0)
  }
  return true;
}

export function readState(p) {
  try {
    const pid = Number(readFileSync(p.pid, 'utf8').trim());
    let st = {};
    try {
      st = JSON.parse(readFileSync(p.state, 'utf8'));
    } catch {
      /* older/no state file */
    }
    return { pid, port: st.port, controllerPort: st.controllerPort, version: st.version };
  } catch {
    return null;
  }
}

export function removeState(p) {
  rmSync(p.pid, { force: true });
  rmSync(p.state, { force: true });
}

export function portFree(port) {
  return new Promise((res) => {
    const srv = net.createServer();
    srv.once('error', () => res(false));
    srv.listen(port, HOST, () => srv.close(() => res(true)));
  });
}

/**
 * A real Kafka request over TCP: Metadata v4 (all topics), returns the number of brokers in
 * the answer. Metadata v4 is accepted by Kafka 1.0 .. 4.x (KIP-896 removed v0-v3 in 4.0).
 */
export function metadataProbe(port, host = HOST, timeoutMs = 2000) {
  return new Promise((res, rej) => {
    const clientId = Buffer.from('local-kafka-probe');
    const body = Buffer.alloc(2 + 2 + 4 + 2 + clientId.length + 4 + 1);
    let o = 0;
    o = body.writeInt16BE(3, o); // api key Metadata
    o = body.writeInt16BE(4, o); // version 4
    o = body.writeInt32BE(7, o); // correlation id
    o = body.writeInt16BE(clientId.length, o);
    o += clientId.copy(body, o);
    o = body.writeInt32BE(-1, o); // topics: null = all
    body.writeInt8(0, o); // allow_auto_topic_creation = false
    const size = Buffer.alloc(4);
    size.writeInt32BE(body.length);
    const sock = net.connect({ host, port });
    let buf = Buffer.alloc(0);
    const done = (err, val) => {
      clearTimeout(t);
      sock.destroy();
      err ? rej(err) : res(val);
    };
    const t = setTimeout(() => done(new Error('metadata probe timed out')), timeoutMs);
    sock.on('error', (e) => done(e));
    sock.on('connect', () => sock.write(Buffer.concat([size, body])));
    sock.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      if (buf.length < 4 || buf.length < 4 + buf.readInt32BE(0)) return;
      try {
        // size, correlation_id, throttle_time_ms, brokers[]
        if (buf.readInt32BE(4) !== 7) throw new Error('bad correlation id');
        done(null, buf.readInt32BE(12));
      } catch (e) {
        done(e);
      }
    });
    sock.on('close', () => done(new Error('connection closed before a metadata response')));
  });
}

export async function waitReady({ p, pid, port, sinceOffset, timeoutMs }) {
  const deadline = Date.now() + timeoutMs;
  let lastErr = 'not started';
  while (Date.now() < deadline) {
    if (!isAlive(pid)) {
      throw new LocalKafkaError(
        `Kafka broker (pid ${pid}) exited during startup. Tail of ${p.log}:\n${tailFile(p.log, 60)}`,
      );
    }
    let started = sinceOffset == null;
    if (!started && existsSync(p.log)) {
      const text = readFileSync(p.log, 'utf8').slice(sinceOffset);
      started = /Kafka Server started|\[KafkaRaftServer nodeId=\d+\] Kafka Server started/.test(text);
    }
    if (started) {
      try {
        const brokers = await metadataProbe(port);
        if (brokers >= 1) return;
        lastErr = 'metadata response lists no brokers yet';
      } catch (e) {
        lastErr = e.message;
      }
    } else {
      lastErr = 'waiting for "Kafka Server started" in the broker log';
    }
    await sleep(200);
  }
  throw new LocalKafkaError(
    `Kafka broker (pid ${pid}) not ready on ${HOST}:${port} after ${timeoutMs} ms (${lastErr}). Tail of ${p.log}:\n${tailFile(p.log, 60)}`,
  );
}

export function acquireLock(p) {
  for (let i = 0; i < 600; i++) {
    try {
      const fd = openSync(p.lock, 'wx');
      writeFileSync(fd, String(process.pid));
      closeSync(fd);
      return () => rmSync(p.lock, { force: true });
    } catch (e) {
      if (e.code !== 'EEXIST') throw e;
      const owner = Number(readFileSync(p.lock, 'utf8').trim() || 0);
      let ownerAlive = false;
      try {
        process.kill(owner, 0);
        ownerAlive = true;
      } catch {
        /* gone */
      }
      if (!ownerAlive) {
        rmSync(p.lock, { force: true });
        continue;
      }
      spawnSync('sleep', ['0.2']);
    }
  }
  throw new LocalKafkaError(`could not acquire ${p.lock} (another start in progress?)`);
}

/**
 * Starts the node's JVM in the background (its storage formatted, its configs written) and
 * records its pid and `state` (port, controllerPort, version) in the state dir; does not wait
 * for readiness (a cluster's nodes only become ready together, once their quorum has formed).
 * @returns {Promise<number>} the JVM's pid
 */
export async function spawnNode({ p, java, cp, state, heap }) {
  if (existsSync(p.log)) renameSync(p.log, `${p.log}.1`);
  const out = openSync(p.log, 'a');
  let child;
  try {
    child = spawn(java, [...jvmArgs(p, cp, heap), 'kafka.Kafka', p.props], {
      cwd: p.dir,
      detached: true,
      stdio: ['ignore', out, out],
    });
  } finally {
    closeSync(out);
  }
  const spawnError = await new Promise((res) => {
    child.once('error', res);
    child.once('spawn', () => res(null));
  });
  if (spawnError) throw new LocalKafkaError(`could not start java: ${spawnError.message}`);
  child.unref();
  const pid = child.pid;
  writeFileSync(p.pid, `${pid}\n`);
  writeFileSync(p.state, JSON.stringify({ pid, ...state, startedAt: new Date().toISOString() }, null, 2));
  return pid;
}

/** Ends a node: `signal` (SIGTERM: a controlled shutdown; SIGKILL: a crash), SIGKILL after timeoutMs. */
export async function endNode(p, { signal = 'SIGTERM', timeoutMs = 30000 } = {}) {
  const st = readState(p);
  if (!st) return false;
  const { pid } = st;
  if (isAlive(pid)) {
    try {
      process.kill(pid, signal);
    } catch {
      /* gone */
    }
    const deadline = Date.now() + timeoutMs;
    while (isAlive(pid) && Date.now() < deadline) await sleep(100);
    if (isAlive(pid)) {
      log(`broker pid ${pid} did not stop within ${timeoutMs} ms; sending SIGKILL`);
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* gone */
      }
      const killDeadline = Date.now() + 10000;
      while (isAlive(pid) && Date.now() < killDeadline) await sleep(100);
    }
  }
  removeState(p);
  return true;
}

// ---------------------------------------------------------------- API

/**
 * Start (or reuse) the local broker.
 * @returns {Promise<{brokers: string, pid: number, port: number, version: string, stop: () => Promise<void>}>}
 */
export async function startLocalKafka({ dir, port } = {}) {
  dir = resolve(dir || defaultDir());
  port = Number(port || process.env.KAFKA_LOCAL_PORT || DEFAULT_PORT);
  const controllerPort = Number(process.env.KAFKA_LOCAL_CONTROLLER_PORT || port + 1);
  const timeoutMs = Number(process.env.KAFKA_LOCAL_START_TIMEOUT_MS || 120000);
  const p = paths(dir);
  mkdirSync(dir, { recursive: true });
  const stop = () => stopLocalKafka({ dir });

  const release = acquireLock(p);
  try {
    const prev = readState(p);
    if (prev && isAlive(prev.pid)) {
      const runPort = prev.port || port;
      await waitReady({ p, pid: prev.pid, port: runPort, sinceOffset: null, timeoutMs });
      return { brokers: `${HOST}:${runPort}`, pid: prev.pid, port: runPort, version: prev.version, stop };
    }
    if (prev) removeState(p); // stale pid file

    const version = kafkaVersion();
    const java = checkJava();
    const cp = resolveClasspath(dir, version);

    for (const [name, pt] of [
      ['broker', port],
      ['controller', controllerPort],
    ]) {
      if (!(await portFree(pt))) {
        throw new LocalKafkaError(
          `${name} port ${HOST}:${pt} is already in use by another process; set KAFKA_LOCAL_PORT to another port`,
        );
      }
    }

    writeConfigs(p, { port, controllerPort });
    if (!isFormatted(p)) {
      mkdirSync(p.data, { recursive: true });
      formatStorage(p, java, cp);
    }

    const pid = await spawnNode({ p, java, cp, state: { port, controllerPort, version } });

    try {
      await waitReady({ p, pid, port, sinceOffset: 0, timeoutMs });
    } catch (e) {
      await stopLocalKafka({ dir }).catch(() => {});
      throw e;
    }
    return { brokers: `${HOST}:${port}`, pid, port, version, stop };
  } finally {
    release();
  }
}

/** Stop the local broker: SIGTERM, wait (controlled shutdown), SIGKILL after timeoutMs. */
export async function stopLocalKafka({ dir, timeoutMs = 30000 } = {}) {
  return endNode(paths(resolve(dir || defaultDir())), { timeoutMs });
}

/** @returns {{running: boolean, pid?: number, brokers?: string, version?: string}} */
export function localKafkaStatus({ dir } = {}) {
  const p = paths(resolve(dir || defaultDir()));
  const st = readState(p);
  if (!st || !isAlive(st.pid)) return { running: false };
  return { running: true, pid: st.pid, brokers: `${HOST}:${st.port || DEFAULT_PORT}`, version: st.version };
}

// ---------------------------------------------------------------- CLI

async function main(argv) {
  const cmd = argv[0];
  const nodesAt = argv.indexOf('--nodes');
  const nodes = nodesAt >= 0 ? Number(argv[nodesAt + 1]) : 1;
  if (!Number.isInteger(nodes) || nodes < 1 || nodes > 9 || argv.length !== (nodesAt >= 0 ? 3 : 1)) {
    process.stderr.write('usage: node scripts/kafka/local-kafka.mjs up|down|status [--nodes N]\n');
    process.exitCode = 2;
    return;
  }
  // A cluster lives in its own module, built on this one's exports; imported only when asked for.
  const api =
    nodes === 1
      ? { start: startLocalKafka, stop: stopLocalKafka, status: localKafkaStatus }
      : await import('./local-kafka-cluster.mjs').then((m) => ({
          start: () => m.startLocalKafkaCluster({ nodes }),
          stop: () => m.stopLocalKafkaCluster({ nodes }),
          status: () => m.localKafkaClusterStatus({ nodes }),
        }));
  if (cmd === 'up') {
    const { brokers } = await api.start();
    process.stdout.write(`KAFKA_BROKERS=${brokers}\n`);
  } else if (cmd === 'down') {
    const stopped = await api.stop();
    log(stopped ? 'stopped' : 'was not running');
  } else if (cmd === 'status') {
    const s = api.status();
    if (s.running) {
      process.stdout.write(`running pid=${s.pid} version=${s.version} KAFKA_BROKERS=${s.brokers}\n`);
    } else {
      process.stdout.write('not running\n');
      process.exitCode = 3;
    }
  } else {
    process.stderr.write('usage: node scripts/kafka/local-kafka.mjs up|down|status [--nodes N]\n');
    process.exitCode = 2;
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main(process.argv.slice(2)).catch((e) => {
    process.stderr.write(`[local-kafka] error: ${e instanceof LocalKafkaError ? e.message : e.stack || e}\n`);
    process.exit(1);
  });
}
