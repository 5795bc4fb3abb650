/**
 * The arrival clock of one input partition, for METER_SILENT: when did a delivery come in,
 * and may silence be judged now?
 *
 * Arrival time is measured on the fleet's own data clock: the newest data time the partition
 * has received so far (its frontier), read when a delivery arrives, in the order the input
 * delivers. Live, the frontier follows the wall clock minus the pipeline's delay; in a replay
 * at speed (tests, `npm start`'s history, a consumer catching up) it runs as fast as the data,
 * so a replay judges as live would have; in a pipeline outage it stops, and nobody turns
 * silent. The meter's own event times never enter the silence rule: a daily D+1 batch arrives
 * when the fleet's clock says D+1 07:00, whatever day its readings are of.
 *
 * A backfill makes the frontier lie: a hub sending 8 days in shuffled order moves the clock by
 * days in seconds, before the other meters' days came (see also {@link judgementTime}). A
 * delivery is data newer than its meter's newest (the caller skips the rest: redeliveries,
 * corrections, republished rows); it is a backfill when its newest is older than the frontier
 * by more than `backfillMs` (48 h by default: a D+1 batch's newest reading is up to ~31 h
 * behind a fleet that streams, or that delivers each day at its end). Silence is then not
 * judged until the frontier has moved `backfillMs` past the last such delivery, and gaps seen
 * meanwhile teach no cadence.
 */

export interface ArrivalClockState {
  /** Newest data time received (ms), null before the first delivery. */
  frontier: number | null;
  /** Silence is judged only once the frontier is at or after this (ms). */
  settledFrom: number;
}

/** One delivery (record) of one meter: its newest data time, newer than the meter's before. */
export interface Delivery {
  newest: number;
}

export interface ArrivalStep {
  state: ArrivalClockState;
  /** The delivery's arrival time (the frontier including it). */
  arrival: number;
  backfill: boolean;
}

export const initialArrivalClock = (): ArrivalClockState => ({ frontier: null, settledFrom: 0 });

export function arrive(state: ArrivalClockState, d: Delivery, backfillMs: number): ArrivalStep {
  const before = state.frontier;
  const frontier = before === null ? d.newest : Math.max(before, d.newest);
  const fillsHole = before !== null && d.newest < before - backfillMs;
  const backfill = fillsHole;
  const settledFrom = backfill ? Math.max(state.settledFrom, frontier + backfillMs) : state.settledFrom;
  return { state: { frontier, settledFrom }, arrival: frontier, backfill };
}

/** True when silence may be judged (no backfill in the last `backfillMs` of the frontier). */
export const settled = (s: ArrivalClockState): boolean => s.frontier !== null && s.frontier >= s.settledFrom;

/**
 * The time silence is judged at: the latest time by which at least half of the partition's
 * meters that delivered more than once have delivered twice (the lower median of their
 * second-to-last arrivals; at least two such meters). A meter is silent only when the fleet around it went
 * on delivering, not when a few deliveries moved the frontier: the first records of a shuffled
 * backfill, or a replay's large batch, wait for the others' data; a meter alone in its
 * partition is never silent (it cannot be told from an outage). The price: a silence is
 * judged up to one delivery interval of the fleet late.
 */
export function judgementTime(previousArrivals: readonly (number | null | undefined)[]): number | null {
  const sorted = previousArrivals.filter((a): a is number => a != null).sort((a, b) => a - b);
  return sorted.length < 2 ? null : sorted[(sorted.length - 1) >> 1];
}
