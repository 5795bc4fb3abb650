// One alert: its evidence drawn as a chart, and its lifecycle beside it.
import { apiPath, getJson } from './api.js';
import { h, num, utc } from './dom.js';
import { drawChart } from './chart.js';
import { evidenceOf } from './evidence.js';

function lifecycle(a) {
  const steps = [
    h('li', {}, h('strong', {}, 'Fired'), ` ${utc(a.startsAt)}`),
    a.endsAt === null
      ? h('li', { class: 'open' }, h('strong', {}, 'Still firing'))
      : h('li', {}, h('strong', {}, 'Resolved'), ` ${utc(a.endsAt)}`),
  ];
  const facts = [
    ['Status', a.status],
    ['Severity', a.severity],
    ['Zone', a.zoneId ?? '—'],
    ['Tenant', a.tenant],
    ['Meter', h('a', { href: `/console/meters/${a.meter}`, class: 'mono' }, a.meter)],
    ['Episode (dedupKey)', h('span', { class: 'mono' }, a.dedupKey)],
    ['Latest change (alertId)', h('span', { class: 'mono' }, a.alertId)],
    ...Object.entries(a.details).map(([k, v]) => [k, num(v, 2)]),
  ];
  return h(
    'aside',
    { class: 'lifecycle', 'aria-labelledby': 'lifecycle-title' },
    h('h2', { id: 'lifecycle-title' }, 'Lifecycle'),
    h('ol', { class: 'steps' }, steps),
    h(
      'p',
      { class: 'help' },
      `Details are those of the latest state change (${a.status}); every change is on meter.alerts.v1.`,
    ),
    h(
      'dl',
      {},
      facts.map(([k, v]) => [h('dt', {}, k), h('dd', {}, v)]),
    ),
  );
}

function bars(e, container) {
  const max = Math.max(1, ...e.bars.map((b) => Math.abs(b.value)));
  container.append(
    h(
      'figure',
      { class: 'evidence bars', 'data-points': e.bars.length },
      h('figcaption', {}, h('strong', {}, 'Billed against metered'), ` — the tolerance is ${e.tolerance}.`),
      h(
        'table',
        {},
        h('caption', { class: 'visually-hidden' }, 'Billed and metered quantity'),
        h(
          'tbody',
          {},
          e.bars.map((b) =>
            h(
              'tr',
              {},
              h('th', { scope: 'row' }, b.label),
              h('td', {}, h('span', { class: 'bar', 'data-width': Math.round((100 * Math.abs(b.value)) / max) })),
              h('td', { class: 'num' }, num(b.value, 2)),
            ),
          ),
        ),
      ),
    ),
  );
  // Widths through the CSSOM: the policy forbids style attributes in markup, not this.
  for (const bar of container.querySelectorAll('.bar')) bar.style.width = `${bar.dataset.width}%`;
}

/** Renders the alert `dedupKey` of `meter`. */
export async function renderAlert(main, { meter, dedupKey }) {
  const [settings, { alerts }] = await Promise.all([
    getJson('/v1/detectors'),
    getJson(apiPath('/v1/alerts', { meter, limit: 1000 })),
  ]);
  const alert = alerts.find((a) => a.dedupKey === dedupKey);
  if (alert === undefined) {
    main.append(
      h('p', { role: 'alert', class: 'error', id: 'error' }, 'No such alert (or this token may not see it).'),
    );
    return;
  }
  document.title = `${alert.type} · meterstream console`;
  main.querySelector('h1').textContent = `${alert.type}: ${alert.summary}`;
  const evidence = h(
    'section',
    { class: 'evidence-pane', 'aria-labelledby': 'evidence-title' },
    h('h2', { id: 'evidence-title' }, 'Evidence'),
  );
  main.append(
    h('p', {}, h('a', { href: '/console/' }, '← All alerts')),
    h('div', { class: 'alert-page', 'data-type': alert.type, 'data-status': alert.status }, evidence, lifecycle(alert)),
  );
  const e = evidenceOf(alert, settings);
  if (e.bars) return bars(e, evidence);
  const { rows } = await getJson(
    apiPath(`/v1/meters/${meter}/hourly`, {
      kind: e.kind,
      from: new Date(e.from).toISOString(),
      to: new Date(e.to).toISOString(),
      limit: 10000,
    }),
  );
  drawChart(evidence, e.chart(rows));
}
