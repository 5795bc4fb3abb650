/**
 * The HTTP face of every service (Fastify): `/healthz` (alive), `/readyz` (dependencies
 * reachable, consumers assigned), `/metrics` (Prometheus text), plus the routes a service adds.
 * Errors become JSON bodies; a request's fault is a 4xx, never a 500. Every route is documented
 * by OpenAPI: the document at `/docs/json` (and `/docs/yaml`), Swagger UI at `/docs`.
 */
import fastifySwagger from '@fastify/swagger';
import fastifySwaggerUi, { type FastifySwaggerUiOptions } from '@fastify/swagger-ui';
import Fastify, { LogController, type FastifyInstance, type FastifyPluginAsync } from 'fastify';
import type { Registry } from 'prom-client';
import type { Logger } from '../telemetry/logger.js';
import { Access, installAccess } from './access.js';
import { installRateLimit } from './rate-limit.js';

/** One named readiness check: resolves to `true` when ready, or a reason why not. */
export type ReadinessCheck = () => Promise<true | string>;

/** Options of {@link createHttpServer}. */
export interface HttpServerOptions {
  registry: Registry;
  logger: Logger;
  /** Named readiness checks; `/readyz` is 200 only when all pass. */
  readiness: Record<string, ReadinessCheck>;
  /**
   * Named liveness checks; `/healthz` is 503 when one is false. A component reports false only
   * when it cannot heal in-process (e.g. a consumer whose rebuilds keep failing), so that an
   * orchestrator restarts the process; a fault that is being healed shows in `/readyz` only.
   */
  liveness?: Record<string, () => boolean>;
  /**
   * A readiness check that has not answered after this long fails with that reason (ms),
   * so a stalled dependency (a ClickHouse that accepts and never answers) makes `/readyz`
   * say 503 and why, instead of hanging past the probe's own timeout. Default 5 000.
   */
  readinessTimeoutMs?: number;
  /**
   * The configured tokens: every `/v1` request is authenticated against them before anything
   * else. Default none, which closes every `/v1` route (403).
   */
  access?: Access;
  /** Requests per minute per token on `/v1` (`http/rate-limit.ts`); absent or 0: no limit. */
  rateLimitPerMinute?: number;
}

/** Name of the bearer security scheme in the OpenAPI document. */
export const BEARER_SCHEME = 'bearerAuth';

/** A route schema's `security`: every `/v1` route is behind a bearer token (`access.ts`). */
export const bearerSecurity: Record<string, string[]>[] = [{ [BEARER_SCHEME]: [] }];

const JSON_ERROR_SCHEMA = {
  type: 'object',
  required: ['error', 'code'],
  properties: { error: { type: 'string' }, code: { type: 'string' } },
} as const;

/** Response schemas of the JSON error body, by status, for a route schema's `response`. */
export function errorResponses(descriptions: Record<number, string>): Record<number, object> {
  return Object.fromEntries(
    Object.entries(descriptions).map(([status, description]) => [status, { description, ...JSON_ERROR_SCHEMA }]),
  );
}

/**
 * Documents every route added to `app` from now on. @fastify/swagger learns routes from an
 * `onRoute` hook, and Fastify runs `onRoute` hooks when a route is added; but a plugin passed
 * to `register` runs only at `ready()`/`listen()`, after callers have added their routes
 * (`createHttpServer()`, then `app.get(...)`, then `listen`). So the plugin function is called
 * here, on the root instance (it is a fastify-plugin, made for the root context), to install
 * its hook before any route. The UI goes through `register`, wrapped in a plain plugin:
 * registered as itself it would demand a registered '@fastify/swagger', which the direct call
 * does not record.
 */
function installOpenApi(app: FastifyInstance): void {
  fastifySwagger(
    app,
    {
      openapi: {
        openapi: '3.0.3',
        info: {
          title: 'meterstream',
          version: '1',
          description:
            'Health, metrics and the /v1 data API of a meterstream service. /v1 routes need a bearer token ' +
            '(METERSTREAM_TOKENS, or the METERSTREAM_API_TOKEN / METERSTREAM_ADMIN_TOKEN shorthands) and answer only ' +
            "for the token's tenants: another tenant's meter is a 404. Export, erasure, acknowledgements and silences " +
            'need an admin or operator token. Errors are JSON `{error, code}`.',
        },
        components: {
          securitySchemes: {
            [BEARER_SCHEME]: {
              type: 'http',
              scheme: 'bearer',
              description: 'A token of METERSTREAM_TOKENS (or METERSTREAM_API_TOKEN, METERSTREAM_ADMIN_TOKEN)',
            },
          },
        },
        tags: [
          { name: 'health', description: 'Liveness, readiness and metrics' },
          { name: 'data', description: 'Stored meter data (API token)' },
          { name: 'data protection', description: 'Export and erasure of one meter (admin token)' },
        ],
      },
      // Every /v1 route is behind a bearer token; routes that do not say so themselves get it.
      transform: ({ schema, url }) => ({
        schema:
          url.startsWith('/v1/') && schema !== undefined && schema !== null && !('security' in schema)
            ? { ...schema, security: bearerSecurity }
            : schema,
        url,
      }),
    },
    (err) => {
      if (err) throw err;
    },
  );
  // The UI plugin is an async function (its typings call it a callback plugin).
  const swaggerUi = fastifySwaggerUi as unknown as FastifyPluginAsync<FastifySwaggerUiOptions>;
  void app.register(async (scope) => swaggerUi(scope, { routePrefix: '/docs' }));
}

