#!/usr/bin/env node
// `npm test`: runs every compiled test file with node:test, and the runner's own tests
// (scripts/*.test.mjs). It provisions what the selected tests need: the command line tools of
// the operations tests and the console's browser tests (scripts/test-tools.mjs: installed with
// apt-get when it can, otherwise it stops before the suite with the command that fixes it),
// and a real Kafka broker: when KAFKA_BROKERS is unset this starts the project's local broker
// (its own state dir and port, so a running demo broker is left alone) and stops it afterwards.
//
// METERSTREAM_TEST_STRICT=1 (CI): a skipped or todo test fails the run.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { needsOf, provisionTestTools } from './test-tools.mjs';

const root = join(fileURLToPath(import.meta.url), '..', '..');

function findTests(dir, wanted, out = []) {
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules' || name.startsWith('.')) continue;
    const p = join(dir, name);
    if (statSync(p).isDirectory()) findTests(p, wanted, out);
    else if (wanted(p)) out.push(relative(root, p));
  }
  return out;
}

const compiled = (p) => p.endsWith('.test.js') && p.includes(`${join('dist', '')}`);
const filter = process.argv.slice(2);
const files = [
  ...['packages', 'services', 'cli'].flatMap((d) => findTests(join(root, d), compiled)),
  ...findTests(join(root, 'scripts'), (p) => p.endsWith('.test.mjs')),
].filter((f) => filter.length === 0 || filter.some((x) => f.includes(x)));
if (files.length === 0) {
  console.error('no test files found (did `npm run build` run?)');
  process.exit(1);
}

const needs = needsOf(files.map((f) => basename(f)));
if (needs !== null) {
  const tools = provisionTestTools({ needs });
  if (!tools.ok) {
    console.error(`npm test: ${tools.message}`);
    process.exit(1);
  }
  if (tools.message) console.log(tools.message);
}

const strict = process.env.METERSTREAM_TEST_STRICT === '1';
const reporters = [];
let tapDir = null;
if (strict) {
  // The usual reporter on the terminal, and TAP in a file whose summary counts the skips.
  tapDir = mkdtempSync(join(tmpdir(), 'meterstream-test-'));
  reporters.push(`--test-reporter=${process.stdout.isTTY ? 'spec' : 'tap'}`, '--test-reporter-destination=stdout');
  reporters.push('--test-reporter=tap', `--test-reporter-destination=${join(tapDir, 'report.tap')}`);
}

let broker = null;
const env = { ...process.env };
// The runner's own switch: services started by tests refuse unknown METERSTREAM_* variables.
delete env.METERSTREAM_TEST_STRICT;
if (!env.KAFKA_BROKERS) {
  const { startLocalKafka } = await import('./kafka/local-kafka.mjs');
  broker = await startLocalKafka({ dir: join(root, '.kafka', 'test'), port: Number(env.KAFKA_TEST_PORT || 19192) });
  env.KAFKA_BROKERS = broker.brokers;
  console.log(`test broker: KAFKA_BROKERS=${broker.brokers}`);
}

const child = spawn(
  process.execPath,
  ['--test', '--test-concurrency=2', '--test-timeout=600000', ...reporters, ...files],
  { cwd: root, env, stdio: 'inherit' },
);
let code = await new Promise((resolve) => child.on('exit', (c, s) => resolve(c ?? (s ? 1 : 0))));
if (broker) await broker.stop();
if (tapDir) {
  const tap = readFileSync(join(tapDir, 'report.tap'), 'utf8');
  const count = (what) => Number(new RegExp(`^# ${what} (\\d+)$`, 'm').exec(tap)?.[1] ?? 0);
  const [skipped, todo] = [count('skipped'), count('todo')];
  if (!/^# tests \d+$/m.test(tap)) {
    console.error('npm test (METERSTREAM_TEST_STRICT=1): node:test wrote no summary');
    code ||= 1;
  } else if (skipped + todo > 0) {
    console.error(
      `npm test (METERSTREAM_TEST_STRICT=1): ${skipped} skipped and ${todo} todo tests; strict runs skip nothing`,
    );
    code ||= 1;
  }
  rmSync(tapDir, { recursive: true, force: true });
}
process.exit(code);
