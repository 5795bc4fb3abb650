/**
 * Per-statement settings on the embedded engine. chDB's connection applies a statement's
 * `clickhouse_settings` as `SET k = v; <statement>` in its one session, where they stay in force
 * for every later statement: an insert's `insert_deduplication_token` would be carried by the
 * next insert without one (and dropped as its duplicate), an export's
 * `date_time_output_format = 'iso'` would change every later result. Over HTTP a setting lasts
 * one request; this wrapper gives the embedded engine the same scope by setting each one back to
 * its default after the statement, inside the same engine-queue slot (wrap before `queued`).
 */

/** Settings chDB's connection does not SET (HTTP-only ones, and `default_format`, an option there). */
const NOT_SET = new Set([
  'default_format',
  'wait_end_of_query',
  'send_progress_in_http_headers',
  'http_response_buffer_size',
  'http_headers_progress_interval_ms',
  'http_send_progress_interval_ms',
  'enable_http_compression',
  'http_zlib_compression_level',
  'http_response_compression_method',
  'http_native_compression_disable_checksumming_on_decompress',
]);

interface Statement {
  clickhouse_settings?: Record<string, unknown>;
}

interface Commands {
  command(params: { query: string }): Promise<unknown>;
}

/** Wraps a connection so that the settings of each call of `methods` end with the call. */
export function scopedSettings<C extends Commands>(connection: C, methods: readonly string[]): C {
  return new Proxy(connection, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver);
      if (typeof value !== 'function') return value;
      if (!methods.includes(String(prop))) return value.bind(target);
      return async (params: Statement, ...rest: unknown[]) => {
        const names = Object.entries(params?.clickhouse_settings ?? {})
          .filter(([k, v]) => v !== undefined && !NOT_SET.has(k))
          .map(([k]) => k);
        try {
          return await (value as (...a: unknown[]) => Promise<unknown>).call(target, params, ...rest);
        } finally {
          if (names.length > 0) await target.command({ query: `SET ${names.map((n) => `${n} = DEFAULT`).join(', ')}` });
        }
      };
    },
  });
}
