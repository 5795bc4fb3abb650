// Small DOM helpers: elements built from data with textContent, never from HTML strings, so
// nothing the API returns (summaries, zone names) can become markup.

/**
 * `h('a', { href: '/x', class: 'c' }, 'text', child)`: an element with attributes and children.
 * Attributes whose value is null, undefined or false are left out.
 */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat(Infinity)) if (c !== null && c !== undefined && c !== false) el.append(c);
  return el;
}

/** `2026-11-30 04:00 UTC` for an ISO time or epoch ms; `—` for null. */
export function utc(t) {
  if (t === null || t === undefined) return '—';
  const d = new Date(t);
  return `${d.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

/** A number with at most `digits` decimals, in the page's locale. */
export function num(v, digits = 1) {
  return Number(v).toLocaleString('en-US', { maximumFractionDigits: digits });
}

/** An error message in the page's alert region (read out by screen readers). */
export function showError(container, message) {
  const el = h('p', { class: 'error', role: 'alert', id: 'error' }, message);
  container.querySelector('#error')?.remove();
  container.append(el);
  return el;
}

export const HOUR = 3_600_000;
