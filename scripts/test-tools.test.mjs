// The runner's provisioning of the tools some tests run (scripts/test-tools.mjs), with the
// PATH and the installer injected: apt-get is never run here. The last test runs the runner
// itself (scripts/test.mjs) with a PATH that holds none of the tools and no apt-get.
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FIX_COMMAND, TOOLS, needsOf, onPath, provisionTestTools } from './test-tools.mjs';

function emptyBin(t) {
  const dir = mkdtempSync(join(tmpdir(), 'meterstream-tools-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function putExecutable(dir, name) {
  writeFileSync(join(dir, name), '#!/bin/sh\nexit 0\n');
  chmodSync(join(dir, name), 0o755);
}

test('onPath finds only executables in the given PATH', (t) => {
  const bin = emptyBin(t);
  assert.equal(onPath('promtool', bin), false);
  writeFileSync(join(bin, 'promtool'), 'not executable');
  assert.equal(onPath('promtool', bin), false);
  putExecutable(bin, 'promtool');
  assert.equal(onPath('promtool', `/nonexistent:${bin}`), true);
});

test('tools missing and no package manager: the fix command, a failure, and no install', (t) => {
  const bin = emptyBin(t);
  let installs = 0;
  const r = provisionTestTools({
    has: (name) => onPath(name, bin),
    access: () => null,
    install: () => ++installs,
  });
  assert.equal(r.ok, false);
  assert.equal(installs, 0);
  assert.ok(r.message.includes(FIX_COMMAND), r.message);
  for (const tool of TOOLS) assert.ok(r.message.includes(tool), `${tool} named in: ${r.message}`);
});

test('tools missing as root: the installer runs once and one line says so', (t) => {
  const bin = emptyBin(t);
  const calls = [];
  const r = provisionTestTools({
    has: (name) => onPath(name, bin),
    access: () => 'root',
    install: (access, logFile) => {
      calls.push({ access, logFile });
      for (const tool of TOOLS) putExecutable(bin, tool);
      return 0;
    },
    logFile: join(bin, 'apt.log'),
  });
  assert.equal(r.ok, true, r.message);
  assert.deepEqual(calls, [{ access: 'root', logFile: join(bin, 'apt.log') }]);
  assert.match(
    r.message,
    /^test tools: installed prometheus docker-compose with apt-get for promtool, prometheus, docker-compose \(log: .*apt\.log\)$/,
  );
});

test('a failing apt-get: the log tail and the fix, a failure', (t) => {
  const bin = emptyBin(t);
  const logFile = join(bin, 'apt.log');
  const r = provisionTestTools({
    has: (name) => onPath(name, bin),
    access: () => 'sudo',
    install: () => {
      writeFileSync(logFile, 'Reading package lists...\nE: Unable to locate package prometheus\n');
      return 100;
    },
    logFile,
  });
  assert.equal(r.ok, false);
  assert.match(r.message, /apt-get failed \(exit 100\)/);
  assert.match(r.message, /E: Unable to locate package prometheus/);
  assert.ok(r.message.includes(FIX_COMMAND), r.message);
});

test('apt-get succeeding without bringing a tool is a failure too', (t) => {
  const bin = emptyBin(t);
  const r = provisionTestTools({
    has: (name) => onPath(name, bin),
    access: () => 'root',
    install: () => (putExecutable(bin, 'prometheus'), 0),
    logFile: join(bin, 'apt.log'),
  });
  assert.equal(r.ok, false);
  assert.match(r.message, /promtool, docker-compose still missing after apt-get/);
});

test('nothing missing: nothing to say, nothing installed', (t) => {
  const bin = emptyBin(t);
  for (const tool of TOOLS) putExecutable(bin, tool);
  const r = provisionTestTools({
    has: (name) => onPath(name, bin),
    access: () => assert.fail('the package manager is not asked about'),
    install: () => assert.fail('nothing is installed'),
  });
  assert.deepEqual(r, { ok: true, message: '' });
});

test('needsOf: the tools of the selected tests only', () => {
  assert.equal(needsOf(['hourly.route.test.js']), null);
  assert.deepEqual(needsOf(['console-browser.test.js']).packages, ['chromium']);
  const both = needsOf(['ops-compose.test.js', 'console-browser.test.js', 'demo.test.js']);
  assert.deepEqual(both.tools, [...TOOLS, 'chromium']);
  assert.match(both.for, /operations tests and the console's browser tests/);
});

test('chromium missing for the browser tests: installed with apt-get, or the fix names it', (t) => {
  const bin = emptyBin(t);
  const needs = needsOf(['console-browser.test.js']);
  const refused = provisionTestTools({ needs, has: (name) => onPath(name, bin), access: () => null });
  assert.equal(refused.ok, false);
  assert.match(refused.message, /missing chromium \(run by the console's browser tests\)/);
  assert.match(refused.message, /Fix: sudo apt-get install -y --no-install-recommends chromium /);
  const calls = [];
  const installed = provisionTestTools({
    needs,
    has: (name) => onPath(name, bin),
    access: () => 'root',
    install: (access, logFile, packages) => {
      calls.push(packages);
      putExecutable(bin, 'chromium');
      return 0;
    },
    logFile: join(bin, 'apt.log'),
  });
  assert.equal(installed.ok, true, installed.message);
  assert.deepEqual(calls, [['chromium']]);
  assert.match(installed.message, /^test tools: installed chromium with apt-get for chromium/);
});

test('the runner itself, tools missing and no package manager: it stops before the suite with the fix', (t) => {
  const bin = emptyBin(t);
  const runner = fileURLToPath(new URL('./test.mjs', import.meta.url));
  // Only the operations tests are selected: they need promtool, prometheus and docker-compose.
  const r = spawnSync(process.execPath, [runner, join('cli', 'dist', 'ops-compose.test.js')], {
    cwd: fileURLToPath(new URL('..', import.meta.url)),
    env: { PATH: bin, HOME: process.env.HOME ?? bin },
    encoding: 'utf8',
    timeout: 60_000,
  });
  assert.equal(r.status, 1, `exit ${r.status}; stderr: ${r.stderr}`);
  assert.match(r.stderr, /^npm test: missing promtool, prometheus, docker-compose \(run by the operations tests\)/);
  assert.ok(r.stderr.includes(`Fix: ${FIX_COMMAND}`), r.stderr);
  // Before the suite: no broker was started and no test ran.
  assert.doesNotMatch(r.stdout, /test broker:|^# tests /m, r.stdout);
});
