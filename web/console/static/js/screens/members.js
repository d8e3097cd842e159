// A project's members and their roles; owners add, change and remove them.

import { h, replace, section, form, table, pager, badge, button, confirmButton, errorNotice } from '../dom.js';
import { seg, userIdOf } from '../api.js';

const ROLES = [
  { value: 'developer', label: 'Developer' },
  { value: 'admin', label: 'Admin (the administrators group)' },
  { value: 'owner', label: 'Project Owner' },
];

export async function render(root, ctx) {
  const p = ctx.params.p;
  const owner = ctx.project && ctx.project.id === p && ctx.project.role === 'owner';
  ctx.setTitle(`Members of ${ctx.project ? (ctx.project.name || p) : p}`);
  const base = `/api/projects/${seg(p)}/members`;
  const errors = h('div');

  // A role is changed by its Save button, never by the select alone: a
  // keyboard user goes through the options with the arrow keys (WCAG
  // 3.2.2). The row is updated in place, so the focus stays where it was.
  async function setRole(m, select, save) {
    replace(errors);
    const role = select.value;
    save.disabled = true;
    try {
      await ctx.api.put(`${base}/${seg(m.userId)}`, { role });
      m.role = role;
      ctx.announce(`${m.email} is now ${role}.`);
    } catch (err) {
      replace(errors, errorNotice(err));
    }
    save.disabled = select.value === m.role;
    if (document.activeElement === document.body || document.activeElement === save) select.focus();
  }
  const roleCell = (m) => {
    if (!owner) return badge(m.role, m.role === 'owner' ? 'info' : 'neutral');
    const save = button('Save', () => setRole(m, sel, save), { class: 'btn btn-quiet', ariaLabel: `Save role of ${m.email}`, disabled: true });
    const sel = h('select', { 'aria-label': `Role of ${m.email}`, onchange: () => { save.disabled = sel.value === m.role; } },
      ROLES.map((r) => h('option', { value: r.value, selected: r.value === m.role }, r.label)));
    return h('span', { class: 'inline' }, sel, save);
  };
  const list = pager({
    label: 'members',
    load: (cursor) => ctx.api.page(base, cursor, 20),
    render: (rows) => table({
      caption: 'Members',
      columns: [
        { label: 'E-mail', render: (m) => m.email },
        { label: 'Role', render: roleCell },
        ...(owner ? [{
          label: 'Actions',
          render: (m) => confirmButton('Remove', 'Remove?', async () => {
            replace(errors);
            try {
              await ctx.api.del(`${base}/${seg(m.userId)}`);
              ctx.announce(`${m.email} removed.`);
              list.reload();
            } catch (err) { replace(errors, errorNotice(err)); }
          }, { ariaLabel: `Remove ${m.email}` }),
        }] : []),
      ],
      rows,
      empty: 'No members.',
    }),
  });
  const parts = [];
  if (owner) {
    const add = form({
      legend: 'Add a member',
      fields: [
        { name: 'email', label: 'E-mail of a subscription user', type: 'email', required: true, matches: /user|e-?mail|not found|subscription/i },
        { name: 'role', label: 'Role', type: 'select', value: 'developer', options: ROLES },
      ],
      submitLabel: 'Add',
      busyLabel: 'Adding…',
      submit: async (v, f) => {
        await ctx.api.put(`${base}/${seg(await userIdOf(v.email))}`, { role: v.role });
        f.reset();
        ctx.announce(`${v.email} added as ${v.role}.`);
        list.reload();
      },
    });
    parts.push(section('Add', add.el));
  }
  parts.push(section('Members', h('p', { class: 'muted' }, 'Subscription Owners are owners of every project, listed here or not.'), errors, list.el));
  replace(root, parts);
  await list.first();
}
