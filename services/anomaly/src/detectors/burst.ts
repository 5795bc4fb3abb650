/**
 * BURST: flow above 500 L/h (20 % of Q3 for a household meter) sustained for 30 minutes or
 * more is a burst pipe: CRITICAL at once (DOMAIN.md). Input: a meter's hourly water rows; the
 * rate is the hour's volume over the share of the hour its readings cover. Resolves on the
 * first hour back under the threshold.
 */
import { DETECTOR_DEFAULTS, type DetectorSettings } from '@meterstream/core';
import type { AlertTransition, Detector } from './detector.js';

export interface BurstParams {
  thresholdLph: number;
  /** Minimum sustained duration (minutes) within an hour. */
  minMinutes: number;
}

/** The parameters from a tenant's detector settings. */
export function burstParams(s: DetectorSettings): BurstParams {
  return { thresholdLph: s.burstLph, minMinutes: s.burstMinutes };
}

/** The parameters of the configuration's defaults. */
export const BURST_DEFAULTS: BurstParams = burstParams(DETECTOR_DEFAULTS);

export interface BurstState {
  firing: { since: number } | null;
}

export function burst(
  params: BurstParams = BURST_DEFAULTS,
): Detector<{ hour: number; litres: number; coverage: number }, BurstState> {
  return {
    type: 'BURST',
    initial: () => ({ firing: null }),
    step(state, { hour, litres, coverage }) {
      const minutes = coverage * 60;
      const rateLph = coverage > 0 ? litres / coverage : 0;
      const above = rateLph > params.thresholdLph && minutes >= params.minMinutes;
      const transitions: AlertTransition[] = [];
      if (above && state.firing === null) {
        transitions.push({
          type: 'BURST',
          status: 'FIRING',
          severity: 'CRITICAL',
          episodeStart: hour,
          at: hour + 3_600_000,
          summary: `Possible burst: ${Math.round(rateLph)} L/h for ${Math.round(minutes)} minutes`,
          details: { rateLph, minutes, litres },
        });
        return { state: { firing: { since: hour } }, transitions };
      }
      if (!above && state.firing !== null && coverage > 0) {
        transitions.push({
          type: 'BURST',
          status: 'RESOLVED',
          severity: 'CRITICAL',
          episodeStart: state.firing.since,
          at: hour + 3_600_000,
          summary: `Flow back to ${Math.round(rateLph)} L/h`,
          details: { rateLph },
        });
        return { state: { firing: null }, transitions };
      }
      return { state, transitions };
    },
  };
}
