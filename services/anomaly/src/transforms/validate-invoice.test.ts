import { test } from 'node:test';
import assert from 'node:assert/strict';
import { STORABLE_TIME, type Invoice } from '@meterstream/core';
import { invoiceProblem } from './validate-invoice.js';

const DAY = 86_400_000;
const START = STORABLE_TIME.from + 365 * DAY;
const ok: Invoice = {
  invoiceId: 'INV-1',
  tenant: 'default',
  meterId: 'WM-1',
  kind: 'WATER',
  periodStart: START,
  periodEnd: START + 30 * DAY,
  billedQuantity: 12.5,
  unit: 'M3',
  amount: null,
  currency: null,
  priceArea: null,
};

test('a well-formed invoice has no problem', () => {
  assert.equal(invoiceProblem(ok), null);
  assert.equal(invoiceProblem({ ...ok, billedQuantity: 0, periodEnd: START + 400 * DAY }), null);
});

test('each reason an invoice cannot be checked is named', () => {
  const cases: [Partial<Invoice>, string][] = [
    [{ periodEnd: START }, 'periodEnd must be after periodStart'],
    [{ periodEnd: START - DAY }, 'periodEnd must be after periodStart'],
    [{ periodStart: 0, periodEnd: 30 * DAY }, 'periodStart and periodEnd must be whole milliseconds from 2000 to 2099'],
    [{ periodEnd: STORABLE_TIME.until }, 'periodStart and periodEnd must be whole milliseconds from 2000 to 2099'],
    [{ periodEnd: START + 0.5 }, 'periodStart and periodEnd must be whole milliseconds from 2000 to 2099'],
    [{ periodEnd: START + 400 * DAY + 1 }, 'period longer than 400 days'],
    [{ billedQuantity: -1 }, 'billedQuantity must be a finite, non-negative number'],
    [{ billedQuantity: Number.NaN }, 'billedQuantity must be a finite, non-negative number'],
    [{ billedQuantity: Infinity }, 'billedQuantity must be a finite, non-negative number'],
    [{ unit: 'CELSIUS' }, 'temperature is not billed'],
    [{ kind: 'TEMPERATURE' }, 'temperature is not billed'],
    [{ invoiceId: '' }, 'invoiceId must have 1 to 200 characters'],
    [{ invoiceId: 'x'.repeat(201) }, 'invoiceId must have 1 to 200 characters'],
  ];
  for (const [change, reason] of cases)
    assert.equal(invoiceProblem({ ...ok, ...change }), reason, JSON.stringify(change));
});
