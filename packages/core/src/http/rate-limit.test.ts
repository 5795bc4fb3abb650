import { test } from 'node:test';
import assert from 'node:assert/strict';
import { credentialsOf, sha256Hex } from '../config/credentials.js';
import { createLogger } from '../telemetry/logger.js';
import { createRegistry } from '../telemetry/metrics.js';
import { Access } from './access.js';
import { createHttpServer } from './server.js';

const A = 'rate-token-a-0123456789abcdef';
const B = 'rate-token-b-0123456789abcdef';

test('per-token rate limit: over the limit a token gets 429 with a JSON error; another token and /healthz are not held back', async () => {
  const access = new Access(
    credentialsOf(
      [
        { name: 'a', role: 'read', tenants: ['oslo'], sha256: sha256Hex(A) },
        { name: 'b', role: 'read', tenants: ['oslo'], sha256: sha256Hex(B) },
      ],
      null,
      null,
    ),
  );
  const app = createHttpServer({
    registry: createRegistry('t'),
    logger: createLogger({ level: 'silent' }),
    readiness: {},
    access,
    rateLimitPerMinute: 3,
  });
  app.get('/v1/ping', async () => ({ pong: true }));
  try {
    const as = (token: string) => app.inject({ url: '/v1/ping', headers: { authorization: `Bearer ${token}` } });
    for (let i = 0; i < 3; i++) assert.equal((await as(A)).statusCode, 200);
    const over = await as(A);
    assert.equal(over.statusCode, 429);
    assert.match(String(over.headers['content-type']), /application\/json/);
    assert.equal(over.json().code, 'RATE_LIMITED');
    assert.match(over.json().error, /3 requests per minute/);
    assert.ok(Number(over.headers['retry-after']) > 0, 'retry-after is set');
    assert.equal((await as(B)).statusCode, 200, "keyed by the token's name: b has its own budget");
    for (let i = 0; i < 5; i++) assert.equal((await app.inject({ url: '/healthz' })).statusCode, 200);
  } finally {
    await app.close();
  }
});
