/**
 * The transform under 10,000 fuzzed messages (seeded: TEST_SEED replays a run), in batches of
 * 100 mixed with good messages of the same meters: every message ends either as clean readings
 * under the pseudonym of its own (tenant, meterId) or in the DLQ with a reason, never both and
 * never a crash, and the good messages produce exactly their readings.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  AvroCodec,
  Pseudonymiser,
  pseudonymOf,
  type BatchReading,
  type CleanReading,
  type CleanReadingBatch,
} from '@meterstream/core';
import { TEST_KEY_HEX, testSeed } from '@meterstream/core/testing';
import { prepareBatch, type DeadLetter, type SourceMessage } from './prepare-batch.js';
import { FUZZ_METERS, MessageFuzzer, type FuzzMessage, type ReadingHeader } from '../testing/fuzz-messages.js';

const key = Buffer.from(TEST_KEY_HEX, 'hex');
const CASES = 10_000;

function groupBy<T>(items: Iterable<T>, keyOf: (item: T) => string): Map<string, T[]> {
  const out = new Map<string, T[]>();
  for (const item of items) {
    const k = keyOf(item);
    const list = out.get(k);
    if (list) list.push(item);
    else out.set(k, [item]);
  }
  return out;
}

/** Header and readings of a message as an independent decode sees them (for `either` cases). */
function decodedReadings(codec: AvroCodec, value: Buffer): { header: ReadingHeader; readings: BatchReading[] } {
  const d = codec.decode(value);
  if (d.schema === 'MeterReading') {
    const { ts, value: v, quality, ...header } = d.value;
    return { header, readings: [{ ts, value: v, quality }] };
  }
  if (d.schema === 'MeterReadingBatch') {
    const { readings, ...header } = d.value;
    return { header, readings: readings.map(({ ts, value: v, quality }) => ({ ts, value: v, quality })) };
  }
  throw new Error(`${d.schema} accepted as readings`);
}

/** What is wrong with the outcome of one message, or null. */
function judge(
  m: FuzzMessage,
  dead: readonly DeadLetter[],
  clean: readonly { group: CleanReadingBatch; readings: CleanReading[] }[],
  codec: AvroCodec,
): string | null {
  const e = m.expect;
  if (dead.length + clean.length !== 1) return `${dead.length} dead letters and ${clean.length} clean batches`;
  if (dead.length === 1) {
    const { reason, detail } = dead[0];
    if (!/^[a-z_]+$/.test(reason) || detail.length === 0) return `DLQ without a proper reason: ${reason} / ${detail}`;
    if (FUZZ_METERS.some((id) => detail.includes(id))) return `the DLQ detail carries the meter ID: ${detail}`;
    if (e.outcome === 'clean') return `refused (${reason}: ${detail}), expected clean`;
    if (e.outcome === 'dlq' && e.reason !== undefined && e.reason !== reason)
      return `refused with ${reason} (${detail}), expected ${e.reason}`;
    return null;
  }
  let want;
  try {
    want = e.outcome === 'clean' ? e : decodedReadings(codec, m.value!);
  } catch (err) {
    return `clean, but an independent decode says ${(err as Error).message}`;
  }
  const [{ group, readings }] = clean;
  const { meter, readings: _all, ...header } = group;
  const { meterId, ...sent } = want.header;
  const rest = { ...sent, registerModulus: sent.registerModulus ?? null };
  if (meter !== pseudonymOf(key, want.header.tenant, meterId)) return 'clean under another pseudonym';
  try {
    assert.deepEqual(header, rest);
    assert.deepEqual(
      readings.map(({ ts, value, quality }) => ({ ts, value, quality })),
      want.readings,
    );
  } catch (err) {
    return `clean, but not as sent: ${(err as Error).message}`;
  }
  if (e.outcome === 'dlq') return `clean, expected the DLQ (${e.reason ?? 'any reason'})`;
  return null;
}

test(`${CASES} fuzzed messages end clean under their own pseudonym or in the DLQ; the good ones beside them are unaffected`, (t) => {
  const seed = testSeed((msg) => t.diagnostic(msg));
  const codec = new AvroCodec();
  const now = Date.now();
  const limits = { maxBatchReadings: 50, maxFutureMs: 3_600_000, maxAgeMs: 60 * 86_400_000 };
  const fuzzer = new MessageFuzzer({ seed, codec, now, ...limits });
  const ctx = { codec, pseudonymiser: new Pseudonymiser({ key }), limits, now };
  const failures: string[] = [];
  const outcomes = new Map<string, number>();
  const kinds = new Map<string, number>(); // failures by kind
  let cases = 0;
  let offset = 0;
  while (cases < CASES) {
    const batch: FuzzMessage[] = [];
    while (batch.length < 100) {
      if (batch.length % 4 === 0) batch.push(fuzzer.good());
      else for (const m of fuzzer.next()) (batch.push(m), cases++);
    }
    const sources: SourceMessage[] = batch.map((m) => ({ offset: String(offset++), key: m.key, value: m.value }));
    let prepared;
    try {
      prepared = prepareBatch(sources, ctx);
    } catch (err) {
      failures.push(`prepareBatch threw on the batch from offset ${sources[0].offset}: ${(err as Error).stack}`);
      continue;
    }
    const dead = groupBy(prepared.dead, (d) => d.message.offset);
    const clean = new Map<string, { group: CleanReadingBatch; readings: CleanReading[] }[]>();
    for (const group of prepared.clean) {
      for (const [o, readings] of groupBy(group.readings, (r) => String(r.offset))) {
        if (!clean.has(o)) clean.set(o, []);
        clean.get(o)!.push({ group, readings });
      }
    }
    batch.forEach((m, i) => {
      const o = sources[i].offset;
      const d = dead.get(o) ?? [];
      const outcome = d.length > 0 ? d[0].reason : 'clean';
      outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
      const wrong = judge(m, d, clean.get(o) ?? [], codec);
      if (wrong) {
        failures.push(`offset ${o}, ${m.mutation}: ${wrong}`);
        const kind = wrong.replace(/[(:,].*/s, '').trim();
        kinds.set(kind, (kinds.get(kind) ?? 0) + 1);
      }
    });
  }
  t.diagnostic(`outcomes: ${JSON.stringify(Object.fromEntries([...outcomes].sort()))}`);
  assert.ok(outcomes.get('clean')! > 0 && outcomes.size > 10, 'the cases reach both outcomes and many reasons');
  assert.deepEqual(
    failures.slice(0, 20),
    [],
    `${failures.length} failures ${JSON.stringify(Object.fromEntries(kinds))}; replay with TEST_SEED=${seed}`,
  );
});
