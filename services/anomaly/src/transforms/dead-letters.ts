/**
 * The dead letters of one input batch: every record a consumer cannot use (no value, a record
 * it cannot decode, e.g. a newer schema during a rolling upgrade, or the wrong record type)
 * goes to the DLQ with its reason, in the batch's transaction, and is counted and logged once
 * the transaction commits. Nothing is dropped with only a log line.
 */
import type { Batch, KafkaMessage } from 'kafkajs';
import {
  deadLetterRecords,
  isMeterError,
  observeDeadLetters,
  type DeadLetter,
  type Logger,
  type PipelineMetrics,
} from '@meterstream/core';
import type { AlertBatchOutput } from '../sinks/alerts.sink.js';

/** Where a consumer's dead letters go, and how they are counted. */
export interface DeadLetterTarget {
  /** The dead-letter topic. */
  dlq: string;
  pipeline: PipelineMetrics;
  logger: Logger;
}

export class DeadLetters {
  readonly list: DeadLetter[] = [];

  constructor(readonly batch: Batch) {}

  /** Sends `m` to the DLQ with `reason`. */
  reject(m: KafkaMessage, reason: string, detail: string): void {
    this.list.push({
      message: { offset: m.offset, key: m.key ?? null, value: m.value ?? null, headers: m.headers },
      reason,
      detail: detail.slice(0, 500),
    });
  }

  /** Sends `m` to the DLQ for a decode error, with the codec's error code as the reason. */
  undecodable(m: KafkaMessage, err: unknown): void {
    const reason = isMeterError(err) ? err.code.replace(/^METER_ERR_/, '').toLowerCase() : 'decode_error';
    this.reject(m, reason, (err as Error).message);
  }

  /** The batch's output with its DLQ records added, counted and logged when it commits. */
  into(out: AlertBatchOutput, target: DeadLetterTarget): AlertBatchOutput {
    if (this.list.length === 0) return out;
    const records = deadLetterRecords(this.list, this.batch.topic, this.batch.partition);
    const committed = out.committed;
    return {
      ...out,
      records: [...out.records, { topic: target.dlq, messages: records }],
      committed: () => {
        committed?.();
        observeDeadLetters(records, this.batch.topic, target.pipeline, target.logger);
      },
    };
  }
}
