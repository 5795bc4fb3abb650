export { Ingestor, type IngestorDeps } from './ingestor.js';
export { prepareBatch, type PreparedBatch, type SourceMessage } from './transforms/prepare-batch.js';
export { validateReading, validateBatch, MIN_TS } from './transforms/validate-reading.js';
