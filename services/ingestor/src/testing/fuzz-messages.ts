/**
 * Test support: a seeded, structure-aware fuzzer of the readings topic. It starts from valid
 * `MeterReading` and `MeterReadingBatch` messages of a few shared meters and mutates one thing
 * per case (see `fuzz-mutations.ts`): a field's value (empty, too long, control characters,
 * U+001F, non-BMP text, invalid UTF-8), a number at its boundary, an enum or union index out of
 * range, an array's block counts, or the bytes themselves (truncation, trailing bytes, flipped
 * fingerprint or magic, random flips), and sends records that do not belong on the topic.
 * Each case says what must become of it where that is determined (`clean` with exactly these
 * readings, or `dlq` with this reason); otherwise it is `either`, and only the property holds:
 * clean under the pseudonym of its own (tenant, meterId), or in the DLQ with a reason.
 * The same seed gives the same cases, so a failure is replayed from the printed seed.
 */
import type { AvroCodec, BatchReading, MeterReading, MeterReadingBatch, RecordName } from '@meterstream/core';
import { draw, prng, type Draw } from '@meterstream/simulator/random';
import { MIN_TS } from '../transforms/validate-reading.js';
import * as avro from './avro-fields.js';
import { mutations } from './fuzz-mutations.js';

/** The header of a reading or batch: what a clean batch is grouped by. */
export type ReadingHeader = Omit<MeterReadingBatch, 'readings'>;

/** What must become of a message. */
export type Expectation =
  | { outcome: 'clean'; header: ReadingHeader; readings: BatchReading[] }
  | { outcome: 'dlq'; reason?: string }
  | { outcome: 'either' };

/** One message for the readings topic, with the mutation that made it. */
export interface FuzzMessage {
  mutation: string;
  key: Buffer | null;
  value: Buffer | null;
  expect: Expectation;
}

/** Options of {@link MessageFuzzer}. */
export interface FuzzOptions {
  seed: number;
  codec: AvroCodec;
  /** The time the consumer validates at, or earlier (ms): accepted timestamps lie before it. */
  now: number;
  /** The consumer's limits: batches of exactly `maxBatchReadings` are valid, one more is not. */
  maxBatchReadings: number;
  maxFutureMs: number;
  /** The consumer's oldest acceptable reading age (ms): older readings are `beyond_retention`. */
  maxAgeMs: number;
}

/** A valid message before mutation. */
export interface Base {
  header: ReadingHeader;
  readings: BatchReading[];
  /** A `MeterReading` (one reading) rather than a `MeterReadingBatch`. */
  single: boolean;
}

/** A mutation of a valid base message into one message, or two (pairs). */
export type Mutation = (b: Base) => FuzzMessage[] | FuzzMessage;

/** What mutations build their messages with. */
export interface FuzzTools {
  readonly r: Draw;
  readonly options: FuzzOptions;
  /** A fresh reading of a meter of this kind, its timestamp unique in the run. */
  reading(kind: string): BatchReading;
  single(b: Base): MeterReading;
  fields(b: Base): avro.Field[];
  /** The single-object header of a record's version (default: the reader). */
  header(record: RecordName, version?: number): Buffer;
  encode(b: Base, fields: avro.Field[]): Buffer;
  clean(b: Base): Expectation;
  message(mutation: string, b: Base, expect: Expectation | ((b: Base) => Expectation), value?: Buffer): FuzzMessage;
  /** A header field set to `value`, expected to be refused with `expect`, or clean. */
  set(b: Base, field: keyof ReadingHeader, value: unknown, expect: string): FuzzMessage;
  /** A field's bytes replaced; `ts`, `value` and `quality` of a batch are those of one of its readings. */
  patch(b: Base, field: string, bytes: Buffer, expect: Expectation, what?: string): FuzzMessage;
  /** One reading changed (a random one of a batch), expected refused with `expect`, or clean. */
  setReading(b: Base, change: Partial<BatchReading>, expect: string): FuzzMessage;
  /**
   * Unique timestamps near the oldest the consumer accepts (2000-01-01, or the correction window
   * before `now` when that is later; an hour inside it, since the consumer validates later).
   */
  nextOldTs(): number;
  /** The newest timestamp sure to be beyond the correction window when the consumer validates, or null when 2000-01-01 is inside it. */
  beyondRetentionTs(): number | null;
  nextFutureTs(): number;
}

