/**
 * No test depends on the calendar. ClickHouse drops rows by TTL, counted from the data's own
 * time (readings 90 days, hourly rows 1096 days, alerts 365 days, invoice checks 5 years after
 * the fiscal year ...): a test that stores data at a fixed date passes today and fails, with
 * no code change, on the day that date leaves the retention. Such data is placed relative to now
 * (`utcDaysAgo` in @meterstream/core/testing).
 *
 * The rule this file enforces, over every test and test-support file in packages/, services/
 * and cli/ (`*.test.ts`, `testing.ts`, `test-*.ts`, anything in a `testing/` folder), the
 * benchmarks (benchmarks/*.mjs) and the runner's tests (scripts/*.test.mjs):
 * - a file REACHES CLICKHOUSE when its text names the ClickHouse plumbing or a table
 *   (`createClickHouse`, `ClickHouseClient`, `migrate(`, `insertTsv`, `readings_raw`,
 *   `readings_hourly`, `invoice_checks`, `anomaly_state`, `erasure_audit`) or starts a service
 *   or the whole pipeline (`startService(`, `new Ingestor(`, `new Aggregator(`,
 *   `new AnomalyService(`, `test-pipeline`, `test-fleet`, or the CLI's `meterstream.mjs` with
 *   `ingestor`, `aggregator`, `anomaly` or `demo`);
 * - such a file must not write a date (`Date.UTC(2026, ...)`, `new Date(2026, ...)`,
 *   `2026-11-20` anywhere in the text, or a 13-digit epoch-milliseconds literal) that some
 *   table still retains today, i.e. one on or after the oldest time the configured retentions
 *   keep. Older dates (validation boundaries such as 2000-01-01) never expire later.
 * Files that never reach storage (the pure detector and roll-up tests with their DST dates, the
 * simulator's plans, Kafka-only tests) may keep fixed dates: nothing of theirs expires.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { repoPath, type RetentionConfig } from '@meterstream/core';
import { testConfig } from '@meterstream/core/testing';

const DAY = 86_400_000;

const REACHES_CLICKHOUSE =
  /createClickHouse|ClickHouseClient|\bmigrate\(|insertTsv|readings_raw|readings_hourly|invoice_checks|anomaly_state|erasure_audit|startService\(|new (?:Ingestor|Aggregator|AnomalyService)\(|test-pipeline|test-fleet|meterstream\.mjs'\)?,\s*'(?:ingestor|aggregator|anomaly|demo)'/;

/** True when a file's text reaches ClickHouse by the rule above. */
function reachesClickHouse(text: string): boolean {
  return REACHES_CLICKHOUSE.test(text);
}

/** A hard-coded date found in a text: its 1-based line, the text matched, and the UTC time it names. */
interface FoundDate {
  line: number;
  match: string;
  at: number;
}

/** Every hard-coded date in a text (see the rule above for the forms). */
function findDates(text: string): FoundDate[] {
  const found: FoundDate[] = [];
  const lineOf = (index: number) => text.slice(0, index).split('\n').length;
  const forms: [RegExp, (m: RegExpExecArray) => number][] = [
    [
      /(?:Date\.UTC|new Date)\(\s*(\d{4})\s*,\s*(\d{1,2})(?:\s*,\s*(\d{1,2}))?/g,
      (m) => Date.UTC(Number(m[1]), Number(m[2]), Number(m[3] ?? 1)),
    ],
    [/\b(\d{4})-([01]\d)-([0-3]\d)/g, (m) => Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]))],
    [/(?<![\d.])1\d{12}(?!\d)/g, (m) => Number(m[0])],
  ];
  for (const [re, at] of forms)
    for (const m of text.matchAll(re)) {
      const match = m as RegExpExecArray;
      found.push({ line: lineOf(match.index), match: match[0], at: at(match) });
    }
  return found.sort((a, b) => a.line - b.line);
}

/**
 * The oldest time some table still retains at `now`: every `*Days` retention counts back from
 * now; every `*Years` one (invoice checks) from the end of the fiscal (calendar) year.
 */
function oldestRetained(retention: RetentionConfig, now: number): number {
  let oldest = now;
  for (const [name, value] of Object.entries(retention)) {
    if (typeof value !== 'number') continue;
    if (name.endsWith('Days')) oldest = Math.min(oldest, now - value * DAY);
    else if (name.endsWith('Years')) oldest = Math.min(oldest, Date.UTC(new Date(now).getUTCFullYear() - value, 0, 1));
  }
  return oldest;
}

/** The dates in a file's text that will expire from storage one day (none when it never reaches ClickHouse). */
function expiringDates(text: string, oldest: number): FoundDate[] {
  return reachesClickHouse(text) ? findDates(text).filter((d) => d.at >= oldest) : [];
}

