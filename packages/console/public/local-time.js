// Local time of a tenant (its IANA time zone), as the detectors judge it: the night window is
// local hours [start, end), daylight saving time included.
import { HOUR } from './dom.js';

const formats = new Map();

function format(timeZone) {
  let f = formats.get(timeZone);
  if (f === undefined) {
    f = new Intl.DateTimeFormat('en-GB', {
      timeZone,
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      hourCycle: 'h23',
    });
    formats.set(timeZone, f);
  }
  return f;
}

/** The local hour (0–23) of epoch ms `ts` in `timeZone`. */
export function localHour(ts, timeZone) {
  return Number(
    format(timeZone)
      .formatToParts(new Date(ts))
      .find((p) => p.type === 'hour').value,
  );
}

/** `2026-11-30 04:00` in `timeZone`. */
export function localTime(ts, timeZone) {
  const p = Object.fromEntries(
    format(timeZone)
      .formatToParts(new Date(ts))
      .map((x) => [x.type, x.value]),
  );
  return `${p.year}-${p.month}-${p.day} ${p.hour}:${p.minute}`;
}

/**
 * The night windows between `from` and `to` (epoch ms): each run of whole hours whose local
 * hour is in [startHour, endHour), as `{ from, to }` (end exclusive).
 */
export function nightBands(from, to, timeZone, startHour, endHour) {
  const bands = [];
  let open = null;
  for (let t = Math.floor(from / HOUR) * HOUR; t < to; t += HOUR) {
    const hour = localHour(t, timeZone);
    const night = hour >= startHour && hour < endHour;
    if (night && open === null) open = { from: t, to: t + HOUR };
    else if (night) open.to = t + HOUR;
    else if (open !== null) {
      bands.push(open);
      open = null;
    }
  }
  if (open !== null) bands.push(open);
  return bands;
}