const DAY = 86_400_000;
const HOUR = 3_600_000;
/** Avro single-object encoding's marker (https://avro.apache.org/docs/1.11.1/specification/#single-object-encoding). */
const SINGLE_OBJECT_MAGIC = Buffer.from([0xc3, 0x01]);
/** Meter IDs shared by good and fuzzed messages, so a misplaced reading lands on a real meter. */
export const FUZZ_METERS = Array.from({ length: 8 }, (_, i) => `707057500000${String(100_000 + i * 7919)}`);
const TENANTS = ['oslo-vann', 'bergen.energi_2'];
const PROFILES: Pick<ReadingHeader, 'kind' | 'unit' | 'readingType' | 'intervalSeconds'>[] = [
  { kind: 'WATER', unit: 'L', readingType: 'INTERVAL', intervalSeconds: 3600 },
  { kind: 'ELECTRICITY_IMPORT', unit: 'KWH', readingType: 'INTERVAL', intervalSeconds: 900 },
  { kind: 'HEAT', unit: 'MWH', readingType: 'REGISTER', intervalSeconds: 0 },
  { kind: 'GAS', unit: 'M3', readingType: 'REGISTER', intervalSeconds: 0 },
  { kind: 'TEMPERATURE', unit: 'CELSIUS', readingType: 'INSTANT', intervalSeconds: 0 },
];
const ZONES = ['Z1', 'Z2', null, 'sone-øst', 'zone-🌊'];
const PRICE_AREAS = [null, 'NO1', 'SE4'];
const QUALITIES = avro.SYMBOLS.quality;

export class MessageFuzzer implements FuzzTools {
  readonly r: Draw;
  readonly options: FuzzOptions;
  #ts: number;
  #oldTs = 0;
  #futureTs = 0;
  readonly #mutations: [string, Mutation][];

  constructor(options: FuzzOptions) {
    this.options = options;
    this.r = draw(prng(options.seed));
    this.#ts = options.now - 20 * DAY;
    this.#mutations = Object.entries(mutations(this));
    // The field writer must agree with the codec, or the mutations are of something else.
    for (let i = 0; i < 20; i++) {
      const b = this.#base();
      const ours = this.encode(b, this.fields(b));
      const theirs = b.single
        ? options.codec.encodeSingleObject('MeterReading', this.single(b))
        : options.codec.encodeSingleObject('MeterReadingBatch', { ...b.header, readings: b.readings });
      if (!ours.equals(theirs)) throw new Error(`fuzzer encoding differs from the codec's for ${JSON.stringify(b)}`);
    }
  }

