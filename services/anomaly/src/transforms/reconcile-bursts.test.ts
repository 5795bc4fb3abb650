import { test } from 'node:test';
import assert from 'node:assert/strict';
import { burst, type BurstSpan } from '../detectors/burst.js';
import { emptyLedger, reconcileBursts, replayBursts, type BurstLedger } from './reconcile-bursts.js';

const Q = 900_000;
const DAY = 86_400_000;
const t0 = Date.UTC(2026, 10, 20);
const det = burst();

/** A day of quarter hours, quiet but for 600 L/h during [from, to) quarters. */
function day(d: number, burstQuarters: [number, number] | null = null, litres = 150): BurstSpan[] {
  const out: BurstSpan[] = [];
  for (let i = 0; i < 96; i++) {
    const start = t0 + d * DAY + i * Q;
    const above = burstQuarters !== null && i >= burstQuarters[0] && i < burstQuarters[1];
    out.push({ start, end: start + Q, litres: above ? litres : 2 });
  }
  return out;
}
const changedOf = (spans: BurstSpan[]) => ({ from: spans[0].start, to: spans[spans.length - 1].end });

/** One delivery: the stored spans after it, replayed from a day before what changed. */
function deliver(ledger: BurstLedger, stored: BurstSpan[], delivered: BurstSpan[]) {
  const changed = changedOf(delivered);
  const spans = stored.filter((s) => s.start >= changed.from - DAY).sort((a, b) => a.start - b.start);
  return reconcileBursts(ledger, replayBursts(det, spans), changed, spans[spans.length - 1].end);
}

test('reconcileBursts: a hub backfill out of order publishes each day’s burst once, fired then resolved', () => {
  const days = [day(0), day(1, [40, 42]), day(2), day(3, [10, 14]), day(4)];
  let ledger = emptyLedger();
  let stored: BurstSpan[] = [];
  const published: string[] = [];
  for (const d of [4, 0, 3, 1, 2, 3, 1]) {
    // the last two: redeliveries of days already in
    stored = [...stored.filter((s) => !days[d].some((x) => x.start === s.start)), ...days[d]];
    const r = deliver(ledger, stored, days[d]);
    ledger = r.ledger;
    published.push(...r.transitions.map((t) => `${t.status} ${(t.episodeStart - t0) / Q}`));
  }
  assert.deepEqual(published, [
    `FIRING ${96 * 3 + 10}`,
    `RESOLVED ${96 * 3 + 10}`,
    `FIRING ${96 + 40}`,
    `RESOLVED ${96 + 40}`,
  ]);
  assert.deepEqual(ledger.open, {});
  assert.equal(ledger.known.length, 2);
});

test('reconcileBursts: an open burst fires once, stays open over later deliveries, resolves with the replay’s resolution', () => {
  const first = day(0, [90, 96]); // still above at the end of the day
  let r = deliver(emptyLedger(), first, first);
  assert.deepEqual(
    r.transitions.map((t) => t.status),
    ['FIRING'],
  );
  const next = day(1, [0, 8]);
  r = deliver(r.ledger, [...first, ...next], next);
  assert.deepEqual(
    r.transitions.map((t) => [t.status, (t.episodeStart - t0) / Q, (t.at - t0) / Q]),
    [['RESOLVED', 90, 96 + 9]],
    'one episode across midnight, resolved by the first quarter below',
  );
  assert.deepEqual(r.ledger.open, {});
});

test('reconcileBursts: a correction that removes the burst resolves it as corrected; a correction adding one publishes it', () => {
  const burstDay = day(0, [90, 96]);
  let r = deliver(emptyLedger(), burstDay, burstDay);
  const corrected = day(0);
  r = deliver(r.ledger, corrected, corrected.slice(90));
  assert.equal(r.transitions.length, 1);
  assert.equal(r.transitions[0].status, 'RESOLVED');
  assert.equal(r.transitions[0].details.corrected, 1);
  const added = day(0, [20, 22], 160);
  r = deliver(r.ledger, added, added.slice(20, 22));
  assert.deepEqual(
    r.transitions.map((t) => t.status),
    ['FIRING', 'RESOLVED'],
  );
});
