/**
 * Every record meterstream produces must fit the topic's `max.message.bytes` (a record batch,
 * headers included; 1,048,588 by default). kafkajs sends a refused batch back as
 * MESSAGE_TOO_LARGE, which it treats as non-retriable: one oversized record would fail its batch
 * on every retry. So the limit is read from the broker per output topic, outputs that can be
 * split are split below it by their owners (`splitToFit`), and anything still too large for the
 * dead-letter topic goes there as a bounded envelope instead of a copy.
 */
import { createHash } from 'node:crypto';
import type { Admin, IHeaders, Message } from 'kafkajs';
import { DLQ_HEADERS } from './dead-letter.js';

/** The broker's default `message.max.bytes`, used when a topic's config cannot be read. */
export const DEFAULT_MAX_MESSAGE_BYTES = 1_048_588;

/** Room left in every record batch for its own header and the records' framing. */
const BATCH_OVERHEAD = 1024;

/** Bytes of the original value an envelope keeps, for an operator to recognise it. */
export const ENVELOPE_HEAD_BYTES = 512;

/** The largest record batch each topic takes, from the broker (`max.message.bytes`). */
export async function readMaxMessageBytes(admin: Admin, topics: readonly string[]): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  const { resources } = await admin.describeConfigs({
    includeSynonyms: false,
    resources: topics.map((name) => ({ type: 2 /* TOPIC */, name, configNames: ['max.message.bytes'] })),
  });
  for (const r of resources) {
    const entry = r.configEntries.find((e) => e.configName === 'max.message.bytes');
    const n = Number(entry?.configValue);
    out.set(r.resourceName, Number.isFinite(n) && n > 0 ? n : DEFAULT_MAX_MESSAGE_BYTES);
  }
  return out;
}

/** The payload budget of one record on a topic whose limit is `maxMessageBytes`. */
export function recordBudget(maxMessageBytes: number): number {
  return Math.max(1024, maxMessageBytes - BATCH_OVERHEAD);
}

function headerBytes(headers: IHeaders | undefined): number {
  if (!headers) return 0;
  let n = 0;
  for (const [k, v] of Object.entries(headers)) {
    n += Buffer.byteLength(k) + 8;
    if (v === undefined) continue;
    for (const x of Array.isArray(v) ? v : [v]) n += typeof x === 'string' ? Buffer.byteLength(x) : x.length;
  }
  return n;
}

/** Bytes one record takes in a batch: key, value, headers and framing. */
export function recordBytes(m: Message): number {
  const key =
    m.key === null || m.key === undefined ? 0 : typeof m.key === 'string' ? Buffer.byteLength(m.key) : m.key.length;
  const value =
    m.value === null || m.value === undefined
      ? 0
      : typeof m.value === 'string'
        ? Buffer.byteLength(m.value)
        : m.value.length;
  return key + value + headerBytes(m.headers as IHeaders | undefined) + 32;
}

/**
 * Splits messages into sends whose records, headers included, stay under `limit` bytes and
 * that hold at most `maxCount` messages: kafkajs groups a send's messages by partition in
 * quadratic time (`[...current, message]` per message), so long sends cost more than they carry.
 */
export function chunkBySize(messages: Message[], limit: number, maxCount = 1000): Message[][] {
  const chunks: Message[][] = [];
  let current: Message[] = [];
  let size = 0;
  for (const m of messages) {
    const n = recordBytes(m);
    if (current.length > 0 && (size + n > limit || current.length >= maxCount)) {
      chunks.push(current);
      current = [];
      size = 0;
    }
    current.push(m);
    size += n;
  }
  if (current.length > 0) chunks.push(current);
  return chunks;
}

/**
 * Encodes `item`, and while the record is over `limit` bytes, splits it in two with `halve`
 * and encodes the halves: a meter's clean or hourly batch becomes several records, never one
 * the broker refuses. `halve` returns null when the item cannot be split (a single value).
 */
export function splitToFit<T>(
  item: T,
  encode: (item: T) => Message,
  halve: (item: T) => [T, T] | null,
  limit: number,
): Message[] {
  const m = encode(item);
  if (recordBytes(m) <= limit) return [m];
  const halves = halve(item);
  if (halves === null) return [m];
  return [...splitToFit(halves[0], encode, halve, limit), ...splitToFit(halves[1], encode, halve, limit)];
}

/** Headers of a too-large envelope, beside the DLQ contract's. */
export const ENVELOPE_HEADERS = {
  size: 'meterstream.original.size',
  sha256: 'meterstream.original.sha256',
  reason: 'meterstream.original.reason',
} as const;

/**
 * A dead letter too large to copy whole, as a bounded record: reason `too_large`, the original
 * reason in its own header, the original size and SHA-256, the source coordinates, and the
 * first bytes of the value as the value. The original headers go when they do not fit.
 */
export function tooLargeEnvelope(m: Message, limit: number): Message {
  const value = m.value === null || m.value === undefined ? Buffer.alloc(0) : Buffer.from(m.value);
  const original = (m.headers ?? {}) as IHeaders;
  const str = (v: IHeaders[string]) => (v === undefined ? undefined : Array.isArray(v) ? String(v[0]) : String(v));
  const headers: IHeaders = {
    [DLQ_HEADERS.reason]: 'too_large',
    [DLQ_HEADERS.detail]: `record of ${recordBytes(m)} bytes is over the DLQ topic's limit of ${limit}; original reason: ${str(original[DLQ_HEADERS.reason]) ?? 'none'}`,
    [ENVELOPE_HEADERS.size]: String(value.length),
    [ENVELOPE_HEADERS.sha256]: createHash('sha256').update(value).digest('hex'),
    [ENVELOPE_HEADERS.reason]: str(original[DLQ_HEADERS.reason]) ?? '',
  };
  for (const h of [DLQ_HEADERS.topic, DLQ_HEADERS.partition, DLQ_HEADERS.offset] as const) {
    if (original[h] !== undefined) headers[h] = original[h];
  }
  const key = m.key === null || m.key === undefined ? null : Buffer.from(m.key).subarray(0, 256);
  const envelope: Message = { key, value: value.subarray(0, ENVELOPE_HEAD_BYTES), headers };
  if (m.partition !== undefined) envelope.partition = m.partition;
  return envelope;
}

/**
 * Fits every record to its topic's budget: the last line of defence, after the handlers' own
 * splitting. A record over the limit becomes a `too_large` envelope on the DLQ topic (in place
 * when it was bound there), so no record can fail its batch on every retry.
 */
export function fitRecords(
  records: { topic: string; messages: Message[] }[],
  budget: (topic: string) => number,
  dlq: string | undefined,
  onMoved: (topic: string, bytes: number) => void,
): { topic: string; messages: Message[] }[] {
  const moved: Message[] = [];
  const out = records.map(({ topic, messages }) => {
    const limit = budget(topic);
    if (!messages.some((m) => recordBytes(m) > limit)) return { topic, messages };
    const kept: Message[] = [];
    for (const m of messages) {
      if (recordBytes(m) <= limit) kept.push(m);
      else if (topic === dlq) kept.push(tooLargeEnvelope(m, limit));
      else if (dlq !== undefined) {
        onMoved(topic, recordBytes(m));
        const { partition: _partition, ...rest } = m;
        moved.push(tooLargeEnvelope(rest, budget(dlq)));
      } else kept.push(m);
    }
    return { topic, messages: kept };
  });
  if (moved.length > 0 && dlq !== undefined) out.push({ topic: dlq, messages: moved });
  return out;
}
