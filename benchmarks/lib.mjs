// Shared pieces of the benchmark scripts: percentiles, RSS sampling, child runs.
import { spawn } from 'node:child_process';

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
    const child = spawn(process.execPath, [...nodeArgs, script], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
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
