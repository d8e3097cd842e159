// The console's shell: configuration, session, navigation and the router
// that shows one screen (screens.js) in <main>.

import { createApi, apiBase, seg } from './api.js';
import { session, signOut } from './auth.js';
import { h, replace, announce, errorNotice, progress, link, button, chooser } from './dom.js';
import { screens, match, pathOf } from './screens.js';
import { createAlerts } from './alerts.js';

const main = document.getElementById('main');
const nav = document.getElementById('nav');
const who = document.getElementById('who');
const menu = document.getElementById('menu');

const state = {
  config: null,
  me: null,
  renderSeq: 0,
};

const api = createApi({
  getToken: () => (session() || {}).token,
  // The API moved to the customer's home stamp: what we know of the caller
  // came from the other stamp, so read it again there.
  onRetarget: () => { state.me = null; },
  onUnauthorized: (err) => {
    signOut();
    state.me = null;
    const reason = (err.problem && err.problem.detail) || 'Your session ended.';
    navigate(`/console/signin?reason=${encodeURIComponent(reason)}&next=${encodeURIComponent(location.pathname)}`, { replace: true });
  },
});

// The maintenance line above every screen (alerts.js).
const alerts = createAlerts(document.getElementById('alerts'), api);

/** navigate shows the screen of path (under /console) and records it. */
export function navigate(path, { replace: rep = false } = {}) {
  if (rep) history.replaceState(null, '', path);
  else history.pushState(null, '', path);
  render(true);
}

function currentProjectId() {
  return sessionStorage.getItem('collab.project') || '';
}

// The subscription and project the current path is about, as /api/me
// lists them; a project path also selects its subscription.
function contextOf(params) {
  const me = state.me;
  if (!me) return {};
  let project = null;
  let sub = null;
  if (params.p) project = me.projects.find((x) => x.id === params.p) || null;
  if (!project) project = me.projects.find((x) => x.id === currentProjectId()) || me.projects[0] || null;
  if (params.s) sub = me.subscriptions.find((x) => x.id === params.s) || null;
  if (!sub && project) sub = me.subscriptions.find((x) => x.id === project.subscriptionId) || null;
  if (!sub) sub = me.subscriptions[0] || null;
  return { sub, project };
}

function renderWho() {
  const s = session();
  if (!s || !state.me) {
    replace(who);
    return;
  }
  replace(who,
    h('span', { class: 'who-name' }, state.me.email || state.me.id),
    button('Sign out', () => {
      signOut();
      state.me = null;
      announce('Signed out.');
      navigate('/console/signin');
    }, { class: 'btn btn-quiet btn-small' }));
}

function navLink(screen, params, current, label) {
  const a = link(pathOf(screen, params), label || screen.nav.label);
  if (current) a.setAttribute('aria-current', 'page');
  return h('li', {}, a);
}

function renderNav(current, params, ctx) {
  document.body.classList.toggle('signed-out', !state.me || !session());
  if (!state.me) {
    replace(nav);
    menu.hidden = true;
    alerts.clear();
    return;
  }
  menu.hidden = false;
  const groups = [];
  const top = screens.filter((s) => s.nav && s.nav.scope === 'top');
  groups.push(h('ul', { class: 'nav-list' }, top.map((s) => navLink(s, {}, s === current))));

  if (ctx.sub) {
    const items = screens.filter((s) => s.nav && s.nav.scope === 'subscription' && (!s.nav.when || s.nav.when(ctx.sub)));
    // The pickers act on their Open button, not on the first arrow key.
    let picker = [h('p', { class: 'nav-heading' }, 'Subscription'), h('p', { class: 'nav-context' }, ctx.sub.name || ctx.sub.id)];
    if (state.me.subscriptions.length > 1) {
      picker = chooser({
        label: 'Subscription', labelClass: 'nav-heading', selectClass: 'nav-select', class: 'nav-chooser',
        options: state.me.subscriptions.map((s) => ({ value: s.id, label: s.name || s.id })),
        value: ctx.sub.id, action: 'Open', actionName: 'Open subscription',
        choose: (id) => navigate(pathOf(current.nav && current.nav.scope === 'subscription' ? current : screens.find((s) => s.id === 'projects'), { s: id })),
      });
    }
    groups.push(h('div', { class: 'nav-group' }, picker,
      h('ul', { class: 'nav-list' }, items.map((s) => navLink(s, { s: ctx.sub.id }, s === current)))));
  }
  if (ctx.project) {
    const items = screens.filter((s) => s.nav && s.nav.scope === 'project' && (!s.nav.when || s.nav.when(ctx.project)));
    const picker = chooser({
      label: 'Project', labelClass: 'nav-heading', selectClass: 'nav-select', class: 'nav-chooser',
      options: state.me.projects.map((p) => ({ value: p.id, label: `${p.name || p.id} (${p.role})` })),
      value: ctx.project.id, action: 'Open', actionName: 'Open project',
      choose: (id) => {
        const target = current.nav && current.nav.scope === 'project' ? current : screens.find((s) => s.id === (current.parent || 'members'));
        navigate(pathOf(target, { p: id }));
      },
    });
    groups.push(h('div', { class: 'nav-group' }, picker,
      h('ul', { class: 'nav-list' }, items.map((s) => navLink(s, { p: ctx.project.id }, s === current || current.parent === s.id)))));
  }
  replace(nav, groups);
}

