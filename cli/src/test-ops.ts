/**
 * Test support of the operations tests (ops-prometheus.test.ts, ops-compose.test.ts): the
 * command line tools they run (a missing one fails the test with the install hint), YAML read
 * through python3-yaml, the metric names the code exports and the PromQL uses, and
 * `docker-compose config` with only the given variables.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRegistry, repoPath } from '@meterstream/core';

export const INSTALL_HINT =
  "install Debian's packages with `apt-get install -y --no-install-recommends prometheus docker-compose` (npm test does this when it runs as root or with passwordless sudo)";

export interface RunResult {
  code: number | null;
  out: string;
  err: string;
}

/** Runs a command line tool; a missing tool fails the test with the install hint. */
export function tool(
  cmd: string,
  args: string[],
  options: { env?: NodeJS.ProcessEnv; input?: string; hint?: string } = {},
): RunResult {
  const r = spawnSync(cmd, args, {
    cwd: repoPath(),
    env: options.env ?? process.env,
    input: options.input,
    encoding: 'utf8',
    timeout: 180_000,
    maxBuffer: 64 * 1024 * 1024,
  });
  if ((r.error as NodeJS.ErrnoException | undefined)?.code === 'ENOENT')
    assert.fail(`${cmd} is not installed: ${options.hint ?? INSTALL_HINT}`);
  if (r.error) throw r.error;
  return { code: r.status, out: r.stdout, err: r.stderr };
}

/**
 * Parses YAML with python3-yaml, which Debian's docker-compose depends on (the project has no
 * YAML parser of its own, and these files are read by Prometheus, Grafana and compose anyway).
 */
export function parseYaml(text: string, what: string): any {
  const hint = `python3 with PyYAML (python3-yaml) parses the YAML files here; Debian's docker-compose brings both: ${INSTALL_HINT}`;
  const r = tool('python3', ['-c', 'import json, sys, yaml; json.dump(yaml.safe_load(sys.stdin), sys.stdout)'], {
    input: text,
    hint,
  });
  assert.equal(r.code, 0, `parsing ${what} as YAML failed (${hint}):\n${r.err}`);
  return JSON.parse(r.out);
}

export function readYaml(...path: string[]): any {
  return parseYaml(readFileSync(repoPath(...path), 'utf8'), path.join('/'));
}

// ---------------------------------------------------------------------------------------------
// Metric names: what the code registers, and what the PromQL of the rules and dashboard uses.

/** `name: 'meterstream_...'` in every non-test TypeScript source, plus prom-client's default metrics. */
export function exportedMetricNames(): Set<string> {
  const names = new Set<string>();
  const scan = (dir: string) => {
    for (const entry of readdirSync(dir)) {
      const p = join(dir, entry);
      if (statSync(p).isDirectory()) scan(p);
      else if (entry.endsWith('.ts') && !entry.endsWith('.test.ts') && !entry.endsWith('.d.ts')) {
        for (const m of readFileSync(p, 'utf8').matchAll(/\bname:\s*'(meterstream_[a-z0-9_]+)'/g)) names.add(m[1]);
      }
    }
  };
  for (const root of ['packages', 'services']) {
    for (const pkg of readdirSync(repoPath(root))) {
      const src = repoPath(root, pkg, 'src');
      if (statSync(repoPath(root, pkg)).isDirectory() && existsDir(src)) scan(src);
    }
  }
  scan(repoPath('cli', 'src'));
  return names;
}

function existsDir(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}

export async function defaultMetricNames(): Promise<Set<string>> {
  const registry = createRegistry('ops-test');
  return new Set((await registry.getMetricsAsJSON()).map((m) => m.name));
}

/** Series Prometheus itself adds to every scrape target. */
export const PROMETHEUS_SERIES = new Set(['up', 'scrape_duration_seconds', 'scrape_samples_scraped']);

/** Metric names (`meterstream_*`, Prometheus' own) and recording-rule names (`a:b:c`) in a PromQL expression. */
export function namesInExpr(expr: string): { metrics: string[]; recorded: string[] } {
  const withoutStrings = expr.replace(/"(?:[^"\\]|\\.)*"/g, '""');
  const tokens = withoutStrings.match(/[a-zA-Z_:][a-zA-Z0-9_:]*/g) ?? [];
  return {
    metrics: tokens.filter((t) => !t.includes(':') && (t.startsWith('meterstream_') || PROMETHEUS_SERIES.has(t))),
    recorded: tokens.filter((t) => /^[a-z_]+:[a-z0-9_]+:[a-z0-9_]+$/.test(t)),
  };
}

/** The names that match no exported metric (histogram series `_bucket`/`_sum`/`_count` count as their metric). */
export function unknownMetrics(used: Iterable<string>, known: Set<string>): string[] {
  const ok = (n: string) =>
    known.has(n) ||
    PROMETHEUS_SERIES.has(n) ||
    ['_bucket', '_sum', '_count'].some((s) => n.endsWith(s) && known.has(n.slice(0, -s.length)));
  return [...new Set(used)].filter((n) => !ok(n)).sort();
}

export interface Rule {
  alert?: string;
  record?: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

export function rules(): Rule[] {
  const doc = readYaml('deploy', 'prometheus', 'rules.yml') as { groups: { name: string; rules: Rule[] }[] };
  return doc.groups.flatMap((g) => g.rules);
}

export const SECRETS = {
  METERSTREAM_PSEUDONYM_KEY: '5e'.repeat(32),
  METERSTREAM_API_TOKEN: 'api-token-for-the-compose-test',
  METERSTREAM_ADMIN_TOKEN: 'admin-token-for-the-compose-test',
  CLICKHOUSE_PASSWORD: 'clickhouse-password-for-the-compose-test',
};

/**
 * `docker-compose config` with only the given variables: a developer's own `.env` must not
 * make the test pass or fail, so an empty env file replaces it.
 */
export function composeConfig(
  vars: Record<string, string>,
  extra: string[] = [],
  file = 'docker-compose.yml',
): RunResult {
  const dir = mkdtempSync(join(tmpdir(), 'meterstream-compose-'));
  try {
    writeFileSync(join(dir, 'empty.env'), '');
    return tool('docker-compose', ['-f', file, '--env-file', join(dir, 'empty.env'), 'config', ...extra], {
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: dir, ...vars },
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Variables of the configuration reference (docs/configuration.md). */
export function documentedVariables(): Set<string> {
  const reference = readFileSync(repoPath('docs', 'configuration.md'), 'utf8');
  return new Set([...reference.matchAll(/^\| `([A-Z][A-Z0-9_]*)` \|/gm)].map((m) => m[1]));
}

export const SERVICES = ['ingestor', 'aggregator', 'anomaly', 'notifier'] as const;
