/** The notifier: alert delivery to Alertmanager and signed webhooks, acknowledgements and silences. */
export { NotifierService, configuredSinks, type NotifierDeps } from './notifier.js';
export { registerAckRoute } from './http/ack.route.js';
export { registerSilenceRoutes, type SilenceRouteDeps } from './http/silences.route.js';
export { AcksStore } from './state/acks.store.js';
export { SilencesStore } from './state/silences.store.js';
export { signature, verifySignature } from './transforms/signature.js';
