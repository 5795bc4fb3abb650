/** Silence matching (Alertmanager's rules), the release rule, the webhook signature and backoff. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Alert } from '@meterstream/core';
import { backoff } from './deliver.js';
import { silencing, type Silence } from './match-silences.js';
import { releasePlan } from './release-plan.js';
import { signature, verifySignature } from './signature.js';

const alert: Alert = {
  alertId: 'a1',
  dedupKey: 'e1',
  type: 'NIGHT_FLOW',
  status: 'FIRING',
  severity: 'WARNING',
  tenant: 'oslo',
  meter: 'ab'.repeat(16),
  zoneId: 'zone-12',
  startsAt: 0,
  endsAt: null,
  summary: '',
  details: {},
};
const silence = (matchers: Silence['matchers'], startsAt = 0, endsAt = 100): Silence => ({
  id: 's',
  matchers,
  startsAt,
  endsAt,
  createdBy: 'x',
  comment: 'y',
  createdAt: 0,
});
const m = (name: Silence['matchers'][number]['name'], value: string, isRegex = false, isEqual = true) => ({
  name,
  value,
  isRegex,
  isEqual,
});

test('a silence matches when all matchers do, regexes anchored, while active only', () => {
  assert.ok(silencing(alert, [silence([m('tenant', 'oslo'), m('zone', 'zone-1[0-9]', true)])], 50));
  assert.equal(silencing(alert, [silence([m('zone', 'zone-1', true)])], 50), null, 'anchored: zone-1 is not zone-12');
  assert.equal(silencing(alert, [silence([m('tenant', 'oslo'), m('alertname', 'BURST')])], 50), null);
  assert.ok(silencing(alert, [silence([m('tenant', 'oslo'), m('alertname', 'BURST', false, false)])], 50));
  assert.ok(silencing(alert, [silence([m('pseudonym', alert.meter), m('severity', 'warning')])], 50));
  assert.equal(silencing(alert, [silence([m('tenant', 'oslo')])], 100), null, 'ended at endsAt');
  assert.equal(silencing(alert, [silence([m('tenant', 'oslo')], 60)], 50), null, 'not started yet');
  assert.ok(silencing({ ...alert, zoneId: null }, [silence([m('tenant', 'oslo'), m('zone', '')])], 50));
});

test('release: the latest FIRING; a RESOLVED only when its FIRING was told; nothing for what came and went', () => {
  const f1 = { alertId: 'f1', status: 'FIRING' as const, sourceOffset: 1 };
  const f2 = { alertId: 'f2', status: 'FIRING' as const, sourceOffset: 2 };
  const r = { alertId: 'r', status: 'RESOLVED' as const, sourceOffset: 3 };
  assert.deepEqual(releasePlan([f2, f1], false), { release: [f2], drop: [f1] });
  assert.deepEqual(releasePlan([f1, r], false), { release: [], drop: [f1, r] });
  assert.deepEqual(releasePlan([r], true), { release: [r], drop: [] });
  assert.deepEqual(releasePlan([f1, r], true), { release: [r], drop: [f1] });
});

test('the signature verifies, and not with another body, secret or an old timestamp', () => {
  const body = '{"a":1}';
  const sig = signature('secret-0123456789', 1_000, body);
  assert.match(sig, /^sha256=[0-9a-f]{64}$/);
  assert.ok(verifySignature('secret-0123456789', sig, '1000', body, 1_100));
  assert.ok(!verifySignature('secret-0123456789', sig, '1000', '{"a":2}', 1_100));
  assert.ok(!verifySignature('other-secret-0123', sig, '1000', body, 1_100));
  assert.ok(!verifySignature('secret-0123456789', sig, '1000', body, 1_000 + 301));
});

test('backoff doubles from the first pause up to the cap', () => {
  const p = { retries: 5, backoffMs: 1000, maxBackoffMs: 5000 };
  assert.deepEqual(
    [1, 2, 3, 4].map((n) => backoff(p, n)),
    [1000, 2000, 4000, 5000],
  );
});
