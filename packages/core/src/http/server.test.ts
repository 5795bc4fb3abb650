import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Registry } from 'prom-client';
import { capturingLogger } from '../testing.js';
import { createHttpServer } from './server.js';

test('/readyz answers when a check never does: 503, which check failed (the reason in the log only), the others reported', async () => {
  const { logger, lines } = capturingLogger();
  const app = createHttpServer({
    registry: new Registry(),
    logger,
    readiness: {
      stalled: () => new Promise<true>(() => undefined),
      consumer: async () => true,
      clickhouse: async () => 'ClickHouse unreachable: connect ECONNREFUSED 10.1.2.3:8123 user=secret-user',
    },
    readinessTimeoutMs: 200,
  });
  try {
    const r = await app.inject({ method: 'GET', url: '/readyz' });
    assert.equal(r.statusCode, 503);
    assert.deepEqual(r.json(), {
      status: 'not ready',
      checks: { stalled: 'not ready', consumer: 'ok', clickhouse: 'not ready' },
    });
    assert.doesNotMatch(r.body, /10\.1\.2\.3|secret-user|ECONNREFUSED/, 'no error text in the answer');
    assert.ok(
      lines.some((l) => l.includes('no answer within 200 ms')),
      'the reason is in the log',
    );
    assert.ok(
      lines.some((l) => l.includes('ECONNREFUSED')),
      'the reason is in the log',
    );
  } finally {
    await app.close();
  }
});
