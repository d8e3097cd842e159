// The Customer Portal: a subscription's users (Subscription Owners).
// Invite by e-mail, disable and enable, the Subscription Owner flag, and
// which projects and roles each one has.

import { h, replace, section, form, table, pager, badge, button, notice, errorNotice, progress, link } from '../dom.js';
import { seg } from '../api.js';
import { screens, pathOf } from '../screens.js';

const PAGE = 20;

// rolesByUser reads every project of the subscription and its members,
// showing progress: it is one request per project.
async function rolesByUser(ctx, sub, shown) {
  const p = progress('Reading the projects…');
  replace(shown, p.el);
  const projects = await ctx.api.all(`/api/subscriptions/${seg(sub)}/projects`);
  const bar = progress(`Reading members of ${projects.length} projects…`, projects.length);
  replace(shown, bar.el);
  const map = new Map();
  let done = 0;
  for (const pr of projects) {
    const ms = await ctx.api.all(`/api/projects/${seg(pr.id)}/members`);
    for (const m of ms) {
      if (!map.has(m.userId)) map.set(m.userId, []);
      map.get(m.userId).push({ project: pr, role: m.role });
    }
    done += 1;
    bar.update(done, `Read members of ${done} of ${projects.length} projects`);
  }
  replace(shown);
  return map;
}

export async function render(root, ctx) {
  const sub = ctx.params.s;
  ctx.setTitle(`Users of ${ctx.sub && ctx.sub.id === sub ? (ctx.sub.name || sub) : sub}`);
  const invited = h('div', { 'aria-live': 'polite' });
  const rolesStatus = h('div');
  let roles = new Map();

  const invite = form({
    legend: 'Invite someone',
    fields: [
      { name: 'email', label: 'E-mail', type: 'email', required: true, matches: /e-?mail|address|already a user/i },
      { name: 'name', label: 'Name (optional)' },
      { name: 'subscriptionOwner', label: 'Subscription Owner (owns every project)', type: 'checkbox' },
    ],
    submitLabel: 'Invite',
    busyLabel: 'Inviting…',
    submit: async (v, f) => {
      const inv = await ctx.api.post(`/api/subscriptions/${seg(sub)}/users`, { email: v.email, name: v.name, subscriptionOwner: v.subscriptionOwner });
      const url = `${location.origin}/console/invitations/${encodeURIComponent(inv.token)}`;
      const field = h('input', { type: 'text', readonly: true, value: url, class: 'mono', 'aria-label': `Invitation link for ${inv.email}` });
      replace(invited, notice('success',
        h('p', {}, `Invitation for ${inv.email} created; it expires ${new Date(inv.expiresAt).toLocaleString()}. Send them this link (it is shown once):`),
        field));
      f.reset();
      ctx.announce(`Invited ${inv.email}.`);
      list.reload();
    },
  });

  const rowErrors = h('div');
  async function patch(u, body, what) {
    replace(rowErrors);
    try {
      await ctx.api.patch(`/api/subscriptions/${seg(sub)}/users/${seg(u.id)}`, body);
      ctx.announce(`${u.email}: ${what}.`);
      list.reload();
    } catch (err) {
      replace(rowErrors, errorNotice(err));
    }
  }

  const byId = (id) => screens.find((s) => s.id === id);
  const projectsOf = (u) => {
    if (u.subscriptionOwner) return h('span', {}, 'Owner of every project (Subscription Owner)');
    const rs = roles.get(u.id) || [];
    if (!rs.length) return h('span', { class: 'muted' }, 'no project');
    return h('ul', { class: 'plain' }, rs.map((r) => h('li', {}, link(pathOf(byId('members'), { p: r.project.id }), r.project.name || r.project.id), ` — ${r.role}`)));
  };

  const list = pager({
    label: 'users',
    load: (cursor) => ctx.api.page(`/api/subscriptions/${seg(sub)}/users`, cursor, PAGE),
    render: (rows) => table({
      caption: 'Users of this subscription',
      columns: [
        { label: 'E-mail', render: (u) => u.email },
        { label: 'Name', render: (u) => u.name || '' },
        { label: 'Status', render: (u) => h('span', { class: 'badges' }, badge(u.status, u.status === 'active' ? 'success' : 'neutral'), u.disabled ? badge('disabled', 'danger') : null, u.subscriptionOwner ? badge('Subscription Owner', 'info') : null) },
        { label: 'Projects and roles', render: projectsOf },
        {
          label: 'Actions',
          render: (u) => h('span', { class: 'links' },
            u.disabled
              ? button('Enable', () => patch(u, { disabled: false }, 'enabled'), { ariaLabel: `Enable ${u.email}` })
              : button('Disable', () => patch(u, { disabled: true }, 'disabled'), { class: 'btn btn-quiet', ariaLabel: `Disable ${u.email}` }),
            u.subscriptionOwner
              ? button('Remove owner', () => patch(u, { subscriptionOwner: false }, 'no longer a Subscription Owner'), { class: 'btn btn-quiet', ariaLabel: `Remove owner ${u.email} (no longer a Subscription Owner)` })
              : button('Make owner', () => patch(u, { subscriptionOwner: true }, 'now a Subscription Owner'), { class: 'btn btn-quiet', ariaLabel: `Make owner ${u.email} (a Subscription Owner)` })),
        },
      ],
      rows,
      empty: 'No users yet.',
    }),
  });

  replace(root,
    section('Invite', invite.el, invited),
    section('Users', h('p', { class: 'muted' }, 'A disabled user is refused on their very next request, whatever token they hold.'), rowErrors, rolesStatus, list.el));
  await list.first();
  try {
    roles = await rolesByUser(ctx, sub, rolesStatus);
    list.reload();
  } catch (err) {
    replace(rolesStatus, errorNotice(err));
  }
}
