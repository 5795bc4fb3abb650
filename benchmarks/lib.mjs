// Shared pieces of the benchmark scripts: percentiles, RSS sampling, child runs.
import { spawn } from 'node:child_process';
import { Writable } from 'node:stream';
import { createLogger } from '@meterstream/core';

/** The q-quantile (0..1) of numbers, nearest rank. */
export function quantile(values, q) {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
}

/** Samples this process's RSS every `everyMs`; `stop()` returns the peak in bytes. */
export function rssSampler(everyMs = 50) {
  let peak = process.memoryUsage.rss();
  const t = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage.rss());
  }, everyMs);
  return { stop: () => (clearInterval(t), Math.max(peak, process.memoryUsage.rss())) };
}

/** Runs `node script` with env; resolves to the JSON object it printed on its last stdout line. */
export function runJson(script, env, label, nodeArgs = []) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...nodeArgs, script], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.on('exit', (code) => {
      const last = out.trim().split('\n').pop() ?? '';
      if (code !== 0) return reject(new Error(`${label} exited ${code}: ${out.slice(-2000)}`));
      try {
        resolve(JSON.parse(last));
      } catch {
        reject(new Error(`${label} printed no JSON result: ${out.slice(-2000)}`));
      }
    });
  });
}

/** The services' logger in a benchmark: warnings and errors only, to stderr (stdout carries results). */
export function benchLogger() {
  return createLogger({
    level: 'warn',
    destination: new Writable({ write: (c, e, cb) => (process.stderr.write(c), cb()) }),
  });
}

/**
 * Resolves (with the hrtime) once the group's committed offsets reach the end the topic had
 * when called. An empty partition (high = low) has nothing to wait for; a group never commits on it.
 */
export async function caughtUp(admin, groupId, topic) {
  const ends = await admin.fetchTopicOffsets(topic);
  for (;;) {
    const [c] = await admin.fetchOffsets({ groupId, topics: [topic] });
    if (
      ends.every(
        (e) =>
          e.high === e.low ||
          BigInt(c.partitions.find((p) => p.partition === e.partition)?.offset ?? -1) >= BigInt(e.high),
      )
    )
      return process.hrtime.bigint();
    await new Promise((r) => setTimeout(r, 20));
  }
}
