/** The anomaly service and its detectors. */
export { AnomalyService, type AnomalyDeps } from './anomaly.js';
export { registerAlertRoutes } from './http/alerts.route.js';
export { alertOf, dedupKeyOf } from './alerts.js';
export type { AlertTransition, Detector } from './detectors/detector.js';
export { frostRisk, FROST_DEFAULTS, type FrostParams, type FrostState } from './detectors/frost-risk.js';
export {
  nightFlow,
  localHour,
  NIGHT_FLOW_DEFAULTS,
  type NightFlowParams,
  type NightFlowState,
} from './detectors/night-flow.js';
export { burst, BURST_DEFAULTS, type BurstParams, type BurstState } from './detectors/burst.js';
export { meterSilent, SILENCE_DEFAULTS, type SilenceParams, type SilenceState } from './detectors/meter-silent.js';
export {
  checkInvoice,
  convert,
  INVOICE_DEFAULTS,
  type InvoiceCheckInput,
  type InvoiceCheckResult,
  type InvoiceOutcome,
} from './detectors/invoice-check.js';
export {
  checkInvoiceAmount,
  AMOUNT_DEFAULTS,
  type AmountCheckInput,
  type AmountCheckParams,
  type AmountCheckResult,
} from './detectors/invoice-amount.js';
export { registerInvoiceCheckRoutes } from './http/invoice-checks.route.js';
export { registerZoneBalanceRoute } from './http/zone-balance.route.js';
export { registerZoneBalancesRoute } from './http/zone-balances.route.js';
