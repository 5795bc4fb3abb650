/** Paths inside the repository, resolved from this file's location (works from `dist/`). */
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

/** The repository root: packages/core/dist/paths.js → ../../.. */
export const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

/** A path below the repository root. */
export function repoPath(...parts: string[]): string {
  return join(REPO_ROOT, ...parts);
}
