/**
 * The compose files as an operator meets them: Debian's docker-compose (v1) validates
 * docker-compose.yml (the stack, its wiring, the opt-in simulator, the refusal without the
 * pseudonym key) and docker-compose.cluster.yml, and the scrape config targets the services
 * where they listen. Without docker-compose these tests fail and say how to install it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoPath } from '@meterstream/core';
import { parseYaml, readYaml, SECRETS, composeConfig, documentedVariables, SERVICES } from './test-ops.js';

test('docker-compose validates docker-compose.yml: the stack, its wiring and the opt-in simulator', (t) => {
  const r = composeConfig(SECRETS);
  assert.equal(r.code, 0, `docker-compose config failed:\n${r.err}`);
  const config = parseYaml(r.out, 'docker-compose config output');
  const services = config.services as Record<string, any>;
  for (const name of ['kafka', 'clickhouse', ...SERVICES, 'prometheus', 'grafana', 'simulator'])
    assert.ok(services[name], `no service ${name}`);

  // Debian's docker-compose 1.29 prints services of every profile with their `profiles` key.
  assert.deepEqual(services.simulator.profiles, ['simulator']);
  assert.deepEqual(services.simulator.command, ['simulate', '--follow', '--speed', '1']);
  assert.equal(services.simulator.environment.KAFKA_BROKERS, 'kafka:9092');
  for (const name of Object.keys(services).filter((n) => n !== 'simulator'))
    assert.equal(services[name].profiles, undefined, `${name} must start by default`);
  const profiles = composeConfig(SECRETS, ['--profiles']);
  assert.equal(profiles.code, 0, profiles.err);
  assert.deepEqual(profiles.out.trim().split('\n'), ['simulator']);

  // Kafka in KRaft mode, reachable as kafka:9092; ClickHouse; both with health checks.
  assert.match(services.kafka.image, /^apache\/kafka:/);
  assert.match(String(services.kafka.environment.KAFKA_PROCESS_ROLES), /broker/);
  assert.match(String(services.kafka.environment.KAFKA_PROCESS_ROLES), /controller/);
  assert.match(services.kafka.environment.KAFKA_ADVERTISED_LISTENERS, /PLAINTEXT:\/\/kafka:9092/);
  assert.match(services.clickhouse.image, /^clickhouse\/clickhouse-server:/);
  for (const name of ['kafka', 'clickhouse'])
    assert.ok(services[name].healthcheck?.test, `${name} needs a health check`);

  const documented = documentedVariables();
  assert.ok(
    documented.has('KAFKA_BROKERS') && documented.has('METERSTREAM_PSEUDONYM_KEY'),
    'could not read the tables of docs/configuration.md',
  );
  const repo = repoPath();
  for (const name of SERVICES) {
    const s = services[name];
    assert.equal(s.build.context, repo, `${name} is built from the repository's Dockerfile`);
    assert.deepEqual(s.command, [name]);
    assert.equal(s.environment.KAFKA_BROKERS, 'kafka:9092');
    assert.equal(s.environment.CLICKHOUSE_URL, 'http://clickhouse:8123');
    assert.equal(s.environment.METERSTREAM_API_TOKEN, SECRETS.METERSTREAM_API_TOKEN);
    assert.equal(s.environment.METERSTREAM_ADMIN_TOKEN, SECRETS.METERSTREAM_ADMIN_TOKEN);
    assert.equal(s.environment.CLICKHOUSE_PASSWORD, SECRETS.CLICKHOUSE_PASSWORD);
    assert.match(s.healthcheck.test.join(' '), /node -e .*fetch\(.*\/healthz/);
    assert.equal(s.depends_on.clickhouse.condition, 'service_healthy');
    // A service refuses to start on a METERSTREAM_* variable it does not know.
    for (const v of Object.keys(s.environment))
      assert.ok(documented.has(v), `${name} sets ${v}, which docs/configuration.md does not list`);
    // Replicas get distinct transactional ids from their container host names (see the file's header).
    assert.equal(
      s.environment.METERSTREAM_INSTANCE_ID,
      undefined,
      `${name}: a fixed METERSTREAM_INSTANCE_ID breaks --scale`,
    );
  }
  // The key goes only where meter IDs are pseudonymised.
  assert.equal(services.ingestor.environment.METERSTREAM_PSEUDONYM_KEY, SECRETS.METERSTREAM_PSEUDONYM_KEY);
  assert.equal(services.anomaly.environment.METERSTREAM_PSEUDONYM_KEY, SECRETS.METERSTREAM_PSEUDONYM_KEY);
  assert.equal(services.aggregator.environment.METERSTREAM_PSEUDONYM_KEY, undefined);

  // Prometheus and Grafana mount the files under deploy/, where their configs expect them.
  const mounts = (name: string) =>
    new Map((services[name].volumes as string[]).map((v) => v.split(':')).map(([src, dst]) => [dst, src]));
  assert.equal(mounts('prometheus').get('/etc/prometheus'), repoPath('deploy', 'prometheus'));
  assert.ok((services.prometheus.command as string[]).includes('--config.file=/etc/prometheus/prometheus.yml'));
  assert.equal(mounts('grafana').get('/etc/grafana/provisioning'), repoPath('deploy', 'grafana', 'provisioning'));
  const provider = readYaml('deploy', 'grafana', 'provisioning', 'dashboards', 'meterstream.yml').providers[0];
  assert.equal(
    mounts('grafana').get(provider.options.path),
    repoPath('deploy', 'grafana', 'dashboards'),
    'the dashboards provider reads where compose mounts the dashboards',
  );

  // Named volumes for every stateful service, all declared.
  for (const name of ['kafka', 'clickhouse', 'prometheus', 'grafana']) {
    const named = (services[name].volumes as string[])
      .map((v) => v.split(':')[0])
      .filter((src) => !src.startsWith('/'));
    assert.equal(named.length, 1, `${name} keeps its data in a named volume`);
    assert.ok(named[0] in config.volumes, `volume ${named[0]} is not declared`);
  }
  t.diagnostic(`services: ${Object.keys(services).sort().join(', ')}`);
});

test('docker-compose refuses to start without the pseudonym key and names it', () => {
  const { METERSTREAM_PSEUDONYM_KEY: _omitted, ...rest } = SECRETS;
  const r = composeConfig(rest);
  assert.notEqual(r.code, 0, 'docker-compose config succeeded without METERSTREAM_PSEUDONYM_KEY');
  assert.match(r.err, /METERSTREAM_PSEUDONYM_KEY/);
});

test('the scrape config targets the compose services on the port they listen on', () => {
  const r = composeConfig(SECRETS);
  assert.equal(r.code, 0, r.err);
  const services = parseYaml(r.out, 'docker-compose config output').services as Record<string, any>;
  const scrape = readYaml('deploy', 'prometheus', 'prometheus.yml').scrape_configs as {
    job_name: string;
    dns_sd_configs?: { names: string[]; port: number }[];
  }[];
  for (const name of SERVICES) {
    const job = scrape.find((s) => s.job_name === `meterstream-${name}`);
    assert.ok(job, `prometheus.yml has no job meterstream-${name}`);
    const sd = job.dns_sd_configs?.[0];
    assert.ok(sd, `meterstream-${name} should discover every replica through DNS`);
    assert.deepEqual(sd.names, [name]);
    assert.equal(String(sd.port), services[name].environment.PORT);
  }
});

test('docker-compose validates docker-compose.cluster.yml: 2 shards x 2 replicas, 3 Keepers, 3 brokers, services x 2', () => {
  const r = composeConfig(SECRETS, [], 'docker-compose.cluster.yml');
  assert.equal(r.code, 0, `docker-compose config failed:\n${r.err}`);
  const services = parseYaml(r.out, 'docker-compose config output').services as Record<string, any>;
  const named = (prefix: string) =>
    Object.keys(services)
      .filter((n) => n.startsWith(prefix))
      .sort();

  // Kafka: three KRaft brokers, every topic and internal topic with 3 replicas.
  assert.deepEqual(
    named('kafka-').filter((n) => n !== 'kafka-topics'),
    ['kafka-1', 'kafka-2', 'kafka-3'],
  );
  for (const b of ['kafka-1', 'kafka-2', 'kafka-3']) {
    const env = services[b].environment;
    assert.equal(env.KAFKA_CONTROLLER_QUORUM_VOTERS, '1@kafka-1:9093,2@kafka-2:9093,3@kafka-3:9093');
    assert.equal(String(env.KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR), '3');
    assert.equal(String(env.KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR), '3');
    assert.equal(env.KAFKA_ADVERTISED_LISTENERS, `PLAINTEXT://${b}:9092`);
  }
  assert.match(services['kafka-topics'].command.join(' '), /--replication-factor 3/);

  // ClickHouse: the cluster in remote_servers is CLICKHOUSE_CLUSTER, its shards are the servers'
  // macros, each server mounts the cluster and macros files.
  const xml = readFileSync(repoPath('deploy', 'clickhouse-cluster', 'config.d', 'cluster.xml'), 'utf8');
  const cluster = /<remote_servers>\s*<(\w+)>/.exec(xml)![1];
  const shards = [...xml.matchAll(/<shard>([\s\S]*?)<\/shard>/g)].map((m) =>
    [...m[1].matchAll(/<host>([^<]+)<\/host>/g)].map((h) => h[1]).sort(),
  );
  const servers = named('clickhouse-');
  assert.equal(servers.length, 4);
  const byShard = new Map<string, string[]>();
  const replicas = new Set<string>();
  for (const s of servers) {
    const env = services[s].environment;
    byShard.set(env.CLICKHOUSE_SHARD, [...(byShard.get(env.CLICKHOUSE_SHARD) ?? []), s].sort());
    replicas.add(env.CLICKHOUSE_REPLICA);
    assert.equal(services[s].hostname, s);
    const mounts = (services[s].volumes as (string | { source: string; target: string })[]).map((v) =>
      typeof v === 'string' ? v : `${v.source}:${v.target}`,
    );
    for (const f of ['cluster.xml', 'macros.xml'])
      assert.ok(
        mounts.some((m) => m.includes(`deploy/clickhouse-cluster/config.d/${f}:/etc/clickhouse-server/config.d/`)),
        `${s} mounts ${f}`,
      );
  }
  assert.equal(replicas.size, 4, 'replica names are unique over the cluster');
  assert.deepEqual(
    [...byShard.values()].sort(),
    shards.sort(),
    'remote_servers shards = the servers grouped by {shard}',
  );
  assert.deepEqual(
    shards.map((s) => s.length),
    [2, 2],
  );

  // Keeper: three nodes whose ids and names are the Raft configuration and the servers' client list.
  const keeperXml = readFileSync(repoPath('deploy', 'clickhouse-cluster', 'keeper.xml'), 'utf8');
  const raft = [...keeperXml.matchAll(/<id>(\d+)<\/id><hostname>([^<]+)<\/hostname>/g)].map((m) => `${m[1]}@${m[2]}`);
  const keepers = named('keeper-');
  assert.deepEqual(
    keepers.map((k) => `${services[k].environment.KEEPER_SERVER_ID}@${services[k].hostname}`),
    raft,
  );
  assert.deepEqual(
    [...xml.matchAll(/<node><host>([^<]+)<\/host>/g)].map((m) => m[1]),
    keepers,
  );

  // Every service twice, in cluster mode, against a server of the cluster.
  for (const name of SERVICES) {
    const s = services[name];
    // The notifier once: its release sweep is not shared between replicas.
    assert.equal(s.deploy?.replicas, name === 'notifier' ? 1 : 2, `${name} replicas`);
    assert.equal(s.environment.CLICKHOUSE_CLUSTER, cluster);
    assert.ok(servers.includes(new URL(s.environment.CLICKHOUSE_URL).hostname), `${name}: CLICKHOUSE_URL`);
    assert.equal(s.environment.KAFKA_BROKERS, 'kafka-1:9092,kafka-2:9092,kafka-3:9092');
    assert.equal(s.environment.METERSTREAM_INSTANCE_ID, undefined, `${name}: each replica keeps its host name as id`);
  }
});