  /** A valid message of a fuzz meter. */
  good(): FuzzMessage {
    return this.message('good', this.#base(), (b) => this.clean(b));
  }

  /** The next case: one mutation, as one message or (pairs) two. */
  next(): FuzzMessage[] {
    const [name, mutate] = this.r.pick(this.#mutations);
    const out = mutate(this.#base());
    return (Array.isArray(out) ? out : [out]).map((m) => ({ ...m, mutation: `${name}: ${m.mutation}` }));
  }

  #base(): Base {
    const r = this.r;
    const single = r.chance(0.5);
    const profile = r.pick(PROFILES);
    const n = single ? 1 : r.int(1, Math.min(5, this.options.maxBatchReadings));
    const header: ReadingHeader = {
      meterId: r.pick(FUZZ_METERS),
      tenant: r.pick(TENANTS),
      ...profile,
      zoneId: r.pick(ZONES),
      priceArea: r.pick(PRICE_AREAS),
    };
    return { header, readings: Array.from({ length: n }, () => this.reading(profile.kind)), single };
  }

  reading(kind: string): BatchReading {
    const r = this.r;
    this.#ts += r.int(1, 1000);
    const value = kind === 'TEMPERATURE' ? Math.round(r.uniform(-20, 30) * 10) / 10 : r.uniform(0, 500);
    return { ts: this.#ts, value, quality: r.pick(QUALITIES) };
  }

  single(b: Base): MeterReading {
    const [x] = b.readings;
    return { ...b.header, ts: x.ts, value: x.value, quality: x.quality };
  }

  fields(b: Base): avro.Field[] {
    return b.single ? avro.readingFields(this.single(b)) : avro.batchFields({ ...b.header, readings: b.readings });
  }

  header(record: RecordName, version?: number): Buffer {
    const s = this.options.codec.schemas;
    const v = version === undefined ? s.reader(record) : s.version(record, version);
    return Buffer.concat([SINGLE_OBJECT_MAGIC, v.fingerprintBytes]);
  }

  encode(b: Base, fields: avro.Field[]): Buffer {
    return avro.frame(this.header(b.single ? 'MeterReading' : 'MeterReadingBatch'), fields);
  }

  clean(b: Base): Expectation {
    return { outcome: 'clean', header: b.header, readings: b.readings };
  }

  message(mutation: string, b: Base, expect: Expectation | ((b: Base) => Expectation), value?: Buffer): FuzzMessage {
    return {
      mutation,
      key: this.r.chance(0.9) ? Buffer.from(b.header.meterId) : null,
      value: value ?? this.encode(b, this.fields(b)),
      expect: typeof expect === 'function' ? expect(b) : expect,
    };
  }

  set(b: Base, field: keyof ReadingHeader, value: unknown, expect: string): FuzzMessage {
    const changed: Base = { ...b, header: { ...b.header, [field]: value } };
    const what = `${field} = ${JSON.stringify(value)?.slice(0, 40)}`;
    return this.message(what, changed, expect === 'clean' ? this.clean(changed) : { outcome: 'dlq', reason: expect });
  }

  patch(b: Base, field: string, bytes: Buffer, expect: Expectation, what = field): FuzzMessage {
    let fields = this.fields(b);
    if (!b.single && ['ts', 'value', 'quality'].includes(field)) {
      const j = this.r.int(0, b.readings.length - 1);
      const items = b.readings.map((x, i) => {
        if (i !== j) return avro.batchReading(x);
        const parts = {
          ts: avro.long(x.ts),
          value: avro.double(x.value),
          quality: avro.long(QUALITIES.indexOf(x.quality)),
        };
        return Buffer.concat(Object.values({ ...parts, [field]: bytes }));
      });
      fields = avro.replace(fields, 'readings', avro.array(items));
    } else {
      fields = avro.replace(fields, field, bytes);
    }
    return this.message(`${what} bytes ${bytes.toString('hex').slice(0, 24)}`, b, expect, this.encode(b, fields));
  }

  setReading(b: Base, change: Partial<BatchReading>, expect: string): FuzzMessage {
    const j = this.r.int(0, b.readings.length - 1);
    const changed: Base = { ...b, readings: b.readings.map((x, i) => (i === j ? { ...x, ...change } : x)) };
    const expectation: Expectation = expect === 'clean' ? this.clean(changed) : { outcome: 'dlq', reason: expect };
    return this.message(`readings[${j}] ${JSON.stringify(change)}`, changed, expectation);
  }

  nextOldTs(): number {
    return Math.max(MIN_TS, this.options.now - this.options.maxAgeMs + HOUR) + this.#oldTs++;
  }

  beyondRetentionTs(): number | null {
    const ts = this.options.now - this.options.maxAgeMs - 1;
    return ts >= MIN_TS ? ts : null;
  }

  nextFutureTs(): number {
    if (this.#futureTs >= this.options.maxFutureMs / 2) throw new Error('fuzzer: out of future timestamps');
    return this.options.now + 1 + this.#futureTs++;
  }
}
