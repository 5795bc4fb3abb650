// The bearer tokens of this browser tab. They live in sessionStorage (this tab only, gone when
// it closes), never in a URL the server sees and never in a log. The demo's link carries the
// read token in the URL fragment (`#token=…`): browsers do not send fragments to the server, and
// the fragment is removed from the address bar and the history before anything else runs.
import { h } from './dom.js';

const READ = 'meterstream.console.token';
const ADMIN = 'meterstream.console.adminToken';

/** Moves a `#token=…` fragment into this tab's storage and out of the address bar and history. */
export function takeTokenFromFragment() {
  const m = /^#token=([^&]*)/.exec(location.hash);
  if (m === null) return;
  const value = decodeURIComponent(m[1]).trim();
  if (value) sessionStorage.setItem(READ, value);
  history.replaceState(history.state, '', location.pathname + location.search);
}

export const readToken = () => sessionStorage.getItem(READ);
export const adminToken = () => sessionStorage.getItem(ADMIN);
export const setAdminToken = (value) => sessionStorage.setItem(ADMIN, value);

/** Forgets the tokens of this tab. */
export function signOut() {
  sessionStorage.removeItem(READ);
  sessionStorage.removeItem(ADMIN);
}

/** The sign-in form: one password field for the API token. `onSignedIn` runs after it is stored. */
export function signInForm(onSignedIn) {
  const input = h('input', {
    id: 'token',
    name: 'token',
    type: 'password',
    autocomplete: 'off',
    spellcheck: 'false',
    required: true,
    'aria-describedby': 'token-help',
  });
  const form = h(
    'form',
    { class: 'sign-in', 'aria-labelledby': 'sign-in-title' },
    h('h2', { id: 'sign-in-title' }, 'Sign in'),
    h('label', { for: 'token' }, 'API token'),
    input,
    h(
      'p',
      { id: 'token-help', class: 'help' },
      'The bearer token of the API (METERSTREAM_API_TOKEN). It is kept in this browser tab only.',
    ),
    h('button', { type: 'submit' }, 'Sign in'),
  );
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const value = input.value.trim();
    if (!value) return;
    sessionStorage.setItem(READ, value);
    onSignedIn();
  });
  queueMicrotask(() => input.focus());
  return form;
}

/** The header's session area: signed in or not, and a sign-out button. */
export function renderSession(container, onChange) {
  container.replaceChildren();
  if (readToken() === null) return;
  container.append(
    h('span', { class: 'muted' }, 'Signed in (this tab)'),
    h(
      'button',
      {
        type: 'button',
        class: 'link',
        onclick: () => {
          signOut();
          onChange();
        },
      },
      'Sign out',
    ),
  );
}
