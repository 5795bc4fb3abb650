/**
 * Level-triggered BURST on a meter's interval readings. A batch of readings changes some span of
 * time; the meter's stored intervals from a while before it to the end of its data are replayed
 * through the pure detector, and the episodes the replay shows are reconciled with what was
 * published for the meter, which its ledger remembers (the open episode, and the spans of the
 * closed ones of the last weeks):
 *
 * - a published open episode stays open while the replay ends in a burst, resolves with the
 *   replay's resolution, or, when the replay no longer shows it, as corrected;
 * - a burst the replay shows open and nothing published is open fires;
 * - a closed burst (it began and ended in the replayed data) is published, fired then resolved,
 *   when it touches the changed span and overlaps no episode published before. A hub backfill
 *   delivering days out of order thus publishes the bursts of the days it fills, once, and a
 *   redelivery or a replay of the topic publishes nothing again.
 *
 * Pure: no Kafka, no ClickHouse.
 */
import type { AlertTransition, Detector } from '../detectors/detector.js';
import type { BurstInput, BurstSpan, BurstState } from '../detectors/burst.js';
import type { OpenEpisode } from './reconcile.js';

const DAY = 86_400_000;
/** Closed episodes are remembered this long (data time) after the newest one: corrections later than that may publish a burst again. */
const KNOWN_FOR_MS = 45 * DAY;
const KNOWN_MAX = 64;

/** The slot of BURST in `open`, as the hourly path names it (`reconcile.ts`'s `slotOf`). */
export const BURST_SLOT = 'BURST/';

/** What was published of a meter's bursts. */
export interface BurstLedger {
  /** The published episode still firing, under {@link BURST_SLOT} (empty: none). */
  open: Record<string, OpenEpisode>;
  /** Published episodes that resolved: [start, end). */
  known: { start: number; end: number }[];
}

export const emptyLedger = (): BurstLedger => ({ open: {}, known: [] });

interface Episode {
  firing: AlertTransition;
  resolved?: AlertTransition;
}

/** Replays time-ordered spans through the detector: the episodes it shows, the last maybe open. */
export function replayBursts(det: Detector<BurstInput, BurstState>, spans: readonly BurstSpan[]): Episode[] {
  let state = det.initial();
  const episodes: Episode[] = [];
  for (const s of spans) {
    const r = det.step(state, s);
    state = r.state;
    for (const t of r.transitions) {
      if (t.status === 'FIRING') episodes.push({ firing: t });
      else if (episodes.length > 0) episodes[episodes.length - 1].resolved = t;
    }
  }
  return episodes;
}

const overlaps = (a: number, b: number, c: number, d: number) => a < d && c < b;

/**
 * Reconciles a replay's episodes with the ledger. `changed` is the span of the readings that
 * came in; `end` the end of the replayed data (when a correction resolves an episode).
 */
export function reconcileBursts(
  ledger: BurstLedger,
  episodes: readonly Episode[],
  changed: { from: number; to: number },
  end: number,
): { ledger: BurstLedger; transitions: AlertTransition[] } {
  const transitions: AlertTransition[] = [];
  const known = [...ledger.known];
  let open: OpenEpisode | undefined = ledger.open[BURST_SLOT];
  const last = episodes[episodes.length - 1];
  const derivedOpen = last !== undefined && last.resolved === undefined ? last : undefined;
  const closed = episodes.filter((e) => e.resolved !== undefined);
  let resolvedBy: Episode | undefined;

  if (open !== undefined) {
    // The first burst the replay shows ending after the published one began is its end; none,
    // and no burst going on at the end of the data: the readings it was raised on were corrected.
    const p = open;
    resolvedBy = closed.find((e) => e.resolved!.at > p.episodeStart);
    if (resolvedBy !== undefined || derivedOpen === undefined) {
      const t: AlertTransition =
        resolvedBy !== undefined
          ? { ...resolvedBy.resolved!, episodeStart: p.episodeStart, severity: p.severity }
          : {
              type: 'BURST',
              status: 'RESOLVED',
              severity: p.severity,
              episodeStart: p.episodeStart,
              at: Math.max(end, p.episodeStart),
              summary: 'Resolved: the corrected readings no longer show this',
              details: { corrected: 1 },
            };
      transitions.push(t);
      known.push({ start: p.episodeStart, end: t.at });
      open = undefined;
    }
  }
  const stillOpen = open?.episodeStart;
  for (const e of closed) {
    if (e === resolvedBy) continue;
    const start = e.firing.episodeStart;
    const stop = e.resolved!.at;
    if (!overlaps(start, stop, changed.from, changed.to)) continue;
    if (stillOpen !== undefined && stop > stillOpen) continue; // part of the episode still firing
    if (known.some((k) => overlaps(start, stop, k.start, k.end))) continue;
    transitions.push(e.firing, e.resolved!);
    known.push({ start, end: stop });
  }
  if (open === undefined && derivedOpen !== undefined) {
    transitions.push(derivedOpen.firing);
    open = { episodeStart: derivedOpen.firing.episodeStart, severity: derivedOpen.firing.severity };
  }
  known.sort((a, b) => a.start - b.start);
  const newest = known.length > 0 ? known[known.length - 1].end : 0;
  const kept = known.filter((k) => k.end >= newest - KNOWN_FOR_MS).slice(-KNOWN_MAX);
  return { ledger: { open: open === undefined ? {} : { [BURST_SLOT]: open }, known: kept }, transitions };
}
