/**
 * The web console at `/console` (`/` redirects there): one HTML shell for every page, plain ES
 * modules and CSS from this package's `public/`, and uPlot from `node_modules` — no build chain,
 * nothing from a CDN, so it works offline. The pages read only the bearer-protected JSON API
 * (`/v1/...`) with the token the person entered in this browser tab, so they show exactly what
 * that token may see. A Content-Security-Policy lets scripts, styles and requests come from this
 * origin only; the shell itself holds no data and no secret.
 */
import { dirname, join } from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import { principalOf, type DetectorSettings } from '@meterstream/core';
import type { FastifyInstance, FastifyReply, FastifySchema } from 'fastify';
import { consolePage } from './console-page.js';

/** Dependencies of {@link registerConsole}. */
export interface ConsoleDeps {
  /** The fleet-wide detector thresholds, drawn as the lines and windows of an alert's evidence. */
  detectors: DetectorSettings;
  /** Per-tenant overrides of `detectors` (`METERSTREAM_TENANT_DETECTORS`). */
  tenants: Record<string, Partial<DetectorSettings>>;
}

/** The header every console response carries: scripts, styles and requests from this origin only. */
export const CONSOLE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data: blob:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

const PSEUDONYM = '^[0-9a-f]{32}$';

const DETECTORS_SCHEMA = {
  tags: ['data'],
  summary: 'The detector settings in force: fleet-wide, and the overrides of the tenants this token may see',
  description:
    'What the detectors judge by (night window and time zone, thresholds, frost levels, silence, invoice tolerance), as ' +
    "resolved from the configuration. The console draws an alert's evidence with them.",
  response: {
    200: {
      description: 'The settings',
      type: 'object',
      properties: {
        detectors: { type: 'object', additionalProperties: true },
        tenants: { type: 'object', additionalProperties: { type: 'object', additionalProperties: true } },
      },
    },
  },
} as FastifySchema;
const PUBLIC_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', 'public');
const UPLOT_DIR = dirname(createRequire(import.meta.url).resolve('uplot'));
const UPLOT_FILES = new Set(['/uPlot.esm.js', '/uPlot.min.css']);

function secure(reply: FastifyReply): void {
  void reply
    .header('content-security-policy', CONSOLE_CSP)
    .header('x-content-type-options', 'nosniff')
    .header('referrer-policy', 'no-referrer')
    .header('x-frame-options', 'DENY');
}

/** Registers `/`, `/console/...` and the console's assets on `app`. */
export function registerConsole(app: FastifyInstance, deps: ConsoleDeps): void {
  // `hide` keeps the console out of the OpenAPI document (@fastify/swagger's schema extension).
  const hide = { hide: true } as FastifySchema;
  app.get('/', { schema: hide }, async (_req, reply) => reply.redirect('/console/'));
  app.get('/console', { schema: hide }, async (_req, reply) => reply.redirect('/console/'));

  // Under /v1, so the server's access hook authenticates it like every data route; a tenant's
  // token sees its own tenants' overrides only.
  app.get('/v1/detectors', { schema: DETECTORS_SCHEMA }, async (req, reply) => {
    const { tenants } = principalOf(req);
    const overrides = Object.entries(deps.tenants).filter(([t]) => tenants === null || tenants.includes(t));
    return reply
      .header('cache-control', 'no-store')
      .send({ detectors: deps.detectors, tenants: Object.fromEntries(overrides) });
  });

  void app.register(async (scope) => {
    scope.addHook('onRequest', async (_req, reply) => secure(reply));
    const page = (title: string) => async (_req: unknown, reply: FastifyReply) =>
      reply.header('cache-control', 'no-store').type('text/html; charset=utf-8').send(consolePage(title));
    const params = (names: Record<string, string>): FastifySchema => ({
      ...hide,
      params: {
        type: 'object',
        required: Object.keys(names),
        properties: Object.fromEntries(Object.entries(names).map(([k, pattern]) => [k, { type: 'string', pattern }])),
      },
    });
    scope.get('/console/', { schema: hide }, page('Alerts'));
    scope.get('/console/districts', { schema: hide }, page('Districts'));
    scope.get('/console/districts/:zone', { schema: params({ zone: '^[^/]{1,200}$' }) }, page('District'));
    scope.get('/console/meters', { schema: hide }, page("A meter's hours"));
    scope.get('/console/meters/:pseudonym', { schema: params({ pseudonym: PSEUDONYM }) }, page("A meter's hours"));
    scope.get(
      '/console/meters/:pseudonym/alerts/:dedupKey',
      { schema: params({ pseudonym: PSEUDONYM, dedupKey: '^[0-9a-f]{1,64}$' }) },
      page('Alert'),
    );
    await scope.register(fastifyStatic, {
      root: PUBLIC_DIR,
      prefix: '/console/assets/',
      decorateReply: false,
      index: false,
      cacheControl: false,
      setHeaders: (reply) => void reply.header('cache-control', 'no-cache'),
    });
    await scope.register(fastifyStatic, {
      root: UPLOT_DIR,
      prefix: '/console/vendor/uplot/',
      decorateReply: false,
      index: false,
      allowedPath: (path) => UPLOT_FILES.has(path),
    });
  });
}
