/**
 * Records for `meter.readings.clean.v1`: one Avro single-object `CleanReadingBatch` per meter
 * and Kafka batch, keyed by pseudonym and written to the SAME partition number as the source
 * (co-partitioning: a meter's readings stay in order and on one aggregator).
 */
import type { AvroCodec, CleanReadingBatch } from '@meterstream/core';
import type { Message } from 'kafkajs';

export function cleanRecords(batches: readonly CleanReadingBatch[], codec: AvroCodec, partition: number): Message[] {
  return batches.map((b) => ({ key: b.meter, value: codec.encodeSingleObject('CleanReadingBatch', b), partition }));
}
