/**
 * The chaos soak's fault sequence, from a seed alone: the same seed gives the same faults with
 * the same parameters in the same order, so a failing soak is replayed with its seed. Faults come
 * in rounds that each hold every kind once, in a seeded order, so a soak of a few rounds meets
 * every kind; the pauses between faults are seeded too.
 */
import { prng } from '@meterstream/simulator';

/** What a fault does, with its seeded parameters. */
export type Fault =
  /** Every ClickHouse statement waits for `ms`, then runs. */
  | { kind: 'clickhouse_stall'; ms: number }
  /** `share` of ClickHouse statements fail with ECONNRESET for `ms`. */
  | { kind: 'statement_failures'; share: number; ms: number }
  /** The broker is stopped (SIGTERM), stays down `ms`, and is started again on its dir and port. */
  | { kind: 'broker_restart'; ms: number }
  /** The services' connections to the broker are cut for `ms` (new ones hang). */
  | { kind: 'network_cut'; ms: number }
  /** Poison records (a tombstone, garbage bytes, a valid record of the wrong type) on every input topic. */
  | { kind: 'poison' };

export type FaultKind = Fault['kind'];
export const FAULT_KINDS: readonly FaultKind[] = [
  'clickhouse_stall',
  'statement_failures',
  'broker_restart',
  'network_cut',
  'poison',
];

/** A fault and the quiet pause before it. */
export interface PlannedFault {
  fault: Fault;
  pauseBeforeMs: number;
}

/** The endless seeded sequence of faults. */
export function* faultPlan(seed: number): Generator<PlannedFault> {
  const rnd = prng(seed);
  const between = (lo: number, hi: number) => lo + Math.floor(rnd() * (hi - lo + 1));
  for (;;) {
    const round = FAULT_KINDS.map((k) => ({ k, r: rnd() }))
      .sort((a, b) => a.r - b.r)
      .map((x) => x.k);
    for (const kind of round) {
      const pauseBeforeMs = between(10, 30) * 1000;
      const fault: Fault =
        kind === 'clickhouse_stall'
          ? { kind, ms: between(10, 90) * 1000 }
          : kind === 'statement_failures'
            ? { kind, share: between(5, 20) / 100, ms: between(20, 60) * 1000 }
            : kind === 'broker_restart'
              ? { kind, ms: 20_000 }
              : kind === 'network_cut'
                ? { kind, ms: between(10, 30) * 1000 }
                : { kind };
      yield { fault, pauseBeforeMs };
    }
  }
}

/** One line for the report, e.g. `clickhouse_stall 42s`. */
export function describeFault(f: Fault): string {
  switch (f.kind) {
    case 'statement_failures':
      return `${f.kind} ${Math.round(f.share * 100)}% for ${f.ms / 1000}s`;
    case 'poison':
      return f.kind;
    default:
      return `${f.kind} ${f.ms / 1000}s`;
  }
}
