// A district's water balance hour by hour over the last 7 days: what the inflow meters measured
// going in, what the customer meters measured, and the difference (the loss), with the share of
// customer meters that covered each hour. Hours without every inflow meter are gaps.
import { apiPath, getJson } from './api.js';
import { h, num, showError } from './dom.js';
import { drawChart } from './chart.js';

/** Renders the district `zone` of `tenant` into `main`. */
export async function renderDistrict(main, { zone, tenant }) {
  main.querySelector('h1').textContent = `District ${zone}${tenant ? ` (${tenant})` : ''}`;
  const body = await getJson(apiPath(`/v1/zones/${encodeURIComponent(zone)}/balance`, { tenant })).catch((err) => {
    if (err.status === 404) {
      showError(main, 'No water balance for this district: it is unknown, or has no inflow meters.');
      return null;
    }
    throw err;
  });
  if (body === null) return;
  const complete = (hr) => hr.inflowCoverage >= 1;
  const xs = body.hours.map((hr) => Date.parse(hr.hour));
  const of = (f) => body.hours.map((hr) => (complete(hr) ? f(hr) : null));
  main.append(
    h(
      'p',
      {},
      `${body.inflowMeters} inflow meters, ${body.customerMeters} customer meters. `,
      h('a', { href: '/console/districts' }, 'All districts'),
    ),
  );
  const section = h('section', { 'aria-label': 'Water balance' });
  main.append(section);
  drawChart(section, {
    title: 'Water balance per hour (L/h)',
    unit: 'L/h',
    timeZone: 'UTC',
    xs,
    series: [
      { label: 'Loss (L/h)', values: of((hr) => hr.balanceL), stroke: '#1f5fa8' },
      { label: 'Inflow (L/h)', values: of((hr) => hr.inflowL), stroke: '#2e7d32', dash: [6, 4] },
      { label: 'Customers (L/h)', values: of((hr) => hr.customersL), stroke: '#6d4c41', dash: [2, 3] },
    ],
    bands: [],
    markers: [],
    // The hours' table stays folded: a week is 168 lines.
    open: false,
    description: `Hourly inflow, customer consumption and loss of district ${zone} from ${body.from} to ${body.to} (UTC); hours without every inflow meter are gaps.`,
  });
  const low = body.hours.filter((hr) => complete(hr) && hr.customerCoverage < 0.95).length;
  if (low > 0)
    main.append(
      h(
        'p',
        { class: 'muted' },
        `${num(low, 0)} of the hours had under 95 % of customer meters reporting in full: their loss is overstated.`,
      ),
    );
}
