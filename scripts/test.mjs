#!/usr/bin/env node
// `npm test`: runs every compiled test file with node:test. Integration tests need a real
// Kafka broker: when KAFKA_BROKERS is unset this starts the project's local broker (its own
// state dir and port, so a running demo broker is left alone) and stops it afterwards.
import { spawn } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(fileURLToPath(import.meta.url), '..', '..');

function findTests(dir, out = []) {
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules' || name.startsWith('.')) continue;
    const p = join(dir, name);
    if (statSync(p).isDirectory()) findTests(p, out);
    else if (name.endsWith('.test.js') && p.includes(`${join('dist', '')}`)) out.push(relative(root, p));
  }
  return out;
}

const filter = process.argv.slice(2);
const files = ['packages', 'services', 'cli']
  .flatMap((d) => findTests(join(root, d)))
  .filter((f) => filter.length === 0 || filter.some((x) => f.includes(x)));
if (files.length === 0) {
  console.error('no test files found (did `npm run build` run?)');
  process.exit(1);
}

let broker = null;
const env = { ...process.env };
if (!env.KAFKA_BROKERS) {
  const { startLocalKafka } = await import('./kafka/local-kafka.mjs');
  broker = await startLocalKafka({ dir: join(root, '.kafka', 'test'), port: Number(env.KAFKA_TEST_PORT || 19192) });
  env.KAFKA_BROKERS = broker.brokers;
  console.log(`test broker: KAFKA_BROKERS=${broker.brokers}`);
}

const child = spawn(process.execPath, ['--test', '--test-concurrency=2', '--test-timeout=600000', ...files], {
  cwd: root,
  env,
  stdio: 'inherit',
});
const code = await new Promise((resolve) => child.on('exit', (c, s) => resolve(c ?? (s ? 1 : 0))));
if (broker) await broker.stop();
process.exit(code);
