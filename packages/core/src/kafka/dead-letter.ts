/**
 * Records for `meter.readings.dlq.v1`: the original key, value and headers, plus headers that
 * name the error and where the record came from, so an operator can fix and replay it.
 */
import type { IHeaders, Message } from 'kafkajs';
import type { Logger } from '../telemetry/logger.js';
import type { PipelineMetrics } from '../telemetry/metrics.js';
import { recordBytes, tooLargeEnvelope } from './record-limits.js';

/** A consumed message that cannot be processed, and why. */
export interface DeadLetter {
  message: { offset: string; key: Buffer | null; value: Buffer | null; headers?: unknown };
  /** Machine-readable reason (e.g. `tombstone`, `avro_magic`, `unexpected_record`, `unit_mismatch`); the same reason for the same fault on every input topic. */
  reason: string;
  /** Human-readable detail. */
  detail: string;
}

/** Header names of the DLQ contract. */
export const DLQ_HEADERS = {
  reason: 'meterstream.error.reason',
  detail: 'meterstream.error.detail',
  topic: 'meterstream.source.topic',
  partition: 'meterstream.source.partition',
  offset: 'meterstream.source.offset',
} as const;

/**
 * The DLQ records of dead letters from `sourceTopic`/`partition`. A record over `budget` bytes
 * (the DLQ topic's limit, see `record-limits.ts`) goes as a bounded `too_large` envelope.
 */
export function deadLetterRecords(
  dead: readonly DeadLetter[],
  sourceTopic: string,
  partition: number,
  budget = Infinity,
): Message[] {
  return dead.map(({ message, reason, detail }) => {
    const headers: IHeaders = { ...(message.headers as IHeaders | undefined) };
    headers[DLQ_HEADERS.reason] = reason;
    headers[DLQ_HEADERS.detail] = detail;
    headers[DLQ_HEADERS.topic] = sourceTopic;
    headers[DLQ_HEADERS.partition] = String(partition);
    headers[DLQ_HEADERS.offset] = message.offset;
    const record: Message = { key: message.key, value: message.value, headers };
    return recordBytes(record) > budget ? tooLargeEnvelope(record, budget) : record;
  });
}

/** The reason header of a DLQ record. */
export function deadLetterReason(record: Message): string {
  const r = (record.headers as IHeaders | undefined)?.[DLQ_HEADERS.reason];
  return r === undefined ? 'unknown' : String(Array.isArray(r) ? r[0] : r);
}

/**
 * Counts and logs DLQ records as they are committed: one counter per reason and source topic,
 * and a log line with the reason and source offset only (the record may hold a raw meter ID).
 */
export function observeDeadLetters(
  records: readonly Message[],
  source: string,
  metrics: PipelineMetrics,
  logger: Logger,
): void {
  for (const r of records) {
    const reason = deadLetterReason(r);
    metrics.dlqMessages.inc({ reason, source });
    const h = r.headers as IHeaders;
    logger.warn(
      {
        reason,
        detail: String(h[DLQ_HEADERS.detail] ?? ''),
        topic: source,
        offset: String(h[DLQ_HEADERS.offset] ?? ''),
      },
      'message sent to the DLQ',
    );
  }
}
