import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ALERT_LINE, formatAlertLine } from './alert-line.js';

const leak = {
  status: 'FIRING',
  type: 'NIGHT_FLOW',
  severity: 'WARNING',
  zoneId: 'zone-03',
  meter: '9f56cee4a1b2c3d4e5f60718293a4b5c',
  summary: 'Night flow 24 L/h for 2 nights',
} as const;

test('an alert line: status, type, severity, zone, pseudonym prefix, summary, in aligned columns', () => {
  const line = formatAlertLine(leak);
  assert.equal(line, 'FIRING    NIGHT_FLOW        WARNING   zone-03       9f56cee4…  Night flow 24 L/h for 2 nights');
  assert.match(line, ALERT_LINE);
  assert.ok(!line.includes(leak.meter), 'never the whole pseudonym');

  const resolved = formatAlertLine({
    ...leak,
    status: 'RESOLVED',
    type: 'INVOICE_MISMATCH',
    severity: 'CRITICAL',
    zoneId: 'building-001',
  });
  assert.equal(resolved.indexOf('9f56cee4'), line.indexOf('9f56cee4'), 'columns line up');
  assert.match(resolved, ALERT_LINE);
});

test('a meter without a zone shows "-"; text from the data cannot break the line or steer the terminal', () => {
  const line = formatAlertLine({
    ...leak,
    zoneId: null,
    summary: 'No reading\nfor 6 hours\u001b[2J',
  });
  assert.equal(line, 'FIRING    NIGHT_FLOW        WARNING   -             9f56cee4…  No reading for 6 hours [2J');
  assert.match(line, ALERT_LINE);
  const odd = formatAlertLine({ ...leak, zoneId: 'zone 7\r\n', summary: '' });
  assert.ok(!/[\r\n\u001b]/.test(odd));
  assert.match(odd, ALERT_LINE);
  assert.match(odd, / zone_7 /);
});

test('JSON log lines and the simulator progress are not alert lines', () => {
  for (const other of [
    '{"level":40,"msg":"The group is rebalancing, so a rejoin is needed"}',
    'meterstream demo: simulator: 1,234 messages sent',
    'FIRING',
  ])
    assert.doesNotMatch(other, ALERT_LINE);
});
