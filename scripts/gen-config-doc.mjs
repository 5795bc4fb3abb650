#!/usr/bin/env node
// `npm run docs:config`: writes docs/configuration.md from the setting declarations in
// packages/core (built first by the npm script). A test fails while the file differs.
import { writeFileSync } from 'node:fs';
import { renderConfigurationDoc, repoPath } from '@meterstream/core';

const path = repoPath('docs', 'configuration.md');
writeFileSync(path, renderConfigurationDoc());
console.log(`wrote ${path}`);
