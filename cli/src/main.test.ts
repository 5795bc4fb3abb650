/** The `meterstream` command as an operator runs it: refusals name the variable, look-ups work. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { repoPath } from '@meterstream/core';

const KEY = '00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff';

function run(args: string[], env: Record<string, string>) {
  const r = spawnSync(process.execPath, [repoPath('bin', 'meterstream.mjs'), ...args], {
    env: { PATH: process.env.PATH ?? '', ...env },
    encoding: 'utf8',
    timeout: 60_000,
  });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

test('a bad configuration value stops start-up with exit 78 and names the variable', () => {
  const r = run(['ingestor'], { PORT: 'eighty', METERSTREAM_PSEUDONYM_KEY: KEY });
  assert.equal(r.code, 78);
  assert.match(r.err, /PORT: expected a whole number/);
});

test('a misspelt METERSTREAM_ variable is refused by name', () => {
  const r = run(['ingestor'], { METERSTREAM_RAW_TTL: '30', METERSTREAM_PSEUDONYM_KEY: KEY });
  assert.equal(r.code, 78);
  assert.match(r.err, /METERSTREAM_RAW_TTL: unknown variable/);
});

test('without a pseudonym key the ingestor and the anomaly service (invoices) refuse to start', () => {
  for (const service of ['ingestor', 'anomaly']) {
    const r = run([service], {});
    assert.equal(r.code, 78);
    assert.match(r.err, /METERSTREAM_PSEUDONYM_KEY: required/);
  }
});

test('pseudonym look-up prints the design construction (vector from Python hmac)', () => {
  const r = run(['pseudonym', '--tenant', 'oslo-vann', '--meter', '707057500000000017'], {
    METERSTREAM_PSEUDONYM_KEY: KEY,
  });
  assert.equal(r.code, 0, r.err);
  assert.equal(r.out.trim(), 'bbbd3dc77bf56159fa8ea6cd3740a755');
});

test('unknown commands say so with exit 2', () => {
  const r = run(['frobnicate'], {});
  assert.equal(r.code, 2);
  assert.match(r.err, /unknown command/);
});
