/**
 * docs/privacy.md lists every place a raw meter ID or a pseudonym can exist. This test holds
 * that list to the code: every table the migrations create and every topic of the
 * configuration has its row, and every table or topic the list names exists; the retention
 * the list gives each topic meterstream owns is the one the code sets on the broker.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { loadConfig } from './config.js';
import { SETTINGS } from './config/settings.js';
import { ownedTopicRetention } from './kafka/topic-retention.js';
import { repoPath } from './paths.js';

const doc = readFileSync(repoPath('docs/privacy.md'), 'utf8');
const section = doc.slice(doc.indexOf('### Where a meter ID or a pseudonym can exist'));
const firstCells = section
  .split('\n')
  .filter((line) => line.startsWith('| ') && !line.startsWith('| place') && !line.startsWith('| ---'))
  .map((line) => line.split('|')[1]);
const named = (kind: 'table' | 'topic') =>
  new Set(
    firstCells
      .filter((cell) => cell.trim().startsWith(kind))
      .flatMap((cell) => [...cell.matchAll(/`([^`]+)`/g)].map((m) => m[1])),
  );

const migrationSql = readdirSync(repoPath('schemas/clickhouse'))
  .filter((f) => f.endsWith('.sql'))
  .map((f) => readFileSync(repoPath(`schemas/clickhouse/${f}`), 'utf8'));
const tablesIn = (pattern: RegExp) => migrationSql.flatMap((sql) => [...sql.matchAll(pattern)].map((m) => m[1]));
// A migration's work tables (a rebuild's copy target), dropped before it ends, hold nothing after it.
const dropped = new Set(tablesIn(/DROP TABLE IF EXISTS \{\{db\}\}\.([a-z0-9_]+)/g));
const migrationTables = new Set(
  tablesIn(/CREATE TABLE IF NOT EXISTS \{\{db\}\}\.([a-z0-9_]+)/g).filter((t) => !dropped.has(t)),
);
// Created by the migration runner itself rather than a file.
migrationTables.add('schema_migrations');
const topics = new Set(Object.values(loadConfig({}).topics));

test('the privacy inventory has a row for every table the migrations create, and names no other', () => {
  assert.ok(migrationTables.size >= 10, 'the migrations were read');
  assert.deepEqual([...named('table')].sort(), [...migrationTables].sort());
});

test('the privacy inventory has a row for every topic of the configuration, and names no other', () => {
  assert.ok(topics.size >= 6, 'the topics were read');
  assert.deepEqual([...named('topic')].sort(), [...topics].sort());
});

test("the privacy inventory's retention of every topic meterstream owns is the one set on the broker", () => {
  const rows = section.split('\n').filter((line) => line.startsWith('| topic'));
  const owned = ownedTopicRetention(loadConfig({}));
  assert.ok(owned.size >= 5, 'the owned topics were read');
  for (const [topic, ms] of owned) {
    const row = rows.find((r) => r.split('|')[1].includes(`\`${topic}\``));
    assert.ok(row, `no row for ${topic}`);
    const kept = row.split('|')[3];
    const m = /`(METERSTREAM_[A-Z_]+_RETENTION_DAYS)` \((\d+)\)/.exec(kept);
    assert.ok(m, `${topic}: the kept column names no retention setting: ${kept.trim()}`);
    const setting = SETTINGS[m[1] as keyof typeof SETTINGS];
    assert.ok(setting, `${m[1]} is not a setting`);
    assert.equal(Number(m[2]), setting.default, `${topic}: the default of ${m[1]}`);
    assert.equal(Number(m[2]) * 86_400_000, ms, `${topic}: the broker gets ${ms} ms`);
  }
});
