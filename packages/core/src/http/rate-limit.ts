/**
 * Per-token rate limits on `/v1` (@fastify/rate-limit, the Fastify team's plugin, in-process
 * store): a token's requests are counted under its name, so one token cannot crowd the others
 * (or ingestion, whose ClickHouse work the read routes share); a request without a principal
 * under the client address. Over the limit: 429, a JSON error body like every other error, and
 * `retry-after`. Each process counts its own requests (no shared store).
 */
import fastifyRateLimit from '@fastify/rate-limit';
import type { FastifyInstance, FastifyRequest } from 'fastify';

const isV1 = (req: FastifyRequest): boolean => {
  const path = req.routeOptions.url ?? req.url.split('?')[0];
  return path === '/v1' || path.startsWith('/v1/');
};

/**
 * Limits every `/v1` route of `app` to `perMinute` requests per token and minute. Called before
 * any route is added: the plugin fits each route with its hook as the route is added (after the
 * access hook, so the principal is known), which a deferred `register` would do too late.
 */
export function installRateLimit(app: FastifyInstance, perMinute: number): void {
  // Typed as a callback plugin; the function is async and its hooks are in place on return.
  const installed: unknown = fastifyRateLimit(
    app,
    {
      max: perMinute,
      timeWindow: 60_000,
      allowList: (req) => !isV1(req),
      keyGenerator: (req) => (req.principal ? `token:${req.principal.name}` : `ip:${req.ip}`),
      errorResponseBuilder: (_req, context) =>
        Object.assign(
          new Error(`rate limit of ${context.max} requests per minute exceeded; retry in ${context.after}`),
          {
            statusCode: context.statusCode,
            code: 'RATE_LIMITED',
          },
        ),
    },
    () => undefined,
  );
  void Promise.resolve(installed).catch((err: unknown) => app.log.error({ err }, 'rate limit not installed'));
}
