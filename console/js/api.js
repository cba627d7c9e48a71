// The console's only way to the server: the public API of the contract, with the person's own
// token. The access token lives in memory; the refresh token in sessionStorage (this tab only,
// gone when it closes), so a reload keeps the person signed in and nothing outlives the tab.

const REFRESH_KEY = 'workspaces.refreshToken';

let accessToken = null;
let refreshing = null;
const listeners = new Set();

/** An answer that was not a success: the API's own message and code, to show the person. */
export class ApiError extends Error {
  constructor(status, body) {
    const message = (body && (body.message || body.error)) || `The server answered ${status}`;
    super(message);
    this.status = status;
    this.code = body && body.error_code;
    this.body = body;
  }
}

/**
 * Called with `(true)` when a session starts, and `(false, byServer)` when it ends: `byServer`
 * when an API call found it ended (revoked elsewhere), not when this console ended it (whoever
 * did goes on to the next page itself; a second navigation would race the first).
 */
export function onSessionChange(listener) {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

function notify(signedIn, byServer = false) {
  for (const listener of listeners) listener(signedIn, byServer);
}

/** Keeps the tokens of a login, a registration, an activation or a refresh. */
export function startSession(answer) {
  accessToken = answer.fullAccessToken || answer.accessToken || answer.token;
  if (answer.refreshToken) sessionStorage.setItem(REFRESH_KEY, answer.refreshToken);
  notify(true);
}

export function hasSession() {
  return accessToken !== null || sessionStorage.getItem(REFRESH_KEY) !== null;
}

/**
 * Forgets the tokens: after a logout, a deactivation, a verification or a reset that this
 * console made (`byServer` false), or when an API call found the session ended (true).
 */
export function endSession(byServer = false) {
  accessToken = null;
  sessionStorage.removeItem(REFRESH_KEY);
  notify(false, byServer);
}

/** A new token pair from the refresh token; false when there is none or it is refused. */
async function refresh() {
  const token = sessionStorage.getItem(REFRESH_KEY);
  if (!token) return false;
  if (!refreshing) {
    refreshing = (async () => {
      const response = await fetch('/user/refresh', {
        method: 'POST',
        headers: {'Content-Type': 'application/json'},
        body: JSON.stringify({refresh_token: token}),
      });
      if (!response.ok) return false;
      const body = await response.json();
      accessToken = body.accessToken || body.token;
      sessionStorage.setItem(REFRESH_KEY, body.refreshToken);
      return true;
    })().finally(() => { refreshing = null; });
  }
  return refreshing;
}

/**
 * Calls the API. `body` undefined sends no body and no Content-Type, as the official client
 * does. A 401 with a refresh token tries one refresh, then the call again; a session the server
 * ended is forgotten. Resolves to the parsed JSON; rejects with ApiError.
 */
export async function call(method, path, body, {retry = true, headers = {}} = {}) {
  if (accessToken === null && retry && sessionStorage.getItem(REFRESH_KEY)) await refresh();
  const init = {method, headers: {...headers}};
  if (accessToken) init.headers.Authorization = `Bearer ${accessToken}`;
  if (body !== undefined) {
    init.headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  const response = await fetch(path, init);
  let parsed = null;
  try {
    parsed = await response.json();
  } catch {
    parsed = null;
  }
  if (response.status === 401 && retry && accessToken !== null && !path.startsWith('/user/login')) {
    accessToken = null;
    if (await refresh()) return call(method, path, body, {retry: false, headers});
    endSession(true);
  }
  if (!response.ok || (parsed && parsed.success === false)) {
    throw new ApiError(response.status, parsed);
  }
  return parsed;
}

export const api = {
  get: (path, options) => call('GET', path, undefined, options),
  post: (path, body, options) => call('POST', path, body, options),
  put: (path, body, options) => call('PUT', path, body, options),
  delete: (path, body, options) => call('DELETE', path, body, options),
};

/** Signs out: ends the session on the server (POST /user/logout), then here. */
export async function signOut() {
  const token = sessionStorage.getItem(REFRESH_KEY);
  try {
    if (token) await call('POST', '/user/logout', {refresh_token: token}, {retry: false});
  } catch {
    // Already ended on the server: nothing more to do.
  } finally {
    endSession();
  }
}
