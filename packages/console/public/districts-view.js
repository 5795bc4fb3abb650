// Districts: per tenant and zone (water district, building), how many meters have a firing alert
// of each type; and the water balance of every district with inflow meters over the last 7
// days, each linking to its hours (district-view.js).
import { apiPath, getJson } from './api.js';
import { h, num } from './dom.js';
import { TYPES } from './alerts-view.js';

/** Renders the districts view into `main`. */
export async function renderDistricts(main) {
  const [{ zones }, balances] = await Promise.all([getJson('/v1/zones'), getJson('/v1/balances')]);
  renderFiring(main, zones);
  renderBalances(main, balances.zones);
}

const m3 = (litres) => num(litres / 1000, 1);

/** The water balance table: a row per district, summed over the hours every inflow meter covered. */
function renderBalances(main, zones) {
  main.append(h('h2', {}, 'Water balance, last 7 days'));
  if (zones.length === 0) {
    main.append(h('p', { id: 'no-balances' }, 'No district has inflow meters configured (METERSTREAM_ZONE_INFLOWS).'));
    return;
  }
  const href = (z) => apiPath(`/console/districts/${encodeURIComponent(z.zoneId)}`, { tenant: z.tenant });
  main.append(
    h(
      'p',
      {},
      'System input (the inflow meters) minus what the customer meters measured, over the hours in which every inflow meter reported in full. A low customer coverage overstates the loss.',
    ),
    h(
      'div',
      { class: 'scroll', role: 'region', 'aria-labelledby': 'balances-caption', tabindex: 0 },
      h(
        'table',
        { id: 'balances' },
        h('caption', { id: 'balances-caption' }, 'Water balance per district'),
        h(
          'thead',
          {},
          h(
            'tr',
            {},
            ['District', 'Inflow m³', 'Customers m³', 'Loss m³', 'Loss %', 'Hours summed', 'Customer coverage'].map(
              (c) => h('th', { scope: 'col' }, c),
            ),
          ),
        ),
        h(
          'tbody',
          {},
          zones.map((z) =>
            h(
              'tr',
              { 'data-zone': z.zoneId, 'data-tenant': z.tenant },
              h('th', { scope: 'row' }, h('a', { href: href(z) }, `${z.zoneId} (${z.tenant})`)),
              h('td', { class: 'num' }, m3(z.inflowL)),
              h('td', { class: 'num' }, m3(z.customersL)),
              h('td', { class: 'num' }, m3(z.balanceL)),
              h('td', { class: 'num' }, z.lossPercent === null ? '–' : num(z.lossPercent, 1)),
              h('td', { class: 'num' }, `${z.completeHours} of ${z.completeHours + z.incompleteHours}`),
              h('td', { class: 'num' }, z.customerCoverage === null ? '–' : `${num(100 * z.customerCoverage, 0)} %`),
            ),
          ),
        ),
      ),
    ),
  );
}

/** The firing alerts per zone and type. */
function renderFiring(main, zones) {
  if (zones.length === 0) {
    main.append(h('p', { id: 'no-zones' }, 'No zone has a firing alert.'));
    return;
  }
  const cell = (zone, type) => {
    const n = zone.firing[type] ?? 0;
    if (n === 0) return h('td', { class: 'num muted' }, '0');
    const href = `/console/?status=FIRING&type=${type}&zone=${encodeURIComponent(zone.zoneId)}`;
    return h(
      'td',
      { class: 'num' },
      h('a', { href, 'aria-label': `${n} meters in ${zone.zoneId} with ${type}` }, String(n)),
    );
  };
  main.append(
    h('p', {}, 'Meters with a firing alert, per zone and type. Each number links to those alerts.'),
    h(
      'div',
      { class: 'scroll', role: 'region', 'aria-labelledby': 'zones-caption', tabindex: 0 },
      h(
        'table',
        { id: 'zones' },
        h('caption', { id: 'zones-caption' }, 'Firing alerts per zone'),
        h(
          'thead',
          {},
          h(
            'tr',
            {},
            h('th', { scope: 'col' }, 'Zone'),
            TYPES.map((t) => h('th', { scope: 'col' }, t)),
          ),
        ),
        h(
          'tbody',
          {},
          zones.map((z) =>
            h(
              'tr',
              {},
              h('th', { scope: 'row' }, z.zoneId),
              TYPES.map((t) => cell(z, t)),
            ),
          ),
        ),
      ),
    ),
  );
}
