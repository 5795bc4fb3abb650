/**
 * Silences as Alertmanager has them: a silence matches an alert when every one of its matchers
 * matches the alert's labels (`alertname`, `severity`, `tenant`, `zone`, `pseudonym`; see
 * `alert-json.ts`), and it is active in [startsAt, endsAt). A matcher is `{name, value,
 * isRegex, isEqual}`: a regex is anchored at both ends (Alertmanager's rule); `isEqual: false`
 * negates it. A label the alert lacks (a meter without zone) has the empty value.
 */
import type { Alert } from '@meterstream/core';
import { alertLabels } from './alert-json.js';

/** The labels silences can match on. */
export const SILENCE_LABELS = ['alertname', 'severity', 'tenant', 'zone', 'pseudonym'] as const;

export interface Matcher {
  name: (typeof SILENCE_LABELS)[number];
  value: string;
  isRegex: boolean;
  isEqual: boolean;
}

export interface Silence {
  id: string;
  matchers: Matcher[];
  /** Epoch ms. */
  startsAt: number;
  endsAt: number;
  createdBy: string;
  comment: string;
  createdAt: number;
}

export type SilenceState = 'pending' | 'active' | 'expired';

export function silenceState(s: Silence, now: number): SilenceState {
  if (now < s.startsAt) return 'pending';
  return now < s.endsAt ? 'active' : 'expired';
}

/** The regex of a matcher, or the reason it is not one (for the API's 400). */
export function matcherRegex(m: Pick<Matcher, 'value'>): RegExp | string {
  try {
    return new RegExp(`^(?:${m.value})$`, 'u');
  } catch (err) {
    return (err as Error).message;
  }
}

function matches(m: Matcher, labels: Record<string, string>): boolean {
  const v = labels[m.name] ?? '';
  const hit = m.isRegex ? (matcherRegex(m) as RegExp).test(v) : v === m.value;
  return hit === m.isEqual;
}

/** The first silence active at `now` that matches the alert, or null. */
export function silencing(alert: Alert, silences: readonly Silence[], now: number): Silence | null {
  const labels = alertLabels(alert);
  return silences.find((s) => silenceState(s, now) === 'active' && s.matchers.every((m) => matches(m, labels))) ?? null;
}
