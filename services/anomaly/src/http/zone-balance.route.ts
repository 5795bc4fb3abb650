/**
 * `GET /v1/zones/{zone}/balance?tenant=&from=&to=`: a district's water balance per hour
 * (`transforms/zone-balance.ts`): inflow, customers, balance, and the share of inflow and
 * customer meters whose hour is fully covered. A zone has a balance when
 * `METERSTREAM_ZONE_INFLOWS` lists inflow meters for it; zones are per tenant, so `tenant` names
 * the tenant (optional for a token of one tenant). Another tenant's zone is a 404, as an unknown
 * one; the range is bounded ({@link MAX_SPAN_DAYS} days, default the last 7).
 */
import { HttpError, canRead, notFound, principalOf, type ClickHouseClient, type ZoneInflows } from '@meterstream/core';
import type { FastifyInstance } from 'fastify';
import { ZoneBalanceSource } from '../sources/zone-balance.source.js';
import { zoneBalance } from '../transforms/zone-balance.js';

const DAY_MS = 86_400_000;
/** The longest range one request may ask for (hours of the answer: 24 × this). */
export const MAX_SPAN_DAYS = 93;

interface BalanceQuery {
  tenant?: string;
  from?: string;
  to?: string;
}

/** The range of a balance request: `to` (exclusive) default now, `from` default 7 days before; bounded. */
export function balanceRange(q: { from?: string; to?: string }): { from: number; to: number } {
  const to = q.to ? Date.parse(q.to) : Date.now();
  const from = q.from ? Date.parse(q.from) : to - 7 * DAY_MS;
  if (!(from < to)) throw new HttpError(400, 'BAD_RANGE', '`from` must be before `to`');
  if (to - from > MAX_SPAN_DAYS * DAY_MS)
    throw new HttpError(400, 'BAD_RANGE', `at most ${MAX_SPAN_DAYS} days per request`);
  return { from, to };
}

/** The range parameters of a balance request's query string. */
export const RANGE_PROPERTIES = {
  from: { type: 'string', format: 'date-time', description: 'Default: 7 days before `to`' },
  to: { type: 'string', format: 'date-time', description: 'Exclusive; default now' },
} as const;

const HOUR_SCHEMA = {
  type: 'object',
  properties: {
    hour: { type: 'string', format: 'date-time' },
    inflowL: { type: 'number', description: "Litres the zone's inflow meters measured in the hour" },
    customersL: { type: 'number', description: "Litres the zone's customer meters measured in the hour" },
    balanceL: { type: 'number', description: 'inflowL − customersL: the loss (non-revenue water), L in the hour' },
    inflowCoverage: { type: 'number', description: 'Share of inflow meters whose hour is fully covered' },
    customerCoverage: { type: 'number', description: 'Share of customer meters whose hour is fully covered' },
  },
} as const;

export function registerZoneBalanceRoute(
  app: FastifyInstance,
  deps: { clickhouse: ClickHouseClient; database: string; zoneInflows: ZoneInflows },
): void {
  const source = new ZoneBalanceSource(deps.clickhouse, deps.database);
  app.get<{ Params: { zone: string }; Querystring: BalanceQuery }>(
    '/v1/zones/:zone/balance',
    {
      // Authenticated by the server's access hook before this schema is looked at.
      schema: {
        params: {
          type: 'object',
          properties: { zone: { type: 'string', minLength: 1, maxLength: 200 } },
          required: ['zone'],
        },
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            tenant: {
              type: 'string',
              minLength: 1,
              maxLength: 200,
              description: "The zone's tenant; may be left out by a token of one tenant",
            },
            ...RANGE_PROPERTIES,
          },
        },
        response: {
          200: {
            type: 'object',
            properties: {
              tenant: { type: 'string' },
              zoneId: { type: 'string' },
              from: { type: 'string', format: 'date-time' },
              to: { type: 'string', format: 'date-time' },
              inflowMeters: { type: 'integer' },
              customerMeters: {
                type: 'integer',
                description: 'WATER meters of the zone (its other meters) with data in the range or the 7 days before',
              },
              hours: { type: 'array', items: HOUR_SCHEMA },
            },
          },
        },
      },
    },
    async (req) => {
      const principal = principalOf(req);
      const tenants = principal.tenants;
      const tenant = req.query.tenant ?? (tenants !== null && tenants.length === 1 ? tenants[0] : undefined);
      if (tenant === undefined)
        throw new HttpError(400, 'TENANT_REQUIRED', 'this token sees several tenants: name the zone’s `tenant`');
      const inflows = canRead(principal, tenant) ? deps.zoneInflows[tenant]?.[req.params.zone] : undefined;
      if (inflows === undefined) throw notFound('zone');
      const { from, to } = balanceRange(req.query);
      const { aggregates, customers } = await source.hours({ tenant, zone: req.params.zone, inflows, from, to });
      return {
        tenant,
        zoneId: req.params.zone,
        from: new Date(from).toISOString(),
        to: new Date(to).toISOString(),
        inflowMeters: inflows.length,
        customerMeters: customers,
        hours: zoneBalance(aggregates, { inflow: inflows.length, customers }, from, to).map((h) => ({
          ...h,
          hour: new Date(h.hour).toISOString(),
        })),
      };
    },
  );
}
