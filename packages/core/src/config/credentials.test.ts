import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../config.js';
import { ConfigError } from '../errors.js';
import { sha256Hex } from './credentials.js';

const naming = (field: string, pattern: RegExp) => (err: unknown) =>
  err instanceof ConfigError && err.field === field && pattern.test(err.message);

const T1 = 'first-token-0123456789abcdef';
const T2 = 'second-token-0123456789abcdef';

test('the config holds hashes, never a token: shorthands are hashed, named and scoped', () => {
  const config = loadConfig({ METERSTREAM_API_TOKEN: T1, METERSTREAM_ADMIN_TOKEN: T2 });
  assert.deepEqual(config.credentials, [
    { name: 'api-token', role: 'operator-read', tenants: null, sha256: sha256Hex(T1) },
    { name: 'admin-token', role: 'operator', tenants: null, sha256: sha256Hex(T2) },
  ]);
  assert.doesNotMatch(JSON.stringify(config), new RegExp(`${T1}|${T2}`));
});

test('METERSTREAM_TOKENS: inline JSON or @file, tenant-scoped roles need tenants, operator roles take none', () => {
  const list = [
    { name: 'oslo-reader', role: 'read', tenants: ['oslo'], sha256: sha256Hex(T1) },
    { name: 'ops', role: 'operator', sha256: sha256Hex(T2) },
  ];
  const file = join(mkdtempSync(join(tmpdir(), 'tokens-')), 'tokens.json');
  writeFileSync(file, JSON.stringify(list));
  for (const raw of [JSON.stringify(list), `@${file}`]) {
    assert.deepEqual(
      loadConfig({ METERSTREAM_TOKENS: raw }).credentials.map((c) => [c.name, c.role, c.tenants]),
      [
        ['oslo-reader', 'read', ['oslo']],
        ['ops', 'operator', null],
      ],
    );
  }
  const refused = (entry: object, pattern: RegExp) =>
    assert.throws(
      () => loadConfig({ METERSTREAM_TOKENS: JSON.stringify([entry]) }),
      naming('METERSTREAM_TOKENS', pattern),
    );
  refused({ name: 'x', role: 'read', sha256: sha256Hex(T1) }, /needs tenants/);
  refused({ name: 'x', role: 'admin', tenants: [], sha256: sha256Hex(T1) }, /needs tenants/);
  refused({ name: 'x', role: 'operator', tenants: ['oslo'], sha256: sha256Hex(T1) }, /spans every tenant/);
  refused({ name: 'x', role: 'root', sha256: sha256Hex(T1) }, /role must be/);
  refused({ name: 'x', role: 'operator', token: T1, sha256: sha256Hex(T1) }, /unknown key "token"/);
  refused({ name: 'x', role: 'operator', sha256: sha256Hex('') }, /empty token/);
  refused({ name: 'x', role: 'operator', sha256: 'ABC' }, /64 lowercase hex/);
  assert.throws(
    () => loadConfig({ METERSTREAM_TOKENS: '@/nonexistent/tokens.json' }),
    naming('METERSTREAM_TOKENS', /cannot read/),
  );
});

test('equal tokens, short tokens and duplicate names are refused at start, naming the variable', () => {
  assert.throws(
    () => loadConfig({ METERSTREAM_API_TOKEN: T1, METERSTREAM_ADMIN_TOKEN: T1 }),
    naming('METERSTREAM_ADMIN_TOKEN', /equals token api-token/),
  );
  assert.throws(
    () =>
      loadConfig({
        METERSTREAM_TOKENS: JSON.stringify([{ name: 'oslo', role: 'admin', tenants: ['oslo'], sha256: sha256Hex(T2) }]),
        METERSTREAM_ADMIN_TOKEN: T2,
      }),
    naming('METERSTREAM_ADMIN_TOKEN', /equals token oslo/),
  );
  assert.throws(
    () =>
      loadConfig({
        METERSTREAM_TOKENS: JSON.stringify([
          { name: 'a', role: 'operator', sha256: sha256Hex(T1) },
          { name: 'a', role: 'operator-read', sha256: sha256Hex(T2) },
        ]),
      }),
    naming('METERSTREAM_TOKENS', /two tokens are named a/),
  );
  assert.throws(() => loadConfig({ METERSTREAM_API_TOKEN: 'x'.repeat(23) }), naming('METERSTREAM_API_TOKEN', /24/));
  assert.throws(
    () => loadConfig({ METERSTREAM_ADMIN_TOKEN: `${'x'.repeat(24)} ` }),
    naming('METERSTREAM_ADMIN_TOKEN', /white space/),
  );
  assert.equal(loadConfig({ METERSTREAM_API_TOKEN: 'x'.repeat(24) }).credentials.length, 1);
});
