/**
 * The data-protection part of the data API, for admin and operator tokens, on the meters of
 * the token's tenants only (another tenant's meter is a 404, as an unknown one):
 * - `GET /v1/meters/{pseudonym}/export?format=json|csv`: everything stored about one meter
 *   (portability), from every table with a `meter` column, streamed, audited in `export_audit`;
 * - `DELETE /v1/meters/{pseudonym}`: erasure from every such table, fenced against writes in
 *   flight, audited in `erasure_audit`, with what stays outside meterstream's reach and until when;
 * - `POST /v1/meters/{pseudonym}/unblock`: lets an erased meter's data in again (re-registration
 *   for a new customer), audited in `meter_blocks`.
 * The audits' actor is the token's name.
 */
import { Readable } from 'node:stream';
import type { ClickHouseClient } from '@clickhouse/client';
import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import {
  auditExport,
  erasedTenants,
  eraseMeter,
  meterTables,
  meterTenants,
  readMeterRows,
  type MeterTable,
} from '../clickhouse/meter-data.js';
import { recordMeterBlock, type ErasedMeters } from '../erased-meters.js';
import type { ErasureNotifier } from '../erasure-notifier.js';
import { canAdmin, notFound, principalOf, requireAdmin, type Principal } from './access.js';
import { csvCell } from './csv-cell.js';
import { bearerSecurity, errorResponses } from './server.js';

/** Dependencies of {@link registerMeterDataRoutes}. */
export interface MeterDataRouteDeps {
  clickhouse: ClickHouseClient;
  /** Database holding the meterstream tables. */
  database: string;
  /** Where erasures are logged (without the pseudonym); defaults to the server's logger. */
  logger?: Pick<FastifyBaseLogger, 'info' | 'warn'>;
  /** Told of each erasure before its deletes run (the process's in-memory meter state); optional. */
  erasures?: Pick<ErasureNotifier, 'announce'>;
  /**
   * The process's erased set: an erasure blocks the pseudonym and waits for writes in flight
   * before it deletes; un-blocks go through it. Absent (tests of the routes alone): erasures are
   * not fenced, and un-block answers 404.
   */
  erased?: ErasedMeters;
  /** Copies outside meterstream's control that may still hold the meter; absent: none listed. */
  outsideControl?: () => Promise<OutsideCopy[]>;
}

/** A place outside meterstream's reach that may still hold an erased meter's data. */
export interface OutsideCopy {
  /** The Kafka topic. */
  topic: string;
  /** What it holds, e.g. `raw meter IDs and readings`. */
  holds: string;
  /** Its `retention.ms` as the broker reports it; `null`: unlimited (-1), or unknown when `known` is false. */
  retentionMs: number | null;
  /** False when the broker could not be asked. */
  known: boolean;
}

/** The CSV header of an export: one line per stored, non-NULL value. */
export const EXPORT_CSV_HEADER = ['table', 'row', 'column', 'type', 'value'] as const;

const PSEUDONYM_PARAMS = {
  type: 'object',
  required: ['pseudonym'],
  properties: {
    pseudonym: {
      type: 'string',
      pattern: '^[0-9a-f]{32}$',
      description: "The meter's pseudonym: 32 lowercase hex characters.",
    },
  },
} as const;

const ADMIN_ERROR_TEXT = {
  400: 'Bad pseudonym or query parameter',
  401: 'Missing or unknown bearer token',
  403: 'A read token (admin or operator needed), or no token configured at all',
  404: "No such meter among the token's tenants",
  429: 'Over the rate limit of the token',
};
const ADMIN_ERRORS = errorResponses(ADMIN_ERROR_TEXT);

