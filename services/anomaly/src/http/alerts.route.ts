/**
 * `GET /v1/alerts?status=&type=&meter=&zone=&since=&limit=`: alerts, newest first (bearer token),
 * each with its episode's newest acknowledgement (`ack`, or null).
 * `GET /v1/zones?type=`: per (tenant, zone), how many meters have a firing alert of each type — the
 * district view (e.g. how many meters in a zone are leaking).
 * Both answer only for the token's tenants, and read a bounded window of recent episodes
 * (`since`, default the last {@link DEFAULT_DAYS} days), never the whole table.
 */
import { principalOf, tenantCondition, type ClickHouseClient } from '@meterstream/core';
import type { FastifyInstance } from 'fastify';

const TYPES = ['NIGHT_FLOW', 'BURST', 'FROST_RISK', 'INVOICE_MISMATCH', 'METER_SILENT'];
const STATUSES = ['FIRING', 'RESOLVED'];
const Q = { output_format_json_quote_64bit_integers: 0 } as const;
const DAY_MS = 86_400_000;
/** Default window of both routes, days before now. */
export const DEFAULT_DAYS = 30;
/** The most `/v1/alerts` returns per request. */
export const MAX_ALERTS = 1000;

interface AlertsQuery {
  status?: string;
  type?: string;
  meter?: string;
  zone?: string;
  since?: string;
  limit?: number;
}

export function registerAlertRoutes(
  app: FastifyInstance,
  deps: { clickhouse: ClickHouseClient; database: string },
): void {
  const db = deps.database;
  app.get<{ Querystring: AlertsQuery }>(
    '/v1/alerts',
    {
      // Authenticated by the server's access hook before this schema is looked at.
      schema: {
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            status: { type: 'string', enum: STATUSES },
            type: { type: 'string', enum: TYPES },
            meter: { type: 'string', pattern: '^[0-9a-f]{32}$', description: 'Pseudonym' },
            zone: { type: 'string', minLength: 1, maxLength: 200 },
            since: {
              type: 'string',
              format: 'date-time',
              description: `Episodes that started at or after this time; default ${DEFAULT_DAYS} days ago`,
            },
            limit: { type: 'integer', minimum: 1, maximum: MAX_ALERTS, default: 100 },
          },
        },
      },
    },
    async (req) => {
      const q = req.query;
      const scope = tenantCondition(principalOf(req));
      const conds = [scope.sql, "starts_at >= fromUnixTimestamp64Milli(toInt64({since:Int64}), 'UTC')"];
      if (q.status) conds.push('status = {status:String}');
      if (q.type) conds.push('type = {type:String}');
      if (q.meter) conds.push('meter = {meter:String}');
      if (q.zone) conds.push('zone_id = {zone:String}');
      const rs = await deps.clickhouse.query({
        query: `SELECT alert_id, dedup_key, type, status, severity, tenant, meter, zone_id, toUnixTimestamp64Milli(starts_at) AS starts, toUnixTimestamp64Milli(ends_at) AS ends, summary, details
                FROM ${db}.alerts FINAL WHERE ${conds.join(' AND ')} ORDER BY starts_at DESC, dedup_key LIMIT {limit:UInt32}`,
        query_params: {
          status: q.status ?? '',
          type: q.type ?? '',
          meter: q.meter ?? '',
          zone: q.zone ?? '',
          since: q.since ? Date.parse(q.since) : Date.now() - DEFAULT_DAYS * DAY_MS,
          limit: q.limit ?? 100,
          ...scope.params,
        },
        format: 'JSONEachRow',
        clickhouse_settings: Q,
      });
      const rows = await rs.json<Record<string, unknown>>();
      // The newest acknowledgement of each episode (POST /v1/alerts/{id}/ack, the notifier's).
      const acked = await deps.clickhouse.query({
        query: `SELECT dedup_key, argMax(acked_by, acked_at) AS by, toUnixTimestamp64Milli(max(acked_at)) AS at, argMax(note, acked_at) AS note
                FROM ${db}.alert_acks WHERE dedup_key IN {keys:Array(String)} GROUP BY dedup_key`,
        query_params: { keys: rows.map((r) => String(r.dedup_key)) },
        format: 'JSONEachRow',
        clickhouse_settings: Q,
      });
      const acks = new Map(
        (await acked.json<{ dedup_key: string; by: string; at: number; note: string }>()).map((a) => [
          a.dedup_key,
          { by: a.by, at: new Date(Number(a.at)).toISOString(), note: a.note },
        ]),
      );
      return {
        alerts: rows.map((r) => ({
          alertId: r.alert_id,
          dedupKey: r.dedup_key,
          type: r.type,
          status: r.status,
          severity: r.severity,
          tenant: r.tenant,
          meter: r.meter,
          zoneId: r.zone_id,
          startsAt: new Date(Number(r.starts)).toISOString(),
          endsAt: r.ends === null ? null : new Date(Number(r.ends)).toISOString(),
          summary: r.summary,
          details: r.details,
          ack: acks.get(String(r.dedup_key)) ?? null,
        })),
      };
    },
  );

  app.get<{ Querystring: { type?: string; since?: string } }>(
    '/v1/zones',
    {
      schema: {
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            type: { type: 'string', enum: TYPES },
            since: {
              type: 'string',
              format: 'date-time',
              description: `Counts episodes that started at or after this time; default ${DEFAULT_DAYS} days ago`,
            },
          },
        },
      },
    },
    async (req) => {
      const scope = tenantCondition(principalOf(req));
      const since = req.query.since ? Date.parse(req.query.since) : Date.now() - DEFAULT_DAYS * DAY_MS;
      const rs = await deps.clickhouse.query({
        query: `SELECT tenant, zone_id, type, uniqExact(meter) AS meters FROM ${db}.alerts FINAL
                WHERE status = 'FIRING' AND zone_id IS NOT NULL AND ${scope.sql}
                  AND starts_at >= fromUnixTimestamp64Milli(toInt64({since:Int64}), 'UTC')
                  ${req.query.type ? 'AND type = {type:String}' : ''}
                GROUP BY tenant, zone_id, type ORDER BY tenant, zone_id, type`,
        query_params: { type: req.query.type ?? '', since, ...scope.params },
        format: 'JSONEachRow',
        clickhouse_settings: Q,
      });
      // Zones are per tenant: two utilities may both have a zone "Z1".
      const zones = new Map<string, { tenant: string; zoneId: string; firing: Record<string, number> }>();
      for (const r of await rs.json<{ tenant: string; zone_id: string; type: string; meters: number }>()) {
        const key = JSON.stringify([r.tenant, r.zone_id]);
        let z = zones.get(key);
        if (z === undefined) zones.set(key, (z = { tenant: r.tenant, zoneId: r.zone_id, firing: {} }));
        z.firing[r.type] = Number(r.meters);
      }
      return { zones: [...zones.values()] };
    },
  );
}
