/**
 * NIGHT_FLOW: water that never stops at night is a leak (a running toilet, a dripping pipe).
 * Defaults (DOMAIN.md): minimum night flow (MNF) = the lowest hourly flow in the local night
 * window 02:00-05:00 (time zone aware, so DST nights have 2 or 4 such hours); above 12.5 L/h on
 * 2 consecutive nights fires, WARNING, CRITICAL above 50 L/h; a quiet night resolves. Also
 * continuous flow (Kamstrup's LEAK code): no zero-flow hour in 24 hours fires; one zero-flow
 * hour resolves. Input: a meter's hourly water rows in time order, in litres.
 *
 * Only hours covered by readings of 1 hour or finer are judged (`coarse` marks the others: a
 * once-a-day reading spread over the day's hours has no night minimum and no zero hour), and
 * hours without data are not flow: continuous flow needs 24 consecutive hours with data, each
 * flowing; a missing or coarse hour starts the count again (and resolves nothing).
 */
import { DETECTOR_DEFAULTS, type DetectorSettings } from '@meterstream/core';
import type { AlertTransition, Detector } from './detector.js';

export interface NightFlowParams {
  timeZone: string;
  /** Local hours [startHour, endHour) of the night window. */
  startHour: number;
  endHour: number;
  warningLph: number;
  criticalLph: number;
  nights: number;
  /** Hours without a zero-flow hour that count as continuous flow. */
  continuousHours: number;
}

/** The parameters from a tenant's detector settings. */
export function nightFlowParams(s: DetectorSettings): NightFlowParams {
  return {
    timeZone: s.timeZone,
    startHour: s.nightStartHour,
    endHour: s.nightEndHour,
    warningLph: s.nightFlowWarningLph,
    criticalLph: s.nightFlowCriticalLph,
    nights: s.nightFlowNights,
    continuousHours: s.continuousFlowHours,
  };
}

/** The parameters of the configuration's defaults. */
export const NIGHT_FLOW_DEFAULTS: NightFlowParams = nightFlowParams(DETECTOR_DEFAULTS);

export interface NightFlowState {
  /** The night being collected: its local date and lowest hourly flow so far. */
  night: { date: string; minLph: number; hours: number; lastHour: number } | null;
  /** Consecutive completed nights above the threshold, and their lowest MNF. */
  leakyNights: number;
  leakyMin: number;
  firing: { since: number; severity: 'WARNING' | 'CRITICAL' } | null;
  /** First hour of the current run of consecutive flowing hours, for continuous flow. */
  runStart: number | null;
  /** The last hour judged (with data of hourly or finer resolution). */
  lastHour: number | null;
  continuous: { since: number } | null;
}

const formatters = new Map<string, Intl.DateTimeFormat>();
/** Local hours already worked out, per time zone (Intl formatting is the detectors' hot spot). */
const local = new Map<string, Map<number, { date: string; hour: number }>>();

/** Local date (YYYY-MM-DD) and hour of an instant in a time zone. */
export function localHour(ts: number, timeZone: string): { date: string; hour: number } {
  let cache = local.get(timeZone);
  if (cache === undefined) local.set(timeZone, (cache = new Map()));
  const hit = cache.get(ts);
  if (hit !== undefined) return hit;
  let f = formatters.get(timeZone);
  if (f === undefined) {
    f = new Intl.DateTimeFormat('en-CA', {
      timeZone,
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      hourCycle: 'h23',
    });
    formatters.set(timeZone, f);
  }
  const parts = Object.fromEntries(f.formatToParts(new Date(ts)).map((p) => [p.type, p.value]));
  const result = { date: `${parts.year}-${parts.month}-${parts.day}`, hour: Number(parts.hour) };
  if (cache.size >= 100_000) cache.clear(); // bounded: a few years of hours per zone
  cache.set(ts, result);
  return result;
}

const H = 3_600_000;

/** One hour of a meter's water: litres, and whether its readings are coarser than one hour. */
export interface NightFlowInput {
  hour: number;
  litres: number;
  coarse?: boolean;
}

