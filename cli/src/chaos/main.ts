/**
 * `npm run chaos -- --minutes N --seed S [--port P] [--dir D]`: a soak that drives the seeded test
 * fleet through the pipeline (its own broker, the three services in this process, embedded
 * ClickHouse) while a seeded sequence of faults hits it — ClickHouse stalls, failing statements,
 * broker restarts, network cuts, poison records — then checks every output against the reference
 * and prints a report. Exit code 1 when anything was lost, doubled, duplicated or did not recover.
 * A tool, not a test: nothing here is timed against a threshold.
 */
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { repoPath, sleep } from '@meterstream/core';
import { startChaosPipeline } from './chaos-pipeline.js';
import { describeFault, faultPlan } from './fault-plan.js';
import { FleetFeed } from './fleet-feed.js';
import { awaitCaughtUp, awaitRecovery, injectFault, type PoisonLedger } from './inject-fault.js';
import { formatReport, soakFailed, type FaultRecord } from './soak-report.js';
import { soakVerdict } from './soak-verdict.js';

/** Bound of one recovery, and of the final catch-up: beyond it the soak fails instead of hanging. */
const RECOVERY_LIMIT_MS = 5 * 60_000;
const CATCH_UP_LIMIT_MS = 15 * 60_000;

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      minutes: { type: 'string', default: '10' },
      seed: { type: 'string', default: '1' },
      port: { type: 'string', default: '19500' },
      dir: { type: 'string', default: repoPath('.kafka', 'chaos') },
    },
  });
  const minutes = Number(values.minutes);
  const seed = Number(values.seed);
  const port = Number(values.port);
  if (!(minutes > 0) || !Number.isInteger(seed) || !Number.isInteger(port)) {
    process.stderr.write('usage: npm run chaos -- --minutes N --seed S [--port P] [--dir D]\n');
    return 2;
  }
  const say = (m: string) => process.stderr.write(`[chaos] ${m}\n`);
  const logFile = join(values.dir!, 'services.log');
  say(`starting a broker on 127.0.0.1:${port} and the services; their logs go to ${logFile}`);
  const p = await startChaosPipeline({ dir: values.dir!, port, logFile });
  const t0 = Date.now();
  const at = () => (Date.now() - t0) / 1000;
  const feed = new FleetFeed({
    kafka: p.kafka,
    codec: p.codec,
    topic: p.config.topics.readings,
    seed,
    roundPauseMs: 3000,
  });
  const ledger: PoisonLedger = new Map();
  const faults: FaultRecord[] = [];
  try {
    feed.start();
    const deadline = t0 + minutes * 60_000;
    let n = 0;
    for (const { fault, pauseBeforeMs } of faultPlan(seed)) {
      if (Date.now() + pauseBeforeMs >= deadline) break;
      await sleep(pauseBeforeMs);
      const startS = at();
      say(`${startS.toFixed(0)} s: ${describeFault(fault)}`);
      await injectFault(p, fault, seed + n++, ledger);
      const endS = at();
      const recoveryMs = await awaitRecovery(p, RECOVERY_LIMIT_MS);
      say(`  recovered ${recoveryMs === null ? 'NOT within the limit' : `in ${(recoveryMs / 1000).toFixed(1)} s`}`);
      faults.push({ kind: fault.kind, description: describeFault(fault), startS, endS, recoveryMs });
    }
    say('fault window over: finishing the fleet generation in flight, then waiting for every group to catch up');
    await feed.stop();
    const caughtUp = await awaitCaughtUp(p, CATCH_UP_LIMIT_MS);
    const verdict = await soakVerdict(p, feed, ledger);
    const run = {
      command: `npm run chaos -- --minutes ${values.minutes} --seed ${seed}`,
      minutes,
      seed,
      wallS: at(),
      faults,
      feed: feed.counts,
      caughtUp,
      verdict,
    };
    process.stdout.write(`${formatReport(run)}\n`);
    return soakFailed(run) ? 1 : 0;
  } finally {
    await p.close();
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`chaos: ${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  },
);
