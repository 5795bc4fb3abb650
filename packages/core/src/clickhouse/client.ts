/**
 * One ClickHouse API for both deployments: `@clickhouse/client` over HTTP to a server when
 * `CLICKHOUSE_URL` is set, otherwise the embedded engine (chDB) plugged in as the client's
 * connection. The same SQL runs on both.
 */
import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { createClient, type ClickHouseClient } from '@clickhouse/client';
import type { ClickHouseConfig } from '../config.js';
import { queued } from './engine-queue.js';
import { scopedSettings } from './scoped-settings.js';

export type { ClickHouseClient };

/** Opens a client. The embedded engine allows one data path per process. */
export async function createClickHouse(config: Omit<ClickHouseConfig, 'cluster'>): Promise<ClickHouseClient> {
  if (config.url !== null) {
    return createClient({
      url: config.url,
      username: config.user,
      password: config.password,
      request_timeout: 60_000,
      compression: { request: true, response: true },
    });
  }
  const path = resolve(config.dataDir);
  mkdirSync(path, { recursive: true });
  // Loaded only when embedded: the engine is a large native library.
  const { createChdbConnection } = await import('chdb/connection');
  // chdb re-exports client-common's Connection type, which differs nominally from the one
  // @clickhouse/client bundles; the runtime contract is the same.
  // One statement at a time, urgent work first (see engine-queue.ts); each statement's settings
  // last for that statement only (see scoped-settings.ts).
  const statements = ['query', 'exec', 'command', 'insert'];
  const connection = queued(scopedSettings(createChdbConnection({ path }), statements), [...statements, 'ping']);
  return createClient({
    connection: connection as unknown as NonNullable<Parameters<typeof createClient>[0]>['connection'],
  });
}

/** The `/readyz` check of a client: ClickHouse answers a ping (a stalled one fails by the check timeout). */
export function clickHouseReadiness(client: ClickHouseClient): () => Promise<true | string> {
  return async () => {
    const r = await client.ping();
    return r.success ? true : `ClickHouse unreachable: ${r.error.message}`;
  };
}
