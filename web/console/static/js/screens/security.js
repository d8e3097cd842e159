// Studio Security on the object tree: where you are in the tree, your own
// access there with the reason, the entries on the node and below (for
// those who may manage it) with grant and revoke, and, for owners and
// admins, anyone's effective levels with their explanation.

import { h, replace, section, form, table, pager, pageOf, badge, button, confirmButton, errorNotice, notice, progress, link } from '../dom.js';
import { seg, query } from '../api.js';
import { fixedChildren, catalogChildren, parentOf, crumbs as crumbsOf } from '../tree.js';

const MAIN_NODES = new Set(['applications', 'entities', 'rules']);
const LEVELS = ['deny', 'modify', 'full'];
const ACTIONS = ['view', 'modify', 'manage'];

/**
 * treeSources list where children of a path come from: each is
 * async (ctx, path) => [child names]. The design's fixed top, and the
 * catalog's objects (those the viewer may see).
 */
export const treeSources = [
  async (_ctx, path) => fixedChildren(path),
  (ctx, path) => catalogChildren(ctx, ctx.params.p, path),
];

const levelKind = { deny: 'danger', modify: 'neutral', full: 'success' };

// explain turns the API's decidedBy into a sentence.
function explain(d, principalName) {
  if (!d) return '';
  if (d.owner) return 'Owners have Full Control everywhere.';
  if (d.path) return `${principalName(d.principal)} has ${d.level} on ${d.path}, the nearest node with an entry for this user: it decides.`;
  if (d.default) return `No entry on the path: the ${d.default} default applies.`;
  return '';
}

