/**
 * `/v1/silences` (admin token): maintenance windows per tenant, zone or meter. A silence holds
 * notifications, not detection: alerts are still detected, stored and published; the notifier
 * holds their delivery while the silence is active and releases what is still relevant when it
 * ends (docs/alerts.md). `POST` creates one, `GET` lists them, `DELETE /v1/silences/{id}`
 * expires one now. Every create and expire is audited in `alert_silence_audit` (who, when, what).
 */
import { canAdmin, errorResponses, principalOf, requireAdmin, type Principal } from '@meterstream/core';
import type { FastifyInstance, FastifySchema } from 'fastify';
import type { SilencesStore } from '../state/silences.store.js';
import {
  SILENCE_LABELS,
  matcherRegex,
  silenceState,
  type Matcher,
  type Silence,
} from '../transforms/match-silences.js';

export interface SilenceRouteDeps {
  silences: SilencesStore;
  /** Called after a silence was created or expired (the notifier in this process sweeps at once). */
  changed?: () => void;
}

const MAX_DAYS = 366;
const DAY = 86_400_000;

const MATCHER = {
  type: 'object',
  additionalProperties: false,
  required: ['name', 'value'],
  properties: {
    name: {
      type: 'string',
      enum: [...SILENCE_LABELS],
      description: 'Alert label: alertname (the type), severity (lower case), tenant, zone, pseudonym',
    },
    value: { type: 'string', maxLength: 1000 },
    isRegex: { type: 'boolean', default: false, description: 'value is a regular expression, anchored at both ends' },
    isEqual: {
      type: 'boolean',
      default: true,
      description: 'false: the matcher matches when the label does NOT match',
    },
  },
} as const;

const SILENCE = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    status: { type: 'string', enum: ['pending', 'active', 'expired'] },
    matchers: { type: 'array', items: MATCHER },
    startsAt: { type: 'string', format: 'date-time' },
    endsAt: { type: 'string', format: 'date-time' },
    createdBy: { type: 'string' },
    comment: { type: 'string' },
    createdAt: { type: 'string', format: 'date-time' },
  },
} as const;

const ERRORS = errorResponses({
  400: 'Bad matchers or times',
  401: 'Missing or wrong bearer token (the admin token is needed)',
  403: 'A read token (admin or operator needed), or no token configured at all',
});

/**
 * Whether the principal may see and change a silence: an operator any; a tenant's admin only
 * one restricted to its tenants by a plain `tenant` matcher.
 */
function mayManage(p: Principal, matchers: readonly Matcher[]): boolean {
  if (p.tenants === null) return true;
  const tenant = matchers.find((m) => m.name === 'tenant' && m.isEqual && !m.isRegex);
  return tenant !== undefined && canAdmin(p, tenant.value);
}

interface CreateBody {
  matchers: Matcher[];
  startsAt?: string;
  endsAt: string;
  createdBy: string;
  comment: string;
}

const view = (s: Silence, now: number) => ({
  id: s.id,
  status: silenceState(s, now),
  matchers: s.matchers,
  startsAt: new Date(s.startsAt).toISOString(),
  endsAt: new Date(s.endsAt).toISOString(),
  createdBy: s.createdBy,
  comment: s.comment,
  createdAt: new Date(s.createdAt).toISOString(),
});

const badRequest = (error: string) => ({ error, code: 'BAD_REQUEST' });
/** The list's default window (silences that ended longer ago are left out) and its largest page. */
const LIST_DAYS = 30;
const MAX_LIST = 1000;

/** A route schema with OpenAPI's `tags` and `summary` (@fastify/swagger, installed by core's server). */
const documented = (schema: FastifySchema & { tags: string[]; summary: string }): FastifySchema => schema;