const EXPORT_DESCRIPTION = `Everything stored about one meter, from every table of the database with a \`meter\` column, read as queries see it (FINAL for ReplacingMergeTree tables). Timestamps are ISO 8601 UTC; 64-bit integers are strings.

- \`format=json\` (default): \`{ pseudonym, exportedAt, tables: { <table>: [ { <column>: value, ... }, ... ] } }\`.
- \`format=csv\`: RFC 4180 CSV in long form, one line per stored value: \`${EXPORT_CSV_HEADER.join(',')}\`. \`row\` numbers the rows of each table from 1; \`type\` is the ClickHouse column type; \`value\` is the value as text (maps and arrays as JSON). A NULL value has no line. A cell that begins with \`=\`, \`+\`, \`-\`, \`@\`, a tab or a carriage return and is not a number gets a leading \`'\`, so a spreadsheet shows it as text instead of running it as a formula. Lines end in CRLF; sent as an attachment \`meter-<pseudonym>.csv\`.

Only a meter of the token's tenants: another tenant's meter, or an unknown one, is a 404. Every export is recorded in \`export_audit\` (pseudonym, tenant, time, the token's name, format).`;

const ERASE_DESCRIPTION = `First blocks the pseudonym (recorded in \`meter_blocks\`): every stage refuses its readings, hourly rows, invoices and alerts from then on, so late deliveries and replays cannot bring it back; then waits for the writes already in flight. Then deletes every row about one meter from every table of the database with a \`meter\` column, physically (\`ALTER TABLE … DELETE\` mutations, waited for), then reads the tables' parts with the deleted-rows mask off to check that none is left, and records the erasure in \`erasure_audit\`: pseudonym, tenant, time, actor (the token's name) and the rows each table held. Only a meter of the token's tenants (404 otherwise). Idempotent: an already erased pseudonym gives zero counts and is audited again; an operator token may erase a pseudonym with no rows at all. \`complete\` is true only when the writes in flight were waited for and no part holds a row of the meter; otherwise \`remaining\` names the tables: erase again. \`outsideControl\` lists the topics meterstream cannot erase (the head-end's raw readings, the billing system's invoices), with their retention as the broker reports it and \`until\`: the time their copy of the meter's records expires at the latest (erasure time + retention; \`null\` when unlimited or unknown). Un-block with \`POST /v1/meters/{pseudonym}/unblock\`.`;

const UNBLOCK_DESCRIPTION = `Lets data of an erased pseudonym in again, for a meter registered anew (the same meter for a new customer under the same key). The erasure's block is lifted in every process within \`METERSTREAM_ERASED_REFRESH_SECONDS\` (at once in this one), and recorded in \`meter_blocks\` with the token's name. Nothing erased comes back by itself: readings still in the head-end's topic would be accepted again if replayed. Only a meter erased for one of the token's tenants (404 otherwise); repeatable, each un-block recorded. 201 with \`{ pseudonym, unblockedAt }\`.`;

// Rows are sent in chunks of about this many characters.
const CHUNK_CHARS = 64 * 1024;

