// The catalog's change feed: what changed after a commit, in order, only
// what the viewer may see, paged with the feed's cursor. By default it
// starts 20 commits before the head.

import { h, replace, section, form, table, pager, time, progress, errorNotice } from '../dom.js';
import { query } from '../api.js';
import { api, here, tabs, objectLink, commitLink, opBadge } from '../catalog.js';

const RECENT = 20;

export async function render(root, ctx) {
  const p = ctx.params.p;
  ctx.setTitle(`Change feed — ${ctx.project && ctx.project.id === p ? (ctx.project.name || p) : p}`);
  replace(root, tabs(p, 'changes'), progress('Reading the head…').el);
  let head;
  try {
    head = (await ctx.api.get(query(`${api(p)}/changes`, { since: 0, limit: 1 }))).head;
  } catch (err) {
    replace(root, tabs(p, 'changes'), errorNotice(err));
    return;
  }
  const asked = ctx.query.get('since');
  const since = asked !== null && /^\d+$/.test(asked) ? Math.min(Number(asked), head) : Math.max(0, head - RECENT);

  const pick = form({
    class: 'form form-inline',
    fields: [{ name: 'since', label: 'After commit', type: 'number', min: 0, max: head, value: String(since), matches: /since|head/i }],
    submitLabel: 'Show',
    submit: async (v) => { ctx.navigate(here(p, '/changes', { since: v.since || '0' })); },
  });
  const list = pager({
    label: 'changes',
    load: async (cursor) => {
      const page = await ctx.api.get(query(`${api(p)}/changes`, { since: cursor || since, limit: 50 }));
      // Up to date when the cursor reaches the head.
      return { items: page.changes, next: page.next === String(page.head) ? '' : page.next };
    },
    render: (rows) => table({
      caption: `Changes after commit #${since}, oldest first`,
      columns: [
        { label: 'Commit', render: (c) => commitLink(p, c.seq) },
        { label: 'Path', render: (c) => (c.op === 'delete' ? h('code', {}, c.path) : objectLink(p, c.path, c.version)), class: 'col-path' },
        { label: 'Change', render: (c) => opBadge(c.op) },
        { label: 'Version', render: (c) => String(c.version) },
        { label: 'Author', render: (c) => c.committedBy },
        { label: 'When', render: (c) => time(c.committedAt) },
      ],
      rows,
      empty: since >= head ? 'Nothing changed after the head.' : 'No change you may see on this page.',
    }),
  });
  replace(root, tabs(p, 'changes'),
    section('Where to start', h('p', { class: 'muted' }, `The head is commit #${head}.`), pick.el),
    section('Changes', list.el));
  await list.first();
}