export function nightFlow(params: NightFlowParams = NIGHT_FLOW_DEFAULTS): Detector<NightFlowInput, NightFlowState> {
  const severityOf = (lph: number) => (lph > params.criticalLph ? 'CRITICAL' : 'WARNING') as 'WARNING' | 'CRITICAL';

  /** Closes the collected night: count it, fire after N leaky nights, resolve on a quiet one. */
  function closeNight(s: NightFlowState, transitions: AlertTransition[]): void {
    const n = s.night;
    s.night = null;
    if (n === null || n.hours < 2) return; // too little of the window seen to judge
    const end = n.lastHour + H;
    if (n.minLph > params.warningLph) {
      s.leakyNights++;
      s.leakyMin = s.leakyNights === 1 ? n.minLph : Math.min(s.leakyMin, n.minLph);
      if (s.firing === null && s.leakyNights >= params.nights) {
        s.firing = { since: end, severity: severityOf(s.leakyMin) };
        transitions.push({
          type: 'NIGHT_FLOW',
          variant: 'night',
          status: 'FIRING',
          severity: s.firing.severity,
          episodeStart: end,
          at: end,
          summary: `Water ran all night for ${s.leakyNights} nights (lowest night flow ${n.minLph.toFixed(1)} L/h)`,
          details: { minNightFlowLph: n.minLph, nights: s.leakyNights, thresholdLph: params.warningLph },
        });
      }
    } else {
      s.leakyNights = 0;
      if (s.firing !== null) {
        transitions.push({
          type: 'NIGHT_FLOW',
          variant: 'night',
          status: 'RESOLVED',
          severity: s.firing.severity,
          episodeStart: s.firing.since,
          at: end,
          summary: `A quiet night (lowest night flow ${n.minLph.toFixed(1)} L/h)`,
          details: { minNightFlowLph: n.minLph },
        });
        s.firing = null;
      }
    }
  }

  return {
    type: 'NIGHT_FLOW',
    initial: () => ({
      night: null,
      leakyNights: 0,
      leakyMin: 0,
      firing: null,
      runStart: null,
      lastHour: null,
      continuous: null,
    }),
    step(state, { hour, litres, coarse }) {
      const s: NightFlowState = { ...state, night: state.night && { ...state.night } };
      const transitions: AlertTransition[] = [];
      if (coarse) return { state: s, transitions }; // no verdict: neither flow nor a zero hour
      const local = localHour(hour, params.timeZone);
      const inWindow = local.hour >= params.startHour && local.hour < params.endHour;
      if (s.night !== null && (!inWindow || local.date !== s.night.date)) closeNight(s, transitions);
      if (inWindow) {
        if (s.night === null) s.night = { date: local.date, minLph: litres, hours: 0, lastHour: hour };
        s.night.minLph = Math.min(s.night.minLph, litres);
        s.night.hours++;
        s.night.lastHour = hour;
      }
      // Continuous flow.
      if (litres <= 0) {
        s.runStart = null;
        if (s.continuous !== null) {
          transitions.push({
            type: 'NIGHT_FLOW',
            variant: 'continuous',
            status: 'RESOLVED',
            severity: 'WARNING',
            episodeStart: s.continuous.since,
            at: hour,
            summary: 'A zero-flow hour: flow is no longer continuous',
            details: {},
          });
          s.continuous = null;
        }
      } else {
        if (s.runStart === null || s.lastHour === null || hour - s.lastHour > H) s.runStart = hour;
        const flowingHours = (hour - s.runStart) / H + 1;
        if (s.continuous === null && flowingHours >= params.continuousHours) {
          s.continuous = { since: hour + H };
          transitions.push({
            type: 'NIGHT_FLOW',
            variant: 'continuous',
            status: 'FIRING',
            severity: 'WARNING',
            episodeStart: hour + H,
            at: hour + H,
            summary: `Water has flowed every hour for ${flowingHours} hours`,
            details: { hoursWithoutZeroFlow: flowingHours },
          });
        }
      }
      s.lastHour = hour;
      return { state: s, transitions };
    },
  };
}
