/**
 * The one interface every detector implements: a pure step from (state, input) to (state,
 * alert transitions). Detectors know nothing of Kafka or ClickHouse; the service feeds them,
 * stores their state and turns transitions into `Alert` records. Adding a detector touches no
 * other detector.
 */
import type { AlertSeverity, AlertType } from '@meterstream/core';

/** A change of an alert episode: it starts (or escalates) firing, or it resolves. */
export interface AlertTransition {
  type: AlertType;
  status: 'FIRING' | 'RESOLVED';
  severity: AlertSeverity;
  /** Which condition of the type, when a type has more than one (e.g. night vs continuous flow). */
  variant?: string;
  /** Start of the episode (epoch ms): with type, variant and meter, the alert's identity. */
  episodeStart: number;
  /** When the transition happened (epoch ms, data time). */
  at: number;
  summary: string;
  details: Record<string, number>;
}

/** A detector over inputs of type I with per-meter state S. */
export interface Detector<I, S> {
  readonly type: AlertType;
  /** Initial state of a meter the detector has not seen. */
  initial(): S;
  /** Feeds one input; returns the new state and the transitions it caused. */
  step(state: S, input: I): { state: S; transitions: AlertTransition[] };
}
