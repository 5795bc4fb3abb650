import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Pseudonymiser, pseudonymOf } from './pseudonym.js';

const key = Buffer.from('00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff', 'hex');

test('pseudonym is the first 16 bytes of HMAC-SHA256(key, tenant \\x1f meterId), lowercase hex', () => {
  // Fixed vector computed with Python's hmac module (an independent implementation):
  // hmac.new(key, b'oslo-vann\x1f707057500000000017', sha256).hexdigest()[:32]
  const expected = 'bbbd3dc77bf56159fa8ea6cd3740a755';
  assert.equal(pseudonymOf(key, 'oslo-vann', '707057500000000017'), expected);
  assert.match(expected, /^[0-9a-f]{32}$/);
});

test('tenant is part of the input: the same meter ID in two tenants gives two pseudonyms', () => {
  assert.notEqual(pseudonymOf(key, 'a', 'm1'), pseudonymOf(key, 'b', 'm1'));
  // The separator keeps ("ab","c") and ("a","bc") apart.
  assert.notEqual(pseudonymOf(key, 'ab', 'c'), pseudonymOf(key, 'a', 'bc'));
});

test('a different key gives a different pseudonym', () => {
  const other = Buffer.alloc(32, 7);
  assert.notEqual(pseudonymOf(key, 't', 'm'), pseudonymOf(other, 't', 'm'));
});

test('the cache serves repeats without another HMAC and agrees with the uncached function', () => {
  const p = new Pseudonymiser({ key, cacheSize: 10 });
  for (let round = 0; round < 3; round++) {
    for (let i = 0; i < 5; i++) assert.equal(p.of('t', `m${i}`), pseudonymOf(key, 't', `m${i}`));
  }
  assert.equal(p.misses, 5);
});

test('a short key is refused', () => {
  assert.throws(() => new Pseudonymiser({ key: Buffer.alloc(16) }), RangeError);
});
