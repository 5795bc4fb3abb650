/**
 * @meterstream/simulator: a labelled synthetic meter fleet. `planFleet(options)` draws the
 * meters, their habits and the injected anomalies with ground-truth labels; `deliveries(plan)`
 * streams the readings and invoices a head-end would send, in time order. Pure and
 * deterministic from the seed: no Kafka, no I/O. Used by the anomaly service's tests, the
 * `meterstream simulate` command and the anomaly benchmark.
 */
export type {
  AnomalyRates,
  Delivery,
  ElectricityProfile,
  FleetOptions,
  FleetPlan,
  Granularity,
  Injection,
  InvoicePeriod,
  Label,
  MeterProfile,
  MeterRole,
  PriceDelivery,
  ResolvedFleetOptions,
  RoomProfile,
  SimMeter,
  Tariff,
  WaterProfile,
} from './types.js';
export { priceDeliveries, spotPrice } from './prices.js';
export { DEFAULT_RATES, DEFAULT_TARIFF } from './options.js';
export { planFleet, ROLE_MIX, ROOM_INTERVAL_MS } from './fleet.js';
export { deliveries } from './deliveries.js';
export { prng } from './random.js';
export {
  DEFAULT_DISTRICT_OPTIONS,
  districtHours,
  planDistricts,
  type DistrictLabel,
  type DistrictLeak,
  type DistrictMeterHour,
  type DistrictOptions,
  type DistrictPlan,
  type SimDistrict,
} from './districts.js';
