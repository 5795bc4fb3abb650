/**
 * Turns one Kafka partition batch into what the sinks write: `readings_raw` rows (as
 * TabSeparated text), clean batches grouped per meter, and DLQ records for everything that
 * could not be decoded or validated. Pure apart from the codec and pseudonymiser caches.
 */
import {
  isMeterError,
  tsvEscape,
  tsvMillis,
  tsvNullable,
  type AvroCodec,
  type CleanReadingBatch,
  type MeterReading,
  type MeterReadingBatch,
  type Pseudonymiser,
  type Quality,
} from '@meterstream/core';
import { validateBatch, validateReading, type Rejection, type ValidationLimits } from './validate-reading.js';

/** A Kafka message as the transform needs it. */
export interface SourceMessage {
  offset: string;
  key: Buffer | null;
  value: Buffer | null;
  headers?: Record<string, unknown>;
}

/** A message refused with its reason, for the DLQ. */
export interface DeadLetter {
  message: SourceMessage;
  reason: string;
  detail: string;
}

/** The result of preparing one partition batch. */
export interface PreparedBatch {
  /** `readings_raw` rows, TabSeparated, in {@link RAW_COLUMNS} order. */
  rawTsv: string;
  rawRows: number;
  /** One clean batch per (meter, header) seen in the Kafka batch, in first-seen order. */
  clean: CleanReadingBatch[];
  dead: DeadLetter[];
  /** Decoded messages by record name (MeterReading / MeterReadingBatch). */
  decoded: { single: number; batch: number };
  /** Newest reading time in the batch (ms), or null if none. */
  maxTs: number | null;
}

/** Columns of `readings_raw` that the ingestor writes, in TSV field order. */
export const RAW_COLUMNS = [
  'tenant', 'meter', 'kind', 'unit', 'reading_type', 'ts', 'interval_seconds', 'value',
  'quality', 'zone_id', 'price_area', 'source_partition', 'source_offset', 'version',
] as const;

const QUALITY_RANK: Record<Quality, number> = { ESTIMATED: 0, MEASURED: 1, CORRECTED: 2 };
const RANK_SHIFT = 2 ** 48;

/**
 * The ReplacingMergeTree version of a reading: a better quality wins, and among equal
 * qualities the later delivery (higher source offset) wins. A redelivery carries the same
 * offset, hence the same version and values: it changes nothing. < 2^53, exact as a number.
 */
export function readingVersion(quality: Quality, offset: number): number {
  return QUALITY_RANK[quality] * RANK_SHIFT + offset;
}

type Header = Omit<MeterReading, 'ts' | 'value' | 'quality'>;

/** Dependencies of {@link prepareBatch}. */
export interface PrepareContext {
  codec: AvroCodec;
  pseudonymiser: Pseudonymiser;
  limits: ValidationLimits;
  partition: number;
  now: number;
}

/** Prepares one partition batch. Await `codec.prepare` first when a registry is configured. */
export function prepareBatch(messages: readonly SourceMessage[], ctx: PrepareContext): PreparedBatch {
  const lines: string[] = [];
  const groups = new Map<string, CleanReadingBatch>();
  const dead: DeadLetter[] = [];
  const decoded = { single: 0, batch: 0 };
  let maxTs: number | null = null;
  const partition = String(ctx.partition);

  const headerTsv = new Map<string, string>();
  const groupOf = (h: Header, meter: string): { group: CleanReadingBatch; prefix: string } => {
    const id = `${meter}\u001f${h.kind}\u001f${h.unit}\u001f${h.readingType}\u001f${h.intervalSeconds}\u001f${h.zoneId ?? ''}\u001f${h.priceArea ?? ''}`;
    let group = groups.get(id);
    if (group === undefined) {
      group = {
        tenant: h.tenant, meter, kind: h.kind, unit: h.unit, readingType: h.readingType,
        intervalSeconds: h.intervalSeconds, zoneId: h.zoneId, priceArea: h.priceArea, readings: [],
      };
      groups.set(id, group);
      headerTsv.set(id, `${tsvEscape(h.tenant)}\t${meter}\t${h.kind}\t${h.unit}\t${h.readingType}\t`);
    }
    return { group, prefix: headerTsv.get(id)! };
  };
  const tail = (h: Header) => `\t${tsvNullable(h.zoneId)}\t${tsvNullable(h.priceArea)}\t${partition}\t`;

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
    let rejection: Rejection | null;
    if (d.schema === 'MeterReading') {
      const r = d.value;
      rejection = validateReading(r, ctx.now, ctx.limits);
      if (rejection === null) {
        decoded.single++;
        const meter = ctx.pseudonymiser.of(r.tenant, r.meterId);
        const { group, prefix } = groupOf(r, meter);
        group.readings.push({ ts: r.ts, value: r.value, quality: r.quality, offset });
        lines.push(`${prefix}${tsvMillis(r.ts)}\t${r.intervalSeconds}\t${r.value}\t${r.quality}${tail(r)}${offset}\t${readingVersion(r.quality, offset)}\n`);
        if (maxTs === null || r.ts > maxTs) maxTs = r.ts;
      }
    } else if (d.schema === 'MeterReadingBatch') {
      const b: MeterReadingBatch = d.value;
      rejection = validateBatch(b, ctx.now, ctx.limits);
      if (rejection === null) {
        decoded.batch++;
        const meter = ctx.pseudonymiser.of(b.tenant, b.meterId);
        const { group, prefix } = groupOf(b, meter);
        const mid = `\t${b.intervalSeconds}\t`;
        const end = `${tail(b)}${offset}\t`;
        for (const r of b.readings) {
          group.readings.push({ ts: r.ts, value: r.value, quality: r.quality, offset });
          lines.push(`${prefix}${tsvMillis(r.ts)}${mid}${r.value}\t${r.quality}${end}${readingVersion(r.quality, offset)}\n`);
          if (maxTs === null || r.ts > maxTs) maxTs = r.ts;
        }
      }
    } else {
      rejection = { reason: 'unexpected_record', detail: `${d.schema} does not belong on the readings topic` };
    }
    if (rejection !== null) dead.push({ message, reason: rejection.reason, detail: rejection.detail });
  }
  return { rawTsv: lines.join(''), rawRows: lines.length, clean: [...groups.values()], dead, decoded, maxTs };
}
