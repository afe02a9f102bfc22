// api.js: reading the node's HTTP API. Every read is ?stale (the node's
// own state), so the page keeps working, read-only and flagged, when the
// node has lost the cluster.

/** HTTPError is a failed request, with the API's stable error code. */
export class HTTPError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

/** url builds path?stale&k=v for the parameters that are set. */
export function url(path, params = {}, stale = true) {
  const q = new URLSearchParams();
  if (stale) q.set('stale', '');
  for (const [k, v] of Object.entries(params)) {
    if (v !== undefined && v !== null && v !== '') q.set(k, String(v));
  }
  const s = q.toString();
  return s ? `${path}?${s}` : path;
}

/** fetchJSON GETs a URL and returns {status, body}; body is null if not JSON. */
export async function fetchJSON(u) {
  const res = await fetch(u, { headers: { Accept: 'application/json' }, cache: 'no-store' });
  let body = null;
  try {
    body = await res.json();
  } catch {
    body = null;
  }
  return { status: res.status, body };
}

/** getJSON GETs path with params and returns the body, or throws HTTPError. */
export async function getJSON(path, params = {}, opts = {}) {
  const { status, body } = await fetchJSON(url(path, params, opts.stale !== false));
  if (status >= 200 && status < 300) return body;
  const err = body && body.error ? body.error : {};
  throw new HTTPError(status, err.code || `http_${status}`, err.message || `HTTP ${status}`);
}
