/**
 * One run of the fleet simulator against Kafka, shared by `meterstream simulate` and the demo:
 * create the input topics if missing, plan the fleet, write the labels file, produce on the
 * simulated clock and report progress. Progress lines carry counts and times only, never a
 * meter ID.
 */
import { renameSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { AvroCodec, ConfigError, ensureTopics, type Kafka, type MeterstreamConfig } from '@meterstream/core';
import type { Label } from '@meterstream/simulator';
import { connectProducer, paceDeliveries, type ProduceProgress } from './fleet-producer.js';
import { FleetStream } from './fleet-stream.js';
import type { SimulateOptions } from './simulate-flags.js';

/** Partitions of the input topics when the simulator creates them (as the services do). */
const INPUT_PARTITIONS = 3;

export interface SimulationDeps {
  kafka: Kafka;
  config: MeterstreamConfig;
  options: SimulateOptions;
  signal: AbortSignal;
  /** The fleet, if the caller planned it already (the demo shows one of its meters). */
  stream?: FleetStream;
  /** Data time of the clock at the start; default now. */
  clockStart?: number;
  /** Skip deliveries due before this (an earlier run sent them). */
  skipBefore?: number;
  /** Receives each progress line. */
  progress: (line: string) => void;
  progressEveryMs?: number;
  onSent?: (at: number) => void;
}

/** Produces the fleet's deliveries until they end (no `follow`) or the signal stops the run. */
export async function runSimulation(deps: SimulationDeps): Promise<ProduceProgress> {
  const { kafka, config, options } = deps;
  const topics = { readings: config.topics.readings, invoices: config.topics.invoices };
  const admin = kafka.admin();
  await admin.connect();
  try {
    await ensureTopics(admin, [
      { topic: topics.readings, numPartitions: INPUT_PARTITIONS },
      { topic: topics.invoices, numPartitions: INPUT_PARTITIONS },
    ]);
  } finally {
    await admin.disconnect();
  }
  const labelsFile = options.labelsFile === null ? null : resolve(options.labelsFile);
  const stream =
    deps.stream ??
    new FleetStream(
      options.fleet,
      options.follow,
      labelsFile === null ? undefined : (labels) => writeLabels(labelsFile, options, labels),
    );
  const producer = await connectProducer(kafka);
  try {
    return await paceDeliveries({
      deliveries: stream,
      codec: new AvroCodec(),
      topics,
      send: producer.send,
      speed: options.speed,
      clockStart: deps.clockStart ?? Date.now(),
      skipBefore: deps.skipBefore,
      signal: deps.signal,
      progress: (p) => deps.progress(progressLine(p, options.speed)),
      progressEveryMs: deps.progressEveryMs,
      onSent: deps.onSent,
    });
  } finally {
    await producer.disconnect();
  }
}

/**
 * Writes the ground truth as JSON (atomically, mode 0600): the fleet's options and its labels,
 * with raw meter IDs — the operator's own answer key.
 */
export function writeLabels(file: string, options: SimulateOptions, labels: readonly Label[]): void {
  const tmp = `${file}.tmp-${process.pid}`;
  const doc = { fleet: options.fleet, follow: options.follow, labels };
  try {
    writeFileSync(tmp, `${JSON.stringify(doc, null, 2)}\n`, { mode: 0o600 });
    renameSync(tmp, file);
  } catch (err) {
    throw new ConfigError('--labels', `cannot write ${file}: ${(err as Error).message}`);
  }
}

const n = (x: number) => x.toLocaleString('en-US');

/** `12,000 messages (11,800 readings, 40 invoices), data time 2026-05-14 18:00Z, 9,500 msg/s, backfill`. */
export function progressLine(p: ProduceProgress, speed: number): string {
  const time =
    p.dataTime === null
      ? 'no data yet'
      : `data time ${new Date(p.dataTime).toISOString().slice(0, 16).replace('T', ' ')}Z`;
  const phase = p.stopped ? 'stopped' : p.done ? 'done' : p.live ? `live at ${speed}x` : 'backfill';
  return `${n(p.messages)} messages (${n(p.readings)} readings, ${n(p.invoices)} invoices), ${time}, ${n(Math.round(p.rate))} msg/s, ${phase}`;
}
