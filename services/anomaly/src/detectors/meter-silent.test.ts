import { test } from 'node:test';
import assert from 'node:assert/strict';
import { arrive, initialArrivalClock, judgementTime, settled, type ArrivalClockState } from './arrival-clock.js';
import type { AlertTransition } from './detector.js';
import { meterSilent, SILENCE_DEFAULTS, type SilenceInput, type SilenceState } from './meter-silent.js';

const H = 3_600_000;
const DAY = 24 * H;
const t0 = Date.UTC(2026, 10, 20);

function feed(inputs: SilenceInput[]) {
  const d = meterSilent();
  let s: SilenceState = d.initial();
  const out: AlertTransition[] = [];
  const filled: number[] = [];
  for (const i of inputs) {
    const r = d.step(s, i);
    s = r.state;
    out.push(...r.transitions);
    if (r.filled !== undefined) filled.push(r.filled);
  }
  return { out, filled, state: s };
}

test('METER_SILENT: nothing received for 48 h fires while it lasts; a daily batch meter gets 72 h; a delivery resolves', () => {
  const hourly = Array.from({ length: 10 }, (_, i) => ({ arrival: t0 + i * H }));
  const last = t0 + 9 * H;
  assert.deepEqual(feed([...hourly, { now: last + 47 * H }]).out, []);
  const silent = feed([...hourly, { now: last + 49 * H }, { now: last + 60 * H }, { arrival: last + 80 * H }]).out;
  assert.deepEqual(
    silent.map((t) => [t.status, t.episodeStart]),
    [
      ['FIRING', last + 48 * H],
      ['RESOLVED', last + 48 * H],
    ],
  );
  const daily = Array.from({ length: 5 }, (_, i) => ({ arrival: t0 + i * DAY }));
  assert.deepEqual(feed([...daily, { now: t0 + 4 * DAY + 71 * H }]).out, [], '3 x 24 h = 72 h for a daily meter');
  assert.equal(feed([...daily, { now: t0 + 4 * DAY + 73 * H }]).out.length, 1);
  // One late delivery does not move the cadence (median of the gaps).
  const slipped = [...daily, { arrival: t0 + 6 * DAY }, { arrival: t0 + 7 * DAY }];
  assert.deepEqual(feed([...slipped, { now: t0 + 7 * DAY + 71 * H }]).out, []);
  assert.equal(feed([...slipped, { now: t0 + 7 * DAY + 73 * H }]).out.length, 1);
});

test('METER_SILENT: a gap that later data fills before any judgement is no alert, only counted; gaps learned in a backfill teach nothing', () => {
  const hourly = Array.from({ length: 10 }, (_, i) => ({ arrival: t0 + i * H }));
  const unseen = feed([...hourly, { arrival: t0 + 9 * H + 100 * H }]);
  assert.deepEqual(unseen.out, [], 'nothing published "already over"');
  assert.deepEqual(unseen.filled, [100]);
  const backfill = feed([...hourly, { arrival: t0 + 9 * H + 30 * DAY, learn: false }]);
  assert.deepEqual(backfill.state.gaps, Array(9).fill(H).slice(-7));
  assert.deepEqual(
    feed([...hourly, { arrival: t0 + 9 * H + 40 * H }]).filled,
    [],
    'a gap inside the limit is no silence',
  );
});

/** A seeded PRNG (mulberry32). */
function random(seed: number) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let x = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

function shuffle<T>(xs: T[], rnd: () => number): T[] {
  for (let i = xs.length - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    [xs[i], xs[j]] = [xs[j], xs[i]];
  }
  return xs;
}

/** One record of the hourly topic as silence sees it: a meter and the newest data time it brings. */
interface Rec {
  meter: string;
  newest: number;
}

/**
 * The hourly consumer's silence path over one partition: each record that brings a meter data
 * newer than its newest through the arrival clock and the meter's detector; a judgement after each `tickEvery` records (1: a consumer
 * that is always caught up, the worst case for a backfill) and after the last one.
 */
