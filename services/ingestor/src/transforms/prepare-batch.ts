/**
 * Turns one Kafka partition batch into what the sinks write: the accepted readings grouped
 * into one clean batch per meter (and header), and DLQ records for everything that could not
 * be decoded or validated. The same clean batches feed `readings_raw` and the clean topic.
 * Pure apart from the codec and pseudonymiser caches.
 */
import {
  isMeterError,
  type DeadLetter as CoreDeadLetter,
  type AvroCodec,
  type CleanReadingBatch,
  type MeterReading,
  type Pseudonymiser,
} from '@meterstream/core';
import { validateBatch, validateReading, type Rejection, type ValidationLimits } from './validate-reading.js';
import { readingVersion } from './reading-version.js';

/** A Kafka message as the transform needs it. */
export interface SourceMessage {
  offset: string;
  /** Kafka timestamp (ms, as kafkajs gives it): CreateTime or LogAppendTime. It orders deliveries of a reading. */
  timestamp?: string;
  key: Buffer | null;
  value: Buffer | null;
  headers?: Record<string, unknown>;
}

/** A message refused with its reason, for the DLQ. */
export interface DeadLetter extends CoreDeadLetter {
  message: SourceMessage;
}

/** The result of preparing one partition batch. */
export interface PreparedBatch {
  /** One clean batch per (meter, header) seen in the Kafka batch, in first-seen order. */
  clean: CleanReadingBatch[];
  dead: DeadLetter[];
  /** Accepted messages by record name, and their readings. */
  accepted: { single: number; batch: number; readings: number };
  /** Newest reading time in the batch (ms), or null if none. */
  maxTs: number | null;
}

/** What the readings of a batch are grouped by: everything of a reading but its value. */
export type ReadingHeader = Omit<MeterReading, 'ts' | 'value' | 'quality'>;

/** Dependencies of {@link prepareBatch}. */
export interface PrepareContext {
  codec: AvroCodec;
  pseudonymiser: Pseudonymiser;
  limits: ValidationLimits;
  now: number;
}

/** Prepares one partition batch. Await `codec.prepare` first when a registry is configured. */
export function prepareBatch(messages: readonly SourceMessage[], ctx: PrepareContext): PreparedBatch {
  const groups = new Map<string, CleanReadingBatch>();
  const dead: DeadLetter[] = [];
  const accepted = { single: 0, batch: 0, readings: 0 };
  let maxTs = -Infinity;

  // Keyed by the raw header: the pseudonym (an HMAC, or an LRU look-up) is computed once per
  // meter and batch, not once per message.
  const groupOf = (h: ReadingHeader): CleanReadingBatch => {
    const id = groupKey(h);
    let group = groups.get(id);
    if (group === undefined) {
      group = {
        tenant: h.tenant,
        meter: ctx.pseudonymiser.of(h.tenant, h.meterId),
        kind: h.kind,
        unit: h.unit,
        readingType: h.readingType,
        intervalSeconds: h.intervalSeconds,
        zoneId: h.zoneId,
        priceArea: h.priceArea,
        registerModulus: h.registerModulus ?? null,
        readings: [],
      };
      groups.set(id, group);
    }
    return group;
  };

  for (const message of messages) {
    if (message.value === null) {
      dead.push({ message, reason: 'tombstone', detail: 'message has no value' });
      continue;
    }
    let d;
    try {
      d = ctx.codec.decode(message.value);
    } catch (err) {
      if (!isMeterError(err)) throw err;
      if (err.retriable) throw err; // registry unreachable: retry the batch, do not dead-letter
      dead.push({ message, reason: err.code.replace(/^METER_ERR_/, '').toLowerCase(), detail: err.message });
      continue;
    }
    const offset = Number(message.offset);
    const timestamp = message.timestamp === undefined ? 0 : Number(message.timestamp);
    let rejection: Rejection | null;
    if (d.schema === 'MeterReading') {
      const r = d.value;
      rejection = validateReading(r, ctx.now, ctx.limits);
      if (rejection === null) {
        accepted.single++;
        accepted.readings++;
        groupOf(r).readings.push({
          ts: r.ts,
          value: r.value,
          quality: r.quality,
          offset,
          version: readingVersion(r.quality, timestamp),
        });
        if (r.ts > maxTs) maxTs = r.ts;
      }
    } else if (d.schema === 'MeterReadingBatch') {
      const b = d.value;
      rejection = validateBatch(b, ctx.now, ctx.limits);
      if (rejection === null) {
        accepted.batch++;
        accepted.readings += b.readings.length;
        const out = groupOf(b).readings;
        for (const r of b.readings) {
          out.push({
            ts: r.ts,
            value: r.value,
            quality: r.quality,
            offset,
            version: readingVersion(r.quality, timestamp),
          });
          if (r.ts > maxTs) maxTs = r.ts;
        }
      }
    } else {
      rejection = { reason: 'unexpected_record', detail: `${d.schema} does not belong on the readings topic` };
    }
    if (rejection !== null) dead.push({ message, reason: rejection.reason, detail: rejection.detail });
  }
  return { clean: inOffsetOrder([...groups.values()]), dead, accepted, maxTs: maxTs === -Infinity ? null : maxTs };
}

