/**
 * Records for `meter.readings.clean.v1`: one Avro single-object `CleanReadingBatch` per meter
 * and Kafka batch, keyed by pseudonym and partitioned by it (the producer's murmur2 partitioner,
 * as the Java client's default): every clean batch of a meter lands on one clean partition,
 * whatever raw partition its records came from (keyless or re-keyed head-ends), so one
 * aggregator sees a meter's batches in the order the ingestors' transactions committed them.
 * A meter's batch larger than the topic takes (`budget` bytes) is split into several records,
 * never refused.
 */
import type { AvroCodec, CleanReadingBatch } from '@meterstream/core';
import { splitToFit } from '@meterstream/core';
import type { Message } from 'kafkajs';

export function cleanRecords(batches: readonly CleanReadingBatch[], codec: AvroCodec, budget = Infinity): Message[] {
  const encode = (b: CleanReadingBatch): Message => ({
    key: b.meter,
    value: codec.encodeSingleObject('CleanReadingBatch', b),
  });
  const halve = (b: CleanReadingBatch): [CleanReadingBatch, CleanReadingBatch] | null => {
    if (b.readings.length < 2) return null;
    const mid = b.readings.length >> 1;
    return [
      { ...b, readings: b.readings.slice(0, mid) },
      { ...b, readings: b.readings.slice(mid) },
    ];
  };
  return batches.flatMap((b) => splitToFit(b, encode, halve, budget));
}
