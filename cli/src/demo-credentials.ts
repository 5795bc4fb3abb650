/**
 * The demo's secrets. Outside the demo a missing pseudonym key stops start-up and missing
 * tokens close the `/v1` routes; the demo instead creates what the environment does not give —
 * a pseudonym key and API and admin tokens — in files readable by their owner only (0600) in
 * the demo directory (`METERSTREAM_DEMO_DIR`, beside and not inside the data), reuses them on
 * the next start, and says so.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import {
  ADMIN_TOKEN_NAME,
  API_TOKEN_NAME,
  ConfigError,
  parsePseudonymKey,
  type MeterstreamConfig,
} from '@meterstream/core';

/** One secret the demo uses: where it came from. */
export interface DemoSecret {
  /** The secret; `''` for a token from the environment (the configuration holds only its hash). */
  value: string;
  /** The file holding it, or null when it came from the environment. */
  file: string | null;
  /** True when this start created the file. */
  created: boolean;
}

export interface DemoCredentials {
  pseudonymKey: DemoSecret;
  apiToken: DemoSecret;
  adminToken: DemoSecret;
  /** Variables to lay over the environment so that `loadConfig` sees the secrets. */
  env: Record<string, string>;
}

/** Reads `file`, or creates it (mode 0600) with `make()`; a concurrent creator's file wins. */
function readOrCreate(file: string, make: () => string): { value: string; created: boolean } {
  try {
    return { value: readFileSync(file, 'utf8').trim(), created: false };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT')
      throw new ConfigError(file, `cannot read: ${(err as Error).message}`);
  }
  try {
    writeFileSync(file, `${make()}\n`, { mode: 0o600, flag: 'wx' });
    return { value: readFileSync(file, 'utf8').trim(), created: true };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST')
      return { value: readFileSync(file, 'utf8').trim(), created: false };
    throw new ConfigError(file, `cannot create: ${(err as Error).message}`);
  }
}

function fromFile(
  dir: string,
  name: string,
  make: () => string,
  check: (value: string, file: string) => void,
): DemoSecret {
  const file = join(dir, name);
  const { value, created } = readOrCreate(file, make);
  check(value, file);
  return { value, file, created };
}

// 32 characters, above the 24 every token needs.
const token = () => randomBytes(24).toString('base64url');
const checkToken = (value: string, file: string) => {
  if (value.length < 24)
    throw new ConfigError(file, 'a token needs at least 24 characters; delete the file to get a new one');
};

/**
 * The demo's key and tokens: from the configuration where set, else from (or into) the demo
 * directory, which is created if missing. Only the files needed are created.
 */
export function ensureDemoCredentials(config: MeterstreamConfig): DemoCredentials {
  const dir = resolve(config.demoDir);
  // Created in any case: the demo keeps its fleet's state there too.
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
  } catch (err) {
    throw new ConfigError('METERSTREAM_DEMO_DIR', `cannot create ${dir}: ${(err as Error).message}`);
  }
  const env = (value: string): DemoSecret => ({ value, file: null, created: false });
  const pseudonymKey =
    config.pseudonymKey !== null
      ? env(config.pseudonymKey.toString('hex'))
      : fromFile(
          dir,
          'pseudonym.key',
          () => randomBytes(32).toString('hex'),
          (value, file) => void parsePseudonymKey(value, file),
        );
  const configured = (name: string) => config.credentials.some((c) => c.name === name);
  const apiToken = configured(API_TOKEN_NAME) ? env('') : fromFile(dir, 'api.token', token, checkToken);
  const adminToken = configured(ADMIN_TOKEN_NAME) ? env('') : fromFile(dir, 'admin.token', token, checkToken);
  return {
    pseudonymKey,
    apiToken,
    adminToken,
    env: {
      METERSTREAM_PSEUDONYM_KEY: pseudonymKey.value,
      // A token from the environment is there already.
      ...(apiToken.file === null ? {} : { METERSTREAM_API_TOKEN: apiToken.value }),
      ...(adminToken.file === null ? {} : { METERSTREAM_ADMIN_TOKEN: adminToken.value }),
    },
  };
}
