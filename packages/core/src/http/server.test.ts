import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Registry } from 'prom-client';
import { capturingLogger } from '../testing.js';
import { createHttpServer } from './server.js';

test('/readyz answers when a check never does: 503, that check failed by the timeout, the others reported', async () => {
  const app = createHttpServer({
    registry: new Registry(),
    logger: capturingLogger().logger,
    readiness: {
      stalled: () => new Promise<true>(() => undefined),
      consumer: async () => true,
    },
    readinessTimeoutMs: 200,
  });
  try {
    const r = await app.inject({ method: 'GET', url: '/readyz' });
    assert.equal(r.statusCode, 503);
    assert.deepEqual(r.json(), {
      status: 'not ready',
      checks: { stalled: 'no answer within 200 ms', consumer: 'ok' },
    });
  } finally {
    await app.close();
  }
});
