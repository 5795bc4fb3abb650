// Districts: per tenant and zone (water district, building), how many meters have a firing alert
// of each type.
import { getJson } from './api.js';
import { h } from './dom.js';
import { TYPES } from './alerts-view.js';

/** Renders the districts view into `main`. */
export async function renderDistricts(main) {
  const { zones } = await getJson('/v1/zones');
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
