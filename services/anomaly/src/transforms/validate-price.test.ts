import { test } from 'node:test';
import assert from 'node:assert/strict';
import { STORABLE_TIME, type SpotPrice } from '@meterstream/core';
import { priceProblem } from './validate-price.js';

const H = 3_600_000;
const ok: SpotPrice = { priceArea: 'NO1', hour: STORABLE_TIME.from + 1000 * H, price: -0.02, currency: 'NOK' };

test('a usable spot price has no problem', () => {
  assert.equal(priceProblem(ok), null);
  assert.equal(priceProblem({ ...ok, hour: STORABLE_TIME.until - H }), null);
});

test('each reason a spot price cannot be used is named', () => {
  const cases: [Partial<SpotPrice>, string][] = [
    [{ priceArea: '' }, 'priceArea must be 1 to 32 letters, digits, dash or underscore'],
    [{ priceArea: 'NO 1' }, 'priceArea must be 1 to 32 letters, digits, dash or underscore'],
    [{ hour: STORABLE_TIME.from - H }, 'hour must be whole milliseconds from 2000 to 2099'],
    [{ hour: STORABLE_TIME.until }, 'hour must be whole milliseconds from 2000 to 2099'],
    [{ hour: ok.hour + 1 }, 'hour must be the start of an hour (UTC, epoch ms)'],
    [{ price: Number.NaN }, 'price must be a finite number of at most 1000 per kWh'],
    [{ price: 1000.5 }, 'price must be a finite number of at most 1000 per kWh'],
    [{ currency: 'eur' }, 'currency must be an ISO 4217 code (three capital letters)'],
  ];
  for (const [change, reason] of cases)
    assert.equal(priceProblem({ ...ok, ...change }), reason, JSON.stringify(change));
});