export async function render(root, ctx) {
  const p = ctx.params.p;
  const project = ctx.project && ctx.project.id === p ? ctx.project : { id: p, role: '' };
  const manager = project.role === 'owner' || project.role === 'admin';
  ctx.setTitle(`Studio Security — ${project.name || p}`);
  const path = (ctx.query.get('path') || '').replace(/^\/+|\/+$/g, '');
  const here = (x) => `/console/projects/${encodeURIComponent(p)}/security${x ? `?path=${encodeURIComponent(x)}` : ''}`;
  const api = `/api/projects/${seg(p)}/security`;

  const loading = progress('Reading the project…');
  replace(root, loading.el);
  const [members, teams] = await Promise.all([
    ctx.api.all(`/api/projects/${seg(p)}/members`),
    ctx.api.all(`/api/projects/${seg(p)}/teams`),
  ]);
  // People by user id: the members, the viewer, and (for a Subscription
  // Owner, who may list them) every user of the subscription, so that an
  // entry of someone who is no member (a Subscription Owner, a member
  // since removed) shows a name, not an id.
  const people = new Map(members.map((m) => [m.userId, m.email]));
  if (ctx.me && ctx.me.id) people.set(ctx.me.id, ctx.me.email);
  const subId = project.subscriptionId || (ctx.sub && ctx.sub.id);
  if (ctx.sub && ctx.sub.owner && ctx.sub.id === subId) {
    try {
      for (const u of await ctx.api.all(`/api/subscriptions/${seg(subId)}/users`)) if (!people.has(u.id)) people.set(u.id, u.email);
    } catch {
      // names stay ids: the entries are still right
    }
  }
  const principalName = (pr) => {
    const [kind, id] = String(pr).split(':');
    if (kind === 'user') return people.get(id) || `user ${id} (not a member)`;
    const t = teams.find((x) => x.id === id);
    return t ? `team ${t.name}` : `team ${id}`;
  };

  // Entries on this node and below: the API answers only those who may
  // manage here (owners, admins, Full Control holders).
  let entries = null;
  let entriesError = null;
  if (path || manager) {
    try {
      entries = (await ctx.api.get(query(`${api}/entries`, { path, subtree: path ? 'true' : '' }))).entries;
    } catch (err) {
      entriesError = err;
    }
  }

  // Children: fixed structure, sources, and nodes that carry entries.
  const kids = new Set();
  for (const names of await Promise.all(treeSources.map((src) => src(ctx, path)))) {
    for (const c of names) kids.add(c);
  }
  for (const e of entries || []) {
    if (e.path.startsWith(path ? `${path}/` : '')) {
      const rest = e.path.slice(path ? path.length + 1 : 0);
      if (rest) kids.add(rest.split('/')[0]);
    }
  }

  const goto = form({
    class: 'form form-inline',
    fields: [{ name: 'path', label: 'Path', value: path, placeholder: 'applications/claims/processes/intake' }],
    submitLabel: 'Go',
    submit: async (v) => { ctx.navigate(here(v.path.replace(/^\/+|\/+$/g, ''))); },
  });
  const tree = h('nav', { class: 'tree', 'aria-label': 'Object tree' },
    crumbsOf(path, here),
    path ? h('p', {}, link(here(parentOf(path)), '↑ Up one level')) : null,
    kids.size ? h('ul', { class: 'tree-list' }, [...kids].sort().map((k) => h('li', {}, link(here(path ? `${path}/${k}` : k), k)))) : h('p', { class: 'muted' }, 'No known children.'),
    goto.el);

  // Your access here.
  const mine = h('div');
  async function showMine() {
    if (!path) {
      replace(mine, h('p', { class: 'muted' }, 'Choose a node of the tree to see your access to it.'));
      return;
    }
    replace(mine, progress('Checking your access…').el);
    try {
      const r = await ctx.api.post(`${api}/check`, { checks: ACTIONS.map((action) => ({ path, action })) });
      const first = r.results[0];
      replace(mine,
        h('p', { class: 'level' }, 'Your level on ', h('code', {}, path), ': ', badge(first.level, levelKind[first.level]), ' '),
        h('ul', { class: 'plain checks' }, r.results.map((x) => h('li', {}, x.allowed ? badge('allowed', 'success') : badge('denied', 'danger'), ` ${x.action}`))),
        h('p', { class: 'why' }, explain(first.decidedBy, principalName)));
    } catch (err) {
      replace(mine, errorNotice(err));
    }
  }

  // Entries and grant/revoke.
  const entriesBox = h('div');
  const entryErrors = h('div');
  function showEntries() {
    if (entriesError) {
      replace(entriesBox, notice('info', entriesError.status === 403
        ? 'You cannot manage security here: listing and changing entries needs Full Control on this node (owners and admins everywhere).'
        : entriesError.message));
      return;
    }
    if (!entries) {
      replace(entriesBox, h('p', { class: 'muted' }, 'Choose a node to see its entries.'));
      return;
    }
    const list = pager({
      label: 'entries',
      load: async (cursor) => pageOf(entries, cursor, 25),
      render: (rows) => table({
        caption: path ? `Entries on ${path} and below` : 'Every entry of the project',
        columns: [
          { label: 'Path', render: (e) => link(here(e.path), e.path) },
          { label: 'Who', render: (e) => principalName(e.principal) },
          { label: 'Level', render: (e) => badge(e.level, levelKind[e.level]) },
          {
            label: 'Actions',
            render: (e) => confirmButton('Revoke', 'Revoke?', async () => {
              replace(entryErrors);
              try {
                await ctx.api.del(query(`${api}/entries`, { path: e.path, principal: e.principal }));
                ctx.announce(`Revoked ${e.level} of ${principalName(e.principal)} on ${e.path}.`);
                ctx.navigate(here(path), { replace: true });
              } catch (err) { replace(entryErrors, errorNotice(err)); }
            }, { ariaLabel: `Revoke ${e.level} of ${principalName(e.principal)} on ${e.path}` }),
          },
        ],
        rows,
        empty: 'No entry here: levels come from the parents or the role defaults.',
      }),
    });
    replace(entriesBox, entryErrors, list.el);
    list.first();
  }

  const parts = [h('div', { class: 'split' }, h('div', { class: 'split-side' }, section('Object tree', tree)),
    h('div', { class: 'split-main' }, section('Your access', mine, path ? button('Check again', showMine, { class: 'btn btn-quiet' }) : null),
      section('Entries', entriesBox)))];

  if (entries) {
    const principals = [
      ...members.map((m) => ({ value: `user:${m.userId}`, label: `${m.email} (${m.role})` })),
      ...teams.map((t) => ({ value: `team:${t.id}`, label: `team ${t.name}` })),
    ];
    // The path is picked from the tree: this node, the nodes above it and
    // those below it that the tree shows (walk the tree to go deeper).
    const above = [];
    for (let x = parentOf(path); x; x = parentOf(x)) above.unshift(x);
    const targets = [...above, ...(path ? [path] : []), ...[...kids].sort().map((k) => (path ? `${path}/${k}` : k))];
    const grant = form({
      legend: 'Grant',
      fields: [
        { name: 'path', label: 'Path', type: 'select', value: path || targets[0], required: true, options: targets.map((x) => ({ value: x, label: x })),
          hint: 'This node, one above it or one below it: walk the tree to reach another.', matches: /path|segment|the groups are/i },
        { name: 'principal', label: 'Who', type: 'select', options: principals, matches: /principal/i },
        { name: 'level', label: 'Level', type: 'select', value: MAIN_NODES.has(path) ? 'deny' : 'modify', options: LEVELS.map((l) => ({ value: l, label: l })), matches: /level|only deny/i },
      ],
      submitLabel: 'Grant',
      busyLabel: 'Granting…',
      submit: async (v) => {
        await ctx.api.put(`${api}/entries`, v);
        ctx.announce(`Granted ${v.level} to ${principalName(v.principal)} on ${v.path}.`);
        ctx.navigate(here(path), { replace: true });
      },
    });
    parts.push(section('Grant access', h('p', { class: 'muted' }, 'Main nodes (applications, entities, rules) take only Deny. An entry on a child overrides its parents.'), grant.el));
  }

  if (manager) {
    const out = h('div');
    const check = form({
      legend: 'Check someone',
      fields: [
        { name: 'user', label: 'Member', type: 'select', options: members.map((m) => ({ value: m.userId, label: m.email })), matches: /user/i },
        { name: 'path', label: 'Path', value: path, required: true, matches: /path|segment|the groups are/i },
        { name: 'action', label: 'Action', type: 'select', options: ACTIONS.map((a) => ({ value: a, label: a })) },
      ],
      submitLabel: 'Check',
      busyLabel: 'Checking…',
      submit: async (v) => {
        const r = await ctx.api.post(`${api}/check`, v);
        const email = principalName(`user:${v.user}`);
        replace(out, h('p', { class: 'level' }, `${email} — ${v.action} on `, h('code', {}, v.path), ': ',
          r.allowed ? badge('allowed', 'success') : badge('denied', 'danger'), ' level ', badge(r.level, levelKind[r.level])),
        h('p', { class: 'why' }, explain(r.decidedBy, principalName)));
        const eff = await ctx.api.get(query(`${api}/effective`, { user: v.user, prefix: v.path }));
        out.append(table({
          caption: `Effective levels of ${email} on ${v.path} and the nodes below it that carry entries`,
          columns: [
            { label: 'Path', render: (n) => h('code', {}, n.path) },
            { label: 'Level', render: (n) => badge(n.level, levelKind[n.level]) },
            { label: 'Why', render: (n) => explain(n.decidedBy, principalName) },
          ],
          rows: eff.nodes,
        }));
      },
    });
    parts.push(section('Effective access of a member', check.el, out));
  }
  replace(root, parts);
  showEntries();
  await showMine();
}
