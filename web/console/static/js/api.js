// The JSON API client every screen uses: bearer token, Idempotency-Key on
// POST, and every failure as an ApiError carrying the problem details
// (RFC 9457) the API answered.

/** ApiError is a failed call: HTTP status and the problem object. */
export class ApiError extends Error {
  constructor(status, problem) {
    super(problem.detail || problem.title || `HTTP ${status}`);
    this.status = status;
    this.problem = problem;
  }
}

/** query appends the defined, non-empty parameters to path. */
export function query(path, params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params || {})) {
    if (v !== undefined && v !== null && v !== '') q.set(k, String(v));
  }
  const s = q.toString();
  return s ? `${path}${path.includes('?') ? '&' : '?'}${s}` : path;
}

/** seg encodes one path segment (ids, names). */
export const seg = encodeURIComponent;

// BASE is where the API is, kept for the tab: '' (this page's origin) until
// a stamp answers 421 Misdirected naming the customer's home stamp; the
// console then re-targets every call there (docs/decisions.md: browsers do
// not let a page read a redirect's Location, and drop Authorization on a
// cross-origin redirect, so the stamps answer 421 and the console moves).
const BASE = 'collab.apiBase';

/**
 * homeOf is the base URL a 421 problem names, or null when it is not one to
 * follow: https, or http on this machine (the local simulation).
 */
export function homeOf(problem) {
  let u;
  try { u = new URL(String((problem && problem.homeUrl) || '')); } catch { return null; }
  const local = ['localhost', '127.0.0.1', '[::1]'].includes(u.hostname);
  if (u.protocol !== 'https:' && !(u.protocol === 'http:' && local)) return null;
  const base = u.origin + u.pathname.replace(/\/+$/, '');
  return base === location.origin ? '' : base;
}

/** apiBase is where calls go now ('' = this page's origin). */
export function apiBase() {
  return sessionStorage.getItem(BASE) || '';
}

/** forgetHome goes back to this page's origin (at sign-out). */
export function forgetHome() {
  sessionStorage.removeItem(BASE);
}

// Retries of an overloaded service (DESIGN §5): a 503 (the instance shed
// the call, or a dependency is briefly down) or a 429 (the Functions host's
// queue is full) is sent again after its Retry-After (capped at 10 s, 1 s
// when absent, plus up to a fifth of jitter), at most 3 times. A 503 of a
// PATCH without If-Match is not repeated: it may have been applied. Every
// POST carries an Idempotency-Key, so repeating one is safe.
export const MAX_RETRIES = 3;

/** retryWait is how long to wait before sending a failed call again, or null. */
export function retryWait(err, method, headers, retries) {
  if (retries >= MAX_RETRIES || (err.status !== 503 && err.status !== 429)) return null;
  if (err.status === 503 && method === 'PATCH' && !(headers && headers['If-Match'])) return null;
  const n = Number.parseInt(err.retryAfter, 10);
  const base = Number.isFinite(n) && n >= 0 ? Math.min(n, 10) * 1000 : 1000;
  return base + Math.floor(Math.random() * (base / 5 + 1));
}

/**
 * createApi returns the client. getToken() gives the current bearer token;
 * onUnauthorized(err) runs when a signed-in call answers 401 (expired
 * token, disabled user); onRetarget(base) when a 421 moved the API to the
 * customer's home stamp.
 */
