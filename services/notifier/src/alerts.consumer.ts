/**
 * The notifier's input: `meter.alerts.v1`, read_committed, through a TransactionalConsumer. A
 * batch is decoded, handed to the dispatcher (which holds or delivers every change, retrying
 * within the budget), and its offset commits in one transaction with the dead letters: records
 * it cannot decode or handle (`invalid_alert`: a time no table stores), and deliveries that
 * failed for good, each with the sink and the reason. So the offset moves only after every sink
 * delivered or dead-lettered the batch.
 */
import type { Batch, IHeaders, KafkaMessage } from 'kafkajs';
import {
  deadLetterRecords,
  isMeterError,
  observeDeadLetters,
  type AvroCodec,
  type BatchOutput,
  type DeadLetter,
  type Logger,
  type PipelineMetrics,
} from '@meterstream/core';
import type { Dispatcher, FailedDelivery, Incoming } from './dispatcher.js';
import { alertProblem } from './transforms/validate-alert.js';

/** Headers a failed delivery adds to the dead-letter record, beside the DLQ contract's. */
export const DELIVERY_DLQ_HEADERS = {
  sink: 'meterstream.notifier.sink',
  attempts: 'meterstream.notifier.attempts',
} as const;

export interface AlertsConsumerDeps {
  codec: AvroCodec;
  dispatcher: Dispatcher;
  dlqTopic: string;
  /** The dead-letter topic's record limit (bytes). */
  budget: () => number;
  pipeline: PipelineMetrics;
  logger: Logger;
}

/** Dead letters of failed deliveries; the alert's bytes re-encoded when no source record is at hand. */
export function failedDeliveryLetters(failed: readonly FailedDelivery[], codec: AvroCodec): DeadLetter[] {
  return failed.map((f) => ({
    message: {
      offset: String(f.incoming.offset),
      key: Buffer.from(f.incoming.alert.meter),
      value: codec.encodeSingleObject('Alert', f.incoming.alert),
      headers: { [DELIVERY_DLQ_HEADERS.sink]: f.sink, [DELIVERY_DLQ_HEADERS.attempts]: String(f.attempts) } as IHeaders,
    },
    reason: f.reason,
    detail: f.detail.slice(0, 500),
  }));
}

export class AlertsConsumer {
  constructor(private readonly d: AlertsConsumerDeps) {}

  async handle(batch: Batch, heartbeat: () => Promise<void>): Promise<BatchOutput> {
    const { codec, dispatcher } = this.d;
    const dead: DeadLetter[] = [];
    const items: Incoming[] = [];
    const reject = (m: KafkaMessage, reason: string, detail: string) =>
      dead.push({
        message: { offset: m.offset, key: m.key ?? null, value: m.value ?? null, headers: m.headers },
        reason,
        detail,
      });
    await codec.prepare(batch.messages.map((m) => m.value));
    for (const m of batch.messages) {
      if (m.value === null || m.value.length === 0) {
        reject(m, 'tombstone', 'record without value');
        continue;
      }
      try {
        const decoded = codec.decode(m.value);
        if (decoded.schema !== 'Alert') {
          reject(m, 'unexpected_record', `expected Alert, got ${decoded.schema}`);
          continue;
        }
        const problem = alertProblem(decoded.value);
        if (problem !== null) reject(m, 'invalid_alert', problem);
        else items.push({ alert: decoded.value, partition: batch.partition, offset: Number(m.offset) });
      } catch (err) {
        if (isMeterError(err) && err.retriable) throw err;
        const reason = isMeterError(err) ? err.code.replace(/^METER_ERR_/, '').toLowerCase() : 'decode_error';
        reject(m, reason, (err as Error).message);
      }
    }
    const failed = await dispatcher.dispatch(items, heartbeat);
    const records = [
      ...deadLetterRecords(dead, batch.topic, batch.partition, this.d.budget()),
      ...deadLetterRecords(failedDeliveryLetters(failed, codec), batch.topic, batch.partition, this.d.budget()),
    ];
    return {
      records: records.length === 0 ? [] : [{ topic: this.d.dlqTopic, messages: records }],
      committed: () => observeDeadLetters(records, batch.topic, this.d.pipeline, this.d.logger),
    };
  }
}
