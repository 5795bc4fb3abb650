// The benchmarks' Java peers (benchmarks/java/): Kafka's ConsumerPerformance and the Kafka
// Streams roll-up, with jars of the local broker's Kafka version (scripts/kafka/pom.xml) from
// Maven Central. The classpath is resolved with mvn and the sources compiled with javac once
// per Kafka version (cached in benchmarks/java/target/); nothing here is timed.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { kafkaVersion } from '../scripts/kafka/local-kafka.mjs';

const here = fileURLToPath(new URL('.', import.meta.url));
const dir = join(here, 'java');
const target = join(dir, 'target');
const sources = join(dir, 'src', 'main', 'java', 'meterstream', 'bench');
const java = process.env.JAVA_HOME ? join(process.env.JAVA_HOME, 'bin', 'java') : 'java';
const javac = process.env.JAVA_HOME ? join(process.env.JAVA_HOME, 'bin', 'javac') : 'javac';

/** The classpath of the Java peers (compiled classes first), built when missing or stale. */
export function javaClasspath() {
  const version = kafkaVersion();
  mkdirSync(target, { recursive: true });
  const cpFile = join(target, `classpath-${version}.txt`);
  const pomTime = statSync(join(dir, 'pom.xml')).mtimeMs;
  let cp = existsSync(cpFile) && statSync(cpFile).mtimeMs > pomTime ? readFileSync(cpFile, 'utf8').trim() : '';
  if (!cp || !cp.split(':').every((j) => existsSync(j))) {
    console.error(`[java] resolving kafka-tools and kafka-streams ${version} with mvn ...`);
    const tmp = `${cpFile}.tmp-${process.pid}`;
    const r = spawnSync(
      process.env.MVN || 'mvn',
      [
        '-q',
        '-B',
        '-f',
        join(dir, 'pom.xml'),
        'dependency:build-classpath',
        `-Dmdep.outputFile=${tmp}`,
        `-Dkafka.version=${version}`,
      ],
      { encoding: 'utf8' },
    );
    if (r.status !== 0 || !existsSync(tmp))
      throw new Error(`mvn could not resolve the Java peers' jars (exit ${r.status}):\n${r.stdout}${r.stderr}`);
    renameSync(tmp, cpFile);
    cp = readFileSync(cpFile, 'utf8').trim();
  }
  const classes = join(target, `classes-${version}`);
  const files = readdirSync(sources)
    .filter((f) => f.endsWith('.java'))
    .map((f) => join(sources, f));
  const stamp = join(classes, '.built');
  const newest = Math.max(...files.map((f) => statSync(f).mtimeMs), statSync(cpFile).mtimeMs);
  if (!existsSync(stamp) || statSync(stamp).mtimeMs < newest) {
    rmSync(classes, { recursive: true, force: true });
    mkdirSync(classes, { recursive: true });
    const r = spawnSync(javac, ['--release', '17', '-d', classes, '-cp', cp, ...files], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`javac failed:\n${r.stdout}${r.stderr}`);
    spawnSync('touch', [stamp]);
  }
  return `${classes}:${cp}`;
}

function jvmArgs(cp, heap = '-Xmx1g') {
  return [heap, '-XX:+UseG1GC', `-Dlog4j2.configurationFile=${join(dir, 'log4j2.properties')}`, '-cp', cp];
}

/** Peak RSS (VmHWM) of a live process from /proc, in bytes; null where there is no /proc. */
export function peakRssOf(pid) {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : null;
  } catch {
    return null;
  }
}

/**
 * Kafka's own consumer benchmark (org.apache.kafka.tools.ConsumerPerformance, jar kafka-tools)
 * over `messages` messages of a topic, with a fresh group. Returns its figures: whole run
 * (join and fetch) and fetch only (after the group's rebalance), messages/s and MB/s.
 */
