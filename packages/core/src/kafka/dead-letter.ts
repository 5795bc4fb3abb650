/**
 * Records for `meter.readings.dlq.v1`: the original key, value and headers, plus headers that
 * name the error and where the record came from, so an operator can fix and replay it.
 */
import type { IHeaders, Message } from 'kafkajs';

/** A consumed message that cannot be processed, and why. */
export interface DeadLetter {
  message: { offset: string; key: Buffer | null; value: Buffer | null; headers?: unknown };
  /** Machine-readable reason (e.g. `decode_error`, `invalid_reading`). */
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

/** The DLQ records of dead letters from `sourceTopic`/`partition`. */
export function deadLetterRecords(dead: readonly DeadLetter[], sourceTopic: string, partition: number): Message[] {
  return dead.map(({ message, reason, detail }) => {
    const headers: IHeaders = { ...(message.headers as IHeaders | undefined) };
    headers[DLQ_HEADERS.reason] = reason;
    headers[DLQ_HEADERS.detail] = detail;
    headers[DLQ_HEADERS.topic] = sourceTopic;
    headers[DLQ_HEADERS.partition] = String(partition);
    headers[DLQ_HEADERS.offset] = message.offset;
    return { key: message.key, value: message.value, headers };
  });
}
