// The console reads the same JSON API as any client, with the tab's bearer token in the
// Authorization header: it sees what the token may see, and nothing else.
import { readToken } from './session.js';

/** A non-2xx answer of the API, with its status and the `{error, code}` body. */
export class ApiError extends Error {
  constructor(status, message, code) {
    super(message);
    this.status = status;
    this.code = code;
  }
  /** The token was missing, wrong, or lacks the right (401/403). */
  get refused() {
    return this.status === 401 || this.status === 403;
  }
}

async function request(path, token, accept) {
  const res = await fetch(path, {
    headers: { authorization: `Bearer ${token ?? ''}`, accept },
    cache: 'no-store',
    credentials: 'omit',
  });
  if (!res.ok) {
    let body = {};
    try {
      body = await res.json();
    } catch {
      // not JSON: the status says it
    }
    throw new ApiError(res.status, body.error ?? `${res.status} ${res.statusText}`, body.code);
  }
  return res;
}

/** GET a JSON resource with the tab's read token (or `token`). */
export async function getJson(path, token = readToken()) {
  return (await request(path, token, 'application/json')).json();
}

/** GET a resource as a Blob (a CSV export) with `token`. */
export async function getBlob(path, token) {
  return (await request(path, token, 'text/csv')).blob();
}

/** `/v1/...?a=1&b=2` from a path and the parameters that are set. */
export function apiPath(path, params = {}) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== '') q.set(k, String(v));
  const s = q.toString();
  return s ? `${path}?${s}` : path;
}
