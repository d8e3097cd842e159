// The overview: who is signed in, their subscriptions and projects.

import { h, replace, section, table, link, badge, pageOf, pager } from '../dom.js';
import { screens, pathOf } from '../screens.js';

const byId = (id) => screens.find((s) => s.id === id);

export async function render(root, ctx) {
  const me = ctx.me;
  ctx.setTitle(`Welcome, ${me.name || me.email}`);
  const subs = pager({
    label: 'subscriptions',
    load: async (cursor) => pageOf(me.subscriptions, cursor, 20),
    render: (rows) => table({
      caption: 'Your subscriptions',
      columns: [
        { label: 'Subscription', render: (s) => s.name || s.id },
        { label: 'Id', render: (s) => h('code', {}, s.id) },
        { label: 'You', render: (s) => (s.owner ? badge('Subscription Owner', 'info') : badge('user')) },
        { label: 'Open', render: (s) => h('span', { class: 'links' }, link(pathOf(byId('projects'), { s: s.id }), 'Projects'),
          s.owner ? link(pathOf(byId('users'), { s: s.id }), 'Users') : null) },
      ],
      rows,
      empty: 'You belong to no subscription yet. A Subscription Owner can invite you.',
    }),
  });
  const projects = pager({
    label: 'projects',
    load: async (cursor) => pageOf(me.projects, cursor, 20),
    render: (rows) => table({
      caption: 'Your projects',
      columns: [
        { label: 'Project', render: (p) => p.name || p.id },
        { label: 'Id', render: (p) => h('code', {}, p.id) },
        { label: 'Your role', render: (p) => badge(p.role, p.role === 'owner' ? 'info' : 'neutral') },
        { label: 'Open', render: (p) => h('span', { class: 'links' }, ['members', 'teams', 'security', 'catalog', 'environments', 'jobs', 'parameters'].map((id) => link(pathOf(byId(id), { p: p.id }), byId(id).nav.label))) },
      ],
      rows,
      empty: 'You are in no project yet.',
    }),
  });
  replace(root, section('Subscriptions', subs.el), section('Projects', projects.el));
  await Promise.all([subs.first(), projects.first()]);
}
