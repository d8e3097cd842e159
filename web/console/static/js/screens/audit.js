// The audit log of a subscription or a project, newest first, paged with
// the API's cursor; each entry shows what changed (before and after).

import { h, replace, section, form, table, pager, time } from '../dom.js';
import { seg, query } from '../api.js';

function json(v) {
  return v === undefined || v === null ? '' : JSON.stringify(v, null, 2);
}

export async function render(root, ctx) {
  const { s, p } = ctx.params;
  const base = p ? `/api/projects/${seg(p)}/audit` : `/api/subscriptions/${seg(s)}/audit`;
  ctx.setTitle(`Audit log — ${p ? (ctx.project && ctx.project.id === p ? ctx.project.name : p) : (ctx.sub && ctx.sub.id === s ? ctx.sub.name : s)}`);
  const since = ctx.query.get('since') || '';
  const here = (q) => query(location.pathname, q);

  const filter = form({
    class: 'form form-inline',
    fields: [{ name: 'since', label: 'Since', type: 'datetime-local', value: since ? since.slice(0, 16) : '', matches: /since/i }],
    submitLabel: 'Filter',
    submit: async (v) => {
      ctx.navigate(here({ since: v.since ? new Date(v.since).toISOString().replace(/\.\d+Z$/, 'Z') : '' }));
    },
  });
  const list = pager({
    label: 'audit entries',
    load: async (cursor) => {
      const page = await ctx.api.get(query(base, { cursor, limit: 25, since }));
      return { items: page.items, next: page.next };
    },
    render: (rows) => table({
      caption: 'Audited actions, newest first',
      columns: [
        { label: 'When', render: (e) => time(e.at) },
        { label: 'Who', render: (e) => e.actorName || e.actor },
        { label: 'Action', render: (e) => h('code', {}, e.action) },
        { label: 'Target', render: (e) => e.target, class: 'col-id' },
        {
          label: 'Details',
          class: 'col-wide',
          render: (e) => (e.before || e.after
            ? h('details', {}, h('summary', {}, 'Before and after'),
              e.before ? h('div', {}, h('p', { class: 'muted' }, 'Before'), h('pre', {}, json(e.before))) : null,
              e.after ? h('div', {}, h('p', { class: 'muted' }, 'After'), h('pre', {}, json(e.after))) : null)
            : ''),
        },
        { label: 'Request', render: (e) => (e.requestId ? h('code', {}, e.requestId) : ''), class: 'col-id' },
      ],
      rows,
      empty: since ? 'Nothing audited since then.' : 'Nothing audited yet.',
    }),
  });
  replace(root, section('Filter', filter.el), section('Entries', list.el));
  await list.first();
}
