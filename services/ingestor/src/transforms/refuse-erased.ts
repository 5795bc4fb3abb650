/**
 * Drops the readings of erased (blocked) meters from a prepared batch, after pseudonymising:
 * the ingestor is the first stage that knows the pseudonym. They are a counted outcome
 * (`meterstream_erased_refused_total{stage="ingestor"}`), not dead letters: the DLQ would keep
 * the raw meter ID of a meter whose data the erasure promised gone. Their offsets are committed
 * with the batch, so a replay of the raw topic is refused the same way.
 */
import type { ErasedMeters } from '@meterstream/core';
import type { PreparedBatch } from './prepare-batch.js';

/** Removes the erased meters' clean batches; returns how many readings were refused. */
export function refuseErased(p: PreparedBatch, erased: Pick<ErasedMeters, 'has' | 'size'> | undefined): number {
  if (erased === undefined || erased.size === 0) return 0;
  let refused = 0;
  p.clean = p.clean.filter((g) => {
    if (!erased.has(g.meter)) return true;
    refused += g.readings.length;
    return false;
  });
  p.accepted.readings -= refused;
  return refused;
}