/** Builds the server; call `listen` on it, or `inject` in tests. */
export function createHttpServer(options: HttpServerOptions): FastifyInstance {
  // Fastify's instance type is generic over the logger; the base type is what routes need.
  const app = Fastify({
    loggerInstance: options.logger.child({ component: 'http' }),
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: 1024 * 1024,
  }) as unknown as FastifyInstance;
  installOpenApi(app);
  installAccess(app, options.access ?? new Access([]));
  if (options.rateLimitPerMinute) installRateLimit(app, options.rateLimitPerMinute);

  app.setErrorHandler((err: Error & { statusCode?: number; validation?: unknown; code?: string }, req, reply) => {
    const status = err.statusCode !== undefined && err.statusCode >= 400 && err.statusCode < 600 ? err.statusCode : 500;
    if (status >= 500) req.log.error({ err }, 'request failed');
    void reply.status(status).send({
      error: status >= 500 ? 'internal error' : err.message,
      code: err.code ?? (err.validation ? 'FST_ERR_VALIDATION' : 'ERROR'),
    });
  });
  app.setNotFoundHandler((req, reply) => {
    void reply.status(404).send({ error: `no route ${req.method} ${req.url.split('?')[0]}`, code: 'NOT_FOUND' });
  });

  const healthBody = { type: 'object', properties: { status: { type: 'string' } } } as const;
  const healthzSchema = {
    tags: ['health'],
    summary: 'Alive',
    response: {
      200: { description: 'The process serves requests and every component runs or is healing', ...healthBody },
      503: { description: 'A component has failed to heal itself for too long: restart the process', ...healthBody },
    },
  };
  app.get('/healthz', { schema: healthzSchema }, async (_req, reply) => {
    const failing = Object.entries(options.liveness ?? {})
      .filter(([, alive]) => !alive())
      .map(([name]) => name);
    if (failing.length === 0) return { status: 'ok' };
    return reply.status(503).send({ status: `not healing: ${failing.join(', ')}` });
  });
  const readyBody = {
    type: 'object',
    properties: { status: { type: 'string' }, checks: { type: 'object', additionalProperties: { type: 'string' } } },
  } as const;
  const readyzSchema = {
    tags: ['health'],
    summary: 'Ready: ClickHouse and Kafka reachable, partitions assigned',
    description:
      "Each check is `ok` or `not ready`: which component is not ready, never why (the reason goes to the service's log, " +
      'since error text can carry hosts, users and data).',
    response: {
      200: { description: 'Every check passed', ...readyBody },
      503: { description: 'Which checks failed (reasons in the log)', ...readyBody },
    },
  };
  app.get('/readyz', { schema: readyzSchema }, async (req, reply) => {
    const checks: Record<string, string> = {};
    let ready = true;
    await Promise.all(
      Object.entries(options.readiness).map(async ([name, check]) => {
        let result: true | string;
        let timer: NodeJS.Timeout | undefined;
        const timeoutMs = options.readinessTimeoutMs ?? 5_000;
        const late = new Promise<string>(
          (resolve) => (timer = setTimeout(() => resolve(`no answer within ${timeoutMs} ms`), timeoutMs)),
        );
        try {
          result = await Promise.race([check(), late]);
        } catch (err) {
          result = err instanceof Error ? err.message : String(err);
        } finally {
          clearTimeout(timer);
        }
        checks[name] = result === true ? 'ok' : 'not ready';
        if (result !== true) {
          ready = false;
          req.log.warn({ check: name, reason: result }, 'not ready');
        }
      }),
    );
    return reply.status(ready ? 200 : 503).send({ status: ready ? 'ready' : 'not ready', checks });
  });
  const metricsSchema = {
    tags: ['health'],
    summary: 'Prometheus metrics',
    response: {
      200: {
        description: 'Prometheus text exposition format',
        content: { 'text/plain': { schema: { type: 'string' } } },
      },
    },
  };
  app.get('/metrics', { schema: metricsSchema }, async (_req, reply) => {
    const body = await options.registry.metrics();
    return reply.type(options.registry.contentType).send(body);
  });
  return app;
}
