import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { repoPath } from '../paths.js';
import { renderConfigurationDoc } from './doc.js';

test('docs/configuration.md is the reference generated from the declarations', () => {
  const committed = readFileSync(repoPath('docs', 'configuration.md'), 'utf8');
  assert.ok(
    committed === renderConfigurationDoc(),
    'docs/configuration.md differs from the setting declarations: run `npm run docs:config` and commit the file',
  );
});