/** Registers the export and erasure routes. */
export function registerMeterDataRoutes(app: FastifyInstance, deps: MeterDataRouteDeps): void {
  const logger = deps.logger ?? app.log;

  app.get<{ Params: { pseudonym: string }; Querystring: { format?: 'json' | 'csv' } }>(
    '/v1/meters/:pseudonym/export',
    {
      // After the server's authentication, before validation: a read token learns nothing.
      onRequest: requireAdmin,
      schema: {
        tags: ['data protection'],
        summary: 'Export everything stored about one meter (portability)',
        description: EXPORT_DESCRIPTION,
        security: bearerSecurity,
        params: PSEUDONYM_PARAMS,
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: { format: { type: 'string', enum: ['json', 'csv'], default: 'json' } },
        },
        response: {
          200: {
            description: 'The export (streamed)',
            content: {
              'application/json': {
                schema: {
                  type: 'object',
                  properties: {
                    pseudonym: { type: 'string' },
                    exportedAt: { type: 'string', format: 'date-time' },
                    tables: {
                      type: 'object',
                      additionalProperties: { type: 'array', items: { type: 'object', additionalProperties: true } },
                    },
                  },
                },
              },
              'text/csv': { schema: { type: 'string' } },
            },
          },
          ...ADMIN_ERRORS,
        },
      },
    },
    async (req, reply) => {
      const { pseudonym } = req.params;
      const principal = principalOf(req);
      // Discovered before the first byte, so a failure here is still a JSON error.
      const tables = await meterTables(deps.clickhouse, deps.database);
      const tenants = await meterTenants(deps.clickhouse, deps.database, tables, pseudonym);
      if (tenants.length === 0 || !tenants.every((t) => canAdmin(principal, t))) throw notFound('meter');
      const at = new Date();
      const exportedAt = at.toISOString();
      await auditExport(deps.clickhouse, deps.database, {
        pseudonym,
        tenant: tenants.join(','),
        actor: principal.name,
        format: req.query.format ?? 'json',
        at,
      });
      void reply.header('cache-control', 'no-store');
      if (req.query.format === 'csv') {
        void reply
          .type('text/csv; charset=utf-8; header=present')
          .header('content-disposition', `attachment; filename="meter-${pseudonym}.csv"`);
        return reply.send(Readable.from(chunked(csvExport(deps, tables, pseudonym)), { objectMode: false }));
      }
      void reply.type('application/json; charset=utf-8');
      return reply.send(Readable.from(chunked(jsonExport(deps, tables, pseudonym, exportedAt)), { objectMode: false }));
    },
  );

  app.delete<{ Params: { pseudonym: string } }>(
    '/v1/meters/:pseudonym',
    {
      onRequest: requireAdmin,
      schema: {
        tags: ['data protection'],
        summary: 'Erase everything stored about one meter (audited)',
        description: ERASE_DESCRIPTION,
        security: bearerSecurity,
        params: PSEUDONYM_PARAMS,
        response: {
          200: {
            description: 'Erased; the counts are the rows each table held',
            type: 'object',
            properties: {
              pseudonym: { type: 'string' },
              erasedAt: { type: 'string', format: 'date-time' },
              deleted: { type: 'object', additionalProperties: { type: 'integer' } },
              total: { type: 'integer' },
              complete: { type: 'boolean' },
              remaining: { type: 'object', additionalProperties: { type: 'integer' } },
              outsideControl: {
                type: 'array',
                items: {
                  type: 'object',
                  properties: {
                    topic: { type: 'string' },
                    holds: { type: 'string' },
                    retentionMs: { type: 'integer', nullable: true },
                    known: { type: 'boolean' },
                    until: { type: 'string', format: 'date-time', nullable: true },
                  },
                },
              },
            },
          },
          ...ADMIN_ERRORS,
        },
      },
    },
    async (req) => {
      const principal = principalOf(req);
      const tenant = await tenantToErase(deps, principal, req.params.pseudonym);
      const erasure = await eraseMeter(
        deps.clickhouse,
        deps.database,
        req.params.pseudonym,
        { actor: principal.name, tenant },
        deps.erased ?? deps.erasures,
      );
      const total = Object.values(erasure.deleted).reduce((a, b) => a + b, 0);
      const complete = erasure.fenced && Object.keys(erasure.remaining).length === 0;
      const outside = (await deps.outsideControl?.()) ?? [];
      // No pseudonym in the log: logs outlive the erasure; erasure_audit is the record.
      logger.info({ tables: Object.keys(erasure.deleted).length, rows: total, complete }, 'meter erased');
      if (!complete)
        logger.warn({ remaining: erasure.remaining }, 'rows about the erased meter were written during the erasure');
      return {
        pseudonym: erasure.pseudonym,
        erasedAt: erasure.erasedAt.toISOString(),
        deleted: erasure.deleted,
        total,
        complete,
        remaining: erasure.remaining,
        outsideControl: outside.map((o) => ({
          topic: o.topic,
          holds: o.holds,
          retentionMs: o.retentionMs,
          known: o.known,
          until: o.retentionMs === null ? null : new Date(erasure.erasedAt.getTime() + o.retentionMs).toISOString(),
        })),
      };
    },
  );

  app.post<{ Params: { pseudonym: string } }>(
    '/v1/meters/:pseudonym/unblock',
    {
      onRequest: requireAdmin,
      schema: {
        tags: ['data protection'],
        summary: 'Let data of an erased meter in again (re-registration; audited)',
        description: UNBLOCK_DESCRIPTION,
        security: bearerSecurity,
        params: PSEUDONYM_PARAMS,
        response: {
          201: {
            description: 'Un-blocked (recorded in meter_blocks)',
            type: 'object',
            properties: { pseudonym: { type: 'string' }, unblockedAt: { type: 'string', format: 'date-time' } },
          },
          ...errorResponses({
            ...ADMIN_ERROR_TEXT,
            404: "No blocked meter of that pseudonym among the token's tenants",
          }),
        },
      },
    },
    async (req, reply) => {
      const principal = principalOf(req);
      const { pseudonym } = req.params;
      const tenants = (await erasedTenants(deps.clickhouse, deps.database, pseudonym)).filter((t) => t !== '');
      if (tenants.length === 0 || !tenants.every((t) => canAdmin(principal, t))) throw notFound('erased meter');
      const request = { tenant: tenants.join(','), actor: principal.name };
      // Repeatable, like an erasure: each un-block is recorded.
      if (deps.erased) await deps.erased.unblock(pseudonym, request);
      else await recordMeterBlock(deps.clickhouse, deps.database, pseudonym, 0, request, 'unblock');
      logger.info('erased meter un-blocked');
      return reply.status(201).send({ pseudonym, unblockedAt: new Date().toISOString() });
    },
  );
}