function partition(records: Rec[], tickEvery = 1) {
  const d = meterSilent();
  let clock: ArrivalClockState = initialArrivalClock();
  const meters = new Map<string, { silence: SilenceState; newest: number }>();
  const out: { meter: string; t: AlertTransition }[] = [];
  const tick = () => {
    if (!settled(clock)) return;
    const now = judgementTime([...meters.values()].map((m) => m.silence.previousArrival));
    if (now === null) return;
    for (const [meter, m] of meters) {
      const r = d.step(m.silence, { now });
      m.silence = r.state;
      for (const t of r.transitions) out.push({ meter, t });
    }
  };
  records.forEach((rec, i) => {
    let m = meters.get(rec.meter);
    if (m === undefined) meters.set(rec.meter, (m = { silence: d.initial(), newest: -Infinity }));
    if (rec.newest > m.newest) {
      m.newest = rec.newest;
      const a = arrive(clock, { newest: rec.newest }, SILENCE_DEFAULTS.minSilenceMs);
      clock = a.state;
      const r = d.step(m.silence, { arrival: a.arrival, learn: !a.backfill && settled(clock) });
      m.silence = r.state;
      for (const t of r.transitions) out.push({ meter: rec.meter, t });
    }
    if ((i + 1) % tickEvery === 0 || i === records.length - 1) tick();
  });
  return out;
}

const firing = (out: { meter: string; t: AlertTransition }[]) => out.filter((o) => o.t.status === 'FIRING');

test('a hub backfill: daily 96-value deliveries of 12 electricity meters in shuffled day order over 8 days give no METER_SILENT, then a meter that stops is reported once', () => {
  for (let seed = 1; seed <= 40; seed++) {
    const rnd = random(seed);
    const meters = Array.from({ length: 12 }, (_, i) => `el-${i}`);
    // A day's batch: 96 quarter hours; its newest reading is the day's last quarter.
    const batch = (meter: string, day: number): Rec => ({ meter, newest: t0 + day * DAY + DAY - 15 * 60_000 });
    const backfill = shuffle(
      meters.flatMap((m) => Array.from({ length: 8 }, (_, day) => batch(m, day))),
      rnd,
    );
    assert.deepEqual(firing(partition(backfill)), [], `seed ${seed}: no silence from the backfill`);
    // Then live: one batch per meter and day at D+1; el-11 stops after day 9.
    const live: Rec[] = [];
    for (let day = 8; day < 16; day++) for (const m of meters) if (m !== 'el-11' || day <= 9) live.push(batch(m, day));
    const fired = firing(partition([...backfill, ...live]));
    assert.deepEqual(
      fired.map((f) => f.meter),
      ['el-11'],
      `seed ${seed}: exactly the meter that stopped`,
    );
  }
});

test('an npm-start-like history reaching the detector out of event-time order gives no METER_SILENT', () => {
  for (const seed of [11, 12, 13, 14, 15]) {
    const rnd = random(seed);
    const records: (Rec & { at: number })[] = [];
    for (let m = 0; m < 300; m++) {
      // Each meter's 14 days of hourly rows in chunks of 1 to 24 hours, each chunk delayed by up
      // to 5 days behind its data (rebalances, retried batches, a late hub).
      for (let h = 0; h < 14 * 24;) {
        const n = 1 + Math.floor(rnd() * 24);
        const newest = t0 + Math.min(h + n, 14 * 24) * H - 15 * 60_000;
        records.push({ meter: `w-${m}`, newest, at: newest + rnd() * 5 * DAY });
        h += n;
      }
    }
    records.sort((a, b) => a.at - b.at);
    // Then two live days in order, every meter every hour.
    for (let h = 14 * 24; h < 16 * 24; h++)
      for (let m = 0; m < 300; m++) records.push({ meter: `w-${m}`, newest: t0 + h * H + 45 * 60_000, at: 0 });
    assert.deepEqual(firing(partition(records, 50)), [], `seed ${seed}`);
  }
});

test('a meter that stops 60 h before its neighbours is reported exactly once, live or in a replay at speed', () => {
  const records: Rec[] = [];
  const end = 10 * 24;
  for (let h = 0; h < end; h++)
    for (let m = 0; m < 40; m++) if (m !== 7 || h < end - 60) records.push({ meter: `w-${m}`, newest: t0 + h * H });
  for (const tickEvery of [1, 40, 1000, records.length]) {
    const out = partition(records, tickEvery);
    assert.deepEqual(
      out.map((o) => [o.meter, o.t.status]),
      [['w-7', 'FIRING']],
      `ticks every ${tickEvery} records`,
    );
    assert.equal(out[0].t.episodeStart, t0 + (end - 61) * H + 48 * H);
    assert.ok(out[0].t.at <= t0 + end * H, 'judged within an hour (the fleet cadence) of the limit');
  }
});
