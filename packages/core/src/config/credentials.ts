/**
 * The API's credentials: who may call `/v1`, in which role, for which tenants. The
 * configuration holds SHA-256 hashes of the tokens, never a token: `METERSTREAM_TOKENS` lists
 * them (JSON, or `@/path/file.json`), and `METERSTREAM_API_TOKEN` / `METERSTREAM_ADMIN_TOKEN`
 * remain as shorthands for one operator token each, hashed as they are read.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { ConfigError } from '../errors.js';
import type { Parser } from './parse.js';

/**
 * What a token may do. `read` and `admin` are scoped to the tenants they list; the operator
 * roles span every tenant and say so in their name: `operator-read` reads, `operator` reads,
 * exports and erases everywhere.
 */
export type Role = 'read' | 'admin' | 'operator-read' | 'operator';

/** The roles, for validation and the docs. */
export const ROLES: readonly Role[] = ['read', 'admin', 'operator-read', 'operator'];

/** One configured token. */
export interface Credential {
  /** Who holds it: the actor in audits, the key of rate limits. Never the token. */
  name: string;
  role: Role;
  /** The tenants it may see; `null` for the operator roles, which see every tenant. */
  tenants: readonly string[] | null;
  /** Lowercase hex SHA-256 of the token. */
  sha256: string;
}

/** The name the shorthand `METERSTREAM_API_TOKEN` gets: an `operator-read` token. */
export const API_TOKEN_NAME = 'api-token';
/** The name the shorthand `METERSTREAM_ADMIN_TOKEN` gets: an `operator` token. */
export const ADMIN_TOKEN_NAME = 'admin-token';
/** Shortest token accepted. */
export const MIN_TOKEN_CHARS = 24;

/** Lowercase hex SHA-256 of a token, as `METERSTREAM_TOKENS` holds it (`printf %s "$T" | sha256sum`). */
export function sha256Hex(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

const EMPTY_SHA256 = sha256Hex('');
const NAME = /^[A-Za-z0-9._@-]{1,64}$/;

/** A bearer token: at least 24 characters, no white space (it travels in a header). */
export function bearerToken(): Parser<string> {
  return {
    allowed: `at least ${MIN_TOKEN_CHARS} characters, no white space`,
    parse(raw, name) {
      if (/\s/.test(raw)) throw new ConfigError(name, 'a token cannot contain white space');
      if (raw.length < MIN_TOKEN_CHARS)
        throw new ConfigError(name, `a token needs at least ${MIN_TOKEN_CHARS} characters (e.g. openssl rand -hex 24)`);
      return raw;
    },
    refused: 'short-token-0123456789',
    other: () => 't'.repeat(MIN_TOKEN_CHARS),
  };
}

function credentialOf(value: unknown, name: string, at: string): Credential {
  if (value === null || typeof value !== 'object' || Array.isArray(value))
    throw new ConfigError(name, `${at}: not an object`);
  const o = value as Record<string, unknown>;
  const unknown = Object.keys(o).find((k) => !['name', 'role', 'tenants', 'sha256'].includes(k));
  if (unknown !== undefined)
    throw new ConfigError(name, `${at}: unknown key ${JSON.stringify(unknown)} (the token itself is never configured)`);
  if (typeof o.name !== 'string' || !NAME.test(o.name))
    throw new ConfigError(name, `${at}: name must be 1-64 letters, digits, dot, dash, underscore or @`);
  if (typeof o.role !== 'string' || !ROLES.includes(o.role as Role))
    throw new ConfigError(name, `${at} (${o.name}): role must be one of ${ROLES.join(', ')}`);
  const role = o.role as Role;
  if (typeof o.sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(o.sha256))
    throw new ConfigError(name, `${at} (${o.name}): sha256 must be 64 lowercase hex characters`);
  if (o.sha256 === EMPTY_SHA256) throw new ConfigError(name, `${at} (${o.name}): sha256 is the hash of an empty token`);
  let tenants: string[] | null = null;
  if (role === 'read' || role === 'admin') {
    if (!Array.isArray(o.tenants) || o.tenants.length === 0 || o.tenants.some((t) => typeof t !== 'string' || t === ''))
      throw new ConfigError(
        name,
        `${at} (${o.name}): a ${role} token needs tenants, a non-empty array of tenant names (operator roles span every tenant)`,
      );
    tenants = [...new Set(o.tenants as string[])];
  } else if (o.tenants !== undefined) {
    throw new ConfigError(name, `${at} (${o.name}): an ${role} token spans every tenant: leave tenants out`);
  }
  return Object.freeze({ name: o.name, role, tenants: tenants && Object.freeze(tenants), sha256: o.sha256 });
}

/** Parses `METERSTREAM_TOKENS`: a JSON array of `{name, role, tenants?, sha256}`, inline or `@/path/file.json`. */
export function credentialList(): Parser<readonly Credential[]> {
  return {
    allowed: 'JSON array of `{name, role, tenants?, sha256}` or `@/path/file.json`',
    parse(raw, name) {
      let text = raw;
      if (raw.startsWith('@')) {
        try {
          text = readFileSync(raw.slice(1), 'utf8');
        } catch (err) {
          throw new ConfigError(name, `cannot read ${raw.slice(1)}: ${(err as Error).message}`);
        }
      }
      let parsed: unknown;
      try {
        parsed = JSON.parse(text);
      } catch (err) {
        throw new ConfigError(name, `not JSON: ${(err as Error).message}`);
      }
      if (!Array.isArray(parsed)) throw new ConfigError(name, 'expected a JSON array of tokens');
      return Object.freeze(parsed.map((c, i) => credentialOf(c, name, `token ${i}`)));
    },
    refused: '[{"name":"x","role":"read","sha256":"00"}]',
    other: (v) =>
      JSON.stringify([
        ...(v ?? []),
        { name: `reader-${(v ?? []).length}`, role: 'read', tenants: ['oslo'], sha256: sha256Hex(`x`.repeat(40)) },
      ]),
  };
}

/**
 * Every credential: the listed ones, then the shorthands. Two tokens that are equal (equal
 * hashes) or two credentials of the same name stop start-up, naming the variable.
 */
export function credentialsOf(
  listed: readonly Credential[] | null,
  apiToken: string | null,
  adminToken: string | null,
): readonly Credential[] {
  const all: { credential: Credential; variable: string }[] = (listed ?? []).map((credential) => ({
    credential,
    variable: 'METERSTREAM_TOKENS',
  }));
  if (apiToken !== null)
    all.push({
      credential: { name: API_TOKEN_NAME, role: 'operator-read', tenants: null, sha256: sha256Hex(apiToken) },
      variable: 'METERSTREAM_API_TOKEN',
    });
  if (adminToken !== null)
    all.push({
      credential: { name: ADMIN_TOKEN_NAME, role: 'operator', tenants: null, sha256: sha256Hex(adminToken) },
      variable: 'METERSTREAM_ADMIN_TOKEN',
    });
  const byHash = new Map<string, string>();
  const byName = new Map<string, string>();
  for (const { credential: c, variable } of all) {
    const sameToken = byHash.get(c.sha256);
    if (sameToken !== undefined)
      throw new ConfigError(variable, `token ${c.name} equals token ${sameToken}: every token must be different`);
    if (byName.has(c.name))
      throw new ConfigError(variable, `two tokens are named ${c.name} (the name is the actor in audits)`);
    byHash.set(c.sha256, c.name);
    byName.set(c.name, c.sha256);
  }
  return Object.freeze(all.map((a) => Object.freeze(a.credential)));
}
