/**
 * The HTTP routes of one process, beside core's health routes: the data API of the services
 * that run here, the data-protection routes and the console. `startServices` and the
 * authorisation matrix test build the same server from here, so a route added here and
 * missing from the matrix fails that test.
 */
import {
  Access,
  registerMeterDataRoutes,
  type ClickHouseClient,
  type ErasureNotifier,
  type MeterstreamConfig,
} from '@meterstream/core';
import { registerHourlyRoute } from '@meterstream/aggregator';
import { registerAlertRoutes } from '@meterstream/anomaly';
import { AcksStore, registerAckRoute, registerSilenceRoutes, type NotifierService } from '@meterstream/notifier';
import { registerConsole } from '@meterstream/console';
import type { FastifyInstance } from 'fastify';
import type { ServiceName } from './services.js';

/** What the routes need. */
export interface HttpRouteDeps {
  config: MeterstreamConfig;
  clickhouse: ClickHouseClient;
  /** The process's erasure announcements (the anomaly service's in-memory state hears them). */
  erasures: ErasureNotifier;
  /** The notifier of this process, when it runs here. */
  notifier: Pick<NotifierService, 'silences' | 'sweep'> | null;
}

/** The access of a configuration: its tokens, by hash. */
export function accessOf(config: MeterstreamConfig): Access {
  return new Access(config.credentials);
}

/** Registers the routes of the named services on `http` (built with `accessOf(config)`). */
export function registerHttpRoutes(http: FastifyInstance, names: readonly ServiceName[], deps: HttpRouteDeps): void {
  const { config, clickhouse } = deps;
  const database = config.clickhouse.database;
  if (names.includes('aggregator')) registerHourlyRoute(http, { clickhouse, database });
  registerMeterDataRoutes(http, { clickhouse, database, erasures: deps.erasures });
  if (names.includes('anomaly')) registerAlertRoutes(http, { clickhouse, database });
  if (deps.notifier !== null) {
    const n = deps.notifier;
    registerAckRoute(http, { acks: new AcksStore(clickhouse, database) });
    registerSilenceRoutes(http, { silences: n.silences, changed: () => void n.sweep() });
  }
  // The console reads the API above through the browser; it needs the routes of the aggregator and anomaly service.
  registerConsole(http, {
    detectors: config.anomaly.detectors,
    tenants: config.anomaly.tenants,
  });
}
