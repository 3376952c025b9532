// The console's calls: the session (`/console/session`, an HttpOnly cookie the page never
// sees) and the admin API with that cookie. Every non-GET request carries the session's
// CSRF token; a 401 anywhere means the session ended, and the login page is shown.

/** An API refusal: the HTTP status and the ErrorBody (`{error, message, field}`). */
export class ApiError extends Error {
  constructor(status, body) {
    super(body && body.message ? body.message : `HTTP ${status}`);
    this.status = status;
    this.body = body || {};
  }
}

let session = null;
let onEnded = () => {};

/** The current session (`{principal, role, expires_at_ms}`), or null. */
export function current() {
  return session;
}

/** Registers what to do when a request answers 401 (the session ended). */
export function whenEnded(handler) {
  onEnded = handler;
}

async function call(method, path, body) {
  const headers = { Accept: 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (method !== 'GET' && session) headers['X-CSRF-Token'] = session.csrf_token;
  let response;
  try {
    response = await fetch(path, {
      method,
      headers,
      credentials: 'same-origin',
      cache: 'no-store',
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (error) {
    throw new ApiError(0, { error: 'network', message: error.message });
  }
  const text = await response.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = null;
  }
  if (!response.ok) {
    throw new ApiError(response.status, data || { error: `http_${response.status}`, message: text.slice(0, 200) });
  }
  return data;
}

/** An admin API request (`path` under `/admin/v1`); 401 ends the session. */
export async function api(method, path, body) {
  try {
    return await call(method, `/admin/v1${path}`, body);
  } catch (error) {
    if (error.status === 401) {
      session = null;
      onEnded();
    }
    throw error;
  }
}

/** GET `path` under `/admin/v1` with the query `params` (empty values left out). */
export function get(path, params = {}) {
  const query = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value !== undefined && value !== null && value !== '') query.set(key, value);
  }
  const qs = query.toString();
  return api('GET', qs ? `${path}?${qs}` : path);
}

/** Opens a session with an admin token (the token is not kept). */
export async function login(token) {
  session = await call('POST', '/console/session', { token });
  return session;
}

/** The session of the cookie, if it is still valid; null otherwise. */
export async function resume() {
  try {
    session = await call('GET', '/console/session');
  } catch (error) {
    if (error.status !== 401) throw error;
    session = null;
  }
  return session;
}

/** Ends the session. */
export async function logout() {
  try {
    await call('DELETE', '/console/session');
  } finally {
    session = null;
  }
}

/** A fresh idempotency key (`console-` and 32 hex digits). */
export function idempotencyKey() {
  const bytes = new Uint8Array(16);
  crypto.getRandomValues(bytes);
  return `console-${Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('')}`;
}
