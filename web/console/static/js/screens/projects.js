// A subscription's projects; Subscription Owners create them.

import { h, replace, section, form, table, pager, link, time } from '../dom.js';
import { seg } from '../api.js';
import { screens, pathOf } from '../screens.js';

const byId = (id) => screens.find((s) => s.id === id);

export async function render(root, ctx) {
  const sub = ctx.params.s;
  const mine = ctx.me.subscriptions.find((s) => s.id === sub);
  ctx.setTitle(`Projects of ${mine ? (mine.name || sub) : sub}`);
  const list = pager({
    label: 'projects',
    load: (cursor) => ctx.api.page(`/api/subscriptions/${seg(sub)}/projects`, cursor, 20),
    render: (rows) => table({
      caption: 'Projects you can open',
      columns: [
        { label: 'Project', render: (p) => p.name },
        { label: 'Id', render: (p) => h('code', {}, p.id) },
        { label: 'Description', render: (p) => p.description || '' },
        { label: 'Created', render: (p) => time(p.createdAt) },
        { label: 'Open', render: (p) => h('span', { class: 'links' }, ['members', 'teams', 'security', 'jobs'].map((id) => link(pathOf(byId(id), { p: p.id }), byId(id).nav.label))) },
      ],
      rows,
      empty: 'No project yet.',
    }),
  });
  const parts = [];
  if (mine && mine.owner) {
    const create = form({
      legend: 'New project',
      fields: [
        { name: 'id', label: 'Id', required: true, hint: '2–40 lower-case letters, digits and inner hyphens; it cannot change.', matches: /^id |project with this id/i },
        { name: 'name', label: 'Name' },
        { name: 'description', label: 'Description' },
      ],
      submitLabel: 'Create project',
      busyLabel: 'Creating…',
      submit: async (v, f) => {
        const p = await ctx.api.post(`/api/subscriptions/${seg(sub)}/projects`, v);
        f.reset();
        ctx.announce(`Project ${p.name} created.`);
        await ctx.refreshMe();
        list.first();
      },
    });
    parts.push(section('Create', create.el));
  }
  parts.push(section('Projects', list.el));
  replace(root, parts);
  await list.first();
}
