// Alerts, firing and recent, newest first: filtered by type, severity, zone and status (a plain
// GET form, so filters are links), refreshed every few seconds while the tab is visible.
import { apiPath, getJson } from './api.js';
import { h, showError, utc } from './dom.js';

export const TYPES = ['NIGHT_FLOW', 'BURST', 'FROST_RISK', 'INVOICE_MISMATCH', 'METER_SILENT'];
const SEVERITIES = ['INFO', 'WARNING', 'CRITICAL'];
const STATUSES = ['FIRING', 'RESOLVED'];
const REFRESH_MS = 5_000;
const LIMIT = 500;

/** The link of an alert's page. */
export const alertHref = (a) => `/console/meters/${a.meter}/alerts/${a.dedupKey}`;

function select(name, label, values, current) {
  return h(
    'div',
    { class: 'field' },
    h('label', { for: `f-${name}` }, label),
    h(
      'select',
      { id: `f-${name}`, name },
      h('option', { value: '' }, 'any'),
      values.map((v) => h('option', { value: v, selected: v === current }, v)),
    ),
  );
}

function filtersForm(q, zones) {
  return h(
    'form',
    { class: 'filters', method: 'get', action: '/console/', 'aria-label': 'Filter alerts' },
    select('status', 'Status', STATUSES, q.status),
    select('type', 'Type', TYPES, q.type),
    select('severity', 'Severity', SEVERITIES, q.severity),
    h(
      'div',
      { class: 'field' },
      h('label', { for: 'f-zone' }, 'Zone'),
      h('input', { id: 'f-zone', name: 'zone', list: 'zones', value: q.zone ?? '', maxlength: 200 }),
      h(
        'datalist',
        { id: 'zones' },
        zones.map((z) => h('option', { value: z })),
      ),
    ),
    h('button', { type: 'submit' }, 'Apply'),
    h('a', { href: '/console/', class: 'reset' }, 'Clear'),
  );
}

function row(a) {
  return h(
    'tr',
    { 'data-type': a.type, 'data-status': a.status, 'data-severity': a.severity },
    h('td', {}, h('span', { class: `badge ${a.status.toLowerCase()}` }, a.status)),
    h('th', { scope: 'row' }, h('a', { href: alertHref(a) }, a.type)),
    h('td', {}, h('span', { class: `sev ${a.severity.toLowerCase()}` }, a.severity)),
    h('td', {}, a.zoneId ?? '—'),
    h(
      'td',
      { class: 'mono' },
      h('a', { href: `/console/meters/${a.meter}`, title: a.meter }, `${a.meter.slice(0, 8)}…`),
    ),
    h('td', {}, utc(a.startsAt)),
    h('td', {}, utc(a.endsAt)),
    h('td', { class: 'summary' }, a.summary),
  );
}

function table(alerts) {
  const head = ['Status', 'Type', 'Severity', 'Zone', 'Meter', 'Started', 'Ended', 'Summary'];
  return h(
    'div',
    { class: 'scroll', role: 'region', 'aria-labelledby': 'alerts-caption', tabindex: 0 },
    h(
      'table',
      { id: 'alerts' },
      h('caption', { id: 'alerts-caption' }, 'Alerts, newest first'),
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          head.map((t) => h('th', { scope: 'col' }, t)),
        ),
      ),
      h('tbody', {}, alerts.map(row)),
    ),
  );
}

/** Renders the alerts view into `main`; returns the function that stops its refresh. */
export async function renderAlerts(main) {
  const params = new URLSearchParams(location.search);
  const q = Object.fromEntries(['status', 'type', 'severity', 'zone'].map((k) => [k, params.get(k) ?? '']));
  const load = async () => {
    const { alerts } = await getJson(
      apiPath('/v1/alerts', { status: q.status, type: q.type, zone: q.zone, limit: LIMIT }),
    );
    return q.severity ? alerts.filter((a) => a.severity === q.severity) : alerts;
  };
  const [alerts, zones] = await Promise.all([load(), getJson('/v1/zones')]);
  const status = h('p', { class: 'status', role: 'status', 'aria-live': 'polite' });
  const holder = h('div', {});
  const draw = (list) => {
    const firing = list.filter((a) => a.status === 'FIRING').length;
    holder.replaceChildren(list.length === 0 ? h('p', { id: 'no-alerts' }, 'No alerts match.') : table(list));
    status.textContent = `${list.length} alerts, ${firing} firing${list.length >= LIMIT ? ` (the newest ${LIMIT})` : ''} · updated ${new Date().toLocaleTimeString('en-GB')}`;
    main.dataset.alerts = String(list.length);
  };
  main.append(filtersForm(q, [...new Set(zones.zones.map((z) => z.zoneId))]), status, holder);
  draw(alerts);

  let timer = null;
  let stopped = false;
  const tick = async () => {
    if (stopped) return;
    if (!document.hidden) {
      try {
        draw(await load());
        main.querySelector('#error')?.remove();
      } catch (err) {
        if (err.refused) return location.reload();
        showError(main, `Refresh failed: ${err.message}; retrying.`);
      }
    }
    timer = setTimeout(tick, REFRESH_MS);
  };
  timer = setTimeout(tick, REFRESH_MS);
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}
