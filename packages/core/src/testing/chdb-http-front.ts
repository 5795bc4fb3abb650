/**
 * TEST SUPPORT ONLY — never shipped as a server. The embedded engine (chDB) in its own process
 * behind the subset of ClickHouse's HTTP interface that `@clickhouse/client` speaks, so several
 * service processes can share one engine over `CLICKHOUSE_URL` on a machine without a ClickHouse
 * server binary (the registries have none newer than 18.16). What it answers:
 *
 * - `GET /ping` → `Ok.\n`; `GET|POST /?query=…` with the SQL in `query` and/or the body (for an
 *   INSERT the body is the data, as on the server: the two are joined by a newline).
 * - `param_<name>` query parameters (bound by chDB), `database`, `default_format` (the result
 *   format when the SQL names none; TabSeparated otherwise, as the server), every other URL
 *   parameter as a setting of that request only (`SET k = v` before, `SET k = DEFAULT` after).
 * - gzip request bodies (`Content-Encoding: gzip`) and gzip answers when asked
 *   (`enable_http_compression=1` and `Accept-Encoding: gzip`).
 * - Errors: HTTP 500 (404 for unknown tables/databases, 400 for syntax) with the
 *   `X-ClickHouse-Exception-Code` header and ClickHouse's text (`Code: N. DB::Exception: …`).
 * - `X-ClickHouse-Query-Id`, `X-ClickHouse-Format`, `X-ClickHouse-Summary`.
 *
 * One statement at a time, as the embedded engine runs them (see clickhouse/engine-queue.ts).
 * No authentication: it listens on 127.0.0.1 only.
 */
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { fileURLToPath } from 'node:url';
import { gunzipSync, gzipSync } from 'node:zlib';
import { EngineQueue } from '../clickhouse/engine-queue.js';

/** The part of chDB's `Session` the front uses. */
interface ChdbSession {
  queryAsync(sql: string, opts?: { format?: string }): Promise<{ bytes(): Uint8Array; rowsRead: number }>;
  queryBindAsync(
    sql: string,
    params: object,
    opts?: { format?: string },
  ): Promise<{ bytes(): Uint8Array; rowsRead: number }>;
  close(): void;
}

/** URL parameters that are not settings. */
const NOT_SETTINGS = new Set([
  'query',
  'query_id',
  'database',
  'default_format',
  'session_id',
  'session_timeout',
  'role',
  'user',
  'password',
  'compress',
  'decompress',
  // HTTP-layer settings the embedded engine does not know.
  'enable_http_compression',
  'wait_end_of_query',
  'send_progress_in_http_headers',
  'http_headers_progress_interval_ms',
  'http_response_buffer_size',
  'output_format_parallel_formatting',
]);

// The HTTP status ClickHouse's server gives some error codes (src/Server/HTTPHandler.cpp).
const STATUS_BY_CODE: Record<string, number> = { '60': 404, '81': 404, '62': 400, '46': 400, '47': 400, '36': 400 };

/** A running front. */
export interface ChdbHttpFront {
  /** `http://127.0.0.1:<port>` */
  url: string;
  close(): Promise<void>;
}

