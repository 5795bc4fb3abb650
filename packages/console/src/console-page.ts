/**
 * The HTML shell of every console page: landmarks, the navigation and an empty main region that
 * `public/main.js` fills from the JSON API. It carries no data and no token, so it is served
 * without authentication and may be cached by nobody (`no-store` on the route).
 */

const escape = (s: string) =>
  s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

/** The page for `title` (the view's name, before the script has rendered it). */
export function consolePage(title: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<link rel="icon" href="data:,">
<title>${escape(title)} · meterstream console</title>
<link rel="stylesheet" href="/console/vendor/uplot/uPlot.min.css">
<link rel="stylesheet" href="/console/assets/console.css">
<script type="module" src="/console/assets/main.js"></script>
</head>
<body>
<a class="skip" href="#main">Skip to content</a>
<header class="topbar">
  <a class="brand" href="/console/">meterstream</a>
  <nav aria-label="Console">
    <ul>
      <li><a href="/console/">Alerts</a></li>
      <li><a href="/console/districts">Districts</a></li>
      <li><a href="/console/meters">Meter hours</a></li>
    </ul>
  </nav>
  <div id="session" class="session"></div>
</header>
<main id="main" tabindex="-1">
  <h1>${escape(title)}</h1>
  <noscript><p class="error">The console needs JavaScript (plain modules from this server; nothing from elsewhere).</p></noscript>
  <p id="loading">Loading…</p>
</main>
</body>
</html>
`;
}
