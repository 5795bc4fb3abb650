/**
 * ZONE_LOSS: a district that loses water at night (a leak on the mains or a service pipe, which
 * no customer meter sees). Input: the zone's balance hours (`transforms/zone-balance.ts`) in
 * time order. Per local night (the tenant's time zone and night window, 02:00-05:00 by default,
 * as NIGHT_FLOW: DST nights have 2 or 4 such hours):
 * - the zone's minimum night flow (MNF): the lowest hourly inflow of the window;
 * - the night balance: the mean of inflow − customers over the window's hours (L/h).
 * At night legitimate use is lowest, so the balance is mostly leakage (IWA water balance,
 * minimum-night-flow practice; docs/alerts.md). A night is lossy when its balance is above
 * both `lph` and `pct` % of the night inflow; N consecutive lossy nights fire (WARNING), a
 * judged night that is not lossy resolves.
 *
 * Only nights the data can show are judged: at least 2 hours of the window, each with every
 * inflow meter and at least `minCoverage` of the customer meters fully covered (a customer
 * meter that is missing adds its use to the balance). A night that cannot be judged neither
 * counts nor breaks the run, and resolves nothing. Feed every hour (`zoneBalance` lists the
 * hours without data, with coverage 0): a night closes when the first hour after its window comes.
 */
import { DETECTOR_DEFAULTS, type DetectorSettings } from '@meterstream/core';
import type { AlertTransition } from './detector.js';
import { localHour } from './night-flow.js';
import type { ZoneBalanceHour } from '../transforms/zone-balance.js';

const H = 3_600_000;

export interface ZoneLossParams {
  timeZone: string;
  /** Local hours [startHour, endHour) of the night window. */
  startHour: number;
  endHour: number;
  /** Night balance (mean L/h) above which a night is lossy, if also above `pct` % of the inflow. */
  lph: number;
  pct: number;
  /** Consecutive lossy nights before firing. */
  nights: number;
  /** Least share of customer meters fully covered in each night hour. */
  minCoverage: number;
}

/** The parameters from a tenant's detector settings. */
export function zoneLossParams(s: DetectorSettings): ZoneLossParams {
  return {
    timeZone: s.timeZone,
    startHour: s.nightStartHour,
    endHour: s.nightEndHour,
    lph: s.zoneLossLph,
    pct: s.zoneLossPct,
    nights: s.zoneLossNights,
    minCoverage: s.zoneLossMinCoverage,
  };
}

/** The parameters of the configuration's defaults. */
export const ZONE_LOSS_DEFAULTS: ZoneLossParams = zoneLossParams(DETECTOR_DEFAULTS);

/** A ZONE_LOSS change: an alert transition whose subject is a zone, not a meter. */
export interface ZoneLossTransition extends Omit<AlertTransition, 'type'> {
  type: 'ZONE_LOSS';
}

/** One night of a zone, as it was judged. */
export interface ZoneNight {
  /** Local date of the night window. */
  date: string;
  hours: number;
  /** Lowest hourly inflow of the window (the zone's minimum night flow), L/h. */
  minNightFlowLph: number;
  /** Mean inflow − customers over the window, L/h. */
  balanceLph: number;
  /** Mean inflow over the window, L/h. */
  inflowLph: number;
  /** Lowest share of customer meters fully covered in a window hour. */
  customerCoverage: number;
  /** Every inflow meter fully covered in every window hour. */
  inflowComplete: boolean;
  /** End of the night's last hour (epoch ms). */
  end: number;
}

export interface ZoneLossState {
  /** The night being collected. */
  night: ZoneNight | null;
  /** Consecutive lossy nights, and the smallest balance among them. */
  lossyNights: number;
  lossyMinLph: number;
  firing: { since: number } | null;
}

export function zoneLoss(params: ZoneLossParams = ZONE_LOSS_DEFAULTS) {
  /** What a closed night shows: `null` when the data cannot show it. */
  function verdict(n: ZoneNight): boolean | null {
    if (n.hours < 2 || !n.inflowComplete || n.customerCoverage < params.minCoverage) return null;
    return n.balanceLph > params.lph && n.balanceLph > (params.pct / 100) * n.inflowLph;
  }

  function details(n: ZoneNight): Record<string, number> {
    return {
      nightBalanceLph: n.balanceLph,
      nightInflowLph: n.inflowLph,
      minNightFlowLph: n.minNightFlowLph,
      lossPercentOfInflow: n.inflowLph > 0 ? (100 * n.balanceLph) / n.inflowLph : 0,
      customerCoverage: n.customerCoverage,
    };
  }

  function closeNight(s: ZoneLossState, transitions: ZoneLossTransition[]): void {
    const n = s.night!;
    s.night = null;
    const lossy = verdict(n);
    if (lossy === null) return;
    if (lossy) {
      s.lossyNights++;
      s.lossyMinLph = s.lossyNights === 1 ? n.balanceLph : Math.min(s.lossyMinLph, n.balanceLph);
      if (s.firing === null && s.lossyNights >= params.nights) {
        s.firing = { since: n.end };
        transitions.push({
          type: 'ZONE_LOSS',
          status: 'FIRING',
          severity: 'WARNING',
          episodeStart: n.end,
          at: n.end,
          summary: `The district lost water at night for ${s.lossyNights} nights (night balance ${n.balanceLph.toFixed(0)} L/h, ${details(n).lossPercentOfInflow.toFixed(0)} % of inflow)`,
          details: { ...details(n), nights: s.lossyNights, thresholdLph: params.lph, thresholdPercent: params.pct },
        });
      }
    } else {
      s.lossyNights = 0;
      if (s.firing !== null) {
        transitions.push({
          type: 'ZONE_LOSS',
          status: 'RESOLVED',
          severity: 'WARNING',
          episodeStart: s.firing.since,
          at: n.end,
          summary: `A night within the balance (night balance ${n.balanceLph.toFixed(0)} L/h)`,
          details: details(n),
        });
        s.firing = null;
      }
    }
  }

  return {
    type: 'ZONE_LOSS' as const,
    initial: (): ZoneLossState => ({ night: null, lossyNights: 0, lossyMinLph: 0, firing: null }),
    step(state: ZoneLossState, h: ZoneBalanceHour): { state: ZoneLossState; transitions: ZoneLossTransition[] } {
      const s: ZoneLossState = { ...state, night: state.night && { ...state.night } };
      const transitions: ZoneLossTransition[] = [];
      const local = localHour(h.hour, params.timeZone);
      const inWindow = local.hour >= params.startHour && local.hour < params.endHour;
      if (s.night !== null && (!inWindow || local.date !== s.night.date)) closeNight(s, transitions);
      if (inWindow) {
        const n = s.night;
        if (n === null) {
          s.night = {
            date: local.date,
            hours: 1,
            minNightFlowLph: h.inflowL,
            balanceLph: h.balanceL,
            inflowLph: h.inflowL,
            customerCoverage: h.customerCoverage,
            inflowComplete: h.inflowCoverage >= 1,
            end: h.hour + H,
          };
        } else {
          // Running means over the window's hours.
          n.balanceLph = (n.balanceLph * n.hours + h.balanceL) / (n.hours + 1);
          n.inflowLph = (n.inflowLph * n.hours + h.inflowL) / (n.hours + 1);
          n.hours++;
          n.minNightFlowLph = Math.min(n.minNightFlowLph, h.inflowL);
          n.customerCoverage = Math.min(n.customerCoverage, h.customerCoverage);
          n.inflowComplete &&= h.inflowCoverage >= 1;
          n.end = h.hour + H;
        }
      }
      return { state: s, transitions };
    },
  };
}
