/**
 * `GET /v1/meters/{pseudonym}/hourly?kind=&from=&to=&limit=`: a meter's hourly rows, for a token
 * of the meter's tenant (another tenant's meter is a 404, as an unknown one).
 */
import { notFound, principalOf, tenantCondition, type ClickHouseClient } from '@meterstream/core';
import type { FastifyInstance } from 'fastify';

const KINDS = ['ELECTRICITY_IMPORT', 'ELECTRICITY_EXPORT', 'WATER', 'HEAT', 'GAS', 'TEMPERATURE'];
const MAX_SPAN_MS = 366 * 86_400_000;

interface Query {
  kind?: string;
  from?: string;
  to?: string;
  limit?: number;
}

export function registerHourlyRoute(
  app: FastifyInstance,
  deps: { clickhouse: ClickHouseClient; database: string },
): void {
  app.get<{ Params: { pseudonym: string }; Querystring: Query }>(
    '/v1/meters/:pseudonym/hourly',
    {
      // Authenticated by the server's access hook before this schema is looked at.
      schema: {
        params: {
          type: 'object',
          properties: { pseudonym: { type: 'string', pattern: '^[0-9a-f]{32}$' } },
          required: ['pseudonym'],
        },
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            kind: { type: 'string', enum: KINDS },
            from: { type: 'string', format: 'date-time' },
            to: { type: 'string', format: 'date-time' },
            limit: { type: 'integer', minimum: 1, maximum: 10000, default: 1000 },
          },
        },
      },
    },
    async (req, reply) => {
      const scope = tenantCondition(principalOf(req));
      const to = req.query.to ? Date.parse(req.query.to) : Date.now();
      const from = req.query.from ? Date.parse(req.query.from) : to - 7 * 86_400_000;
      if (!(from < to)) return reply.status(400).send({ error: '`from` must be before `to`', code: 'BAD_RANGE' });
      if (to - from > MAX_SPAN_MS)
        return reply.status(400).send({ error: 'at most 366 days per request', code: 'BAD_RANGE' });
      const rs = await deps.clickhouse.query({
        query: `SELECT tenant, kind, unit, formatDateTime(hour, '%Y-%m-%dT%H:%i:%SZ', 'UTC') AS hour_iso, value_sum, value_min, value_max, samples,
                       toUnixTimestamp64Milli(first_ts) AS first_ts, toUnixTimestamp64Milli(last_ts) AS last_ts, coverage, zone_id
                FROM ${deps.database}.readings_hourly FINAL
                WHERE meter = {meter:String} AND ${scope.sql} AND hour >= toDateTime({from:Int64}, 'UTC') AND hour < toDateTime({to:Int64}, 'UTC')
                  ${req.query.kind ? 'AND kind = {kind:String}' : ''}
                ORDER BY kind, hour LIMIT {limit:UInt32}`,
        query_params: {
          meter: req.params.pseudonym,
          from: Math.floor(from / 1000),
          to: Math.ceil(to / 1000),
          kind: req.query.kind ?? '',
          limit: req.query.limit ?? 1000,
          ...scope.params,
        },
        format: 'JSONEachRow',
        clickhouse_settings: { output_format_json_quote_64bit_integers: 0 },
      });
      const rows = await rs.json<Record<string, unknown>>();
      if (rows.length === 0 && !(await known(deps, req.params.pseudonym, scope))) throw notFound('meter');
      return {
        meter: req.params.pseudonym,
        from: new Date(from).toISOString(),
        to: new Date(to).toISOString(),
        rows: rows.map((r) => ({
          tenant: r.tenant,
          kind: r.kind,
          unit: r.unit,
          hour: r.hour_iso,
          valueSum: r.value_sum,
          valueMin: r.value_min,
          valueMax: r.value_max,
          samples: r.samples,
          firstTs: new Date(r.first_ts as number).toISOString(),
          lastTs: new Date(r.last_ts as number).toISOString(),
          coverage: r.coverage,
          zoneId: r.zone_id,
        })),
      };
    },
  );
}

/** The meter has hourly rows in the token's tenants, at any time (one row read at most). */
async function known(
  deps: { clickhouse: ClickHouseClient; database: string },
  meter: string,
  scope: ReturnType<typeof tenantCondition>,
): Promise<boolean> {
  const rs = await deps.clickhouse.query({
    query: `SELECT 1 FROM ${deps.database}.readings_hourly WHERE meter = {meter:String} AND ${scope.sql} LIMIT 1`,
    query_params: { meter, ...scope.params },
    format: 'JSONEachRow',
  });
  return (await rs.json()).length > 0;
}
