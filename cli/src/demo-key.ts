/**
 * The demo's pseudonym key: outside the demo a missing key stops start-up; the demo creates
 * one in a file readable by its owner only (0600), beside (not inside) the data, and says so.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';

type Env = Record<string, string | undefined>;

/** Returns `env` with METERSTREAM_PSEUDONYM_KEY set, creating `./demo-keys/pseudonym.key` if needed. */
export function ensureDemoKey(env: Env): Env {
  if (env.METERSTREAM_PSEUDONYM_KEY) return env;
  const dataDir = resolve(env.METERSTREAM_DATA_DIR || './data');
  const file = resolve(dirname(dataDir), 'demo-keys', 'pseudonym.key');
  if (!existsSync(file)) {
    mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
    writeFileSync(file, `${randomBytes(32).toString('hex')}\n`, { mode: 0o600, flag: 'wx' });
    process.stdout.write(`meterstream demo: created a pseudonym key in ${file} (mode 0600); keep it apart from the data\n`);
  } else {
    process.stdout.write(`meterstream demo: using the pseudonym key in ${file}\n`);
  }
  return { ...env, METERSTREAM_PSEUDONYM_KEY: readFileSync(file, 'utf8').trim() };
}
