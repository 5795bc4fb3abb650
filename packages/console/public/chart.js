// A time-series chart (uPlot, served from this server) with what an alert's evidence needs:
// shaded windows (the night), horizontal levels (thresholds, as constant series so the legend
// names them) and vertical markers (fired, resolved, last reading). Beside the canvas: a text
// description, and the plotted values as a table, for people who do not see the chart. The
// figure states what it plotted in data attributes (points, range, shaded windows).
import uPlot from '/console/vendor/uplot/uPlot.esm.js';
import { h, num } from './dom.js';
import { localTime } from './local-time.js';

const BAND_FILL = 'rgba(46, 64, 150, 0.14)';
const MARKER = '#4a4a4a';

function bandsHook(bands) {
  return (u) => {
    const { ctx, bbox } = u;
    ctx.save();
    ctx.fillStyle = BAND_FILL;
    for (const b of bands) {
      const x0 = Math.max(bbox.left, u.valToPos(b.from / 1000, 'x', true));
      const x1 = Math.min(bbox.left + bbox.width, u.valToPos(b.to / 1000, 'x', true));
      if (x1 > x0) ctx.fillRect(x0, bbox.top, x1 - x0, bbox.height);
    }
    ctx.restore();
  };
}

function markersHook(markers) {
  return (u) => {
    const { ctx, bbox } = u;
    ctx.save();
    ctx.strokeStyle = MARKER;
    ctx.fillStyle = MARKER;
    ctx.lineWidth = devicePixelRatio;
    ctx.setLineDash([4 * devicePixelRatio, 3 * devicePixelRatio]);
    ctx.font = `${11 * devicePixelRatio}px system-ui, sans-serif`;
    for (const m of markers) {
      const x = u.valToPos(m.t / 1000, 'x', true);
      if (x < bbox.left || x > bbox.left + bbox.width) continue;
      ctx.beginPath();
      ctx.moveTo(x, bbox.top);
      ctx.lineTo(x, bbox.top + bbox.height);
      ctx.stroke();
      ctx.fillText(m.label, x + 3 * devicePixelRatio, bbox.top + 12 * devicePixelRatio);
    }
    ctx.restore();
  };
}

function dataTable(spec) {
  const shown = spec.series.filter((s) => s.table !== false);
  const rows = spec.xs.map((t, i) => i).filter((i) => shown.some((s) => s.values[i] !== null));
  return h(
    'details',
    { class: 'data', open: spec.open ?? false },
    h('summary', {}, `The plotted values (${rows.length} hours with data)`),
    h(
      'div',
      { class: 'scroll', role: 'region', 'aria-label': `${spec.title}: values`, tabindex: 0 },
      h(
        'table',
        { class: 'chart-data' },
        h('caption', {}, `${spec.title} (times in ${spec.timeZone})`),
        h(
          'thead',
          {},
          h(
            'tr',
            {},
            h('th', { scope: 'col' }, 'Hour'),
            shown.map((s) => h('th', { scope: 'col' }, s.label)),
          ),
        ),
        h(
          'tbody',
          {},
          rows.map((i) =>
            h(
              'tr',
              {},
              h('th', { scope: 'row' }, localTime(spec.xs[i], spec.timeZone)),
              shown.map((s) => h('td', {}, s.values[i] === null ? '—' : num(s.values[i], 2))),
            ),
          ),
        ),
      ),
    ),
  );
}

/**
 * Draws `spec` into a new figure appended to `container` and returns the figure.
 * spec: { title, description, timeZone, unit, xs (epoch ms), series: [{ label, values, stroke,
 * dash?, table? }], bands: [{ from, to }], markers: [{ t, label }] }. The first series is the
 * measured one.
 */
export function drawChart(container, spec) {
  const plotted = spec.series[0].values.filter((v) => v !== null).length;
  const canvasBox = h('div', { class: 'chart', role: 'img', 'aria-label': spec.description });
  const figure = h(
    'figure',
    {
      class: 'evidence',
      'data-points': plotted,
      'data-from': spec.xs.length ? new Date(spec.xs[0]).toISOString() : '',
      'data-to': spec.xs.length ? new Date(spec.xs[spec.xs.length - 1]).toISOString() : '',
      'data-bands': JSON.stringify(
        spec.bands.map((b) => [new Date(b.from).toISOString(), new Date(b.to).toISOString()]),
      ),
    },
    h('figcaption', {}, h('strong', {}, spec.title), ' — ', spec.description),
    canvasBox,
  );
  container.append(figure);
  if (spec.xs.length === 0) {
    canvasBox.append(h('p', { class: 'muted' }, 'No hourly rows stored for this range.'));
    return figure;
  }
  figure.append(dataTable(spec));
  const size = () => {
    const width = Math.max(280, canvasBox.clientWidth || 600);
    return { width, height: Math.round(Math.min(360, Math.max(220, width * 0.5))) };
  };
  const plot = new uPlot(
    {
      ...size(),
      tzDate: (ts) => uPlot.tzDate(new Date(ts * 1e3), spec.timeZone),
      scales: { x: { time: true } },
      axes: [{}, { label: spec.unit, size: 60 }],
      series: [
        { label: 'Hour', value: (_u, v) => (v === null ? '—' : localTime(v * 1000, spec.timeZone)) },
        ...spec.series.map((s) => ({
          label: s.label,
          stroke: s.stroke,
          width: s.width ?? 2,
          dash: s.dash,
          spanGaps: s.spanGaps ?? false,
          points: { show: s.points ?? false },
        })),
      ],
      hooks: { drawClear: [bandsHook(spec.bands)], draw: [markersHook(spec.markers)] },
    },
    [spec.xs.map((t) => t / 1000), ...spec.series.map((s) => s.values)],
    canvasBox,
  );
  new ResizeObserver(() => plot.setSize(size())).observe(canvasBox);
  return figure;
}