function quote(v: string): string {
  return `'${v.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  const raw = Buffer.concat(chunks);
  return (req.headers['content-encoding'] === 'gzip' ? gunzipSync(raw) : raw).toString('utf8');
}

/** The error text of a failed statement in ClickHouse's format, and its code. */
function clickhouseError(err: unknown): { code: string; text: string } {
  const message = err instanceof Error ? err.message : String(err);
  const m = /Code: (\d+)\. /.exec(message);
  const code = m ? m[1] : '1000';
  return { code, text: m ? message.slice(m.index) : `Code: 1000. DB::Exception: ${message}. (UNKNOWN_EXCEPTION)` };
}

/** Serves `session` over HTTP on 127.0.0.1 (`port` 0: any free one). */
export async function serveChdbOverHttp(session: ChdbSession, port = 0): Promise<ChdbHttpFront> {
  const queue = new EngineQueue();

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://front');
    if (url.pathname === '/ping' || (url.pathname === '/' && req.method === 'GET' && !url.searchParams.has('query'))) {
      res.writeHead(200, { 'Content-Type': 'text/plain; charset=UTF-8' }).end('Ok.\n');
      return;
    }
    const body = req.method === 'POST' ? await readBody(req) : '';
    const inUrl = url.searchParams.get('query');
    const sql = inUrl === null ? body : body.length > 0 ? `${inUrl}\n${body}` : inUrl;
    const params: Record<string, string> = {};
    const settings: [string, string][] = [];
    for (const [k, v] of url.searchParams) {
      if (k.startsWith('param_')) params[k.slice(6)] = v;
      else if (!NOT_SETTINGS.has(k) && /^[A-Za-z_][A-Za-z0-9_]*$/.test(k)) settings.push([k, v]);
    }
    const format = url.searchParams.get('default_format') ?? 'TabSeparated';
    const database = url.searchParams.get('database');
    const queryId = url.searchParams.get('query_id') ?? randomUUID();
    const prefix = [
      ...(database !== null && /^[A-Za-z0-9_]+$/.test(database) ? [`USE ${database}`] : []),
      ...settings.map(([k, v]) => `SET ${k} = ${/^-?\d+(\.\d+)?$/.test(v) ? v : quote(v)}`),
    ];
    const statement = prefix.length > 0 ? `${prefix.join('; ')}; ${sql}` : sql;
    try {
      const result = await queue.run(async () => {
        try {
          return Object.keys(params).length > 0
            ? await session.queryBindAsync(statement, params, { format })
            : await session.queryAsync(statement, { format });
        } finally {
          // Settings and database last for this request only, as on the server.
          const reset = [
            ...(settings.length > 0 ? [`SET ${settings.map(([k]) => `${k} = DEFAULT`).join(', ')}`] : []),
            ...(database !== null ? ['USE default'] : []),
          ];
          for (const r of reset) await session.queryAsync(r).catch(() => undefined);
        }
      });
      let out = Buffer.from(result.bytes());
      const headers: Record<string, string> = {
        'Content-Type': 'text/plain; charset=UTF-8',
        'X-ClickHouse-Query-Id': queryId,
        'X-ClickHouse-Format': format,
        'X-ClickHouse-Summary': JSON.stringify({
          read_rows: String(result.rowsRead ?? 0),
          read_bytes: '0',
          written_rows: '0',
          written_bytes: '0',
          total_rows_to_read: '0',
          result_rows: '0',
          result_bytes: '0',
        }),
      };
      if (
        url.searchParams.get('enable_http_compression') === '1' &&
        /gzip/.test(req.headers['accept-encoding'] ?? '')
      ) {
        out = gzipSync(out);
        headers['Content-Encoding'] = 'gzip';
      }
      res.writeHead(200, headers).end(out);
    } catch (err) {
      const { code, text } = clickhouseError(err);
      res
        .writeHead(STATUS_BY_CODE[code] ?? 500, {
          'Content-Type': 'text/plain; charset=UTF-8',
          'X-ClickHouse-Query-Id': queryId,
          'X-ClickHouse-Exception-Code': code,
        })
        .end(`${text.trimEnd()}\n`);
    }
  }

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) res.writeHead(500, { 'X-ClickHouse-Exception-Code': '1000' });
      res.end(`Code: 1000. DB::Exception: ${String(err)}. (UNKNOWN_EXCEPTION)\n`);
    });
  });
  server.keepAliveTimeout = 10_000;
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  const address = server.address();
  const bound = typeof address === 'object' && address !== null ? address.port : port;
  return {
    url: `http://127.0.0.1:${bound}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** The front in a child process of its own, on `dataDir`; `stop` ends it (SIGTERM, then SIGKILL). */
export async function spawnChdbHttpFront(dataDir: string): Promise<ChdbHttpFront> {
  const main = fileURLToPath(new URL('./chdb-http-front.main.js', import.meta.url));
  const child = spawn(process.execPath, [main, dataDir], { stdio: ['ignore', 'pipe', 'inherit'] });
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => {
      out += String(chunk);
      const m = /listening on (\S+)/.exec(out);
      if (m) resolve(m[1]);
    });
    child.once('exit', (code) => reject(new Error(`chdb-http-front exited (${code}) before listening`)));
  });
  return {
    url,
    close: async () => {
      if (child.exitCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    },
  };
}