export function registerSilenceRoutes(app: FastifyInstance, deps: SilenceRouteDeps): void {
  const auth = requireAdmin;

  app.post<{ Body: CreateBody }>(
    '/v1/silences',
    {
      onRequest: auth,
      schema: documented({
        tags: ['alerts'],
        summary: 'Create a silence (maintenance window): hold notifications of matching alerts while it is active',
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['matchers', 'endsAt', 'createdBy', 'comment'],
          properties: {
            matchers: { type: 'array', minItems: 1, maxItems: 20, items: MATCHER },
            startsAt: { type: 'string', format: 'date-time', description: 'Default: now' },
            endsAt: { type: 'string', format: 'date-time' },
            createdBy: { type: 'string', minLength: 1, maxLength: 200, description: 'Who creates it (audited)' },
            comment: { type: 'string', minLength: 1, maxLength: 2000, description: 'Why (audited)' },
          },
        },
        response: { 201: { description: 'The silence', ...SILENCE }, ...ERRORS },
      }),
    },
    async (req, reply) => {
      const now = Date.now();
      const b = req.body;
      const startsAt = b.startsAt === undefined ? now : Date.parse(b.startsAt);
      const endsAt = Date.parse(b.endsAt);
      if (!(endsAt > startsAt)) return reply.status(400).send(badRequest('endsAt must be after startsAt'));
      if (endsAt <= now) return reply.status(400).send(badRequest('endsAt is in the past'));
      if (endsAt - startsAt > MAX_DAYS * DAY)
        return reply.status(400).send(badRequest(`a silence lasts at most ${MAX_DAYS} days`));
      const matchers: Matcher[] = b.matchers.map((m) => ({
        name: m.name,
        value: m.value,
        isRegex: m.isRegex ?? false,
        isEqual: m.isEqual ?? true,
      }));
      for (const m of matchers) {
        const re = m.isRegex ? matcherRegex(m) : null;
        if (typeof re === 'string') return reply.status(400).send(badRequest(`matcher ${m.name}: bad regex: ${re}`));
      }
      if (!mayManage(principalOf(req), matchers))
        return reply.status(403).send({
          error: "a tenant's token needs a tenant matcher (isEqual, not a regex) of its tenants",
          code: 'FORBIDDEN',
        });
      // As Alertmanager: a silence of everything by accident (only negative matchers) is refused.
      if (!matchers.some((m) => m.isEqual && m.value !== ''))
        return reply.status(400).send(badRequest('at least one matcher must be a non-empty isEqual matcher'));
      // Audited as the token's name, with who the caller says it is, as an expiry is.
      const createdBy = `${principalOf(req).name} (${b.createdBy})`;
      const silence = await deps.silences.create({ matchers, startsAt, endsAt, createdBy, comment: b.comment }, now);
      deps.changed?.();
      return reply.status(201).send(view(silence, now));
    },
  );

  app.get<{ Querystring: { status?: 'pending' | 'active' | 'expired'; since?: string; limit?: number } }>(
    '/v1/silences',
    {
      onRequest: auth,
      schema: documented({
        tags: ['alerts'],
        summary: 'List silences (newest first), with their status',
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            status: { type: 'string', enum: ['pending', 'active', 'expired'] },
            since: {
              type: 'string',
              format: 'date-time',
              description: `Silences that end after this time; default ${LIST_DAYS} days ago`,
            },
            limit: { type: 'integer', minimum: 1, maximum: MAX_LIST, default: 100 },
          },
        },
        response: {
          200: { description: 'Silences', type: 'object', properties: { silences: { type: 'array', items: SILENCE } } },
          ...ERRORS,
        },
      }),
    },
    async (req) => {
      const now = Date.now();
      const principal = principalOf(req);
      const since = req.query.since ? Date.parse(req.query.since) : now - LIST_DAYS * DAY;
      const all = (await deps.silences.list(since))
        .filter((s) => mayManage(principal, s.matchers))
        .map((s) => view(s, now));
      const wanted = req.query.status ? all.filter((s) => s.status === req.query.status) : all;
      return { silences: wanted.slice(0, req.query.limit ?? 100) };
    },
  );

  app.delete<{ Params: { id: string }; Querystring: { by?: string } }>(
    '/v1/silences/:id',
    {
      onRequest: auth,
      schema: documented({
        tags: ['alerts'],
        summary: 'Expire a silence now: what it held is released (docs/alerts.md)',
        params: { type: 'object', required: ['id'], properties: { id: { type: 'string', format: 'uuid' } } },
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: { by: { type: 'string', minLength: 1, maxLength: 200, description: 'Who expires it (audited)' } },
        },
        response: {
          200: { description: 'The silence, expired', ...SILENCE },
          ...ERRORS,
          ...errorResponses({ 404: 'No such silence' }),
        },
      }),
    },
    async (req, reply) => {
      const now = Date.now();
      const s = await deps.silences.get(req.params.id);
      const principal = principalOf(req);
      if (s === null || !mayManage(principal, s.matchers))
        return reply.status(404).send({ error: 'no such silence', code: 'NOT_FOUND' });
      // The audit's actor is the token's name, with who the caller says did it.
      const by = req.query.by === undefined ? principal.name : `${principal.name} (${req.query.by})`;
      const ended = silenceState(s, now) === 'expired' ? s : await deps.silences.expire(s, by, now);
      deps.changed?.();
      return view(ended, now);
    },
  );
}
