// A project's Collaboration Teams; owners create and delete them and change
// who is in them.

import { h, replace, section, form, table, pager, button, confirmButton, errorNotice } from '../dom.js';
import { seg } from '../api.js';

export async function render(root, ctx) {
  const p = ctx.params.p;
  const owner = ctx.project && ctx.project.id === p && ctx.project.role === 'owner';
  ctx.setTitle(`Teams of ${ctx.project ? (ctx.project.name || p) : p}`);
  const base = `/api/projects/${seg(p)}/teams`;
  const errors = h('div');
  const members = await ctx.api.all(`/api/projects/${seg(p)}/members`);
  const emailOf = (uid) => (members.find((m) => m.userId === uid) || {}).email || uid;

  async function act(fn, done) {
    replace(errors);
    try {
      await fn();
      ctx.announce(done);
      list.reload();
    } catch (err) {
      replace(errors, errorNotice(err));
    }
  }
  const memberCell = (t) => {
    const chips = (t.members || []).map((uid) => h('li', { class: 'chip' }, emailOf(uid),
      owner ? button('×', () => act(() => ctx.api.del(`${base}/${seg(t.id)}/members/${seg(uid)}`), `${emailOf(uid)} left ${t.name}.`),
        { class: 'btn btn-chip', ariaLabel: `Remove ${emailOf(uid)} from ${t.name}` }) : null));
    const out = [chips.length ? h('ul', { class: 'chips' }, chips) : h('span', { class: 'muted' }, 'nobody')];
    if (owner) {
      const others = members.filter((m) => !(t.members || []).includes(m.userId));
      if (others.length) {
        const sel = h('select', { 'aria-label': `Member to add to ${t.name}` }, others.map((m) => h('option', { value: m.userId }, m.email)));
        out.push(h('span', { class: 'inline' }, sel, button('Add', () => act(() => ctx.api.put(`${base}/${seg(t.id)}/members/${seg(sel.value)}`), `${emailOf(sel.value)} joined ${t.name}.`),
          { ariaLabel: `Add the chosen member to ${t.name}` })));
      }
    }
    return out;
  };
  const list = pager({
    label: 'teams',
    load: (cursor) => ctx.api.page(base, cursor, 20),
    render: (rows) => table({
      caption: 'Teams',
      columns: [
        { label: 'Team', render: (t) => t.name },
        { label: 'Id', render: (t) => h('code', {}, t.id) },
        { label: 'Members', render: memberCell },
        ...(owner ? [{
          label: 'Actions',
          render: (t) => confirmButton('Delete', 'Delete?', () => act(() => ctx.api.del(`${base}/${seg(t.id)}`), `Team ${t.name} deleted.`), { ariaLabel: `Delete team ${t.name}` }),
        }] : []),
      ],
      rows,
      empty: 'No team yet.',
    }),
  });
  const parts = [];
  if (owner) {
    const create = form({
      legend: 'New team',
      fields: [
        { name: 'id', label: 'Id', required: true, hint: 'Used in security entries as team:<id>.', matches: /^id |team with this id/i },
        { name: 'name', label: 'Name', required: true },
      ],
      submitLabel: 'Create team',
      busyLabel: 'Creating…',
      submit: async (v, f) => {
        const t = await ctx.api.post(base, v);
        f.reset();
        ctx.announce(`Team ${t.name} created.`);
        list.reload();
      },
    });
    parts.push(section('Create', create.el));
  }
  parts.push(section('Teams', owner ? null : h('p', { class: 'muted' }, 'Only Project Owners change teams.'), errors, list.el));
  replace(root, parts);
  await list.first();
}
