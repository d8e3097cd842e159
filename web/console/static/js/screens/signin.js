// Sign-in (/console/signin) and the Entra ID redirect back (/console/auth).

import { devSignIn, beginEntra, completeEntra, session } from '../auth.js';
import { h, replace, form, notice, errorNotice, progress, section, button, announce } from '../dom.js';

function nextOf(ctx) {
  const next = ctx.query.get('next') || '/console/';
  // Only a path of this console: never an absolute URL another site gave us.
  return next.startsWith('/console') && !next.startsWith('//') ? next : '/console/';
}

async function callback(root, ctx) {
  const p = progress('Completing the sign-in…');
  replace(root, p.el);
  try {
    const next = await completeEntra(ctx.config, location.search);
    announce('Signed in.');
    ctx.navigate(next.startsWith('/console') ? next : '/console/', { replace: true });
  } catch (err) {
    replace(root, notice('error', err.message), h('p', {}, h('a', { href: '/console/signin', 'data-nav': '' }, 'Back to sign-in')));
  }
}

export async function render(root, ctx) {
  if (location.pathname === ctx.config.redirectPath) {
    await callback(root, ctx);
    return;
  }
  const next = nextOf(ctx);
  if (session()) {
    ctx.navigate(next, { replace: true });
    return;
  }
  const parts = [];
  const reason = ctx.query.get('reason');
  if (reason) parts.push(notice('warning', `You were signed out: ${reason}`));
  const signedIn = () => {
    announce('Signed in.');
    ctx.navigate(next, { replace: true });
  };
  if (ctx.config.authority) {
    const status = h('div');
    // The button names the provider it uses: "Microsoft" only for Entra ID.
    const provider = ctx.config.provider || new URL(ctx.config.authority).host;
    const label = `Sign in with ${provider}`;
    parts.push(section('Your organisation account',
      h('p', {}, provider === 'Microsoft' ? 'Sign in with your Microsoft Entra ID work account.' : `Sign in through ${provider}.`),
      status,
      button(label, async (ev) => {
        ev.target.disabled = true;
        replace(status, progress('Going to the sign-in page…').el);
        try {
          location.assign(await beginEntra(ctx.config, next));
        } catch (err) {
          replace(status, notice('error', err.message));
          ev.target.disabled = false;
        }
      }, { class: 'btn btn-primary', ariaLabel: label })));
  }
  if (ctx.config.devAuth) {
    const demo = ctx.config.demoUsers || [];
    const errors = h('div');
    const f = form({
      legend: 'Any e-mail address',
      fields: [{ name: 'email', label: 'E-mail', type: 'email', required: true, autocomplete: 'email', matches: /e-?mail|address/i }],
      submitLabel: 'Sign in',
      busyLabel: 'Signing in…',
      submit: async (v) => { await devSignIn(ctx.api, v.email); signedIn(); },
    });
    parts.push(section('Local sign-in (dev issuer)',
      h('p', { class: 'muted' }, 'This service runs locally: the dev issuer signs a token for any address. Entra ID replaces it in Azure.'),
      demo.length ? h('div', { class: 'demo-users' }, h('p', {}, 'Demo users:'),
        h('ul', { class: 'chips' }, demo.map((email) => h('li', {}, button(email, async (ev) => {
          ev.target.disabled = true;
          try { await devSignIn(ctx.api, email); signedIn(); } catch (err) { replace(errors, errorNotice(err)); ev.target.disabled = false; }
        }, { class: 'btn', ariaLabel: `Sign in as ${email}` }))))) : null,
      errors,
      f.el));
  }
  if (!ctx.config.authority && !ctx.config.devAuth) {
    parts.push(notice('error', 'No sign-in is configured for this console (COLLAB_CONSOLE_AUTHORITY or the dev issuer).'));
  }
  replace(root, parts);
}
