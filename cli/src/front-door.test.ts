/**
 * The README is the front door and docs/ the manual: the README stays short enough to read
 * (at most 200 lines), every document it points to exists, and every document in docs/ is
 * reachable from it. The source tree, tests included, keeps one idea per file (at most 400 lines).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { repoPath } from '@meterstream/core';

test('README.md is at most 200 lines and links every document in docs/, each of which exists', () => {
  const readme = readFileSync(repoPath('README.md'), 'utf8');
  const lines = readme.split('\n').length - (readme.endsWith('\n') ? 1 : 0);
  assert.ok(lines <= 200, `README.md has ${lines} lines: move the manual to docs/`);
  const links = [...readme.matchAll(/\]\(((?:docs|benchmarks)\/[^)#\s]+)\)/g)].map((m) => m[1]);
  for (const l of links) assert.ok(existsSync(repoPath(l)), `README.md links ${l}, which does not exist`);
  for (const doc of readdirSync(repoPath('docs')).filter((f) => f.endsWith('.md'))) {
    assert.ok(links.includes(`docs/${doc}`), `docs/${doc} is not linked from README.md`);
  }
});

test('no source or test file in services/, packages/ or cli/ is above 400 lines', () => {
  const big: string[] = [];
  const walk = (dir: string) => {
    for (const name of readdirSync(dir)) {
      if (name === 'node_modules' || name === 'dist' || name.startsWith('.')) continue;
      const p = join(dir, name);
      if (statSync(p).isDirectory()) walk(p);
      else if (name.endsWith('.ts')) {
        const n = readFileSync(p, 'utf8').split('\n').length;
        if (n > 400) big.push(`${relative(repoPath('.'), p)} (${n})`);
      }
    }
  };
  for (const d of ['services', 'packages', 'cli']) walk(repoPath(d));
  assert.deepEqual(big, [], 'split these along their seams');
});
