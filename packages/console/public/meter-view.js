// A meter's hours by pseudonym, for any range (at most 366 days per request, as the API allows):
// a chart and a table per kind, and for admins the CSV export of everything stored about it.
import { ApiError, apiPath, getBlob, getJson } from './api.js';
import { HOUR, h, showError } from './dom.js';
import { drawChart } from './chart.js';
import { adminToken, setAdminToken } from './session.js';

const DAY = 24 * HOUR;
const KINDS = ['WATER', 'ELECTRICITY_IMPORT', 'ELECTRICITY_EXPORT', 'HEAT', 'GAS', 'TEMPERATURE'];
const day = (t) => new Date(t).toISOString().slice(0, 10);

function rangeForm(meter, q) {
  const field = (id, label, input) => h('div', { class: 'field' }, h('label', { for: id }, label), input);
  const form = h(
    'form',
    { class: 'filters', 'aria-label': 'Meter and range' },
    field(
      'm-meter',
      'Pseudonym',
      h('input', {
        id: 'm-meter',
        name: 'meter',
        value: meter ?? '',
        required: true,
        pattern: '[0-9a-f]{32}',
        size: 34,
        spellcheck: 'false',
        autocomplete: 'off',
      }),
    ),
    field(
      'm-kind',
      'Kind',
      h(
        'select',
        { id: 'm-kind', name: 'kind' },
        h('option', { value: '' }, 'all'),
        KINDS.map((k) => h('option', { value: k, selected: k === q.kind }, k)),
      ),
    ),
    field(
      'm-from',
      'From (UTC day)',
      h('input', { id: 'm-from', name: 'from', type: 'date', value: q.from, required: true }),
    ),
    field(
      'm-to',
      'To (UTC day, exclusive)',
      h('input', { id: 'm-to', name: 'to', type: 'date', value: q.to, required: true }),
    ),
    h('button', { type: 'submit' }, 'Show'),
  );
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const f = new FormData(form);
    const search = new URLSearchParams({ kind: f.get('kind'), from: f.get('from'), to: f.get('to') });
    location.assign(`/console/meters/${String(f.get('meter')).trim()}?${search}`);
  });
  return form;
}

function exportForm(meter) {
  const status = h('p', { role: 'status', class: 'status' });
  const input = h('input', {
    id: 'admin-token',
    type: 'password',
    autocomplete: 'off',
    spellcheck: 'false',
    'aria-describedby': 'admin-help',
  });
  const form = h(
    'form',
    { class: 'export', 'aria-labelledby': 'export-title' },
    h('h2', { id: 'export-title' }, 'Export (admins)'),
    h(
      'p',
      { id: 'admin-help', class: 'help' },
      'Everything stored about this meter, as CSV. Needs the admin token (METERSTREAM_ADMIN_TOKEN), kept in this tab only.',
    ),
    adminToken() === null ? [h('label', { for: 'admin-token' }, 'Admin token'), input] : null,
    h('button', { type: 'submit' }, 'Download CSV'),
    status,
  );
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    if (adminToken() === null && input.value.trim()) setAdminToken(input.value.trim());
    if (adminToken() === null) return input.focus();
    status.textContent = 'Exporting…';
    try {
      const blob = await getBlob(apiPath(`/v1/meters/${meter}/export`, { format: 'csv' }), adminToken());
      const url = URL.createObjectURL(blob);
      const a = h('a', { href: url, download: `meter-${meter}.csv` });
      document.body.append(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 10_000);
      status.textContent = `Downloaded meter-${meter}.csv (${blob.size.toLocaleString('en-US')} bytes).`;
    } catch (err) {
      if (err instanceof ApiError && err.refused) {
        sessionStorage.removeItem('meterstream.console.adminToken');
        status.textContent = `The admin token was refused (${err.status}).`;
        form.replaceWith(exportForm(meter));
      } else status.textContent = `Export failed: ${err.message}`;
    }
  });
  return form;
}

/** Renders the hours of `meter` (or the form to choose one). */
export async function renderMeter(main, { meter }) {
  const params = new URLSearchParams(location.search);
  const now = Date.now();
  const q = {
    kind: params.get('kind') ?? '',
    from: params.get('from') || day(now - 7 * DAY),
    to: params.get('to') || day(now + 2 * DAY),
  };
  main.append(rangeForm(meter, q));
  if (meter === null) return;
  main.querySelector('h1').textContent = `Meter ${meter.slice(0, 8)}…`;
  const { rows } = await getJson(
    apiPath(`/v1/meters/${meter}/hourly`, {
      kind: q.kind,
      from: `${q.from}T00:00:00Z`,
      to: `${q.to}T00:00:00Z`,
      limit: 10000,
    }),
  ).catch((err) => {
    if (err instanceof ApiError && err.status === 400) {
      showError(main, `Bad range: ${err.message}`);
      return { rows: null };
    }
    throw err;
  });
  if (rows !== null) {
    const kinds = [...new Set(rows.map((r) => r.kind))];
    if (kinds.length === 0) main.append(h('p', { id: 'no-rows' }, 'No hourly rows for this meter in this range.'));
    const from = Date.parse(`${q.from}T00:00:00Z`);
    const to = Date.parse(`${q.to}T00:00:00Z`);
    for (const kind of kinds) {
      const mine = rows.filter((r) => r.kind === kind);
      const byHour = new Map(mine.map((r) => [Date.parse(r.hour), r]));
      const xs = [];
      for (let t = from; t < to; t += HOUR) if (xs.length < 10000) xs.push(t);
      const temp = kind === 'TEMPERATURE';
      const value = (r) => (temp ? (r.samples > 0 ? r.valueSum / r.samples : null) : r.valueSum);
      const section = h('section', { 'aria-label': kind }, h('h2', {}, `${kind} (${mine[0].unit})`));
      main.append(section);
      drawChart(section, {
        title: `${kind}, hourly ${temp ? 'mean' : 'sum'}`,
        unit: mine[0].unit,
        timeZone: 'UTC',
        xs,
        series: [
          {
            label: `${temp ? 'Mean' : 'Sum'} (${mine[0].unit})`,
            values: xs.map((t) => (byHour.has(t) ? value(byHour.get(t)) : null)),
            stroke: '#1f5fa8',
          },
        ],
        bands: [],
        markers: [],
        open: true,
        description: `${mine.length} stored hours of ${kind} from ${q.from} to ${q.to} (UTC); gaps are hours without data.`,
      });
    }
  }
  main.append(exportForm(meter));
}
