// Sign-in: the local dev issuer (POST /api/dev/token) and Entra ID with the
// authorization code flow and PKCE (RFC 7636). The session lives in
// sessionStorage: it ends with the tab, and no other site can read it.

import { forgetHome } from './api.js';

const SESSION = 'collab.session';
const PENDING = 'collab.pkce';

/** session is the signed-in session, or null (none, or expired). */
export function session() {
  try {
    const s = JSON.parse(sessionStorage.getItem(SESSION) || 'null');
    if (!s || !s.token || (s.expiresAt && Date.now() > s.expiresAt)) return null;
    return s;
  } catch {
    return null;
  }
}

/** signOut forgets the session. */
export function signOut() {
  sessionStorage.removeItem(SESSION);
  forgetHome();
}

function save(token, expiresIn, method) {
  const s = { token, method, expiresAt: Date.now() + (Number(expiresIn) || 3600) * 1000 - 30000 };
  sessionStorage.setItem(SESSION, JSON.stringify(s));
  return s;
}

/** devSignIn asks the local dev issuer for a token for email. */
export async function devSignIn(api, email) {
  const t = await api.post('/api/dev/token', { email });
  return save(t.access_token, t.expires_in, 'dev');
}

/** b64url is unpadded base64url of bytes (RFC 7636 §3). */
export function b64url(bytes) {
  let s = '';
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

/** newVerifier is a code verifier: 32 random bytes, 43 characters. */
export function newVerifier() {
  return b64url(crypto.getRandomValues(new Uint8Array(32)));
}

/** challengeOf is the S256 code challenge of a verifier. */
export async function challengeOf(verifier) {
  const sum = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier));
  return b64url(new Uint8Array(sum));
}

/** discover reads the authority's OpenID configuration. */
export async function discover(authority) {
  const resp = await fetch(`${authority.replace(/\/+$/, '')}/.well-known/openid-configuration`, { credentials: 'omit', cache: 'no-store' });
  if (!resp.ok) throw new Error(`The sign-in authority did not answer its discovery document (${resp.status}).`);
  const meta = await resp.json();
  const origin = new URL(authority).origin;
  for (const k of ['authorization_endpoint', 'token_endpoint']) {
    if (typeof meta[k] !== 'string' || new URL(meta[k]).origin !== origin) {
      throw new Error(`The sign-in authority's ${k} is missing or on another origin.`);
    }
  }
  return meta;
}

/** authorizeURL is where the browser goes to sign in. */
export function authorizeURL(meta, cfg, redirectURI, state, challenge) {
  const u = new URL(meta.authorization_endpoint);
  u.search = new URLSearchParams({
    client_id: cfg.clientId,
    response_type: 'code',
    redirect_uri: redirectURI,
    response_mode: 'query',
    scope: cfg.scopes.join(' '),
    state,
    code_challenge: challenge,
    code_challenge_method: 'S256',
  }).toString();
  return u.toString();
}

/**
 * beginEntra prepares a sign-in (verifier, state, where to come back to)
 * and returns the authorization URL.
 */
export async function beginEntra(cfg, returnTo) {
  const meta = await discover(cfg.authority);
  const verifier = newVerifier();
  const state = b64url(crypto.getRandomValues(new Uint8Array(16)));
  const redirectURI = `${location.origin}${cfg.redirectPath}`;
  sessionStorage.setItem(PENDING, JSON.stringify({ verifier, state, tokenEndpoint: meta.token_endpoint, redirectURI, returnTo }));
  return authorizeURL(meta, cfg, redirectURI, state, await challengeOf(verifier));
}

/**
 * completeEntra checks the answer's state against the pending sign-in and
 * redeems the code with the verifier. It returns where to go next.
 */
export async function completeEntra(cfg, search) {
  const q = new URLSearchParams(search);
  let pending = null;
  try { pending = JSON.parse(sessionStorage.getItem(PENDING) || 'null'); } catch { pending = null; }
  sessionStorage.removeItem(PENDING);
  if (q.get('error')) throw new Error(`The sign-in was refused: ${q.get('error_description') || q.get('error')}`);
  if (!pending || !q.get('state') || q.get('state') !== pending.state) {
    throw new Error('This sign-in answer does not belong to a sign-in started here (state mismatch). Start again.');
  }
  if (!q.get('code')) throw new Error('The sign-in answer has no authorization code.');
  const resp = await fetch(pending.tokenEndpoint, {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'authorization_code',
      client_id: cfg.clientId,
      code: q.get('code'),
      redirect_uri: pending.redirectURI,
      code_verifier: pending.verifier,
    }).toString(),
    credentials: 'omit',
  });
  const body = await resp.json().catch(() => ({}));
  if (!resp.ok || !body.access_token) {
    throw new Error(`The token request failed: ${body.error_description || body.error || resp.status}`);
  }
  save(body.access_token, body.expires_in, 'entra');
  return pending.returnTo || '/console/';
}
