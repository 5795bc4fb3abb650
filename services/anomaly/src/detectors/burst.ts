/**
 * BURST: flow above 500 L/h (20 % of Q3 for a household meter) sustained for 30 minutes or
 * more is a burst pipe: CRITICAL at once (DOMAIN.md).
 *
 * Input: a meter's water as spans of time with the litres consumed in them, in time order: the
 * interval readings themselves (a quarter hour, an hour; `transforms/judge-interval-bursts.ts`)
 * or, for a meter with registers only, its hourly rows (the span an hour's readings cover).
 * A reading shows a mean rate over its own interval and nothing finer, so the rule is judged on
 * those means: a run of consecutive spans (each starting where the previous ended), every one
 * above the rate, covering 30 minutes or more, is a burst. Quarter hours at 600 L/h for 30
 * minutes fire; the same 300 L as one hourly value (300 L/h over 60 minutes) cannot show it,
 * and an hourly value above 500 L is 60 minutes above 500 L/h on average, which it fires on.
 * A hole in the data breaks a run (hours without data are not flow). Resolves on the first span
 * below the rate.
 */
import { DETECTOR_DEFAULTS, type DetectorSettings } from '@meterstream/core';
import type { AlertTransition, Detector } from './detector.js';

const H = 3_600_000;

export interface BurstParams {
  thresholdLph: number;
  /** Minimum sustained duration (minutes) of a run above the rate. */
  minMinutes: number;
}

/** The parameters from a tenant's detector settings. */
export function burstParams(s: DetectorSettings): BurstParams {
  return { thresholdLph: s.burstLph, minMinutes: s.burstMinutes };
}

/** The parameters of the configuration's defaults. */
export const BURST_DEFAULTS: BurstParams = burstParams(DETECTOR_DEFAULTS);

/** Litres consumed in [start, end) (epoch ms). */
export interface BurstSpan {
  start: number;
  end: number;
  litres: number;
}

/** An hourly row: the litres of the hour and the share of it its readings cover (read as a span from the hour's start). */
export interface BurstHour {
  hour: number;
  litres: number;
  coverage: number;
}

export type BurstInput = BurstSpan | BurstHour;

export interface BurstState {
  firing: { since: number } | null;
  /** The run of consecutive spans above the rate that the last span ended (absent: none). */
  run?: BurstSpan;
}

const spanOf = (i: BurstInput): BurstSpan =>
  // Whole milliseconds: a coverage such as 0.99999 must not make a fractional time (alert times are Avro longs).
  'hour' in i ? { start: i.hour, end: i.hour + Math.round(i.coverage * H), litres: i.litres } : i;

export function burst(params: BurstParams = BURST_DEFAULTS): Detector<BurstInput, BurstState> {
  return {
    type: 'BURST',
    initial: () => ({ firing: null }),
    step(state, input) {
      const s = spanOf(input);
      if (!(s.end > s.start)) return { state, transitions: [] }; // nothing covered: no verdict
      const rateLph = (s.litres * H) / (s.end - s.start);
      const transitions: AlertTransition[] = [];
      if (rateLph > params.thresholdLph) {
        const prev = state.run;
        const run =
          prev !== undefined && prev.end === s.start
            ? { start: prev.start, end: s.end, litres: prev.litres + s.litres }
            : { ...s };
        const minutes = (run.end - run.start) / 60_000;
        if (state.firing === null && minutes >= params.minMinutes) {
          const mean = (run.litres * H) / (run.end - run.start);
          transitions.push({
            type: 'BURST',
            status: 'FIRING',
            severity: 'CRITICAL',
            episodeStart: run.start,
            at: run.end,
            summary: `Possible burst: ${Math.round(mean)} L/h for ${Math.round(minutes)} minutes`,
            details: { rateLph: mean, minutes, litres: run.litres },
          });
          return { state: { firing: { since: run.start }, run }, transitions };
        }
        return { state: { ...state, run }, transitions };
      }
      if (state.firing !== null) {
        transitions.push({
          type: 'BURST',
          status: 'RESOLVED',
          severity: 'CRITICAL',
          episodeStart: state.firing.since,
          at: s.end,
          summary: `Flow back to ${Math.round(rateLph)} L/h`,
          details: { rateLph },
        });
      }
      return { state: { firing: null }, transitions };
    },
  };
}
