// The console's entry point: takes a token handed over in the URL fragment, asks for one if the
// tab has none, and renders the view of the current path. Every page is a plain link; there is
// no client-side router to keep in step with the server's routes.
import { h, showError } from './dom.js';
import { readToken, renderSession, signInForm, signOut, takeTokenFromFragment } from './session.js';
import { renderAlerts } from './alerts-view.js';
import { renderAlert } from './alert-view.js';
import { renderDistricts } from './districts-view.js';
import { renderDistrict } from './district-view.js';
import { renderMeter } from './meter-view.js';

takeTokenFromFragment();

const main = document.getElementById('main');
const session = document.getElementById('session');

/** The view of a path, with its parameters. */
function route(path) {
  let m;
  if ((m = /^\/console\/meters\/([0-9a-f]{32})\/alerts\/([0-9a-f]+)$/.exec(path)))
    return { title: 'Alert', render: (el) => renderAlert(el, { meter: m[1], dedupKey: m[2] }) };
  if ((m = /^\/console\/meters(?:\/([0-9a-f]{32}))?$/.exec(path)))
    return { title: "A meter's hours", render: (el) => renderMeter(el, { meter: m[1] ?? null }) };
  if (path === '/console/districts') return { title: 'Districts', render: renderDistricts };
  if ((m = /^\/console\/districts\/([^/]+)$/.exec(path))) {
    let zone;
    try {
      zone = decodeURIComponent(m[1]);
    } catch {
      return { title: 'District', render: (el) => showError(el, 'This district link is malformed.') };
    }
    const tenant = new URLSearchParams(location.search).get('tenant');
    return { title: 'District', render: (el) => renderDistrict(el, { zone, tenant }) };
  }
  return { title: 'Alerts', render: renderAlerts };
}

let stopView = null;

async function show() {
  stopView?.();
  stopView = null;
  renderSession(session, show);
  const view = route(location.pathname);
  const heading = h('h1', {}, view.title);
  main.replaceChildren(heading);
  if (readToken() === null) {
    main.append(signInForm(show));
    return;
  }
  try {
    stopView = (await view.render(main)) ?? null;
  } catch (err) {
    if (err?.refused) {
      // A refused token is forgotten: the form asks again, and nothing of the view is shown.
      signOut();
      renderSession(session, show);
      main.replaceChildren(heading);
      showError(main, `The token was refused (${err.status}: ${err.message}). Sign in with a valid token.`);
      main.append(signInForm(show));
    } else {
      showError(main, `Could not load this page: ${err?.message ?? err}`);
    }
  }
}

void show();