export function consumerPerformance({ brokers, topic, messages, group }) {
  const cp = javaClasspath();
  return new Promise((resolve, reject) => {
    const child = spawn(
      java,
      [
        ...jvmArgs(cp),
        'org.apache.kafka.tools.ConsumerPerformance',
        '--bootstrap-server',
        brokers,
        '--topic',
        topic,
        '--messages',
        String(messages),
        '--group',
        group,
        '--timeout',
        '60000',
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let out = '';
    let peak = null;
    const sampler = setInterval(() => (peak = peakRssOf(child.pid) ?? peak), 100);
    child.stdout.on('data', (d) => (out += d));
    child.on('exit', (code) => {
      clearInterval(sampler);
      // A header line of names, then one line of values (comma separated).
      const lines = out
        .trim()
        .split('\n')
        .filter((l) => l.includes(','));
      const header = lines.findIndex((l) => l.includes('nMsg.sec'));
      if (code !== 0 || header < 0 || !lines[header + 1])
        return reject(new Error(`ConsumerPerformance exited ${code}:\n${out.slice(-2000)}`));
      const names = lines[header].split(',').map((s) => s.trim());
      const values = lines[header + 1].split(',').map((s) => s.trim());
      const v = (name) => Number(values[names.indexOf(name)]);
      const consumed = v('data.consumed.in.nMsg');
      if (consumed < messages)
        return reject(new Error(`ConsumerPerformance consumed ${consumed} of ${messages} messages:\n${out}`));
      resolve({
        messages: consumed,
        msgPerSec: v('nMsg.sec'),
        mbPerSec: v('MB.sec'),
        rebalanceMs: v('rebalance.time.ms'),
        fetchMs: v('fetch.time.ms'),
        fetchMsgPerSec: v('fetch.nMsg.sec'),
        fetchMbPerSec: v('fetch.MB.sec'),
        peakRssBytes: peak,
      });
    });
  });
}

/**
 * Starts the Kafka Streams roll-up (HourlyRollupStreams.java). Resolves once the application
 * reports RUNNING (its partitions assigned, its empty stores restored), with the hrtime of that
 * moment, its pid, and `stop()`, which ends it (SIGTERM: a clean close) and resolves its peak RSS
 * and its own counts (readings decoded, records unreadable, records Kafka Streams dropped).
 */
export function startStreamsRollup({ brokers, input, output, appId, stateDir, threads, schemaDir }) {
  const cp = javaClasspath();
  return new Promise((resolve, reject) => {
    const child = spawn(java, [...jvmArgs(cp), 'meterstream.bench.HourlyRollupStreams'], {
      env: {
        ...process.env,
        BOOTSTRAP: brokers,
        INPUT: input,
        OUTPUT: output,
        APP_ID: appId,
        STATE_DIR: stateDir,
        THREADS: String(threads),
        SCHEMA_DIR: schemaDir,
        ...(process.env.BENCH_STREAMS_GRACE_HOURS ? { GRACE_HOURS: process.env.BENCH_STREAMS_GRACE_HOURS } : {}),
      },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let peak = null;
    const sampler = setInterval(() => (peak = peakRssOf(child.pid) ?? peak), 100);
    let running = false;
    const exited = new Promise((res) =>
      child.on('exit', (code) => {
        clearInterval(sampler);
        if (!running) reject(new Error(`the Kafka Streams peer exited ${code} before RUNNING`));
        res(code);
      }),
    );
    let buf = '';
    child.stdout.on('data', (d) => {
      buf += d;
      if (!running && buf.split('\n').some((l) => l.trim() === 'RUNNING')) {
        running = true;
        resolve({
          runningAt: process.hrtime.bigint(),
          pid: child.pid,
          exited,
          stop: async () => {
            peak = peakRssOf(child.pid) ?? peak;
            child.kill('SIGTERM');
            const t = setTimeout(() => child.kill('SIGKILL'), 30_000);
            await exited;
            clearTimeout(t);
            const line = buf.split('\n').find((l) => l.startsWith('STATS '));
            return { peakRssBytes: peak, stats: line ? JSON.parse(line.slice(6)) : null };
          },
        });
      }
    });
  });
}