async function loadMe(params = {}) {
  state.me = await api.get('/api/me');
  // A link to a customer this stamp does not hold: asking for it answers
  // 421 when another stamp is its home, which re-targets the API there
  // (api.js); then the caller is read again at the home.
  const { p, s } = params;
  const missing = (p && !state.me.projects.some((x) => x.id === p)) || (s && !state.me.subscriptions.some((x) => x.id === s));
  if (missing) {
    const before = apiBase();
    try {
      await api.get(p ? `/api/projects/${seg(p)}` : `/api/subscriptions/${seg(s)}`);
    } catch {
      // not visible anywhere: the screen says so
    }
    if (apiBase() !== before || !state.me) state.me = await api.get('/api/me');
  }
  return state.me;
}

/** render shows the screen of the current location. */
async function render(moved) {
  const seq = ++state.renderSeq;
  shown = location.pathname + location.search;
  const rel = location.pathname.replace(/^\/console(?=\/|$)/, '') || '/';
  const m = match(rel) || (rel === '/' ? match('/') : null);
  document.body.classList.remove('nav-open');
  menu.setAttribute('aria-expanded', 'false');
  if (!m) {
    replace(main, h('h1', { tabindex: '-1' }, 'Not found'), h('p', {}, 'There is no such page in the console. ', link('/console/', 'Go to the overview.')));
    document.title = 'Not found — Studio Collaboration';
    return;
  }
  const { screen, params } = m;
  if (!screen.public && !session()) {
    navigate(`/console/signin?next=${encodeURIComponent(location.pathname + location.search)}`, { replace: true });
    return;
  }
  if (!screen.public && !state.me) {
    replace(main, progress('Reading your subscriptions and projects…').el);
    try {
      await loadMe(params);
    } catch (err) {
      if (err.status === 403) {
        // The identity is refused as such (its address is bound to another
        // one): this session can do nothing; say why on the sign-in screen,
        // where another account can be chosen.
        signOut();
        navigate(`/console/signin?reason=${encodeURIComponent(err.message)}`, { replace: true });
        return;
      }
      if (seq === state.renderSeq) replace(main, h('h1', { tabindex: '-1' }, 'The console could not start'), errorNotice(err));
      return;
    }
  }
  if (seq !== state.renderSeq) return;
  const ctx = {
    api,
    config: state.config,
    me: state.me,
    params,
    query: new URLSearchParams(location.search),
    navigate,
    announce,
    refreshMe: async () => { await loadMe(); renderWho(); renderNav(screen, params, contextOf(params)); return state.me; },
    alertsChanged: () => alerts.changed(),
    ...(screen.public ? {} : contextOf(params)),
  };
  if (ctx.project) sessionStorage.setItem('collab.project', ctx.project.id);
  renderWho();
  renderNav(screen, params, ctx);
  if (screen.public || !ctx.project) alerts.clear();
  else alerts.show(ctx.project, { skip: screen.id === 'environments' });

  const heading = h('h1', { tabindex: '-1' }, screen.title);
  const body = h('div', { class: 'screen' });
  replace(main, heading, body);
  ctx.setTitle = (text) => { heading.textContent = text; document.title = `${text} — Studio Collaboration`; };
  ctx.setTitle(screen.title);
  if (moved) heading.focus();
  try {
    const mod = await screen.load();
    if (seq !== state.renderSeq) return;
    await mod.render(body, ctx);
  } catch (err) {
    if (seq === state.renderSeq) replace(body, errorNotice(err));
  }
}

// In-console links change the screen without reloading the page.
document.addEventListener('click', (ev) => {
  const a = ev.target.closest('a[href]');
  if (!a || (a.getAttribute('href') || '').startsWith('#') || ev.defaultPrevented || ev.button !== 0 || ev.metaKey || ev.ctrlKey || ev.shiftKey || ev.altKey) return;
  const url = new URL(a.href, location.href);
  if (url.origin !== location.origin || !(url.pathname === '/' || url.pathname.startsWith('/console'))) return;
  ev.preventDefault();
  navigate(url.pathname + url.search);
});
// A move within the page (the skip link's #main) is no new screen: only a
// change of path or query renders one (issue 19, finding 10).
let shown = location.pathname + location.search;
window.addEventListener('popstate', () => {
  if (location.pathname + location.search === shown) return;
  render(true);
});

menu.addEventListener('click', () => {
  const open = !document.body.classList.contains('nav-open');
  document.body.classList.toggle('nav-open', open);
  menu.setAttribute('aria-expanded', String(open));
  if (open) {
    const first = nav.querySelector('a, select');
    if (first) first.focus();
  }
});
document.addEventListener('keydown', (ev) => {
  if (ev.key === 'Escape' && document.body.classList.contains('nav-open')) {
    document.body.classList.remove('nav-open');
    menu.setAttribute('aria-expanded', 'false');
    menu.focus();
  }
});

async function start() {
  try {
    state.config = await api.get('/api/console/config');
  } catch (err) {
    replace(main, h('h1', { tabindex: '-1' }, 'The console could not start'), errorNotice(err));
    return;
  }
  render(false);
}

start();