/**
 * Keeps `readings_raw`'s tie rule exact. Two deliveries of one reading with equal versions
 * (same quality, same Kafka timestamp) resolve to the row inserted last, and the rows of a
 * batch are inserted in the order of `clean`: within one clean batch that is offset order. When
 * a meter's messages in one Kafka batch have different headers (several clean batches of one
 * series), those clean batches are cut into one per message and put in offset order, so the
 * later message is still inserted later. Rare (a header changed mid-batch), so cheap.
 */
function inOffsetOrder(batches: CleanReadingBatch[]): CleanReadingBatch[] {
  const perSeries = new Map<string, number>();
  const series = (b: CleanReadingBatch) => `${b.tenant.length}:${b.tenant}${b.meter}|${b.kind}`;
  for (const b of batches) perSeries.set(series(b), (perSeries.get(series(b)) ?? 0) + 1);
  if (perSeries.size === batches.length) return batches;
  const kept: CleanReadingBatch[] = [];
  const pieces: CleanReadingBatch[] = [];
  for (const b of batches) {
    if (perSeries.get(series(b)) === 1) {
      kept.push(b);
      continue;
    }
    let from = 0;
    for (let i = 1; i <= b.readings.length; i++) {
      if (i < b.readings.length && b.readings[i].offset === b.readings[from].offset) continue;
      pieces.push({ ...b, readings: b.readings.slice(from, i) });
      from = i;
    }
  }
  pieces.sort((a, b) => a.readings[0].offset - b.readings[0].offset);
  return [...kept, ...pieces];
}

/**
 * The key of a clean batch: every field of the header, strings length-prefixed and nulls
 * marked apart, so no two different headers share a key whatever their IDs contain. Joining
 * with a separator is not enough: a meter ID holding the separator (U+001F) took another
 * meter's batch, and with it that meter's pseudonym. Validation refuses control characters in
 * IDs; this keeps the grouping correct without relying on that.
 *
 * The register capacity is part of the key. A clean batch states one capacity for all its
 * readings, and `readings_raw` stores it with each of them: a message that states 1000 and one
 * of the same meter that states nothing (an older writer, or a head-end that does not know)
 * stay two batches, so no reading is given a capacity its message did not state, and none
 * loses the one it did. The rare mix costs what any changed header costs (batches cut per
 * message, see inOffsetOrder).
 */
export function groupKey(h: ReadingHeader): string {
  return (
    `${str(h.tenant)}${str(h.meterId)}${h.kind}|${h.unit}|${h.readingType}|${h.intervalSeconds}|` +
    `${str(h.zoneId)}${str(h.priceArea)}${h.registerModulus ?? '-'}`
  );
}

function str(s: string | null): string {
  return s === null ? '-' : `${s.length}:${s}`;
}
