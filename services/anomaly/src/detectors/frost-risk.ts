/**
 * FROST_RISK: rooms with water pipes should stay at or above 10 °C. Defaults (DOMAIN.md): WARNING
 * at <= 5 °C, CRITICAL at <= 2 °C, an early WARNING when a linear fit over the last 2 hours
 * reaches 0 °C within 4 hours, and resolve only at or above 8 °C (hysteresis: a room near the
 * line does not flap). Reacts per reading.
 */
import { DETECTOR_DEFAULTS, type AlertSeverity, type DetectorSettings } from '@meterstream/core';
import type { AlertTransition, Detector } from './detector.js';

/** Thresholds, configurable per tenant. */
export interface FrostParams {
  warningC: number;
  criticalC: number;
  resolveC: number;
  /** Window of the linear fit (ms). */
  trendWindowMs: number;
  /** Early warning when the fit reaches 0 °C within this horizon (ms). */
  trendHorizonMs: number;
  /** Fewest readings the fit needs. */
  trendMinReadings: number;
}

/** The parameters from a tenant's detector settings; the fit needs at least 4 readings. */
export function frostParams(s: DetectorSettings): FrostParams {
  return {
    warningC: s.frostWarningC,
    criticalC: s.frostCriticalC,
    resolveC: s.frostResolveC,
    trendWindowMs: s.frostTrendHours * 3_600_000,
    trendHorizonMs: s.frostHorizonHours * 3_600_000,
    trendMinReadings: 4,
  };
}

/** The parameters of the configuration's defaults. */
export const FROST_DEFAULTS: FrostParams = frostParams(DETECTOR_DEFAULTS);

export interface FrostState {
  /** Recent readings inside the trend window, oldest first. */
  recent: { ts: number; c: number }[];
  firing: { severity: AlertSeverity; since: number } | null;
}

/** Least-squares slope (°C per ms) and the time the fit reaches 0 °C, or null. */
export function zeroCrossing(points: readonly { ts: number; c: number }[]): { slope: number; at: number } | null {
  const n = points.length;
  if (n < 2) return null;
  const t0 = points[0].ts;
  let sx = 0,
    sy = 0,
    sxx = 0,
    sxy = 0;
  for (const p of points) {
    const x = p.ts - t0;
    sx += x;
    sy += p.c;
    sxx += x * x;
    sxy += x * p.c;
  }
  const den = n * sxx - sx * sx;
  if (den === 0) return null;
  const slope = (n * sxy - sx * sy) / den;
  if (slope >= 0) return null;
  const intercept = (sy - slope * sx) / n;
  return { slope, at: t0 - intercept / slope };
}

export function frostRisk(params: FrostParams = FROST_DEFAULTS): Detector<{ ts: number; celsius: number }, FrostState> {
  return {
    type: 'FROST_RISK',
    initial: () => ({ recent: [], firing: null }),
    step(state, { ts, celsius }) {
      const recent = [
        ...state.recent.filter((p) => p.ts > ts - params.trendWindowMs && p.ts < ts),
        { ts, c: celsius },
      ].sort((a, b) => a.ts - b.ts);
      const trend = recent.length >= params.trendMinReadings ? zeroCrossing(recent) : null;
      const early = trend !== null && trend.at - ts <= params.trendHorizonMs;
      const previous = recent.length >= 2 ? recent[recent.length - 2] : undefined;
      const falling = previous !== undefined && previous.ts < ts && celsius < previous.c;
      const wanted: AlertSeverity | null =
        celsius <= params.criticalC ? 'CRITICAL' : celsius <= params.warningC || early ? 'WARNING' : null;
      const transitions: AlertTransition[] = [];
      let firing = state.firing;
      const details = {
        celsius,
        ...(trend
          ? { slopeCPerHour: trend.slope * 3_600_000, hoursToZero: Math.max(0, (trend.at - ts) / 3_600_000) }
          : {}),
      };
      if (firing === null && wanted !== null) {
        firing = { severity: wanted, since: ts };
        transitions.push({
          type: 'FROST_RISK',
          status: 'FIRING',
          severity: wanted,
          episodeStart: ts,
          at: ts,
          details,
          summary:
            celsius <= params.warningC
              ? `Room at ${celsius} °C: risk of frozen pipes`
              : `Room cooling towards 0 °C (${celsius} °C now)`,
        });
      } else if (firing !== null && wanted === 'CRITICAL' && firing.severity !== 'CRITICAL') {
        firing = { severity: 'CRITICAL', since: firing.since };
        transitions.push({
          type: 'FROST_RISK',
          status: 'FIRING',
          severity: 'CRITICAL',
          episodeStart: firing.since,
          at: ts,
          details,
          summary: `Room at ${celsius} °C: pipes about to freeze`,
        });
      } else if (firing !== null && celsius >= params.resolveC && !(early && falling)) {
        // Back above the resolve level and not still falling towards 0 °C (an early warning
        // raised while the room is above the level must not clear on its next, lower reading).
        transitions.push({
          type: 'FROST_RISK',
          status: 'RESOLVED',
          severity: firing.severity,
          episodeStart: firing.since,
          at: ts,
          details,
          summary: `Room back at ${celsius} °C`,
        });
        firing = null;
      }
      return { state: { recent, firing }, transitions };
    },
  };
}
