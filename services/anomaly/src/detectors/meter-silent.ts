/**
 * METER_SILENT: a meter whose data stops *arriving* must be noticed. Default (DOMAIN.md): nothing
 * received for 48 hours or 3 x the meter's usual delivery interval, whichever is longer.
 *
 * Judged in arrival time, never by holes in event time: a hub backfill in shuffled day order,
 * a catch-up or a late correction fills holes, and a hole that later data fills is not a
 * silence. So the inputs are clock values of the caller's arrival clock (`arrival-clock.ts`:
 * the fleet's newest data time when the delivery came in), not the readings' timestamps:
 * - `{ arrival }`: some data of the meter arrived; it resolves a firing episode. `learn: false`
 *   (during a backfill) keeps the gap out of the learned cadence.
 * - `{ now }`: a judgement; the caller ticks only when it has caught up with its input and no
 *   backfill is in progress, so a silence is published while it is still going on. A silence
 *   that no judgement saw (its gap filled before anyone could act) is not published: the step
 *   reports it as `filled` (hours), for a metric.
 *
 * The cadence is the median of the meter's last {@link GAPS} gaps between arrivals (by the wall
 * clock when the caller gives it, else the arrival clock): a 15-minute
 * stream learns 15 minutes, a daily D+1 batch 24 hours (the spacing of the readings inside a
 * batch says nothing about it), and a single late delivery does not move it.
 */
import { DETECTOR_DEFAULTS, type DetectorSettings } from '@meterstream/core';
import type { AlertTransition, Detector } from './detector.js';

export interface SilenceParams {
  minSilenceMs: number;
  intervals: number;
}

/** The parameters from a tenant's detector settings. */
export function silenceParams(s: DetectorSettings): SilenceParams {
  return { minSilenceMs: s.silenceHours * 3_600_000, intervals: s.silenceIntervals };
}

/** The parameters of the configuration's defaults. */
export const SILENCE_DEFAULTS: SilenceParams = silenceParams(DETECTOR_DEFAULTS);

/** How many recent arrival gaps the cadence is the median of. */
export const GAPS = 7;

export interface SilenceState {
  /** Arrival-clock time of the meter's latest delivery, and of the one before. */
  lastArrival: number | null;
  previousArrival?: number | null;
  /** Wall-clock time of the latest delivery, when known. */
  lastWall?: number | null;
  /** The last gaps between deliveries (ms, arrival clock), oldest first. */
  gaps: number[];
  firing: { since: number } | null;
}

/**
 * `arrival`: the delivery's time on the arrival clock; `wall`: when it was received by the
 * wall clock (the record's Kafka timestamp), which the cadence is learned from when given, so
 * a pipeline that merges several deliveries into one record while it catches up (every
 * replay at speed) does not teach a cadence of days.
 */
export type SilenceInput = { arrival: number; wall?: number; learn?: boolean } | { now: number };

/** The step's result: `filled` is the length (hours) of a silence that ended before it was judged. */
export interface SilenceStep {
  state: SilenceState;
  transitions: AlertTransition[];
  filled?: number;
}

/** Median of the learned gaps (ms), or null before the second delivery. */
export function cadenceOf(s: SilenceState): number | null {
  const g = [...(s.gaps ?? [])].sort((a, b) => a - b);
  if (g.length === 0) return null;
  const mid = g.length >> 1;
  return g.length % 2 === 1 ? g[mid] : (g[mid - 1] + g[mid]) / 2;
}

/** The silence detector: its step also reports filled gaps. */
export interface SilenceDetector extends Detector<SilenceInput, SilenceState> {
  step(state: SilenceState, input: SilenceInput): SilenceStep;
}

export function meterSilent(params: SilenceParams = SILENCE_DEFAULTS): SilenceDetector {
  const limit = (s: SilenceState) => Math.max(params.minSilenceMs, params.intervals * (cadenceOf(s) ?? 0));
  const hours = (ms: number) => ms / 3_600_000;
  return {
    type: 'METER_SILENT',
    initial: () => ({ lastArrival: null, previousArrival: null, gaps: [], firing: null }),
    step(state, input): SilenceStep {
      // (`?? null`: a state stored before arrival time was used has no `lastArrival`)
      const last = state.lastArrival ?? null;
      if ('arrival' in input) {
        const at = input.arrival;
        if (last !== null && at <= last) return { state, transitions: [] }; // the same delivery instant
        const gap = last === null ? null : at - last;
        const lastWall = state.lastWall ?? null;
        const learned = input.wall === undefined ? gap : lastWall === null ? null : Math.max(0, input.wall - lastWall);
        const gaps =
          learned !== null && input.learn !== false ? [...(state.gaps ?? []), learned].slice(-GAPS) : state.gaps;
        const next: SilenceState = {
          lastArrival: at,
          previousArrival: last,
          lastWall: input.wall ?? lastWall,
          gaps: gaps ?? [],
          firing: null,
        };
        if (state.firing !== null) {
          const t: AlertTransition = {
            type: 'METER_SILENT',
            status: 'RESOLVED',
            severity: 'WARNING',
            episodeStart: state.firing.since,
            at,
            summary: 'Data from the meter arrives again',
            details: { silentHours: gap === null ? 0 : hours(gap) },
          };
          return { state: next, transitions: [t] };
        }
        const filled = gap !== null && gap > limit(state) ? hours(gap) : undefined;
        return { state: next, transitions: [], filled };
      }
      if (last === null || state.firing !== null) return { state, transitions: [] };
      const silent = input.now - last;
      if (silent <= limit(state)) return { state, transitions: [] };
      const since = last + limit(state);
      const t: AlertTransition = {
        type: 'METER_SILENT',
        status: 'FIRING',
        severity: 'WARNING',
        episodeStart: since,
        at: input.now,
        summary: `Nothing received from the meter for ${Math.round(hours(silent))} hours`,
        details: {
          silentHours: hours(silent),
          limitHours: hours(limit(state)),
          cadenceHours: hours(cadenceOf(state) ?? 0),
        },
      };
      return { state: { ...state, firing: { since } }, transitions: [t] };
    },
  };
}
