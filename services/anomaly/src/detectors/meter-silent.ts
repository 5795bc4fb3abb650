/**
 * METER_SILENT: a meter that stops reporting must be noticed. Default (DOMAIN.md): no reading
 * for 48 hours (daily hub deliveries are D+1) or 3 x the meter's usual interval, whichever is
 * longer. Inputs: reading times, and clock ticks to evaluate silence; a reading resolves.
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

export interface SilenceState {
  lastSeen: number | null;
  /** Smoothed gap between readings (ms). */
  usualGapMs: number | null;
  firing: { since: number } | null;
}

export type SilenceInput = { reading: number } | { now: number };

export function meterSilent(params: SilenceParams = SILENCE_DEFAULTS): Detector<SilenceInput, SilenceState> {
  const limit = (s: SilenceState) => Math.max(params.minSilenceMs, params.intervals * (s.usualGapMs ?? 0));
  return {
    type: 'METER_SILENT',
    initial: () => ({ lastSeen: null, usualGapMs: null, firing: null }),
    step(state, input) {
      const transitions: AlertTransition[] = [];
      if ('reading' in input) {
        const ts = input.reading;
        if (state.lastSeen !== null && ts <= state.lastSeen) return { state, transitions }; // late data says nothing of now
        const gap = state.lastSeen === null ? null : ts - state.lastSeen;
        const usualGapMs =
          gap === null ? state.usualGapMs : state.usualGapMs === null ? gap : 0.9 * state.usualGapMs + 0.1 * gap;
        if (state.firing !== null) {
          transitions.push({
            type: 'METER_SILENT',
            status: 'RESOLVED',
            severity: 'WARNING',
            episodeStart: state.firing.since,
            at: ts,
            summary: 'The meter reports again',
            details: { silentHours: gap === null ? 0 : gap / 3_600_000 },
          });
        } else if (gap !== null && gap > limit(state)) {
          // A silence that no clock tick saw (its end arrived in the same batch as the data that
          // would have revealed it): it happened all the same, so it is reported, already over.
          const since = state.lastSeen! + limit(state);
          const details = { silentHours: gap / 3_600_000, limitHours: limit(state) / 3_600_000 };
          transitions.push(
            {
              type: 'METER_SILENT',
              status: 'FIRING',
              severity: 'WARNING',
              episodeStart: since,
              at: since,
              summary: `No reading for ${Math.round(gap / 3_600_000)} hours`,
              details,
            },
            {
              type: 'METER_SILENT',
              status: 'RESOLVED',
              severity: 'WARNING',
              episodeStart: since,
              at: ts,
              summary: 'The meter reports again',
              details,
            },
          );
        }
        return { state: { lastSeen: ts, usualGapMs, firing: null }, transitions };
      }
      if (state.lastSeen === null || state.firing !== null) return { state, transitions };
      const silent = input.now - state.lastSeen;
      if (silent > limit(state)) {
        const since = state.lastSeen + limit(state);
        transitions.push({
          type: 'METER_SILENT',
          status: 'FIRING',
          severity: 'WARNING',
          episodeStart: since,
          at: input.now,
          summary: `No reading for ${Math.round(silent / 3_600_000)} hours`,
          details: { silentHours: silent / 3_600_000, limitHours: limit(state) / 3_600_000 },
        });
        return { state: { ...state, firing: { since } }, transitions };
      }
      return { state, transitions };
    },
  };
}
