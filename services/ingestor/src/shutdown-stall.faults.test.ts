/**
 * SIGTERM while ClickHouse is stalled (issue 9): the real `meterstream ingestor` process talks
 * HTTP to a stand-in ClickHouse server that answers the start-up statements (ping, migrations)
 * and then accepts the readings' inserts and never answers them. The batch in flight cannot
 * drain, so the process must not hang: it exits 75 (not drained; nothing was committed, the
 * batch is redelivered) once METERSTREAM_SHUTDOWN_TIMEOUT_SECONDS has passed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { AvroCodec, EXIT_NOT_DRAINED, type MeterReading } from '@meterstream/core';
import { createTopic, produce, startService, testEnv, testKafka, utcDaysAgo, waitFor } from '@meterstream/core/testing';

/** A ClickHouse HTTP server that answers everything empty and holds every insert into `table`. */
async function stalledClickHouse(table: string) {
  const held: ServerResponse[] = [];
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const query = new URL(req.url ?? '/', 'http://x').searchParams.get('query') ?? '';
    if (/^INSERT INTO \S+/i.test(query) && query.includes(table)) {
      held.push(res); // accepted, never answered: a stalled server
      req.resume();
      return;
    }
    req.resume();
    req.on('end', () => res.end(req.url?.startsWith('/ping') ? 'Ok.\n' : ''));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    held,
    close: () => {
      server.closeAllConnections();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

test('SIGTERM while a ClickHouse insert is stalled: `meterstream ingestor` exits 75 at its shutdown deadline', async (t) => {
  const clickhouse = await stalledClickHouse('readings_raw_inbox');
  const deadlineSeconds = 5;
  const env = testEnv({
    CLICKHOUSE_URL: clickhouse.url,
    METERSTREAM_SHUTDOWN_TIMEOUT_SECONDS: String(deadlineSeconds),
    PORT: '0',
    LOG_LEVEL: 'info',
  });
  const kafka = testKafka();
  const codec = new AvroCodec();
  await createTopic(kafka, env.METERSTREAM_TOPIC_READINGS, 3);
  const run = startService('ingestor', env);
  try {
    await run.ready;
    const reading = (i: number): MeterReading => ({
      meterId: `M${i}`,
      tenant: 'default',
      kind: 'WATER',
      unit: 'L',
      readingType: 'INTERVAL',
      ts: utcDaysAgo(3) + i * 3_600_000,
      intervalSeconds: 3600,
      value: i,
      quality: 'MEASURED',
      zoneId: null,
      priceArea: null,
    });
    await produce(
      kafka,
      env.METERSTREAM_TOPIC_READINGS,
      Array.from({ length: 30 }, (_, i) => ({
        key: `M${i}`,
        value: codec.encodeSingleObject('MeterReading', reading(i)),
      })),
    );
    await waitFor('an insert held by the stalled server', async () => clickhouse.held.length > 0, 60_000);

    run.child.kill('SIGTERM');
    // A deadline for the test, not a measure of speed: the process must have given up by then.
    const code = await Promise.race([
      run.exited,
      new Promise<'hung'>((resolve) => setTimeout(() => resolve('hung'), (deadlineSeconds + 20) * 1000).unref()),
    ]);
    t.diagnostic(`inserts held: ${clickhouse.held.length}`);
    assert.equal(code, EXIT_NOT_DRAINED, `exit code 75 (not drained), got ${code}:\n${run.output().slice(-3000)}`);
    assert.match(run.output(), /not drained within 5 s/);

    // Nothing was committed: the batch is redelivered to the next incarnation.
    const admin = kafka.admin();
    await admin.connect();
    try {
      const [c] = await admin.fetchOffsets({
        groupId: env.METERSTREAM_INGESTOR_GROUP_ID,
        topics: [env.METERSTREAM_TOPIC_READINGS],
      });
      assert.ok(
        c.partitions.every((p) => Number(p.offset) <= 0),
        `no offset committed: ${JSON.stringify(c.partitions)}`,
      );
    } finally {
      await admin.disconnect();
    }
  } finally {
    if (run.child.exitCode === null) run.child.kill('SIGKILL');
    await clickhouse.close();
  }
});
