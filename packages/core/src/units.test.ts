import { test } from 'node:test';
import assert from 'node:assert/strict';
import { canonicalUnit, toCanonical } from './units.js';

test('water in litres, electricity and heat in kWh, temperature in °C', () => {
  assert.equal(canonicalUnit('WATER', 'M3'), 'L');
  assert.equal(toCanonical('WATER', 'M3', 12.5), 12_500);
  assert.equal(toCanonical('WATER', 'L', 7), 7);
  for (const kind of ['ELECTRICITY_IMPORT', 'ELECTRICITY_EXPORT', 'HEAT'] as const) {
    assert.equal(canonicalUnit(kind, 'WH'), 'KWH');
    assert.equal(toCanonical(kind, 'WH', 1500), 1.5);
    assert.equal(toCanonical(kind, 'MWH', 2), 2000);
  }
  assert.equal(toCanonical('TEMPERATURE', 'CELSIUS', -3.5), -3.5);
});

test('gas keeps its dimension: m³ stays m³, energy becomes kWh', () => {
  assert.deepEqual([canonicalUnit('GAS', 'M3'), toCanonical('GAS', 'M3', 3)], ['M3', 3]);
  assert.deepEqual([canonicalUnit('GAS', 'MWH'), toCanonical('GAS', 'MWH', 3)], ['KWH', 3000]);
});
