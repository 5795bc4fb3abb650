/**
 * `GET /v1/balances?from=&to=`: every district with a water balance (`METERSTREAM_ZONE_INFLOWS`)
 * of the tenants the token may read, each summed over the range: the hours in which every inflow
 * meter reported in full are added up (inflow, customers, loss), the other hours are counted, and
 * the customer meters' mean coverage of the added hours says how far the loss may be overstated
 * by customer meters that had not reported yet. The console's districts page shows it; the
 * hours behind each line are `GET /v1/zones/{zone}/balance`.
 */
import { principalOf, canRead, type ClickHouseClient, type ZoneInflows } from '@meterstream/core';
import type { FastifyInstance } from 'fastify';
import { ZoneBalanceSource } from '../sources/zone-balance.source.js';
import { zoneBalance, type ZoneBalanceHour } from '../transforms/zone-balance.js';
import { RANGE_PROPERTIES, balanceRange } from './zone-balance.route.js';

/** One district's balance over a range. */
export interface ZoneBalanceSummary {
  tenant: string;
  zoneId: string;
  inflowMeters: number;
  customerMeters: number;
  /** Hours of the range in which every inflow meter reported in full: the ones summed. */
  completeHours: number;
  /** Hours of the range left out (an inflow meter missing or partial). */
  incompleteHours: number;
  inflowL: number;
  customersL: number;
  /** inflowL − customersL over the complete hours. */
  balanceL: number;
  /** balanceL as a share of inflowL (%), null without inflow. */
  lossPercent: number | null;
  /** Mean share of customer meters fully covered in the complete hours (0..1), null without one. */
  customerCoverage: number | null;
}

/** Sums a zone's balance hours: pure, the rules above. */
export function summariseBalance(
  hours: readonly ZoneBalanceHour[],
): Omit<ZoneBalanceSummary, 'tenant' | 'zoneId' | 'inflowMeters' | 'customerMeters'> {
  const complete = hours.filter((h) => h.inflowCoverage >= 1);
  const sum = (f: (h: ZoneBalanceHour) => number) => complete.reduce((a, h) => a + f(h), 0);
  const inflowL = sum((h) => h.inflowL);
  const customersL = sum((h) => h.customersL);
  const balanceL = inflowL - customersL;
  return {
    completeHours: complete.length,
    incompleteHours: hours.length - complete.length,
    inflowL,
    customersL,
    balanceL,
    lossPercent: inflowL > 0 ? (100 * balanceL) / inflowL : null,
    customerCoverage: complete.length > 0 ? sum((h) => h.customerCoverage) / complete.length : null,
  };
}

export function registerZoneBalancesRoute(
  app: FastifyInstance,
  deps: { clickhouse: ClickHouseClient; database: string; zoneInflows: ZoneInflows },
): void {
  const source = new ZoneBalanceSource(deps.clickhouse, deps.database);
  app.get<{ Querystring: { from?: string; to?: string } }>(
    '/v1/balances',
    {
      // Authenticated by the server's access hook before this schema is looked at.
      schema: {
        querystring: { type: 'object', additionalProperties: false, properties: { ...RANGE_PROPERTIES } },
        response: {
          200: {
            type: 'object',
            properties: {
              from: { type: 'string', format: 'date-time' },
              to: { type: 'string', format: 'date-time' },
              zones: {
                type: 'array',
                items: {
                  type: 'object',
                  properties: {
                    tenant: { type: 'string' },
                    zoneId: { type: 'string' },
                    inflowMeters: { type: 'integer' },
                    customerMeters: { type: 'integer' },
                    completeHours: { type: 'integer' },
                    incompleteHours: { type: 'integer' },
                    inflowL: { type: 'number' },
                    customersL: { type: 'number' },
                    balanceL: { type: 'number' },
                    lossPercent: { type: ['number', 'null'] },
                    customerCoverage: { type: ['number', 'null'] },
                  },
                },
              },
            },
          },
        },
      },
    },
    async (req) => {
      const principal = principalOf(req);
      const { from, to } = balanceRange(req.query);
      const zones: ZoneBalanceSummary[] = [];
      for (const [tenant, byZone] of Object.entries(deps.zoneInflows).sort(([a], [b]) => a.localeCompare(b))) {
        if (!canRead(principal, tenant)) continue;
        for (const [zone, inflows] of Object.entries(byZone).sort(([a], [b]) => a.localeCompare(b))) {
          const { aggregates, customers } = await source.hours({ tenant, zone, inflows, from, to });
          const hours = zoneBalance(aggregates, { inflow: inflows.length, customers }, from, to);
          zones.push({
            tenant,
            zoneId: zone,
            inflowMeters: inflows.length,
            customerMeters: customers,
            ...summariseBalance(hours),
          });
        }
      }
      return { from: new Date(from).toISOString(), to: new Date(to).toISOString(), zones };
    },
  );
}