/**
 * The tenant of the meter to erase, if the principal may erase it: from its rows, or for a
 * meter with none left, from earlier erasures. A pseudonym no row and no erasure knows is
 * erasable by an operator only (its tenant cannot be told), and a 404 for a tenant's admin.
 */
async function tenantToErase(deps: MeterDataRouteDeps, principal: Principal, pseudonym: string): Promise<string> {
  const tables = await meterTables(deps.clickhouse, deps.database);
  let tenants = await meterTenants(deps.clickhouse, deps.database, tables, pseudonym);
  if (tenants.length === 0) tenants = await erasedTenants(deps.clickhouse, deps.database, pseudonym);
  tenants = tenants.filter((t) => t !== '');
  if (tenants.length === 0 ? principal.tenants !== null : !tenants.every((t) => canAdmin(principal, t)))
    throw notFound('meter');
  return tenants.join(',');
}

async function* jsonExport(
  deps: MeterDataRouteDeps,
  tables: MeterTable[],
  pseudonym: string,
  exportedAt: string,
): AsyncGenerator<string> {
  yield `{"pseudonym":${JSON.stringify(pseudonym)},"exportedAt":${JSON.stringify(exportedAt)},"tables":{`;
  for (const [t, table] of tables.entries()) {
    const { columns, rows } = await readMeterRows(deps.clickhouse, deps.database, table, pseudonym);
    yield `${t === 0 ? '' : ','}${JSON.stringify(table.name)}:[`;
    let first = true;
    for await (const values of rows) {
      yield `${first ? '' : ','}${JSON.stringify(Object.fromEntries(columns.map((c, i) => [c.name, values[i]])))}`;
      first = false;
    }
    yield ']';
  }
  yield '}}';
}

async function* csvExport(deps: MeterDataRouteDeps, tables: MeterTable[], pseudonym: string): AsyncGenerator<string> {
  yield csvLine(EXPORT_CSV_HEADER);
  for (const table of tables) {
    const { columns, rows } = await readMeterRows(deps.clickhouse, deps.database, table, pseudonym);
    let row = 0;
    for await (const values of rows) {
      row++;
      for (const [i, c] of columns.entries()) {
        const v = values[i];
        if (v === null || v === undefined) continue;
        const text = typeof v === 'object' ? JSON.stringify(v) : String(v);
        yield csvLine([table.name, String(row), c.name, c.type, csvCell(text)]);
      }
    }
  }
}

/** One RFC 4180 line: fields with a comma, quote or line break are quoted, quotes doubled. */
export function csvLine(fields: readonly string[]): string {
  return `${fields.map((f) => (/[",\r\n]/.test(f) ? `"${f.replace(/"/g, '""')}"` : f)).join(',')}\r\n`;
}

/** Joins small pieces into chunks of about {@link CHUNK_CHARS}: fewer, larger writes. */
async function* chunked(pieces: AsyncIterable<string>): AsyncGenerator<string> {
  let buffer = '';
  for await (const piece of pieces) {
    buffer += piece;
    if (buffer.length >= CHUNK_CHARS) {
      yield buffer;
      buffer = '';
    }
  }
  if (buffer.length > 0) yield buffer;
}
