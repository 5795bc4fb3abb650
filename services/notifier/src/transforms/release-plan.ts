/**
 * What a silence that ended releases, per alert episode (`dedupKey`), from the state changes it
 * held (in topic order). The rule, Alertmanager's for silenced alerts:
 * - the episode is still FIRING (its latest held change is FIRING): that latest FIRING is sent;
 *   earlier held changes are dropped (superseded);
 * - it RESOLVED while held and people had been told it fired (a FIRING of the episode was
 *   delivered before the silence): the RESOLVED is sent, so nobody waits for a fault that is gone;
 * - it fired and resolved entirely while held: nothing is sent, the fault came and went during
 *   the maintenance window.
 */
export interface HeldChange {
  alertId: string;
  status: 'FIRING' | 'RESOLVED';
  sourceOffset: number;
}

export interface ReleasePlan<H> {
  release: H[];
  drop: H[];
}

export function releasePlan<H extends HeldChange>(held: readonly H[], firingDelivered: boolean): ReleasePlan<H> {
  if (held.length === 0) return { release: [], drop: [] };
  const ordered = [...held].sort((a, b) => a.sourceOffset - b.sourceOffset);
  const last = ordered[ordered.length - 1];
  const send = last.status === 'FIRING' || firingDelivered;
  return send ? { release: [last], drop: ordered.slice(0, -1) } : { release: [], drop: ordered };
}