export function createApi({ getToken, onUnauthorized, onRetarget = () => {} }) {
  // send makes the request and turns a failure into an ApiError; the
  // answer's body is left for the caller to read. A 421 naming the home
  // stamp moves every later call there and repeats this one (at most twice:
  // stamps that disagree end in the 421).
  async function send(method, path, { body, headers, accept } = {}) {
    const h = { Accept: accept || 'application/json, application/problem+json' };
    const token = getToken();
    if (token) h.Authorization = `Bearer ${token}`;
    if (body !== undefined) h['Content-Type'] = 'application/json';
    if (method === 'POST') h['Idempotency-Key'] = crypto.randomUUID();
    for (let hop = 0, retries = 0; ; hop++) {
      try {
        return await attempt(method, path, body, { ...h, ...headers }, token);
      } catch (err) {
        const wait = retryWait(err, method, { ...h, ...headers }, retries);
        if (wait !== null) {
          retries++;
          hop--;
          await new Promise((resolve) => setTimeout(resolve, wait));
          continue;
        }
        const home = err.status === 421 && hop < 2 ? homeOf(err.problem) : null;
        if (home === null || home === apiBase()) throw err;
        if (home) sessionStorage.setItem(BASE, home);
        else forgetHome();
        onRetarget(home);
      }
    }
  }
  async function attempt(method, path, body, headers, token) {
    let resp;
    try {
      resp = await fetch(apiBase() + path, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        credentials: 'omit',
        cache: 'no-store',
      });
    } catch (e) {
      throw new ApiError(0, { title: 'Network error', detail: `The service could not be reached (${e.message}).` });
    }
    if (!resp.ok) {
      const text = await resp.text();
      let data = null;
      try { data = JSON.parse(text); } catch { data = null; }
      const problem = data && typeof data === 'object' ? data : { title: resp.statusText, detail: text.slice(0, 300) };
      const err = new ApiError(resp.status, problem);
      err.retryAfter = resp.headers.get('Retry-After');
      if (resp.status === 401 && token) onUnauthorized(err);
      throw err;
    }
    return resp;
  }
  async function call(method, path, opts = {}) {
    const resp = await send(method, path, opts);
    const text = await resp.text();
    let data = null;
    if (text) {
      try { data = JSON.parse(text); } catch { data = null; }
    }
    return { data, etag: resp.headers.get('ETag'), status: resp.status };
  }
  /**
   * bytes reads a body that is not JSON (a catalog object's content), at
   * most max bytes: past that it stops reading and says truncated.
   */
  async function bytes(path, max) {
    const resp = await send('GET', path, { accept: '*/*' });
    const reader = resp.body.getReader();
    const chunks = [];
    let size = 0;
    let truncated = false;
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      const room = max - size;
      if (value.length > room) {
        chunks.push(value.subarray(0, room));
        size = max;
        truncated = true;
        await reader.cancel();
        break;
      }
      chunks.push(value);
      size += value.length;
    }
    const out = new Uint8Array(size);
    let at = 0;
    for (const c of chunks) { out.set(c, at); at += c.length; }
    return { bytes: out, truncated, contentType: resp.headers.get('Content-Type') || '', etag: resp.headers.get('ETag') };
  }
  const data = (p) => p.then((r) => r.data);
  return {
    call,
    bytes,
    get: (path) => data(call('GET', path)),
    post: (path, body) => data(call('POST', path, { body })),
    put: (path, body, headers) => data(call('PUT', path, { body, headers })),
    patch: (path, body, headers) => data(call('PATCH', path, { body, headers })),
    del: (path, headers) => data(call('DELETE', path, { headers })),
    /** page reads one page of a cursor-paged list ({items, next}). */
    page: (path, cursor, limit) => data(call('GET', query(path, { cursor, limit }))),
    /** all reads every page of a cursor-paged list ({items, next}). */
    async all(path, key = 'items', onPage) {
      const out = [];
      let cursor = '';
      do {
        const p = await data(call('GET', query(path, { cursor, limit: 1000 })));
        out.push(...(p[key] || []));
        cursor = p.next || '';
        if (onPage) onPage(out.length);
      } while (cursor);
      return out;
    },
  };
}

/**
 * userIdOf is platform.UserID: "u-" and the first 16 hex digits of the
 * SHA-256 of the trimmed, lower-cased e-mail (member and team routes take
 * user ids; people type e-mails).
 */
export async function userIdOf(email) {
  const bytes = new TextEncoder().encode(email.trim().toLowerCase());
  const sum = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes));
  return `u-${Array.from(sum.slice(0, 8), (b) => b.toString(16).padStart(2, '0')).join('')}`;
}
