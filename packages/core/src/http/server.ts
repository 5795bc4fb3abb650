/**
 * The HTTP face of every service (Fastify): `/healthz` (alive), `/readyz` (dependencies
 * reachable, consumers assigned), `/metrics` (Prometheus text), plus the routes a service adds.
 * Errors become JSON bodies; a request's fault is a 4xx, never a 500.
 */
import { timingSafeEqual } from 'node:crypto';
import Fastify, { LogController, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { Registry } from 'prom-client';
import type { Logger } from '../telemetry/logger.js';

/** One named readiness check: resolves to `true` when ready, or a reason why not. */
export type ReadinessCheck = () => Promise<true | string>;

/** Options of {@link createHttpServer}. */
export interface HttpServerOptions {
  registry: Registry;
  logger: Logger;
  /** Named readiness checks; `/readyz` is 200 only when all pass. */
  readiness: Record<string, ReadinessCheck>;
}

/** Builds the server; call `listen` on it, or `inject` in tests. */
export function createHttpServer(options: HttpServerOptions): FastifyInstance {
  // Fastify's instance type is generic over the logger; the base type is what routes need.
  const app = Fastify({
    loggerInstance: options.logger.child({ component: 'http' }),
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: 1024 * 1024,
  });

  app.setErrorHandler((err: Error & { statusCode?: number; validation?: unknown; code?: string }, req, reply) => {
    const status = err.statusCode !== undefined && err.statusCode >= 400 && err.statusCode < 600 ? err.statusCode : 500;
    if (status >= 500) req.log.error({ err }, 'request failed');
    void reply.status(status).send({ error: status >= 500 ? 'internal error' : err.message, code: err.code ?? (err.validation ? 'FST_ERR_VALIDATION' : 'ERROR') });
  });
  app.setNotFoundHandler((req, reply) => {
    void reply.status(404).send({ error: `no route ${req.method} ${req.url.split('?')[0]}`, code: 'NOT_FOUND' });
  });

  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (_req, reply) => {
    const checks: Record<string, string> = {};
    let ready = true;
    await Promise.all(
      Object.entries(options.readiness).map(async ([name, check]) => {
        let result: true | string;
        try {
          result = await check();
        } catch (err) {
          result = err instanceof Error ? err.message : String(err);
        }
        checks[name] = result === true ? 'ok' : result;
        if (result !== true) ready = false;
      }),
    );
    return reply.status(ready ? 200 : 503).send({ status: ready ? 'ready' : 'not ready', checks });
  });
  app.get('/metrics', async (_req, reply) => {
    const body = await options.registry.metrics();
    return reply.type(options.registry.contentType).send(body);
  });
  return app as unknown as FastifyInstance;
}

function sameToken(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

/**
 * A preHandler that demands `Authorization: Bearer <token>`; with no token configured the
 * route answers 403 (disabled), so a forgotten variable never opens the data.
 */
export function bearerAuth(token: string | null) {
  return async (req: FastifyRequest, reply: FastifyReply): Promise<void> => {
    if (token === null) {
      return reply.status(403).send({ error: 'this route is disabled: no token configured', code: 'FORBIDDEN' });
    }
    const header = req.headers.authorization;
    const m = header === undefined ? null : /^Bearer (.+)$/.exec(header);
    if (m === null) {
      return reply.status(401).header('www-authenticate', 'Bearer').send({ error: 'missing bearer token', code: 'UNAUTHORIZED' });
    }
    if (!sameToken(m[1], token)) {
      return reply.status(401).header('www-authenticate', 'Bearer').send({ error: 'invalid token', code: 'UNAUTHORIZED' });
    }
  };
}
