export { Aggregator, type AggregatorDeps } from './aggregator.js';
export { rollUp, HOUR_MS, type Series, type HourRow } from './transforms/roll-up.js';
export { registerHourlyRoute } from './http/hourly.route.js';
