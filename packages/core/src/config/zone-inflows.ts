/**
 * A district's inflow meters, by configuration (`METERSTREAM_ZONE_INFLOWS`): per tenant and
 * zone, the raw IDs of the bulk meters that feed the zone. They are pseudonymised at load with
 * the ingestor's keyed MAC (`pseudonymOf`, the same input `tenant + U+001F + meterId`), so the
 * resolved configuration, ClickHouse queries, logs and errors only ever see pseudonyms; an
 * error names the tenant, the zone and the meter's position in its list, never the meter ID.
 *
 * Configuration rather than a `role` in a new MeterReading version: the inflow meters of a
 * district are a handful of bulk meters the utility's network team already lists per district
 * metered area, they change when the network is re-zoned (not with each reading), and a new
 * input schema version would need every head-end to send it (docs/alerts.md, "ZONE_LOSS").
 */
import { ConfigError } from '../errors.js';
import { pseudonymOf } from '../pseudonym.js';
import type { Parser } from './parse.js';

/** The raw form: tenant → zone → raw meter IDs. */
export type RawZoneInflows = Readonly<Record<string, Readonly<Record<string, readonly string[]>>>>;

/** Resolved: tenant → zone → pseudonyms of the zone's inflow meters. */
export type ZoneInflows = Readonly<Record<string, Readonly<Record<string, readonly string[]>>>>;

/** The longest tenant, zone and meter ID the ingestor accepts. */
const MAX_ID_LENGTH = 128;
const MAX_ZONE_LENGTH = 200;
/** What no ID may hold (the ingestor's rule): control characters and U+FFFD. */
const FORBIDDEN_IN_ID = /[\p{Cc}\uFFFD]/u;

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/** The JSON object `{ "<tenant>": { "<zone>": ["<raw meter id>", …] } }`, checked. */
export function zoneInflowsJson(): Parser<RawZoneInflows> {
  return {
    allowed: 'JSON object tenant → zone → [meter ID, …]',
    parse(raw, name) {
      let parsed: unknown;
      try {
        parsed = JSON.parse(raw);
      } catch (err) {
        throw new ConfigError(name, `not JSON: ${(err as Error).message}`);
      }
      return checkZoneInflows(parsed, name);
    },
    refused: '{"t":{"Z1":[]}}',
    other: () => '{"example-tenant":{"Z1":["BULK-1"]}}',
  };
}

function checkZoneInflows(parsed: unknown, name: string): RawZoneInflows {
  if (!isObject(parsed)) throw new ConfigError(name, 'expected an object of tenant → zone → [meter ID, …]');
  for (const [tenant, zones] of Object.entries(parsed)) {
    const t = `tenant ${JSON.stringify(tenant)}`;
    if (tenant.length === 0 || tenant.length > MAX_ID_LENGTH || FORBIDDEN_IN_ID.test(tenant))
      throw new ConfigError(name, `${t}: a tenant has 1..${MAX_ID_LENGTH} characters, no control characters`);
    if (!isObject(zones)) throw new ConfigError(name, `${t}: expected an object of zone → [meter ID, …]`);
    const seen = new Map<string, string>();
    for (const [zone, meters] of Object.entries(zones)) {
      const z = `${t} zone ${JSON.stringify(zone)}`;
      if (zone.length === 0 || zone.length > MAX_ZONE_LENGTH || FORBIDDEN_IN_ID.test(zone))
        throw new ConfigError(name, `${z}: a zone has 1..${MAX_ZONE_LENGTH} characters, no control characters`);
      if (!Array.isArray(meters) || meters.length === 0)
        throw new ConfigError(name, `${z}: expected a non-empty array of meter IDs`);
      meters.forEach((m: unknown, i) => {
        // Never the ID itself in a message: it is a raw meter ID.
        const at = `${z} meter #${i + 1}`;
        if (typeof m !== 'string' || m.length === 0 || m.length > MAX_ID_LENGTH || FORBIDDEN_IN_ID.test(m))
          throw new ConfigError(
            name,
            `${at}: a meter ID is a string of 1..${MAX_ID_LENGTH} characters, no control characters`,
          );
        const other = seen.get(m);
        if (other !== undefined) throw new ConfigError(name, `${at}: the same meter is already ${other}`);
        seen.set(m, `meter #${i + 1} of zone ${JSON.stringify(zone)}`);
      });
    }
  }
  return parsed as RawZoneInflows;
}

/** Pseudonymises the inflow meters; a ConfigError when there are some and no key to do it with. */
export function zoneInflowsOf(raw: RawZoneInflows | null, key: Buffer | null): ZoneInflows {
  if (raw === null) return {};
  if (key === null && Object.values(raw).some((zones) => Object.keys(zones).length > 0))
    throw new ConfigError('METERSTREAM_ZONE_INFLOWS', 'needs METERSTREAM_PSEUDONYM_KEY (meter IDs are pseudonymised)');
  return Object.fromEntries(
    Object.entries(raw).map(([tenant, zones]) => [
      tenant,
      Object.fromEntries(
        Object.entries(zones).map(([zone, ids]) => [zone, ids.map((id) => pseudonymOf(key!, tenant, id))]),
      ),
    ]),
  );
}
