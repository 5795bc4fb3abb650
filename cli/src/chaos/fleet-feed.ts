/**
 * The soak's input: generation after generation of the aggregator's seeded test fleet (24 meters
 * over two days, delivered shuffled, duplicated, split, late and corrected in three rounds, with
 * an independent reference), each generation's meters renamed `g<n>-…` so generations never
 * share a meter. Sent to the readings topic at a steady pace, through broker restarts: a send that
 * fails is sent again (duplicates are part of the fleet's delivery anyway), in order, so a
 * correction never overtakes what it corrects. A stop lets the generation in flight finish, so
 * the reference holds every meter whole.
 */
import { Partitioners, type Kafka, type Message, type Producer } from 'kafkajs';
import { sleep, type AvroCodec, type MeterReading, type MeterReadingBatch } from '@meterstream/core';
import { generateFleet, type MeterSpec } from '@meterstream/aggregator/test-fleet';

export interface FeedCounts {
  generations: number;
  messages: number;
  /** Readings in the messages sent, duplicates included. */
  readings: number;
  /** Distinct readings of the fleet (after corrections): what readings_raw FINAL must hold. */
  distinct: number;
  /** Sends that failed and were sent again. */
  resent: number;
}

/** One generation of the fleet, its meters renamed with `prefix`. */
export function fleetGeneration(
  codec: AvroCodec,
  seed: number,
  prefix: string,
): { meters: MeterSpec[]; rounds: Message[][]; readings: number } {
  const { meters, rounds } = generateFleet(codec, seed);
  let readings = 0;
  const renamed = rounds.map((round) =>
    round.map(({ key, value }) => {
      const d = codec.decode(value);
      const meterId = `${prefix}${key}`;
      if (d.schema === 'MeterReading') {
        readings++;
        return {
          key: meterId,
          value: codec.encodeSingleObject('MeterReading', { ...(d.value as MeterReading), meterId }),
        };
      }
      const b = d.value as MeterReadingBatch;
      readings += b.readings.length;
      return { key: meterId, value: codec.encodeSingleObject('MeterReadingBatch', { ...b, meterId }) };
    }),
  );
  return { meters: meters.map((m) => ({ ...m, meterId: `${prefix}${m.meterId}` })), rounds: renamed, readings };
}

export class FleetFeed {
  readonly meters: MeterSpec[] = [];
  readonly counts: FeedCounts = { generations: 0, messages: 0, readings: 0, distinct: 0, resent: 0 };
  #stopping = false;
  #running: Promise<void> = Promise.resolve();
  #producer: Producer | null = null;

  constructor(
    private readonly o: { kafka: Kafka; codec: AvroCodec; topic: string; seed: number; roundPauseMs: number },
  ) {}

  start(): void {
    this.#running = this.#run();
  }

  /** Resolves when the generation in flight has been sent whole. */
  async stop(): Promise<void> {
    this.#stopping = true;
    await this.#running;
    await this.#producer?.disconnect().catch(() => {});
  }

  async #run(): Promise<void> {
    for (let g = 0; !this.#stopping; g++) {
      const gen = fleetGeneration(this.o.codec, this.o.seed * 1000 + g, `g${g}-`);
      for (const round of gen.rounds) {
        for (let i = 0; i < round.length; i += 500) await this.#send(round.slice(i, i + 500));
        await sleep(this.o.roundPauseMs);
      }
      this.meters.push(...gen.meters);
      this.counts.generations++;
      this.counts.readings += gen.readings;
      this.counts.distinct += gen.meters.reduce((n, m) => n + m.truth.size, 0);
    }
  }

  async #send(messages: Message[]): Promise<void> {
    for (;;) {
      try {
        this.#producer ??= this.o.kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
        await this.#producer.connect();
        await this.#producer.send({ topic: this.o.topic, messages, acks: -1 });
        this.counts.messages += messages.length;
        return;
      } catch {
        this.counts.resent++;
        await this.#producer?.disconnect().catch(() => {});
        this.#producer = null;
        await sleep(1000);
      }
    }
  }
}
