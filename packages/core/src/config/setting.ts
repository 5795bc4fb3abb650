/**
 * The shape of one setting's declaration: the variable's section, parser (kind and bounds),
 * typed default and doc line, and for detector thresholds the `DetectorSettings` field it
 * sets. Everything else (parsing, per-tenant checks, the docs) is derived from these.
 */
import type { DetectorSettings } from '../config.js';
import type { Parser } from './parse.js';

/** Sections of the configuration reference, in order. */
export const SECTIONS = {
  kafka: 'Kafka',
  clickhouse: 'ClickHouse',
  service: 'Service, HTTP and security',
  topics: 'Topics',
  retention: 'Retention',
  ingestor: 'Ingestor',
  aggregator: 'Aggregator',
  anomaly: 'Anomaly service',
  detectors: 'Anomaly detectors',
  notifier: 'Notifier (alert delivery)',
  demo: 'Demo',
} as const;

export type Section = keyof typeof SECTIONS;

/** What a detector variable sets: one `DetectorSettings` field, or two (a window's ends). */
export type DetectorTarget = keyof DetectorSettings | readonly [keyof DetectorSettings, keyof DetectorSettings];

/** One environment variable, declared once. */
export interface Setting<
  T = unknown,
  D extends T | null = T | null,
  K extends DetectorTarget | undefined = DetectorTarget | undefined,
> {
  section: Section;
  parser: Parser<T>;
  /**
   * Value when the variable is unset or empty. `null` where being unset means something
   * (no SASL, the embedded engine, a value computed at start-up): `shown` says what.
   */
  default: D;
  /** How the default reads in the docs, where the value alone would not say it. */
  shown?: string;
  /** One line for the docs. */
  doc: string;
  /** The detector threshold(s) this variable sets: each one can be overridden per tenant. */
  detector?: K;
}

/** Declares a setting, keeping its value type (and whether it can be null) for `loadConfig`. */
export function setting<T, const D extends T | null, const K extends DetectorTarget | undefined = undefined>(
  s: Setting<T, D, K>,
): Setting<T, D, K> {
  return s;
}

/** The resolved type of a declared setting. */
export type ValueOf<S> = S extends Setting<infer T, infer D, infer _K> ? (null extends D ? T | null : T) : never;
