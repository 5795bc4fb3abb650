/** The chaos soak's report: plain text, and whether the soak failed (anything lost, doubled, duplicated or unrecovered). */
import { isExact } from './hourly-verdict.js';
import type { FeedCounts } from './fleet-feed.js';
import { FAULT_KINDS } from './fault-plan.js';
import { dlqMatches, type SoakVerdict } from './soak-verdict.js';

/** One injected fault: when (seconds since the soak began), what, and the recovery after it. */
export interface FaultRecord {
  kind: string;
  description: string;
  startS: number;
  endS: number;
  /** ms from the fault's end to ready and consuming; null: not within the limit. */
  recoveryMs: number | null;
}

export interface SoakRun {
  command: string;
  minutes: number;
  seed: number;
  wallS: number;
  faults: FaultRecord[];
  feed: FeedCounts;
  caughtUp: boolean;
  verdict: SoakVerdict;
}

const mmss = (s: number) =>
  `${String(Math.floor(s / 60)).padStart(2, '0')}:${String(Math.floor(s % 60)).padStart(2, '0')}`;

export function soakFailed(r: SoakRun): boolean {
  const v = r.verdict;
  return (
    !r.caughtUp ||
    !isExact(v.hourly) ||
    v.raw.stored !== v.raw.expected ||
    !dlqMatches(v) ||
    v.alerts.duplicated > 0 ||
    r.faults.some((f) => f.recoveryMs === null)
  );
}

export function formatReport(r: SoakRun): string {
  const v = r.verdict;
  const h = v.hourly;
  const out: string[] = [];
  out.push(`chaos soak: ${r.command}`);
  out.push(
    `  fault window ${r.minutes} min, seed ${r.seed}, wall time ${mmss(r.wallS)} (fault window + catching up + checks)`,
  );
  out.push(`faults injected: ${r.faults.length}`);
  for (const k of FAULT_KINDS) out.push(`  ${k.padEnd(20)} ${r.faults.filter((f) => f.kind === k).length}`);
  out.push(`  service process restarts: 0 (the services run in the soak's process; none was restarted)`);
  for (const f of r.faults)
    out.push(
      `  ${mmss(f.startS)}-${mmss(f.endS)}  ${f.description.padEnd(34)} recovered ${f.recoveryMs === null ? 'NO' : `in ${(f.recoveryMs / 1000).toFixed(1)} s`}`,
    );
  const rec = r.faults.map((f) => f.recoveryMs).filter((x): x is number => x !== null);
  out.push(
    `max recovery time: ${rec.length ? `${(Math.max(...rec) / 1000).toFixed(1)} s` : '-'} (fault end -> /readyz 200 and every consumer group committing again)`,
  );
  out.push(
    `readings in: ${r.feed.readings} in ${r.feed.messages} messages (${r.feed.generations} fleet generations of 24 meters; ${r.feed.distinct} distinct readings; ${r.feed.resent} sends repeated after a broker fault)`,
  );
  out.push(`caught up after the faults: ${r.caughtUp ? 'yes' : 'NO'}`);
  out.push(
    `hourly rows checked against the independent reference: ${h.checked}; exact: ${isExact(h) ? 'yes' : 'NO'} (lost ${h.lost}, doubled ${h.doubled}, wrong ${h.wrong}, unexpected ${h.unexpected})`,
  );
  for (const e of h.examples) out.push(`  ${e}`);
  out.push(
    `readings_raw FINAL: ${v.raw.stored} rows for ${v.raw.expected} distinct readings: ${v.raw.stored === v.raw.expected ? 'exact' : 'NOT EXACT'}`,
  );
  out.push(
    `DLQ by source and reason (got / expected from the poison sent): ${dlqMatches(v) ? 'as expected' : 'DIFFERENT'}`,
  );
  const keys = [...new Set([...v.dlq.got.keys(), ...v.dlq.expected.keys()])].sort();
  for (const k of keys) out.push(`  ${k.padEnd(48)} ${v.dlq.got.get(k) ?? 0} / ${v.dlq.expected.get(k) ?? 0}`);
  out.push(
    `alerts published: ${v.alerts.published}; duplicated (alertId, status): ${v.alerts.duplicated} (${v.alerts.reopened} re-opened after RESOLVED, ${v.alerts.duplicated - v.alerts.reopened} re-published)`,
  );
  for (const e of v.alerts.examples) out.push(`  ${e}`);
  out.push(
    `in-process recoveries: ${v.consumerRebuilds} consumers rebuilt, ${v.transactionsAborted} transactions aborted and retried`,
  );
  out.push(`result: ${soakFailed(r) ? 'FAILED' : 'ok'}`);
  return out.join('\n');
}
