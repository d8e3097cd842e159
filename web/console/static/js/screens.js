// Every screen of the console. Adding one is a module under screens/ that
// exports render(root, ctx), and one entry here:
//
//   path   the route under /console (":name" segments become ctx.params)
//   title  the heading and the window title
//   nav    where it shows in the navigation: scope "top", "subscription"
//          (needs ctx.sub) or "project" (needs ctx.project); when(x) hides
//          it from those who cannot use it (x: the subscription or project
//          as GET /api/me lists it)
//   public true for screens shown before sign-in
//   load   the module, loaded on first use
//
//   parent the screen whose navigation link stays current on this one

const isOwner = (p) => p.role === 'owner';
const isAdmin = (p) => p.role === 'owner' || p.role === 'admin';

export const screens = [
  { id: 'overview', path: '/', title: 'Overview', nav: { scope: 'top', label: 'Overview' }, load: () => import('./screens/overview.js') },
  { id: 'signin', path: '/signin', title: 'Sign in', public: true, load: () => import('./screens/signin.js') },
  { id: 'auth', path: '/auth', title: 'Signing in', public: true, load: () => import('./screens/signin.js') },
  { id: 'invitation', path: '/invitations/:token', title: 'Invitation', load: () => import('./screens/invitation.js') },

  { id: 'users', path: '/subscriptions/:s/users', title: 'Users', nav: { scope: 'subscription', label: 'Users', when: (s) => s.owner }, load: () => import('./screens/users.js') },
  { id: 'projects', path: '/subscriptions/:s/projects', title: 'Projects', nav: { scope: 'subscription', label: 'Projects' }, load: () => import('./screens/projects.js') },
  { id: 'subscription-security', path: '/subscriptions/:s/security', title: 'Security', nav: { scope: 'subscription', label: 'Security center', when: (s) => s.owner }, load: () => import('./screens/security-events.js') },
  { id: 'subscription-audit', path: '/subscriptions/:s/audit', title: 'Subscription audit log', nav: { scope: 'subscription', label: 'Subscription audit log', when: (s) => s.owner }, load: () => import('./screens/audit.js') },

  { id: 'members', path: '/projects/:p/members', title: 'Members', nav: { scope: 'project', label: 'Members' }, load: () => import('./screens/members.js') },
  { id: 'teams', path: '/projects/:p/teams', title: 'Teams', nav: { scope: 'project', label: 'Teams' }, load: () => import('./screens/teams.js') },
  { id: 'security', path: '/projects/:p/security', title: 'Studio Security', nav: { scope: 'project', label: 'Security' }, load: () => import('./screens/security.js') },
  { id: 'catalog', path: '/projects/:p/catalog', title: 'Catalog', nav: { scope: 'project', label: 'Catalog' }, load: () => import('./screens/catalog.js') },
  { id: 'catalog-object', path: '/projects/:p/catalog/object', title: 'Catalog object', parent: 'catalog', load: () => import('./screens/catalog-object.js') },
  { id: 'catalog-commit', path: '/projects/:p/catalog/commits/:seq', title: 'Commit', parent: 'catalog', load: () => import('./screens/catalog-commit.js') },
  { id: 'catalog-changes', path: '/projects/:p/catalog/changes', title: 'Change feed', parent: 'catalog', load: () => import('./screens/catalog-changes.js') },
  { id: 'catalog-locks', path: '/projects/:p/catalog/locks', title: 'Locks', parent: 'catalog', load: () => import('./screens/catalog-locks.js') },
  { id: 'environments', path: '/projects/:p/environments', title: 'Environments', nav: { scope: 'project', label: 'Environments' }, load: () => import('./screens/environments.js') },
  { id: 'jobs', path: '/projects/:p/jobs', title: 'Programmed jobs', nav: { scope: 'project', label: 'Jobs' }, load: () => import('./screens/jobs.js') },
  { id: 'parameters', path: '/projects/:p/parameters', title: 'Parameters', nav: { scope: 'project', label: 'Parameters' }, load: () => import('./screens/parameters.js') },
  { id: 'connectors', path: '/projects/:p/connectors', title: 'Connectors', nav: { scope: 'project', label: 'Connectors' }, load: () => import('./screens/connectors.js') },
  { id: 'email', path: '/projects/:p/email', title: 'E-mail', nav: { scope: 'project', label: 'E-mail', when: isAdmin }, load: () => import('./screens/email.js') },
  { id: 'project-audit', path: '/projects/:p/audit', title: 'Project audit log', nav: { scope: 'project', label: 'Project audit log', when: isOwner }, load: () => import('./screens/audit.js') },
];

/** match finds the screen for a path under /console and its parameters. */
export function match(path) {
  const parts = path.split('/').filter(Boolean);
  for (const s of screens) {
    const want = s.path.split('/').filter(Boolean);
    if (want.length !== parts.length) continue;
    const params = {};
    let ok = true;
    for (let i = 0; i < want.length && ok; i += 1) {
      if (want[i].startsWith(':')) {
        try { params[want[i].slice(1)] = decodeURIComponent(parts[i]); } catch { ok = false; }
      } else {
        ok = want[i] === parts[i];
      }
    }
    if (ok) return { screen: s, params };
  }
  return null;
}

/** pathOf fills a screen's path with parameters (encoded). */
export function pathOf(screen, params) {
  const p = screen.path.split('/').map((x) => (x.startsWith(':') ? encodeURIComponent(params[x.slice(1)] || '') : x)).join('/');
  return `/console${p === '/' ? '/' : p}`;
}