function testFiles(dir: string, inTesting = false, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules' || name === 'dist' || name.startsWith('.')) continue;
    const p = join(dir, name);
    if (statSync(p).isDirectory()) testFiles(p, inTesting || name === 'testing', out);
    else if (name.endsWith('.ts') && (inTesting || /^(?:.*\.test|testing|test-.*)\.ts$/.test(name))) out.push(p);
  }
  return out;
}

test('the scanner finds every form of date, on its line', () => {
  const text = [
    "const a = Date.UTC(2026, 10, 20, 10); // '2026-11-20'",
    "query: `INSERT ... VALUES ('2031-02-03 10:00:00')`",
    'const ms = 1795132800000, big = 12345678901234, n = 3.1795132800000;',
    'new Date(2024, 1)',
  ].join('\n');
  assert.deepEqual(
    findDates(text).map((d) => [d.line, d.match, new Date(d.at).toISOString().slice(0, 10)]),
    [
      [1, 'Date.UTC(2026, 10, 20', '2026-11-20'],
      [1, '2026-11-20', '2026-11-20'],
      [2, '2031-02-03', '2031-02-03'],
      [3, '1795132800000', '2026-11-20'],
      [4, 'new Date(2024, 1', '2024-02-01'],
    ],
  );
});

test('the scanner flags a stored date within retention, and only that', () => {
  const oldest = Date.UTC(2021, 0, 1);
  const stored = "import { createClickHouse } from '@meterstream/core';\nconst day0 = Date.UTC(2026, 10, 20);\n";
  assert.deepEqual(
    expiringDates(stored, oldest).map((d) => [d.line, d.match]),
    [[2, 'Date.UTC(2026, 10, 20']],
  );
  assert.deepEqual(expiringDates(stored.replace('2026', '2000'), oldest), [], 'older than every retention');
  assert.deepEqual(expiringDates(stored.replace('createClickHouse', 'nightFlow'), oldest), [], 'never stored');
  assert.equal(reachesClickHouse("const { settle } = await import('./test-pipeline.js');"), true);
  assert.equal(reachesClickHouse("startService('ingestor', env)"), true);
  assert.equal(reachesClickHouse("spawn(node, [repoPath('bin', 'meterstream.mjs'), 'demo'])"), true);
  assert.equal(reachesClickHouse("spawn(node, [repoPath('bin', 'meterstream.mjs'), 'simulate'])"), false, 'Kafka only');
});

test('the oldest retained time: the longest day count, and invoice checks from the fiscal year end', () => {
  const now = Date.UTC(2026, 11, 1);
  const r = { rawDays: 90, hourlyDays: 1096, alertsDays: 365, auditDays: 1826 } as unknown as RetentionConfig;
  assert.equal(oldestRetained(r, now), now - 1826 * DAY);
  assert.equal(oldestRetained({ ...r, invoiceChecksYears: 5 }, now), Date.UTC(2021, 0, 1));
});

test('no test or test-support file that reaches ClickHouse hard-codes a date that will expire', () => {
  const oldest = oldestRetained(testConfig().retention, Date.now());
  const roots = ['packages', 'services'].flatMap((d) =>
    readdirSync(repoPath(d)).map((name) => repoPath(d, name, 'src')),
  );
  const files = [...roots, repoPath('cli', 'src')].filter((d) => statSync(d, { throwIfNoEntry: false })?.isDirectory());
  // Not this file: its samples are strings, never stored.
  const self = fileURLToPath(import.meta.url).replace(/[\\/]dist[\\/](.*)\.js$/, '/src/$1.ts');
  const scanned = files.flatMap((d) => testFiles(d)).filter((f) => f !== self);
  assert.equal(scanned.length, files.flatMap((d) => testFiles(d)).length - 1, 'this file was left out, and only it');
  assert.ok(scanned.length > 30, `found the test files (${scanned.length})`);
  // The benchmarks store what they generate too, and the runner's own tests may.
  const scripts = (dir: string, wanted: (name: string) => boolean) =>
    readdirSync(repoPath(dir))
      .filter(wanted)
      .map((name) => repoPath(dir, name));
  scanned.push(
    ...scripts('benchmarks', (n) => n.endsWith('.mjs')),
    ...scripts('scripts', (n) => n.endsWith('.test.mjs')),
  );
  assert.ok(
    scanned.some((f) => f.endsWith('aggregate.mjs')),
    'the benchmarks are scanned',
  );
  const offending = scanned.flatMap((file) =>
    expiringDates(readFileSync(file, 'utf8'), oldest).map(
      (d) => `${relative(repoPath(), file)}:${d.line}: ${d.match} (place it relative to now: utcDaysAgo)`,
    ),
  );
  assert.deepEqual(offending, [], `dates kept by a TTL today, expiring one day:\n${offending.join('\n')}`);
});
