/**
 * The HTTP routes of one process, beside core's health routes: the data API of the services
 * that run here, the data-protection routes and the console. `startServices` and the
 * authorisation matrix test build the same server from here, so a route added here and
 * missing from the matrix fails that test.
 */
import {
  Access,
  readTopicRetention,
  registerMeterDataRoutes,
  type ClickHouseClient,
  type ErasedMeters,
  type ErasureNotifier,
  type Kafka,
  type MeterstreamConfig,
  type OutsideCopy,
} from '@meterstream/core';
import { registerHourlyRoute } from '@meterstream/aggregator';
import {
  registerAlertRoutes,
  registerInvoiceCheckRoutes,
  registerZoneBalanceRoute,
  registerZoneBalancesRoute,
} from '@meterstream/anomaly';
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
  /** The process's erased pseudonyms (erasures block and fence through it; un-blocks); absent: not fenced. */
  erased?: ErasedMeters;
  /** Kafka, to read the retention of the topics outside meterstream's control for erasure reports. */
  kafka?: Kafka;
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
  registerMeterDataRoutes(http, {
    clickhouse,
    database,
    erasures: deps.erasures,
    erased: deps.erased,
    outsideControl: deps.kafka ? outsideControl(deps.kafka, config) : undefined,
  });
  if (names.includes('anomaly')) {
    registerAlertRoutes(http, { clickhouse, database });
    registerInvoiceCheckRoutes(http, { clickhouse, database });
    registerZoneBalanceRoute(http, { clickhouse, database, zoneInflows: config.anomaly.zoneInflows });
    registerZoneBalancesRoute(http, { clickhouse, database, zoneInflows: config.anomaly.zoneInflows });
  }
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

/**
 * The topics an erasure cannot reach, which hold the meter's raw ID and data: the head-end's
 * readings and the billing system's invoices, with the retention their broker reports.
 */
export function outsideControl(kafka: Kafka, config: MeterstreamConfig): () => Promise<OutsideCopy[]> {
  const places = [
    { topic: config.topics.readings, holds: "raw meter IDs and readings (the head-end's topic)" },
    { topic: config.topics.invoices, holds: "raw meter IDs and invoices (the billing system's topic)" },
  ];
  return async () => {
    const admin = kafka.admin();
    try {
      await admin.connect();
      const retention = await readTopicRetention(
        admin,
        places.map((p) => p.topic),
      );
      return places.map((p) => ({
        ...p,
        retentionMs: retention.get(p.topic) ?? null,
        known: retention.has(p.topic),
      }));
    } catch {
      return places.map((p) => ({ ...p, retentionMs: null, known: false }));
    } finally {
      await admin.disconnect().catch(() => undefined);
    }
  };
}
