/**
 * Level-triggered evaluation of the hourly detectors. Instead of stepping each hourly row once
 * (which a late or revised row would leave wrong), the service replays a meter's stored hourly
 * series from before the changed hours through the pure detectors, takes the episodes still
 * open at the end, and reconciles them with the episodes it has published: a new open episode
 * fires, a published one that is no longer open resolves — with the detector's reason, or,
 * when the replay shows it never happened, because the data it was raised on was corrected.
 * An episode that began and ended inside hours not evaluated before (a one-hour burst in a
 * day's delivery) is published as it happened: fired, then resolved.
 */
import type { AlertSeverity, AlertType } from '@meterstream/core';
import type { AlertTransition } from '../detectors/detector.js';

/**
 * A published episode of a slot: still firing, or (with `resolvedAt`) the last one resolved,
 * remembered so that the same episode derived again (a further correction) is published as a
 * new episode, with a new identity, rather than re-using the ids a receiver has already seen.
 */
export interface OpenEpisode {
  episodeStart: number;
  severity: AlertSeverity;
  /** When it was resolved (data time); absent while it fires. */
  resolvedAt?: number;
}

const RANK: Record<AlertSeverity, number> = { INFO: 0, WARNING: 1, CRITICAL: 2 };

/** `type/variant`: the slot of one kind of episode of a meter. */
export const slotOf = (t: { type: AlertType; variant?: string }) => `${t.type}/${t.variant ?? ''}`;

/**
 * Reconciles the published episodes of the given types with a replay's transitions.
 * Returns the transitions to publish and the new published episodes.
 */
export function reconcile(
  all: Readonly<Record<string, OpenEpisode>>,
  replayed: readonly AlertTransition[],
  types: readonly AlertType[],
  end: number,
  /** End of the hours evaluated before this replay: closed episodes ending later are new. */
  evaluatedUntil = Infinity,
): { open: Record<string, OpenEpisode>; transitions: AlertTransition[] } {
  const live: Record<string, OpenEpisode> = {};
  const resolvedBefore: Record<string, OpenEpisode> = {};
  for (const [slot, e] of Object.entries(all)) (e.resolvedAt === undefined ? live : resolvedBefore)[slot] = e;
  const published: Readonly<Record<string, OpenEpisode>> = live;
  const derived = new Map<string, AlertTransition>();
  const lastResolved = new Map<string, AlertTransition>();
  const closed: AlertTransition[] = [];
  for (const t of replayed) {
    const slot = slotOf(t);
    if (t.status === 'FIRING') derived.set(slot, t);
    else {
      const f = derived.get(slot);
      if (f?.episodeStart !== t.episodeStart) continue;
      derived.delete(slot);
      lastResolved.set(slot, t);
      if (t.at > evaluatedUntil && published[slot] === undefined) closed.push(f, t);
    }
  }
  const open: Record<string, OpenEpisode> = { ...all };
  const transitions: AlertTransition[] = [...closed];
  const slots = new Set([
    ...Object.keys(published).filter((s) => types.includes(s.split('/')[0] as AlertType)),
    ...derived.keys(),
  ]);
  for (const slot of slots) {
    const p = published[slot];
    const d = derived.get(slot);
    const [type, variant] = slot.split('/') as [AlertType, string];
    if (p !== undefined && d !== undefined) {
      if (RANK[d.severity] > RANK[p.severity]) {
        transitions.push({ ...d, episodeStart: p.episodeStart });
        open[slot] = { episodeStart: p.episodeStart, severity: d.severity };
      }
    } else if (p !== undefined) {
      const r = lastResolved.get(slot);
      open[slot] = { episodeStart: p.episodeStart, severity: p.severity, resolvedAt: r?.at ?? end };
      if (r !== undefined && r.at >= p.episodeStart) {
        transitions.push({ ...r, episodeStart: p.episodeStart, severity: p.severity });
      } else {
        transitions.push({
          type,
          variant: variant || undefined,
          status: 'RESOLVED',
          severity: p.severity,
          episodeStart: p.episodeStart,
          at: end,
          summary: 'Resolved: the corrected readings no longer show this',
          details: { corrected: 1 },
        });
      }
    } else if (d !== undefined) {
      // The episode a receiver saw resolved, derived again: a new episode from now on.
      const before = resolvedBefore[slot];
      const start =
        before !== undefined && d.episodeStart <= before.episodeStart
          ? Math.max(d.at, (before.resolvedAt ?? before.episodeStart) + 1)
          : d.episodeStart;
      transitions.push({ ...d, episodeStart: start });
      open[slot] = { episodeStart: start, severity: d.severity };
    }
  }
  return { open, transitions };
}
