import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRegistry, pipelineMetrics } from '../telemetry/metrics.js';
import { capturingLogger } from '../testing.js';
import { PartitionProgress } from './partition-progress.js';

test('the lag gauge names the group and shows only the partitions this member owns', async () => {
  const registry = createRegistry('test');
  const progress = new PartitionProgress('clean', 'aggregator', pipelineMetrics(registry), capturingLogger().logger);
  const lag = async () =>
    Object.fromEntries(
      (await registry.getSingleMetric('meterstream_kafka_consumer_lag_messages')!.get()).values.map((v) => [
        `${v.labels.group} ${v.labels.topic}/${v.labels.partition}`,
        v.value,
      ]),
    );
  progress.assigned([0, 1]);
  progress.committed(0, 10n, 15n);
  progress.committed(1, 7n, 7n);
  assert.deepEqual(await lag(), { 'aggregator clean/0': 5, 'aggregator clean/1': 0 });
  // A rebalance takes partition 0 away: its last value is not this member's to report any more.
  progress.assigned([1, 2]);
  assert.deepEqual(await lag(), { 'aggregator clean/1': 0 });
  // A late word on a partition it no longer owns does not bring the series back.
  progress.committed(0, 12n, 15n);
  assert.deepEqual(await lag(), { 'aggregator clean/1': 0 });
});
