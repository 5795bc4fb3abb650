import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DETECTOR_DEFAULTS, loadConfig, type DetectorSettings } from '@meterstream/core';
import { BURST_DEFAULTS, burstParams } from './burst.js';
import { FROST_DEFAULTS, frostParams } from './frost-risk.js';
import { INVOICE_DEFAULTS, invoiceCheckParams } from './invoice-check.js';
import { AMOUNT_DEFAULTS, amountCheckParams } from './invoice-amount.js';
import { SILENCE_DEFAULTS, silenceParams } from './meter-silent.js';
import { NIGHT_FLOW_DEFAULTS, nightFlowParams } from './night-flow.js';
import { ZONE_LOSS_DEFAULTS, zoneLossParams } from './zone-loss.js';

const allParams = (s: DetectorSettings) => ({
  nightFlow: nightFlowParams(s),
  burst: burstParams(s),
  frost: frostParams(s),
  silence: silenceParams(s),
  invoice: invoiceCheckParams(s),
  amount: amountCheckParams(s),
  zoneLoss: zoneLossParams(s),
});

test("the detectors' defaults are the configuration's, resolved with nothing set", () => {
  assert.deepEqual(
    {
      nightFlow: NIGHT_FLOW_DEFAULTS,
      burst: BURST_DEFAULTS,
      frost: FROST_DEFAULTS,
      silence: SILENCE_DEFAULTS,
      invoice: INVOICE_DEFAULTS,
      amount: AMOUNT_DEFAULTS,
      zoneLoss: ZONE_LOSS_DEFAULTS,
    },
    allParams(loadConfig({}).anomaly.detectors),
  );
});

test('every detector setting reaches the parameters of a detector', () => {
  const base = allParams(DETECTOR_DEFAULTS);
  for (const [key, value] of Object.entries(DETECTOR_DEFAULTS)) {
    const changed = typeof value === 'number' ? value + 1 : 'Europe/Stockholm';
    assert.notDeepEqual(allParams({ ...DETECTOR_DEFAULTS, [key]: changed }), base, `${key} is not used`);
  }
});
